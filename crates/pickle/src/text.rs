//! Decoders for protocol-0 text operands and integer payloads, following what CPython's
//! `int()`, `float()`, `codecs.escape_decode` and the `raw-unicode-escape` codec accept. All of
//! them are linear in their input.

use std::fmt::Write as _;

/// An integer operand: small ones as `i64`, others as text for [`crate::Value::BigInt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PyInt {
    Small(i64),
    Big(String),
}

/// CPython's `int_max_str_digits` default (3.11): longer decimal literals are rejected by
/// `int()`, which also bounds the work done here.
const MAX_STR_DIGITS: usize = 4300;

/// Magnitudes up to this many bytes are rendered in decimal; larger ones as a hex prefix.
const MAX_DECIMAL_BYTES: usize = 256;

/// Parses like Python's `int(text, 0)` (`base0`) or `int(text)`: surrounding ASCII whitespace,
/// a sign, `0x`/`0o`/`0b` prefixes (base 0 only) and single underscores between digits.
pub(crate) fn parse_int(text: &[u8], base0: bool) -> Option<PyInt> {
    let t = text.trim_ascii();
    let (neg, t) = match t.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, t),
    };
    let (radix, digits) = match (base0, t) {
        (true, [b'0', b'x' | b'X', rest @ ..]) => (16u32, rest),
        (true, [b'0', b'o' | b'O', rest @ ..]) => (8, rest),
        (true, [b'0', b'b' | b'B', rest @ ..]) => (2, rest),
        _ => (10, t),
    };
    // A prefix may be followed by one underscore (`0x_1f`); otherwise underscores only
    // separate digits.
    let digits = match (radix, digits) {
        (16 | 8 | 2, [b'_', rest @ ..]) => rest,
        _ => digits,
    };
    if digits.is_empty() || digits.first() == Some(&b'_') || digits.last() == Some(&b'_') {
        return None;
    }
    if digits.windows(2).any(|w| w == b"__") {
        return None;
    }
    let clean = digits.iter().copied().filter(|&b| b != b'_');
    if radix == 10 && base0 {
        // `int('012', 0)` is an error: no leading zeros unless the value is zero.
        let mut it = clean.clone();
        if it.next() == Some(b'0') && clean.clone().any(|b| b != b'0') {
            return None;
        }
    }
    let mut small: Option<i128> = Some(0);
    let mut count = 0usize;
    for b in clean.clone() {
        let d = (b as char).to_digit(radix)?;
        count += 1;
        small = small.and_then(|v| v.checked_mul(i128::from(radix))?.checked_add(i128::from(d)));
    }
    if radix == 10 && count > MAX_STR_DIGITS {
        return None;
    }
    if let Some(v) = small {
        let v = if neg { -v } else { v };
        if let Ok(v) = i64::try_from(v) {
            return Some(PyInt::Small(v));
        }
    }
    if radix == 10 {
        // Already decimal: keep the digits, without leading zeros.
        let mut s = String::with_capacity(count + 1);
        if neg {
            s.push('-');
        }
        s.extend(clean.skip_while(|&b| b == b'0').map(char::from));
        return Some(PyInt::Big(s));
    }
    // Power-of-two radix: build the little-endian magnitude, then format it.
    let bits = radix.trailing_zeros();
    let mut mag: Vec<u8> = Vec::with_capacity(count * bits as usize / 8 + 1);
    let (mut acc, mut nacc) = (0u32, 0u32);
    for b in digits.iter().rev().filter(|&&b| b != b'_') {
        let d = (*b as char).to_digit(radix)?;
        acc |= d << nacc;
        nacc += bits;
        while nacc >= 8 {
            mag.push((acc & 0xff) as u8);
            acc >>= 8;
            nacc -= 8;
        }
    }
    if nacc > 0 {
        mag.push((acc & 0xff) as u8);
    }
    Some(PyInt::Big(magnitude_text(neg, &mag)))
}

/// The part of a text operand before its first NUL byte: `_pickle.c` hands numeric lines to
/// C string parsers (`strtol`, `PyLong_FromString`, `PyOS_string_to_double`), which stop
/// there, so `I12\0junk` loads as 12.
pub(crate) fn c_str(line: &[u8]) -> &[u8] {
    line.split(|&b| b == 0).next().unwrap_or(line)
}

/// `strtol(s, &end, 0)` for what Python's `int(s, 0)` refuses: C-style octal such as `012`
/// (the C unpickler's INT accepts it; the pure-Python one does not).
pub(crate) fn parse_c_octal(text: &[u8]) -> Option<PyInt> {
    let t = text.trim_ascii_start();
    let (neg, t) = match t.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, t),
    };
    if t.first() != Some(&b'0') || !t.iter().all(|b| (b'0'..=b'7').contains(b)) {
        return None;
    }
    let mut v: i64 = 0;
    for &b in t {
        v = v.checked_mul(8)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(PyInt::Small(if neg { -v } else { v }))
}

/// Decodes a LONG1/LONG4 payload: little-endian two's complement (`pickle.decode_long`).
pub(crate) fn decode_long(data: &[u8]) -> PyInt {
    let Some(&last) = data.last() else {
        return PyInt::Small(0);
    };
    let neg = last & 0x80 != 0;
    // Sign-extension bytes at the top carry no information.
    let fill = if neg { 0xff } else { 0 };
    let sig = data.len() - data.iter().rev().take_while(|&&b| b == fill).count();
    if sig < 8 || (sig == 8 && data.get(7).is_some_and(|b| (b & 0x80 != 0) == neg)) {
        let mut buf = [fill; 8];
        for (dst, src) in buf.iter_mut().zip(data.iter()) {
            *dst = *src;
        }
        return PyInt::Small(i64::from_le_bytes(buf));
    }
    if !neg {
        return PyInt::Big(magnitude_text(false, data));
    }
    // Magnitude of a negative number: two's complement negation.
    let mut mag = Vec::with_capacity(data.len());
    let mut carry = true;
    for &b in data {
        let (v, c) = (!b).overflowing_add(u8::from(carry));
        mag.push(v);
        carry = c;
    }
    PyInt::Big(magnitude_text(true, &mag))
}

/// Text for an integer given its little-endian magnitude: decimal when it is at most
/// [`MAX_DECIMAL_BYTES`] long (quadratic, so bounded), else `0x` + leading hex digits + `…` and
/// the byte length.
pub(crate) fn magnitude_text(neg: bool, mag_le: &[u8]) -> String {
    let len = mag_le.len() - mag_le.iter().rev().take_while(|&&b| b == 0).count();
    let mag = mag_le.get(..len).unwrap_or_default();
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if mag.is_empty() {
        s.push('0');
        return s;
    }
    if mag.len() > MAX_DECIMAL_BYTES {
        s.push_str("0x");
        for b in mag.iter().rev().take(16) {
            let _ = write!(s, "{b:02x}");
        }
        let _ = write!(s, "…({} bytes)", mag.len());
        return s;
    }
    // Base-10^19 long division over 64-bit limbs.
    let mut limbs: Vec<u64> = mag
        .chunks(8)
        .map(|c| {
            let mut b = [0u8; 8];
            for (d, s) in b.iter_mut().zip(c) {
                *d = *s;
            }
            u64::from_le_bytes(b)
        })
        .collect();
    const BASE: u64 = 10_000_000_000_000_000_000;
    let mut parts: Vec<u64> = Vec::new();
    while limbs.iter().any(|&l| l != 0) {
        let mut rem: u128 = 0;
        for l in limbs.iter_mut().rev() {
            let cur = (rem << 64) | u128::from(*l);
            *l = (cur / u128::from(BASE)) as u64;
            rem = cur % u128::from(BASE);
        }
        parts.push(rem as u64);
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
    }
    let mut first = true;
    for p in parts.iter().rev() {
        if first {
            let _ = write!(s, "{p}");
            first = false;
        } else {
            let _ = write!(s, "{p:019}");
        }
    }
    s
}

/// Parses like Python's `float(text)`: whitespace, underscores, `inf`/`nan` spellings.
pub(crate) fn parse_float(text: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(text.trim_ascii()).ok()?;
    if t.contains('_') {
        if t.starts_with('_') || t.ends_with('_') || t.contains("__") {
            return None;
        }
        return t.replace('_', "").parse().ok();
    }
    t.parse().ok()
}

/// `codecs.escape_decode` as used by the STRING opcode: Python bytes-literal escapes.
/// `None` for a trailing backslash or a bad `\x` escape (errors in CPython too).
pub(crate) fn escape_decode(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    let mut it = data.iter().copied().peekable();
    while let Some(b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let c = it.next()?;
        match c {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(c),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(11),
            b'a' => out.push(7),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match it.peek() {
                        Some(&d @ b'0'..=b'7') => {
                            v = (v << 3) + u32::from(d - b'0');
                            it.next();
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let hi = (it.next()? as char).to_digit(16)?;
                let lo = (it.next()? as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
            }
            _ => {
                out.push(b'\\');
                out.push(c);
            }
        }
    }
    Some(out)
}

/// The `raw-unicode-escape` codec (UNICODE opcode): bytes are Latin-1 code points except
/// `\uXXXX` / `\UXXXXXXXX`. Lone surrogates (valid in Python `str`) become U+FFFD.
pub(crate) fn raw_unicode_escape(data: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(data.len());
    let mut i = 0usize;
    while let Some(&b) = data.get(i) {
        i += 1;
        if b != b'\\' {
            out.push(char::from(b));
            continue;
        }
        let count = match data.get(i) {
            Some(b'u') => 4,
            Some(b'U') => 8,
            Some(&c) => {
                // Backslash + other byte: both kept, so `\\u` is not an escape.
                out.push('\\');
                out.push(char::from(c));
                i += 1;
                continue;
            }
            None => {
                out.push('\\');
                continue;
            }
        };
        i += 1;
        let hex = data.get(i..i + count)?;
        let mut v: u32 = 0;
        for &h in hex {
            v = (v << 4) | (h as char).to_digit(16)?;
        }
        i += count;
        if v > 0x10_ffff {
            return None;
        }
        out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_like_python() {
        assert_eq!(parse_int(b" 0x_1F ", true), Some(PyInt::Small(31)));
        assert_eq!(parse_int(b"1_0", true), Some(PyInt::Small(10)));
        assert_eq!(parse_int(b"-0b101", true), Some(PyInt::Small(-5)));
        assert_eq!(parse_int(b"012", true), None);
        assert_eq!(parse_c_octal(b"012"), Some(PyInt::Small(10)));
        assert_eq!(parse_c_octal(b"-0777"), Some(PyInt::Small(-511)));
        assert_eq!(parse_c_octal(b"018"), None);
        assert_eq!(c_str(b"12\0junk"), b"12");
        assert_eq!(c_str(b"12"), b"12");
        assert_eq!(parse_int(b"012", false), Some(PyInt::Small(12)));
        assert_eq!(parse_int(b"000", true), Some(PyInt::Small(0)));
        assert_eq!(parse_int(b"0x10", false), None);
        assert_eq!(parse_int(b"1__0", true), None);
        assert_eq!(parse_int(b"", true), None);
        assert_eq!(parse_int(b"-", true), None);
        assert_eq!(
            parse_int(b"-9223372036854775808", true),
            Some(PyInt::Small(i64::MIN))
        );
        assert_eq!(
            parse_int(b"123456789012345678901234567890", true),
            Some(PyInt::Big("123456789012345678901234567890".into()))
        );
        assert_eq!(
            parse_int(b"0x10000000000000000", true),
            Some(PyInt::Big("18446744073709551616".into()))
        );
        assert_eq!(parse_int(&[b'1'; 4301], true), None);
        assert!(matches!(
            parse_int(&[b'1'; 4300], true),
            Some(PyInt::Big(_))
        ));
    }

    #[test]
    fn longs_two_complement() {
        assert_eq!(decode_long(b""), PyInt::Small(0));
        assert_eq!(decode_long(b"\xff"), PyInt::Small(-1));
        assert_eq!(decode_long(b"\xff\x00"), PyInt::Small(255));
        assert_eq!(decode_long(b"\x00\x80"), PyInt::Small(-32768));
        assert_eq!(decode_long(&[0xff; 20]), PyInt::Small(-1));
        assert_eq!(
            decode_long(b"\x00\x00\x00\x00\x00\x00\x00\x80"),
            PyInt::Small(i64::MIN)
        );
        assert_eq!(
            decode_long(b"\x00\x00\x00\x00\x00\x00\x00\x80\x00"),
            PyInt::Big("9223372036854775808".into())
        );
        assert_eq!(
            decode_long(b"\xff\xff\xff\xff\xff\xff\xff\x7f\xff"),
            PyInt::Big("-9223372036854775809".into())
        );
        // 2**100 and -(2**100)
        let mut p = vec![0u8; 12];
        p.push(0x10);
        assert_eq!(
            decode_long(&p),
            PyInt::Big("1267650600228229401496703205376".into())
        );
        let mut n = vec![0u8; 12];
        n.push(0xf0);
        assert_eq!(
            decode_long(&n),
            PyInt::Big("-1267650600228229401496703205376".into())
        );
        let mut huge = vec![0u8; 1000];
        huge.push(1);
        let PyInt::Big(s) = decode_long(&huge) else {
            panic!("not big")
        };
        assert!(s.starts_with("0x01") && s.ends_with("(1001 bytes)"), "{s}");
    }

    #[test]
    fn floats_and_escapes() {
        assert_eq!(parse_float(b" 1_0.5 "), Some(10.5));
        assert_eq!(parse_float(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_float(b"nan").is_some_and(f64::is_nan));
        assert_eq!(parse_float(b"1e"), None);
        assert_eq!(
            escape_decode(b"a\\\nb\\777\\q\\x41\\'"),
            Some(b"ab\xff\\qA'".to_vec())
        );
        assert_eq!(escape_decode(b"\\x4"), None);
        assert_eq!(escape_decode(b"a\\"), None);
        assert_eq!(
            raw_unicode_escape(b"\\\\u0041\\u00e9\\U0001F600\xe9"),
            Some("\\\\u0041é😀é".into())
        );
        assert_eq!(raw_unicode_escape(b"\\ud800x"), Some("\u{fffd}x".into()));
        assert_eq!(raw_unicode_escape(b"\\u12"), None);
        assert_eq!(raw_unicode_escape(b"\\U00110000"), None);
        assert_eq!(raw_unicode_escape(b"a\\"), Some("a\\".into()));
    }
}
