//! The scan driver: sniff a file, walk its containers, run the extractors and rules, and
//! assemble a [`FileReport`].

use std::io::Read;
use std::path::Path;

use modelguard_pickle::{Analysis, ErrorKind as PickleErrorKind, Options, Value};

use crate::formats::{self, FormatId, Kind, npy, zip};
use crate::judge::pickle::{self as pjudge, Context};
use crate::limits::Limits;
use crate::policy::Policy;
use crate::report::{
    FileReport, Finding, Location, Member, ScanError, ScannerInfo, Severity, Status, Verdict,
};
use crate::rules;
use crate::source::{Cursor, FileSource, ReadAt, read_range};

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

/// The legacy torch magic number, as the VM renders a LONG.
const TORCH_MAGIC: &str = "119547037146038801333356";

/// First read of a pickle stream; grown once if the stream needs more.
const FIRST_WINDOW: u64 = 1 << 20;
/// First read of a stream only guessed to be a pickle (see [`PickleMode::Maybe`]).
const WEAK_WINDOW: u64 = 4 << 10;

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
        let size = src.size();
        let mut w = Walk {
            s: self,
            findings: vec![],
            errors: vec![],
            members: vec![],
            decompressed: 0,
            incomplete: false,
            failed: false,
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
        let status = if w.failed {
            Status::Error
        } else if w.incomplete {
            Status::Incomplete
        } else {
            Status::Complete
        };
        let mut r = FileReport {
            path: name.to_string(),
            sha256,
            size,
            format: format.as_str().to_string(),
            status,
            verdict: Verdict::Unknown,
            findings: w.findings,
            errors: w.errors,
            members: w.members,
            imports: w
                .imports
                .iter()
                .map(|(m, n)| crate::report::ImportInfo {
                    module: m.clone(),
                    name: n.clone(),
                    safety: if modelguard_pycode::catalog::classify(m, n).is_some() {
                        crate::report::ImportSafety::Dangerous
                    } else if self.policy.allowed(m, n).is_some() {
                        crate::report::ImportSafety::Innocuous
                    } else {
                        crate::report::ImportSafety::Suspicious
                    },
                })
                .collect(),
        };
        dedup_findings(&mut r.findings);
        self.policy.apply(&mut r);
        r.finalize();
        r
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

/// Remove exact duplicates (the same fact seen through two views of one archive).
fn dedup_findings(f: &mut Vec<Finding>) {
    if f.len() < 2 {
        return;
    }
    let mut seen = std::collections::HashSet::new();
    f.retain(|x| {
        seen.insert((
            x.rule.clone(),
            x.message.clone(),
            x.evidence.clone(),
            x.location.member.clone(),
            x.location.offset,
        ))
    });
}

fn join(member: Option<&str>, name: &str) -> String {
    match member {
        Some(m) => format!("{m}!{name}"),
        None => name.to_string(),
    }
}

struct Walk<'a> {
    s: &'a Scanner,
    findings: Vec<Finding>,
    errors: Vec<ScanError>,
    members: Vec<Member>,
    decompressed: u64,
    incomplete: bool,
    failed: bool,
    imports: std::collections::BTreeSet<(String, String)>,
}

impl Walk<'_> {
    fn limits(&self) -> &Limits {
        &self.s.limits
    }

    fn error(&mut self, kind: &str, message: String, location: Location, fatal: bool) {
        if fatal {
            self.failed = true;
        } else {
            self.incomplete = true;
        }
        self.errors.push(ScanError {
            kind: kind.into(),
            message,
            location,
        });
    }

    fn finding(
        &mut self,
        rule: &rules::Rule,
        sev: Severity,
        message: String,
        evidence: Option<String>,
        member: Option<&str>,
    ) {
        self.findings.push(Finding {
            rule: rule.id.into(),
            severity: sev,
            message,
            evidence,
            location: Location {
                member: member.map(str::to_string),
                ..Location::default()
            },
            suppressed: None,
        });
    }

    fn malformed(&mut self, what: String, member: Option<&str>, offset: Option<u64>, fatal: bool) {
        self.findings.push(Finding {
            rule: rules::MALFORMED.id.into(),
            severity: Severity::Medium,
            message: what.clone(),
            evidence: None,
            location: Location {
                member: member.map(str::to_string),
                offset,
                opcode: None,
            },
            suppressed: None,
        });
        let loc = Location {
            member: member.map(str::to_string),
            offset,
            opcode: None,
        };
        self.error(if fatal { "parse" } else { "limit" }, what, loc, fatal);
    }

    /// Analyse `src`; returns the detected format name, or `None` for opaque data.
    fn walk(
        &mut self,
        src: &dyn ReadAt,
        member: Option<&str>,
        name: &str,
        depth: usize,
    ) -> Option<FormatId> {
        // Signatures over the raw bytes first; a container's match that one of its members
        // also matches is then reported on the member only.
        let mark = self.findings.len();
        if depth <= self.limits().max_depth {
            self.signatures(src, member);
        }
        let own = mark..self.findings.len();
        let format = self.walk_kind(src, member, name, depth);
        if format.is_none() && formats::names_a_model(name) {
            // Fail closed: the name says a loader that runs code opens this file, and
            // modelguard cannot tell what that loader makes of these bytes.
            self.error(
                "unsupported",
                format!(
                    "{} is named like a model or pickle file but its content is not a format \
                     modelguard recognises",
                    member.unwrap_or(name)
                ),
                Location {
                    member: member.map(str::to_string),
                    ..Location::default()
                },
                false,
            );
        }
        if !own.is_empty() {
            // No loader executes any part of a safetensors file (the header is JSON metadata
            // read as strings): text there that looks like a command is reported, not judged.
            if format == Some(FormatId::Safetensors) {
                for f in self.findings.get_mut(own.clone()).unwrap_or_default() {
                    if f.rule == rules::YARA.id && f.severity > Severity::Info {
                        f.message
                            .push_str(" (in safetensors data, which no loader executes)");
                        f.severity = Severity::Info;
                    }
                }
            }
            crate::signatures::drop_container_duplicates(&mut self.findings, own);
        }
        format
    }

    /// Match the YARA rules over `src` (bounded by `max_signature_bytes` and
    /// `max_signature_millis`).
    fn signatures(&mut self, src: &dyn ReadAt, member: Option<&str>) {
        let limits = &self.s.limits;
        let max_time = (limits.max_signature_millis > 0)
            .then(|| std::time::Duration::from_millis(limits.max_signature_millis));
        let mut matches = Vec::new();
        let res = self
            .s
            .signatures
            .scan(src, limits.max_signature_bytes, max_time, &mut matches);
        self.findings
            .extend(matches.iter().map(|m| m.finding(member)));
        match res {
            Ok(()) => {}
            Err(e) => self.error(
                "signatures",
                e,
                Location {
                    member: member.map(str::to_string),
                    ..Location::default()
                },
                false,
            ),
        }
    }

    fn walk_kind(
        &mut self,
        src: &dyn ReadAt,
        member: Option<&str>,
        name: &str,
        depth: usize,
    ) -> Option<FormatId> {
        if depth > self.limits().max_depth {
            self.malformed(
                format!(
                    "nesting deeper than max_depth ({})",
                    self.limits().max_depth
                ),
                member,
                None,
                false,
            );
            return Some(FormatId::Nested);
        }
        let head = match read_range(src, 0, 512) {
            Ok(h) => h,
            Err(e) => {
                self.error("io", e.to_string(), Location::default(), true);
                return None;
            }
        };
        let kind = formats::sniff(&head);
        // libhdf5 looks for its superblock after a user block too (`H5FD_locate_signature`):
        // h5py and Keras open such a file whatever its first 512 bytes are.
        let user_block = if matches!(kind, Kind::Hdf5 | Kind::Empty) || src.size() < 520 {
            None
        } else {
            formats::hdf5_superblock(src).filter(|&at| at > 0)
        };
        // pickle.load reads any bytes as a pickle, whatever magic they start with: a file
        // that opens with another format's magic and also runs as a pickle (a polyglot) is
        // analysed both ways. Zip is left out (PERSID without a persistent_load fails, and
        // torch.load takes a `PK` file as a zip); zlib is handled below.
        if !matches!(
            kind,
            Kind::Empty
                | Kind::Zip
                | Kind::TorchLegacy
                | Kind::PickleProto
                | Kind::MaybePickle
                | Kind::Zlib
                | Kind::Data
        ) && formats::opens_pickle(&head)
        {
            self.hidden_pickle(src, member, depth, kind);
        }
        let main = match kind {
            Kind::Empty => Some(FormatId::Empty),
            Kind::Zip => Some(self.zip(src, member, depth)),
            Kind::TorchLegacy => {
                self.pickle(src, member, PickleMode::TorchLegacy, depth);
                Some(FormatId::PytorchLegacy)
            }
            Kind::PickleProto => self.pickle(src, member, PickleMode::Raw, depth),
            Kind::MaybePickle => match self.pickle(src, member, PickleMode::Maybe, depth) {
                Some(format) => Some(format),
                None => self.unsniffed(src, member, name, depth),
            },
            Kind::Npy => Some(self.npy(src, member, depth)),
            // `(S`, `(r` and `X\t` are zlib headers too, and joblib decompresses only `x`
            // (0x78) streams, so a stream that opens like a pickle is tried as one first.
            Kind::Zlib => {
                let as_pickle = if formats::opens_pickle(&head) {
                    self.pickle(src, member, PickleMode::Maybe, depth)
                } else {
                    None
                };
                match as_pickle {
                    Some(format) => Some(format),
                    None => match self.decompress(src, member, name, depth, kind) {
                        Some(format) => Some(format),
                        None => self.unsniffed(src, member, name, depth),
                    },
                }
            }
            Kind::Gzip | Kind::Bzip2 | Kind::Xz | Kind::LzmaAlone => {
                self.decompress(src, member, name, depth, kind)
            }
            Kind::Tar => Some(self.tar(src, member, depth)),
            Kind::Safetensors => {
                Some(self.format(formats::safetensors::analyze, src, member, name, depth))
            }
            Kind::Zstd | Kind::Lz4 => self.decompress(src, member, name, depth, kind),
            Kind::SevenZip => {
                Some(self.format(formats::sevenzip::analyze, src, member, name, depth))
            }
            Kind::Gguf => Some(self.format(formats::gguf::analyze, src, member, name, depth)),
            Kind::Hdf5 => Some(self.format(formats::keras::analyze, src, member, name, depth)),
            Kind::Tflite => Some(self.format(formats::tflite::analyze, src, member, name, depth)),
            Kind::JoblibZf => Some(self.joblib_zf(src, member, depth, &head)),
            Kind::Data => self.unsniffed(src, member, name, depth),
        };
        let Some(at) = user_block else {
            return main;
        };
        // The superblock after a user block (h5py, Keras): the HDF5 view too. When the bytes
        // at 0 are nothing recognised it is simply an HDF5 file; when they are another
        // format, both loaders' views are analysed and the file is a polyglot.
        let h5 = self.format(formats::keras::analyze_h5, src, member, name, depth);
        match main {
            None => Some(h5),
            Some(f) => {
                self.finding(
                    &rules::POLYGLOT,
                    Severity::Medium,
                    format!(
                        "file is also HDF5 (superblock after a {at}-byte user block): h5py and \
                         Keras open it as HDF5; both views analysed"
                    ),
                    Some(format!("{f} + HDF5 superblock at {at}")),
                    member,
                );
                Some(f)
            }
        }
    }

    /// joblib's legacy `ZF` file, read as `joblib.load` reads it
    /// (`numpy_pickle_compat.read_zfile`, then `ZipNumpyUnpickler`): the zlib stream after
    /// the header, decompressed (bounded), is a pickle.
    fn joblib_zf(
        &mut self,
        src: &dyn ReadAt,
        member: Option<&str>,
        depth: usize,
        head: &[u8],
    ) -> FormatId {
        let (declared, offset) = match formats::zf_header(head) {
            Ok(h) => h,
            Err(e) => {
                // read_zfile raises before anything is unpickled; still not a clean file.
                self.malformed(format!("joblib ZF: {e}"), member, Some(0), true);
                return FormatId::Joblib;
            }
        };
        let body = Slice { src, start: offset };
        let before = self.decompressed;
        // The payload is judged by its content, not by the outer name: joblib 0.9 wrote the
        // main file's pickle and each array's raw buffer (`*.npy.z`, read back by
        // ZNDArrayWrapper as bytes, never unpickled) in the same format.
        let inner = self.decompress(&body, member, "zf-payload", depth, Kind::Zlib);
        let produced = self.decompressed.saturating_sub(before);
        if inner.is_none() {
            self.malformed(
                "joblib ZF: no zlib stream after the header".into(),
                member,
                Some(offset),
                true,
            );
        } else if produced != declared && produced < self.limits().max_member_bytes {
            // read_zfile asserts the length (skipped under `python -O`): analysed anyway.
            self.finding(
                &rules::MALFORMED,
                Severity::Low,
                format!(
                    "joblib ZF header declares {declared} bytes, the zlib stream holds {produced}"
                ),
                None,
                member,
            );
        }
        FormatId::Joblib
    }

    /// No magic bytes said what `src` is (or a weak guess was wrong): a zip with a junk
    /// prefix (found by its directory, as `zipfile.is_zipfile` finds it), else what the name
    /// says.
    fn unsniffed(
        &mut self,
        src: &dyn ReadAt,
        member: Option<&str>,
        name: &str,
        depth: usize,
    ) -> Option<FormatId> {
        if zip::has_directory(src) {
            Some(self.zip(src, member, depth))
        } else if let Some(format) = self.by_name(src, member, name, depth) {
            Some(format)
        } else if formats::names_a_model(name) {
            self.weights_by_content(src, name)
        } else {
            None
        }
    }

    /// Model-named files no magic identified, whose content is weights no loader runs code
    /// from: GGML/GGJT (`.bin` of llama.cpp and whisper.cpp before GGUF; no code, no
    /// templates) and protobuf messages named `.model` (SentencePiece `tokenizer.model`, read
    /// by its C++ library). `None`: unrecognised.
    fn weights_by_content(&mut self, src: &dyn ReadAt, name: &str) -> Option<FormatId> {
        let head = read_range(src, 0, 4).ok()?;
        // The u32 magics 'ggml', 'ggmf', 'ggjt', 'ggla', 'ggsn' written little-endian.
        if matches!(&head[..], b"lmgg" | b"fmgg" | b"tjgg" | b"algg" | b"nsgg") {
            return Some(FormatId::Ggml);
        }
        if name.to_ascii_lowercase().ends_with(".model")
            && src.size() <= self.limits().max_protobuf_bytes.min(256 << 20)
            && let Ok(bytes) = read_range(src, 0, src.size())
            && formats::is_protobuf_message(&bytes)
        {
            return Some(FormatId::Protobuf);
        }
        None
    }

    /// The pickle reading of a file whose magic bytes name another format (`kind`): when it
    /// imports anything, its findings are reported with an `MG-POLYGLOT` finding.
    fn hidden_pickle(&mut self, src: &dyn ReadAt, member: Option<&str>, depth: usize, kind: Kind) {
        if self
            .pickle(src, member, PickleMode::Hidden, depth)
            .is_none()
        {
            return;
        }
        let magic = match kind {
            Kind::Gguf => "GGUF",
            Kind::Tflite => "TFLite",
            Kind::Tar => "tar",
            Kind::Safetensors => "safetensors",
            Kind::Hdf5 => "HDF5",
            Kind::Bzip2 => "bzip2",
            Kind::LzmaAlone => "LZMA",
            Kind::Zstd => "zstd",
            _ => "another format's",
        };
        self.finding(
            &rules::POLYGLOT,
            rules::POLYGLOT.severity,
            format!(
                "file has {magic} magic bytes and is also a pickle that imports names; \
                 pickle.load and torch.load run it as a pickle"
            ),
            Some(format!("{magic} + pickle")),
            member,
        );
    }

    /// Formats without magic bytes (protobuf, msgpack): the name says which parser to try;
    /// the parser confirms by structure or reports the file malformed.
    fn by_name(
        &mut self,
        src: &dyn ReadAt,
        member: Option<&str>,
        name: &str,
        depth: usize,
    ) -> Option<FormatId> {
        // The registry says which by-name parser claims the name (formats::FORMATS).
        let analyzer = formats::by_name(&name.to_ascii_lowercase())?;
        Some(self.format(analyzer, src, member, name, depth))
    }

    /// Run a format analyser and take in its outcome.
    fn format(
        &mut self,
        analyze: fn(&dyn ReadAt, &formats::FormatCtx<'_>) -> formats::Outcome,
        src: &dyn ReadAt,
        member: Option<&str>,
        name: &str,
        depth: usize,
    ) -> FormatId {
        let ctx = formats::FormatCtx {
            limits: &self.s.limits,
            policy: &self.s.policy,
            name,
        };
        let out = analyze(src, &ctx);
        self.absorb(out, member, depth)
    }

    /// Take in a format outcome: findings (member paths joined), problems, nested blobs.
    fn absorb(&mut self, out: formats::Outcome, member: Option<&str>, depth: usize) -> FormatId {
        for mut f in out.findings {
            f.location.member = match (member, f.location.member.take()) {
                (Some(m), Some(inner)) => Some(join(Some(m), &inner)),
                (Some(m), None) => Some(m.to_string()),
                (None, inner) => inner,
            };
            self.findings.push(f);
        }
        for p in out.problems {
            if p.fatal {
                self.malformed(p.message, member, p.offset, true);
            } else {
                self.error(
                    "incomplete",
                    p.message,
                    Location {
                        member: member.map(str::to_string),
                        offset: p.offset,
                        opcode: None,
                    },
                    false,
                );
            }
        }
        for (name, data) in out.nested {
            let sub = join(member, &name);
            let fmt = self.walk(&data, Some(&sub), &name, depth + 1);
            self.members.push(Member {
                path: sub,
                format: fmt.unwrap_or(FormatId::Data).as_str().into(),
                size: data.len() as u64,
            });
        }
        out.format
    }

    /// A `modelguard.toml` among the scanned files that is not the policy in force: report
    /// it, so that nobody believes it was applied (it never is: see `Scanner::policy_file`).
    fn check_policy_file(&mut self, name: &str) {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        if !base.eq_ignore_ascii_case(crate::config::FILE_NAME) {
            return;
        }
        if let Some(in_force) = &self.s.policy_file
            && std::fs::canonicalize(name).is_ok_and(|p| &p == in_force)
        {
            return;
        }
        self.finding(
            &rules::POLICY_IN_CONTENT,
            rules::POLICY_IN_CONTENT.severity,
            "policy file inside the scanned content was not applied: modelguard takes its \
             policy only from --config or the working directory's project"
                .into(),
            Some(name.to_string()),
            None,
        );
    }

    /// A name that says another format than the bytes: code-bearing content under a name
    /// of data no loader runs code from, and names the registry's formats claim.
    fn check_extension(&mut self, name: &str, format: FormatId) {
        let ext = Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let code_bearing = formats::runs_code(format);
        let data_ext = formats::data_extension(&ext);
        let torch_ext = formats::claims_extension(FormatId::PytorchZip, &ext);
        let sev = if code_bearing && data_ext {
            Some(Severity::Medium)
        } else if (format == FormatId::Pickle && torch_ext)
            || (formats::claims_extension(FormatId::Numpy, &ext) && format != FormatId::Numpy)
        {
            // modelguard reads by content, so the name hides nothing from it: a fact for
            // scanners and loaders that go by the name, not evidence.
            Some(Severity::Info)
        } else {
            None
        };
        if let Some(sev) = sev {
            self.finding(
                &rules::EXTENSION_MISMATCH,
                sev,
                format!("file named .{ext} contains {format} data"),
                Some(format!("{name}: {format}")),
                None,
            );
        }
    }

    fn read_window<'s>(
        &mut self,
        src: &'s dyn ReadAt,
        len: u64,
        member: Option<&str>,
    ) -> Option<std::borrow::Cow<'s, [u8]>> {
        match crate::source::range(src, 0, len) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(
                    "io",
                    e.to_string(),
                    Location {
                        member: member.map(str::to_string),
                        ..Location::default()
                    },
                    true,
                );
                None
            }
        }
    }

    /// Analyse a pickle stream. Returns the format, or `None` when a weakly sniffed stream
    /// turned out not to be a pickle.
    fn pickle(
        &mut self,
        src: &dyn ReadAt,
        member: Option<&str>,
        mode: PickleMode,
        depth: usize,
    ) -> Option<FormatId> {
        let size = src.size();
        let opts = Options {
            max_pickles: match mode {
                PickleMode::TorchLegacy => Some(5),
                _ => None,
            },
            joblib: true,
        };
        let limits = self.limits().clone();
        // A weak guess starts small: most such files fail as pickles within a few bytes,
        // and a real pickle that runs past the window is read again whole below.
        let weak = matches!(mode, PickleMode::Maybe | PickleMode::Hidden);
        let mut window = size.min(if weak { WEAK_WINDOW } else { FIRST_WINDOW });
        let mut data = self.read_window(src, window, member)?;
        let mut a = modelguard_pickle::analyze_with(&data, &limits.pickle, &opts);
        // A pickle hidden behind another format's magic is read to 1 MiB at most: a real
        // file of that format can look like a pickle stuck in one long line or string (a
        // safetensors header after `V`), and must not cost a read of max_pickle_bytes.
        let most = if mode == PickleMode::Hidden {
            FIRST_WINDOW
        } else {
            limits.max_pickle_bytes
        };
        if truncated(&a) && size > window && most > window {
            window = size.min(most);
            data = self.read_window(src, window, member)?;
            a = modelguard_pickle::analyze_with(&data, &limits.pickle, &opts);
        }
        if mode == PickleMode::Maybe && !looks_like_pickle(&a)
            || mode == PickleMode::Hidden && !imports_something(&a)
        {
            return None;
        }
        let mut format = match mode {
            PickleMode::TorchLegacy => FormatId::PytorchLegacy,
            _ => FormatId::Pickle,
        };
        // A stream whose first pickle is the torch magic number is a legacy torch file
        // (possibly with the magic computed at load time: then the VM sees the calls).
        if mode != PickleMode::TorchLegacy
            && a.pickles
                .first()
                .and_then(|p| p.result)
                .and_then(|r| a.value(r))
                == Some(&Value::BigInt(TORCH_MAGIC.into()))
        {
            format = FormatId::PytorchLegacy;
        }
        let joblib = a.imports.iter().any(|i| {
            i.module.as_deref() == Some("joblib.numpy_pickle")
                && i.name.as_deref() == Some("NumpyArrayWrapper")
        });
        if joblib {
            format = FormatId::Joblib;
            // The same bytes read by plain pickle.load (no inline arrays): another view.
            let plain = modelguard_pickle::analyze_with(
                &data,
                &limits.pickle,
                &Options {
                    joblib: false,
                    ..opts.clone()
                },
            );
            self.judge(&plain, member, false, depth, true);
        }
        self.frame_views(&a, &data, &limits, &opts, member);
        if let Some(err) = &a.error {
            let hit_limit = matches!(err.kind, PickleErrorKind::Limit(_));
            if truncated(&a) && size > limits.max_pickle_bytes {
                self.malformed(
                    format!(
                        "pickle stream larger than max_pickle_bytes ({})",
                        limits.max_pickle_bytes
                    ),
                    member,
                    Some(err.offset),
                    false,
                );
            } else {
                self.malformed(
                    format!("pickle: {err}"),
                    member,
                    Some(err.offset),
                    !hit_limit,
                );
            }
        }
        if a.trailing_bytes > 0 && format == FormatId::Pickle {
            let at = size.saturating_sub(a.trailing_bytes);
            self.findings.push(Finding {
                rule: rules::PKL_TRAILING.id.into(),
                severity: Severity::Info,
                message: format!("{} bytes after the last pickle", a.trailing_bytes),
                evidence: None,
                location: Location {
                    member: member.map(str::to_string),
                    offset: Some(at),
                    opcode: None,
                },
                suppressed: None,
            });
        }
        let expects_pid =
            format == FormatId::PytorchLegacy || member.is_some_and(|m| m.ends_with(".pkl"));
        self.judge(&a, member, expects_pid, depth, false);
        Some(format)
    }

    /// Framing the loaders read differently (see `modelguard_pickle::Analysis::frame_straddle`
    /// and `frame_overrun`): the other view is analysed too, and the anomaly reported.
    fn frame_views(
        &mut self,
        a: &Analysis,
        data: &[u8],
        limits: &Limits,
        opts: &Options,
        member: Option<&str>,
    ) {
        let note = |w: &mut Self, sev: Severity, offset: u64, message: String| {
            w.findings.push(Finding {
                rule: rules::MALFORMED.id.into(),
                severity: sev,
                message,
                evidence: None,
                location: Location {
                    member: member.map(str::to_string),
                    offset: Some(offset),
                    opcode: None,
                },
                suppressed: None,
            });
        };
        if let Some(at) = a.frame_straddle {
            note(
                self,
                Severity::Medium,
                at,
                "pickle read crosses the end of a FRAME: pickle.loads reads on, pickle.load of \
                 a file (torch.load's io.BytesIO, frames above 8 KiB) skips the rest of the \
                 frame, pickle._Unpickler fails; every view analysed"
                    .into(),
            );
            let file_view = modelguard_pickle::analyze_file_view(data, &limits.pickle, opts);
            let pid = member.is_some_and(|m| m.ends_with(".pkl"));
            self.judge(&file_view, member, pid, 0, true);
        }
        if let Some(at) = a.frame_overrun {
            note(
                self,
                Severity::Low,
                at,
                "FRAME longer than the data: the C unpickler stops there, pickle._Unpickler \
                 runs what follows (analysed)"
                    .into(),
            );
        }
    }

    fn judge(
        &mut self,
        a: &Analysis,
        member: Option<&str>,
        expects_pid: bool,
        depth: usize,
        extra_view: bool,
    ) {
        let ctx = Context {
            member: member.map(str::to_string),
            policy: &self.s.policy,
            expects_persistent_ids: expects_pid,
            max_depth: self.s.limits.pickle.max_depth,
            code_limits: self.s.limits.code.clone(),
        };
        for i in &a.imports {
            if let (Some(m), Some(n)) = (&i.module, &i.name) {
                self.imports.insert((m.clone(), n.clone()));
            }
        }
        let j = pjudge::judge(a, &ctx);
        self.findings.extend(j.findings);
        for why in j.incomplete {
            self.error(
                "incomplete",
                why,
                Location {
                    member: member.map(str::to_string),
                    ..Location::default()
                },
                false,
            );
        }
        if extra_view {
            return;
        }
        for (i, n) in j.nested.into_iter().enumerate() {
            let sub = join(member, &format!("nested[{i}]:{}", n.loader));
            let fmt = self.walk(&n.data, Some(&sub), &sub, depth + 1);
            self.members.push(Member {
                path: sub,
                format: fmt.unwrap_or(FormatId::Data).as_str().into(),
                size: n.data.len() as u64,
            });
        }
    }

    fn npy(&mut self, src: &dyn ReadAt, member: Option<&str>, depth: usize) -> FormatId {
        let Some(head) = self.read_window(src, (1 << 20) + 12, member) else {
            return FormatId::Numpy;
        };
        match npy::parse(&head) {
            Ok(h) if h.object => {
                self.finding(
                    &rules::NPY_OBJECT,
                    Severity::Info,
                    format!(
                        "NumPy array of object dtype {}: its data is a pickle",
                        h.descr
                    ),
                    Some(format!("dtype {}", h.descr)),
                    member,
                );
                let sub = Slice {
                    src,
                    start: h.data_offset,
                };
                if self.pickle(&sub, member, PickleMode::Raw, depth).is_none() {
                    self.malformed(
                        "object array data is not a pickle".into(),
                        member,
                        Some(h.data_offset),
                        true,
                    );
                }
                FormatId::Numpy
            }
            Ok(_) => FormatId::Numpy,
            Err(e) => {
                self.malformed(format!("npy header: {e}"), member, Some(0), true);
                // Fail closed: numpy may still read an object dtype there, so data that
                // starts like a pickle is analysed as one.
                if let Some(at) = npy::data_offset(&head)
                    && let Ok(first) = crate::source::read_range(src, at, 1)
                    && first.first() == Some(&0x80)
                {
                    let sub = Slice { src, start: at };
                    let _ = self.pickle(&sub, member, PickleMode::Raw, depth);
                }
                FormatId::Numpy
            }
        }
    }

    fn decompress(
        &mut self,
        src: &dyn ReadAt,
        member: Option<&str>,
        name: &str,
        depth: usize,
        kind: Kind,
    ) -> Option<FormatId> {
        let budget = self
            .limits()
            .max_decompressed_bytes
            .saturating_sub(self.decompressed)
            .min(self.limits().max_member_bytes);
        let size = src.size();
        let cap = budget.min(size.max(1).saturating_mul(self.limits().max_ratio));
        // Streamed into member::collect: bounded memory (large output spilled to disk).
        let cursor = std::io::BufReader::with_capacity(64 << 10, Cursor::new(src));
        let reader: Box<dyn Read + '_> = match kind {
            Kind::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(cursor)),
            Kind::Zlib => Box::new(flate2::bufread::ZlibDecoder::new(cursor)),
            Kind::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(cursor)),
            Kind::Xz => Box::new(lzma_rust2::XzReader::new(cursor, true)),
            Kind::LzmaAlone => {
                match lzma_rust2::LzmaReader::new_mem_limit(cursor, u32::MAX, None) {
                    Ok(r) => Box::new(r),
                    Err(e) => Box::new(Failing(Some(e))),
                }
            }
            Kind::Zstd => Box::new(ZstdFrames {
                src,
                cur: Cursor::new(src),
                dec: None,
            }),
            Kind::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(cursor)),
            _ => return None,
        };
        let collected = match crate::member::collect(reader, cap) {
            Ok(c) => c,
            Err(e) => {
                self.error(
                    "io",
                    format!("spilling decompressed data: {e}"),
                    Location::default(),
                    false,
                );
                return None;
            }
        };
        let out_len = collected.data.len();
        let res = match collected.error {
            Some(e) => Err(e),
            None => Ok(()),
        };
        let label = match kind {
            Kind::Zstd => FormatId::Zstd,
            Kind::Lz4 => FormatId::Lz4,
            Kind::Gzip => FormatId::Gzip,
            Kind::Zlib => FormatId::Zlib,
            Kind::Bzip2 => FormatId::Bzip2,
            Kind::Xz => FormatId::Xz,
            _ => FormatId::Lzma,
        };
        if let Err(e) = res {
            if kind == Kind::Zlib && out_len == 0 {
                return None; // two bytes that happened to look like a zlib header
            }
            self.malformed(format!("{label} stream: {e}"), member, None, true);
        }
        if collected.over {
            let which = if cap == budget {
                "max_decompressed_bytes"
            } else {
                "max_ratio"
            };
            self.malformed(
                format!("{label} output exceeds {which}; analysed the first {cap} bytes"),
                member,
                None,
                false,
            );
        }
        self.decompressed += out_len;
        let out = collected.data.src();
        let inner_name = name
            .rsplit_once('.')
            .map(|(stem, _)| stem.to_string())
            .unwrap_or_else(|| name.to_string());
        let inner = self.walk(out, member, &inner_name, depth + 1);
        Some(match (label, inner) {
            (_, Some(FormatId::Joblib))
            | (FormatId::Zlib | FormatId::Lzma, Some(FormatId::Pickle)) => FormatId::Joblib,
            (FormatId::Gzip, Some(FormatId::Tar)) => FormatId::TarGz,
            _ => label,
        })
    }

    fn zip(&mut self, src: &dyn ReadAt, member: Option<&str>, depth: usize) -> FormatId {
        let limits = self.limits().clone();
        let view = match zip::read(src, &limits) {
            Ok(v) => v,
            Err(e) => {
                let fatal = !matches!(e, zip::ZipError::Limit(_));
                self.malformed(format!("zip: {e}"), member, None, fatal);
                return FormatId::Zip;
            }
        };
        for an in &view.anomalies {
            let (sev, msg) = match an {
                zip::Anomaly::DuplicateName(n) => (
                    Severity::High,
                    format!(
                        "member name {n} appears more than once (zipfile reads the last, torch the first)"
                    ),
                ),
                zip::Anomaly::NameMismatch { central, local } => (
                    Severity::High,
                    format!(
                        "local header names {local} where the central directory says {central}"
                    ),
                ),
                zip::Anomaly::Flags { name, flags } => (
                    Severity::Medium,
                    format!(
                        "member {name} has general-purpose flags 0x{flags:04x} (patched data / strong encryption) that zipfile and torch refuse"
                    ),
                ),
                zip::Anomaly::Encrypted(name) => {
                    // Not tampering: the member is ciphertext, so the scan is incomplete.
                    self.error(
                        "encrypted",
                        format!("member {name} is encrypted: its data could not be analysed"),
                        Location {
                            member: Some(join(member, name)),
                            ..Location::default()
                        },
                        false,
                    );
                    continue;
                }
                zip::Anomaly::ReadersDisagree(what) => (
                    Severity::High,
                    format!("zipfile and PyTorch's reader see different members: {what}"),
                ),
                zip::Anomaly::NoLocalHeader { name, offset } => (
                    Severity::Medium,
                    format!(
                        "member {name} has no local header at offset {offset}: loaders cannot read it"
                    ),
                ),
                zip::Anomaly::Trailing { offset, len } => (
                    Severity::Low,
                    format!(
                        "{len} bytes at offset {offset} after the end-of-central-directory record and its comment"
                    ),
                ),
                zip::Anomaly::Prefix(n) => {
                    (Severity::Low, format!("{n} bytes before the first member"))
                }
                zip::Anomaly::Hidden(n) => (
                    Severity::High,
                    format!(
                        "member {n} is present in a local header but not in the central directory"
                    ),
                ),
                zip::Anomaly::NoDirectory => (
                    Severity::Medium,
                    "no central directory; members recovered from local headers".into(),
                ),
                zip::Anomaly::Crc(n) => (Severity::Medium, format!("member {n} CRC-32 mismatch")),
            };
            self.finding(&rules::ZIP_TAMPER, sev, msg, None, member);
        }
        let names: Vec<&str> = view
            .entries
            .iter()
            .filter(|e| e.origin != zip::Origin::Outside)
            .map(|e| e.name.as_str())
            .collect();
        let has = |suffix: &str| {
            names
                .iter()
                .any(|n| *n == suffix.trim_start_matches('/') || n.ends_with(suffix))
        };
        let format = if has("/constants.pkl")
            || names.iter().any(|n| n.contains("/code/")) && has("/data.pkl")
        {
            FormatId::Torchscript
        } else if has("/data.pkl") {
            FormatId::PytorchZip
        } else if !names.is_empty()
            && names
                .iter()
                .all(|n| n.ends_with(".npy") || n.ends_with('/'))
        {
            FormatId::Npz
        } else if names.contains(&"config.json")
            && (names.contains(&"metadata.json")
                || names.iter().any(|n| n.starts_with("model.weights.")))
        {
            FormatId::Keras
        } else {
            FormatId::Zip
        };
        let torch = matches!(format, FormatId::PytorchZip | FormatId::Torchscript);
        if format == FormatId::Torchscript {
            self.torchscript_code(src, &view, member);
        }
        // A root config.json is what Keras 3 loads even when metadata.json is missing.
        if format == FormatId::Keras || names.contains(&"config.json") {
            self.keras_config(src, &view, member, depth, format == FormatId::Keras);
        }
        for e in view
            .entries
            .iter()
            .filter(|e| e.origin != zip::Origin::Outside)
        {
            self.check_member_path(&e.name, member);
            if e.is_symlink() {
                let target = crate::member::read_prefix(src, e, 4096, &limits)
                    .map(|(d, _)| String::from_utf8_lossy(&d).into_owned())
                    .unwrap_or_default();
                self.check_link(&e.name, &target, "symbolic", member);
            }
            if e.compressed > 0 && e.uncompressed / e.compressed.max(1) > limits.max_ratio {
                self.finding(
                    &rules::ARCHIVE_BOMB,
                    Severity::Medium,
                    format!(
                        "member {} declares {} bytes from {} compressed (ratio above max_ratio {})",
                        e.name, e.uncompressed, e.compressed, limits.max_ratio
                    ),
                    None,
                    member,
                );
            }
        }
        // Counted once: a per-member count would be quadratic in the member limit.
        let mut name_counts: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::new();
        for e in &view.entries {
            *name_counts.entry(e.name.as_str()).or_default() += 1;
        }
        for (i, e) in view.entries.iter().enumerate() {
            if e.name.ends_with('/') || e.is_symlink() {
                continue;
            }
            let outside = e.origin == zip::Origin::Outside;
            // Several views of one name: label each so evidence says which was read.
            let label = if name_counts.get(e.name.as_str()).copied().unwrap_or(0) > 1 {
                format!("{}#{}", e.name, i)
            } else {
                e.name.clone()
            };
            let sub = join(member, &label);
            let Some((head, _)) = self.zip_member(src, e, 512, &sub, &limits) else {
                continue;
            };
            let kind = formats::sniff(&head);
            if outside && !matches!(kind, Kind::Data | Kind::Empty) {
                self.finding(
                    &rules::ZIP_TAMPER,
                    Severity::Medium,
                    format!("{} of the archive holds {kind:?} data", e.name),
                    None,
                    member,
                );
            }
            // An encrypted member is read as stored bytes only for what lenient readers would
            // take from it; its name alone does not make ciphertext a pickle.
            let named_pickle =
                !e.is_encrypted() && (e.name.ends_with(".pkl") || e.name.ends_with(".pickle"));
            let interesting = named_pickle
                || formats::names_a_model(&e.name)
                || !matches!(kind, Kind::Data | Kind::Empty | Kind::MaybePickle)
                || (kind == Kind::MaybePickle && self.last_byte_is_stop(src, e, &limits));
            // Tensor storages of a torch archive are raw numbers: only strong signatures count.
            let storage = torch && e.name.contains("/data/") && !named_pickle;
            if !interesting
                || (storage
                    && matches!(
                        kind,
                        Kind::MaybePickle | Kind::Zlib | Kind::LzmaAlone | Kind::Safetensors
                    ))
            {
                // Not analysed, but signatures still look at its (decoded) start, except
                // in tensor storages.
                if !storage {
                    self.member_signatures(src, e, &sub, &limits);
                }
                continue;
            }
            // Streamed: input read in chunks, output above member::SPILL_BYTES on disk.
            let loaded = match crate::member::load(src, e, limits.max_member_bytes, &limits) {
                Ok(c) => c,
                Err(err) => {
                    let fatal = !matches!(err, zip::ZipError::Limit(_));
                    self.malformed(
                        format!("zip member: {err}"),
                        Some(&sub),
                        Some(e.data_offset),
                        fatal,
                    );
                    continue;
                }
            };
            let over = loaded.over;
            let data = loaded.data.src();
            if over {
                self.malformed(
                    format!(
                        "member larger than max_member_bytes ({})",
                        limits.max_member_bytes
                    ),
                    Some(&sub),
                    None,
                    false,
                );
            }
            if !outside && e.crc != 0 && loaded.crc != e.crc && data.size() == e.uncompressed {
                self.finding(
                    &rules::ZIP_TAMPER,
                    Severity::Medium,
                    format!(
                        "member {} CRC-32 does not match its data (torch ignores CRCs)",
                        e.name
                    ),
                    None,
                    member,
                );
            } else if !outside && e.crc == 0 && data.size() > 0 && e.flags & 0x8 == 0 {
                self.finding(
                    &rules::ZIP_TAMPER,
                    Severity::Medium,
                    format!(
                        "member {} has a zeroed CRC-32 (zipfile refuses it, torch ignores CRCs)",
                        e.name
                    ),
                    None,
                    member,
                );
            }
            let before = self.findings.len();
            let fmt = if named_pickle && !matches!(kind, Kind::Zip | Kind::Gzip | Kind::Npy) {
                let mode = if kind == Kind::TorchLegacy {
                    PickleMode::TorchLegacy
                } else {
                    PickleMode::Raw
                };
                self.signatures(data, Some(&sub));
                self.pickle(data, Some(&sub), mode, depth + 1)
            } else {
                self.walk(data, Some(&sub), &e.name, depth + 1)
            };
            let _ = before;
            if let Some(f) = fmt {
                self.members.push(Member {
                    path: sub,
                    format: f.as_str().into(),
                    size: e.uncompressed,
                });
            }
        }
        format
    }

    /// Signatures over the first `max_signature_bytes` of a zip member the driver does not
    /// otherwise read.
    fn member_signatures(&mut self, src: &dyn ReadAt, e: &zip::Entry, sub: &str, limits: &Limits) {
        if limits.max_signature_bytes == 0 {
            return;
        }
        // Decoding counts against the decompression budget: many small bombs must not add
        // up to unbounded work.
        let budget = limits
            .max_decompressed_bytes
            .saturating_sub(self.decompressed)
            .min(limits.max_signature_bytes);
        if budget == 0 {
            self.error(
                "limit",
                "max_decompressed_bytes reached: member not decoded for signatures".into(),
                Location {
                    member: Some(sub.to_string()),
                    ..Location::default()
                },
                false,
            );
            return;
        }
        match crate::member::read_prefix(src, e, budget, limits) {
            Ok((data, over)) => {
                self.decompressed += data.len() as u64;
                self.signatures(&data, Some(sub));
                if over && budget < limits.max_signature_bytes {
                    self.error(
                        "limit",
                        "max_decompressed_bytes reached: member partly decoded for signatures"
                            .into(),
                        Location {
                            member: Some(sub.to_string()),
                            ..Location::default()
                        },
                        false,
                    );
                }
            }
            Err(err) => self.error(
                "signatures",
                format!("zip member not decoded for signatures: {err}"),
                Location {
                    member: Some(sub.to_string()),
                    offset: Some(e.data_offset),
                    opcode: None,
                },
                false,
            ),
        }
    }

    /// Keras 3 `.keras`: every `config.json` view (duplicates included) goes to the Keras
    /// config analyser; the weights (`.h5`) are reached by the member walk. `keras`: the zip
    /// is known to be a `.keras` (else only a JSON object with a `class_name` is analysed).
    fn keras_config(
        &mut self,
        src: &dyn ReadAt,
        view: &zip::ZipView,
        member: Option<&str>,
        depth: usize,
        keras: bool,
    ) {
        let limits = self.limits().clone();
        for e in view.entries.iter().filter(|e| e.name == "config.json") {
            let sub = join(member, &e.name);
            match crate::member::read_prefix(src, e, limits.max_config_bytes, &limits) {
                Ok((data, over)) => {
                    if over {
                        self.malformed(
                            format!(
                                "Keras config larger than max_config_bytes ({})",
                                limits.max_config_bytes
                            ),
                            Some(&sub),
                            None,
                            false,
                        );
                        continue;
                    }
                    // In a zip not otherwise marked as Keras, only a model config is analysed.
                    if !keras && !formats::keras::looks_like_config(&data) {
                        continue;
                    }
                    let ctx = formats::FormatCtx {
                        limits: &self.s.limits,
                        policy: &self.s.policy,
                        name: &e.name,
                    };
                    let out = formats::keras::analyze_config_json(&data, &ctx);
                    self.absorb(out, Some(&sub), depth);
                }
                Err(err) => {
                    let fatal = !matches!(err, zip::ZipError::Limit(_));
                    self.malformed(
                        format!("zip member: {err}"),
                        Some(&sub),
                        Some(e.data_offset),
                        fatal,
                    );
                }
            }
        }
    }

    /// ZipSlip/TarSlip: absolute paths, drive letters, `..` above the root.
    fn check_member_path(&mut self, name: &str, member: Option<&str>) {
        if formats::escapes(name, "") {
            self.finding(
                &rules::ARCHIVE_SLIP,
                Severity::High,
                format!("archive member path {name:?} leaves the extraction directory"),
                Some(name.to_string()),
                member,
            );
        }
    }

    fn check_link(&mut self, name: &str, target: &str, kind: &str, member: Option<&str>) {
        let out = formats::escapes(target, name);
        self.finding(
            &rules::ARCHIVE_LINK,
            if out {
                Severity::High
            } else {
                Severity::Medium
            },
            format!(
                "archive member {name} is a {kind} link to {target:?}{}",
                if out { ", outside the archive" } else { "" }
            ),
            Some(format!("{name} -> {target}")),
            member,
        );
    }

    /// TorchScript archives carry their program as Python-syntax source under `code/`:
    /// analyse each file like any code string (TorchScript compiles only its subset of Python,
    /// so a reach into os/subprocess/eval there is deliberate).
    fn torchscript_code(&mut self, src: &dyn ReadAt, view: &zip::ZipView, member: Option<&str>) {
        let limits = self.limits().clone();
        for e in &view.entries {
            let is_code = e.name.ends_with(".py") && e.name.contains("/code/");
            if !is_code {
                continue;
            }
            let sub = join(member, &e.name);
            let data = match crate::member::read_prefix(
                src,
                e,
                limits.code.max_source_bytes as u64 + 1,
                &limits,
            ) {
                Ok((d, _)) => d,
                Err(err) => {
                    self.malformed(
                        format!("zip member: {err}"),
                        Some(&sub),
                        Some(e.data_offset),
                        true,
                    );
                    continue;
                }
            };
            let text = String::from_utf8_lossy(&data);
            let facts = modelguard_pycode::analyze_source(&text, &limits.code);
            for h in &facts.hits {
                let sev = crate::severity::in_code(h.capability);
                self.findings.push(Finding {
                    rule: rules::TORCHSCRIPT_CODE.id.into(),
                    severity: sev,
                    message: format!(
                        "TorchScript code reaches {}, which {}",
                        h.target,
                        h.capability.describe()
                    ),
                    evidence: Some(h.evidence.clone()),
                    location: Location {
                        member: Some(sub.clone()),
                        offset: None,
                        opcode: None,
                    },
                    suppressed: None,
                });
            }
            if !facts.complete {
                self.error(
                    "incomplete",
                    format!(
                        "TorchScript code not fully analysed: {}",
                        facts.errors.join("; ")
                    ),
                    Location {
                        member: Some(sub.clone()),
                        ..Location::default()
                    },
                    false,
                );
            }
            self.members.push(Member {
                path: sub,
                format: FormatId::TorchscriptCode.as_str().into(),
                size: e.uncompressed,
            });
        }
    }

    /// Read up to `max` bytes of a zip member; a failure is recorded (a crossed limit makes
    /// the file incomplete, anything else malformed) and gives `None`.
    fn zip_member(
        &mut self,
        src: &dyn ReadAt,
        e: &zip::Entry,
        max: u64,
        sub: &str,
        limits: &Limits,
    ) -> Option<(Vec<u8>, bool)> {
        match crate::member::read_prefix(src, e, max, limits) {
            Ok(r) => Some(r),
            // Ciphertext does not decompress; the member is already reported as unanalysed.
            Err(_) if e.is_encrypted() => None,
            Err(err) => {
                let fatal = !matches!(err, zip::ZipError::Limit(_));
                self.malformed(
                    format!("zip member: {err}"),
                    Some(sub),
                    Some(e.data_offset),
                    fatal,
                );
                None
            }
        }
    }

    fn last_byte_is_stop(&self, src: &dyn ReadAt, e: &zip::Entry, limits: &Limits) -> bool {
        match e.method {
            0 if e.compressed > 0 => read_range(src, e.data_offset + e.compressed - 1, 1)
                .map(|b| b == b".")
                .unwrap_or(false),
            0 => false,
            _ => {
                crate::member::last_byte(src, e, limits.max_member_bytes.min(16 << 20))
                    == Some(b'.')
            }
        }
    }

    fn tar(&mut self, src: &dyn ReadAt, member: Option<&str>, depth: usize) -> FormatId {
        let limits = self.limits().clone();
        let mut archive = tar::Archive::new(Cursor::new(src));
        let entries = match archive.entries_with_seek() {
            Ok(e) => e,
            Err(e) => {
                self.malformed(format!("tar: {e}"), member, None, true);
                return FormatId::Tar;
            }
        };
        let mut format = FormatId::Tar;
        let mut count = 0usize;
        for entry in entries {
            count += 1;
            if count > limits.max_members {
                self.malformed(
                    format!("tar has more than max_members ({})", limits.max_members),
                    member,
                    None,
                    false,
                );
                break;
            }
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.malformed(format!("tar: {e}"), member, None, true);
                    break;
                }
            };
            let name = entry
                .path()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            self.check_member_path(&name, member);
            let etype = entry.header().entry_type();
            if etype.is_symlink() || etype.is_hard_link() {
                let target = entry
                    .link_name()
                    .ok()
                    .flatten()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let kind = if etype.is_symlink() {
                    "symbolic"
                } else {
                    "hard"
                };
                self.check_link(&name, &target, kind, member);
                continue;
            }
            if !etype.is_file() {
                continue;
            }
            let size = entry.size();
            let sub = join(member, &name);
            let legacy_member = matches!(
                name.as_str(),
                "pickle" | "storages" | "tensors" | "sys_info"
            );
            if name == "pickle" {
                format = FormatId::PytorchTar;
            }
            let take = size.min(limits.max_member_bytes);
            // Streamed: large members are spilled to disk (member::collect), not held.
            let collected = match crate::member::collect(&mut entry, take) {
                Ok(c) => c,
                Err(e) => {
                    self.malformed(format!("tar member: {e}"), Some(&sub), None, true);
                    continue;
                }
            };
            if let Some(e) = &collected.error {
                self.malformed(format!("tar member: {e}"), Some(&sub), None, true);
                continue;
            }
            let data = collected.data.src();
            if size > take {
                self.malformed(
                    format!(
                        "member larger than max_member_bytes ({})",
                        limits.max_member_bytes
                    ),
                    Some(&sub),
                    None,
                    false,
                );
            }
            let fmt = if legacy_member {
                self.signatures(data, Some(&sub));
                self.pickle(data, Some(&sub), PickleMode::Raw, depth + 1)
            } else {
                self.walk(data, Some(&sub), &name, depth + 1)
            };
            if let Some(f) = fmt {
                self.members.push(Member {
                    path: sub,
                    format: f.as_str().into(),
                    size,
                });
            }
        }
        format
    }
}

/// How a pickle stream was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PickleMode {
    /// A PROTO opcode or a name says pickle.
    Raw,
    /// Only the first byte suggests a pickle (no PROTO, or PROTO 0/1): it is one if the VM
    /// completes a pickle or reaches an importable name ([`looks_like_pickle`]).
    Maybe,
    /// The file's magic bytes name another format, but its first byte also opens a pickle:
    /// reported only if the VM reaches an importable name ([`imports_something`]).
    Hidden,
    /// Legacy torch.save: five stacked pickles, then raw storages.
    TorchLegacy,
}

fn truncated(a: &Analysis) -> bool {
    matches!(
        a.error.as_ref().map(|e| &e.kind),
        Some(PickleErrorKind::Truncated)
    )
}

/// A weakly sniffed stream is a pickle when it completed one pickle, or reached an import
/// before failing (code that runs before the error still runs).
fn looks_like_pickle(a: &Analysis) -> bool {
    // A completed stream counts unless its only imports are names no import accepts: the
    // unpickler stops at the first of them (a CSV line after a `c` reads as a GLOBAL).
    let completed = a.pickles.first().is_some_and(|p| p.result.is_some())
        && a.pickles.first().is_some_and(|p| p.opcodes >= 2);
    (completed && a.imports.is_empty()) || imports_something(a)
}

/// Whether the stream reaches an import the unpickler could resolve. Every call needs one.
/// A GLOBAL opcode letter at the start of a text file or a tar header (`config.json\0…`)
/// reads lines with spaces or NULs as the module name, which no import accepts; names
/// computed at load time count.
fn imports_something(a: &Analysis) -> bool {
    fn plausible(name: Option<&str>) -> bool {
        name.is_none_or(|n| {
            !n.is_empty()
                && n.len() <= 512
                && !n.chars().any(|c| c.is_whitespace() || c.is_control())
        })
    }
    // `__import__` finds a module only by a dotted path of identifiers (a finder looks for
    // `part.py` or `part/`): the first line of a CSV (`const_p1,const_p2,…`) is no module.
    fn module_path(name: Option<&str>) -> bool {
        name.is_none_or(|n| {
            n.split('.').all(|part| {
                let mut chars = part.chars();
                chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                    && chars.all(|c| c == '_' || c.is_alphanumeric())
            })
        })
    }
    a.imports.iter().any(|i| {
        plausible(i.module.as_deref())
            && module_path(i.module.as_deref())
            && plausible(i.name.as_deref())
    })
}

/// Decode a zstd stream (consecutive frames) into `out`, at most `limit` bytes. ruzstd's
/// decoder stops exactly at the end of each frame (checksum included), so the next frame
/// starts where the cursor is.
/// A reader that fails once with the error a decoder constructor gave.
struct Failing(Option<std::io::Error>);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

/// Every zstd frame of `src`, back to back, as one stream (as `zstd -d` reads them).
struct ZstdFrames<'a> {
    src: &'a dyn ReadAt,
    cur: Cursor<'a>,
    dec: Option<ruzstd::decoding::StreamingDecoder<Cursor<'a>, ruzstd::decoding::FrameDecoder>>,
}

impl Read for ZstdFrames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::Seek;
        loop {
            if let Some(dec) = &mut self.dec {
                let n = dec.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                // Frame done: continue after it.
                let pos = dec.get_mut().stream_position()?;
                self.cur = Cursor::new(self.src);
                self.cur.seek(std::io::SeekFrom::Start(pos))?;
                self.dec = None;
            }
            if self.cur.stream_position()? >= self.src.size() {
                return Ok(0);
            }
            let cur = std::mem::replace(&mut self.cur, Cursor::new(self.src));
            let dec = ruzstd::decoding::StreamingDecoder::new(cur)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
            self.dec = Some(dec);
        }
    }
}

/// A view of `src` from `start` to its end.
struct Slice<'a> {
    src: &'a dyn ReadAt,
    start: u64,
}

impl ReadAt for Slice<'_> {
    fn size(&self) -> u64 {
        self.src.size().saturating_sub(self.start)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.src.read_at(self.start.saturating_add(offset), buf)
    }
}
