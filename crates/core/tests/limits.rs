//! Each container limit in `modelguard::Limits` is crossed by a small input and holds:
//! the file is reported `incomplete` (never `safe`) and no more work is done than allowed.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::io::Write;

use modelguard::report::{Status, Verdict};
use modelguard::{Limits, Policy, Scanner};

const PICKLE: &[u8] = b"\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.";

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn scanner(f: impl FnOnce(&mut Limits)) -> Scanner {
    let mut l = Limits::default();
    f(&mut l);
    Scanner::new(l, Policy::default())
}

fn assert_limited(r: &modelguard::report::FileReport, what: &str) {
    assert_ne!(r.status, Status::Complete, "{what}: {r:?}");
    assert_ne!(r.verdict, Verdict::Safe, "{what}: {r:?}");
    assert!(
        r.errors.iter().any(|e| e.message.contains(what)),
        "{what} not named in errors: {:?}",
        r.errors
    );
}

#[test]
fn defaults_pass_the_inputs() {
    let s = Scanner::default();
    assert_eq!(s.scan_bytes("a.pkl", PICKLE).verdict, Verdict::Safe);
    assert_eq!(
        s.scan_bytes("a.pkl.gz", &gz(&gz(PICKLE))).verdict,
        Verdict::Safe
    );
}

#[test]
fn max_depth() {
    let nested = gz(&gz(&gz(PICKLE)));
    let r = scanner(|l| l.max_depth = 1).scan_bytes("a.gz", &nested);
    assert_limited(&r, "max_depth");
}

#[test]
fn max_pickle_bytes() {
    // One 3 MiB string: longer than the first read window and than the limit.
    let n: u32 = 3 << 20;
    let mut big = b"\x80\x04X".to_vec();
    big.extend_from_slice(&n.to_le_bytes());
    big.extend(std::iter::repeat_n(b'a', n as usize));
    big.push(b'.');
    let r = scanner(|l| l.max_pickle_bytes = 2 << 20).scan_bytes("a.pkl", &big);
    assert_limited(&r, "max_pickle_bytes");
}

#[test]
fn max_decompressed_bytes_and_ratio() {
    let zeros = gz(&vec![0u8; 4 << 20]);
    let r = scanner(|l| l.max_decompressed_bytes = 1 << 20).scan_bytes("a.gz", &zeros);
    assert_limited(&r, "max_decompressed_bytes");
    let r = scanner(|l| l.max_ratio = 10).scan_bytes("a.gz", &zeros);
    assert_limited(&r, "max_ratio");
}

#[test]
fn hash_auto_max_bytes() {
    let s = scanner(|l| l.hash_auto_max_bytes = 4);
    assert!(s.scan_bytes("a.pkl", PICKLE).sha256.is_none());
    assert!(
        Scanner::default()
            .scan_bytes("a.pkl", PICKLE)
            .sha256
            .is_some()
    );
}

#[test]
fn unknown_limit_fields_are_rejected() {
    let typo = r#"{"pickle": {"max_opcode": 5}}"#;
    assert!(serde_json::from_str::<Limits>(typo).is_err());
    let typo = r#"{"code": {"max_ast_node": 5}}"#;
    assert!(serde_json::from_str::<Limits>(typo).is_err());
    let ok = r#"{"pickle": {"max_opcodes": 5}, "max_depth": 3}"#;
    assert!(serde_json::from_str::<Limits>(ok).is_ok());
}
