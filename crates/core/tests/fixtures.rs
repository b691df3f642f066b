//! Every fixture in `tests/fixtures/manifest.json` (made by the real libraries, see
//! `tests/fixtures/generate.py`) is scanned and checked against its expectation:
//! - `malicious`: verdict malicious, and a finding at or above `min_severity`;
//! - `safe`: verdict safe, complete, and no finding at or above `low`;
//! - `suspicious`: a finding at or above `min_severity` (and not `safe` unless that is `low`);
//! - `error`: status not complete (fail-closed), never `safe`.

#![allow(clippy::indexing_slicing)]

use std::path::PathBuf;

use modelguard::Scanner;
use modelguard::report::{Severity, Status, Verdict};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// `tests/fixtures/manifest.json` plus every `tests/fixtures/<area>/manifest.json` (one per
/// format area, so generators do not share a file). Paths are relative to `tests/fixtures`.
fn manifest() -> Vec<Value> {
    let mut files = vec![root().join("manifest.json")];
    if let Ok(dir) = std::fs::read_dir(root()) {
        let mut subs: Vec<_> = dir
            .flatten()
            .map(|e| e.path().join("manifest.json"))
            .filter(|p| p.is_file())
            .collect();
        subs.sort();
        files.extend(subs);
    }
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        out.extend(v.as_array().cloned().unwrap_or_default());
    }
    out
}

#[test]
fn manifest_is_present() {
    assert!(manifest().len() >= 100, "fixture manifest missing or small");
}

#[test]
fn every_fixture_meets_its_expectation() {
    let scanner = Scanner::default();
    let mut failures = Vec::new();
    let entries = manifest();
    for e in &entries {
        let path = e["path"].as_str().unwrap_or_default();
        let expect = e["expect"].as_str().unwrap_or_default();
        let min = e["min_severity"]
            .as_str()
            .and_then(Severity::parse)
            .unwrap_or(Severity::Low);
        let r = scanner.scan_path(&root().join(path));
        let max = r.max_severity();
        let ok = match expect {
            "malicious" => r.verdict == Verdict::Malicious && max >= Some(min),
            "safe" => {
                r.verdict == Verdict::Safe
                    && r.status == Status::Complete
                    && max.is_none_or(|s| s < Severity::Low)
            }
            "suspicious" => {
                max >= Some(min) && (r.verdict != Verdict::Safe || min == Severity::Low)
            }
            "error" => r.status != Status::Complete && r.verdict != Verdict::Safe,
            other => {
                failures.push(format!("{path}: unknown expectation {other}"));
                continue;
            }
        };
        if !ok {
            let f: Vec<String> = r
                .findings
                .iter()
                .map(|f| format!("{} {} {}", f.rule, f.severity, f.message))
                .collect();
            failures.push(format!(
                "{path}: expected {expect} (>= {min}), got {:?}/{:?} max {:?}: {f:?} errors {:?}",
                r.verdict, r.status, max, r.errors
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        entries.len(),
        failures.join("\n")
    );
}

#[test]
fn user_allowlist_cannot_silence_a_catalogued_capability() {
    let policy = modelguard::Policy {
        allow_globals: vec![modelguard::policy::GlobalPattern("os.*".into())],
        ..modelguard::Policy::default()
    };
    let s = Scanner::new(modelguard::Limits::default(), policy);
    let r = s.scan_bytes("x.pkl", b"cos\nsystem\n(S'echo hi'\ntR.");
    assert_eq!(r.verdict, Verdict::Malicious);
    assert_eq!(r.imports.len(), 1);
    assert_eq!(
        r.imports[0].safety,
        modelguard::report::ImportSafety::Dangerous
    );
}
