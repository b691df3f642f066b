//! The rule registry. Each rule is one `static` whose doc comment is its user-facing
//! documentation (`modelguard explain ID`, `docs/rules.md`); [`RULES`] lists them all.
//!
//! Adding a rule touches its area's file only (`rules/<area>.rs`): declare it with
//! [`rule!`](crate::rule), add it to the file's `RULES` slice, write its
//! `check(&Facts, &Policy, &mut Emitter)` right below it and add that to the file's `CHECKS`
//! slice (for readers not yet converted to facts, emit it where the fact is found); then add
//! a malicious and a benign fixture.

use std::sync::LazyLock;

mod archive;
mod code;
mod formats;
mod gguf;
mod keras;
mod msgpack;
mod onnx;
mod pickle;
mod policy;
mod signatures;
mod tensorflow;
mod tflite;

pub use archive::*;
pub use code::*;
#[allow(unused_imports)]
pub use formats::*;
#[allow(unused_imports)]
pub use gguf::*;
#[allow(unused_imports)]
pub use keras::*;
#[allow(unused_imports)]
pub use msgpack::*;
#[allow(unused_imports)]
pub use onnx::*;
pub use pickle::*;
#[allow(unused_imports)]
pub use policy::*;
#[allow(unused_imports)]
pub use signatures::*;
#[allow(unused_imports)]
pub use tensorflow::*;
#[allow(unused_imports)]
pub use tflite::*;

pub use crate::report::{Fires, Rule};

/// Declare a rule: the doc comment becomes both rustdoc and the `explain` text.
#[macro_export]
///
/// `formats` names [`FormatId`](crate::formats::FormatId) variants (so a rule cannot name a
/// format the registry does not know), or `any`.
macro_rules! rule {
    ($(#[doc = $doc:literal])* $name:ident { id: $id:literal, name: $n:literal, severity: $sev:ident, formats: any, fires: $fires:ident $(,)? }) => {
        $(#[doc = $doc])*
        pub static $name: $crate::rules::Rule = $crate::rules::Rule {
            id: $id,
            name: $n,
            severity: $crate::report::Severity::$sev,
            formats: &["*"],
            fires: $crate::rules::Fires::$fires,
            doc: concat!($($doc, "\n"),*),
        };
    };
    ($(#[doc = $doc:literal])* $name:ident { id: $id:literal, name: $n:literal, severity: $sev:ident, formats: [$($f:ident),* $(,)?], fires: $fires:ident $(,)? }) => {
        $(#[doc = $doc])*
        pub static $name: $crate::rules::Rule = $crate::rules::Rule {
            id: $id,
            name: $n,
            severity: $crate::report::Severity::$sev,
            formats: &[$($crate::formats::FormatId::$f.as_str()),*],
            fires: $crate::rules::Fires::$fires,
            doc: concat!($($doc, "\n"),*),
        };
    };
}

/// Every rule, in documentation order: the groups of [`GROUPS`] concatenated.
pub static RULES: LazyLock<Vec<&'static Rule>> =
    LazyLock::new(|| GROUPS.iter().flat_map(|g| g.iter().copied()).collect());

/// One slice of rules per area; add a group here when adding an area file.
static GROUPS: &[&[&Rule]] = &[
    pickle::RULES,
    code::RULES,
    keras::RULES,
    tensorflow::RULES,
    tflite::RULES,
    msgpack::RULES,
    onnx::RULES,
    gguf::RULES,
    formats::RULES,
    signatures::RULES,
    archive::RULES,
    policy::RULES,
];

/// A rule's check: facts in, findings out (see [`crate::facts`]), for the kinds of facts it
/// reads.
#[derive(Clone, Copy)]
pub struct Check {
    /// The kinds of facts it reads (it is run on those only).
    pub on: &'static [crate::facts::FactsKind],
    /// The check.
    pub run: fn(&crate::facts::Facts, &crate::policy::Policy, &mut crate::facts::Emitter),
}

impl Check {
    /// `run`, for facts of the kinds `on`.
    pub const fn on(
        on: &'static [crate::facts::FactsKind],
        run: fn(&crate::facts::Facts, &crate::policy::Policy, &mut crate::facts::Emitter),
    ) -> Self {
        Check { on, run }
    }
}

/// Every area's checks, in the order findings are reported. A check sits beside its rule's
/// `rule!` in the area file and is listed in that file's `CHECKS`; add an area here.
static CHECK_GROUPS: &[&[Check]] = &[
    archive::CHECKS,
    pickle::CHECKS,
    tflite::CHECKS,
    formats::CHECKS,
    msgpack::CHECKS,
    keras::CHECKS,
    tensorflow::CHECKS,
    onnx::CHECKS,
    code::CHECKS,
    gguf::CHECKS,
    signatures::CHECKS,
];

/// Every check, in reporting order: the groups of `CHECK_GROUPS` concatenated.
pub static CHECKS: LazyLock<Vec<Check>> = LazyLock::new(|| {
    CHECK_GROUPS
        .iter()
        .flat_map(|g| g.iter().copied())
        .collect()
});

/// Every check, in reporting order, by the kind of facts it reads (indexed by
/// `FactsKind as usize`): the groups of `CHECK_GROUPS` concatenated.
static BY_KIND: LazyLock<Vec<Vec<Check>>> = LazyLock::new(|| {
    let mut by = vec![Vec::new(); crate::facts::FactsKind::COUNT];
    for c in CHECKS.iter() {
        for &k in c.on {
            if let Some(list) = by.get_mut(k as usize) {
                list.push(*c);
            }
        }
    }
    by
});

/// Run every rule's check written for `facts`' kind under `policy`.
pub fn check(
    facts: &crate::facts::Facts,
    policy: &crate::policy::Policy,
    out: &mut crate::facts::Emitter,
) {
    for c in BY_KIND.get(facts.kind() as usize).into_iter().flatten() {
        (c.run)(facts, policy, out);
    }
}

/// Judge `facts` under `policy`: every check written for its kind, findings in rule order,
/// and what could not be decided.
pub fn judge(
    facts: &crate::facts::Facts,
    policy: &crate::policy::Policy,
) -> (Vec<crate::report::Finding>, Vec<crate::facts::Undecided>) {
    let mut out = crate::facts::Emitter::default();
    check(facts, policy, &mut out);
    out.into_parts()
}

/// Look a rule up by ID (case-insensitive).
pub fn find(id: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.id.eq_ignore_ascii_case(id))
}

/// Digest of the rule set (IDs, severities, docs), for reports: `sha256:…`.
pub fn ruleset_digest(extra: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    for r in RULES.iter() {
        h.update(r.id.as_bytes());
        h.update(r.severity.as_str().as_bytes());
        h.update(r.doc.as_bytes());
    }
    h.update(extra);
    format!("sha256:{}", crate::report::hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_names_registered_formats() {
        for r in RULES.iter() {
            for f in r.formats {
                if *f == "*" {
                    continue;
                }
                let id = crate::formats::FormatId::parse(f);
                assert!(
                    id.is_some_and(|id| crate::formats::info(id).is_some()),
                    "rule {} names format {f:?}, which the registry does not list",
                    r.id
                );
            }
        }
    }

    #[test]
    fn every_check_reads_some_kind_of_facts() {
        assert!(CHECKS.len() >= 20);
        for c in CHECKS.iter() {
            assert!(!c.on.is_empty());
        }
        let indexed: usize = BY_KIND.iter().map(Vec::len).sum();
        assert!(indexed >= CHECKS.len());
    }

    #[test]
    fn ids_unique_and_documented() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate rule IDs");
        for r in RULES.iter() {
            let doc = r.doc_text();
            for section in [
                "## What it detects",
                "## Why is this dangerous?",
                "## How the verdict is decided",
                "## False positives",
                "## How to fix",
            ] {
                assert!(doc.contains(section), "{} lacks section {section}", r.id);
            }
        }
    }
}
