//! The signature layer through the binary: bundled YARA rules on the fixtures
//! (`tests/fixtures/signatures/`), user rule directories (`--yara-rules`), compile errors,
//! and the `max_signature_bytes` limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Out {
    let o = Command::new(env!("CARGO_BIN_EXE_modelguard"))
        .args(args)
        .arg("--no-config")
        .env("NO_COLOR", "1")
        .output()
        .expect("run modelguard");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn json(o: &Out) -> Value {
    serde_json::from_str(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", o.stdout, o.stderr))
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/signatures")
        .join(name)
        .display()
        .to_string()
}

/// MG-YARA findings of the only file in a JSON report.
fn yara(report: &Value) -> Vec<Value> {
    report["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "MG-YARA")
        .cloned()
        .collect()
}

/// `d/rules/` holding one rule file `file` with `text`.
fn rule_dir(d: &Path, file: &str, text: &str) -> PathBuf {
    let rules = d.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join(file), text).unwrap();
    rules
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mg-sig-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn eicar_plain_file() {
    let o = run(&["scan", "--format", "json", &fixture("danger.dat")]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r = json(&o);
    let y = yara(&r);
    assert_eq!(y.len(), 1, "{y:?}");
    assert_eq!(y[0]["severity"], "high");
    assert!(
        y[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("EICAR test signature")
    );
    assert_eq!(y[0]["evidence"], "MG_EICAR_Test_Signature $eicar");
    assert_eq!(y[0]["location"]["offset"], 0);
    assert_eq!(r["files"][0]["verdict"], "malicious");
}

#[test]
fn eicar_in_zip_reported_on_member() {
    let o = run(&["scan", "--format", "json", &fixture("eicar.zip")]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let y = yara(&json(&o));
    assert_eq!(y.len(), 1, "{y:?}");
    assert_eq!(y[0]["location"]["member"], "danger.dat");
    assert_eq!(y[0]["location"]["offset"], 0);
}

/// A stored (uncompressed) zip shows the string in its raw bytes too: reported once, on the
/// member.
#[test]
fn stored_zip_not_reported_twice() {
    let d = tempdir("stored");
    let eicar = std::fs::read(fixture("danger.dat")).unwrap();
    // A minimal stored zip, one member "a/danger.dat".
    let name = b"a/danger.dat";
    let crc = crc32(&eicar);
    let mut z = Vec::new();
    z.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
    z.extend_from_slice(&crc.to_le_bytes());
    z.extend_from_slice(&(eicar.len() as u32).to_le_bytes());
    z.extend_from_slice(&(eicar.len() as u32).to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z.extend_from_slice(name);
    z.extend_from_slice(&eicar);
    let cd = z.len() as u32;
    z.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
    z.extend_from_slice(&crc.to_le_bytes());
    z.extend_from_slice(&(eicar.len() as u32).to_le_bytes());
    z.extend_from_slice(&(eicar.len() as u32).to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&[0u8; 12]);
    z.extend_from_slice(&0u32.to_le_bytes());
    z.extend_from_slice(name);
    let cd_len = z.len() as u32 - cd;
    z.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
    z.extend_from_slice(&cd_len.to_le_bytes());
    z.extend_from_slice(&cd.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    let p = d.join("stored.zip");
    std::fs::write(&p, &z).unwrap();
    let o = run(&["scan", "--format", "json", p.to_str().unwrap()]);
    let r = json(&o);
    let y = yara(&r);
    assert_eq!(y.len(), 1, "{y:?}");
    assert_eq!(y[0]["location"]["member"], "a/danger.dat");
    std::fs::remove_dir_all(&d).unwrap();
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn eicar_in_pickle_string_and_tar_gz() {
    let o = run(&["scan", "--format", "json", &fixture("eicar_string.pkl")]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let y = yara(&json(&o));
    assert_eq!(y.len(), 1, "{y:?}");
    assert!(y[0]["location"]["offset"].as_u64().unwrap() > 0);

    let o = run(&["scan", "--format", "json", &fixture("eicar.tar.gz")]);
    let y = yara(&json(&o));
    assert_eq!(y.len(), 1, "{y:?}");
    assert_eq!(y[0]["location"]["member"], "model/danger.dat");
}

#[test]
fn benign_lookalikes_are_clean() {
    for f in ["install_notes.md", "benign_config.pkl"] {
        let o = run(&["scan", "--format", "json", &fixture(f)]);
        assert_eq!(o.code, 0, "{f}: {}", o.stdout);
        assert!(yara(&json(&o)).is_empty(), "{f}");
    }
}

#[test]
fn user_rule_directory() {
    let d = tempdir("user");
    let rules = rule_dir(
        &d,
        "team.yar",
        "rule Team_Marker\n{\n  meta:\n    severity = \"critical\"\n    message = \"internal marker\"\n  strings:\n    $m = \"team-secret-marker\"\n  condition:\n    $m\n}\n",
    );
    std::fs::write(rules.join("ignored.txt"), "not a rule file").unwrap();
    // Not a model name: unrecognised bytes named .bin are incomplete (exit 2), not clean.
    let target = d.join("weights.dat");
    std::fs::write(&target, b"weights... team-secret-marker ...").unwrap();
    let t = target.to_str().unwrap();

    let o = run(&["scan", "--format", "json", t]);
    assert_eq!(o.code, 0, "without the rule: {}", o.stdout);

    let o = run(&[
        "scan",
        "--format",
        "json",
        "--yara-rules",
        rules.to_str().unwrap(),
        t,
    ]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r = json(&o);
    let y = yara(&r);
    assert_eq!(y.len(), 1, "{y:?}");
    assert_eq!(y[0]["severity"], "critical");
    assert_eq!(y[0]["evidence"], "Team_Marker $m");
    assert_eq!(y[0]["location"]["offset"], 11);
    assert!(
        y[0]["message"]
            .as_str()
            .unwrap()
            .contains("internal marker")
    );
    // The rule set is part of the report's ruleset digest.
    let plain = json(&run(&["scan", "--format", "json", t]));
    assert_ne!(r["scanner"]["ruleset"], plain["scanner"]["ruleset"]);

    // Text output names the rule too.
    let o = run(&["scan", "--yara-rules", rules.to_str().unwrap(), t]);
    assert!(o.stdout.contains("MG-YARA"), "{}", o.stdout);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn rule_compile_error_exits_2_with_file_and_line() {
    let d = tempdir("broken");
    std::fs::write(
        d.join("broken.yara"),
        "rule Broken\n{\n  condition:\n    $undefined\n}\n",
    )
    .unwrap();
    let o = run(&[
        "scan",
        "--yara-rules",
        d.to_str().unwrap(),
        &fixture("danger.dat"),
    ]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("broken.yara:4:"), "{}", o.stderr);
    assert!(o.stdout.is_empty(), "no report on a rule error");

    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = run(&[
        "scan",
        "--yara-rules",
        empty.to_str().unwrap(),
        &fixture("danger.dat"),
    ]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("no *.yar"), "{}", o.stderr);
    std::fs::remove_dir_all(&d).unwrap();
}

/// `max_signature_bytes` = 0 turns the signature layer off; a small budget reads only the
/// head and tail of a large file.
#[test]
fn signature_limit() {
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--limits",
        r#"{"max_signature_bytes": 0}"#,
        &fixture("danger.dat"),
    ]);
    assert_eq!(o.code, 0, "{}", o.stdout);

    let d = tempdir("limit");
    let eicar = std::fs::read(fixture("danger.dat")).unwrap();
    let mut data = vec![b' '; 1 << 16];
    data[30_000..30_000 + eicar.len()].copy_from_slice(&eicar);
    let p = d.join("big.dat");
    std::fs::write(&p, &data).unwrap();
    let p = p.to_str().unwrap();
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--limits",
        r#"{"max_signature_bytes": 4096}"#,
        p,
    ]);
    assert_eq!(o.code, 0, "middle of a large file is not read");
    let o = run(&["scan", "--format", "json", p]);
    assert_eq!(o.code, 1, "default budget reads it");
    std::fs::remove_dir_all(&d).unwrap();

    // Decoding members for signatures counts against max_decompressed_bytes: cut short,
    // the file is incomplete, not clean.
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--limits",
        r#"{"max_decompressed_bytes": 10}"#,
        &fixture("eicar.zip"),
    ]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let r = json(&o);
    assert_eq!(r["files"][0]["status"], "incomplete");
    assert!(yara(&r).is_empty());
}

/// `max_signature_millis`: a user rule that is quadratic in the file size is stopped; the
/// file is reported incomplete with an error naming the limit, never clean, and a rule that
/// matched before the stop is still reported.
#[test]
fn signature_time_limit() {
    let d = tempdir("time");
    let rules = rule_dir(
        &d,
        "slow.yar",
        "rule Early { strings: $m = \"early-marker\" condition: $m }\n\
         rule Slow { condition:\n\
           for all i in (1..filesize) : ( for all j in (1..filesize) : ( uint8(i) >= uint8(j) or true ) ) }",
    );
    let mut data = b"early-marker ".to_vec();
    data.extend(std::iter::repeat_n(b'A', 4_000));
    let p = d.join("slow.dat");
    std::fs::write(&p, &data).unwrap();
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--yara-rules",
        rules.to_str().unwrap(),
        "--limits",
        r#"{"max_signature_millis": 1}"#,
        p.to_str().unwrap(),
    ]);
    let r = json(&o);
    let file = &r["files"][0];
    assert_eq!(file["status"], "incomplete", "{}", o.stdout);
    assert!(
        o.stdout.contains("max_signature_millis (1 ms)"),
        "{}",
        o.stdout
    );
    let hits: Vec<_> = yara(&r)
        .iter()
        .map(|f| f["evidence"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        hits.len() == 1 && hits[0].contains("Early"),
        "{hits:?}\n{}",
        o.stdout
    );
    assert_eq!(
        o.code, 1,
        "the match is high severity: exit 1 beats the error's 2"
    );
    std::fs::remove_dir_all(&d).unwrap();
}
