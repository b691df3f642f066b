//! One file's walk: sniff, dispatch to the container walkers, the pickle reader and the format
//! parsers, and record what they found (the journal, `journal.rs`, the report is judged from)
//! and the members.

use std::path::Path;

use super::journal::{Entry, join_member};
use super::{PickleMode, Scanner, Slice, join};
use crate::facts::Facts;
use crate::formats::{self, FormatId, Kind, zip};
use crate::limits::Limits;
use crate::report::{Finding, Location, Member, ScanError, Severity};
use crate::rules;
use crate::signatures::SignatureFacts;
use crate::source::{ReadAt, read_range};

/// The formats with magic bytes but no parser in their registry entry, read by
/// `Walk::walked` (containers, compressors and the pickle family recurse into the walk);
/// `every_magic_is_parsed_or_walked` checks the registry against it.
#[cfg(test)]
pub(crate) const WALKED: &[FormatId] = &[
    FormatId::Zip,
    FormatId::PytorchLegacy,
    FormatId::Pickle,
    FormatId::Numpy,
    FormatId::Zlib,
    FormatId::Gzip,
    FormatId::Bzip2,
    FormatId::Xz,
    FormatId::Lzma,
    FormatId::Zstd,
    FormatId::Lz4,
    FormatId::Tar,
    FormatId::Joblib,
];

/// One file's walk: what every reader found so far, and the scanner in force.
pub(crate) struct Walk<'a> {
    pub(crate) s: &'a Scanner,
    /// What the readers found, in order; judged into findings at the end.
    pub(crate) journal: Vec<Entry>,
    pub(crate) members: Vec<Member>,
    pub(crate) decompressed: u64,
    pub(crate) imports: std::collections::BTreeSet<(String, String)>,
}

impl Walk<'_> {
    pub(crate) fn limits(&self) -> &Limits {
        &self.s.limits
    }

    pub(crate) fn error(&mut self, kind: &str, message: String, location: Location, fatal: bool) {
        self.journal.push(Entry::Error {
            error: ScanError {
                kind: kind.into(),
                message,
                location,
            },
            fatal,
        });
    }

    /// Record a finding the driver made itself.
    pub(crate) fn push_finding(&mut self, finding: Finding) {
        self.journal.push(Entry::Finding { finding });
    }

    pub(crate) fn finding(
        &mut self,
        rule: &rules::Rule,
        sev: Severity,
        message: String,
        evidence: Option<String>,
        member: Option<&str>,
    ) {
        self.push_finding(
            Finding::new(rule, sev, message)
                .evidence_opt(evidence)
                .at(Location {
                    member: member.map(str::to_string),
                    ..Location::default()
                }),
        );
    }

    pub(crate) fn malformed(
        &mut self,
        what: String,
        member: Option<&str>,
        offset: Option<u64>,
        fatal: bool,
    ) {
        self.push_finding(
            Finding::new(&rules::MALFORMED, Severity::Medium, what.clone()).at(Location {
                member: member.map(str::to_string),
                offset,
                opcode: None,
            }),
        );
        let loc = Location {
            member: member.map(str::to_string),
            offset,
            opcode: None,
        };
        self.error(if fatal { "parse" } else { "limit" }, what, loc, fatal);
    }

    /// Analyse `src`; returns the detected format name, or `None` for opaque data.
    pub(crate) fn walk(
        &mut self,
        src: &dyn ReadAt,
        member: Option<&str>,
        name: &str,
        depth: usize,
    ) -> Option<FormatId> {
        // Signatures over the raw bytes first. Their facts are judged once the walk knows what
        // the file is (the check treats a match in safetensors data as data) and go before the
        // walk's entries; a container's match that one of its members also matches is then
        // reported on the member only (`journal.rs`).
        self.journal.push(Entry::SignaturesBegin);
        let slot = self.journal.len();
        let matched = if depth <= self.limits().max_depth {
            self.signature_facts(src, member)
        } else {
            None
        };
        self.journal.push(Entry::SignaturesEnd);
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
        if let Some(mut facts) = matched {
            facts.format = format;
            let at = slot.min(self.journal.len());
            self.journal.insert(
                at,
                Entry::Facts {
                    member: member.map(str::to_string),
                    facts: Facts::Signatures(facts),
                },
            );
        }
        self.journal.push(Entry::SignaturesDone);
        format
    }

    /// Match the YARA rules over `src` and judge the matches at once (bytes that are not
    /// walked as a file of their own: a member read as a pickle, a member's decoded start).
    pub(crate) fn signatures(&mut self, src: &dyn ReadAt, member: Option<&str>) {
        if let Some(facts) = self.signature_facts(src, member) {
            self.judge_facts(Facts::Signatures(facts), member);
        }
    }

    /// Match the YARA rules over `src` (bounded by `max_signature_bytes` and
    /// `max_signature_millis`); `None` when nothing matched. A scan error makes the file
    /// incomplete; matches found before it are kept.
    pub(crate) fn signature_facts(
        &mut self,
        src: &dyn ReadAt,
        member: Option<&str>,
    ) -> Option<SignatureFacts> {
        let limits = &self.s.limits;
        let max_time = (limits.max_signature_millis > 0)
            .then(|| std::time::Duration::from_millis(limits.max_signature_millis));
        let mut matches = Vec::new();
        let res = self
            .s
            .signatures
            .scan(src, limits.max_signature_bytes, max_time, &mut matches);
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
        (!matches.is_empty()).then_some(SignatureFacts {
            matches,
            format: None,
        })
    }

    pub(crate) fn walk_kind(
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
        let user_block =
            if matches!(kind, Kind::Is(FormatId::Hdf5) | Kind::Empty) || src.size() < 520 {
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
                | Kind::Maybe(_)
                | Kind::Zlib
                | Kind::Data
        ) && formats::opens_pickle(&head)
        {
            self.hidden_pickle(src, member, depth, kind);
        }
        let main = match kind {
            Kind::Empty => Some(FormatId::Empty),
            Kind::MaybePickle => match self.pickle(src, member, PickleMode::Maybe, depth) {
                Some(format) => Some(format),
                None => self.unsniffed(src, member, name, depth),
            },
            Kind::Maybe(_) | Kind::Data => self.unsniffed(src, member, name, depth),
            // The registry entry's parser, or the walk's own reading (`WALKED`).
            Kind::Is(id) => match formats::parser(id) {
                Some(parse) => Some(self.format(parse, src, member, name, depth)),
                None => self.walked(kind, src, member, name, depth, &head),
            },
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

    /// A format whose registry entry has magic but no parser (one of `WALKED`): reading it
    /// recurses into the walk.
    fn walked(
        &mut self,
        kind: Kind,
        src: &dyn ReadAt,
        member: Option<&str>,
        name: &str,
        depth: usize,
        head: &[u8],
    ) -> Option<FormatId> {
        match kind {
            Kind::Zip => Some(self.zip(src, member, depth)),
            Kind::TorchLegacy => {
                self.pickle(src, member, PickleMode::TorchLegacy, depth);
                Some(FormatId::PytorchLegacy)
            }
            Kind::PickleProto => self.pickle(src, member, PickleMode::Raw, depth),
            Kind::Npy => Some(self.npy(src, member, depth)),
            // `(S`, `(r` and `X\t` are zlib headers too, and joblib decompresses only `x`
            // (0x78) streams, so a stream that opens like a pickle is tried as one first.
            Kind::Zlib => {
                let as_pickle = if formats::opens_pickle(head) {
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
            Kind::Gzip | Kind::Bzip2 | Kind::Xz | Kind::LzmaAlone | Kind::Zstd | Kind::Lz4 => {
                self.decompress(src, member, name, depth, kind)
            }
            Kind::Tar => Some(self.tar(src, member, depth)),
            Kind::JoblibZf => Some(self.joblib_zf(src, member, depth, head)),
            // Not reached: every magic has a parser or is listed in `WALKED` (tested).
            _ => self.unsniffed(src, member, name, depth),
        }
    }

    /// joblib's legacy `ZF` file, read as `joblib.load` reads it
    /// (`numpy_pickle_compat.read_zfile`, then `ZipNumpyUnpickler`): the zlib stream after
    /// the header, decompressed (bounded), is a pickle.
    pub(crate) fn joblib_zf(
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
    pub(crate) fn unsniffed(
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
    pub(crate) fn weights_by_content(&mut self, src: &dyn ReadAt, name: &str) -> Option<FormatId> {
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
    pub(crate) fn hidden_pickle(
        &mut self,
        src: &dyn ReadAt,
        member: Option<&str>,
        depth: usize,
        kind: Kind,
    ) {
        if self
            .pickle(src, member, PickleMode::Hidden, depth)
            .is_none()
        {
            return;
        }
        let magic = match kind {
            Kind::Is(id) => formats::magic(id).map_or("another format's", |m| m.label),
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
    pub(crate) fn by_name(
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
    pub(crate) fn format(
        &mut self,
        analyze: fn(&dyn ReadAt, &formats::FormatCtx<'_>) -> formats::Outcome,
        src: &dyn ReadAt,
        member: Option<&str>,
        name: &str,
        depth: usize,
    ) -> FormatId {
        let ctx = formats::FormatCtx {
            limits: &self.s.limits,
            name,
        };
        let out = analyze(src, &ctx);
        self.absorb(out, member, depth)
    }

    /// Take in a format outcome: findings (member paths joined), problems, nested blobs.
    pub(crate) fn absorb(
        &mut self,
        out: formats::Outcome,
        member: Option<&str>,
        depth: usize,
    ) -> FormatId {
        for facts in out.facts {
            self.judge_facts(facts, member);
        }
        for mut f in out.findings {
            f.location.member = join_member(member, f.location.member.take());
            self.push_finding(f);
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

    /// Record facts a reader produced about `member`: the rules judge them when the report is
    /// made (`journal.rs`).
    pub(crate) fn judge_facts(&mut self, facts: crate::facts::Facts, member: Option<&str>) {
        self.journal.push(Entry::Facts {
            member: member.map(str::to_string),
            facts,
        });
    }

    /// A `modelguard.toml` among the scanned files that is not the policy in force: report
    /// it, so that nobody believes it was applied (it never is: see `Scanner::policy_file`).
    pub(crate) fn check_policy_file(&mut self, name: &str) {
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

    /// The name against the content: facts for the rules' checks (`MG-EXT-MISMATCH`).
    pub(crate) fn check_extension(&mut self, name: &str, format: FormatId) {
        let extension = Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        // Only names the registry knows are facts (see `NameFacts`): every file is checked,
        // and most names (`.pkl`) claim nothing.
        if formats::extension(&extension).is_none() {
            return;
        }
        let facts = crate::facts::Facts::Name(crate::facts::NameFacts {
            name: name.to_string(),
            extension,
            format,
        });
        self.judge_facts(facts, None);
    }

    pub(crate) fn read_window<'s>(
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each magic's format is either dispatched to its registry parser or read by the walk.
    #[test]
    fn every_magic_is_parsed_or_walked() {
        for m in formats::magics() {
            let parsed = formats::parser(m.id).is_some();
            assert_ne!(parsed, WALKED.contains(&m.id), "{}", m.id);
        }
    }
}
