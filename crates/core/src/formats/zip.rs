//! A zip directory reader that sees what every loader sees.
//!
//! Written by hand rather than with the `zip` crate because a scanner needs what a reader
//! hides: the `zip` crate maps names to one entry (Python's `zipfile` keeps the last of two
//! same-named members, PyTorch's reader the first), and cannot compare each central-directory
//! entry with its local header without reading member data. Here every central-directory
//! entry is kept (duplicates too), each local header is read and compared, and small archives
//! are also carved for local headers the directory does not list. Member data is read only on
//! request, with size and ratio limits.

use std::collections::HashMap;
use std::io::Read;

use crate::limits::Limits;
use crate::source::{ReadAt, read_range};

/// One member as the central directory (or a carved local header) describes it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Name in the central directory (or local header for carved entries).
    pub name: String,
    /// Name in the local header, if it could be read.
    pub local_name: Option<String>,
    /// Compression method.
    pub method: u16,
    /// General-purpose flags (central directory).
    pub flags: u16,
    /// General-purpose flags in the local header.
    pub local_flags: u16,
    /// CRC-32 from the central directory.
    pub crc: u32,
    /// Compressed size.
    pub compressed: u64,
    /// Uncompressed size.
    pub uncompressed: u64,
    /// Absolute offset of the member data.
    pub data_offset: u64,
    /// Whether the entry came from the central directory (false: carved local header).
    pub in_directory: bool,
    /// Unix mode from the external attributes (0 when not recorded).
    pub unix_mode: u32,
}

impl Entry {
    /// Whether the member is a symbolic link (unix mode S_IFLNK).
    pub fn is_symlink(&self) -> bool {
        self.unix_mode & 0o170000 == 0o120000
    }
}

/// An anomaly in the archive's structure, with its severity decided by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// The same name appears more than once.
    DuplicateName(String),
    /// Local header name differs from the central directory name.
    NameMismatch {
        /// Central directory name.
        central: String,
        /// Local header name.
        local: String,
    },
    /// Encryption / patched-data / strong-encryption flag set (zipfile refuses, torch reads).
    Flags {
        /// Member name.
        name: String,
        /// The flags.
        flags: u16,
    },
    /// Bytes before the first member.
    Prefix(u64),
    /// A local header not listed in the central directory.
    Hidden(String),
    /// No central directory found; members recovered from local headers.
    NoDirectory,
    /// CRC-32 of the data differs from the recorded one.
    Crc(String),
}

/// The archive's members and anomalies.
#[derive(Debug, Default)]
pub struct ZipView {
    /// Every member, directory order first, then carved ones.
    pub entries: Vec<Entry>,
    /// Structural anomalies.
    pub anomalies: Vec<Anomaly>,
}

/// Errors reading a zip.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    /// I/O.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Structure.
    #[error("malformed zip: {0}")]
    Malformed(String),
    /// A limit was crossed.
    #[error("limit exceeded: {0}")]
    Limit(&'static str),
    /// A compression method not supported.
    #[error("unsupported compression method {0}")]
    Unsupported(u16),
}

const LOCAL_SIG: &[u8; 4] = b"PK\x03\x04";
const CENTRAL_SIG: &[u8; 4] = b"PK\x01\x02";
const EOCD_SIG: &[u8; 4] = b"PK\x05\x06";
const EOCD64_SIG: &[u8; 4] = b"PK\x06\x06";
const EOCD64_LOC_SIG: &[u8; 4] = b"PK\x06\x07";

/// Archives up to this size are carved for local headers the directory does not list.
const CARVE_MAX_BYTES: u64 = 64 << 20;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn bad(s: &str) -> ZipError {
    ZipError::Malformed(s.to_string())
}

/// Whether the data starts like a zip (local header, or empty archive).
pub fn sniff(head: &[u8]) -> bool {
    head.starts_with(LOCAL_SIG) || head.starts_with(EOCD_SIG)
}

/// Whether the data ends with a zip end-of-central-directory record (how Python's
/// `zipfile.is_zipfile` decides: self-extracting archives and junk prefixes are zips too).
pub fn has_directory(src: &dyn ReadAt) -> bool {
    matches!(find_eocd(src), Ok(Some(_)))
}

/// Read the directory and local headers of the zip in `src`.
pub fn read(src: &dyn ReadAt, limits: &Limits) -> Result<ZipView, ZipError> {
    let size = src.size();
    let mut view = ZipView::default();
    match find_eocd(src)? {
        Some((eocd_pos, eocd)) => read_directory(src, eocd_pos, &eocd, limits, &mut view)?,
        None => view.anomalies.push(Anomaly::NoDirectory),
    }
    // Carve small archives for local headers the directory does not list (or all of them, if
    // there is no directory).
    if size <= CARVE_MAX_BYTES || view.entries.is_empty() {
        carve(src, limits, &mut view)?;
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for e in &view.entries {
        *counts.entry(e.name.as_str()).or_default() += 1;
    }
    let mut dups: Vec<String> = counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(k, _)| k.to_string())
        .collect();
    dups.sort();
    view.anomalies
        .extend(dups.into_iter().map(Anomaly::DuplicateName));
    Ok(view)
}

fn find_eocd(src: &dyn ReadAt) -> Result<Option<(u64, Vec<u8>)>, ZipError> {
    let size = src.size();
    let tail_len = size.min(22 + 65_535);
    let start = size - tail_len;
    let tail = read_range(src, start, tail_len)?;
    let Some(pos) = tail.windows(4).rposition(|w| w == EOCD_SIG) else {
        return Ok(None);
    };
    let rec = tail.get(pos..).unwrap_or_default().to_vec();
    if rec.len() < 22 {
        return Ok(None);
    }
    Ok(Some((start + pos as u64, rec)))
}

fn read_directory(
    src: &dyn ReadAt,
    eocd_pos: u64,
    eocd: &[u8],
    limits: &Limits,
    view: &mut ZipView,
) -> Result<(), ZipError> {
    let mut count = u64::from(u16_at(eocd, 10).ok_or_else(|| bad("short EOCD"))?);
    let mut cd_size = u64::from(u32_at(eocd, 12).ok_or_else(|| bad("short EOCD"))?);
    let mut cd_offset = u64::from(u32_at(eocd, 16).ok_or_else(|| bad("short EOCD"))?);
    let mut cd_end = eocd_pos;
    // ZIP64: the locator sits just before the EOCD.
    if eocd_pos >= 20 {
        let loc = read_range(src, eocd_pos - 20, 20)?;
        if loc.starts_with(EOCD64_LOC_SIG) {
            let recorded = u64_at(&loc, 8).ok_or_else(|| bad("short zip64 locator"))?;
            // The record normally sits right before the locator; the recorded offset is wrong
            // by the prefix length when bytes were prepended.
            let adjacent = eocd_pos.saturating_sub(20 + 56);
            let rec_off = if read_range(src, adjacent, 4)?.starts_with(EOCD64_SIG) {
                adjacent
            } else {
                recorded
            };
            let rec = read_range(src, rec_off, 56)?;
            if rec.starts_with(EOCD64_SIG) {
                count = u64_at(&rec, 32).ok_or_else(|| bad("short zip64 EOCD"))?;
                cd_size = u64_at(&rec, 40).ok_or_else(|| bad("short zip64 EOCD"))?;
                cd_offset = u64_at(&rec, 48).ok_or_else(|| bad("short zip64 EOCD"))?;
                cd_end = rec_off;
            }
        }
    }
    if cd_size > limits.max_zip_directory_bytes {
        return Err(ZipError::Limit("max_zip_directory_bytes"));
    }
    if count > limits.max_members as u64 {
        return Err(ZipError::Limit("max_members"));
    }
    // Where the directory really is; a difference from the recorded offset is a prefix
    // (self-extracting stubs, junk) that shifts every offset, as zipfile assumes.
    let actual = cd_end
        .checked_sub(cd_size)
        .ok_or_else(|| bad("central directory larger than the file"))?;
    let prefix = actual.saturating_sub(cd_offset);
    let cd = read_range(src, actual, cd_size)?;
    let mut p = 0usize;
    let mut n = 0u64;
    while p + 46 <= cd.len() && n < count {
        let Some(rec) = cd.get(p..) else { break };
        if !rec.starts_with(CENTRAL_SIG) {
            return Err(bad("bad central directory signature"));
        }
        let g16 = |at| u16_at(rec, at).ok_or_else(|| bad("short central entry"));
        let g32 = |at| u32_at(rec, at).ok_or_else(|| bad("short central entry"));
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
        let name_bytes = rec
            .get(46..46 + name_len)
            .ok_or_else(|| bad("central name out of bounds"))?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        let extra = rec
            .get(46 + name_len..46 + name_len + extra_len)
            .ok_or_else(|| bad("central extra out of bounds"))?;
        // ZIP64 extended information: only the fields that overflowed are present, in order.
        let mut e = 0usize;
        while e + 4 <= extra.len() {
            let id = u16_at(extra, e).unwrap_or(0);
            let len = usize::from(u16_at(extra, e + 2).unwrap_or(0));
            if id == 1 {
                let mut q = e + 4;
                if uncompressed == 0xFFFF_FFFF {
                    uncompressed = u64_at(extra, q).unwrap_or(uncompressed);
                    q += 8;
                }
                if compressed == 0xFFFF_FFFF {
                    compressed = u64_at(extra, q).unwrap_or(compressed);
                    q += 8;
                }
                if local_off == 0xFFFF_FFFF {
                    local_off = u64_at(extra, q).unwrap_or(local_off);
                }
            }
            e += 4 + len;
        }
        let local_at = local_off.saturating_add(prefix);
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
        };
        let lh = read_range(src, local_at, 30)?;
        if lh.len() == 30 && lh.starts_with(LOCAL_SIG) {
            let lname_len = u64::from(u16_at(&lh, 26).unwrap_or(0));
            let lextra_len = u64::from(u16_at(&lh, 28).unwrap_or(0));
            entry.local_flags = u16_at(&lh, 6).unwrap_or(0);
            let lname = read_range(src, local_at + 30, lname_len)?;
            entry.local_name = Some(String::from_utf8_lossy(&lname).into_owned());
            entry.data_offset = local_at + 30 + lname_len + lextra_len;
        } else {
            return Err(ZipError::Malformed(format!(
                "local header of {} not found at offset {local_at}",
                entry.name
            )));
        }
        view.entries.push(entry);
        p += 46 + name_len + extra_len + comment_len;
        n += 1;
    }
    if prefix > 0 {
        view.anomalies.push(Anomaly::Prefix(prefix));
    }
    for e in &view.entries {
        if let Some(l) = &e.local_name
            && *l != e.name
        {
            view.anomalies.push(Anomaly::NameMismatch {
                central: e.name.clone(),
                local: l.clone(),
            });
        }
        let f = e.flags | e.local_flags;
        if f & (0x1 | 0x20 | 0x40) != 0 {
            view.anomalies.push(Anomaly::Flags {
                name: e.name.clone(),
                flags: f,
            });
        }
    }
    Ok(())
}

/// Find local headers by signature (small archives only) and add those the directory missed.
fn carve(src: &dyn ReadAt, limits: &Limits, view: &mut ZipView) -> Result<(), ZipError> {
    let size = src.size().min(CARVE_MAX_BYTES);
    let data = read_range(src, 0, size)?;
    let known: std::collections::HashSet<u64> =
        view.entries.iter().map(|e| e.data_offset).collect();
    let mut i = 0usize;
    while let Some(found) = data
        .get(i..)
        .and_then(|d| d.windows(4).position(|w| w == LOCAL_SIG))
    {
        let at = i + found;
        i = at + 4;
        let Some(h) = data.get(at..at + 30) else {
            break;
        };
        let flags = u16_at(h, 6).unwrap_or(0);
        let method = u16_at(h, 8).unwrap_or(0);
        let crc = u32_at(h, 14).unwrap_or(0);
        let compressed = u64::from(u32_at(h, 18).unwrap_or(0));
        let uncompressed = u64::from(u32_at(h, 22).unwrap_or(0));
        let name_len = usize::from(u16_at(h, 26).unwrap_or(0));
        let extra_len = usize::from(u16_at(h, 28).unwrap_or(0));
        let Some(name) = data.get(at + 30..at + 30 + name_len) else {
            continue;
        };
        let data_offset = (at + 30 + name_len + extra_len) as u64;
        if known.contains(&data_offset) {
            continue;
        }
        if view.entries.len() >= limits.max_members {
            return Err(ZipError::Limit("max_members"));
        }
        let name = String::from_utf8_lossy(name).into_owned();
        // Sizes are unknown when a data descriptor follows (flag 0x8): skip those carvings.
        if flags & 0x8 != 0 && compressed == 0 {
            continue;
        }
        if !view.entries.is_empty() {
            view.anomalies.push(Anomaly::Hidden(name.clone()));
        }
        view.entries.push(Entry {
            local_name: Some(name.clone()),
            name,
            method,
            flags,
            local_flags: flags,
            crc,
            compressed,
            uncompressed,
            data_offset,
            in_directory: false,
            unix_mode: 0,
        });
    }
    Ok(())
}

/// Read up to `max` bytes of a member's uncompressed data, the way PyTorch does: CRCs and
/// encryption flags are ignored (the caller reports them). Returns the bytes and whether the
/// member was longer than `max`.
pub fn read_member(
    src: &dyn ReadAt,
    e: &Entry,
    max: u64,
    limits: &Limits,
) -> Result<(Vec<u8>, bool), ZipError> {
    match e.method {
        0 => {
            let take = e.compressed.min(max);
            let data = read_range(src, e.data_offset, take)?;
            Ok((data, e.compressed > max))
        }
        8 => {
            if e.compressed > limits.max_member_bytes {
                return Err(ZipError::Limit("max_member_bytes"));
            }
            let raw = read_range(src, e.data_offset, e.compressed)?;
            let cap = max.min((e.compressed.max(1)).saturating_mul(limits.max_ratio));
            let mut out = Vec::new();
            let mut dec = flate2::read::DeflateDecoder::new(raw.as_slice()).take(cap + 1);
            dec.read_to_end(&mut out)?;
            let over = out.len() as u64 > cap;
            if over && cap < max {
                return Err(ZipError::Limit("max_ratio"));
            }
            out.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
            Ok((out, over))
        }
        m => Err(ZipError::Unsupported(m)),
    }
}

/// CRC-32 of `data` (as zip computes it).
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(data);
    c.sum()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Build a stored zip by hand: (name, data) pairs, optional local-name override.
    pub(crate) fn build(members: &[(&str, &[u8], Option<&str>)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data, local) in members {
            let off = out.len() as u32;
            let lname = local.unwrap_or(name);
            let crc = crc32(data);
            out.extend_from_slice(LOCAL_SIG);
            out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(lname.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(lname.as_bytes());
            out.extend_from_slice(data);
            central.extend_from_slice(CENTRAL_SIG);
            central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend_from_slice(&crc.to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&off.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_off = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(EOCD_SIG);
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_off.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn duplicates_and_mismatch_are_seen() {
        let z = build(&[
            ("a/data.pkl", b"one", None),
            ("a/data.pkl", b"two", None),
            ("b", b"x", Some("c")),
        ]);
        let v = read(&z, &Limits::default()).unwrap_or_default();
        assert_eq!(v.entries.len(), 3);
        assert!(
            v.anomalies
                .contains(&Anomaly::DuplicateName("a/data.pkl".into()))
        );
        assert!(
            v.anomalies
                .iter()
                .any(|a| matches!(a, Anomaly::NameMismatch { .. }))
        );
        let (d, _) = read_member(&z, &v.entries[1], 10, &Limits::default()).unwrap_or_default();
        assert_eq!(d, b"two");
    }

    #[test]
    fn prefix_and_no_directory() {
        let mut z = b"JUNKJUNK".to_vec();
        z.extend(build(&[("x.pkl", b"abc", None)]));
        let v = read(&z, &Limits::default()).unwrap_or_default();
        assert!(v.anomalies.contains(&Anomaly::Prefix(8)));
        assert_eq!(v.entries.len(), 1);
        // Cut the directory off: the member is carved.
        let z = build(&[("x.pkl", b"abc", None)]);
        let cut = z[..30 + 5 + 3].to_vec();
        let v = read(&cut, &Limits::default()).unwrap_or_default();
        assert!(v.anomalies.contains(&Anomaly::NoDirectory));
        assert_eq!(v.entries.len(), 1);
    }

    #[test]
    fn member_limit_holds() {
        let z = build(&[("a", b"1", None), ("b", b"2", None), ("c", b"3", None)]);
        let l = Limits {
            max_members: 2,
            ..Limits::default()
        };
        assert!(matches!(read(&z, &l), Err(ZipError::Limit("max_members"))));
    }

    #[test]
    fn garbage_does_not_panic() {
        for n in 0..200u8 {
            let mut z = build(&[("a/data.pkl", b"hello", None)]);
            let len = z.len();
            if let Some(b) = z.get_mut(usize::from(n) % len) {
                *b ^= 0xA5;
            }
            let _ = read(&z, &Limits::default());
        }
    }
}
