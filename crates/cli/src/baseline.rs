//! Finding fingerprints and baseline files.
//!
//! A fingerprint identifies a finding across runs: SHA-256 over the rule ID, the file path
//! (as given on the command line, `/`-separated, without a leading `./`), the member path and
//! the evidence, truncated to 128 bits. Severity and message are left out so that rewording a
//! message or overriding a severity does not make an accepted finding new again. The same
//! value is SARIF's `partialFingerprints["modelguardFinding/v1"]`.
//!
//! A baseline file records the fingerprints of accepted findings; findings whose fingerprint
//! is in it are suppressed with reason `baseline`, so the exit code depends only on new ones.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use modelguard::report::FileReport;
use serde_json::{Value, json};

/// Schema identifier of baseline files.
pub const SCHEMA: &str = "modelguard.baseline/1";

/// Suppression reason of findings in the baseline.
pub const REASON: &str = "baseline";

pub use modelguard_report::fingerprint::{fingerprint, normalize_path};

/// The baseline document for the findings of `files` that the policy did not suppress.
pub fn build(files: &[FileReport]) -> Value {
    let mut entries: Vec<(String, Value)> = Vec::new();
    for file in files {
        for f in &file.findings {
            if f.suppressed.as_deref().is_some_and(|r| r != REASON) {
                continue;
            }
            let fp = fingerprint(&file.path, f);
            entries.push((
                fp.clone(),
                json!({
                    "fingerprint": fp,
                    "rule": f.rule,
                    "path": normalize_path(&file.path),
                    "member": f.location.member,
                }),
            ));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|a, b| a.0 == b.0);
    json!({
        "schema": SCHEMA,
        "findings": entries.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    })
}

/// Write a baseline document ([`build`]).
pub fn write(path: &Path, doc: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(doc)? + "\n";
    std::fs::write(path, text).with_context(|| format!("writing baseline {}", path.display()))
}

/// Read the fingerprints of a baseline file.
pub fn read(path: &Path) -> Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading baseline {}", path.display()))?;
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("baseline {}: not JSON", path.display()))?;
    if v.get("schema").and_then(Value::as_str) != Some(SCHEMA) {
        bail!(
            "baseline {}: not a modelguard baseline (expected \"schema\": \"{SCHEMA}\")",
            path.display()
        );
    }
    let Some(items) = v.get("findings").and_then(Value::as_array) else {
        bail!("baseline {}: no \"findings\" array", path.display());
    };
    items
        .iter()
        .map(|i| {
            i.get("fingerprint")
                .and_then(Value::as_str)
                .map(str::to_string)
                .with_context(|| {
                    format!("baseline {}: an entry has no fingerprint", path.display())
                })
        })
        .collect()
}

/// Suppress findings in the baseline (those not already suppressed) and recompute verdicts.
/// Returns how many were suppressed.
pub fn apply(files: &mut [FileReport], known: &BTreeSet<String>) -> usize {
    let mut n = 0;
    for file in files {
        let path = file.path.clone();
        let mut touched = false;
        for f in &mut file.findings {
            if f.suppressed.is_none() && known.contains(&fingerprint(&path, f)) {
                f.suppressed = Some(REASON.to_string());
                touched = true;
                n += 1;
            }
        }
        if touched {
            file.finalize();
        }
    }
    n
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use modelguard::report::{Finding, Location, Severity};

    fn finding(evidence: &str) -> Finding {
        Finding {
            rule: "MG-PKL-PROC".into(),
            severity: Severity::Critical,
            message: "m".into(),
            evidence: Some(evidence.into()),
            location: Location {
                member: Some("archive/data.pkl".into()),
                offset: Some(3),
                opcode: None,
            },
            suppressed: None,
        }
    }

    #[test]
    fn fingerprint_is_stable_and_discriminating() {
        let f = finding("os.system('x')");
        let a = fingerprint("./m/a.pt", &f);
        assert_eq!(a.len(), 32);
        assert_eq!(
            a,
            fingerprint("m/a.pt", &f),
            "leading ./ is not significant"
        );
        assert_eq!(
            a,
            fingerprint("m\\a.pt", &f),
            "separators are not significant"
        );
        let mut g = f.clone();
        g.severity = Severity::Low;
        g.message = "other".into();
        g.location.offset = Some(9);
        assert_eq!(
            a,
            fingerprint("m/a.pt", &g),
            "severity/message/offset are not part of it"
        );
        assert_ne!(a, fingerprint("m/b.pt", &f));
        assert_ne!(a, fingerprint("m/a.pt", &finding("os.system('y')")));
        // Pinned: changing the recipe invalidates every user's baseline and SARIF history.
        assert_eq!(a, "fee6821924a9b045a850c7eaedefe971");
    }
}
