//! 7-zip archives: members are listed (paths, links, sizes) into [`SevenZipFacts`] for the
//! rules' checks (`rules/archive.rs`) and handed to the driver as nested files when their
//! content can carry code.
//!
//! Decoding uses `sevenz-rust2` (pure Rust) behind the `sevenz` cargo feature, on one thread,
//! with a decoder memory limit; every member read is bounded by `max_member_bytes`, the sum of
//! decoded bytes by `max_decompressed_bytes`, the ratio of declared to packed size by
//! `max_ratio`, the member count by `max_members`. Members whose first bytes look like raw data
//! (not a pickle, zip, compressed stream or other sniffed format) are decoded and dropped, so
//! weights do not sit in memory.
//!
//! Must not: decide what a path, a link or a ratio is worth: the checks do.

use serde::{Deserialize, Serialize};

#[cfg(feature = "sevenz")]
use super::Problem;
use super::{FormatCtx, Outcome};
use crate::source::ReadAt;

/// A 7z archive's members: the facts the rules judge (see [`crate::facts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SevenZipFacts {
    /// Every member's path as stored (directories and empty files too), in directory order.
    pub members: Vec<String>,
    /// Members that are symbolic links (a Unix mode in their attributes), in decoding order.
    pub links: Vec<SevenZipLink>,
    /// The members' declared (uncompressed) sizes, summed.
    pub declared_bytes: u64,
    /// The archive's size in bytes (at least 1).
    pub packed_bytes: u64,
    /// `max_ratio` in force when it was read: declared over packed above it is a bomb.
    pub max_ratio: u64,
}

/// A symbolic-link member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SevenZipLink {
    /// The member's path.
    pub name: String,
    /// The link target (the member's data), relative to the member's directory.
    pub target: String,
}

/// Analyse `src` as a 7z archive.
#[cfg(not(feature = "sevenz"))]
pub fn analyze(_src: &dyn ReadAt, _ctx: &FormatCtx<'_>) -> Outcome {
    Outcome::unsupported(super::FormatId::SevenZip)
}

/// `FILE_ATTRIBUTE_UNIX_EXTENSION`: the high 16 bits of the attributes hold a Unix mode.
#[cfg(feature = "sevenz")]
const UNIX_EXTENSION: u32 = 0x8000;

/// Analyse `src` as a 7z archive.
#[cfg(feature = "sevenz")]
pub fn analyze(src: &dyn ReadAt, ctx: &FormatCtx<'_>) -> Outcome {
    use std::io::Read;

    use sevenz_rust2::{ArchiveReader, EntryDecision, Error, Password};

    use super::{Kind, sniff};
    use crate::source::Cursor;

    let mut out = Outcome::new(super::FormatId::SevenZip);
    let limits = ctx.limits;
    let problem = |fatal: bool, message: String| Problem {
        fatal,
        message,
        offset: None,
    };
    // Decoder dictionaries are bounded like a member: a larger one is refused, not allocated.
    let mem_kb = usize::try_from(limits.max_member_bytes / 1024).unwrap_or(usize::MAX);
    let mut reader =
        match ArchiveReader::new_with_memory_limit(Cursor::new(src), Password::empty(), mem_kb) {
            Ok(r) => r,
            Err(Error::PasswordRequired) => {
                out.problems.push(problem(
                    false,
                    "7z archive headers are encrypted: contents not analysed".into(),
                ));
                return out;
            }
            Err(e @ Error::MaxMemLimited { .. }) => {
                out.problems.push(problem(false, format!("7z: {e}")));
                return out;
            }
            Err(e) => {
                out.problems.push(problem(true, format!("7z: {e}")));
                return out;
            }
        };
    reader.set_thread_count(1);
    let files = &reader.archive().files;
    if files.len() > limits.max_members {
        out.problems.push(problem(
            false,
            format!(
                "7z has {} members, more than max_members ({})",
                files.len(),
                limits.max_members
            ),
        ));
        return out;
    }
    let mut facts = SevenZipFacts {
        members: files.iter().map(|f| f.name.clone()).collect(),
        links: Vec::new(),
        declared_bytes: files.iter().map(|f| f.size).fold(0, u64::saturating_add),
        packed_bytes: src.size().max(1),
        max_ratio: limits.max_ratio,
    };
    let budget = limits.max_decompressed_bytes;
    let mut decoded = 0u64;
    let mut problems = Vec::new();
    let mut nested = Vec::new();
    let mut links = Vec::new();
    let res = reader.for_each_entries_with_decision(|entry, r| {
        if entry.is_directory || !entry.has_stream {
            return Ok(EntryDecision::Continue);
        }
        let name = entry.name.clone();
        let link = entry.has_windows_attributes
            && entry.windows_attributes & UNIX_EXTENSION != 0
            && (entry.windows_attributes >> 16) & 0o170000 == 0o120000;
        let room = budget.saturating_sub(decoded);
        if room == 0 {
            problems.push(problem(
                false,
                format!("7z output exceeds max_decompressed_bytes ({budget}); stopped at {name}"),
            ));
            return Ok(EntryDecision::Stop);
        }
        let cap = limits.max_member_bytes.min(room);
        let mut head = Vec::new();
        (&mut *r).take(512.min(cap)).read_to_end(&mut head)?;
        decoded += head.len() as u64;
        if link {
            let target = String::from_utf8_lossy(&head).into_owned();
            links.push(SevenZipLink { name, target });
            return Ok(EntryDecision::Continue);
        }
        let kind = sniff(&head);
        let named_pickle = name.ends_with(".pkl") || name.ends_with(".pickle");
        let keep = named_pickle || !matches!(kind, Kind::Data | Kind::Empty);
        if !keep {
            // Raw data: decoded (the reader validates it) but not kept. Draining is bounded
            // by the budget too: past it the block is abandoned (the rest is not analysed).
            let left = room.saturating_sub(head.len() as u64);
            let n = std::io::copy(&mut (&mut *r).take(left + 1), &mut std::io::sink())?;
            decoded += n;
            if n > left {
                problems.push(problem(
                    false,
                    format!(
                        "7z output exceeds max_decompressed_bytes ({budget}) in {name}; later members not analysed"
                    ),
                ));
                return Ok(EntryDecision::Stop);
            }
            return Ok(EntryDecision::Continue);
        }
        let mut data = head;
        (&mut *r)
            .take(cap - data.len() as u64 + 1)
            .read_to_end(&mut data)?;
        if data.len() as u64 > cap {
            data.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
            problems.push(problem(
                false,
                format!(
                    "7z member {name} larger than max_member_bytes / remaining max_decompressed_bytes ({cap}); analysed the first {cap} bytes, later members of its block not analysed"
                ),
            ));
            decoded += data.len() as u64;
            nested.push((name, data));
            return Ok(EntryDecision::SkipBlock);
        }
        decoded += data.len() as u64;
        // A maybe-pickle (protocol 0/1) is only worth analysing when it ends with STOP.
        if kind != Kind::MaybePickle || named_pickle || data.last() == Some(&b'.') {
            nested.push((name, data));
        }
        Ok(EntryDecision::Continue)
    });
    if let Err(e) = res {
        let fatal = !matches!(
            e,
            Error::PasswordRequired
                | Error::MaybeBadPassword(_)
                | Error::MaxMemLimited { .. }
                | Error::UnsupportedCompressionMethod(_)
        );
        out.problems.push(problem(fatal, format!("7z: {e}")));
    }
    facts.links = links;
    out.facts.push(facts.into());
    out.problems.extend(problems);
    out.nested = nested;
    out
}
