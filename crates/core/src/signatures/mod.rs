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
//! - Facts, not findings: what matched is a [`SignatureFacts`] (rule, namespace, first
//!   matched string and offset, the `severity` and `message`/`description` metadata as
//!   written); the `MG-YARA` check in `rules/signatures.rs` decides severity and text.
//!
//! Must not: import `rules` or decide what a match means.
//!
//! Files: `mod.rs` compiles rule sets and scans sources, `prefilter.rs` holds the bundled
//! rules' literals, `facts.rs` the serialisable matches, `tests.rs` the rule samples.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use boreal::{MetadataValue, compiler::Compiler};

use crate::source::ReadAt;

mod prefilter;
#[cfg(test)]
mod tests;

pub use crate::formats::signature_facts::{SignatureFacts, SignatureMatch};

/// Version of the bundled rule set; also each bundled rule's `version` meta.
pub const BUNDLED_VERSION: &str = "2026.11.1";

/// The bundled rule files, as `(name, text)`.
pub const BUNDLED: &[(&str, &str)] = &[
    ("eicar.yar", include_str!("rules/eicar.yar")),
    ("shells.yar", include_str!("rules/shells.yar")),
    ("payloads.yar", include_str!("rules/payloads.yar")),
];

/// Namespace of the bundled rules (user files get one namespace each: their path).
pub const BUNDLED_NAMESPACE: &str = "modelguard";

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
    /// For the bundled set alone: [`prefilter::BUNDLED_ATOMS`]. User rules are never
    /// prefiltered.
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
        out: &mut Vec<SignatureMatch>,
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
    out: &mut Vec<SignatureMatch>,
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
        // As written; the check decides what they mean. The last `severity` and `message`
        // count, the first `description` (as the finding's text read them before).
        let (mut severity, mut message, mut description) = (None, None, None);
        for m in r.metadatas {
            let key = scanner.get_string_symbol(m.name);
            let MetadataValue::Bytes(b) = m.value else {
                continue;
            };
            let value = String::from_utf8_lossy(scanner.get_bytes_symbol(b)).into_owned();
            match key {
                "severity" => severity = Some(value),
                "message" => message = Some(value),
                "description" if description.is_none() => description = Some(value),
                _ => {}
            }
        }
        let first = r
            .matches
            .iter()
            .filter_map(|s| s.matches.first().map(|m| (s.name, m.base + m.offset)))
            .min_by_key(|(_, off)| *off);
        out.push(SignatureMatch {
            namespace: r.namespace.to_string(),
            rule: r.name.to_string(),
            string: first.map(|(n, _)| format!("${n}")),
            offset: first.map(|(_, off)| base + off as u64),
            severity,
            message,
            description,
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
    let prefilter = files.is_empty().then(prefilter::bundled).flatten();
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
