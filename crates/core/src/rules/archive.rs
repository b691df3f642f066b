//! Rules for containers and file structure: archives, extensions, malformed input.

use super::Rule;
use crate::facts::{Emitter, Facts};
use crate::formats::zip::Anomaly;
use crate::formats::{self, FormatId};
use crate::policy::Policy;
use crate::report::{Finding, Severity};
use crate::rule;

rule! {
    /// ## What it detects
    /// A file or member whose structure could not be parsed completely: a truncated or
    /// malformed pickle, a broken zip directory, a limit crossed.
    ///
    /// ## Why is this dangerous?
    /// Loaders often execute what comes before the broken part (a pickle runs its `REDUCE`s
    /// before failing), and malformed structure is a known way to make scanners skip a file.
    ///
    /// ## How the verdict is decided
    /// `medium`; the file's status becomes `incomplete` or `error`, never safe. Anything found
    /// before the error is still reported.
    ///
    /// ## False positives
    /// Files damaged in transfer; files larger than the configured limits (raise them).
    ///
    /// ## How to fix
    /// Re-download or re-export the file.
    MALFORMED { id: "MG-MALFORMED", name: "malformed-input", severity: Medium, formats: any, fires: Other }
}

rule! {
    /// ## What it detects
    /// A zip read differently by different loaders: duplicate member names (Python's
    /// `zipfile` takes the last, PyTorch the first), a local header whose name differs from
    /// the central directory's, members missing from the central directory, bytes before the
    /// first member, general-purpose flags that make `zipfile` refuse a member PyTorch reads
    /// (encryption, patched data), or CRC-32 values that do not match.
    ///
    /// ## Why is this dangerous?
    /// Each was used to show a scanner a clean view while the loader reads the payload
    /// (CVE-2025-10156, CVE-2025-1944, CVE-2025-1945).
    ///
    /// ## How the verdict is decided
    /// modelguard analyses every view (central directory, each local header, each duplicate).
    /// Name disagreements and duplicates are `high`, flags and CRC mismatches `medium`, a junk
    /// prefix `low`.
    ///
    /// ## False positives
    /// Some zip tools write data descriptors with CRC 0 in the local header (not reported).
    ///
    /// ## How to fix
    /// Re-create the archive with a standard tool.
    ZIP_TAMPER { id: "MG-ZIP-TAMPER", name: "zip-structure-tampering", severity: High, formats: [Zip, PytorchZip, Torchscript, Npz], fires: Other }
}

/// [`ZIP_TAMPER`]: each anomaly between the loaders' views of a zip, by how much it can hide.
pub fn check_zip_tamper(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::Zip(z) = facts else {
        return;
    };
    for an in &z.anomalies {
        let (sev, msg) = match an {
            Anomaly::DuplicateName(n) => (
                Severity::High,
                format!(
                    "member name {n} appears more than once (zipfile reads the last, torch the first)"
                ),
            ),
            Anomaly::NameMismatch { central, local } => (
                Severity::High,
                format!("local header names {local} where the central directory says {central}"),
            ),
            Anomaly::Flags { name, flags } => (
                Severity::Medium,
                format!(
                    "member {name} has general-purpose flags 0x{flags:04x} (patched data / strong encryption) that zipfile and torch refuse"
                ),
            ),
            Anomaly::Encrypted(name) => {
                // Not tampering: the member is ciphertext, so the scan is incomplete.
                out.undecided(
                    "encrypted",
                    format!("member {name} is encrypted: its data could not be analysed"),
                    Some(name.clone()),
                );
                continue;
            }
            Anomaly::ReadersDisagree(what) => (
                Severity::High,
                format!("zipfile and PyTorch's reader see different members: {what}"),
            ),
            Anomaly::NoLocalHeader { name, offset } => (
                Severity::Medium,
                format!(
                    "member {name} has no local header at offset {offset}: loaders cannot read it"
                ),
            ),
            Anomaly::Trailing { offset, len } => (
                Severity::Low,
                format!(
                    "{len} bytes at offset {offset} after the end-of-central-directory record and its comment"
                ),
            ),
            Anomaly::Prefix(n) => (Severity::Low, format!("{n} bytes before the first member")),
            Anomaly::Hidden(n) => (
                Severity::High,
                format!("member {n} is present in a local header but not in the central directory"),
            ),
            Anomaly::NoDirectory => (
                Severity::Medium,
                "no central directory; members recovered from local headers".into(),
            ),
            Anomaly::Crc(n) => (Severity::Medium, format!("member {n} CRC-32 mismatch")),
        };
        out.emit(Finding::new(&ZIP_TAMPER, sev, msg));
    }
}

rule! {
    /// ## What it detects
    /// A file whose content is a different format than its extension says: a raw pickle named
    /// `.bin`/`.pt`, a pickle or zip named `.safetensors`, `.npy`, `.json`.
    ///
    /// ## Why is this dangerous?
    /// Scanners that pick a parser by extension skip or misread it (CVE-2025-10155); loaders
    /// that sniff content still execute it.
    ///
    /// ## How the verdict is decided
    /// `info` when a code-bearing format is named as another code-bearing format (raw pickle as
    /// `.pt`); `medium` when it is named as a format that cannot carry code (`.safetensors`,
    /// `.json`, `.txt`). The content is always analysed as what it is.
    ///
    /// ## False positives
    /// Renamed files from old tooling.
    ///
    /// ## How to fix
    /// Name files after their format.
    EXTENSION_MISMATCH { id: "MG-EXT-MISMATCH", name: "extension-mismatch", severity: Low, formats: any, fires: Other }
}

/// [`EXTENSION_MISMATCH`]: code-bearing content under the name of data no loader runs code
/// from is `medium`; a raw pickle named like a torch file, or anything but NumPy named `.npy`,
/// is `info` (modelguard reads by content, so the name hides nothing from it: a fact for
/// scanners and loaders that go by the name, not evidence).
pub fn check_extension_mismatch(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::Name(n) = facts else {
        return;
    };
    let (ext, format) = (n.extension.as_str(), n.format);
    // One lookup: most names claim nothing.
    let Some(known) = formats::extension(ext) else {
        return;
    };
    let claimed = |id| known.claimed_by.contains(&id);
    let sev = if known.data_only && formats::runs_code(format) {
        Severity::Medium
    } else if (format == FormatId::Pickle && claimed(FormatId::PytorchZip))
        || (claimed(FormatId::Numpy) && format != FormatId::Numpy)
    {
        Severity::Info
    } else {
        return;
    };
    out.emit(
        Finding::new(
            &EXTENSION_MISMATCH,
            sev,
            format!("file named .{ext} contains {format} data"),
        )
        .evidence(format!("{}: {format}", n.name)),
    );
}

rule! {
    /// ## What it detects
    /// A file that opens with another format's magic bytes (GGUF, TFLite, tar, safetensors,
    /// HDF5, a zlib header such as `(S`) and is also a pickle that imports a name.
    ///
    /// ## Why is this dangerous?
    /// `pickle.load` ignores magic bytes: it reads any file as opcodes, and `torch.load` does
    /// the same with any file that is not a zip. The unpickler needs no PROTO opcode, so
    /// `GGUF` is read as BINFLOAT, and a STRING or BINSTRING can swallow `TFL3`, a tar's
    /// `ustar` or a safetensors length. A scanner that trusts the magic parses the decoy
    /// format and never sees the calls.
    ///
    /// ## How the verdict is decided
    /// `high`: real files of those formats do not also run as pickles that import names.
    /// The pickle reading's own findings (what it calls, with what) are reported beside this
    /// one, and the file is also analysed as the format its magic names.
    ///
    /// ## False positives
    /// None known: the pickle reading must reach an import of a name Python could import (no
    /// whitespace or control characters) before failing.
    ///
    /// ## How to fix
    /// Do not load the file; it was built to deceive scanners.
    POLYGLOT { id: "MG-POLYGLOT", name: "format-polyglot", severity: High, formats: any, fires: Load }
}

rule! {
    /// ## What it detects
    /// Archive members whose path is absolute or climbs out of the extraction directory with
    /// `..` (ZipSlip / TarSlip).
    ///
    /// ## Why is this dangerous?
    /// Tools that extract the archive write outside the target directory, e.g. over
    /// `~/.ssh/authorized_keys` or a Python package (CVE-2023-5245, MLeap).
    ///
    /// ## How the verdict is decided
    /// `high` for any member path that is absolute, has a drive letter, or normalises above
    /// the archive root.
    ///
    /// ## False positives
    /// None: no model archive needs such paths.
    ///
    /// ## How to fix
    /// Re-create the archive with relative paths.
    ARCHIVE_SLIP { id: "MG-ARCHIVE-SLIP", name: "archive-path-traversal", severity: High, formats: [Zip, Tar, PytorchZip, Npz], fires: Load }
}

/// [`ARCHIVE_SLIP`]: an absolute path, a drive letter or `..` above the root (a zip or tar
/// member, every member of a 7z).
pub fn check_archive_slip(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let names: &[String] = match facts {
        Facts::ArchiveMember(m) => std::slice::from_ref(&m.name),
        Facts::SevenZip(z) => &z.members,
        _ => return,
    };
    for name in names.iter().filter(|n| formats::escapes(n, "")) {
        out.emit(
            Finding::new(
                &ARCHIVE_SLIP,
                Severity::High,
                format!("archive member path {name:?} leaves the extraction directory"),
            )
            .evidence(name.clone()),
        );
    }
}

rule! {
    /// ## What it detects
    /// Symbolic or hard links inside an archive.
    ///
    /// ## Why is this dangerous?
    /// Extracting a link and then a file through it writes anywhere the link points; a link to
    /// `/etc/passwd` or `~/.aws/credentials` exposes it to whatever reads the extracted model.
    ///
    /// ## How the verdict is decided
    /// `high` when the target is absolute or leaves the archive root, `medium` otherwise.
    ///
    /// ## False positives
    /// Archives of model folders that use relative links between their own files.
    ///
    /// ## How to fix
    /// Replace links with copies.
    ARCHIVE_LINK { id: "MG-ARCHIVE-LINK", name: "archive-link-member", severity: High, formats: [Zip, Tar], fires: Load }
}

/// [`ARCHIVE_LINK`]: every link member; `high` when its target leaves the archive.
pub fn check_archive_link(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    match facts {
        Facts::ArchiveMember(m) => {
            if let Some(link) = &m.link {
                out.emit(link_finding(&m.name, &link.kind, &link.target));
            }
        }
        Facts::SevenZip(z) => {
            for l in &z.links {
                out.emit(link_finding(&l.name, "symbolic", &l.target));
            }
        }
        _ => {}
    }
}

/// A link member `name` of `kind` to `target`, relative to the link's directory (as
/// extraction resolves it).
fn link_finding(name: &str, kind: &str, target: &str) -> Finding {
    let outside = formats::escapes(target, name);
    Finding::new(
        &ARCHIVE_LINK,
        if outside {
            Severity::High
        } else {
            Severity::Medium
        },
        format!(
            "archive member {name} is a {kind} link to {target:?}{}",
            if outside { ", outside the archive" } else { "" }
        ),
    )
    .evidence(format!("{name} -> {target}"))
}

rule! {
    /// ## What it detects
    /// Members whose declared or actual expansion exceeds the compression-ratio or size limits
    /// (decompression bombs).
    ///
    /// ## Why is this dangerous?
    /// Loading or scanning exhausts memory or disk.
    ///
    /// ## How the verdict is decided
    /// `medium`; modelguard never inflates past its limits, and reports what it did not read.
    ///
    /// ## False positives
    /// Highly compressible data (all-zero tensors) in small archives; raise `max_ratio`.
    ///
    /// ## How to fix
    /// Store tensors uncompressed, or check the archive's origin.
    ARCHIVE_BOMB { id: "MG-ARCHIVE-BOMB", name: "archive-decompression-bomb", severity: Medium, formats: [Zip, Gzip, Bzip2, Xz, Tar], fires: Load }
}

/// [`ARCHIVE_BOMB`]: a 7z whose declared sizes exceed `max_ratio` times its size (zip, tar
/// and compressor bombs are still reported where the limit is crossed).
pub fn check_archive_bomb(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::SevenZip(z) = facts else {
        return;
    };
    let (declared, packed) = (z.declared_bytes, z.packed_bytes.max(1));
    if declared / packed > z.max_ratio {
        out.emit(
            Finding::new(
                &ARCHIVE_BOMB,
                Severity::Medium,
                format!(
                    "7z declares {declared} bytes from {packed} (ratio above max_ratio {})",
                    z.max_ratio
                ),
            )
            .evidence(format!("{} members, {declared} bytes", z.members.len())),
        );
    }
}

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[
    &MALFORMED,
    &ZIP_TAMPER,
    &EXTENSION_MISMATCH,
    &POLYGLOT,
    &ARCHIVE_SLIP,
    &ARCHIVE_LINK,
    &ARCHIVE_BOMB,
];

/// This area's checks, in reporting order (see [`super::CHECKS`]).
pub static CHECKS: &[super::Check] = &[
    super::Check::on(&[crate::facts::FactsKind::Zip], check_zip_tamper),
    super::Check::on(&[crate::facts::FactsKind::Name], check_extension_mismatch),
    super::Check::on(
        &[
            crate::facts::FactsKind::ArchiveMember,
            crate::facts::FactsKind::SevenZip,
        ],
        check_archive_slip,
    ),
    super::Check::on(
        &[
            crate::facts::FactsKind::ArchiveMember,
            crate::facts::FactsKind::SevenZip,
        ],
        check_archive_link,
    ),
    super::Check::on(&[crate::facts::FactsKind::SevenZip], check_archive_bomb),
];
