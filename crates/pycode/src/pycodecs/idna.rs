//! `punycode` (RFC 3492 as `Lib/encodings/punycode.py` implements it) and `idna`
//! (`Lib/encodings/idna.py`: ToASCII / ToUnicode without nameprep; a label that would need
//! it is unanalysable).

use super::{R, raises, unanalysable};

fn puny_t(j: u128, bias: u128) -> u128 {
    let res = (36 * (j + 1)).saturating_sub(bias);
    res.clamp(1, 26)
}

fn puny_adapt(mut delta: u128, first: bool, numchars: u128) -> u128 {
    delta = if first { delta / 700 } else { delta / 2 };
    delta += delta / numchars.max(1);
    let mut divisions = 0u128;
    while delta > 455 {
        delta /= 35;
        divisions += 36;
    }
    divisions + (36 * delta / (delta + 38))
}

/// Most work `punycode_decode` may do (insertions × length): it is quadratic in Python too.
const PUNY_WORK_MAX: usize = 50_000_000;

pub(super) fn punycode_decode(text: &[u8], errors: &str) -> R<Vec<u32>> {
    let strict = errors == "strict";
    let (base_bytes, ext_bytes) = match text.iter().rposition(|&b| b == b'-') {
        Some(p) => (
            text.get(..p).unwrap_or_default(),
            text.get(p + 1..).unwrap_or_default(),
        ),
        None => (&b""[..], text),
    };
    // str(text[:pos], "ascii", errors)
    let mut base: Vec<u32> = Vec::with_capacity(base_bytes.len());
    for &b in base_bytes {
        if b < 0x80 {
            base.push(u32::from(b));
        } else {
            match errors {
                "strict" => return Err(raises("UnicodeDecodeError", "not ASCII")),
                "replace" => base.push(0xFFFD),
                _ => {}
            }
        }
    }
    if ext_bytes.iter().any(|&b| b >= 0x80) {
        return Err(raises("UnicodeDecodeError", "not ASCII"));
    }
    let extended: Vec<u8> = ext_bytes.iter().map(u8::to_ascii_uppercase).collect();
    if extended.len().saturating_mul(base.len() + extended.len()) > PUNY_WORK_MAX {
        return Err(unanalysable("punycode input too large"));
    }
    // insertion_sort
    let mut ch: u128 = 0x80;
    let mut pos: u128 = 0;
    let mut first_pos = true; // pos = -1 initially
    let mut bias: u128 = 72;
    let mut extpos = 0usize;
    while extpos < extended.len() {
        // decode_generalized_number
        let mut result: u128 = 0;
        let mut w: u128 = 1;
        let mut j: u128 = 0;
        let mut p = extpos;
        let delta = loop {
            let Some(&c) = extended.get(p) else {
                if strict {
                    return Err(raises("UnicodeError", "incomplete punicode string"));
                }
                break None;
            };
            p += 1;
            let digit = match c {
                b'A'..=b'Z' => u128::from(c - b'A'),
                b'0'..=b'9' => u128::from(c) - 22,
                _ if strict => {
                    return Err(raises("UnicodeError", "Invalid extended code point"));
                }
                _ => break None,
            };
            let t = puny_t(j, bias);
            result = digit
                .checked_mul(w)
                .and_then(|x| x.checked_add(result))
                .ok_or_else(|| unanalysable("punycode number too large"))?;
            if digit < t {
                break Some(result);
            }
            w = w
                .checked_mul(36 - t)
                .ok_or_else(|| unanalysable("punycode number too large"))?;
            j += 1;
        };
        let Some(delta) = delta else {
            return Ok(base);
        };
        let n = base.len() as u128 + 1;
        let newpos = if first_pos {
            delta
        } else {
            pos.checked_add(delta + 1)
                .ok_or_else(|| unanalysable("punycode number too large"))?
        };
        first_pos = false;
        ch = ch
            .checked_add(newpos / n)
            .ok_or_else(|| unanalysable("punycode number too large"))?;
        if ch > 0x10FFFF {
            if strict {
                return Err(raises("UnicodeError", "Invalid character"));
            }
            ch = u128::from(b'?');
        }
        pos = newpos % n;
        let at = usize::try_from(pos).unwrap_or(base.len()).min(base.len());
        base.insert(at, ch as u32);
        bias = puny_adapt(delta, extpos == 0, base.len() as u128);
        extpos = p;
    }
    Ok(base)
}

const PUNY_DIGITS: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

pub(super) fn punycode_encode(text: &[u32]) -> Vec<u8> {
    let base: Vec<u8> = text
        .iter()
        .filter(|&&c| c < 128)
        .map(|&c| c as u8)
        .collect();
    let mut extended: Vec<u32> = text.iter().copied().filter(|&c| c >= 128).collect();
    extended.sort_unstable();
    extended.dedup();
    // insertion_unsort
    let mut deltas: Vec<u128> = Vec::new();
    let mut oldchar: u128 = 0x80;
    let mut oldindex: i128 = -1;
    for &c in &extended {
        let char_ = u128::from(c);
        let curlen = text.iter().filter(|&&x| x < c).count() as u128;
        let mut delta: u128 = (curlen + 1) * (char_ - oldchar);
        let mut index: i128 = -1;
        for &x in text {
            if x == c {
                index += 1;
                delta = (delta as i128 + index - oldindex) as u128;
                deltas.push(delta - 1);
                oldindex = index;
                delta = 0;
            } else if x < c {
                index += 1;
            }
        }
        oldchar = char_;
    }
    // generate_integers
    let mut ext = Vec::new();
    let mut bias: u128 = 72;
    for (points, &delta) in deltas.iter().enumerate() {
        let mut n = delta;
        let mut j = 0u128;
        loop {
            let t = puny_t(j, bias);
            if n < t {
                ext.push(PUNY_DIGITS.get(n as usize).copied().unwrap_or(b'?'));
                break;
            }
            let d = t + ((n - t) % (36 - t));
            ext.push(PUNY_DIGITS.get(d as usize).copied().unwrap_or(b'?'));
            n = (n - t) / (36 - t);
            j += 1;
        }
        bias = puny_adapt(delta, points == 0, (base.len() + points + 1) as u128);
    }
    if base.is_empty() {
        ext
    } else {
        let mut out = base;
        out.push(b'-');
        out.extend(ext);
        out
    }
}

pub(super) fn idna_decode(input: &[u8]) -> R<Vec<u32>> {
    let has_ace = input.windows(4).any(|w| w == b"xn--");
    if !has_ace && input.is_ascii() {
        return Ok(input.iter().map(|&b| u32::from(b)).collect());
    }
    let mut labels: Vec<&[u8]> = input.split(|&b| b == b'.').collect();
    let mut trailing_dot = false;
    if labels.last().is_some_and(|l| l.is_empty()) {
        trailing_dot = true;
        labels.pop();
    }
    let mut out: Vec<u32> = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        if i > 0 {
            out.push(u32::from(b'.'));
        }
        out.extend(idna_to_unicode(label)?);
    }
    if trailing_dot {
        out.push(u32::from(b'.'));
    }
    Ok(out)
}

/// `ToUnicode` for a bytes label.
fn idna_to_unicode(label: &[u8]) -> R<Vec<u32>> {
    let Some(label1) = label.strip_prefix(b"xn--") else {
        if !label.is_ascii() {
            return Err(raises("UnicodeDecodeError", "not ASCII"));
        }
        return Ok(label.iter().map(|&b| u32::from(b)).collect());
    };
    let result = punycode_decode(label1, "strict")?;
    // ToASCII(result): without nameprep only an ASCII result can be followed.
    if result.iter().any(|&c| c > 0x7F) {
        return Err(unanalysable("IDNA nameprep (stringprep) not reproduced"));
    }
    if result.is_empty() || result.len() >= 64 {
        return Err(raises("UnicodeError", "label empty or too long"));
    }
    let label2: Vec<u8> = result.iter().map(|&c| c as u8).collect();
    if label.to_ascii_lowercase() != label2 {
        return Err(raises("UnicodeError", "IDNA does not round-trip"));
    }
    Ok(result)
}

pub(super) fn idna_encode(s: &[u32]) -> R<Vec<u8>> {
    if s.iter().any(|&c| c > 0x7F) {
        return Err(unanalysable("IDNA nameprep (stringprep) not reproduced"));
    }
    let result: Vec<u8> = s.iter().map(|&c| c as u8).collect();
    let labels: Vec<&[u8]> = result.split(|&b| b == b'.').collect();
    if let Some((last, rest)) = labels.split_last() {
        if rest.iter().any(|l| l.is_empty() || l.len() >= 64) {
            return Err(raises("UnicodeError", "label empty or too long"));
        }
        if last.len() >= 64 {
            return Err(raises("UnicodeError", "label too long"));
        }
    }
    Ok(result)
}
