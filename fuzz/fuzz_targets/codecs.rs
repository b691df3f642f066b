//! Fuzz target for Python's codecs (`modelguard_pycode::decode::codecs_decode` and friends):
//! nothing may panic, outputs respect the limit, and the round trips Python guarantees hold.
//! Input: byte 0 picks the codec spelling, byte 1 the error handler (bits 0-2) and the entry
//! point (bits 3-4); the rest is the data (as bytes, or as text for `str` inputs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelguard_pycode::Limits;
use modelguard_pycode::decode::{
    CodecError, PyStr, PyValue, bytes_decode, codecs_decode, codecs_encode, function_decode,
    lookup, str_encode,
};

const CODECS: &[&str] = &[
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "utf-32-le",
    "utf-32-be",
    "utf-7",
    "latin-1",
    "ascii",
    "cp1252",
    "cp037",
    "charmap",
    "unicode_escape",
    "raw_unicode_escape",
    "punycode",
    "idna",
    "rot13",
    "hex",
    "base64",
    "zlib",
    "bz2",
    "uu",
    "quopri",
    "undefined",
    "gbk",
    "mac-roman",
    "koi8_r",
    "cp437",
    "U7",
    "ROT-13",
];
const FUNCS: &[&str] = &[
    "base64.b64decode",
    "base64.urlsafe_b64decode",
    "base64.decodebytes",
    "base64.b32decode",
    "base64.b32hexdecode",
    "base64.b16decode",
    "binascii.unhexlify",
    "binascii.a2b_qp",
    "builtins.bytes.fromhex",
    "zlib.decompress",
    "bz2.decompress",
];
const ERRORS: &[&str] = &[
    "strict",
    "ignore",
    "replace",
    "backslashreplace",
    "surrogateescape",
    "surrogatepass",
    "xmlcharrefreplace",
    "namereplace",
];

fn size(v: &PyValue) -> usize {
    match v {
        PyValue::Str(s) => s.len(),
        PyValue::Bytes(b) => b.len(),
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_decoded_bytes: 64 << 10,
        ..Limits::default()
    };
    if let Ok(name) = std::str::from_utf8(data) {
        let _ = lookup(name);
    }
    let [c, e, rest @ ..] = data else { return };
    let codec = CODECS[usize::from(*c) % CODECS.len()];
    let errors = ERRORS[usize::from(*e & 7)];
    let text = PyStr::from(String::from_utf8_lossy(rest).into_owned());
    let func = FUNCS[usize::from(*c) % FUNCS.len()];
    for arg in [PyValue::Bytes(rest.to_vec()), PyValue::Str(text.clone())] {
        if let Some(Ok(out)) = function_decode(func, &arg, &limits) {
            assert!(out.len() <= limits.max_decoded_bytes);
        }
    }
    let bytes = PyValue::Bytes(rest.to_vec());
    let checked = |r: Result<PyValue, CodecError>| {
        if let Ok(v) = &r {
            assert!(size(v) <= limits.max_decoded_bytes);
        }
        r
    };
    match (*e >> 3) & 3 {
        0 => {
            let r = checked(codecs_decode(&bytes, codec, errors, &limits));
            // Decoding then encoding with the same codec gives the bytes back where Python
            // promises it (strict UTF/Latin-1 decoding, PEP 383 surrogateescape for UTF-8).
            if let Ok(PyValue::Str(s)) = &r {
                let back = match (codec, errors) {
                    (
                        "utf-8" | "utf-16-le" | "utf-16-be" | "utf-32-le" | "utf-32-be" | "latin-1",
                        "strict",
                    ) => Some(str_encode(s, codec, "strict", &limits)),
                    ("utf-8", "surrogateescape") => Some(str_encode(s, codec, errors, &limits)),
                    _ => None,
                };
                if let Some(back) = back {
                    assert_eq!(back.ok().as_deref(), Some(rest), "{codec} {errors}");
                }
            }
        }
        1 => {
            let _ = checked(codecs_decode(&PyValue::Str(text), codec, errors, &limits));
        }
        2 => {
            let r = checked(codecs_encode(
                &PyValue::Str(text.clone()),
                codec,
                errors,
                &limits,
            ));
            if let (Ok(v), "punycode" | "utf-7" | "unicode_escape" | "rot13") = (&r, codec) {
                let back = codecs_decode(v, codec, "strict", &limits);
                if !back.as_ref().is_err_and(CodecError::is_unanalysable) {
                    assert_eq!(back, Ok(PyValue::Str(text)), "{codec}");
                }
            }
            let _ = bytes_decode(rest, codec, errors, &limits);
        }
        _ => {
            let r = checked(codecs_encode(&bytes, codec, errors, &limits));
            if let (Ok(v), "hex" | "base64" | "uu" | "bz2") = (&r, codec) {
                let back = codecs_decode(v, codec, "strict", &limits);
                if !back.as_ref().is_err_and(CodecError::is_unanalysable) {
                    assert_eq!(back, Ok(bytes.clone()), "{codec}");
                }
            }
        }
    }
});
