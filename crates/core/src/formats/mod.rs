//! Content sniffing and per-format readers. The extension is only a hint: every file is
//! identified by its bytes.

pub mod gguf;
pub mod keras;
pub mod msgpack;
pub mod npy;
pub mod onnx;
pub mod safetensors;
pub mod sevenzip;
pub mod tensorflow;
pub mod tflite;
pub mod zip;

use crate::limits::Limits;
use crate::policy::Policy;
use crate::report::Finding;

/// What a format analyser needs to know besides the bytes.
pub struct FormatCtx<'a> {
    /// Limits in force.
    pub limits: &'a Limits,
    /// Policy in force.
    pub policy: &'a Policy,
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

/// What a format analyser found. The driver sets each finding's member path (findings may
/// carry a member relative to this file, which is joined), records problems (never `safe`
/// after one) and recurses into `nested` (weights inside a `.keras`, a pickle in a msgpack
/// ext type…).
#[derive(Debug, Default)]
pub struct Outcome {
    /// Format name for the report (`gguf`, `onnx`, `keras-h5`…).
    pub format: &'static str,
    /// Findings.
    pub findings: Vec<Finding>,
    /// Problems.
    pub problems: Vec<Problem>,
    /// Embedded blobs to analyse as files of their own: (member name, bytes).
    pub nested: Vec<(String, Vec<u8>)>,
}

impl Outcome {
    /// An outcome for a recognised format this build does not analyse: `incomplete`.
    pub fn unsupported(format: &'static str) -> Self {
        Outcome {
            format,
            problems: vec![Problem {
                fatal: false,
                message: format!("{format} content is recognised but not analysed by this version"),
                offset: None,
            }],
            ..Outcome::default()
        }
    }
}

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Empty file.
    Empty,
    /// Zip archive (PyTorch, TorchScript, npz, Keras, plain zip).
    Zip,
    /// POSIX/GNU tar.
    Tar,
    /// gzip stream.
    Gzip,
    /// bzip2 stream.
    Bzip2,
    /// xz stream.
    Xz,
    /// LZMA "alone" stream (joblib's lzma compressor).
    LzmaAlone,
    /// zlib stream (joblib's zlib compressor).
    Zlib,
    /// zstd frame.
    Zstd,
    /// 7-zip archive.
    SevenZip,
    /// NumPy `.npy`.
    Npy,
    /// A pickle with a PROTO opcode (protocol 2+).
    PickleProto,
    /// Legacy `torch.save` stream: starts with the pickled magic number.
    TorchLegacy,
    /// Could be a protocol 0/1 pickle (starts with an opcode of those protocols).
    MaybePickle,
    /// safetensors.
    Safetensors,
    /// GGUF.
    Gguf,
    /// HDF5 (Keras .h5).
    Hdf5,
    /// TFLite flatbuffer (`TFL3` identifier at offset 4).
    Tflite,
    /// LZ4 frame.
    Lz4,
    /// Anything else.
    Data,
}

/// The pickled magic number that opens a legacy `torch.save` file:
/// `PROTO 2, LONG1 10 bytes 0x1950a86a20f9469cfc6c, STOP`.
pub const TORCH_LEGACY_MAGIC: &[u8] = &[
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
];

/// Opcodes a protocol 0/1 pickle can start with.
const P0_START: &[u8] = b"(cI}]L)NFSVXP\x88\x89GJKMTU";

/// Identify `head` (the first bytes of a file, 512 are enough).
pub fn sniff(head: &[u8]) -> Kind {
    if head.is_empty() {
        return Kind::Empty;
    }
    if zip::sniff(head) {
        return Kind::Zip;
    }
    if head.starts_with(TORCH_LEGACY_MAGIC) {
        return Kind::TorchLegacy;
    }
    if head.starts_with(b"\x93NUMPY") {
        return Kind::Npy;
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Kind::Gzip;
    }
    if head.starts_with(b"BZh") {
        return Kind::Bzip2;
    }
    if head.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0]) {
        return Kind::Xz;
    }
    if head.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        return Kind::Zstd;
    }
    if head.starts_with(&[b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C]) {
        return Kind::SevenZip;
    }
    if head.starts_with(b"GGUF") {
        return Kind::Gguf;
    }
    if head.starts_with(b"\x89HDF\r\n\x1a\n") {
        return Kind::Hdf5;
    }
    if head.get(4..8) == Some(b"TFL3") {
        return Kind::Tflite;
    }
    if head.starts_with(&[0x04, 0x22, 0x4D, 0x18]) {
        return Kind::Lz4;
    }
    if head.get(257..262) == Some(b"ustar") {
        return Kind::Tar;
    }
    if let [0x80, p, ..] = head
        && (2..=5).contains(p)
    {
        return Kind::PickleProto;
    }
    if let Some(len) = head.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
        let n = u64::from_le_bytes(len);
        if n > 1 && n < 100 << 20 && head.get(8) == Some(&b'{') {
            return Kind::Safetensors;
        }
    }
    // LZMA alone: properties byte 0x5D, then a 32-bit dictionary size.
    if head.starts_with(&[0x5D, 0x00, 0x00]) {
        return Kind::LzmaAlone;
    }
    if let [cmf, flg, ..] = head
        && cmf & 0x0F == 8
        && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0
        && *cmf >> 4 <= 7
    {
        return Kind::Zlib;
    }
    if head.first().is_some_and(|b| P0_START.contains(b)) {
        return Kind::MaybePickle;
    }
    Kind::Data
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
