//! `unicode_escape` and `raw_unicode_escape`, each way (`\N{...}` names within Latin-1).

use super::errors::{Handler, Std, decode_error};
use super::{R, hex_val, unanalysable};
use crate::codec_tables::LATIN1_NAMES;

/// `_PyUnicode_DecodeUnicodeEscapeInternal` (raw: `_PyUnicode_DecodeRawUnicodeEscapeStateful`,
/// which only knows `\uXXXX` and `\UXXXXXXXX`). Bytes other than escapes are Latin-1.
pub(super) fn unicode_escape_decode(input: &[u8], raw: bool, h: &Handler) -> R<Vec<u32>> {
    let std = Std::Other;
    let end = input.len();
    let mut out = Vec::with_capacity(end);
    let mut s = 0usize;
    let at = |i: usize| input.get(i).copied();
    while let Some(c) = at(s) {
        s += 1;
        if c != b'\\' || (raw && s >= end) {
            out.push(u32::from(c));
            continue;
        }
        let startinpos = s - 1;
        let Some(c) = at(s) else {
            s = decode_error(
                h,
                std,
                input,
                startinpos,
                s,
                "\\ at end of string",
                &mut out,
            )?;
            continue;
        };
        s += 1;
        let (mut count, mut message) = match c {
            b'u' => (4, "truncated \\uXXXX escape"),
            b'U' => (8, "truncated \\UXXXXXXXX escape"),
            b'x' if !raw => (2, "truncated \\xXX escape"),
            _ if raw => {
                out.push(u32::from(b'\\'));
                out.push(u32::from(c));
                continue;
            }
            b'\n' => continue,
            b'\\' | b'\'' | b'"' => {
                out.push(u32::from(c));
                continue;
            }
            b'b' | b'f' | b't' | b'n' | b'r' | b'v' | b'a' => {
                out.push(match c {
                    b'b' => 8,
                    b'f' => 12,
                    b't' => 9,
                    b'n' => 10,
                    b'r' => 13,
                    b'v' => 11,
                    _ => 7,
                });
                continue;
            }
            b'0'..=b'7' => {
                let mut ch = u32::from(c - b'0');
                for _ in 0..2 {
                    match at(s) {
                        Some(d @ b'0'..=b'7') => {
                            ch = (ch << 3) + u32::from(d - b'0');
                            s += 1;
                        }
                        _ => break,
                    }
                }
                out.push(ch);
                continue;
            }
            b'N' => {
                let message = "malformed \\N character escape";
                if at(s) == Some(b'{') {
                    s += 1;
                    let start = s;
                    while at(s).is_some_and(|b| b != b'}') {
                        s += 1;
                    }
                    if s < end && s > start {
                        let name = input.get(start..s).unwrap_or_default();
                        s += 1;
                        match lookup_name(name) {
                            Some(ch) => {
                                out.push(ch);
                                continue;
                            }
                            None => {
                                return Err(unanalysable(
                                    "\\N{...} escape of a name outside Latin-1",
                                ));
                            }
                        }
                    }
                }
                s = decode_error(h, std, input, startinpos, s, message, &mut out)?;
                continue;
            }
            _ => {
                out.push(u32::from(b'\\'));
                out.push(u32::from(c));
                continue;
            }
        };
        let mut ch: u32 = 0;
        let mut ok = true;
        while count > 0 {
            match at(s).and_then(hex_val) {
                Some(v) => {
                    ch = (ch << 4) | v;
                    s += 1;
                    count -= 1;
                }
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok && ch > 0x10FFFF {
            message = if raw {
                "\\Uxxxxxxxx out of range"
            } else {
                "illegal Unicode character"
            };
            ok = false;
        }
        if ok {
            out.push(ch);
        } else {
            s = decode_error(h, std, input, startinpos, s, message, &mut out)?;
        }
    }
    Ok(out)
}

/// `\N{name}`: `unicodedata` `_getcode` (case-insensitive, aliases included), for the names of
/// U+0000..U+00FF only.
fn lookup_name(name: &[u8]) -> Option<u32> {
    let upper: Vec<u8> = name.iter().map(u8::to_ascii_uppercase).collect();
    let upper = std::str::from_utf8(&upper).ok()?;
    LATIN1_NAMES
        .binary_search_by(|(n, _)| (*n).cmp(upper))
        .ok()
        .and_then(|i| LATIN1_NAMES.get(i))
        .map(|(_, c)| u32::from(*c))
}

/// `PyUnicode_AsUnicodeEscapeString` / `PyUnicode_AsRawUnicodeEscapeString`.
pub(super) fn unicode_escape_encode(s: &[u32], raw: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for &c in s {
        if raw && c < 0x100 {
            out.push(c as u8);
        } else if c < 0x100 {
            match c {
                0x5C => out.extend_from_slice(b"\\\\"),
                0x20..=0x7E => out.push(c as u8),
                0x09 => out.extend_from_slice(b"\\t"),
                0x0A => out.extend_from_slice(b"\\n"),
                0x0D => out.extend_from_slice(b"\\r"),
                _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
            }
        } else if c < 0x10000 {
            out.extend_from_slice(format!("\\u{c:04x}").as_bytes());
        } else {
            out.extend_from_slice(format!("\\U{c:08x}").as_bytes());
        }
    }
    out
}
