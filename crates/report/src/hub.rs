//! The Hugging Face Hub shape: per-file statuses (`unsafe`, `suspicious`, `caution`, `safe`,
//! `error`, and the service's `queued`), the `--format hf` document, the
//! `securityFileStatus`-like object of one file and a minimal per-revision SARIF log.
//!
//! One mapping for the CLI and the service, so the two cannot disagree on a file's status.

use modelguard::report::{FileReport, Report, Severity, Verdict};
use serde_json::{Value, json};

/// The status of a file that has not been scanned yet.
pub const QUEUED: &str = "queued";
/// The status of a file that could not be fetched or scanned. Never shown as safe.
pub const ERROR: &str = "error";

/// All statuses, worst first (the order used to pick a revision's overall status).
pub const ORDER: [&str; 6] = ["unsafe", "suspicious", "caution", "error", "queued", "safe"];

/// The Hub-style status of a file:
/// - `unsafe`: verdict malicious (a high or critical finding);
/// - `suspicious`: verdict suspicious (a medium finding);
/// - `caution`: verdict safe, with at least one unsuppressed `low` finding (an unknown but
///   inert global is `info`, so `safe`; see docs/severity.md);
/// - `safe`: verdict safe, nothing above `info`;
/// - `error`: verdict unknown: the analysis was incomplete or failed (fail-closed).
pub fn status(f: &FileReport) -> &'static str {
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

fn imports(f: &FileReport) -> Vec<Value> {
    f.imports
        .iter()
        .map(|i| json!({"module": i.module, "name": i.name, "safety": i.safety}))
        .collect()
}

/// The `--format hf` document: `{"scanner": {...}, "files": [{"path", "status",
/// "pickleImports"}]}`.
pub fn document(report: &Report) -> Value {
    let files: Vec<Value> = report
        .files
        .iter()
        .map(|f| {
            json!({
                "path": f.path,
                "status": status(f),
                "pickleImports": imports(f),
            })
        })
        .collect();
    json!({
        "scanner": {"name": report.scanner.name, "version": report.scanner.version},
        "files": files,
    })
}

/// The `securityFileStatus`-like object of one file. `report` is absent while queued or
/// when fetching failed.
pub fn security_file_status(status: &str, report: Option<&FileReport>, version: &str) -> Value {
    let imports: Vec<Value> = report.map(imports).unwrap_or_default();
    json!({
        "status": status,
        // No antivirus engine runs in the service (yet): say so instead of "safe".
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

/// A minimal SARIF 2.1.0 log for the files of one hub revision: `(repository path, status,
/// report)` each, the report absent while queued or after a failed fetch. Files that are
/// queued or failed become tool execution notifications, so an unfinished revision is
/// visible as such. (The full log of a local scan is [`crate::sarif::log`].)
pub fn revision_sarif(version: &str, files: &[(String, String, Option<FileReport>)]) -> Value {
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
        assert_eq!(status(&bad), "unsafe");
        let mut broken = s.scan_bytes("x.pkl", b"\x80\x02}q\x00");
        broken.verdict = Verdict::Unknown;
        assert_eq!(status(&broken), "error");
        assert!(is_issue("error"));
        assert!(rank("unsafe") < rank("error") && rank("error") < rank("safe"));
        let doc = revision_sarif("1", &[("a.pkl".into(), "unsafe".into(), Some(bad))]);
        assert_eq!(doc["runs"][0]["results"][0]["level"], "error");
    }
}
