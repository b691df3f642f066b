//! Decoding layers that payloads hide behind, and payload sniffing.
//!
//! Every decoder is bounded: output larger than [`Limits::max_decoded_bytes`] is an error
//! ([`DecodeError::TooLarge`]), and decompressors read through `Read::take(limit + 1)` so a
//! bomb costs at most the limit. Decoders are lenient where Python is lenient (base64 skips
//! characters outside the alphabet, `bytes.fromhex` skips whitespace) and a little beyond:
//! accepting more can only make the scanner see more.

use std::io::Read;

use serde::{Deserialize, Serialize};

/// Python's codecs, exactly (`codecs.decode`/`codecs.encode`/`bytes.decode`/`str.encode`):
/// see [`codecs_decode`]. Unlike [`decode`], which applies one layer leniently, these give
/// Python's result or exception, or [`CodecError::Unanalysable`].
pub use crate::pycodecs::{
    Codec, CodecError, PyStr, PyValue, bytes_decode, codecs_decode, codecs_encode, function_decode,
    lookup, str_encode,
};

use crate::{Limits, PayloadKind};

/// A decoding or decompression step, as Python code applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// `base64.b64decode` (also accepts the URL-safe alphabet; non-alphabet bytes are skipped).
    Base64,
    /// `base64.urlsafe_b64decode`.
    Base64Url,
    /// `base64.b32decode` (case-insensitive).
    Base32,
    /// `base64.b16decode` (upper- or lower-case hex).
    Base16,
    /// `base64.b85decode` (RFC 1924 / git alphabet).
    Base85,
    /// `base64.a85decode` (Adobe Ascii85, with `z` and optional `<~ ~>`).
    Ascii85,
    /// `bytes.fromhex`, `binascii.unhexlify`, codec `hex` (whitespace skipped).
    Hex,
    /// `zlib.decompress`, codec `zlib`.
    Zlib,
    /// `gzip.decompress` (multi-member).
    Gzip,
    /// `bz2.decompress`, codec `bz2` (multi-stream).
    Bz2,
    /// `lzma.decompress` (`.xz` or legacy `.lzma`).
    Lzma,
    /// Codec `rot13`.
    Rot13,
    /// Codec `unicode_escape` (`\xNN`, `\uNNNN`, octal, …); output is UTF-8.
    UnicodeEscape,
    /// Codec `quopri` (quoted-printable).
    QuotedPrintable,
    /// Codec `uu`.
    Uu,
    /// Slicing with `[::-1]`.
    Reverse,
}

impl Encoding {
    /// Every encoding (for fuzzing and exhaustive tests).
    pub const ALL: &'static [Encoding] = &[
        Encoding::Base64,
        Encoding::Base64Url,
        Encoding::Base32,
        Encoding::Base16,
        Encoding::Base85,
        Encoding::Ascii85,
        Encoding::Hex,
        Encoding::Zlib,
        Encoding::Gzip,
        Encoding::Bz2,
        Encoding::Lzma,
        Encoding::Rot13,
        Encoding::UnicodeEscape,
        Encoding::QuotedPrintable,
        Encoding::Uu,
        Encoding::Reverse,
    ];

    /// Short stable name, used in [`crate::Hit::chain`].
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Base64Url => "base64url",
            Encoding::Base32 => "base32",
            Encoding::Base16 => "base16",
            Encoding::Base85 => "base85",
            Encoding::Ascii85 => "ascii85",
            Encoding::Hex => "hex",
            Encoding::Zlib => "zlib",
            Encoding::Gzip => "gzip",
            Encoding::Bz2 => "bz2",
            Encoding::Lzma => "lzma",
            Encoding::Rot13 => "rot13",
            Encoding::UnicodeEscape => "unicode_escape",
            Encoding::QuotedPrintable => "quopri",
            Encoding::Uu => "uu",
            Encoding::Reverse => "reverse",
        }
    }
}

/// Why a decoding step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input is not valid for this encoding.
    #[error("invalid {encoding} data: {reason}")]
    Invalid {
        /// The encoding's name.
        encoding: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The output would exceed the decoded-bytes limit.
    #[error("{encoding} output exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The encoding's name.
        encoding: &'static str,
        /// The limit in force.
        limit: usize,
    },
}

fn invalid(enc: Encoding, reason: impl Into<String>) -> DecodeError {
    DecodeError::Invalid {
        encoding: enc.as_str(),
        reason: reason.into(),
    }
}

/// Decode `data` with `enc`, producing at most `limits.max_decoded_bytes` bytes.
pub fn decode(enc: Encoding, data: &[u8], limits: &Limits) -> Result<Vec<u8>, DecodeError> {
    let cap = limits.max_decoded_bytes;
    let out = match enc {
        Encoding::Base64 | Encoding::Base64Url => base64_decode(enc, data)?,
        Encoding::Base32 => base32_decode(data)?,
        Encoding::Base16 | Encoding::Hex => hex_decode(enc, data)?,
        Encoding::Base85 => base85_decode(data)?,
        Encoding::Ascii85 => ascii85_decode(data)?,
        Encoding::Zlib => read_capped(enc, flate2::read::ZlibDecoder::new(data), cap)?,
        Encoding::Gzip => read_capped(enc, flate2::read::MultiGzDecoder::new(data), cap)?,
        Encoding::Bz2 => read_capped(enc, bzip2::read::MultiBzDecoder::new(data), cap)?,
        Encoding::Lzma => lzma_decode(data, cap)?,
        Encoding::Rot13 => data.iter().map(|&b| rot13(b)).collect(),
        Encoding::UnicodeEscape => unicode_escape_decode(data)?,
        Encoding::QuotedPrintable => quopri_decode(data),
        Encoding::Uu => uu_decode(data)?,
        Encoding::Reverse => data.iter().rev().copied().collect(),
    };
    if out.len() > cap {
        return Err(DecodeError::TooLarge {
            encoding: enc.as_str(),
            limit: cap,
        });
    }
    Ok(out)
}

/// The lenient transform ([`decode`]) that a Python codec name selects, looked up as
/// `codecs.lookup` does ([`lookup`]: normalisation and aliases). `None` for every other codec.
///
/// This is not Python's codec: `raw_unicode_escape` gets the (wider) `unicode_escape`
/// transform, `utf-7` and the text encodings are `None`. To reproduce
/// `codecs.decode`/`bytes.decode` exactly, call [`codecs_decode`] (and treat
/// [`CodecError::Unanalysable`] as unknown), never pass the input through.
pub fn encoding_from_codec_name(name: &str) -> Option<Encoding> {
    Some(match lookup(name).ok()?.module {
        "raw_unicode_escape" => Encoding::UnicodeEscape,
        "base64_codec" => Encoding::Base64,
        "hex_codec" => Encoding::Hex,
        "zlib_codec" => Encoding::Zlib,
        "bz2_codec" => Encoding::Bz2,
        "rot_13" => Encoding::Rot13,
        "unicode_escape" => Encoding::UnicodeEscape,
        "quopri_codec" => Encoding::QuotedPrintable,
        "uu_codec" => Encoding::Uu,
        _ => return None,
    })
}

/// Guess what decoded bytes are, cheaply: a pickle, a marshalled code object, compressed data
/// (by magic number) or Python source (mostly printable text that parses).
pub fn sniff_payload(data: &[u8]) -> Option<PayloadKind> {
    let first = *data.first()?;
    let second = data.get(1).copied();
    // Pickle with a PROTO header.
    if first == 0x80 && second.is_some_and(|p| p <= 5) && data.len() >= 3 {
        return Some(PayloadKind::Pickle);
    }
    if let Some(enc) = compression_magic(data) {
        return Some(PayloadKind::Compressed(enc));
    }
    // Marshalled code object: TYPE_CODE ('c'), with or without FLAG_REF, then a small argcount.
    if (first & 0x7f) == b'c' && data.len() >= 24 {
        let argc = data
            .get(1..5)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(i32::from_le_bytes);
        if argc.is_some_and(|a| (0..=255).contains(&a)) {
            return Some(PayloadKind::Marshal);
        }
    }
    if looks_like_protocol0_pickle(data) {
        return Some(PayloadKind::Pickle);
    }
    if looks_like_source(data) {
        return Some(PayloadKind::Source);
    }
    None
}

/// Compression format by magic number.
fn compression_magic(data: &[u8]) -> Option<Encoding> {
    match data {
        [0x78, 0x01 | 0x5e | 0x9c | 0xda, ..] => Some(Encoding::Zlib),
        [0x1f, 0x8b, ..] => Some(Encoding::Gzip),
        [b'B', b'Z', b'h', b'1'..=b'9', ..] => Some(Encoding::Bz2),
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Some(Encoding::Lzma),
        [0x5d, 0x00, 0x00, ..] => Some(Encoding::Lzma),
        _ => None,
    }
}

/// A protocol 0/1 pickle: starts with a typical opcode and ends with STOP (`.`).
fn looks_like_protocol0_pickle(data: &[u8]) -> bool {
    let trimmed = match data.iter().rposition(|b| !b.is_ascii_whitespace()) {
        Some(end) => data.get(..=end).unwrap_or_default(),
        None => return false,
    };
    if trimmed.len() < 2 || trimmed.last() != Some(&b'.') {
        return false;
    }
    match trimmed.first() {
        // GLOBAL: "c<module>\n<name>\n"
        Some(b'c') => {
            let mut lines = trimmed.get(1..).unwrap_or_default().split(|&b| b == b'\n');
            let module = lines.next().unwrap_or_default();
            let name = lines.next().unwrap_or_default();
            let ident = |s: &[u8]| {
                !s.is_empty()
                    && s.iter()
                        .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            };
            ident(module) && ident(name)
        }
        Some(b'(' | b']' | b'}' | b')' | b'I' | b'S' | b'V' | b'N' | b'F' | b'L') => {
            trimmed.contains(&b'\n') || trimmed.len() <= 3
        }
        _ => false,
    }
}

/// Mostly printable UTF-8 text that parses as Python.
fn looks_like_source(data: &[u8]) -> bool {
    let limits = Limits::default();
    if data.len() > limits.max_source_bytes {
        return false;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let total = text.chars().count().max(1);
    let printable = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\x0c'))
        .count();
    if printable * 100 < total * 95 || text.trim().is_empty() {
        return false;
    }
    crate::syntax::parses_cleanly(text, &limits)
}

fn read_capped(enc: Encoding, reader: impl Read, cap: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let take = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(take)
        .read_to_end(&mut out)
        .map_err(|e| invalid(enc, e.to_string()))?;
    if out.len() > cap {
        return Err(DecodeError::TooLarge {
            encoding: enc.as_str(),
            limit: cap,
        });
    }
    Ok(out)
}

fn lzma_decode(data: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    // Dictionary memory is allocated up front from the header: bound it.
    const MEM_LIMIT_KB: u32 = 128 * 1024;
    if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        let reader = lzma_rust2::XzReader::new_mem_limit(data, true, MEM_LIMIT_KB);
        read_capped(Encoding::Lzma, reader, cap)
    } else {
        let reader = lzma_rust2::LzmaReader::new_mem_limit(data, MEM_LIMIT_KB, None)
            .map_err(|e| invalid(Encoding::Lzma, e.to_string()))?;
        read_capped(Encoding::Lzma, reader, cap)
    }
}

fn base64_decode(enc: Encoding, data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const ENGINE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CONFIG);
    // Python (non-strict) skips bytes outside the alphabet; padding ends the data.
    let mut clean: Vec<u8> = Vec::with_capacity(data.len());
    for &b in data {
        let b = match b {
            b'-' => b'+',
            b'_' => b'/',
            other => other,
        };
        if b == b'=' {
            if clean.len() % 4 >= 2 {
                break;
            }
            continue;
        }
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
            clean.push(b);
        }
    }
    if clean.len() % 4 == 1 {
        clean.pop();
    }
    ENGINE
        .decode(&clean)
        .map_err(|e| invalid(enc, e.to_string()))
}

fn base32_decode(data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(data.len() * 5 / 8 + 1);
    let (mut acc, mut bits) = (0u64, 0u32);
    for &b in data {
        let v = match b.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            b'=' => break,
            c if c.is_ascii_whitespace() => continue,
            _ => return Err(invalid(Encoding::Base32, "non-alphabet character")),
        };
        acc = (acc << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Ok(out)
}

fn hex_decode(enc: Encoding, data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let digits: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err(invalid(enc, "odd-length string"));
    }
    digits
        .chunks_exact(2)
        .map(|pair| {
            let hi = (pair.first().copied().unwrap_or(b'?') as char).to_digit(16);
            let lo = (pair.get(1).copied().unwrap_or(b'?') as char).to_digit(16);
            match (hi, lo) {
                (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                _ => Err(invalid(enc, "non-hexadecimal digit")),
            }
        })
        .collect()
}

const B85_ALPHABET: &[u8; 85] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";

fn base85_decode(data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut table = [255u8; 256];
    for (i, &c) in B85_ALPHABET.iter().enumerate() {
        if let Some(slot) = table.get_mut(usize::from(c)) {
            *slot = i as u8;
        }
    }
    let digits: Vec<u8> = data
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|&b| table.get(usize::from(b)).copied().unwrap_or(255))
        .collect();
    if digits.contains(&255) {
        return Err(invalid(Encoding::Base85, "bad character"));
    }
    group85(Encoding::Base85, &digits)
}

/// Decode groups of five base-85 digits (values 0..85), padding the last group with 84.
fn group85(enc: Encoding, digits: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(digits.len() / 5 * 4 + 4);
    for chunk in digits.chunks(5) {
        let mut acc: u64 = 0;
        for i in 0..5 {
            acc = acc * 85 + u64::from(chunk.get(i).copied().unwrap_or(84));
        }
        if acc > u64::from(u32::MAX) {
            return Err(invalid(enc, "group overflows 32 bits"));
        }
        let bytes = (acc as u32).to_be_bytes();
        let keep = if chunk.len() == 5 {
            4
        } else {
            chunk.len().saturating_sub(1)
        };
        out.extend_from_slice(bytes.get(..keep).unwrap_or_default());
    }
    Ok(out)
}

fn ascii85_decode(data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut body = data;
    if let Some(rest) = body.strip_prefix(b"<~") {
        body = rest;
    }
    let end = body.windows(2).position(|w| w == b"~>");
    if let Some(end) = end {
        body = body.get(..end).unwrap_or_default();
    }
    let mut out = Vec::new();
    let mut group: Vec<u8> = Vec::with_capacity(5);
    for &b in body {
        match b {
            b'z' if group.is_empty() => out.extend_from_slice(&[0, 0, 0, 0]),
            b'y' if group.is_empty() => out.extend_from_slice(b"    "),
            b'!'..=b'u' => {
                group.push(b - b'!');
                if group.len() == 5 {
                    out.extend(group85(Encoding::Ascii85, &group)?);
                    group.clear();
                }
            }
            c if c.is_ascii_whitespace() => {}
            _ => return Err(invalid(Encoding::Ascii85, "bad character")),
        }
    }
    if !group.is_empty() {
        out.extend(group85(Encoding::Ascii85, &group)?);
    }
    Ok(out)
}

fn rot13(b: u8) -> u8 {
    match b {
        b'a'..=b'z' => (b - b'a' + 13) % 26 + b'a',
        b'A'..=b'Z' => (b - b'A' + 13) % 26 + b'A',
        other => other,
    }
}

/// Python's `unicode_escape` codec: input bytes are Latin-1 text with backslash escapes.
fn unicode_escape_decode(data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let enc = Encoding::UnicodeEscape;
    let mut out = String::with_capacity(data.len());
    let mut i = 0usize;
    let at = |i: usize| data.get(i).copied();
    while let Some(b) = at(i) {
        i += 1;
        if b != b'\\' {
            out.push(char::from(b));
            continue;
        }
        let Some(e) = at(i) else {
            return Err(invalid(enc, "\\ at end of string"));
        };
        i += 1;
        let hex = |i: &mut usize, n: usize| -> Result<u32, DecodeError> {
            let digits = data
                .get(*i..*i + n)
                .ok_or_else(|| invalid(enc, "truncated escape"))?;
            *i += n;
            let s = std::str::from_utf8(digits).map_err(|_| invalid(enc, "bad escape"))?;
            u32::from_str_radix(s, 16).map_err(|_| invalid(enc, "bad escape"))
        };
        match e {
            b'\n' => {}
            b'\\' => out.push('\\'),
            b'\'' => out.push('\''),
            b'"' => out.push('"'),
            b'a' => out.push('\x07'),
            b'b' => out.push('\x08'),
            b'f' => out.push('\x0c'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'v' => out.push('\x0b'),
            b'x' => out.push(char::from_u32(hex(&mut i, 2)?).unwrap_or('\u{fffd}')),
            b'u' => out.push(char::from_u32(hex(&mut i, 4)?).unwrap_or('\u{fffd}')),
            b'U' => {
                let cp = hex(&mut i, 8)?;
                out.push(char::from_u32(cp).ok_or_else(|| invalid(enc, "bad code point"))?);
            }
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match at(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            b'N' => return Err(invalid(enc, "\\N{...} escapes are not supported")),
            other => {
                out.push('\\');
                out.push(char::from(other));
            }
        }
    }
    Ok(out.into_bytes())
}

fn quopri_decode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0usize;
    while let Some(&b) = data.get(i) {
        if b == b'=' {
            match (data.get(i + 1), data.get(i + 2)) {
                (Some(b'\n'), _) => {
                    i += 2;
                    continue;
                }
                (Some(b'\r'), Some(b'\n')) => {
                    i += 3;
                    continue;
                }
                (Some(&h), Some(&l)) => {
                    if let (Some(h), Some(l)) = ((h as char).to_digit(16), (l as char).to_digit(16))
                    {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

fn uu_decode(data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let enc = Encoding::Uu;
    let mut out = Vec::new();
    let mut lines = data
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    // Skip to the "begin" line.
    loop {
        match lines.next() {
            Some(l) if l.starts_with(b"begin") => break,
            Some(_) => continue,
            None => return Err(invalid(enc, "missing \"begin\" line")),
        }
    }
    for line in lines {
        if line.starts_with(b"end") {
            return Ok(out);
        }
        let Some((&len_ch, rest)) = line.split_first() else {
            continue;
        };
        let n = usize::from(len_ch.wrapping_sub(b' ') & 0x3f);
        let vals: Vec<u8> = rest.iter().map(|&c| c.wrapping_sub(b' ') & 0x3f).collect();
        let mut line_out = Vec::with_capacity(n + 3);
        for quad in vals.chunks(4) {
            let g = |i: usize| u32::from(quad.get(i).copied().unwrap_or(0));
            let v = (g(0) << 18) | (g(1) << 12) | (g(2) << 6) | g(3);
            line_out.extend_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8]);
        }
        line_out.truncate(n);
        out.extend(line_out);
    }
    Err(invalid(enc, "truncated input"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits::default()
    }

    fn dec(enc: Encoding, data: &[u8]) -> Vec<u8> {
        decode(enc, data, &lim()).unwrap_or_else(|e| panic!("{enc:?}: {e}"))
    }

    // Payloads below were produced with CPython 3.11's base64/zlib/bz2/lzma/gzip/codecs
    // modules (see tests/data/gen_payloads.py).
    #[test]
    fn base_encodings() {
        assert_eq!(dec(Encoding::Base64, b"aW1wb3J0IG9z"), b"import os");
        assert_eq!(dec(Encoding::Base64, b"aW1w\nb3J0\tIG9z\n"), b"import os");
        assert_eq!(dec(Encoding::Base64, b"aGk="), b"hi");
        assert_eq!(dec(Encoding::Base64, b"aGk"), b"hi");
        assert_eq!(dec(Encoding::Base64Url, b"-_8="), [0xfb, 0xff]);
        assert_eq!(dec(Encoding::Base32, b"NFWXA33SOQQG64Y="), b"import os");
        assert_eq!(dec(Encoding::Base16, b"696D706F7274"), b"import");
        assert_eq!(dec(Encoding::Hex, b"69 6d 70"), b"imp");
        assert_eq!(dec(Encoding::Base85, b"X>D+Ca&#bXa{"), b"import os");
        assert_eq!(dec(Encoding::Ascii85, b"Bl.g-Ec`FBEr"), b"import os");
        assert_eq!(dec(Encoding::Ascii85, b"<~Bl.g-Ec`FBEr~>"), b"import os");
        assert_eq!(dec(Encoding::Ascii85, b"z"), [0, 0, 0, 0]);
        assert_eq!(dec(Encoding::Rot13, b"vzcbeg bf"), b"import os");
        assert_eq!(dec(Encoding::Reverse, b"so tropmi"), b"import os");
        assert_eq!(
            dec(Encoding::UnicodeEscape, br"\x69mport\u0020os\n\101"),
            b"import os\nA"
        );
        assert_eq!(
            dec(Encoding::QuotedPrintable, b"imp=6Frt=\nos"),
            b"importos"
        );
        assert_eq!(
            dec(Encoding::Uu, b"begin 666 <data>\n):6UP;W)T(&]S\n \nend\n"),
            b"import os"
        );
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        assert!(decode(Encoding::Hex, b"abc", &lim()).is_err());
        assert!(decode(Encoding::Hex, b"zz", &lim()).is_err());
        assert!(decode(Encoding::Base32, b"!!!!", &lim()).is_err());
        assert!(decode(Encoding::Base85, b"\x00", &lim()).is_err());
        assert!(decode(Encoding::Ascii85, b"uuuuu", &lim()).is_err());
        assert!(decode(Encoding::Zlib, b"not zlib", &lim()).is_err());
        assert!(decode(Encoding::Gzip, b"\x1f\x8bxx", &lim()).is_err());
        assert!(decode(Encoding::Bz2, b"BZh9garbage", &lim()).is_err());
        assert!(decode(Encoding::Lzma, b"\x5d\x00\x00", &lim()).is_err());
        assert!(decode(Encoding::Lzma, b"\xfd7zXZ\x00junk", &lim()).is_err());
        assert!(decode(Encoding::UnicodeEscape, b"\\", &lim()).is_err());
        assert!(decode(Encoding::UnicodeEscape, b"\\x4", &lim()).is_err());
        assert!(decode(Encoding::Uu, b"no header", &lim()).is_err());
        for enc in Encoding::ALL {
            for input in [&b""[..], b"\xff\xfe\x00", b"=", b"\\U0011ffff"] {
                let _ = decode(*enc, input, &lim());
            }
        }
    }

    #[test]
    fn codec_names() {
        assert_eq!(encoding_from_codec_name("rot13"), Some(Encoding::Rot13));
        assert_eq!(encoding_from_codec_name("ROT-13"), Some(Encoding::Rot13));
        assert_eq!(encoding_from_codec_name("base64"), Some(Encoding::Base64));
        assert_eq!(
            encoding_from_codec_name("base64_codec"),
            Some(Encoding::Base64)
        );
        assert_eq!(encoding_from_codec_name("hex"), Some(Encoding::Hex));
        assert_eq!(encoding_from_codec_name("zip"), Some(Encoding::Zlib));
        assert_eq!(encoding_from_codec_name("bz2_codec"), Some(Encoding::Bz2));
        assert_eq!(
            encoding_from_codec_name("unicode-escape"),
            Some(Encoding::UnicodeEscape)
        );
        assert_eq!(encoding_from_codec_name("uu"), Some(Encoding::Uu));
        assert_eq!(encoding_from_codec_name("utf-8"), None);
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff_payload(b"\x80\x04\x95"), Some(PayloadKind::Pickle));
        assert_eq!(
            sniff_payload(b"cos\nsystem\n(S'id'\ntR."),
            Some(PayloadKind::Pickle)
        );
        assert_eq!(
            sniff_payload(b"x\x9c\x01\x02"),
            Some(PayloadKind::Compressed(Encoding::Zlib))
        );
        assert_eq!(
            sniff_payload(b"\x1f\x8b\x08"),
            Some(PayloadKind::Compressed(Encoding::Gzip))
        );
        assert_eq!(
            sniff_payload(b"BZh91AY&SY"),
            Some(PayloadKind::Compressed(Encoding::Bz2))
        );
        assert_eq!(
            sniff_payload(b"\xfd7zXZ\x00\x00"),
            Some(PayloadKind::Compressed(Encoding::Lzma))
        );
        assert_eq!(
            sniff_payload(b"\x5d\x00\x00\x80\x00"),
            Some(PayloadKind::Compressed(Encoding::Lzma))
        );
        let mut code = vec![0xe3, 1, 0, 0, 0];
        code.extend([0u8; 30]);
        assert_eq!(sniff_payload(&code), Some(PayloadKind::Marshal));
        assert_eq!(
            sniff_payload(b"import os\nos.system('id')\n"),
            Some(PayloadKind::Source)
        );
        assert_eq!(
            sniff_payload(b"class A:\n    pass\n"),
            Some(PayloadKind::Source)
        );
        assert_eq!(sniff_payload(b"\x00\x01\x02binary"), None);
        assert_eq!(sniff_payload(b"this is not ( python"), None);
        assert_eq!(sniff_payload(b""), None);
    }

    #[test]
    fn limits_cap_output() {
        let small = Limits {
            max_decoded_bytes: 4,
            ..Limits::default()
        };
        assert!(matches!(
            decode(Encoding::Base64, b"aW1wb3J0IG9z", &small),
            Err(DecodeError::TooLarge { .. })
        ));
        assert!(matches!(
            decode(Encoding::Reverse, b"abcde", &small),
            Err(DecodeError::TooLarge { .. })
        ));
    }
}
