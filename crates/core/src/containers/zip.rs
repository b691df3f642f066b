//! Zip archives: anomalies between the loaders' views, the archive's kind (PyTorch,
//! TorchScript, npz, Keras), member paths and links, then every member walked.

use crate::formats::{self, FormatId, Kind, zip};
use crate::limits::Limits;
use crate::report::{Location, Member, Severity};
use crate::rules;
use crate::scan::{PickleMode, Walk, join};
use crate::source::{ReadAt, read_range};

impl Walk<'_> {
    pub(crate) fn zip(&mut self, src: &dyn ReadAt, member: Option<&str>, depth: usize) -> FormatId {
        let limits = self.limits().clone();
        let view = match zip::read(src, &limits) {
            Ok(v) => v,
            Err(e) => {
                let fatal = !matches!(e, zip::ZipError::Limit(_));
                self.malformed(format!("zip: {e}"), member, None, fatal);
                return FormatId::Zip;
            }
        };
        // Facts first; what they mean is decided by the rules' checks.
        self.judge_facts(
            crate::facts::Facts::Zip(zip::ZipFacts {
                anomalies: view.anomalies.clone(),
            }),
            member,
        );
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
            let link = e.is_symlink().then(|| {
                let target = crate::member::read_prefix(src, e, 4096, &limits)
                    .map(|(d, _)| String::from_utf8_lossy(&d).into_owned())
                    .unwrap_or_default();
                ("symbolic", target)
            });
            self.archive_member(&e.name, link, member);
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
    pub(crate) fn member_signatures(
        &mut self,
        src: &dyn ReadAt,
        e: &zip::Entry,
        sub: &str,
        limits: &Limits,
    ) {
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
    pub(crate) fn keras_config(
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

    /// An archive member's path and link target, as facts for the rules' checks
    /// (`MG-ARCHIVE-SLIP`, `MG-ARCHIVE-LINK`).
    pub(crate) fn archive_member(
        &mut self,
        name: &str,
        link: Option<(&str, String)>,
        member: Option<&str>,
    ) {
        let facts = crate::facts::Facts::ArchiveMember(crate::facts::ArchiveMemberFacts {
            name: name.to_string(),
            link: link.map(|(kind, target)| crate::facts::ArchiveLink {
                kind: kind.to_string(),
                target,
            }),
        });
        self.judge_facts(facts, member);
    }

    /// TorchScript archives carry their program as Python-syntax source under `code/`: each
    /// file's facts (`formats::torchscript`) are judged under the member's path.
    pub(crate) fn torchscript_code(
        &mut self,
        src: &dyn ReadAt,
        view: &zip::ZipView,
        member: Option<&str>,
    ) {
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
            let facts = formats::torchscript::analyze_code(&text, &limits.code);
            let incomplete = (!facts.code.complete).then(|| facts.code.errors.join("; "));
            self.judge_facts(crate::facts::Facts::TorchscriptCode(facts), Some(&sub));
            if let Some(errors) = incomplete {
                self.error(
                    "incomplete",
                    format!("TorchScript code not fully analysed: {errors}"),
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
    pub(crate) fn zip_member(
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

    pub(crate) fn last_byte_is_stop(
        &self,
        src: &dyn ReadAt,
        e: &zip::Entry,
        limits: &Limits,
    ) -> bool {
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
}
