//! Bytes the directory does not describe: what lies before the first member and after the
//! end record (analysed like members), and local headers carved from small archives that no
//! directory lists.
//!
//! Must not: read member data or judge anything.

use super::locate::Dir;
use super::{
    Anomaly, CARVE_MAX_BYTES, EOCD_LEN, Entry, LOCAL_SIG, Origin, PREFIX_NAME, TRAILING_NAME,
    ZipError, ZipView, u16_at, u32_at,
};
use crate::limits::Limits;
use crate::source::{ReadAt, read_range};

/// Bytes no member covers, at either end of the archive: analysed like members (a custom
/// loader reading at an offset, or `pickle.load` on the whole file, reads them).
pub(super) fn outside(src: &dyn ReadAt, dir: Option<&Dir>, view: &mut ZipView) {
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
pub(super) fn carve(src: &dyn ReadAt, limits: &Limits, view: &mut ZipView) -> Result<(), ZipError> {
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
