//! The Unicode codecs: UTF-8, UTF-16, UTF-32 and UTF-7 (BOMs and endianness as CPython
//! handles them), ASCII, Latin-1 and the single-byte code pages, each way.

use super::binascii::{B64, from_b64, is_b64};
use super::errors::{EncRep, Handler, Std, decode_error, encode_error, encode_rep};
use super::{Endian, R, push_cp, raises};

/// `unicode_decode_utf8` (Objects/unicodeobject.c, stringlib `utf8_decode`): errors cover the
/// maximal valid prefix of a sequence.
pub(super) fn utf8_decode(input: &[u8], h: &Handler) -> R<Vec<u32>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0usize;
    let at = |i: usize| input.get(i).copied();
    while let Some(c) = at(i) {
        if c < 0x80 {
            out.push(u32::from(c));
            i += 1;
            continue;
        }
        let (need, lo, hi) = match c {
            0xC2..=0xDF => (2, 0x80, 0xBF),
            0xE0 => (3, 0xA0, 0xBF),
            0xED => (3, 0x80, 0x9F),
            0xE1..=0xEF => (3, 0x80, 0xBF),
            0xF0 => (4, 0x90, 0xBF),
            0xF1..=0xF3 => (4, 0x80, 0xBF),
            0xF4 => (4, 0x80, 0x8F),
            _ => {
                i = decode_error(
                    h,
                    Std::Utf8,
                    input,
                    i,
                    i + 1,
                    "invalid start byte",
                    &mut out,
                )?;
                continue;
            }
        };
        let mut valid = 1usize;
        let mut bad = false;
        while valid < need {
            match at(i + valid) {
                None => break,
                Some(b) => {
                    let ok = if valid == 1 {
                        (lo..=hi).contains(&b)
                    } else {
                        (0x80..=0xBF).contains(&b)
                    };
                    if !ok {
                        bad = true;
                        break;
                    }
                    valid += 1;
                }
            }
        }
        if bad {
            let reason = "invalid continuation byte";
            i = decode_error(h, Std::Utf8, input, i, i + valid, reason, &mut out)?;
        } else if valid < need {
            let end = input.len();
            i = decode_error(
                h,
                Std::Utf8,
                input,
                i,
                end,
                "unexpected end of data",
                &mut out,
            )?;
        } else {
            let mut cp = u32::from(c) & (0x7F >> need);
            for k in 1..need {
                cp = (cp << 6) | (u32::from(at(i + k).unwrap_or(0)) & 0x3F);
            }
            out.push(cp);
            i += need;
        }
    }
    Ok(out)
}

/// `PyUnicode_DecodeUTF16Stateful` with `final=True`.
pub(super) fn utf16_decode(input: &[u8], endian: Option<Endian>, h: &Handler) -> R<Vec<u32>> {
    let mut q = 0usize;
    let order = match endian {
        Some(e) => e,
        None => match input {
            [0xFF, 0xFE, ..] => {
                q = 2;
                Endian::Little
            }
            [0xFE, 0xFF, ..] => {
                q = 2;
                Endian::Big
            }
            _ => Endian::Little,
        },
    };
    let std = Std::Utf16(order);
    let unit = |q: usize| -> Option<u32> {
        let a = u32::from(*input.get(q)?);
        let b = u32::from(*input.get(q + 1)?);
        Some(match order {
            Endian::Little => (b << 8) | a,
            Endian::Big => (a << 8) | b,
        })
    };
    let e = input.len();
    let mut out = Vec::with_capacity(e / 2);
    while q < e {
        let Some(u) = unit(q) else {
            q = decode_error(h, std, input, q, e, "truncated data", &mut out)?;
            continue;
        };
        if !(0xD800..=0xDFFF).contains(&u) {
            out.push(u);
            q += 2;
            continue;
        }
        if u >= 0xDC00 {
            q = decode_error(h, std, input, q, q + 2, "illegal encoding", &mut out)?;
            continue;
        }
        match unit(q + 2) {
            None => {
                q = decode_error(h, std, input, q, e, "unexpected end of data", &mut out)?;
            }
            Some(u2) if (0xDC00..=0xDFFF).contains(&u2) => {
                out.push(0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00));
                q += 4;
            }
            Some(_) => {
                q = decode_error(
                    h,
                    std,
                    input,
                    q,
                    q + 2,
                    "illegal UTF-16 surrogate",
                    &mut out,
                )?;
            }
        }
    }
    Ok(out)
}

/// `PyUnicode_DecodeUTF32Stateful` with `final=True`.
pub(super) fn utf32_decode(input: &[u8], endian: Option<Endian>, h: &Handler) -> R<Vec<u32>> {
    let mut q = 0usize;
    let order = match endian {
        Some(e) => e,
        None => match input {
            [0xFF, 0xFE, 0, 0, ..] => {
                q = 4;
                Endian::Little
            }
            [0, 0, 0xFE, 0xFF, ..] => {
                q = 4;
                Endian::Big
            }
            _ => Endian::Little,
        },
    };
    let std = Std::Utf32(order);
    let e = input.len();
    let mut out = Vec::with_capacity(e / 4);
    while q < e {
        let Some(w) = input
            .get(q..q + 4)
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
        else {
            q = decode_error(h, std, input, q, e, "truncated data", &mut out)?;
            continue;
        };
        let ch = match order {
            Endian::Little => u32::from_le_bytes(w),
            Endian::Big => u32::from_be_bytes(w),
        };
        if (0xD800..=0xDFFF).contains(&ch) {
            let reason = "code point in surrogate code point range(0xd800, 0xe000)";
            q = decode_error(h, std, input, q, q + 4, reason, &mut out)?;
        } else if ch > 0x10FFFF {
            let reason = "code point not in range(0x110000)";
            q = decode_error(h, std, input, q, q + 4, reason, &mut out)?;
        } else {
            out.push(ch);
            q += 4;
        }
    }
    Ok(out)
}

/// `PyUnicode_DecodeUTF7Stateful` with `final=True` (RFC 2152, decoded liberally).
pub(super) fn utf7_decode(input: &[u8], h: &Handler) -> R<Vec<u32>> {
    let std = Std::Other;
    let e = input.len();
    let mut out = Vec::with_capacity(e);
    let mut s = 0usize;
    let mut in_shift = false;
    let mut bits: u32 = 0;
    let mut buffer: u64 = 0;
    let mut surrogate: u32 = 0;
    let mut startinpos = 0usize;
    let direct = |c: u8| c <= 127 && c != b'+';
    loop {
        while s < e {
            let ch = input.get(s).copied().unwrap_or(0);
            if in_shift {
                if is_b64(ch) {
                    buffer = (buffer << 6) | u64::from(from_b64(ch));
                    bits += 6;
                    s += 1;
                    if bits >= 16 {
                        let out_ch = ((buffer >> (bits - 16)) & 0xFFFF) as u32;
                        bits -= 16;
                        buffer &= (1u64 << bits) - 1;
                        if surrogate != 0 {
                            if (0xDC00..=0xDFFF).contains(&out_ch) {
                                out.push(
                                    0x10000 + ((surrogate - 0xD800) << 10) + (out_ch - 0xDC00),
                                );
                                surrogate = 0;
                                continue;
                            }
                            out.push(surrogate);
                            surrogate = 0;
                        }
                        if (0xD800..=0xDBFF).contains(&out_ch) {
                            surrogate = out_ch;
                        } else {
                            out.push(out_ch);
                        }
                    }
                } else {
                    in_shift = false;
                    if bits > 0 {
                        if bits >= 6 {
                            s += 1;
                            let r = "partial character in shift sequence";
                            s = decode_error(h, std, input, startinpos, s, r, &mut out)?;
                            continue;
                        } else if buffer != 0 {
                            s += 1;
                            let r = "non-zero padding bits in shift sequence";
                            s = decode_error(h, std, input, startinpos, s, r, &mut out)?;
                            continue;
                        }
                    }
                    if surrogate != 0 && direct(ch) {
                        out.push(surrogate);
                    }
                    surrogate = 0;
                    if ch == b'-' {
                        s += 1;
                    }
                }
            } else if ch == b'+' {
                startinpos = s;
                s += 1;
                match input.get(s).copied() {
                    Some(b'-') => {
                        s += 1;
                        out.push(u32::from(b'+'));
                    }
                    Some(c) if !is_b64(c) => {
                        s += 1;
                        let r = "ill-formed sequence";
                        s = decode_error(h, std, input, startinpos, s, r, &mut out)?;
                    }
                    _ => {
                        in_shift = true;
                        surrogate = 0;
                        bits = 0;
                        buffer = 0;
                    }
                }
            } else if direct(ch) {
                s += 1;
                out.push(u32::from(ch));
            } else {
                startinpos = s;
                s += 1;
                let r = "unexpected special character";
                s = decode_error(h, std, input, startinpos, s, r, &mut out)?;
            }
        }
        if in_shift {
            in_shift = false;
            if surrogate != 0 || bits >= 6 || (bits > 0 && buffer != 0) {
                let r = "unterminated shift sequence";
                s = decode_error(h, std, input, startinpos, e, r, &mut out)?;
                if s < e {
                    continue;
                }
            }
        }
        break;
    }
    Ok(out)
}

/// `ascii_decode` / `PyUnicode_DecodeASCII`.
pub(super) fn ascii_decode(input: &[u8], h: &Handler) -> R<Vec<u32>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0usize;
    while let Some(&b) = input.get(i) {
        if b < 0x80 {
            out.push(u32::from(b));
            i += 1;
        } else {
            let r = "ordinal not in range(128)";
            i = decode_error(h, Std::Other, input, i, i + 1, r, &mut out)?;
        }
    }
    Ok(out)
}

/// `charmap_decode_string` with a 256-character decoding table (U+FFFE: undefined).
pub(super) fn charmap_decode(input: &[u8], table: &[u16; 256], h: &Handler) -> R<Vec<u32>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0usize;
    while let Some(&b) = input.get(i) {
        let c = table.get(usize::from(b)).copied().unwrap_or(0xFFFE);
        if c == 0xFFFE {
            let r = "character maps to <undefined>";
            i = decode_error(h, Std::Other, input, i, i + 1, r, &mut out)?;
        } else {
            out.push(u32::from(c));
            i += 1;
        }
    }
    Ok(out)
}

fn is_surrogate(c: u32) -> bool {
    (0xD800..=0xDFFF).contains(&c)
}

/// `unicode_encode_utf8`: surrogates go to the error handler.
pub(super) fn utf8_encode(s: &[u32], h: &Handler) -> R<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0usize;
    while let Some(&c) = s.get(i) {
        if !is_surrogate(c) {
            push_cp(&mut out, c);
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while s.get(end).is_some_and(|&c| is_surrogate(c)) {
            end += 1;
        }
        let rep = encode_error(h, Std::Utf8, s, i, end)?;
        // The replacement must be ASCII when it is text.
        encode_rep(rep, &mut out, |c| (c < 0x80).then(|| vec![c as u8]))?;
        i = end;
    }
    Ok(out)
}

pub(super) fn utf16_encode(s: &[u32], endian: Option<Endian>, h: &Handler) -> R<Vec<u8>> {
    let order = endian.unwrap_or(Endian::Little);
    let mut out = Vec::with_capacity(s.len() * 2 + 2);
    let unit = |out: &mut Vec<u8>, u: u16| match order {
        Endian::Little => out.extend_from_slice(&u.to_le_bytes()),
        Endian::Big => out.extend_from_slice(&u.to_be_bytes()),
    };
    if endian.is_none() {
        unit(&mut out, 0xFEFF);
    }
    for (i, &c) in s.iter().enumerate() {
        if is_surrogate(c) {
            let rep = encode_error(h, Std::Utf16(order), s, i, i + 1)?;
            match rep {
                // Bytes must be whole code units.
                EncRep::Bytes(b) if !b.len().is_multiple_of(2) => {
                    return Err(raises("UnicodeEncodeError", "surrogates not allowed"));
                }
                EncRep::Bytes(b) => out.extend(b),
                EncRep::Text(t) => {
                    for c in t {
                        if c >= 0x80 {
                            return Err(raises("UnicodeEncodeError", "surrogates not allowed"));
                        }
                        unit(&mut out, c as u16);
                    }
                }
            }
        } else if c >= 0x10000 {
            let v = c - 0x10000;
            unit(&mut out, 0xD800 | (v >> 10) as u16);
            unit(&mut out, 0xDC00 | (v & 0x3FF) as u16);
        } else {
            unit(&mut out, c as u16);
        }
    }
    Ok(out)
}

pub(super) fn utf32_encode(s: &[u32], endian: Option<Endian>, h: &Handler) -> R<Vec<u8>> {
    let order = endian.unwrap_or(Endian::Little);
    let mut out = Vec::with_capacity(s.len() * 4 + 4);
    let unit = |out: &mut Vec<u8>, u: u32| match order {
        Endian::Little => out.extend_from_slice(&u.to_le_bytes()),
        Endian::Big => out.extend_from_slice(&u.to_be_bytes()),
    };
    if endian.is_none() {
        unit(&mut out, 0xFEFF);
    }
    for (i, &c) in s.iter().enumerate() {
        if is_surrogate(c) {
            let rep = encode_error(h, Std::Utf32(order), s, i, i + 1)?;
            match rep {
                EncRep::Bytes(b) if !b.len().is_multiple_of(4) => {
                    return Err(raises("UnicodeEncodeError", "surrogates not allowed"));
                }
                EncRep::Bytes(b) => out.extend(b),
                EncRep::Text(t) => {
                    for c in t {
                        if c >= 0x80 {
                            return Err(raises("UnicodeEncodeError", "surrogates not allowed"));
                        }
                        unit(&mut out, c);
                    }
                }
            }
        } else {
            unit(&mut out, c);
        }
    }
    Ok(out)
}

/// RFC 2152 set D, set O and whitespace are written directly (`utf7_category` != 3).
fn utf7_encode_direct(c: u32) -> bool {
    match c {
        0x09 | 0x0A | 0x0D | 0x20 => true,
        0x21..=0x7D => c != u32::from(b'+') && c != u32::from(b'\\'),
        _ => false,
    }
}

/// `_PyUnicode_EncodeUTF7` (set O and whitespace direct).
pub(super) fn utf7_encode(s: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 2);
    let mut in_shift = false;
    let mut bits = 0u32;
    let mut buffer: u64 = 0;
    let to_b64 = |n: u64| B64.get((n & 0x3F) as usize).copied().unwrap_or(b'A');
    for &ch in s {
        if in_shift {
            if utf7_encode_direct(ch) {
                if bits > 0 {
                    out.push(to_b64(buffer << (6 - bits)));
                    buffer = 0;
                    bits = 0;
                }
                in_shift = false;
                if (ch < 0x80 && is_b64(ch as u8)) || ch == u32::from(b'-') {
                    out.push(b'-');
                }
                out.push(ch as u8);
                continue;
            }
        } else if ch == u32::from(b'+') {
            out.extend_from_slice(b"+-");
            continue;
        } else if utf7_encode_direct(ch) {
            out.push(ch as u8);
            continue;
        } else {
            out.push(b'+');
            in_shift = true;
        }
        let mut units = Vec::with_capacity(2);
        if ch >= 0x10000 {
            let v = ch - 0x10000;
            units.push(0xD800 | (v >> 10));
            units.push(0xDC00 | (v & 0x3FF));
        } else {
            units.push(ch);
        }
        for u in units {
            bits += 16;
            buffer = (buffer << 16) | u64::from(u);
            while bits >= 6 {
                out.push(to_b64(buffer >> (bits - 6)));
                bits -= 6;
            }
            buffer &= (1u64 << bits) - 1;
        }
    }
    if bits > 0 {
        out.push(to_b64(buffer << (6 - bits)));
    }
    if in_shift {
        out.push(b'-');
    }
    out
}

/// `_PyUnicode_EncodeUCS1` (latin-1: limit 256, ascii: 128).
pub(super) fn ucs1_encode(s: &[u32], limit: u32, h: &Handler) -> R<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0usize;
    while let Some(&c) = s.get(i) {
        if c < limit {
            out.push(c as u8);
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while s.get(end).is_some_and(|&c| c >= limit) {
            end += 1;
        }
        let rep = encode_error(h, Std::Other, s, i, end)?;
        encode_rep(rep, &mut out, |c| (c < limit).then(|| vec![c as u8]))?;
        i = end;
    }
    Ok(out)
}

/// `charmap_encode` with the inverse of a decoding table (`codecs.charmap_build`: the last byte
/// mapping to a character wins).
pub(super) fn charmap_encode(s: &[u32], table: &[u16; 256], h: &Handler) -> R<Vec<u8>> {
    let mut inverse: std::collections::HashMap<u32, u8> = std::collections::HashMap::new();
    for (b, &c) in table.iter().enumerate() {
        if c != 0xFFFE {
            inverse.insert(u32::from(c), b as u8);
        }
    }
    let enc = |c: u32| inverse.get(&c).map(|&b| vec![b]);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0usize;
    while let Some(&c) = s.get(i) {
        if let Some(b) = enc(c) {
            out.extend(b);
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while s.get(end).is_some_and(|&c| enc(c).is_none()) {
            end += 1;
        }
        let rep = encode_error(h, Std::Other, s, i, end)?;
        encode_rep(rep, &mut out, enc)?;
        i = end;
    }
    Ok(out)
}
