//! The scan driver: [`Scanner`] sniffs a file, walks its containers, runs the extractors and
//! rules, and assembles a [`FileReport`].
//!
//! - `walk.rs`: the per-file walk (sniffing dispatch, by-name formats), recording a journal;
//! - `journal.rs`: the journal ([`FileAnalysis`]) and how it is judged into a report;
//! - `pickle.rs`: pickle streams (every view the loaders read) handed to the judge;
//! - containers (zip, tar, compressors) are in [`crate::containers`].
//!
//! Must not: print, or parse a format itself (parsers live in `formats/`).

use std::path::Path;

use crate::formats::FormatId;
use crate::limits::Limits;
use crate::policy::Policy;
use crate::report::{FileReport, Location, ScanError, ScannerInfo, Status, Verdict};
use crate::rules;
use crate::source::{FileSource, ReadAt};

mod journal;
mod pickle;
mod walk;

pub use journal::{Entry, FileAnalysis};
pub(crate) use pickle::PickleMode;
pub(crate) use walk::Walk;

/// When to compute a file's SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashMode {
    /// Files up to `Limits::hash_auto_max_bytes`.
    #[default]
    Auto,
    /// Every file (reads every byte).
    Always,
    /// Never.
    Never,
}

/// A configured scanner. Cheap to share across threads.
#[derive(Debug, Clone, Default)]
pub struct Scanner {
    /// Limits.
    pub limits: Limits,
    /// Policy.
    pub policy: Policy,
    /// Hashing.
    pub hash: HashMode,
    /// Compiled YARA rules (bundled by default), shared: cloning a scanner does not recompile.
    pub signatures: crate::signatures::Signatures,
    /// The policy file in force (canonical path), if any. Every other `modelguard.toml` met as
    /// a scanned file is reported (`MG-POLICY-IN-CONTENT`): policy comes from the person
    /// running the scan, never from the content scanned.
    pub policy_file: Option<std::path::PathBuf>,
}

impl Scanner {
    /// A scanner with the given limits and policy.
    pub fn new(limits: Limits, policy: Policy) -> Self {
        Scanner {
            limits,
            policy,
            hash: HashMode::Auto,
            signatures: crate::signatures::Signatures::bundled(),
            policy_file: None,
        }
    }

    /// Identity for reports, with the digest of rules + policy + limits.
    pub fn info(&self) -> ScannerInfo {
        let mut extra = self.policy.digest_bytes();
        extra.extend(serde_json::to_vec(&self.limits).unwrap_or_default());
        extra.extend(self.signatures.digest().into_bytes());
        ScannerInfo {
            name: "modelguard".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            ruleset: rules::ruleset_digest(&extra),
        }
    }

    /// Scan a file on disk.
    pub fn scan_path(&self, path: &Path) -> FileReport {
        self.scan_file(std::fs::File::open(path), path)
    }

    /// Scan a file the caller opened (or failed to open); `path` names it in the report.
    pub fn scan_file(&self, file: std::io::Result<std::fs::File>, path: &Path) -> FileReport {
        // `to_str` first: `display` validates byte by byte even for valid UTF-8.
        let display = match path.to_str() {
            Some(s) => s.to_owned(),
            None => path.display().to_string(),
        };
        match file.and_then(FileSource::from_file) {
            Ok(src) => {
                let mut r = self.scan_source(&display, &src);
                r.path = display;
                r
            }
            Err(e) => {
                let mut r = FileReport {
                    path: display,
                    sha256: None,
                    size: 0,
                    format: FormatId::Unknown.as_str().into(),
                    status: Status::Error,
                    verdict: Verdict::Unknown,
                    findings: vec![],
                    errors: vec![ScanError {
                        kind: "io".into(),
                        message: e.to_string(),
                        location: Location::default(),
                    }],
                    members: vec![],
                    imports: vec![],
                };
                r.finalize();
                r
            }
        }
    }

    /// Scan bytes in memory, with `name` used for the report and extension checks.
    pub fn scan_bytes(&self, name: &str, data: &[u8]) -> FileReport {
        let data = crate::source::Bytes(data);
        self.scan_source(name, &data)
    }

    /// Scan any random-access source.
    pub fn scan_source(&self, name: &str, src: &dyn ReadAt) -> FileReport {
        self.analyze_source(name, src).into_report(&self.policy)
    }

    /// Analyse any random-access source without judging: what the readers found, as data
    /// ([`FileAnalysis`]). `analysis.judge(policy)` is the report; a stored analysis can be
    /// judged again under another policy or rule set while [`Scanner::extractor`] is the same.
    pub fn analyze_source(&self, name: &str, src: &dyn ReadAt) -> FileAnalysis {
        let size = src.size();
        let mut w = Walk {
            s: self,
            // A plain file records about six entries (signature scope, facts, name).
            journal: Vec::with_capacity(8),
            members: vec![],
            decompressed: 0,
            imports: Default::default(),
        };
        let format = w.walk(src, None, name, 0);
        let format = format.unwrap_or(FormatId::Data);
        w.check_extension(name, format);
        w.check_policy_file(name);
        let sha256 = match self.hash {
            HashMode::Never => None,
            HashMode::Auto if size > self.limits.hash_auto_max_bytes => None,
            _ => match sha256(src) {
                Ok(h) => Some(h),
                Err(e) => {
                    w.error("io", e.to_string(), Location::default(), true);
                    None
                }
            },
        };
        FileAnalysis {
            path: name.to_string(),
            sha256,
            size,
            format: format.as_str().to_string(),
            members: w.members,
            imports: w.imports,
            journal: w.journal,
        }
    }

    /// What a stored [`FileAnalysis`] depends on besides the bytes: the extractor version,
    /// the limits and the signatures (not the policy, the rules or their severities, which
    /// judging applies). Analyses stored under another extractor need the bytes again.
    pub fn extractor(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(serde_json::to_vec(&self.limits).unwrap_or_default());
        h.update(self.signatures.digest().as_bytes());
        let digest = crate::report::hex(&h.finalize());
        format!(
            "extractor-{}:{}",
            crate::facts::EXTRACTOR_VERSION,
            digest.get(..16).unwrap_or(&digest)
        )
    }
}

fn sha256(src: &dyn ReadAt) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    // Sized to the file: a fresh 1 MiB buffer per small file cost more than hashing it.
    let mut buf = vec![0u8; usize::try_from(src.size().clamp(1, 1 << 20)).unwrap_or(1 << 20)];
    let mut off = 0u64;
    loop {
        let n = src.read_at(off, &mut buf)?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or_default());
        off += n as u64;
    }
    Ok(crate::report::hex(&h.finalize()))
}

pub(crate) fn join(member: Option<&str>, name: &str) -> String {
    match member {
        Some(m) => format!("{m}!{name}"),
        None => name.to_string(),
    }
}

/// A view of `src` from `start` to its end.
pub(crate) struct Slice<'a> {
    pub(crate) src: &'a dyn ReadAt,
    pub(crate) start: u64,
}

impl ReadAt for Slice<'_> {
    fn size(&self) -> u64 {
        self.src.size().saturating_sub(self.start)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.src.read_at(self.start.saturating_add(offset), buf)
    }
}
