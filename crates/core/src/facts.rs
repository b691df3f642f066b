//! Facts: what a format reader found in a file, as plain serialisable values, before any rule
//! decides what they mean. Each format module declares its own facts type (its output
//! schema, documented field by field); [`Facts`] has one variant per module that has one. Readers produce [`Facts`] and do not import `rules`; each rule's
//! check sits beside its `rule!` metadata (`rules/<area>.rs`) as
//! `fn(&Facts, &Policy, &mut Emitter)`, and [`crate::rules::check`] runs them all. Stored
//! facts can be judged again under another policy or rule set without the file's bytes, as
//! long as [`EXTRACTOR_VERSION`] is unchanged.
//!
//! Converted so far: zip structure, archive member paths and links, NumPy and safetensors headers, msgpack ext types and pickles, the file
//! name against the content, TFLite operator codes, GGUF headers and chat templates (GGUF
//! metadata and Hugging Face template files, with their sandbox-escape analysis). Other
//! readers still emit findings directly (see docs/architecture.md).
//!
//! Must not: read bytes (readers do) or decide severities (rules do).

use serde::{Deserialize, Serialize};

use crate::formats::FormatId;
use crate::report::{Finding, Location};

/// Version of what the readers extract: bump it when a reader's facts change (a new field, a
/// fact read differently). Facts stored under another version need the bytes again.
pub const EXTRACTOR_VERSION: u32 = 1;

/// One reader's facts about one file or member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Facts {
    /// A zip archive's structure, as every loader reads it.
    Zip(crate::formats::zip::ZipFacts),
    /// A NumPy `.npy` header.
    Npy(crate::formats::npy::NpyFacts),
    /// A file's name against what its bytes are.
    Name(NameFacts),
    /// A TFLite model's operator codes.
    Tflite(crate::formats::tflite::TfliteFacts),
    /// What a msgpack (Flax) file holds that a loader may act on.
    Msgpack(crate::formats::msgpack::MsgpackFacts),
    /// A safetensors header's conformance.
    Safetensors(crate::formats::safetensors::SafetensorsFacts),
    /// One member of an archive (zip, tar): its path and, for a link, its target.
    ArchiveMember(ArchiveMemberFacts),
    /// A GGUF header: what readers may disagree on (its templates are `ChatTemplate`s).
    Gguf(crate::formats::gguf::GgufFacts),
    /// One chat template (GGUF metadata, `tokenizer_config.json`, `chat_template.json`,
    /// `*.jinja`): where it was found and the sandbox-escape analysis of it.
    ChatTemplate(crate::formats::gguf::TemplateFacts),
}

/// One archive member's path, as extraction would use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveMemberFacts {
    /// The member's path as stored.
    pub name: String,
    /// When the member is a link: its kind and target.
    pub link: Option<ArchiveLink>,
}

/// A link member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveLink {
    /// `symbolic` or `hard`.
    pub kind: String,
    /// The target as stored (relative to the member's directory).
    pub target: String,
}

/// A file's name against its content; recorded when the registry knows the extension
/// (`formats::extension`): a name no format claims and no data list holds says nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameFacts {
    /// The name as scanned.
    pub name: String,
    /// The lower-case extension (empty when none).
    pub extension: String,
    /// What the bytes are.
    pub format: FormatId,
}

/// Something a check could not decide, which makes the file `incomplete` (an encrypted
/// member, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecided {
    /// Short machine-readable kind (`encrypted`).
    pub kind: &'static str,
    /// Human-readable detail.
    pub message: String,
    /// Member path relative to the facts' file, if any.
    pub member: Option<String>,
}

/// Where checks put what they conclude.
#[derive(Debug, Default)]
pub struct Emitter {
    findings: Vec<Finding>,
    undecided: Vec<Undecided>,
}

impl Emitter {
    /// Report a finding (its location relative to the facts' file).
    pub fn emit(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Note what could not be decided.
    pub fn undecided(&mut self, kind: &'static str, message: String, member: Option<String>) {
        self.undecided.push(Undecided {
            kind,
            message,
            member,
        });
    }

    /// The findings and the undecided notes, in the order emitted.
    pub fn into_parts(self) -> (Vec<Finding>, Vec<Undecided>) {
        (self.findings, self.undecided)
    }
}

/// Judge `facts` under `policy`: every rule's check, findings in rule order.
pub fn judge(facts: &Facts, policy: &crate::policy::Policy) -> (Vec<Finding>, Vec<Undecided>) {
    let mut out = Emitter::default();
    crate::rules::check(facts, policy, &mut out);
    out.into_parts()
}

impl Undecided {
    /// Its location, under `member` (the facts' file inside its containers).
    pub fn location(&self, member: Option<&str>) -> Location {
        Location {
            member: match (member, &self.member) {
                (Some(m), Some(inner)) => Some(format!("{m}!{inner}")),
                (Some(m), None) => Some(m.to_string()),
                (None, inner) => inner.clone(),
            },
            ..Location::default()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn facts_round_trip_through_json_and_judge_the_same() {
        let f = Facts::Npy(crate::formats::npy::NpyFacts {
            descr: "'|O'".into(),
            object: true,
            data_offset: 128,
        });
        let text = serde_json::to_string(&f).unwrap();
        let back: Facts = serde_json::from_str(&text).unwrap();
        assert_eq!(back, f);
        let policy = crate::policy::Policy::default();
        assert_eq!(judge(&f, &policy).0, judge(&back, &policy).0);
        assert_eq!(judge(&f, &policy).0.len(), 1);
    }

    /// `facts` survives JSON and judges the same after it; returns its findings.
    fn round_trip(f: &Facts) -> Vec<Finding> {
        let text = serde_json::to_string(f).unwrap();
        let back: Facts = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, f);
        let policy = crate::policy::Policy::default();
        let (a, b) = (judge(f, &policy).0, judge(&back, &policy).0);
        assert_eq!(a, b);
        a
    }

    #[test]
    fn gguf_facts_round_trip() {
        let f = Facts::Gguf(crate::formats::gguf::GgufFacts {
            version: 3,
            big_endian: false,
            tensor_count: 2,
            kv_count: 4,
            duplicate_keys: vec!["tokenizer.chat_template".into()],
        });
        let found = round_trip(&f);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, "MG-GGUF-HEADER");
    }

    #[test]
    fn chat_template_facts_round_trip() {
        use crate::formats::gguf::jinja::{Escape, EscapeKind};
        let f = Facts::ChatTemplate(crate::formats::gguf::TemplateFacts {
            name: "tokenizer.chat_template".into(),
            offset: Some(414),
            unparsed: Some(crate::formats::gguf::Unparsed {
                reason: "Jinja parse error: unexpected end of input".into(),
                head: "{{ x|attr('__glo' 'bals__')() }}".into(),
            }),
            escapes: vec![
                Escape {
                    kind: EscapeKind::CodeName,
                    what: "string __globals__".into(),
                    evidence: "'__glo' 'bals__'".into(),
                    path: vec![],
                    line: 1,
                    column: 11,
                },
                Escape {
                    kind: EscapeKind::CommandThroughInternals,
                    what: "popen reached through __globals__.os".into(),
                    evidence: "lipsum.__globals__.os.popen('id')".into(),
                    path: vec!["__globals__".into(), "os".into()],
                    line: 2,
                    column: 4,
                },
            ],
        });
        let found = round_trip(&f);
        let rules: Vec<&str> = found.iter().map(|x| x.rule.as_str()).collect();
        assert_eq!(rules, ["MG-TEMPLATE-PARSE", "MG-TEMPLATE-SSTI"]);
        assert_eq!(found[1].severity, crate::report::Severity::Critical);
        assert_eq!(found[1].location.offset, Some(414));
    }
}
