//! The format registry: every format a report can name ([`FormatId`], whose serde names are
//! the report's `format` strings) and one [`FormatInfo`] entry per listed format, owning how
//! it is recognised (its [`Magic`] tests, with their precedence), the file names it claims,
//! its parser, and what is checked. Sniffing ([`super::sniff`]), the walk's dispatch,
//! `modelguard formats`, the extension checks, the by-name dispatch and every rule's `formats`
//! list derive from here (a rule naming an unregistered format does not compile).
//!
//! A format with a parser is dispatched to it when its magic matches (or, with
//! `parse_by_name`, when its name does). Formats with magic but no parser are read by the walk
//! itself (`scan/walk.rs`, its `WALKED` list), because reading them means recursing into the
//! walk: the containers (zip, tar, and the compressors gzip, bzip2, xz, lzma, zlib, zstd, lz4,
//! whose members and streams are walked as files of their own), the pickle family (pickle,
//! legacy torch, joblib `ZF`: the pickle VM in its modes, with the polyglot and fall-back-to-
//! the-name handling) and npy (object arrays go to the pickle reader).
//!
//! Must not: read files or judge anything (a magic test sees only the head it is given);
//! parsers live in their own modules.

use serde::{Deserialize, Serialize};

use super::{FormatCtx, Outcome};
use crate::source::ReadAt;

/// A format analyser: bytes plus context in, facts and findings out.
pub type Analyzer = fn(&dyn ReadAt, &FormatCtx<'_>) -> Outcome;

macro_rules! format_ids {
    ($($(#[doc = $doc:literal])* $v:ident = $s:literal,)*) => {
        /// Every format name a report can carry (`FileReport::format`, `Member::format`); the
        /// serde name is the report's string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum FormatId {
            $($(#[doc = $doc])* #[serde(rename = $s)] $v,)*
        }

        impl FormatId {
            /// Every id, in declaration order.
            pub const ALL: &'static [FormatId] = &[$(FormatId::$v),*];

            /// The report's name for this format.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(FormatId::$v => $s,)*
                }
            }

            /// The id whose report name is `s`.
            pub fn parse(s: &str) -> Option<FormatId> {
                match s {
                    $($s => Some(FormatId::$v),)*
                    _ => None,
                }
            }
        }
    };
}

format_ids! {
    /// A pickle stream.
    Pickle = "pickle",
    /// `torch.save` zip (`*/data.pkl`).
    PytorchZip = "pytorch-zip",
    /// TorchScript zip (`*/constants.pkl` or `*/code/`).
    Torchscript = "torchscript",
    /// A TorchScript `code/*.py` member.
    TorchscriptCode = "torchscript-code",
    /// Legacy `torch.save` (pickled magic number).
    PytorchLegacy = "pytorch-legacy",
    /// Legacy tar `torch.save`.
    PytorchTar = "pytorch-tar",
    /// joblib pickle (optionally compressed, or legacy `ZF`).
    Joblib = "joblib",
    /// NumPy `.npy`.
    Numpy = "numpy",
    /// NumPy `.npz` (zip of `.npy`).
    Npz = "npz",
    /// Zip archive.
    Zip = "zip",
    /// Tar archive.
    Tar = "tar",
    /// gzip-compressed tar.
    TarGz = "tar.gz",
    /// gzip stream.
    Gzip = "gzip",
    /// bzip2 stream.
    Bzip2 = "bzip2",
    /// xz stream.
    Xz = "xz",
    /// LZMA-alone stream.
    Lzma = "lzma",
    /// zlib stream.
    Zlib = "zlib",
    /// zstd frames.
    Zstd = "zstd",
    /// LZ4 frames.
    Lz4 = "lz4",
    /// 7-zip archive.
    SevenZip = "7z",
    /// safetensors.
    Safetensors = "safetensors",
    /// GGUF.
    Gguf = "gguf",
    /// A chat-template file (`*.jinja`, `chat_template.json`).
    ChatTemplate = "chat-template",
    /// `tokenizer_config.json` (chat templates inside).
    TokenizerConfig = "tokenizer-config",
    /// ONNX `ModelProto`.
    Onnx = "onnx",
    /// An ONNX `TensorProto` stored as `.pb`.
    OnnxTensor = "onnx-tensor",
    /// A `.pb` that decoded as nothing more specific.
    Tensorflow = "tensorflow",
    /// TensorFlow text protobuf (`.pbtxt`).
    TensorflowText = "tensorflow-text",
    /// SavedModel `fingerprint.pb`.
    TensorflowFingerprint = "tensorflow-fingerprint",
    /// SavedModel `saved_model.pb`.
    TensorflowSavedmodel = "tensorflow-savedmodel",
    /// Frozen `GraphDef`.
    TensorflowGraphdef = "tensorflow-graphdef",
    /// Keras 3 `.keras` zip.
    Keras = "keras",
    /// Keras HDF5 model (`model_config`).
    KerasH5 = "keras-h5",
    /// HDF5 without a model config.
    Hdf5 = "hdf5",
    /// SavedModel `keras_metadata.pb`.
    KerasMetadata = "keras-metadata",
    /// TFLite flatbuffer.
    Tflite = "tflite",
    /// msgpack (Flax).
    Msgpack = "msgpack",
    /// GGML/GGJT weights (no code).
    Ggml = "ggml",
    /// A well-formed protobuf message of unknown schema (SentencePiece `.model`).
    Protobuf = "protobuf",
    /// Empty file.
    Empty = "empty",
    /// Nesting deeper than `max_depth` (not analysed).
    Nested = "nested",
    /// Unrecognised bytes.
    Data = "data",
    /// A file that could not be read at all.
    Unknown = "unknown",
}

impl std::fmt::Display for FormatId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for FormatId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One magic-bytes test of a registry entry. [`sniff`](super::sniff) tries every entry's tests
/// in `rank` order (lower first) and the first that matches says what the file is: the order
/// is precedence (a TFLite identifier at offset 4 wins over a tar header at 257, PROTO 2-5
/// over the safetensors length prefix…) and the polyglot handling depends on it.
#[derive(Debug, Clone, Copy)]
pub struct Magic {
    /// Precedence: lower ranks are tried first; unique across the registry.
    pub rank: u16,
    /// The format these bytes identify: the entry's id or one it reports.
    pub id: FormatId,
    /// The magic's name in messages (`file has GGUF magic bytes…`).
    pub label: &'static str,
    /// Whether `head` (a file's first bytes, 512 at most) starts so.
    pub test: fn(&[u8]) -> bool,
    /// Only a guess ([`Kind::Maybe`](super::Kind::Maybe)): the reader confirms.
    pub weak: bool,
}

impl Magic {
    const fn new(rank: u16, id: FormatId, label: &'static str, test: fn(&[u8]) -> bool) -> Self {
        Magic {
            rank,
            id,
            label,
            test,
            weak: false,
        }
    }
    const fn weak(mut self) -> Self {
        self.weak = true;
        self
    }

    /// What [`sniff`](super::sniff) says when this test is the first to match.
    pub fn kind(&self) -> super::Kind {
        if self.weak {
            super::Kind::Maybe(self.id)
        } else {
            super::Kind::Is(self.id)
        }
    }
}

/// One supported format, for sniffing, dispatch, `modelguard formats` and the extension
/// checks.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FormatInfo {
    /// Format name as listed (the report's name, or a group such as `gzip / bzip2 / …`).
    pub name: &'static str,
    /// The format's id.
    #[serde(skip)]
    pub id: FormatId,
    /// Other report names this entry produces (variants found by structure).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub reported_as: &'static [FormatId],
    /// How the scanner recognises it (magic bytes, structure, name).
    pub detected_by: &'static str,
    /// What is analysed.
    pub checks: &'static str,
    /// Lower-case file-name suffixes this format claims. With [`FormatInfo::by_name`], a file
    /// no magic identified whose name ends so is parsed by it.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub names: &'static [&'static str],
    /// Magic-bytes tests, each with its precedence.
    #[serde(skip)]
    pub magic: &'static [Magic],
    /// The parser, for bytes one of `magic` identified or (with `by_name`) a name `names`
    /// claims. `None` with magic: the walk reads the format itself (module doc).
    #[serde(skip)]
    pub parser: Option<Analyzer>,
    /// Files no magic identified are given to `parser` when their name is claimed.
    #[serde(skip)]
    pub by_name: bool,
    /// Loading it runs code (a pickle underneath): its bytes under a data-only name are an
    /// extension mismatch.
    #[serde(skip)]
    pub runs_code: bool,
    /// No loader of this format runs code: a code-bearing file named like it is a mismatch.
    #[serde(skip)]
    pub data_only: bool,
}

impl FormatInfo {
    const fn new(id: FormatId, detected_by: &'static str, checks: &'static str) -> Self {
        FormatInfo {
            name: id.as_str(),
            id,
            reported_as: &[],
            detected_by,
            checks,
            names: &[],
            magic: &[],
            parser: None,
            by_name: false,
            runs_code: false,
            data_only: false,
        }
    }
    const fn names(mut self, names: &'static [&'static str]) -> Self {
        self.names = names;
        self
    }
    const fn magic(mut self, magic: &'static [Magic]) -> Self {
        self.magic = magic;
        self
    }
    const fn parse(mut self, f: Analyzer) -> Self {
        self.parser = Some(f);
        self
    }
    const fn parse_by_name(mut self, f: Analyzer) -> Self {
        self.parser = Some(f);
        self.by_name = true;
        self
    }
    const fn runs_code(mut self) -> Self {
        self.runs_code = true;
        self
    }
    const fn data_only(mut self) -> Self {
        self.data_only = true;
        self
    }
    const fn also(mut self, ids: &'static [FormatId]) -> Self {
        self.reported_as = ids;
        self
    }
    const fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// Whether `lower` (a lower-case file name) ends with one of the names claimed.
    pub fn claims(&self, lower: &str) -> bool {
        self.names.iter().any(|n| lower.ends_with(n))
    }
}

use FormatId as F;

/// Every format the scanner recognises, in the order of the `formats` listing. By-name
/// dispatch tries entries in this order (`keras_metadata.pb` before `.pb`).
pub static FORMATS: &[FormatInfo] = &[
    FormatInfo::new(
        F::Pickle,
        "PROTO opcode (protocol 2-5), or any opcode that can open a pickle (PROTO 0/1 or none) confirmed by the VM; also read behind other formats' magic bytes (polyglots)",
        "symbolic VM (never executed): imports, calls and arguments, data flow through getattr/__import__/partial…, catalogued capabilities, nested payloads",
    )
    .magic(&[
        Magic::new(150, F::Pickle, "pickle", super::pickle_proto),
        // Last of all: almost any byte can open a pickle (PROTO 0/1 or none).
        Magic::new(190, F::Pickle, "pickle", super::opens_pickle).weak(),
    ])
    .runs_code(),
    FormatInfo::new(
        F::PytorchZip,
        "zip with */data.pkl",
        "data.pkl as a pickle (persistent ids expected), every view of the zip (duplicates, local headers, CRCs), member paths",
    )
    .names(&["pt", "pth", "bin", "ckpt"])
    .runs_code(),
    FormatInfo::new(
        F::Torchscript,
        "zip with */constants.pkl or */code/ next to data.pkl",
        "every pickle member; zip structure",
    )
    .also(&[F::TorchscriptCode])
    .runs_code(),
    FormatInfo::new(
        F::PytorchLegacy,
        "pickled torch magic number at offset 0",
        "the five stacked pickles of torch.save's legacy format",
    )
    .magic(&[Magic::new(20, F::PytorchLegacy, "legacy torch", |h| {
        h.starts_with(super::TORCH_LEGACY_MAGIC)
    })])
    .runs_code(),
    FormatInfo::new(
        F::PytorchTar,
        "tar with a `pickle` member",
        "pickle, storages, tensors and sys_info members as pickles",
    )
    .runs_code(),
    FormatInfo::new(
        F::Joblib,
        "pickle importing joblib.numpy_pickle (optionally zlib/gzip/bz2/xz/lzma compressed); legacy `ZF` + hex length + zlib files (numpy_pickle_compat.read_zfile)",
        "the pickle read both as joblib.load and as pickle.load reads it (inline arrays)",
    )
    // `joblib.numpy_pickle_utils._detect_compressor`: a `ZF` prefix is "compat", whatever
    // follows (`read_zfile` then fails on anything that is not hex + zlib).
    .magic(&[Magic::new(30, F::Joblib, "joblib ZF", |h| {
        h.starts_with(super::ZF_PREFIX)
    })])
    .runs_code(),
    FormatInfo::new(
        F::Numpy,
        "\\x93NUMPY magic",
        "header; object-dtype data analysed as a pickle",
    )
    .magic(&[Magic::new(40, F::Numpy, "NumPy", |h| h.starts_with(b"\x93NUMPY"))])
    .names(&["npy"]),
    FormatInfo::new(
        F::Npz,
        "zip whose members are all .npy",
        "each .npy member; zip structure",
    )
    .runs_code(),
    FormatInfo::new(
        F::Zip,
        "local header or end-of-central-directory (junk prefix allowed)",
        "every member sniffed and analysed; duplicates, hidden members, name mismatches, flags, CRCs, path traversal, links, bombs",
    )
    // First: a zip's local header or end record (a junk-prefixed zip is found by its
    // directory when nothing else matched).
    .magic(&[Magic::new(10, F::Zip, "zip", super::zip::sniff)])
    .runs_code(),
    FormatInfo::new(
        F::Tar,
        "ustar magic at offset 257",
        "members sniffed and analysed; path traversal, links",
    )
    .magic(&[Magic::new(140, F::Tar, "tar", |h| {
        h.get(257..262) == Some(b"ustar")
    })])
    .also(&[F::TarGz]),
    FormatInfo::new(
        F::Gzip,
        "magic bytes (zlib: header checksum)",
        "decompressed (size and ratio bounded) and analysed as what they contain",
    )
    .named("gzip / bzip2 / xz / lzma / zlib")
    .also(&[F::Bzip2, F::Xz, F::Lzma, F::Zlib])
    .magic(&[
        Magic::new(50, F::Gzip, "gzip", |h| h.starts_with(&[0x1f, 0x8b])),
        Magic::new(60, F::Bzip2, "bzip2", |h| h.starts_with(b"BZh")),
        Magic::new(70, F::Xz, "xz", |h| h.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0])),
        // LZMA alone: properties byte 0x5D, then a 32-bit dictionary size.
        Magic::new(170, F::Lzma, "LZMA", |h| h.starts_with(&[0x5D, 0x00, 0x00])),
        // Weak (two header bytes): after every stronger magic; `(S` is one too, so the walk
        // tries a zlib stream that opens like a pickle as one first.
        Magic::new(180, F::Zlib, "zlib", super::zlib_header),
    ]),
    FormatInfo::new(
        F::Zstd,
        "28 b5 2f fd frame magic",
        "decompressed with ruzstd (pure Rust, bounded), contents analysed",
    )
    .magic(&[Magic::new(80, F::Zstd, "zstd", |h| {
        h.starts_with(&[0x28, 0xB5, 0x2F, 0xFD])
    })]),
    FormatInfo::new(
        F::Lz4,
        "04 22 4d 18 frame magic",
        "decompressed with lz4_flex (bounded), contents analysed",
    )
    .magic(&[Magic::new(130, F::Lz4, "LZ4", |h| {
        h.starts_with(&[0x04, 0x22, 0x4D, 0x18])
    })]),
    FormatInfo::new(
        F::SevenZip,
        "7z signature",
        "members listed (count, ratio, path traversal, symbolic links), code-bearing members analysed; encrypted archives reported incomplete",
    )
    .magic(&[Magic::new(90, F::SevenZip, "7z", |h| {
        h.starts_with(&[b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C])
    })])
    .parse(super::sevenzip::analyze),
    FormatInfo::new(
        F::Safetensors,
        "u64 header length followed by '{'",
        "strict header: duplicate keys, __metadata__ strings, dtypes, shapes, data offsets (size, overflow, overlaps, gaps, trailing bytes)",
    )
    .magic(&[Magic::new(160, F::Safetensors, "safetensors", super::safetensors::sniff)])
    .parse(super::safetensors::analyze)
    .names(&["safetensors"])
    .data_only(),
    FormatInfo::new(
        F::Gguf,
        "GGUF magic",
        "metadata (v1-v3, both byte orders, bounded); chat templates parsed as Jinja and checked for sandbox escapes",
    )
    .magic(&[Magic::new(100, F::Gguf, "GGUF", |h| h.starts_with(b"GGUF"))])
    .parse(super::gguf::analyze)
    .names(&["gguf"])
    .data_only(),
    FormatInfo::new(
        F::ChatTemplate,
        "name tokenizer_config.json, chat_template.json, *.jinja",
        "chat templates (string or named list) parsed as Jinja and checked for sandbox escapes, as in GGUF",
    )
    .also(&[F::TokenizerConfig])
    .names(&["tokenizer_config.json", "chat_template.json", ".jinja", ".jinja2"])
    .parse_by_name(super::gguf::analyze_chat_template_file),
    FormatInfo::new(
        F::Onnx,
        "name *.onnx, confirmed by protobuf structure",
        "external data paths (traversal, absolute), custom operator domains, tensor consistency, subgraphs",
    )
    .names(&[".onnx"])
    .parse_by_name(super::onnx::analyze)
    .data_only(),
    // Before `tensorflow`: `keras_metadata.pb` also ends with `.pb`.
    FormatInfo::new(
        F::KerasMetadata,
        "name keras_metadata.pb (SavedModel Keras metadata protobuf)",
        "each SavedObject's JSON metadata: Lambda bytecode, function references, custom objects",
    )
    .names(&["keras_metadata.pb"])
    .parse_by_name(super::keras::analyze),
    FormatInfo::new(
        F::Tensorflow,
        "name *.pb / *.pbtxt (SavedModel, GraphDef)",
        "ops of every graph and function (file, Python callback, debug and checkpoint ops with constant paths resolved); .pbtxt op names lexically",
    )
    .also(&[
        F::TensorflowSavedmodel,
        F::TensorflowGraphdef,
        F::TensorflowText,
        F::TensorflowFingerprint,
        F::OnnxTensor,
        F::Protobuf,
    ])
    .names(&[".pb", ".pbtxt"])
    .parse_by_name(super::tensorflow::analyze),
    FormatInfo::new(
        F::Keras,
        "zip with config.json and metadata.json (Keras 3 .keras)",
        "config.json: Lambda bytecode decoded and analysed, function references (module/class_name), custom objects; weights .h5 member analysed",
    ),
    FormatInfo::new(
        F::KerasH5,
        "HDF5 signature (at 0 or after a user block: 512, 1024, 2048… as libhdf5 searches) with a model_config root attribute",
        "model_config and training_config JSON: Lambda bytecode, function references, custom objects, nested models",
    ),
    FormatInfo::new(
        F::Hdf5,
        "HDF5 signature without a model config (weights only)",
        "root attributes read (nothing code-bearing found)",
    )
    // The signature at 0; after a user block the walk finds it (`hdf5_superblock`) and
    // reads the file with `keras::analyze_h5` too.
    .magic(&[Magic::new(110, F::Hdf5, "HDF5", |h| {
        h.starts_with(super::HDF5_SIGNATURE)
    })])
    // Reports `keras-h5` when the root holds a model config.
    .parse(super::keras::analyze),
    FormatInfo::new(
        F::Tflite,
        "TFL3 flatbuffer identifier at offset 4",
        "operator codes: custom ops listed, Flex ops reaching files or Python reported",
    )
    .magic(&[Magic::new(120, F::Tflite, "TFLite", |h| {
        h.get(4..8) == Some(b"TFL3")
    })])
    .parse(super::tflite::analyze)
    .names(&["tflite"])
    .data_only(),
    FormatInfo::new(
        F::Msgpack,
        "name *.msgpack / *.flax / *.mpk, confirmed by structure",
        "streamed (depth and item bounded): non-Flax ext types, embedded pickles analysed",
    )
    .names(&[".msgpack", ".flax", ".mpk"])
    .parse_by_name(super::msgpack::analyze),
    FormatInfo::new(
        F::Ggml,
        "model-named file with a GGML/GGJT magic (no other format matched)",
        "nothing code-bearing (weights only)",
    )
    .also(&[F::Protobuf]),
];

/// Extensions of files that are not models at all (text, images): a code-bearing format under
/// one of these names is an extension mismatch, as under a data-only format's name.
const PLAIN_DATA_EXTENSIONS: &[&str] = &["json", "txt", "md", "csv", "yaml", "yml", "png", "jpg"];

/// The registry entry that lists `id` (its own entry or the one that reports it).
pub fn info(id: FormatId) -> Option<&'static FormatInfo> {
    FORMATS
        .iter()
        .find(|f| f.id == id || f.reported_as.contains(&id))
}

/// The by-name parser for a file no magic identified (`lower`: its lower-case name).
pub fn by_name(lower: &str) -> Option<Analyzer> {
    FORMATS
        .iter()
        .find(|f| f.by_name && f.claims(lower))
        .and_then(|f| f.parser)
}

/// The parser of the entry whose magic identifies `id`; `None`: the walk reads it itself.
pub fn parser(id: FormatId) -> Option<Analyzer> {
    FORMATS
        .iter()
        .find(|f| f.magic.iter().any(|m| m.id == id))
        .and_then(|f| f.parser)
}

/// Every entry's magic tests, in precedence order (sorted once).
static MAGICS: std::sync::LazyLock<Vec<&'static Magic>> = std::sync::LazyLock::new(|| {
    let mut all: Vec<&'static Magic> = FORMATS.iter().flat_map(|f| f.magic).collect();
    all.sort_by_key(|m| m.rank);
    all
});

/// Every magic test of the registry, in precedence order.
pub fn magics() -> &'static [&'static Magic] {
    &MAGICS
}

/// The (strong) magic test that identifies `id`, if any.
pub fn magic(id: FormatId) -> Option<&'static Magic> {
    magics().iter().copied().find(|m| m.id == id && !m.weak)
}

/// Whether loading `id` runs code (a pickle underneath).
pub fn runs_code(id: FormatId) -> bool {
    FORMATS.iter().any(|f| f.id == id && f.runs_code)
}

/// What the registry says about one file extension (see [`extension`]).
#[derive(Debug, Default)]
pub struct Extension {
    /// Data no loader runs code from (a data-only format's, or text and images).
    pub data_only: bool,
    /// The formats that claim it.
    pub claimed_by: Vec<FormatId>,
}

/// Every extension the registry knows, indexed once: the extension check runs per file.
static EXTENSIONS: std::sync::LazyLock<rustc_hash::FxHashMap<&'static str, Extension>> =
    std::sync::LazyLock::new(|| {
        let mut map: rustc_hash::FxHashMap<&'static str, Extension> = Default::default();
        for ext in PLAIN_DATA_EXTENSIONS {
            map.entry(ext).or_default().data_only = true;
        }
        for f in FORMATS {
            // `.onnx` and `onnx` both claim the extension; `keras_metadata.pb` names a file.
            for ext in f.names.iter().map(|n| n.strip_prefix('.').unwrap_or(n)) {
                if ext.contains('.') {
                    continue;
                }
                let e = map.entry(ext).or_default();
                e.data_only |= f.data_only;
                if !e.claimed_by.contains(&f.id) {
                    e.claimed_by.push(f.id);
                }
            }
        }
        map
    });

/// What the registry says about extension `ext` (lower case, no dot), if anything.
pub fn extension(ext: &str) -> Option<&'static Extension> {
    EXTENSIONS.get(ext)
}

/// Whether extension `ext` (lower case, no dot) names data no loader runs code from.
pub fn data_extension(ext: &str) -> bool {
    extension(ext).is_some_and(|e| e.data_only)
}

/// Whether extension `ext` (lower case, no dot) is one `id` claims.
pub fn claims_extension(id: FormatId, ext: &str) -> bool {
    extension(ext).is_some_and(|e| e.claimed_by.contains(&id))
}

/// Extensions of files whose loaders run code (pickle, torch, joblib, numpy, Keras/HDF5):
/// such a file whose bytes are not recognised is never `safe`.
const MODEL_EXTENSIONS: &[&str] = &[
    "pkl",
    "pickle",
    "pck",
    "pcl",
    "p",
    "pt",
    "pth",
    "bin",
    "h5",
    "hdf5",
    "he5",
    "joblib",
    "jbl",
    "npy",
    "npz",
    "keras",
    "ckpt",
    "sav",
    "dill",
    "cloudpickle",
    "model",
    "mar",
    "nemo",
    "pyt",
    "torch",
    "th",
];

/// Whether a file name says it holds a model or serialized objects (the loaders that open
/// these names run code: pickle, torch, joblib, numpy, Keras/HDF5). Such a file whose bytes
/// are not recognised is never `safe`: modelguard could not tell what the loader will do.
pub fn names_a_model(name: &str) -> bool {
    let base = name.rsplit(['/', '\\', '!']).next().unwrap_or(name);
    let Some((_, ext)) = base.rsplit_once('.') else {
        return false;
    };
    MODEL_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_serde_agrees() {
        for &id in FormatId::ALL {
            assert_eq!(FormatId::parse(id.as_str()), Some(id));
            let json = serde_json::to_string(&id).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", id.as_str()));
        }
    }

    #[test]
    fn every_reportable_format_is_listed_once() {
        for &id in FormatId::ALL {
            if matches!(id, F::Empty | F::Nested | F::Data | F::Unknown) {
                continue;
            }
            let n = FORMATS
                .iter()
                .filter(|f| f.id == id || f.reported_as.contains(&id))
                .count();
            assert!(n >= 1, "{id} is not listed in FORMATS");
        }
        let mut ids: Vec<_> = FORMATS.iter().map(|f| f.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "a format has two entries");
    }

    #[test]
    fn extension_roles_as_before_the_registry() {
        // The lists the extension check used before it derived them from the registry.
        let data = [
            "safetensors",
            "json",
            "txt",
            "md",
            "gguf",
            "onnx",
            "tflite",
            "csv",
            "yaml",
            "yml",
            "png",
            "jpg",
        ];
        for ext in data {
            assert!(data_extension(ext), "{ext}");
        }
        for ext in [
            "pt", "pkl", "bin", "npy", "h5", "msgpack", "pb", "jinja", "",
        ] {
            assert!(!data_extension(ext), "{ext}");
        }
        for ext in ["pt", "pth", "bin", "ckpt"] {
            assert!(claims_extension(F::PytorchZip, ext), "{ext}");
        }
        assert!(!claims_extension(F::PytorchZip, "pkl"));
        assert!(claims_extension(F::Numpy, "npy") && !claims_extension(F::Numpy, "npz"));
        let code: Vec<_> = FormatId::ALL.iter().filter(|&&f| runs_code(f)).collect();
        assert_eq!(
            code,
            [
                F::Pickle,
                F::PytorchZip,
                F::Torchscript,
                F::PytorchLegacy,
                F::PytorchTar,
                F::Joblib,
                F::Npz,
                F::Zip
            ]
            .iter()
            .collect::<Vec<_>>()
        );
    }

    #[test]
    fn by_name_dispatch_order() {
        let keras: Analyzer = super::super::keras::analyze;
        assert!(by_name("x/keras_metadata.pb").is_some_and(|f| std::ptr::fn_addr_eq(f, keras)));
        assert!(by_name("saved_model.pb").is_some());
        assert!(by_name("model.onnx").is_some());
        assert!(by_name("model.bin").is_none());
    }
}
