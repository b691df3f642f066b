//! Tests of the parent module.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::Read;

use super::binascii::a2b_base64;
use super::*;
use crate::codec_tables::LATIN1_NAMES;

fn dec(enc: &str, b: &[u8]) -> Result<String, CodecError> {
    bytes_decode(b, enc, "strict", &Limits::default()).map(|s| s.to_string_lossy())
}

#[test]
fn names_normalise_like_python() {
    for n in ["UTF_7", "utf7", "U7", "utf-7", " UTF 7 "] {
        assert_eq!(lookup(n).unwrap().module, "utf_7", "{n}");
    }
    assert_eq!(lookup("rot13").unwrap().module, "rot_13");
    assert_eq!(lookup("latin-1").unwrap().module, "latin_1");
    assert_eq!(
        lookup("raw-unicode-escape").unwrap().module,
        "raw_unicode_escape"
    );
    assert_eq!(lookup("zip").unwrap().module, "zlib_codec");
    assert!(matches!(
        lookup("aliases"),
        Err(CodecError::Raises {
            exception: "LookupError",
            ..
        })
    ));
    assert!(matches!(
        lookup("bogus"),
        Err(CodecError::Raises {
            exception: "LookupError",
            ..
        })
    ));
    assert!(lookup("gbk").is_ok());
}

#[test]
fn tables_are_sorted_for_binary_search() {
    assert!(CODEC_MODULES.windows(2).all(|w| w[0] < w[1]));
    assert!(ALIASES.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(CHARMAPS.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(LATIN1_NAMES.windows(2).all(|w| w[0].0 < w[1].0));
}

#[test]
fn utf7_and_raw_unicode_escape() {
    assert_eq!(
        dec("utf-7", b"+AGkAbQBwAG8AcgB0ACAAbwBz-").unwrap(),
        "import os"
    );
    assert_eq!(
        dec("raw_unicode_escape", b"\\u0069\\x41\\n").unwrap(),
        "i\\x41\\n"
    );
    assert_eq!(dec("unicode_escape", b"\\u0069\\x41\\n").unwrap(), "iA\n");
}

#[test]
fn bombs_stop_at_the_limit() {
    // bz2.compress(b'\0' * 10_000_000) (CPython 3.11): 49 bytes.
    let bomb = a2b_base64(b"QlpoOTFBWSZTWdOl3HwATJfAEMAAAAgACCAAMMwFKaaqRFGwFEUeLuSKcKEhp0u4+A==")
        .unwrap();
    let small = Limits {
        max_decoded_bytes: 1 << 20,
        ..Limits::default()
    };
    let r = codecs_decode(&PyValue::Bytes(bomb.clone()), "bz2", "strict", &small);
    assert!(matches!(r, Err(CodecError::TooLarge { .. })), "{r:?}");
    let r = codecs_decode(&PyValue::Bytes(bomb), "bz2", "strict", &Limits::default());
    assert!(matches!(&r, Ok(PyValue::Bytes(b)) if b.len() == 10_000_000));
    let mut z = Vec::new();
    flate2::read::ZlibEncoder::new(&vec![0u8; 4 << 20][..], flate2::Compression::best())
        .read_to_end(&mut z)
        .unwrap();
    let r = codecs_decode(&PyValue::Bytes(z), "zip", "strict", &small);
    assert!(matches!(r, Err(CodecError::TooLarge { .. })), "{r:?}");
    // Text codecs are capped too.
    let big = PyValue::Str(PyStr::from("\u{10000}".repeat(300_000).as_str()));
    let r = codecs_encode(&big, "unicode_escape", "strict", &small);
    assert!(matches!(r, Err(CodecError::TooLarge { .. })), "{r:?}");
}

#[test]
fn unanalysable_is_not_passthrough() {
    let r = codecs_decode(
        &PyValue::Bytes(b"abc".to_vec()),
        "gbk",
        "strict",
        &Limits::default(),
    );
    assert!(r.unwrap_err().is_unanalysable());
    let r = codecs_decode(
        &PyValue::Bytes(b"\xff".to_vec()),
        "utf-8",
        "my_handler",
        &Limits::default(),
    );
    assert!(r.unwrap_err().is_unanalysable());
}
