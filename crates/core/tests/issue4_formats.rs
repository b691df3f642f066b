//! Scanner-level tests of the Keras, TFLite, msgpack, 7z, zstd and lz4 support: limits are
//! crossed and reported (never `safe`), decoders are bounded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use modelguard::report::{Severity, Status, Verdict};
use modelguard::{Limits, Policy, Scanner};

fn fixture(p: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(p);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn scan_with(limits: Limits, name: &str, data: &[u8]) -> modelguard::report::FileReport {
    Scanner::new(limits, Policy::default()).scan_bytes(name, data)
}

#[test]
fn keras_config_limit_makes_the_file_incomplete() {
    let data = fixture("keras/lambda_os_system.keras");
    let r = scan_with(
        Limits {
            max_config_bytes: 100,
            ..Limits::default()
        },
        "m.keras",
        &data,
    );
    assert_eq!(r.status, Status::Incomplete, "{:?}", r.errors);
    assert_ne!(r.verdict, Verdict::Safe);
    let r = Scanner::default().scan_bytes("m.keras", &data);
    assert_eq!(r.format, "keras");
    assert!(r.findings.iter().any(
        |f| f.rule == "MG-KERAS-LAMBDA" && f.location.member.as_deref() == Some("config.json")
    ));
}

#[test]
fn hdf5_read_budget_is_not_safe() {
    let data = fixture("keras/keras3_lambda_benign.h5");
    let r = scan_with(
        Limits {
            max_hdf5_bytes: 1024,
            ..Limits::default()
        },
        "m.h5",
        &data,
    );
    assert_ne!(r.status, Status::Complete, "{:?}", r.findings);
    assert_ne!(r.verdict, Verdict::Safe);
}

#[test]
fn keras_h5_malicious_lambda_evidence() {
    let r = Scanner::default().scan_bytes("m.h5", &fixture("keras/keras2_lambda_os_system.h5"));
    assert_eq!(r.format, "keras-h5");
    let f = r
        .findings
        .iter()
        .find(|f| f.severity == Severity::Critical)
        .expect("critical finding");
    assert_eq!(f.rule, "MG-KERAS-LAMBDA");
    assert!(
        f.evidence
            .as_deref()
            .unwrap()
            .starts_with("Lambda layer lambda_1: os.system("),
        "{:?}",
        f.evidence
    );
}

#[test]
fn zstd_and_lz4_bombs_are_bounded() {
    let zeros = vec![0u8; 8 << 20];
    let zst =
        ruzstd::encoding::compress_to_vec(&zeros[..], ruzstd::encoding::CompressionLevel::Fastest);
    let mut lz = lz4_flex::frame::FrameEncoder::new(Vec::new());
    std::io::Write::write_all(&mut lz, &zeros).unwrap();
    let lz = lz.finish().unwrap();
    for (name, data) in [("x.zst", zst), ("x.lz4", lz)] {
        assert!(data.len() < 1 << 20, "{name}: {}", data.len());
        let r = scan_with(
            Limits {
                max_ratio: 10,
                ..Limits::default()
            },
            name,
            &data,
        );
        assert_eq!(r.status, Status::Incomplete, "{name}: {:?}", r.errors);
        assert!(
            r.errors.iter().any(|e| e.message.contains("max_ratio")),
            "{name}: {:?}",
            r.errors
        );
    }
    // Incompressible data within the limits decodes completely.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..1 << 16)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let zst =
        ruzstd::encoding::compress_to_vec(&noise[..], ruzstd::encoding::CompressionLevel::Fastest);
    let mut lz = lz4_flex::frame::FrameEncoder::new(Vec::new());
    std::io::Write::write_all(&mut lz, &noise).unwrap();
    let lz = lz.finish().unwrap();
    for (name, data) in [("x.zst", zst), ("x.lz4", lz)] {
        let r = Scanner::default().scan_bytes(name, &data);
        assert_eq!(r.status, Status::Complete, "{name}: {:?}", r.errors);
        assert_eq!(r.verdict, Verdict::Safe);
    }
}

#[test]
fn corrupt_zstd_is_an_error() {
    let r = Scanner::default().scan_bytes("x.zst", b"\x28\xb5\x2f\xfd\xff\xff\xff\xff\xff\xff");
    assert_eq!(r.status, Status::Error);
}

#[test]
fn sevenzip_limits() {
    let data = fixture("archives/numpy.7z");
    let r = scan_with(
        Limits {
            max_members: 1,
            ..Limits::default()
        },
        "x.7z",
        &data,
    );
    assert_eq!(r.status, Status::Incomplete, "{:?}", r.errors);
    let data = fixture("archives/pickle_model_bin.7z");
    let r = scan_with(
        Limits {
            max_member_bytes: 16,
            ..Limits::default()
        },
        "x.7z",
        &data,
    );
    assert_eq!(r.status, Status::Incomplete, "{:?}", r.errors);
    assert_ne!(r.verdict, Verdict::Safe);
    let r = scan_with(
        Limits {
            max_decompressed_bytes: 16,
            ..Limits::default()
        },
        "x.7z",
        &data,
    );
    assert_ne!(r.status, Status::Complete);
    let r = Scanner::default().scan_bytes("x.7z", &data);
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule == "MG-PKL-PROC" && f.location.member.as_deref() == Some("model.bin")),
        "{:?}",
        r.findings
    );
}

#[test]
fn sevenzip_raw_members_are_drained_within_the_budget() {
    let data = fixture("archives/zeros_bomb.7z");
    let r = Scanner::default().scan_bytes("x.7z", &data);
    assert!(r.findings.iter().any(|f| f.rule == "MG-ARCHIVE-BOMB"));
    assert_eq!(r.status, Status::Complete, "{:?}", r.errors);
    let r = scan_with(
        Limits {
            max_decompressed_bytes: 1 << 20,
            ..Limits::default()
        },
        "x.7z",
        &data,
    );
    assert_eq!(r.status, Status::Incomplete, "{:?}", r.errors);
    assert!(
        r.errors
            .iter()
            .any(|e| e.message.contains("max_decompressed_bytes"))
    );
}

#[test]
fn msgpack_limits() {
    let data = fixture("msgpack/embedded_pickle.msgpack");
    let r = scan_with(
        Limits {
            max_msgpack_depth: 1,
            ..Limits::default()
        },
        "x.msgpack",
        &data,
    );
    assert_eq!(r.status, Status::Incomplete);
    let r = scan_with(
        Limits {
            max_msgpack_items: 2,
            ..Limits::default()
        },
        "x.msgpack",
        &data,
    );
    assert_eq!(r.status, Status::Incomplete);
    let r = Scanner::default().scan_bytes("x.msgpack", &data);
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule == "MG-PKL-PROC" && f.location.member.as_deref() == Some("opt_state"))
    );
}

#[test]
fn tflite_entry_limit() {
    let data = fixture("tflite/flex_write_file.tflite");
    let r = scan_with(
        Limits {
            max_tflite_entries: 0,
            ..Limits::default()
        },
        "m.tflite",
        &data,
    );
    assert_eq!(r.status, Status::Incomplete, "{:?}", r.errors);
}
