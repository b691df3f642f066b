//! `--format hf`: per-file results in the vocabulary of the Hugging Face Hub's security scan
//! (`status` and `pickleImports` with `innocuous`/`suspicious`/`dangerous` safety).

use modelguard::report::{FileReport, Report, Severity, Verdict};
use serde_json::{Value, json};

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
        Verdict::Unknown => "error",
    }
}

/// The document: `{"scanner": {...}, "files": [{"path", "status", "pickleImports"}]}`.
pub fn document(report: &Report) -> Value {
    let files: Vec<Value> = report
        .files
        .iter()
        .map(|f| {
            json!({
                "path": f.path,
                "status": status(f),
                "pickleImports": f.imports.iter().map(|i| json!({
                    "module": i.module,
                    "name": i.name,
                    "safety": i.safety,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "scanner": {"name": report.scanner.name, "version": report.scanner.version},
        "files": files,
    })
}
