//! Golden reports: the whole report of every fixture (`tests/fixtures/**`, `examples/`) as
//! users see it, pinned in `tests/golden/<area>.{json,txt}` (plus SARIF and the HF shape for
//! `examples/`), so a change in a verdict, message, evidence or location shows in review.
//!
//! Each area is scanned by the built binary from the repository root (paths in the reports
//! are repository-relative), one thread, hashes always. The one normalisation is the ruleset
//! digest, which every rule-doc edit changes: it is written as `sha256:<ruleset>`.
//!
//! To accept a change: `MODELGUARD_BLESS=1 cargo test -p modelguard-cli --test golden`, then
//! review the diff of `tests/golden/`. `MODELGUARD_GOLDEN_BIN=path` runs another build of the
//! binary against the golden files (e.g. the commit before a refactor).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Each area: (golden file stem, repository-relative paths scanned).
fn areas() -> Vec<(String, Vec<String>)> {
    let root = repo().join("tests/fixtures");
    let mut dirs = Vec::new();
    let mut loose = Vec::new();
    for e in std::fs::read_dir(&root).expect("tests/fixtures").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            dirs.push(name);
        } else {
            loose.push(format!("tests/fixtures/{name}"));
        }
    }
    dirs.sort();
    loose.sort();
    let mut out = vec![("examples".to_string(), vec!["examples".to_string()])];
    out.push(("fixtures-root".to_string(), loose));
    for d in dirs {
        out.push((d.clone(), vec![format!("tests/fixtures/{d}")]));
    }
    out
}

/// The ruleset digest changes with every rule-doc edit; everything else is pinned.
fn normalise(text: &str) -> String {
    const KEY: &str = "\"ruleset\": \"sha256:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(KEY) {
        let (head, tail) = rest.split_at(at + KEY.len());
        out.push_str(head);
        let hex = tail.bytes().take_while(u8::is_ascii_hexdigit).count();
        out.push_str("<ruleset>");
        rest = &tail[hex..];
    }
    out.push_str(rest);
    out
}

fn run(format: &str, paths: &[String]) -> String {
    let bin = std::env::var_os("MODELGUARD_GOLDEN_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_modelguard")),
        PathBuf::from,
    );
    let o = Command::new(bin)
        .args(["scan", "-j", "1", "--no-progress", "--hash", "always"])
        .args(["--format", format])
        .args(paths)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .expect("run modelguard");
    let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr);
    if !stderr.is_empty() {
        text.push_str("# stderr:\n");
        text.push_str(&stderr);
    }
    text.push_str(&format!("# exit code: {}\n", o.status.code().unwrap_or(-1)));
    normalise(&text)
}

fn check(path: &Path, actual: &str, failures: &mut Vec<String>) {
    if std::env::var_os("MODELGUARD_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        let show = |t: &str| t.lines().nth(line).unwrap_or("<end>").to_string();
        failures.push(format!(
            "{}: first difference at line {}:\n  golden: {}\n  actual: {}",
            path.display(),
            line + 1,
            show(&expected),
            show(actual)
        ));
    }
}

#[test]
fn every_fixture_report_matches_its_golden_file() {
    let golden = repo().join("tests/golden");
    let mut failures = Vec::new();
    for (stem, paths) in areas() {
        check(
            &golden.join(format!("{stem}.json")),
            &run("json", &paths),
            &mut failures,
        );
        check(
            &golden.join(format!("{stem}.txt")),
            &run("text", &paths),
            &mut failures,
        );
        if stem == "examples" {
            check(
                &golden.join(format!("{stem}.sarif")),
                &run("sarif", &paths),
                &mut failures,
            );
            check(
                &golden.join(format!("{stem}.hf.json")),
                &run("hf", &paths),
                &mut failures,
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden files differ (MODELGUARD_BLESS=1 to accept, then review the diff):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
