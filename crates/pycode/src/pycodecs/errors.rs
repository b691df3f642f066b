//! The codec error handlers of `Python/codecs.c` (`strict`, `ignore`, `replace`,
//! `backslashreplace`, `surrogateescape`, `surrogatepass`, `xmlcharrefreplace`,
//! `namereplace`): what each gives for the bytes or characters a codec could not handle.
//! A handler that is not built in is unanalysable.

use super::{Endian, R, push_cp, raises, unanalysable};
use crate::codec_tables::LATIN1_PRIMARY;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Handler {
    Strict,
    Ignore,
    Replace,
    BackslashReplace,
    SurrogateEscape,
    SurrogatePass,
    XmlCharRefReplace,
    NameReplace,
    /// Not a built-in handler: Python looks it up when the first error happens (it may have
    /// been registered with `codecs.register_error`).
    Other,
}

pub(super) fn handler(errors: &str) -> Handler {
    match errors {
        "strict" => Handler::Strict,
        "ignore" => Handler::Ignore,
        "replace" => Handler::Replace,
        "backslashreplace" => Handler::BackslashReplace,
        "surrogateescape" => Handler::SurrogateEscape,
        "surrogatepass" => Handler::SurrogatePass,
        "xmlcharrefreplace" => Handler::XmlCharRefReplace,
        "namereplace" => Handler::NameReplace,
        _ => Handler::Other,
    }
}

/// The encodings `surrogatepass` knows (`get_standard_encoding`), with their unit size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Std {
    Utf8,
    Utf16(Endian),
    Utf32(Endian),
    Other,
}

/// Call the decode error handler for `input[start..end]`; returns where decoding resumes.
pub(super) fn decode_error(
    h: &Handler,
    std: Std,
    input: &[u8],
    start: usize,
    end: usize,
    reason: &str,
    out: &mut Vec<u32>,
) -> R<usize> {
    let err = || raises("UnicodeDecodeError", reason.to_string());
    match h {
        Handler::Strict => Err(err()),
        Handler::Ignore => Ok(end),
        Handler::Replace => {
            out.push(0xFFFD);
            Ok(end)
        }
        Handler::BackslashReplace => {
            for &b in input.get(start..end).unwrap_or_default() {
                push_ascii(out, &format!("\\x{b:02x}"));
            }
            Ok(end)
        }
        // PyCodec_SurrogateEscapeErrors: at most 4 bytes, all >= 128, else the error stands.
        Handler::SurrogateEscape => {
            let mut n = 0usize;
            for &b in input.get(start..end).unwrap_or_default().iter().take(4) {
                if b < 128 {
                    break;
                }
                out.push(0xDC00 + u32::from(b));
                n += 1;
            }
            if n == 0 { Err(err()) } else { Ok(start + n) }
        }
        // PyCodec_SurrogatePassErrors: one encoded surrogate at `start`.
        Handler::SurrogatePass => {
            let p = input.get(start..).unwrap_or_default();
            let g = |i: usize| u32::from(p.get(i).copied().unwrap_or(0));
            let (ch, len) = match std {
                Std::Utf8 if p.len() >= 3 => {
                    if (g(0) & 0xF0) == 0xE0 && (g(1) & 0xC0) == 0x80 && (g(2) & 0xC0) == 0x80 {
                        (
                            ((g(0) & 0x0F) << 12) | ((g(1) & 0x3F) << 6) | (g(2) & 0x3F),
                            3,
                        )
                    } else {
                        (0, 3)
                    }
                }
                Std::Utf16(Endian::Little) if p.len() >= 2 => ((g(1) << 8) | g(0), 2),
                Std::Utf16(Endian::Big) if p.len() >= 2 => ((g(0) << 8) | g(1), 2),
                Std::Utf32(Endian::Little) if p.len() >= 4 => {
                    ((g(3) << 24) | (g(2) << 16) | (g(1) << 8) | g(0), 4)
                }
                Std::Utf32(Endian::Big) if p.len() >= 4 => {
                    ((g(0) << 24) | (g(1) << 16) | (g(2) << 8) | g(3), 4)
                }
                _ => (0, 0),
            };
            if (0xD800..=0xDFFF).contains(&ch) {
                out.push(ch);
                Ok(start + len)
            } else {
                Err(err())
            }
        }
        Handler::XmlCharRefReplace | Handler::NameReplace => Err(raises(
            "TypeError",
            "don't know how to handle UnicodeDecodeError in error callback",
        )),
        Handler::Other => Err(unanalysable(
            "error handler that is not built in (it may be registered at run time)",
        )),
    }
}

/// The replacement an encode error handler gives for `s[start..end]`.
pub(super) enum EncRep {
    /// Text, to be encoded by the codec itself.
    Text(Vec<u32>),
    /// Bytes, copied as they are.
    Bytes(Vec<u8>),
}

pub(super) fn encode_error(
    h: &Handler,
    std: Std,
    s: &[u32],
    start: usize,
    end: usize,
) -> R<EncRep> {
    let err = || raises("UnicodeEncodeError", "character cannot be encoded");
    let range = s.get(start..end).unwrap_or_default();
    match h {
        Handler::Strict => Err(err()),
        Handler::Ignore => Ok(EncRep::Text(Vec::new())),
        Handler::Replace => Ok(EncRep::Text(vec![u32::from(b'?'); range.len()])),
        Handler::BackslashReplace => {
            let mut out = Vec::new();
            for &c in range {
                push_ascii(&mut out, &backslash_escape(c));
            }
            Ok(EncRep::Text(out))
        }
        Handler::XmlCharRefReplace => {
            let mut out = Vec::new();
            for &c in range {
                push_ascii(&mut out, &format!("&#{c};"));
            }
            Ok(EncRep::Text(out))
        }
        Handler::NameReplace => {
            let mut out = Vec::new();
            for &c in range {
                if c > 0xFF {
                    return Err(unanalysable("namereplace of a character above U+00FF"));
                }
                match LATIN1_PRIMARY.iter().find(|(v, _)| u32::from(*v) == c) {
                    Some((_, n)) => push_ascii(&mut out, &format!("\\N{{{n}}}")),
                    None => push_ascii(&mut out, &backslash_escape(c)),
                }
            }
            Ok(EncRep::Text(out))
        }
        Handler::SurrogateEscape => {
            let mut out = Vec::new();
            for &c in range {
                if !(0xDC80..=0xDCFF).contains(&c) {
                    return Err(err());
                }
                out.push((c - 0xDC00) as u8);
            }
            Ok(EncRep::Bytes(out))
        }
        Handler::SurrogatePass => {
            let mut out = Vec::new();
            for &c in range {
                if !(0xD800..=0xDFFF).contains(&c) {
                    return Err(err());
                }
                match std {
                    Std::Utf8 => {
                        push_cp(&mut out, c);
                    }
                    Std::Utf16(Endian::Little) => out.extend_from_slice(&(c as u16).to_le_bytes()),
                    Std::Utf16(Endian::Big) => out.extend_from_slice(&(c as u16).to_be_bytes()),
                    Std::Utf32(Endian::Little) => out.extend_from_slice(&c.to_le_bytes()),
                    Std::Utf32(Endian::Big) => out.extend_from_slice(&c.to_be_bytes()),
                    Std::Other => return Err(err()),
                }
            }
            Ok(EncRep::Bytes(out))
        }
        Handler::Other => Err(unanalysable(
            "error handler that is not built in (it may be registered at run time)",
        )),
    }
}

fn backslash_escape(c: u32) -> String {
    if c < 0x100 {
        format!("\\x{c:02x}")
    } else if c < 0x10000 {
        format!("\\u{c:04x}")
    } else {
        format!("\\U{c:08x}")
    }
}

fn push_ascii(out: &mut Vec<u32>, s: &str) {
    out.extend(s.bytes().map(u32::from));
}

/// Encode the replacement text of an error handler with `enc`; unencodable characters in it
/// raise (as CPython's encoders do).
pub(super) fn encode_rep(
    rep: EncRep,
    out: &mut Vec<u8>,
    enc: impl Fn(u32) -> Option<Vec<u8>>,
) -> R<()> {
    match rep {
        EncRep::Bytes(b) => out.extend(b),
        EncRep::Text(t) => {
            for c in t {
                match enc(c) {
                    Some(b) => out.extend(b),
                    None => {
                        return Err(raises("UnicodeEncodeError", "replacement not encodable"));
                    }
                }
            }
        }
    }
    Ok(())
}
