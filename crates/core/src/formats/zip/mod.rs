//! A zip directory reader that sees what every loader sees.
//!
//! Written by hand rather than with the `zip` crate because a scanner needs what a reader
//! hides: the `zip` crate maps names to one entry (Python's `zipfile` keeps the last of two
//! same-named members, PyTorch's reader the first), and cannot compare each central-directory
//! entry with its local header without reading member data. Here every central-directory
//! entry is kept (duplicates too), each local header is read and compared, and small archives
//! are also carved for local headers the directory does not list. Member data is read only on
//! request, with size and ratio limits.
//!
//! Two loaders, two algorithms, both reproduced:
//! - Python's `zipfile` (`_EndRecData`, `_EndRecData64`, `_RealGetContents`, `ZipFile.open`):
//!   the ZIP64 end record only right before its locator, and `concat = eocd_pos - cd_size -
//!   cd_offset` (negative too) added to every local-header offset. `numpy.load`, Keras and
//!   `pandas.read_pickle` read this view.
//! - miniz as PyTorch uses it (`mz_zip_reader_locate_header_sig`,
//!   `mz_zip_reader_read_central_dir`): the ZIP64 record where the locator says, offsets
//!   taken literally. `torch.load` reads this view.
//!
//! When both read a directory and see different members, both are analysed and the
//! disagreement is an anomaly.

use std::collections::HashMap;

use crate::limits::Limits;
use crate::source::{ReadAt, read_range};

/// Which reading produced an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The central directory as `zipfile` reads it.
    Directory,
    /// The central directory as PyTorch's miniz reads it, where that differs.
    Torch,
    /// A local header no directory lists.
    Carved,
    /// Bytes outside every member (before the first local header, after the end record).
    Outside,
}

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
    /// Whether the entry came from a central directory (false: carved or outside).
    pub in_directory: bool,
    /// Unix mode from the external attributes (0 when not recorded).
    pub unix_mode: u32,
    /// Which reading produced it.
    pub origin: Origin,
    /// Offset of its local header (for carved and outside entries: of the data).
    pub header_offset: u64,
}

impl Entry {
    /// Whether the member is a symbolic link (unix mode S_IFLNK).
    pub fn is_symlink(&self) -> bool {
        self.unix_mode & 0o170000 == 0o120000
    }

    /// Whether the member is encrypted (zipfile needs a password, miniz refuses it).
    pub fn is_encrypted(&self) -> bool {
        self.in_directory && self.flags & 0x1 != 0
    }
}

/// An anomaly in the archive's structure, with its severity decided by the caller.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
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
    /// Patched-data / strong-encryption flag set (zipfile refuses, torch refuses).
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
    /// An encrypted member: its data cannot be analysed.
    Encrypted(String),
    /// `zipfile` and PyTorch's reader see different members.
    ReadersDisagree(String),
    /// A directory entry whose local header is not where the loader looks: no loader reads it.
    NoLocalHeader {
        /// Member name.
        name: String,
        /// Where the loader looks.
        offset: u64,
    },
    /// Bytes after the end-of-central-directory record and its declared comment.
    Trailing {
        /// Where they start.
        offset: u64,
        /// How many.
        len: u64,
    },
}

/// A zip archive's structure: the facts the rules judge (see [`crate::facts`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ZipFacts {
    /// Where the views of the archive disagree, in the order found.
    pub anomalies: Vec<Anomaly>,
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
const EOCD_LEN: u64 = 22;
const EOCD64_LEN: u64 = 56;
const LOCATOR_LEN: u64 = 20;

/// Archives up to this size are carved for local headers the directory does not list.
const CARVE_MAX_BYTES: u64 = 64 << 20;

/// Name given to the bytes after the end-of-central-directory record.
pub const TRAILING_NAME: &str = "<after end of central directory>";
/// Name given to the bytes before the first local header.
pub const PREFIX_NAME: &str = "<before first member>";

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

/// The directory location a loader computed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dir {
    /// Where the central directory is read.
    start: u64,
    /// Its size.
    size: u64,
    /// Added to every local-header offset.
    concat: i128,
    /// Entry count the loader trusts (miniz), or `None` (zipfile reads `size` bytes).
    count: Option<u64>,
    /// Position of the end-of-central-directory record and its declared comment length.
    eocd_pos: u64,
    comment_len: u64,
}

/// Read the directory and local headers of the zip in `src`.
pub fn read(src: &dyn ReadAt, limits: &Limits) -> Result<ZipView, ZipError> {
    let size = src.size();
    let mut view = ZipView::default();
    // zipfile's directory, or why it has none although there is an end record.
    let (py_dir, py_err) = match find_eocd(src)? {
        Some((pos, rec)) => match zipfile_dir(src, pos, &rec) {
            Ok(d) => (Some(d), None),
            Err(e) => (None, Some(e)),
        },
        None => (None, None),
    };
    let mz_dir = miniz_dir(src)?;
    let mut py_missing = Vec::new();
    let mut mz_missing = Vec::new();
    let py = py_dir
        .as_ref()
        .map(|d| read_directory(src, d, Reader::Zipfile, limits, &mut py_missing));
    // miniz's reading matters only where its directory differs from zipfile's.
    let same = matches!((&py_dir, &mz_dir), (Some(a), Some(b)) if a.start == b.start && a.size == b.size && a.concat == 0);
    let mz = if same {
        None
    } else {
        mz_dir
            .as_ref()
            .map(|d| read_directory(src, d, Reader::Miniz, limits, &mut mz_missing))
    };
    let py = match (py, py_err) {
        (Some(r), _) => Some(r),
        (None, Some(e)) => Some(Err(e)),
        (None, None) => None,
    };
    let eocd: Option<&Dir> = match (py, mz) {
        (Some(Err(e)), None | Some(Err(_))) => return Err(e),
        (Some(Ok(entries)), mz) => {
            if let Some(d) = &py_dir
                && d.concat > 0
            {
                view.anomalies
                    .push(Anomaly::Prefix(u64::try_from(d.concat).unwrap_or(0)));
            }
            view.entries = entries;
            view.anomalies.extend(
                py_missing
                    .into_iter()
                    .map(|(name, offset)| Anomaly::NoLocalHeader { name, offset }),
            );
            if let Some(Ok(torch)) = mz {
                merge_torch_view(&mut view, torch);
            }
            py_dir.as_ref()
        }
        (Some(Err(_)) | None, Some(Ok(torch))) => {
            // Only PyTorch's reader finds a directory: that is the view a loader has.
            view.entries = torch;
            view.anomalies.extend(
                mz_missing
                    .into_iter()
                    .map(|(name, offset)| Anomaly::NoLocalHeader { name, offset }),
            );
            mz_dir.as_ref()
        }
        (None, Some(Err(_)) | None) => {
            view.anomalies.push(Anomaly::NoDirectory);
            None
        }
    };
    for e in &view.entries {
        if let Some(l) = &e.local_name
            && *l != e.name
        {
            view.anomalies.push(Anomaly::NameMismatch {
                central: e.name.clone(),
                local: l.clone(),
            });
        }
        // zipfile and miniz decide from the central directory's flags.
        if e.flags & (0x20 | 0x40) != 0 {
            view.anomalies.push(Anomaly::Flags {
                name: e.name.clone(),
                flags: e.flags,
            });
        } else if e.flags & 0x1 != 0 {
            view.anomalies.push(Anomaly::Encrypted(e.name.clone()));
        }
    }
    // Carve small archives for local headers the directory does not list (or all of them, if
    // there is no directory).
    if size <= CARVE_MAX_BYTES || view.entries.is_empty() {
        carve(src, limits, &mut view)?;
    }
    outside(src, eocd, &mut view);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for e in view
        .entries
        .iter()
        .filter(|e| e.origin == Origin::Directory || e.origin == Origin::Carved)
    {
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

/// Add the members only PyTorch's reader sees, and say that the readers disagree.
fn merge_torch_view(view: &mut ZipView, torch: Vec<Entry>) {
    let key = |e: &Entry| (e.data_offset, e.compressed, e.method);
    let seen: std::collections::HashSet<_> = view.entries.iter().map(key).collect();
    let torch_keys: std::collections::HashSet<_> = torch.iter().map(key).collect();
    let mut extra: Vec<Entry> = torch
        .into_iter()
        .filter(|e| !seen.contains(&key(e)))
        .map(|mut e| {
            e.origin = Origin::Torch;
            e
        })
        .collect();
    let missing = view
        .entries
        .iter()
        .filter(|e| !torch_keys.contains(&key(e)))
        .count();
    if !extra.is_empty() || missing > 0 {
        let names: Vec<&str> = extra.iter().map(|e| e.name.as_str()).take(5).collect();
        view.anomalies.push(Anomaly::ReadersDisagree(format!(
            "PyTorch's reader sees {} member(s) zipfile does not ({}) and misses {} zipfile reads",
            extra.len(),
            names.join(", "),
            missing
        )));
    }
    view.entries.append(&mut extra);
}

/// `zipfile._EndRecData`: the record in the last 22 bytes when it has no comment, else the
/// last signature in the final 64 KiB + 22 bytes (which must have 22 bytes after it).
fn find_eocd(src: &dyn ReadAt) -> Result<Option<(u64, Vec<u8>)>, ZipError> {
    let size = src.size();
    if size < EOCD_LEN {
        return Ok(None);
    }
    let last = read_range(src, size - EOCD_LEN, EOCD_LEN)?;
    if last.starts_with(EOCD_SIG) && last.get(20..22) == Some(&[0, 0][..]) {
        return Ok(Some((size - EOCD_LEN, last)));
    }
    let start = size.saturating_sub((1 << 16) + EOCD_LEN);
    let tail = read_range(src, start, size - start)?;
    let Some(pos) = tail.windows(4).rposition(|w| w == EOCD_SIG) else {
        return Ok(None);
    };
    let rec = tail.get(pos..).unwrap_or_default().to_vec();
    if (rec.len() as u64) < EOCD_LEN {
        return Ok(None);
    }
    Ok(Some((start + pos as u64, rec)))
}

/// `zipfile._EndRecData64` and the offset arithmetic of `ZipFile._RealGetContents`.
fn zipfile_dir(src: &dyn ReadAt, eocd_pos: u64, rec: &[u8]) -> Result<Dir, ZipError> {
    let short = || bad("short end-of-central-directory record");
    let mut size_cd = u64::from(u32_at(rec, 12).ok_or_else(short)?);
    let mut offset_cd = u64::from(u32_at(rec, 16).ok_or_else(short)?);
    let comment_len = u64::from(u16_at(rec, 20).ok_or_else(short)?);
    let mut zip64 = false;
    if eocd_pos >= LOCATOR_LEN {
        let loc = read_range(src, eocd_pos - LOCATOR_LEN, LOCATOR_LEN)?;
        if loc.len() as u64 == LOCATOR_LEN && loc.starts_with(EOCD64_LOC_SIG) {
            let diskno = u32_at(&loc, 4).unwrap_or(0);
            let disks = u32_at(&loc, 16).unwrap_or(0);
            if diskno != 0 || disks > 1 {
                return Err(bad("zipfiles that span multiple disks are not supported"));
            }
            // "Assume no 'zip64 extensible data'": the record sits right before the locator.
            let at = eocd_pos
                .checked_sub(LOCATOR_LEN + EOCD64_LEN)
                .ok_or_else(|| bad("zip64 locator too close to the start"))?;
            let r = read_range(src, at, EOCD64_LEN)?;
            if r.len() as u64 == EOCD64_LEN && r.starts_with(EOCD64_SIG) {
                size_cd = u64_at(&r, 40).unwrap_or(0);
                offset_cd = u64_at(&r, 48).unwrap_or(0);
                zip64 = true;
            }
        }
    }
    let mut concat = i128::from(eocd_pos) - i128::from(size_cd) - i128::from(offset_cd);
    if zip64 {
        concat -= i128::from(EOCD64_LEN + LOCATOR_LEN);
    }
    let start = u64::try_from(i128::from(offset_cd) + concat)
        .map_err(|_| bad("bad offset for central directory"))?;
    Ok(Dir {
        start,
        size: size_cd,
        concat,
        count: None,
        eocd_pos,
        comment_len,
    })
}

/// miniz's `mz_zip_reader_locate_header_sig` and `mz_zip_reader_read_central_dir` (the
/// version vendored by PyTorch): the last signature with 22 bytes after it, searched
/// backwards in 4 KiB steps; the ZIP64 record where the locator points; offsets literal.
fn miniz_dir(src: &dyn ReadAt) -> Result<Option<Dir>, ZipError> {
    let size = src.size();
    if size < EOCD_LEN {
        return Ok(None);
    }
    let size_i = i128::from(size);
    let mut cur: i128 = (size_i - 4096).max(0);
    let mut found = None;
    'outer: loop {
        let off = u64::try_from(cur).unwrap_or(0);
        let buf = read_range(src, off, (size - off).min(4096))?;
        let mut i = buf.len() as i128 - 4;
        while i >= 0 {
            let iu = usize::try_from(i).unwrap_or(0);
            if buf.get(iu..iu + 4) == Some(&EOCD_SIG[..])
                && size_i - (cur + i) >= i128::from(EOCD_LEN)
            {
                found = u64::try_from(cur + i).ok();
                break 'outer;
            }
            i -= 1;
        }
        if cur == 0 || size_i - cur >= i128::from(u16::MAX) + i128::from(EOCD_LEN) {
            break;
        }
        cur = (cur - 4093).max(0);
    }
    let Some(eocd_pos) = found else {
        return Ok(None);
    };
    let rec = read_range(src, eocd_pos, EOCD_LEN)?;
    let g16 = |at| u64::from(u16_at(&rec, at).unwrap_or(0));
    let g32 = |at| u64::from(u32_at(&rec, at).unwrap_or(0));
    let (mut num_disk, mut cd_disk) = (g16(4), g16(6));
    let (mut on_disk, mut total) = (g16(8), g16(10));
    let (mut cd_size, mut cd_ofs) = (g32(12), g32(16));
    let comment_len = g16(20);
    if eocd_pos >= LOCATOR_LEN + EOCD64_LEN {
        let loc = read_range(src, eocd_pos - LOCATOR_LEN, LOCATOR_LEN)?;
        if loc.starts_with(EOCD64_LOC_SIG) {
            let at = u64_at(&loc, 8).unwrap_or(u64::MAX);
            if at > size - EOCD64_LEN.min(size) {
                return Ok(None);
            }
            let r = read_range(src, at, EOCD64_LEN)?;
            if r.starts_with(EOCD64_SIG) {
                let g = |o| u64_at(&r, o).unwrap_or(0);
                if g(4) < EOCD64_LEN - 12 || u32_at(&loc, 16) != Some(1) {
                    return Ok(None);
                }
                total = g(32);
                on_disk = g(24);
                cd_size = g(40);
                cd_ofs = g(48);
                num_disk = u64::from(u32_at(&r, 16).unwrap_or(0));
                cd_disk = u64::from(u32_at(&r, 20).unwrap_or(0));
                if cd_size > u64::from(u32::MAX) {
                    return Ok(None);
                }
            }
        }
    }
    if total != on_disk
        || ((num_disk | cd_disk) != 0 && (num_disk != 1 || cd_disk != 1))
        || cd_size < total.saturating_mul(46)
        || cd_ofs.saturating_add(cd_size) > size
    {
        return Ok(None);
    }
    Ok(Some(Dir {
        start: cd_ofs,
        size: cd_size,
        concat: 0,
        count: Some(total),
        eocd_pos,
        comment_len,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    Zipfile,
    Miniz,
}

/// Code page 437, the name encoding `zipfile` assumes without the UTF-8 flag.
const CP437_HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}";

fn decode_name(raw: &[u8], flags: u16, reader: Reader) -> Result<String, ZipError> {
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
fn read_directory(
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

/// Bytes no member covers, at either end of the archive: analysed like members (a custom
/// loader reading at an offset, or `pickle.load` on the whole file, reads them).
fn outside(src: &dyn ReadAt, dir: Option<&Dir>, view: &mut ZipView) {
    let size = src.size();
    let entry = |name: &str, at: u64, len: u64| Entry {
        name: name.to_string(),
        local_name: None,
        method: 0,
        flags: 0,
        local_flags: 0,
        crc: 0,
        compressed: len,
        uncompressed: len,
        data_offset: at,
        in_directory: false,
        unix_mode: 0,
        origin: Origin::Outside,
        header_offset: at,
    };
    if let Some(d) = dir {
        let after = d.eocd_pos + EOCD_LEN;
        if after < size {
            let declared_end = after.saturating_add(d.comment_len).min(size);
            if declared_end < size {
                view.anomalies.push(Anomaly::Trailing {
                    offset: declared_end,
                    len: size - declared_end,
                });
            }
            view.entries.push(entry(TRAILING_NAME, after, size - after));
        }
    }
    let first = view
        .entries
        .iter()
        .filter(|e| e.origin != Origin::Outside)
        .map(|e| e.header_offset)
        .min();
    if let Some(first) = first
        && first > 0
    {
        view.entries.push(entry(PREFIX_NAME, 0, first));
    }
}

/// Find local headers by signature (small archives only) and add those no directory lists,
/// outside the data of listed members (a stored inner zip's headers belong to it).
fn carve(src: &dyn ReadAt, limits: &Limits, view: &mut ZipView) -> Result<(), ZipError> {
    let size = src.size().min(CARVE_MAX_BYTES);
    let data = read_range(src, 0, size)?;
    let known: std::collections::HashSet<u64> =
        view.entries.iter().map(|e| e.data_offset).collect();
    let mut covered: Vec<(u64, u64)> = view
        .entries
        .iter()
        .filter(|e| e.in_directory)
        .map(|e| (e.header_offset, e.data_offset.saturating_add(e.compressed)))
        .collect();
    covered.sort_unstable();
    let inside = |at: u64| {
        let i = covered.partition_point(|&(s, _)| s <= at);
        covered
            .get(..i)
            .unwrap_or_default()
            .iter()
            .any(|&(s, e)| s < at && at < e)
    };
    let listed = !view.entries.is_empty();
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
        if inside(at as u64) {
            continue;
        }
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
        if listed {
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
            origin: Origin::Carved,
            header_offset: at as u64,
        });
    }
    Ok(())
}

/// Read up to `max` bytes of a member's uncompressed data, the way PyTorch does: CRCs and
/// encryption flags are ignored (the caller reports them). Returns the bytes and whether the
/// member was longer than `max`. The reading itself (methods, the recorded size zipfile and
/// miniz stop at, bounded streaming) is [`crate::member`]'s.
pub fn read_member(
    src: &dyn ReadAt,
    e: &Entry,
    max: u64,
    limits: &Limits,
) -> Result<(Vec<u8>, bool), ZipError> {
    crate::member::read_prefix(src, e, max, limits)
}

/// CRC-32 of `data` (as zip computes it).
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(data);
    c.sum()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests;
