//! Hub-style statuses (`queued`, `safe`, `caution`, `suspicious`, `unsafe`, `error`),
//! `securityFileStatus` and per-revision SARIF: the writers of `modelguard-report`, shared
//! with the CLI's `--format hf` (one implementation), under the names the service uses.

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use modelguard::report::Verdict;

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
