//! The central directory's entries as one loader reads them (`zipfile` or miniz: names,
//! sizes, ZIP64 extras), each compared with its local header.
//!
//! Must not: locate the directory (`locate.rs`) or judge anything.

use super::locate::Dir;
use super::{CENTRAL_SIG, Entry, LOCAL_SIG, Origin, ZipError, bad, u16_at, u32_at, u64_at};
use crate::limits::Limits;
use crate::source::{ReadAt, read_range};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reader {
    Zipfile,
    Miniz,
}

/// Code page 437, the name encoding `zipfile` assumes without the UTF-8 flag.
const CP437_HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}";

pub(super) fn decode_name(raw: &[u8], flags: u16, reader: Reader) -> Result<String, ZipError> {
    if reader == Reader::Miniz {
        return Ok(String::from_utf8_lossy(raw).into_owned());
    }
    if flags & 0x800 != 0 {
        return std::str::from_utf8(raw)
            .map(str::to_string)
            .map_err(|_| bad("member name is not UTF-8"));
    }
    Ok(raw
        .iter()
        .map(|&b| {
            if b < 0x80 {
                char::from(b)
            } else {
                CP437_HIGH.chars().nth(usize::from(b - 0x80)).unwrap_or('?')
            }
        })
        .collect())
}

/// Read the central directory at `dir` as `reader` does, and each member's local header.
pub(super) fn read_directory(
    src: &dyn ReadAt,
    dir: &Dir,
    reader: Reader,
    limits: &Limits,
    missing: &mut Vec<(String, u64)>,
) -> Result<Vec<Entry>, ZipError> {
    if dir.size > limits.max_zip_directory_bytes {
        return Err(ZipError::Limit("max_zip_directory_bytes"));
    }
    if dir.count.is_some_and(|c| c > limits.max_members as u64) {
        return Err(ZipError::Limit("max_members"));
    }
    let cd = read_range(src, dir.start, dir.size)?;
    let archive = src.size();
    let mut entries = Vec::new();
    let mut p = 0usize;
    let mut n = 0u64;
    loop {
        match (reader, dir.count) {
            (Reader::Miniz, Some(c)) if n >= c => break,
            (Reader::Zipfile, _) if p as u64 >= dir.size => break,
            _ => {}
        }
        if entries.len() + missing.len() >= limits.max_members {
            return Err(ZipError::Limit("max_members"));
        }
        let rec = cd.get(p..).unwrap_or_default();
        if rec.len() < 46 {
            return Err(bad("truncated central directory"));
        }
        if !rec.starts_with(CENTRAL_SIG) {
            return Err(bad("bad central directory signature"));
        }
        let g16 = |at| u16_at(rec, at).ok_or_else(|| bad("short central entry"));
        let g32 = |at| u32_at(rec, at).ok_or_else(|| bad("short central entry"));
        let extract_version = g16(6)? & 0xFF;
        let flags = g16(8)?;
        let method = g16(10)?;
        let crc = g32(16)?;
        let mut compressed = u64::from(g32(20)?);
        let mut uncompressed = u64::from(g32(24)?);
        let name_len = usize::from(g16(28)?);
        let extra_len = usize::from(g16(30)?);
        let comment_len = usize::from(g16(32)?);
        let mut local_off = u64::from(g32(42)?);
        let unix_mode = g32(38)? >> 16;
        // Short reads are silent in zipfile (BytesIO) and checked in miniz.
        let name_bytes = rec
            .get(46..(46 + name_len).min(rec.len()))
            .unwrap_or_default();
        let extra = rec
            .get((46 + name_len).min(rec.len())..(46 + name_len + extra_len).min(rec.len()))
            .unwrap_or_default();
        if reader == Reader::Miniz && 46 + name_len + extra_len + comment_len > rec.len() {
            return Err(bad("central entry out of bounds"));
        }
        if reader == Reader::Zipfile && extract_version > 63 {
            return Err(bad("zip file version not supported"));
        }
        let full_name = decode_name(name_bytes, flags, reader)?;
        // ZipInfo cuts the name at a NUL byte.
        let name = match (reader, full_name.find('\0')) {
            (Reader::Zipfile, Some(i)) => full_name.get(..i).unwrap_or_default().to_string(),
            _ => full_name.clone(),
        };
        // ZIP64 extended information (`ZipInfo._decodeExtra`): only the fields that
        // overflowed are present, in order.
        let mut e = 0usize;
        while e + 4 <= extra.len() {
            let id = u16_at(extra, e).unwrap_or(0);
            let len = usize::from(u16_at(extra, e + 2).unwrap_or(0));
            if e + 4 + len > extra.len() {
                if reader == Reader::Zipfile {
                    return Err(bad("corrupt extra field"));
                }
                break;
            }
            if id == 1 {
                let data = extra.get(e + 4..e + 4 + len).unwrap_or_default();
                let mut q = 0usize;
                let mut take = |v: &mut u64| -> Result<(), ZipError> {
                    match u64_at(data, q) {
                        Some(x) => {
                            *v = x;
                            q += 8;
                            Ok(())
                        }
                        None => Err(bad("corrupt zip64 extra field")),
                    }
                };
                if uncompressed == 0xFFFF_FFFF
                    || (reader == Reader::Zipfile && uncompressed == u64::MAX)
                {
                    take(&mut uncompressed)?;
                }
                if compressed == 0xFFFF_FFFF {
                    take(&mut compressed)?;
                }
                if local_off == 0xFFFF_FFFF {
                    take(&mut local_off)?;
                }
                if reader == Reader::Miniz {
                    break;
                }
            }
            e += 4 + len;
        }
        if reader == Reader::Miniz {
            if flags & 0x2000 != 0 {
                return Err(bad("masked local directory"));
            }
            if compressed != 0xFFFF_FFFF
                && local_off.saturating_add(30).saturating_add(compressed) > archive
            {
                return Err(bad("member past the end of the archive"));
            }
        }
        let local_at = u64::try_from(i128::from(local_off) + dir.concat).map_err(|_| {
            ZipError::Malformed(format!(
                "local header of {name} before the start of the file"
            ))
        })?;
        let mut entry = Entry {
            name,
            local_name: None,
            method,
            flags,
            local_flags: flags,
            crc,
            compressed,
            uncompressed,
            data_offset: 0,
            in_directory: true,
            unix_mode,
            origin: Origin::Directory,
            header_offset: local_at,
        };
        let lh = read_range(src, local_at, 30)?;
        if lh.len() == 30 && lh.starts_with(LOCAL_SIG) {
            let lname_len = u64::from(u16_at(&lh, 26).unwrap_or(0));
            let lextra_len = u64::from(u16_at(&lh, 28).unwrap_or(0));
            entry.local_flags = u16_at(&lh, 6).unwrap_or(0);
            let lname = read_range(src, local_at + 30, lname_len)?;
            // ZipFile.open compares the decoded local name with the directory's.
            let local = decode_name(&lname, entry.local_flags, reader)
                .unwrap_or_else(|_| String::from_utf8_lossy(&lname).into_owned());
            entry.local_name = Some(if local == full_name {
                entry.name.clone()
            } else {
                local
            });
            entry.data_offset = local_at + 30 + lname_len + lextra_len;
        } else {
            // Only this member is unreadable (`ZipFile.open` and miniz's extract check the
            // local header); the others still load.
            missing.push((entry.name, local_at));
            p += 46 + name_len + extra_len + comment_len;
            n += 1;
            continue;
        }
        entries.push(entry);
        p += 46 + name_len + extra_len + comment_len;
        n += 1;
    }
    Ok(entries)
}
