//! `modelguard formats`: every supported format, as text and JSON.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_modelguard"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run modelguard");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn formats_text_lists_every_format() {
    let (code, out) = run(&["formats"]);
    assert_eq!(code, 0);
    for name in [
        "pickle", "keras-h5", "tflite", "msgpack", "7z", "zstd", "lz4", "gguf",
    ] {
        assert!(
            out.lines().any(|l| l == name),
            "{name} missing from:\n{out}"
        );
    }
    assert!(out.contains("detected by:"));
}

#[test]
fn formats_json_has_name_detection_and_checks() {
    let (code, out) = run(&["formats", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let list = v.as_array().expect("array");
    assert!(list.len() >= 20);
    for f in list {
        for key in ["name", "detected_by", "checks"] {
            assert!(f[key].as_str().is_some_and(|s| !s.is_empty()), "{f}");
        }
    }
    assert!(list.iter().any(|f| f["name"] == "keras"));
}
