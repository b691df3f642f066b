//! Golden analyses: what the readers record for every fixture (each file's journal: the
//! facts of every reader with their members, the driver's own findings and errors), pinned in
//! `tests/golden/<area>.facts.json` beside the reports (`crates/cli/tests/golden.rs`), so a
//! change in what is extracted shows in review even when no verdict moves.
//!
//! It also proves the facts are enough: each analysis, through JSON and back, judged under a
//! policy, is exactly the report a scan under that policy gives — for the default policy and
//! for one that changes severities, raises unknown names and allows a module.
//!
//! `MODELGUARD_BLESS=1 cargo test -p modelguard --test facts_golden` rewrites the files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use modelguard::policy::{GlobalPattern, Policy};
use modelguard::report::Severity;
use modelguard::scan::FileAnalysis;
use modelguard::source::FileSource;
use modelguard::{HashMode, Scanner};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Each area: golden stem and its files (repository-relative), as the report goldens group them.
fn areas() -> Vec<(String, Vec<String>)> {
    let root = repo();
    let mut out = Vec::new();
    let mut loose = Vec::new();
    let mut dirs = Vec::new();
    for e in std::fs::read_dir(root.join("tests/fixtures"))
        .unwrap()
        .flatten()
    {
        if e.path().is_dir() {
            dirs.push(e.file_name().to_string_lossy().into_owned());
        } else {
            loose.push(e.path());
        }
    }
    dirs.sort();
    loose.sort();
    let rel = |p: &Path| {
        p.strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/")
    };
    let mut ex = Vec::new();
    files(&root.join("examples"), &mut ex);
    out.push(("examples".to_string(), ex.iter().map(|p| rel(p)).collect()));
    out.push((
        "fixtures-root".to_string(),
        loose.iter().map(|p| rel(p)).collect(),
    ));
    for d in dirs {
        let mut v = Vec::new();
        files(&root.join("tests/fixtures").join(&d), &mut v);
        out.push((d, v.iter().map(|p| rel(p)).collect()));
    }
    out
}

fn analyse(scanner: &Scanner, rel: &str) -> FileAnalysis {
    let src = FileSource::open(&repo().join(rel)).unwrap();
    scanner.analyze_source(rel, &src)
}

#[test]
fn every_fixture_analysis_matches_its_golden_file_and_rejudges_as_a_scan() {
    let scanner = Scanner {
        hash: HashMode::Always,
        ..Scanner::default()
    };
    let mut changed = Policy {
        strict: true,
        allow_globals: vec![GlobalPattern("collections:*".into())],
        ..Policy::default()
    };
    changed
        .severity_overrides
        .insert("MG-PKL-PROC".into(), Severity::Low);
    let rescanner = Scanner {
        policy: changed.clone(),
        ..scanner.clone()
    };
    let bless = std::env::var_os("MODELGUARD_BLESS").is_some();
    let mut failures = Vec::new();
    let mut judged = 0;
    for (stem, paths) in areas() {
        let mut all = Vec::new();
        for rel in &paths {
            let a = analyse(&scanner, rel);
            let text = serde_json::to_string(&a).unwrap();
            let back: FileAnalysis = serde_json::from_str(&text).unwrap();
            assert_eq!(back, a, "{rel}: analysis JSON round trip");
            let src = FileSource::open(&repo().join(rel)).unwrap();
            assert_eq!(
                back.judge(&scanner.policy),
                scanner.scan_source(rel, &src),
                "{rel}: judged analysis differs from the scan"
            );
            assert_eq!(
                back.judge(&changed),
                rescanner.scan_source(rel, &src),
                "{rel}: re-judged analysis differs from a scan under the changed policy"
            );
            judged += 1;
            all.push(a);
        }
        let actual = serde_json::to_string_pretty(&all).unwrap() + "\n";
        let path = repo().join(format!("tests/golden/{stem}.facts.json"));
        if bless {
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            let line = expected
                .lines()
                .zip(actual.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            failures.push(format!(
                "{}: first difference at line {}:\n  golden: {}\n  actual: {}",
                path.display(),
                line + 1,
                expected.lines().nth(line).unwrap_or("<end>"),
                actual.lines().nth(line).unwrap_or("<end>")
            ));
        }
    }
    assert!(judged > 500, "{judged}");
    assert!(
        failures.is_empty(),
        "{} facts golden files differ (MODELGUARD_BLESS=1 to accept, then review the diff):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
