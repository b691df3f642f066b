//! Python's codec machinery, reproduced exactly: `codecs.lookup` name normalisation and aliases,
//! and the codecs `codecs.decode`/`codecs.encode`/`bytes.decode`/`str.encode` reach.
//!
//! Each codec follows the CPython 3.11 function named in its comment; the differential test
//! (`tests/codecs.rs`, corpus made by `tests/data/codecs/gen_codec_corpus.py`) checks results and
//! exception classes against CPython. What this module cannot reproduce (CJK multibyte codecs,
//! IDNA nameprep, zlib compression, an error handler registered at run time, a `\N{...}` name
//! outside Latin-1) is [`CodecError::Unanalysable`]: callers must treat the value as unknown and
//! the analysis as incomplete, never pass the input through.
//!
//! This module holds the value and error types, `codecs.lookup` and the entry points;
//! `dispatch.rs` sends a codec to its implementation in `unicode.rs`, `escape.rs`, `idna.rs`,
//! `binascii.rs` or `compress.rs`, which share the error handlers of `errors.rs`. Must not:
//! interpret what a decoded value means (the engine and `crate::decode` do).

mod binascii;
mod compress;
mod dispatch;
mod errors;
mod escape;
mod idna;
mod unicode;

use crate::Limits;
use crate::codec_tables::{ALIASES, CHARMAPS, CODEC_MODULES};
pub use binascii::function_decode;
use dispatch::{decode_value, encode_value};

/// A Python `str`: a sequence of code points, lone surrogates included, stored as the bytes
/// `s.encode('utf-8', 'surrogatepass')` gives (each code point on its own, so a surrogate pair
/// stays two code points as in Python).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PyStr(Vec<u8>);

impl PyStr {
    /// The empty string.
    pub fn new() -> Self {
        PyStr(Vec::new())
    }

    /// Build from code points; `None` if one is above U+10FFFF.
    pub fn from_code_points(cps: &[u32]) -> Option<Self> {
        let mut out = Vec::with_capacity(cps.len());
        for &cp in cps {
            push_cp(&mut out, cp)?;
        }
        Some(PyStr(out))
    }

    /// The code points.
    pub fn code_points(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.0.len());
        let mut i = 0usize;
        let b = |i: usize| u32::from(self.0.get(i).copied().unwrap_or(0x80));
        while i < self.0.len() {
            let c = b(i);
            let (cp, n) = if c < 0x80 {
                (c, 1)
            } else if c < 0xE0 {
                (((c & 0x1F) << 6) | (b(i + 1) & 0x3F), 2)
            } else if c < 0xF0 {
                (
                    ((c & 0x0F) << 12) | ((b(i + 1) & 0x3F) << 6) | (b(i + 2) & 0x3F),
                    3,
                )
            } else {
                (
                    ((c & 0x07) << 18)
                        | ((b(i + 1) & 0x3F) << 12)
                        | ((b(i + 2) & 0x3F) << 6)
                        | (b(i + 3) & 0x3F),
                    4,
                )
            };
            out.push(cp);
            i += n;
        }
        out
    }

    /// The text as UTF-8, or `None` when it holds a lone surrogate (not valid UTF-8).
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The text, with each surrogate replaced by U+FFFD (for display only).
    pub fn to_string_lossy(&self) -> String {
        self.code_points()
            .into_iter()
            .map(|c| char::from_u32(c).unwrap_or('\u{fffd}'))
            .collect()
    }

    /// The `surrogatepass` UTF-8 bytes (equal to UTF-8 when there is no surrogate).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes held (the measure used against output limits).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for PyStr {
    fn from(s: &str) -> Self {
        PyStr(s.as_bytes().to_vec())
    }
}

impl From<String> for PyStr {
    fn from(s: String) -> Self {
        PyStr(s.into_bytes())
    }
}

fn push_cp(out: &mut Vec<u8>, cp: u32) -> Option<()> {
    match cp {
        0..=0x7F => out.push(cp as u8),
        0x80..=0x7FF => out.extend_from_slice(&[0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]),
        0x800..=0xFFFF => out.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]),
        0x10000..=0x10FFFF => out.extend_from_slice(&[
            0xF0 | (cp >> 18) as u8,
            0x80 | ((cp >> 12) & 0x3F) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]),
        _ => return None,
    }
    Some(())
}

/// A Python `str` or `bytes` value handed to or returned by a codec.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PyValue {
    /// `str`.
    Str(PyStr),
    /// `bytes` (or any bytes-like object).
    Bytes(Vec<u8>),
}

impl PyValue {
    fn size(&self) -> usize {
        match self {
            PyValue::Str(s) => s.len(),
            PyValue::Bytes(b) => b.len(),
        }
    }
}

/// Why a codec call gives no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// Python raises this exception here (e.g. `UnicodeDecodeError`, `binascii.Error`,
    /// `LookupError`, `TypeError`): the call has no result, an unpickler stops.
    #[error("Python raises {exception}: {message}")]
    Raises {
        /// Qualified exception class, as `type(e).__module__ + '.' + __qualname__` without the
        /// `builtins.` prefix (`UnicodeDecodeError`, `binascii.Error`, `zlib.error`).
        exception: &'static str,
        /// Short explanation (not Python's exact message).
        message: String,
    },
    /// modelguard cannot reproduce what Python does here: the value is unknown and the
    /// analysis incomplete (never treat the input as the output).
    #[error("unanalysable codec call: {reason}")]
    Unanalysable {
        /// What could not be reproduced.
        reason: String,
    },
    /// The output would exceed [`Limits::max_decoded_bytes`] (also unanalysable).
    #[error("codec output exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in force.
        limit: usize,
    },
}

impl CodecError {
    /// True when the result is unknown to modelguard (unanalysable or over a limit), as opposed
    /// to an exception Python itself raises.
    pub fn is_unanalysable(&self) -> bool {
        !matches!(self, CodecError::Raises { .. })
    }
}

fn raises(exception: &'static str, message: impl Into<String>) -> CodecError {
    CodecError::Raises {
        exception,
        message: message.into(),
    }
}

fn unanalysable(reason: impl Into<String>) -> CodecError {
    CodecError::Unanalysable {
        reason: reason.into(),
    }
}

type R<T> = Result<T, CodecError>;

/// What a codec module does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Utf8,
    Utf8Sig,
    /// `None`: BOM detection (decode) / BOM written (encode), little endian by default.
    Utf16(Option<Endian>),
    Utf32(Option<Endian>),
    Utf7,
    Latin1,
    Ascii,
    /// The `charmap` codec without a table: Latin-1.
    CharmapNone,
    Charmap(&'static [u16; 256]),
    UnicodeEscape,
    RawUnicodeEscape,
    Punycode,
    Idna,
    Rot13,
    Hex,
    Base64,
    Zlib,
    Bz2,
    Uu,
    Quopri,
    Undefined,
    /// A codec modelguard does not reproduce (CJK multibyte codecs).
    Unsupported,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

/// A codec found by [`lookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    /// The `encodings` module that implements it (`utf_7`, `rot_13`, `cp1252`…).
    pub module: &'static str,
    /// `CodecInfo._is_text_encoding`: whether `bytes.decode`/`str.encode` accept it.
    pub is_text_encoding: bool,
    kind: Kind,
}

/// `_Py_normalize_encoding` as `codecs.lookup` applies it (CPython 3.9+): on the UTF-8 bytes of
/// the name, ASCII letters, digits and `.` are kept (lower-cased), every run of other bytes
/// becomes one `_` (none at the start or end). `encodings.normalize_encoding` then leaves it
/// unchanged.
fn normalize_encoding(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut punct = false;
    for &c in name.as_bytes() {
        if c.is_ascii_alphanumeric() || c == b'.' {
            if punct && !out.is_empty() {
                out.push('_');
            }
            punct = false;
            out.push(char::from(c.to_ascii_lowercase()));
        } else {
            punct = true;
        }
    }
    out
}

/// `codecs.lookup(name)`: `_PyCodec_Lookup` then `encodings.search_function` (aliases first,
/// then the normalised name as a module of the `encodings` package).
pub fn lookup(name: &str) -> R<Codec> {
    if name.contains('\0') {
        return Err(raises("ValueError", "embedded null character"));
    }
    let norm = normalize_encoding(name);
    let alias = |n: &str| {
        ALIASES
            .binary_search_by(|(a, _)| (*a).cmp(n))
            .ok()
            .and_then(|i| ALIASES.get(i))
            .map(|(_, m)| *m)
    };
    let aliased = alias(&norm).or_else(|| alias(&norm.replace('.', "_")));
    let candidates: Vec<&str> = match aliased {
        Some(a) => vec![a, norm.as_str()],
        None => vec![norm.as_str()],
    };
    for modname in candidates {
        if modname.is_empty() || modname.contains('.') {
            continue;
        }
        // `encodings.aliases` imports fine but has no getregentry: the search ends there.
        if modname == "aliases" {
            break;
        }
        if let Ok(i) = CODEC_MODULES.binary_search(&modname) {
            let module = CODEC_MODULES.get(i).copied().unwrap_or("undefined");
            return Ok(codec_for_module(module));
        }
    }
    Err(raises("LookupError", format!("unknown encoding: {name}")))
}

fn codec_for_module(module: &'static str) -> Codec {
    use Kind::*;
    let kind = match module {
        "utf_8" => Utf8,
        "utf_8_sig" => Utf8Sig,
        "utf_16" => Utf16(None),
        "utf_16_le" => Utf16(Some(Endian::Little)),
        "utf_16_be" => Utf16(Some(Endian::Big)),
        "utf_32" => Utf32(None),
        "utf_32_le" => Utf32(Some(Endian::Little)),
        "utf_32_be" => Utf32(Some(Endian::Big)),
        "utf_7" => Utf7,
        "latin_1" => Latin1,
        "ascii" => Ascii,
        "charmap" => CharmapNone,
        "unicode_escape" => UnicodeEscape,
        "raw_unicode_escape" => RawUnicodeEscape,
        "punycode" => Punycode,
        "idna" => Idna,
        "rot_13" => Rot13,
        "hex_codec" => Hex,
        "base64_codec" => Base64,
        "zlib_codec" => Zlib,
        "bz2_codec" => Bz2,
        "uu_codec" => Uu,
        "quopri_codec" => Quopri,
        "undefined" => Undefined,
        m => match CHARMAPS.binary_search_by(|(n, _)| (*n).cmp(m)) {
            Ok(i) => CHARMAPS.get(i).map_or(Unsupported, |(_, t)| Charmap(t)),
            Err(_) => Unsupported,
        },
    };
    let is_text_encoding = !matches!(kind, Rot13 | Hex | Base64 | Zlib | Bz2 | Uu | Quopri);
    Codec {
        module,
        is_text_encoding,
        kind,
    }
}

/// `_codecs.decode(obj, encoding, errors)` / `codecs.decode`: look the codec up and call its
/// decoder on `obj` (a `str` or `bytes`; some decoders accept `str`, others raise `TypeError`).
pub fn codecs_decode(obj: &PyValue, encoding: &str, errors: &str, limits: &Limits) -> R<PyValue> {
    let codec = lookup(encoding)?;
    let out = decode_value(codec.kind, obj, errors, limits)?;
    check_size(out, limits)
}

/// `_codecs.encode(obj, encoding, errors)` / `codecs.encode`.
pub fn codecs_encode(obj: &PyValue, encoding: &str, errors: &str, limits: &Limits) -> R<PyValue> {
    let codec = lookup(encoding)?;
    let out = encode_value(codec.kind, obj, errors)?;
    check_size(out, limits)
}

/// `bytes.decode(encoding, errors)` / `str(b, encoding, errors)`: only text encodings
/// (`PyUnicode_Decode` → `_PyCodec_DecodeText`); the result must be a `str`.
pub fn bytes_decode(data: &[u8], encoding: &str, errors: &str, limits: &Limits) -> R<PyStr> {
    if encoding.contains('\0') {
        return Err(raises("ValueError", "embedded null character"));
    }
    // PyUnicode_Decode returns '' for empty input before looking the codec up.
    if data.is_empty() {
        return Ok(PyStr::new());
    }
    let codec = lookup(encoding)?;
    if !codec.is_text_encoding {
        return Err(raises(
            "LookupError",
            format!("'{encoding}' is not a text encoding; use codecs.decode()"),
        ));
    }
    match check_size(
        decode_value(codec.kind, &PyValue::Bytes(data.to_vec()), errors, limits)?,
        limits,
    )? {
        PyValue::Str(s) => Ok(s),
        PyValue::Bytes(_) => Err(raises("TypeError", "decoder did not return a str")),
    }
}

/// `str.encode(encoding, errors)`: only text encodings (`_PyCodec_EncodeText`); the result
/// must be `bytes`.
pub fn str_encode(s: &PyStr, encoding: &str, errors: &str, limits: &Limits) -> R<Vec<u8>> {
    let codec = lookup(encoding)?;
    if !codec.is_text_encoding {
        return Err(raises(
            "LookupError",
            format!("'{encoding}' is not a text encoding; use codecs.encode()"),
        ));
    }
    match check_size(
        encode_value(codec.kind, &PyValue::Str(s.clone()), errors)?,
        limits,
    )? {
        PyValue::Bytes(b) => Ok(b),
        PyValue::Str(_) => Err(raises("TypeError", "encoder did not return bytes")),
    }
}

fn check_size(v: PyValue, limits: &Limits) -> R<PyValue> {
    if v.size() > limits.max_decoded_bytes {
        return Err(CodecError::TooLarge {
            limit: limits.max_decoded_bytes,
        });
    }
    Ok(v)
}

fn str_out(cps: &[u32]) -> R<PyValue> {
    PyStr::from_code_points(cps)
        .map(PyValue::Str)
        .ok_or_else(|| unanalysable("code point out of range"))
}

fn type_error(what: &str) -> CodecError {
    raises("TypeError", what.to_string())
}

fn assert_strict(errors: &str) -> R<()> {
    // `assert errors == 'strict'` in the bytes-to-bytes codecs (python without -O).
    if errors == "strict" {
        Ok(())
    } else {
        Err(raises("AssertionError", "errors must be 'strict'"))
    }
}

/// Bytes, or a str of ASCII characters (`ascii_buffer_converter` in binascii).
fn ascii_buffer(obj: &PyValue) -> R<Vec<u8>> {
    match obj {
        PyValue::Bytes(b) => Ok(b.clone()),
        PyValue::Str(s) => {
            let cps = s.code_points();
            if cps.iter().any(|&c| c > 0x7F) {
                return Err(raises(
                    "ValueError",
                    "string argument should contain only ASCII characters",
                ));
            }
            Ok(cps.iter().map(|&c| c as u8).collect())
        }
    }
}

fn hex_val(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

#[cfg(test)]
mod tests;
