//! Content sniffing and per-format readers. The extension is only a hint: every file is
//! identified by its bytes.

pub mod facts;
pub mod gguf;
pub mod keras;
pub mod msgpack;
pub mod npy;
pub mod onnx;
mod registry;
pub mod safetensors;
pub mod sevenzip;
pub mod signature_facts;
pub mod tensorflow;
pub mod tflite;
pub mod torchscript;
pub mod zip;

pub use registry::{
    Analyzer, Extension, FORMATS, FormatId, FormatInfo, Magic, by_name, claims_extension,
    data_extension, extension, info, magic, magics, names_a_model, parser, runs_code,
};

use crate::limits::Limits;
use crate::report::Finding;

/// What a format analyser needs to know besides the bytes. Not the policy: what a reader
/// records must not depend on it (the rules apply it when the facts are judged).
pub struct FormatCtx<'a> {
    /// Limits in force.
    pub limits: &'a Limits,
    /// File or member name (for extension hints; never trusted alone).
    pub name: &'a str,
}

/// A problem that stopped (part of) an analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `true`: the structure is malformed (status `error`); `false`: a limit was crossed or a
    /// part is unsupported (status `incomplete`).
    pub fatal: bool,
    /// What happened.
    pub message: String,
    /// Byte offset, when known.
    pub offset: Option<u64>,
}

/// Read a whole source for parsers that need it in memory (protobuf, JSON, templates), unless
/// it is larger than `max` (then a non-fatal problem: the file is `incomplete`). `what` names
/// the content and `limit` the `Limits` field, for the message.
pub fn read_whole(
    src: &dyn crate::source::ReadAt,
    max: u64,
    what: &str,
    limit: &str,
) -> Result<Vec<u8>, Problem> {
    let size = src.size();
    if size > max {
        return Err(Problem {
            fatal: false,
            message: format!("{what} of {size} bytes above {limit} ({max})"),
            offset: None,
        });
    }
    crate::source::read_range(src, 0, size).map_err(|e| Problem {
        fatal: true,
        message: format!("{what}: {e}"),
        offset: None,
    })
}

/// What a format analyser found. The driver sets each finding's member path (findings may
/// carry a member relative to this file, which is joined), records problems (never `safe`
/// after one) and recurses into `nested` (weights inside a `.keras`, a pickle in a msgpack
/// ext type…).
#[derive(Debug)]
pub struct Outcome {
    /// Format for the report (`gguf`, `onnx`, `keras-h5`…).
    pub format: FormatId,
    /// Findings.
    pub findings: Vec<Finding>,
    /// Problems.
    pub problems: Vec<Problem>,
    /// Embedded blobs to analyse as files of their own: (member name, bytes).
    pub nested: Vec<(String, Vec<u8>)>,
    /// Facts for the rules' checks (readers converted to facts emit no findings).
    pub facts: Vec<facts::Facts>,
}

impl Outcome {
    /// An empty outcome of `format`.
    pub fn new(format: FormatId) -> Self {
        Outcome {
            format,
            findings: Vec::new(),
            problems: Vec::new(),
            nested: Vec::new(),
            facts: Vec::new(),
        }
    }

    /// An outcome for a recognised format this build does not analyse: `incomplete`.
    pub fn unsupported(format: FormatId) -> Self {
        Outcome {
            format,
            problems: vec![Problem {
                fatal: false,
                message: format!("{format} content is recognised but not analysed by this version"),
                offset: None,
            }],
            ..Outcome::new(format)
        }
    }
}

/// What the first bytes of a file say it is: the first registry magic (in precedence order,
/// [`registry::Magic`]) that matches, or nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Empty file.
    Empty,
    /// A registry magic identified this format.
    Is(FormatId),
    /// A weak magic: the bytes could be this format (a pickle without PROTO); the reader
    /// confirms, and a wrong guess falls back to the name.
    Maybe(FormatId),
    /// Anything else.
    Data,
}

/// The names of the enum [`Kind`] replaced, for code that names a kind it treats specially
/// (the container walkers, 7z, msgpack); the registry-dispatched formats need none.
#[allow(non_upper_case_globals)]
impl Kind {
    /// Zip archive (PyTorch, TorchScript, npz, Keras, plain zip).
    pub const Zip: Kind = Kind::Is(FormatId::Zip);
    /// POSIX/GNU tar.
    pub const Tar: Kind = Kind::Is(FormatId::Tar);
    /// gzip stream.
    pub const Gzip: Kind = Kind::Is(FormatId::Gzip);
    /// bzip2 stream.
    pub const Bzip2: Kind = Kind::Is(FormatId::Bzip2);
    /// xz stream.
    pub const Xz: Kind = Kind::Is(FormatId::Xz);
    /// LZMA "alone" stream (joblib's lzma compressor).
    pub const LzmaAlone: Kind = Kind::Is(FormatId::Lzma);
    /// zlib stream (joblib's zlib compressor).
    pub const Zlib: Kind = Kind::Is(FormatId::Zlib);
    /// zstd frame.
    pub const Zstd: Kind = Kind::Is(FormatId::Zstd);
    /// LZ4 frame.
    pub const Lz4: Kind = Kind::Is(FormatId::Lz4);
    /// NumPy `.npy`.
    pub const Npy: Kind = Kind::Is(FormatId::Numpy);
    /// A pickle with a PROTO opcode of protocol 2-5 (0 and 1 are only [`Kind::MaybePickle`]).
    pub const PickleProto: Kind = Kind::Is(FormatId::Pickle);
    /// Legacy `torch.save` stream: starts with the pickled magic number.
    pub const TorchLegacy: Kind = Kind::Is(FormatId::PytorchLegacy);
    /// Could be a pickle without a PROTO opcode (starts with an opcode that can open one).
    pub const MaybePickle: Kind = Kind::Maybe(FormatId::Pickle);
    /// joblib's legacy compressed pickle (`ZF` + hex length + zlib stream), which
    /// `joblib.load` still reads (`numpy_pickle_compat.read_zfile`).
    pub const JoblibZf: Kind = Kind::Is(FormatId::Joblib);
    /// safetensors.
    pub const Safetensors: Kind = Kind::Is(FormatId::Safetensors);
}

/// The variant names of the enum this type replaced, then the format id's: report text
/// depends on them (`containers/zip.rs` names a hidden member's kind with `{kind:?}`).
impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Kind::Empty => f.write_str("Empty"),
            Kind::Data => f.write_str("Data"),
            Kind::Maybe(id) => write!(f, "Maybe{id:?}"),
            Kind::PickleProto => f.write_str("PickleProto"),
            Kind::TorchLegacy => f.write_str("TorchLegacy"),
            Kind::Npy => f.write_str("Npy"),
            Kind::LzmaAlone => f.write_str("LzmaAlone"),
            Kind::JoblibZf => f.write_str("JoblibZf"),
            Kind::Is(id) => write!(f, "{id:?}"),
        }
    }
}

/// The pickled magic number that opens a legacy `torch.save` file:
/// `PROTO 2, LONG1 10 bytes 0x1950a86a20f9469cfc6c, STOP`.
pub const TORCH_LEGACY_MAGIC: &[u8] = &[
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
];

/// Opcodes a pickle without a PROTO opcode can start with: every opcode that pushes without
/// popping. The unpickler accepts any opcode at any protocol (PROTO is optional), so
/// protocol 2-5 opcodes open such streams too (`\x8c` SHORT_BINUNICODE, `\x95` FRAME …).
const PICKLE_START: &[u8] =
    b"(cI}]L)NFSVXP\x88\x89GJKMTUBC\x82\x83\x84\x8a\x8b\x8c\x8d\x8e\x8f\x95\x96";

/// Whether `head` starts with an opcode that can open a pickle (with or without PROTO).
pub fn opens_pickle(head: &[u8]) -> bool {
    head.first()
        .is_some_and(|b| *b == 0x80 || PICKLE_START.contains(b))
}

/// Identify `head` (the first bytes of a file, 512 are enough): the registry's magic tests
/// in precedence order, the first that matches wins.
pub fn sniff(head: &[u8]) -> Kind {
    if head.is_empty() {
        return Kind::Empty;
    }
    registry::magics()
        .iter()
        .find(|m| (m.test)(head))
        .map_or(Kind::Data, |m| m.kind())
}

/// A PROTO opcode of protocol 2-5 (0 and 1 are weaker: [`opens_pickle`]).
pub(crate) fn pickle_proto(head: &[u8]) -> bool {
    matches!(head, [0x80, 2..=5, ..])
}

/// A zlib stream header (RFC 1950): deflate, a window of at most 32 KiB, the check bits.
pub(crate) fn zlib_header(head: &[u8]) -> bool {
    matches!(head, [cmf, flg, ..]
        if cmf & 0x0F == 8
            && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0
            && *cmf >> 4 <= 7)
}

/// joblib's legacy `ZF` prefix (`numpy_pickle_compat._ZFILE_PREFIX`).
pub const ZF_PREFIX: &[u8] = b"ZF";

/// `numpy_pickle_compat._MAX_LEN`: `len(hex_str(2 ** 64))`, the width of the length field.
const ZF_MAX_LEN: usize = 19;

/// The header of a joblib `ZF` file as `numpy_pickle_compat.read_zfile` reads it: the length
/// field is the 19 bytes after `ZF` parsed by `int(field, 16)`; one more space is skipped if
/// present (joblib ≤ 0.8.4 on Python 2 wrote a wider field); the zlib stream starts after.
/// Returns (declared decompressed length, offset of the zlib stream), or why `read_zfile`
/// raises before decompressing.
pub fn zf_header(head: &[u8]) -> Result<(u64, u64), String> {
    let field = head
        .get(ZF_PREFIX.len()..ZF_PREFIX.len() + ZF_MAX_LEN)
        .ok_or("ZF header shorter than its length field")?;
    let length = python_int_base16(field).ok_or_else(|| {
        format!(
            "ZF length field {:?} is not int(_, 16)",
            String::from_utf8_lossy(field)
        )
    })?;
    let length = u64::try_from(length)
        .map_err(|_| format!("ZF length {length} is negative or too large"))?;
    let mut offset = (ZF_PREFIX.len() + ZF_MAX_LEN) as u64;
    if head.get(offset as usize) == Some(&b' ') {
        offset += 1;
    }
    Ok((length, offset))
}

/// Python's `int(b, 16)` for bytes (`PyLong_FromString` after the bytes are decoded as
/// ASCII): surrounding whitespace, an optional sign, an optional `0x`, hex digits with single
/// underscores between them (or after the prefix).
fn python_int_base16(b: &[u8]) -> Option<i128> {
    let is_space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r');
    let start = b.iter().position(|c| !is_space(c))?;
    let end = b.iter().rposition(|c| !is_space(c))? + 1;
    let mut s = b.get(start..end)?;
    let neg = match s.first() {
        Some(b'-') => {
            s = s.get(1..)?;
            true
        }
        Some(b'+') => {
            s = s.get(1..)?;
            false
        }
        _ => false,
    };
    let mut prefixed = false;
    if s.len() >= 2 && s.first() == Some(&b'0') && matches!(s.get(1), Some(b'x' | b'X')) {
        s = s.get(2..)?;
        prefixed = true;
    }
    let mut v: i128 = 0;
    let mut last_underscore = !prefixed;
    let mut digits = 0;
    for &c in s {
        if c == b'_' {
            if last_underscore {
                return None;
            }
            last_underscore = true;
            continue;
        }
        let d = char::from(c).to_digit(16)?;
        v = v.checked_mul(16)?.checked_add(i128::from(d))?;
        last_underscore = false;
        digits += 1;
    }
    if digits == 0 || last_underscore {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// The HDF5 signature.
pub const HDF5_SIGNATURE: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Where libhdf5 finds the superblock (`H5FD_locate_signature`): at 0, then at 512, 1024,
/// 2048, … (powers of two from 2^9) below the file size; a user block fills the bytes before
/// it (h5py `userblock_size`). `None` when no signature is found.
pub fn hdf5_superblock(src: &dyn crate::source::ReadAt) -> Option<u64> {
    let size = src.size();
    let mut buf = [0u8; 8];
    // "the least N such that 2^N is larger than the file size", at least 9.
    let maxpow = (u64::BITS - size.leading_zeros()).max(9);
    for n in 8..maxpow {
        let addr = if n == 8 { 0 } else { 1u64 << n };
        if addr.saturating_add(8) > size {
            break;
        }
        if src.read_at(addr, &mut buf).ok() == Some(8) && buf == HDF5_SIGNATURE {
            return Some(addr);
        }
    }
    None
}

/// Read a protobuf varint at `*pos` (at most 10 bytes).
pub(crate) fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Whether `b` is exactly a sequence of well-formed protobuf fields (wire types 0, 1, 2, 5;
/// field numbers from 1). Used to tell a protobuf-encoded model file (SentencePiece)
/// from unrecognised bytes; random data almost never parses.
pub fn is_protobuf_message(b: &[u8]) -> bool {
    let mut pos = 0usize;
    let mut fields = 0usize;
    while pos < b.len() {
        let Some(key) = varint(b, &mut pos) else {
            return false;
        };
        if key >> 3 == 0 || key >> 3 > (1 << 29) {
            return false;
        }
        let ok = match key & 7 {
            0 => varint(b, &mut pos).is_some(),
            1 => {
                pos = pos.saturating_add(8);
                pos <= b.len()
            }
            2 => match varint(b, &mut pos).and_then(|n| usize::try_from(n).ok()) {
                Some(n) if n <= b.len().saturating_sub(pos) => {
                    pos += n;
                    true
                }
                _ => false,
            },
            5 => {
                pos = pos.saturating_add(4);
                pos <= b.len()
            }
            _ => false,
        };
        if !ok {
            return false;
        }
        fields += 1;
    }
    fields > 0
}

/// Whether an archive member path or link target `path` (relative to the directory of `base`,
/// the member that names it; `""` for a member's own name) is absolute or climbs above the
/// archive root. Shared by the zip, tar and 7z readers.
pub fn escapes(path: &str, base: &str) -> bool {
    let p = path.replace('\\', "/");
    if p.starts_with('/') || p.as_bytes().get(1) == Some(&b':') {
        return true;
    }
    let mut depth: i64 = base.replace('\\', "/").matches('/').count() as i64;
    for part in p.split('/') {
        match part {
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            "" | "." => {}
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod sniff_tests;

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn format_list_is_complete() {
        for name in [
            "pickle", "keras", "keras-h5", "tflite", "msgpack", "7z", "zstd", "lz4", "gguf", "onnx",
        ] {
            assert!(FORMATS.iter().any(|f| f.name == name), "{name} missing");
        }
    }

    #[test]
    fn sniffs() {
        assert_eq!(sniff(b""), Kind::Empty);
        assert_eq!(sniff(b"PK\x03\x04rest"), Kind::Zip);
        assert_eq!(sniff(b"\x80\x04\x95"), Kind::PickleProto);
        assert_eq!(sniff(b"cos\nsystem\n"), Kind::MaybePickle);
        assert_eq!(sniff(TORCH_LEGACY_MAGIC), Kind::TorchLegacy);
        assert_eq!(sniff(b"\x93NUMPY\x01\x00"), Kind::Npy);
        assert_eq!(sniff(&[0x78, 0x9c, 1, 2]), Kind::Zlib);
        assert_eq!(sniff(b"\x1f\x8b\x08"), Kind::Gzip);
        assert_eq!(sniff(b"hello world"), Kind::Data);
        // No PROTO, protocol 4 opcodes (the unpickler does not require PROTO); PROTO 0/1.
        assert_eq!(sniff(b"\x8c\x02os\x8c\x06system\x93"), Kind::MaybePickle);
        assert_eq!(sniff(b"\x95\x20\0\0\0\0\0\0\0"), Kind::MaybePickle);
        assert_eq!(sniff(b"\x80\x01cos\nsystem\n"), Kind::MaybePickle);
        // `(S` is also a valid zlib header: sniffed as zlib, then tried as a pickle first.
        assert_eq!(sniff(b"(S'echo'\n"), Kind::Zlib);
        assert!(opens_pickle(b"(S'echo'\n"));
        assert!(!opens_pickle(b"\x1f\x8b") && !opens_pickle(b"hello"));
    }

    #[test]
    fn zf_headers_as_read_zfile_reads_them() {
        // joblib's write_zfile: 'ZF' + hex_str(len).ljust(19).
        let h = b"ZF0x1f               x\x9c";
        assert_eq!(sniff(h), Kind::JoblibZf);
        assert_eq!(zf_header(h), Ok((31, 21)));
        // The Python 2 writer's extra space is skipped.
        assert_eq!(zf_header(b"ZF0x1f                x\x9c"), Ok((31, 22)));
        assert_eq!(zf_header(b"ZF  +0X_1_f           x").map(|h| h.0), Ok(31));
        assert_eq!(zf_header(b"ZF1f                 x").map(|h| h.0), Ok(31));
        for bad in [
            &b"ZF0x1g               x"[..],
            b"ZF-0x1               x",
            b"ZF1__f               x",
            b"ZF0x",
        ] {
            assert!(
                zf_header(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn hdf5_signature_where_libhdf5_looks() {
        let mut f = vec![0u8; 4096];
        f[2048..2056].copy_from_slice(HDF5_SIGNATURE);
        assert_eq!(hdf5_superblock(&crate::source::Bytes(&f)), Some(2048));
        f[2048] = 0;
        f[1536..1544].copy_from_slice(HDF5_SIGNATURE);
        assert_eq!(
            hdf5_superblock(&crate::source::Bytes(&f)),
            None,
            "not a power of two"
        );
        f[..8].copy_from_slice(HDF5_SIGNATURE);
        assert_eq!(hdf5_superblock(&crate::source::Bytes(&f)), Some(0));
    }

    #[test]
    fn model_names() {
        for n in [
            "a.pkl",
            "dir/m.PT",
            "x.zip!inner/w.bin",
            "m.joblib",
            "tokenizer.model",
        ] {
            assert!(names_a_model(n), "{n}");
        }
        for n in ["a.txt", "pkl", "config.json", "a.pkl/readme"] {
            assert!(!names_a_model(n), "{n}");
        }
    }

    #[test]
    fn path_escapes() {
        assert!(escapes("../../.ssh/authorized_keys", ""));
        assert!(escapes("/etc/passwd", ""));
        assert!(escapes("C:\\x", ""));
        assert!(escapes("a/../../b", ""));
        assert!(!escapes("a/../b", ""));
        assert!(!escapes("archive/data.pkl", ""));
        assert!(!escapes("../x", "dir/link"));
        assert!(escapes("../../x", "dir/link"));
        assert!(escapes("..\\x", ""));
        assert!(escapes("/abs", "dir/link"));
    }
}
