//! The bytes-to-bytes transforms of `binascii`, `base64` and `quopri` (hex, base64, base32,
//! uu, quoted-printable), `bytes.fromhex` and rot13, and the module functions that call them
//! ([`function_decode`]). Follows `Modules/binascii.c`, `Lib/base64.py` and `Lib/quopri.py`.

use super::compress::{bz2_decompress, zlib_decompress};
use super::{CodecError, PyValue, R, ascii_buffer, hex_val, raises, type_error};
use crate::Limits;

/// The decoding functions of `base64`, `binascii`, `quopri`, `zlib` and `bz2`, and
/// `bytes.fromhex`, called with their data argument only (Python's defaults for the rest),
/// reproduced exactly. `None` when `func` (a dotted path such as `base64.b64decode`) is not
/// one of them; the result is `bytes`.
pub fn function_decode(func: &str, data: &PyValue, limits: &Limits) -> Option<R<Vec<u8>>> {
    let out = match func {
        // _bytes_from_decode_data, then binascii.a2b_base64(s, strict_mode=False).
        "base64.b64decode" | "base64.standard_b64decode" | "binascii.a2b_base64" => {
            ascii_buffer(data).and_then(|b| a2b_base64(&b))
        }
        // s.translate(bytes.maketrans(b'-_', b'+/')), then b64decode.
        "base64.urlsafe_b64decode" => ascii_buffer(data).and_then(|b| {
            let t: Vec<u8> = b
                .iter()
                .map(|&c| match c {
                    b'-' => b'+',
                    b'_' => b'/',
                    c => c,
                })
                .collect();
            a2b_base64(&t)
        }),
        // _input_type_check: bytes-like only.
        "base64.decodebytes" => match data {
            PyValue::Bytes(b) => a2b_base64(b),
            PyValue::Str(_) => Err(type_error("expected bytes-like object, not str")),
        },
        "base64.b32decode" => ascii_buffer(data).and_then(|b| b32decode(B32, &b)),
        "base64.b32hexdecode" => ascii_buffer(data).and_then(|b| b32decode(B32HEX, &b)),
        "base64.b16decode" => ascii_buffer(data).and_then(|b| {
            if b.iter().any(|c| !matches!(c, b'0'..=b'9' | b'A'..=b'F')) {
                return Err(raises("binascii.Error", "Non-base16 digit found"));
            }
            a2b_hex(&b)
        }),
        "binascii.a2b_hex" | "binascii.unhexlify" => ascii_buffer(data).and_then(|b| a2b_hex(&b)),
        "binascii.a2b_qp" | "quopri.decodestring" => ascii_buffer(data).map(|b| a2b_qp(&b)),
        "builtins.bytes.fromhex" | "builtins.bytearray.fromhex" => match data {
            PyValue::Str(s) => fromhex(&s.code_points()),
            PyValue::Bytes(_) => Err(type_error("fromhex() argument must be str, not bytes")),
        },
        "zlib.decompress" => match data {
            PyValue::Bytes(b) => zlib_decompress(b, limits),
            PyValue::Str(_) => Err(type_error("a bytes-like object is required, not 'str'")),
        },
        "bz2.decompress" => match data {
            _ if data.size() == 0 => Ok(Vec::new()),
            PyValue::Bytes(b) => bz2_decompress(b, limits),
            PyValue::Str(_) => Err(type_error("a bytes-like object is required, not 'str'")),
        },
        _ => return None,
    };
    Some(out.and_then(|b| {
        if b.len() > limits.max_decoded_bytes {
            Err(CodecError::TooLarge {
                limit: limits.max_decoded_bytes,
            })
        } else {
            Ok(b)
        }
    }))
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

const B32HEX: &[u8; 32] = b"0123456789ABCDEFGHIJKLMNOPQRSTUV";

/// `base64._b32decode(alphabet, s)` (no casefold, no map01).
fn b32decode(alphabet: &[u8; 32], s: &[u8]) -> R<Vec<u8>> {
    let padding = || raises("binascii.Error", "Incorrect padding");
    if !s.len().is_multiple_of(8) {
        return Err(padding());
    }
    let l = s.len();
    let stripped_len = s.iter().rposition(|&c| c != b'=').map_or(0, |p| p + 1);
    let body = s.get(..stripped_len).unwrap_or_default();
    let padchars = l - stripped_len;
    let mut decoded: Vec<u8> = Vec::with_capacity(l / 8 * 5);
    let mut acc: u64 = 0;
    for quanta in body.chunks(8) {
        acc = 0;
        for &c in quanta {
            let v = alphabet
                .iter()
                .position(|&a| a == c)
                .ok_or_else(|| raises("binascii.Error", "Non-base32 digit found"))?;
            acc = (acc << 5) + v as u64;
        }
        decoded.extend_from_slice(acc.to_be_bytes().get(3..).unwrap_or_default());
    }
    if !matches!(padchars, 0 | 1 | 3 | 4 | 6) {
        return Err(padding());
    }
    if padchars > 0 && !decoded.is_empty() {
        acc <<= 5 * padchars;
        let last = acc.to_be_bytes();
        let last = last.get(3..).unwrap_or_default();
        let leftover = (43 - 5 * padchars) / 8;
        decoded.truncate(decoded.len().saturating_sub(5));
        decoded.extend_from_slice(last.get(..leftover).unwrap_or_default());
    }
    Ok(decoded)
}

/// `bytes.fromhex`: ASCII whitespace is skipped before each pair, not inside one.
fn fromhex(s: &[u32]) -> R<Vec<u8>> {
    let bad = || {
        raises(
            "ValueError",
            "non-hexadecimal number found in fromhex() arg",
        )
    };
    let is_space = |c: u32| matches!(c, 0x20 | 0x09..=0x0D);
    let digit = |c: Option<&u32>| {
        c.and_then(|&c| char::from_u32(c))
            .filter(char::is_ascii)
            .and_then(|c| c.to_digit(16))
    };
    let mut out = Vec::with_capacity(s.len() / 2);
    let mut i = 0usize;
    while i < s.len() {
        while s.get(i).is_some_and(|&c| is_space(c)) {
            i += 1;
        }
        if i >= s.len() {
            break;
        }
        let top = digit(s.get(i)).ok_or_else(bad)?;
        let bot = digit(s.get(i + 1)).ok_or_else(bad)?;
        out.push((top * 16 + bot) as u8);
        i += 2;
    }
    Ok(out)
}

pub(super) fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

pub(super) fn from_b64(c: u8) -> u32 {
    u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    })
}

pub(super) fn rot13(c: u32) -> u32 {
    match c {
        0x61..=0x7A => (c - 0x61 + 13) % 26 + 0x61,
        0x41..=0x5A => (c - 0x41 + 13) % 26 + 0x41,
        other => other,
    }
}

/// `binascii.a2b_hex`: even length, hex digits only (no whitespace, unlike `bytes.fromhex`).
pub(super) fn a2b_hex(data: &[u8]) -> R<Vec<u8>> {
    if !data.len().is_multiple_of(2) {
        return Err(raises("binascii.Error", "Odd-length string"));
    }
    data.chunks_exact(2)
        .map(|p| {
            let hi = p.first().copied().and_then(hex_val);
            let lo = p.get(1).copied().and_then(hex_val);
            match (hi, lo) {
                (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                _ => Err(raises("binascii.Error", "Non-hexadecimal digit found")),
            }
        })
        .collect()
}

/// `binascii.a2b_base64(data, strict_mode=False)`: bytes outside the alphabet are skipped; a
/// pad after two or three data characters of a quad ends the data.
pub(super) fn a2b_base64(data: &[u8]) -> R<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 3);
    let mut quad_pos = 0u8;
    let mut leftchar: u8 = 0;
    let mut pads = 0u8;
    for &c in data {
        if c == b'=' {
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    return Ok(out);
                }
            }
            continue;
        }
        if !is_b64(c) {
            continue;
        }
        let v = from_b64(c) as u8;
        pads = 0;
        match quad_pos {
            0 => {
                quad_pos = 1;
                leftchar = v;
            }
            1 => {
                quad_pos = 2;
                out.push((leftchar << 2) | (v >> 4));
                leftchar = v & 0x0F;
            }
            2 => {
                quad_pos = 3;
                out.push((leftchar << 4) | (v >> 2));
                leftchar = v & 0x03;
            }
            _ => {
                quad_pos = 0;
                out.push((leftchar << 6) | v);
                leftchar = 0;
            }
        }
    }
    match quad_pos {
        0 => Ok(out),
        1 => Err(raises(
            "binascii.Error",
            "Invalid base64-encoded string: number of data characters cannot be 1 more than a multiple of 4",
        )),
        _ => Err(raises("binascii.Error", "Incorrect padding")),
    }
}

pub(super) const B64: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `base64.encodebytes`: lines of 76 characters (57 input bytes), each ending in `\n`.
pub(super) fn encodebytes(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 4 / 3 + data.len() / 57 + 4);
    let enc = |i: u32| B64.get(i as usize & 0x3F).copied().unwrap_or(b'=');
    for line in data.chunks(57) {
        for g in line.chunks(3) {
            let b = |i: usize| u32::from(g.get(i).copied().unwrap_or(0));
            let v = (b(0) << 16) | (b(1) << 8) | b(2);
            out.push(enc(v >> 18));
            out.push(enc(v >> 12));
            out.push(if g.len() > 1 { enc(v >> 6) } else { b'=' });
            out.push(if g.len() > 2 { enc(v) } else { b'=' });
        }
        out.push(b'\n');
    }
    out
}

/// `binascii.a2b_uu` for one line.
fn a2b_uu(line: &[u8]) -> R<Vec<u8>> {
    let mut data = line.iter().copied();
    let first = data.next().unwrap_or(0);
    let mut bin_len = usize::from(first.wrapping_sub(b' ') & 0o77);
    let mut rest: &[u8] = line.get(1..).unwrap_or_default();
    let mut out = Vec::with_capacity(bin_len);
    let mut leftchar: u32 = 0;
    let mut leftbits = 0u32;
    while bin_len > 0 {
        let this = match rest.split_first() {
            Some((&c, tail)) => {
                rest = tail;
                if c == b'\n' || c == b'\r' {
                    0
                } else {
                    if !(b' '..=b' ' + 64).contains(&c) {
                        return Err(raises("binascii.Error", "Illegal char"));
                    }
                    u32::from(c.wrapping_sub(b' ') & 0o77)
                }
            }
            // No more data: zero bits, as if spaces had been eaten at the end of the line.
            None => 0,
        };
        leftchar = (leftchar << 6) | this;
        leftbits += 6;
        if leftbits >= 8 {
            leftbits -= 8;
            out.push(((leftchar >> leftbits) & 0xFF) as u8);
            leftchar &= (1 << leftbits) - 1;
            bin_len -= 1;
        }
    }
    if rest
        .iter()
        .any(|&c| c != b' ' && c != b' ' + 64 && c != b'\n' && c != b'\r')
    {
        return Err(raises("binascii.Error", "Trailing garbage"));
    }
    Ok(out)
}

/// `uu_codec.uu_decode`.
pub(super) fn uu_decode(input: &[u8]) -> R<Vec<u8>> {
    // BytesIO.readline: lines end after b'\n'.
    let mut lines = input.split_inclusive(|&b| b == b'\n');
    loop {
        match lines.next() {
            None => return Err(raises("ValueError", "Missing \"begin\" line in input data")),
            Some(l) if l.starts_with(b"begin") => break,
            Some(_) => {}
        }
    }
    let mut out = Vec::new();
    for s in lines {
        if s == b"end\n" {
            return Ok(out);
        }
        match a2b_uu(s) {
            Ok(d) => out.extend(d),
            Err(_) => {
                // "Workaround for broken uuencoders by /Fredrik Lundh"
                let first = u32::from(s.first().copied().unwrap_or(0));
                let nbytes = (((first.wrapping_sub(32)) & 63) * 4 + 5) / 3;
                let cut = s.get(..nbytes as usize).unwrap_or(s);
                out.extend(a2b_uu(cut)?);
            }
        }
    }
    Err(raises("ValueError", "Truncated input data"))
}

/// `binascii.b2a_uu(data)` (no backtick).
fn b2a_uu(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 4 / 3 + 4);
    out.push(b' ' + data.len() as u8);
    let mut leftchar: u32 = 0;
    let mut leftbits = 0u32;
    let mut it = data.iter();
    let mut remaining = data.len();
    while remaining > 0 || leftbits != 0 {
        match it.next() {
            Some(&b) if remaining > 0 => leftchar = (leftchar << 8) | u32::from(b),
            _ => leftchar <<= 8,
        }
        leftbits += 8;
        while leftbits >= 6 {
            let c = (leftchar >> (leftbits - 6)) & 0x3F;
            leftbits -= 6;
            out.push(b' ' + c as u8);
        }
        leftchar &= (1 << leftbits) - 1;
        remaining = remaining.saturating_sub(1);
    }
    out.push(b'\n');
    out
}

/// `uu_codec.uu_encode` with filename `<data>` and mode 0o666.
pub(super) fn uu_encode(data: &[u8]) -> Vec<u8> {
    let mut out = b"begin 666 <data>\n".to_vec();
    for chunk in data.chunks(45) {
        out.extend(b2a_uu(chunk));
    }
    out.extend_from_slice(b" \nend\n");
    out
}

/// `binascii.a2b_qp(data, header=False)`, which `quopri.decode` uses.
pub(super) fn a2b_qp(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0usize;
    let at = |i: usize| data.get(i).copied();
    while let Some(c) = at(i) {
        if c != b'=' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let Some(n) = at(i) else { break };
        if n == b'\n' || n == b'\r' {
            // Soft line break: skip to after the end of line.
            if n != b'\n' {
                while at(i).is_some_and(|b| b != b'\n') {
                    i += 1;
                }
            }
            if i < data.len() {
                i += 1;
            }
        } else if n == b'=' {
            out.push(b'=');
            i += 1;
        } else if let (Some(h), Some(l)) = (hex_val(n), at(i + 1).and_then(hex_val)) {
            out.push((h * 16 + l) as u8);
            i += 2;
        } else {
            out.push(b'=');
        }
    }
    out
}

/// `binascii.b2a_qp(data, quotetabs, istext, header)` (output pass; `quopri_codec` uses
/// `quotetabs=True, istext=True, header=False`).
pub(super) fn b2a_qp(data: &[u8], quotetabs: bool, istext: bool, header: bool) -> Vec<u8> {
    const MAXLINESIZE: usize = 76;
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let at = |i: usize| data.get(i).copied();
    // Line ends are written as the first one found in the data is (CRLF or LF).
    let crlf = data
        .iter()
        .position(|&b| b == b'\n')
        .is_some_and(|p| p > 0 && at(p - 1) == Some(b'\r'));
    let hex2 = |out: &mut Vec<u8>, c: u8| {
        out.push(HEX.get(usize::from(c >> 4)).copied().unwrap_or(b'0'));
        out.push(HEX.get(usize::from(c & 15)).copied().unwrap_or(b'0'));
    };
    let soft_break = |out: &mut Vec<u8>| {
        out.push(b'=');
        if crlf {
            out.push(b'\r');
        }
        out.push(b'\n');
    };
    let mut out = Vec::with_capacity(data.len() * 3 / 2 + 4);
    let mut linelen = 0usize;
    let mut i = 0usize;
    while let Some(c) = at(i) {
        let next = at(i + 1);
        let last = next.is_none();
        let quote = c > 126
            || c == b'='
            || (header && c == b'_')
            || (c == b'.' && linelen == 0 && matches!(next, None | Some(b'\n' | b'\r' | 0)))
            || (!istext && (c == b'\r' || c == b'\n'))
            || ((c == b'\t' || c == b' ') && last)
            || (c < 33 && c != b'\r' && c != b'\n' && (quotetabs || (c != b'\t' && c != b' ')));
        if quote {
            if linelen + 3 >= MAXLINESIZE {
                soft_break(&mut out);
                linelen = 0;
            }
            out.push(b'=');
            hex2(&mut out, c);
            i += 1;
            linelen += 3;
        } else if istext && (c == b'\n' || (c == b'\r' && next == Some(b'\n'))) {
            linelen = 0;
            // Protect against whitespace on end of line.
            if let Some(&prev) = out.last()
                && (prev == b' ' || prev == b'\t')
            {
                if let Some(l) = out.last_mut() {
                    *l = b'=';
                }
                hex2(&mut out, prev);
            }
            if crlf {
                out.push(b'\r');
            }
            out.push(b'\n');
            i += if c == b'\r' { 2 } else { 1 };
        } else {
            if !last && next != Some(b'\n') && linelen + 1 >= MAXLINESIZE {
                soft_break(&mut out);
                linelen = 0;
            }
            linelen += 1;
            if header && c == b' ' {
                out.push(b'_');
            } else {
                out.push(c);
            }
            i += 1;
        }
    }
    out
}
