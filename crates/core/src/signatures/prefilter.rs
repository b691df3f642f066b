//! The bundled rules' literals: a buffer holding none of them cannot match a bundled rule and
//! skips the YARA engine.
//!
//! Must not: decide a match (the engine does); it only turns buffers away.

/// Literals of which every bundled rule needs at least one. A buffer containing none of them
/// cannot match a bundled rule and skips the YARA engine, whose per-buffer setup and per-byte
/// atom hashing were a tenth of a many-small-files scan. Keep in step with `rules/*.yar`:
/// each rule's strings, and the strings its condition requires, contain one of these
/// (`prefilter_never_hides_a_match` checks every rule's samples and the fixture corpus).
/// Compared exactly; [`BUNDLED_ATOMS_NOCASE`] holds those of `nocase` strings.
pub(super) const BUNDLED_ATOMS: &[&str] = &[
    // MG_EICAR_Test_Signature
    "EICAR-STANDARD-ANTIVIRUS-TEST-FILE",
    // MG_Python_Import_Exec
    "__import__",
    // MG_Python_Decode_Exec
    "exec",
    "eval",
    // MG_Pickle_Dirty_Exec: `builtins` / `__builtin__` are required by its condition
    "builtin",
    // MG_Reverse_Shell_Dev_Tcp
    "/dev/",
    // MG_Reverse_Shell_Netcat (both strings name /bin/…sh)
    "/bin/",
    // MG_Reverse_Shell_Python (every alternative of its condition names socket)
    "socket",
    // MG_Download_And_Execute
    "curl",
    "wget",
];

/// Starts of the `nocase` literals (MG_Download_And_Execute), searched in every ASCII case:
/// three letters have eight spellings, a whole word hundreds, and a few dozen exact literals
/// keep the search on its vectorised path.
pub(super) const BUNDLED_ATOMS_NOCASE: &[&str] = &["pow", "iex", "cer"];

/// Every ASCII-case spelling of `word`.
pub(super) fn case_variants(word: &str) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new()];
    for b in word.bytes() {
        let (lo, up) = (b.to_ascii_lowercase(), b.to_ascii_uppercase());
        out = out
            .into_iter()
            .flat_map(|v| {
                let mut a = v.clone();
                a.push(lo);
                let mut spellings = vec![a];
                if up != lo {
                    let mut c = v;
                    c.push(up);
                    spellings.push(c);
                }
                spellings
            })
            .collect();
    }
    out
}

/// The bundled set's prefilter: an alternation of every literal and every case spelling of
/// the `nocase` ones. A few dozen literals cannot fail to build; if they ever did, every
/// buffer simply goes to the YARA engine.
pub(super) fn bundled() -> Option<regex::bytes::Regex> {
    let mut atoms: Vec<String> = BUNDLED_ATOMS.iter().map(|a| regex::escape(a)).collect();
    atoms.extend(
        BUNDLED_ATOMS_NOCASE
            .iter()
            .flat_map(|a| case_variants(a))
            .map(|v| regex::escape(&String::from_utf8_lossy(&v))),
    );
    regex::bytes::Regex::new(&atoms.join("|")).ok()
}
