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
//!
//! Files: `mod.rs` the model (entries, anomalies, facts) and `read`, which runs the rest in
//! order: `locate.rs` (end record, each loader's directory), `directory.rs` (its entries and
//! local headers), `unlisted.rs` (bytes outside members, carved headers).
//!
//! Must not: judge (rules do, from [`ZipFacts`]) or read member data beyond a prefix.

use std::collections::HashMap;

mod directory;
mod locate;
mod unlisted;

use directory::{Reader, read_directory};
use locate::{Dir, find_eocd, miniz_dir, zipfile_dir};
use unlisted::{carve, outside};

use crate::limits::Limits;
use crate::source::ReadAt;

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

/// CRC-32 of `data` (as zip computes it).
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(data);
    c.sum()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests;
