//! 7-zip archives: members are listed, checked (paths, links, sizes) and handed to the driver
//! as nested files when their content can carry code.
//!
//! Decoding uses `sevenz-rust2` (pure Rust) behind the `sevenz` cargo feature, on one thread,
//! with a decoder memory limit; every member read is bounded by `max_member_bytes`, the sum of
//! decoded bytes by `max_decompressed_bytes`, the ratio of declared to packed size by
//! `max_ratio`, the member count by `max_members`. Members whose first bytes look like raw data
//! (not a pickle, zip, compressed stream or other sniffed format) are decoded and dropped, so
//! weights do not sit in memory.

#[cfg(feature = "sevenz")]
use super::Problem;
use super::{FormatCtx, Outcome};
#[cfg(feature = "sevenz")]
use crate::report::{Finding, Severity};
#[cfg(feature = "sevenz")]
use crate::rules;
use crate::source::ReadAt;

/// Analyse `src` as a 7z archive.
#[cfg(not(feature = "sevenz"))]
pub fn analyze(_src: &dyn ReadAt, _ctx: &FormatCtx<'_>) -> Outcome {
    Outcome::unsupported(super::FormatId::SevenZip)
}

#[cfg(feature = "sevenz")]
fn finding(rule: &rules::Rule, severity: Severity, message: String, evidence: String) -> Finding {
    Finding::new(rule, severity, message).evidence(evidence)
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
    let declared: u64 = files.iter().map(|f| f.size).fold(0, u64::saturating_add);
    let packed = src.size().max(1);
    if declared / packed > limits.max_ratio {
        out.findings.push(finding(
            &rules::ARCHIVE_BOMB,
            Severity::Medium,
            format!(
                "7z declares {declared} bytes from {packed} (ratio above max_ratio {})",
                limits.max_ratio
            ),
            format!("{} members, {declared} bytes", files.len()),
        ));
    }
    for f in files {
        if super::escapes(&f.name, "") {
            out.findings.push(finding(
                &rules::ARCHIVE_SLIP,
                Severity::High,
                format!(
                    "archive member path {:?} leaves the extraction directory",
                    f.name
                ),
                f.name.clone(),
            ));
        }
    }
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
            links.push((name, target));
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
    for (name, target) in links {
        // Relative to the link's directory, as the zip and tar readers read it.
        let outside = super::escapes(&target, &name);
        out.findings.push(finding(
            &rules::ARCHIVE_LINK,
            if outside {
                Severity::High
            } else {
                Severity::Medium
            },
            format!(
                "archive member {name} is a symbolic link to {target:?}{}",
                if outside { ", outside the archive" } else { "" }
            ),
            format!("{name} -> {target}"),
        ));
    }
    out.problems.extend(problems);
    out.nested = nested;
    out
}
