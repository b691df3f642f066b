//! Hub-style statuses (`queued`, `safe`, `caution`, `suspicious`, `unsafe`, `error`),
//! `securityFileStatus` and per-revision SARIF: the writers of `modelguard-report`, shared
//! with the CLI's `--format hf` (one implementation, tested there), under the names the
//! service uses.

pub use modelguard_report::hub::{ERROR, ORDER, QUEUED, is_issue, rank, security_file_status};

use modelguard::report::FileReport;
use serde_json::Value;

/// The Hub status of a scanned file (fail closed: anything not fully analysed is `error`).
pub fn of_report(f: &FileReport) -> &'static str {
    modelguard_report::hub::status(f)
}

/// A SARIF 2.1.0 log of a revision's files (path, status, report).
pub fn sarif(version: &str, files: &[(String, String, Option<FileReport>)]) -> Value {
    modelguard_report::hub::revision_sarif(version, files)
}
