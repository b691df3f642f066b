//! Differential tests against CPython (tests/oracle.py), skipped, saying so, when `python3` is
//! not available:
//! - opcode counts per pickle from `pickletools.genops` must equal `PickleInfo::opcodes`, and
//!   for protocol-5 data (where every value has a literal form) the rendering must equal
//!   Python's `repr` of the loaded object;
//! - with both real unpicklers loading each sample with harmless stand-ins for every global
//!   (tests/data/edge holds odd inputs found by fuzzing), every `find_class` call must be among
//!   our imports, in order, we must report at least as many invocations as Python performs, and
//!   we must not fail where Python succeeds: the VM may over-approximate, never hide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

use modelguard_pickle::{CallKind, Limits, Options, analyze_file_view, analyze_with};

fn python() -> Option<&'static str> {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some("python3")
}

fn oracle(py: &str, file: &Path, max: usize, repr: bool) -> (Vec<u64>, Option<String>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle.py");
    let mut cmd = Command::new(py);
    cmd.arg(script).arg(file).arg(max.to_string());
    if repr {
        cmd.arg("--repr");
    }
    let out = cmd.output().expect("run oracle.py");
    assert!(
        out.status.success(),
        "oracle.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let counts = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    (counts, lines.next().map(str::to_owned))
}

#[test]
fn opcode_counts_and_reprs_match_cpython() {
    let Some(py) = python() else {
        eprintln!("SKIPPED: python3 not available, differential test not run");
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pkl" || e == "pt"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "samples missing in {}", dir.display());
    let limits = Limits {
        max_render_chars: 100_000,
        ..Limits::default()
    };
    for file in &files {
        let legacy = file.extension().is_some_and(|e| e == "pt");
        let max = if legacy { 5 } else { 64 };
        let data = std::fs::read(file).unwrap();
        let opts = Options {
            max_pickles: Some(max),
            joblib: false,
        };
        let a = analyze_with(&data, &limits, &opts);
        assert_eq!(a.error, None, "{}", file.display());
        let ours: Vec<u64> = a.pickles.iter().map(|p| p.opcodes).collect();
        let repr = file.file_name().is_some_and(|n| n == "mixed_p5.pkl");
        let (theirs, python_repr) = oracle(py, file, max, repr);
        assert_eq!(ours, theirs, "opcode counts of {}", file.display());
        if let Some(python_repr) = python_repr {
            let rendered = a.render(a.pickles[0].result.unwrap());
            assert_eq!(rendered, python_repr, "render of {}", file.display());
        }
        eprintln!("{}: {:?} opcodes match", file.display(), ours);
    }
}

#[test]
fn imports_and_invocations_cover_cpython() {
    let Some(py) = python() else {
        eprintln!("SKIPPED: python3 not available, differential test not run");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("edge")] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension()
                .is_some_and(|e| e == "pkl" || e == "pt" || e == "bin")
            {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 30, "samples missing");
    let script = root.join("../oracle.py");
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let opts = Options {
            max_pickles: Some(1),
            joblib: false,
        };
        // The C unpickler over io.BytesIO reads frames as `analyze_file_view` does; the
        // pure-Python one and pickle.loads as `analyze_with` (Python fails where they part).
        let memory = analyze_with(&data, &Limits::default(), &opts);
        let file_view = analyze_file_view(&data, &Limits::default(), &opts);
        let text = {
            let out = Command::new(py)
                .arg(&script)
                .arg(file)
                .arg("--events")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let views = [
            ("C Unpickler(io.BytesIO)", &file_view),
            ("pickle._Unpickler", &memory),
            ("C Unpickler, one buffer (pickle.loads)", &memory),
        ];
        assert_eq!(text.lines().count(), views.len(), "{text}");
        for (line, (which, a)) in text.lines().zip(views) {
            let ours: Vec<String> = a
                .imports
                .iter()
                .map(|i| {
                    let m = i.raw_module.clone().unwrap_or_else(|| "?".into());
                    let n = i.raw_name.clone().unwrap_or_else(|| "?".into());
                    format!("{m}|{n}").replace('\n', "\\n").replace('\t', "\\t")
                })
                .collect();
            // One Python invocation per call, per SETITEMS pair, per ADDITEMS item.
            let our_events: usize = a
                .calls
                .iter()
                .map(|c| match c.kind {
                    CallKind::SetItem => c.args.len() / 2,
                    CallKind::AddItems => c.args.len(),
                    _ => 1,
                })
                .sum();
            let mut cols = line.split('\t');
            let ok = cols.next() == Some("ok");
            let events: usize = cols.next().unwrap().parse().unwrap();
            let theirs: Vec<&str> = cols.collect();
            let ctx = format!("{} with {which}", file.display());
            assert!(
                ours.len() >= theirs.len(),
                "{ctx}: ours {ours:?} theirs {theirs:?}"
            );
            assert_eq!(&ours[..theirs.len()], &theirs[..], "{ctx}");
            assert!(
                our_events >= events,
                "{ctx}: {our_events} < {events} invocations"
            );
            if ok {
                assert_eq!(a.error, None, "{ctx}: Python loads it");
            }
        }
    }
}
