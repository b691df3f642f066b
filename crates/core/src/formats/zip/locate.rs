//! Where the central directory is: the end record as `zipfile._EndRecData` finds it, and the
//! directory each loader computes from it (`zipfile`: signed concat, ZIP64 record only right
//! before its locator; miniz: literal offsets, ZIP64 record where the locator says).
//!
//! Must not: read the directory's entries (`directory.rs` does) or judge anything.

use super::{
    EOCD_LEN, EOCD_SIG, EOCD64_LEN, EOCD64_LOC_SIG, EOCD64_SIG, LOCATOR_LEN, ZipError, bad, u16_at,
    u32_at, u64_at,
};
use crate::source::{ReadAt, read_range};

/// The directory location a loader computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Dir {
    /// Where the central directory is read.
    pub(super) start: u64,
    /// Its size.
    pub(super) size: u64,
    /// Added to every local-header offset.
    pub(super) concat: i128,
    /// Entry count the loader trusts (miniz), or `None` (zipfile reads `size` bytes).
    pub(super) count: Option<u64>,
    /// Position of the end-of-central-directory record and its declared comment length.
    pub(super) eocd_pos: u64,
    pub(super) comment_len: u64,
}

/// `zipfile._EndRecData`: the record in the last 22 bytes when it has no comment, else the
/// last signature in the final 64 KiB + 22 bytes (which must have 22 bytes after it).
pub(super) fn find_eocd(src: &dyn ReadAt) -> Result<Option<(u64, Vec<u8>)>, ZipError> {
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
pub(super) fn zipfile_dir(src: &dyn ReadAt, eocd_pos: u64, rec: &[u8]) -> Result<Dir, ZipError> {
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
pub(super) fn miniz_dir(src: &dyn ReadAt) -> Result<Option<Dir>, ZipError> {
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
