//! Facts: what a format reader found in a file, as plain serialisable values, before any rule
//! decides what they mean. Each format module declares its own facts type (its output
//! schema, documented field by field); [`Facts`] has one variant per module that has one. Readers produce [`Facts`] and do not import `rules`; each rule's
//! check sits beside its `rule!` metadata (`rules/<area>.rs`) as
//! `fn(&Facts, &Policy, &mut Emitter)`, and [`crate::rules::check`] runs them all. Stored
//! facts can be judged again under another policy or rule set without the file's bytes, as
//! long as [`EXTRACTOR_VERSION`] is unchanged.
//!
//! Converted so far: zip structure, archive member paths and links, NumPy and safetensors headers, msgpack ext types and pickles, the file
//! name against the content, TFLite operator codes, YARA signature matches. Other readers still emit findings directly (see docs/architecture.md).
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
    /// What the YARA rules matched in one source.
    Signatures(crate::signatures::SignatureFacts),
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
#[allow(clippy::unwrap_used)]
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

    #[test]
    fn signature_facts_round_trip_through_json_and_judge_the_same() {
        let f = Facts::Signatures(crate::signatures::SignatureFacts {
            matches: vec![crate::signatures::SignatureMatch {
                namespace: "modelguard".into(),
                rule: "MG_EICAR_Test_Signature".into(),
                string: Some("$eicar".into()),
                offset: Some(13),
                severity: Some("high".into()),
                message: Some("EICAR test signature".into()),
                description: None,
            }],
            format: Some(FormatId::Safetensors),
        });
        let text = serde_json::to_string(&f).unwrap();
        assert!(text.starts_with(r#"{"kind":"signatures","#), "{text}");
        let back: Facts = serde_json::from_str(&text).unwrap();
        assert_eq!(back, f);
        let policy = crate::policy::Policy::default();
        let (found, undecided) = judge(&back, &policy);
        assert_eq!(found, judge(&f, &policy).0);
        assert_eq!(found.len(), 1);
        assert!(undecided.is_empty());
    }
}
