//! The facts every reader records (`Facts`: one variant per reader, its types declared in the
//! reader's module) and the few the scan driver records itself (a file's name against its
//! content, archive members). Readers hand their typed facts to [`super::Outcome`] (`.into()`),
//! so no reader names this module; `crate::facts` re-exports it for the rules and the journal.
//!
//! Must not: read bytes or judge anything.

use serde::{Deserialize, Serialize};

use super::FormatId;

/// Declares [`Facts`] (one variant per reader) and [`FactsKind`] (its discriminant, by which
/// the rules index their checks) from one list, so a new reader adds one line here.
macro_rules! facts_enum {
    ($( $(#[$doc:meta])* $v:ident($t:ty), )*) => {
        /// One reader's facts about one file or member.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind", rename_all = "kebab-case")]
        #[non_exhaustive]
        pub enum Facts {
            $( $(#[$doc])* $v($t), )*
        }

        /// Which variant a [`Facts`] is: the rules index their checks by it, so judging a facts
        /// value runs only the checks written for its kind.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum FactsKind {
            $( #[doc = concat!("[`Facts::", stringify!($v), "`].")] $v, )*
        }

        impl FactsKind {
            /// How many kinds there are.
            pub const COUNT: usize = [$(FactsKind::$v),*].len();
        }

        $(
            impl From<$t> for Facts {
                fn from(f: $t) -> Self {
                    Facts::$v(f)
                }
            }
        )*

        impl Facts {
            /// Its kind.
            pub fn kind(&self) -> FactsKind {
                match self {
                    $( Facts::$v(_) => FactsKind::$v, )*
                }
            }
        }
    };
}

facts_enum! {
    /// A zip archive's structure, as every loader reads it.
    Zip(crate::formats::zip::ZipFacts),
    /// A NumPy `.npy` header.
    Npy(crate::formats::npy::NpyFacts),
    /// A file's name against what its bytes are.
    Name(NameFacts),
    /// A TFLite model's operator codes.
    Tflite(crate::formats::tflite::TfliteFacts),
    /// What a msgpack (Flax) file holds that a loader may act on.
    Msgpack(crate::formats::msgpack::MsgpackFacts),
    /// A safetensors header's conformance.
    Safetensors(crate::formats::safetensors::SafetensorsFacts),
    /// One member of an archive (zip, tar): its path and, for a link, its target.
    ArchiveMember(ArchiveMemberFacts),
    /// One pickle stream's verdict points (calls, imports, builds with their real targets).
    Pickle(crate::judge::pickle::PickleFacts),
    /// A Keras model config's callable references and Lambdas.
    Keras(crate::formats::keras::KerasFacts),
    /// A TensorFlow graph's file, Python and network ops.
    Tensorflow(crate::formats::tensorflow::TfFacts),
    /// An ONNX model's (or tensor's) external data, custom domains, code and tensors.
    Onnx(crate::formats::onnx::OnnxFacts),
    /// A 7z archive's member paths, links and sizes.
    SevenZip(crate::formats::sevenzip::SevenZipFacts),
    /// What one TorchScript `code/**.py` source reaches.
    TorchscriptCode(crate::formats::torchscript::TorchScriptFacts),
    /// A GGUF header: what readers may disagree on (its templates are `ChatTemplate`s).
    Gguf(crate::formats::gguf::GgufFacts),
    /// One chat template (GGUF metadata, `tokenizer_config.json`, `chat_template.json`,
    /// `*.jinja`): where it was found and the sandbox-escape analysis of it.
    ChatTemplate(crate::formats::gguf::TemplateFacts),
    /// What the YARA rules matched in one source.
    Signatures(super::signature_facts::SignatureFacts),
}

/// One archive member's path, as extraction would use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveMemberFacts {
    /// The member's path as stored.
    pub name: String,
    /// When the member is a link: its kind and target.
    pub link: Option<ArchiveLink>,
}

/// A link member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveLink {
    /// `symbolic` or `hard`.
    pub kind: String,
    /// The target as stored (relative to the member's directory).
    pub target: String,
}

/// A file's name against its content; recorded when the registry knows the extension
/// (`formats::extension`): a name no format claims and no data list holds says nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameFacts {
    /// The name as scanned.
    pub name: String,
    /// The lower-case extension (empty when none).
    pub extension: String,
    /// What the bytes are.
    pub format: FormatId,
}
