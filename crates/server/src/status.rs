//! Statuses in the Hugging Face Hub's vocabulary, the `securityFileStatus`-like document per
//! file, and a minimal SARIF log per revision.
//!
//! The SARIF here is deliberately minimal (one run, the rules that fired, one result per
//! finding located at the repository path): the CLI's richer SARIF writer lives in the CLI
//! crate, which the service does not depend on.

use modelguard::report::{FileReport, Severity, Verdict};
use serde_json::{Value, json};

/// The status of a file that has not been scanned yet.
pub const QUEUED: &str = "queued";
/// The status of a file that could not be fetched or scanned. Never shown as safe.
pub const ERROR: &str = "error";

/// All statuses, worst first (the order used to pick a revision's overall status).
pub const ORDER: [&str; 6] = ["unsafe", "suspicious", "caution", "error", "queued", "safe"];

/// Hub-style status of a scanned file (same mapping as the CLI's `--format hf`):
/// malicious → `unsafe`, suspicious → `suspicious`, safe with a low finding → `caution`,
/// safe → `safe`, unknown (incomplete or failed analysis) → `error` (fail-closed).
pub fn of_report(f: &FileReport) -> &'static str {
    match f.verdict {
        Verdict::Malicious => "unsafe",
        Verdict::Suspicious => "suspicious",
        Verdict::Safe if f.max_severity().is_some_and(|s| s >= Severity::Low) => "caution",
        Verdict::Safe => "safe",
        Verdict::Unknown => ERROR,
    }
}

/// Whether a status is an issue for `filesWithIssues` (errors included: an error is never a
/// clean bill of health).
pub fn is_issue(status: &str) -> bool {
    matches!(status, "unsafe" | "suspicious" | "caution" | "error")
}

/// Rank for sorting, 0 = worst.
pub fn rank(status: &str) -> usize {
    ORDER.iter().position(|s| *s == status).unwrap_or(0)
}

/// The `securityFileStatus`-like object of one file. `report` is absent while queued or
/// when fetching failed.
pub fn security_file_status(status: &str, report: Option<&FileReport>, version: &str) -> Value {
    let imports: Vec<Value> = report
        .map(|r| {
            r.imports
                .iter()
                .map(|i| json!({"module": i.module, "name": i.name, "safety": i.safety}))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "status": status,
        // No antivirus engine runs in this service (yet): say so instead of "safe".
        "avScan": {"status": "unscanned"},
        "pickleImportScan": {
            "status": status,
            "version": version,
            "pickleImports": imports,
        },
    })
}

/// SARIF `level` for a severity.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// A minimal SARIF 2.1.0 log for the files of one revision. Files that are queued or failed
/// become tool execution notifications, so an unfinished revision is visible as such.
pub fn sarif(version: &str, files: &[(String, String, Option<FileReport>)]) -> Value {
    let mut rule_ids: Vec<String> = Vec::new();
    let mut results = Vec::new();
    let mut notes = Vec::new();
    for (path, status, report) in files {
        let Some(r) = report else {
            notes.push(json!({
                "level": if status == ERROR { "error" } else { "note" },
                "message": {"text": format!("{path}: {status}")},
            }));
            continue;
        };
        for f in r.findings.iter().filter(|f| f.suppressed.is_none()) {
            if !rule_ids.contains(&f.rule) {
                rule_ids.push(f.rule.clone());
            }
            let member = f
                .location
                .member
                .as_deref()
                .map(|m| format!(" in {m}"))
                .unwrap_or_default();
            results.push(json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": {"text": format!("{}{member}", f.message)},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": path}}}],
                "properties": {"severity": f.severity.as_str()},
            }));
        }
        if status == ERROR {
            notes.push(json!({
                "level": "error",
                "message": {"text": format!("{path}: analysis incomplete or failed")},
            }));
        }
    }
    let rules: Vec<Value> = rule_ids.iter().map(|id| json!({"id": id})).collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "modelguard", "version": version, "rules": rules}},
            "invocations": [{"executionSuccessful": true, "toolExecutionNotifications": notes}],
            "results": results,
        }],
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn statuses_fail_closed() {
        let s = modelguard::Scanner::default();
        let bad = s.scan_bytes("x.pkl", b"cos\nsystem\n(S'echo modelguard-test'\ntR.");
        assert_eq!(of_report(&bad), "unsafe");
        let mut broken = s.scan_bytes("x.pkl", b"\x80\x02}q\x00");
        broken.verdict = Verdict::Unknown;
        assert_eq!(of_report(&broken), "error");
        assert!(is_issue("error"));
        assert!(rank("unsafe") < rank("error") && rank("error") < rank("safe"));
        let doc = sarif("1", &[("a.pkl".into(), "unsafe".into(), Some(bad))]);
        assert_eq!(doc["runs"][0]["results"][0]["level"], "error");
    }
}
