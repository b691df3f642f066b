//! Every limit on work driven by input, in one place. Each is configurable (policy file,
//! CLI) and each has a test that crosses it.

use serde::{Deserialize, Serialize};

/// Resource limits for one scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Limits of the symbolic pickle VM (opcodes, stack, memo, strings, pickles per stream).
    pub pickle: modelguard_pickle::Limits,
    /// Limits of code analysis and payload decoding (source size, AST nodes, decoded bytes…).
    pub code: modelguard_pycode::Limits,
    /// Largest pickle stream read into memory (a raw file, a zip member, a decompressed blob).
    pub max_pickle_bytes: u64,
    /// Nesting depth of containers (zip in tar in gzip …) and of nested pickles.
    pub max_depth: usize,
    /// Members looked at in one archive.
    pub max_members: usize,
    /// Bytes read from one archive member for analysis after decompression.
    pub max_member_bytes: u64,
    /// Total bytes produced by decompression for one top-level file.
    pub max_decompressed_bytes: u64,
    /// Largest compression ratio accepted for a member before it is called a bomb.
    pub max_ratio: u64,
    /// Size of a zip central directory accepted.
    pub max_zip_directory_bytes: u64,
    /// Files above this size are not hashed in `auto` hash mode (hashing reads every byte).
    pub hash_auto_max_bytes: u64,
    /// Bytes of one source (file, member, decoded payload) matched against the YARA rules:
    /// a larger source is matched in its first and last halves of this budget; 0 turns
    /// signature scanning off. Also the memory used by one signature scan. Matching runs at
    /// roughly 0.5 GB/s, so the 4 MiB default keeps a multi-GB checkpoint's scan in
    /// milliseconds; code-bearing parts arrive as separate, smaller sources.
    pub max_signature_bytes: u64,
    /// Wall-clock milliseconds one YARA evaluation of one buffer may run (a user rule such as
    /// a nested `for` over every match can be quadratic in the buffer); a scan that runs out
    /// is stopped, its matches so far are kept and the file is reported incomplete. 0 means
    /// no limit. The bundled rules take milliseconds on a full 4 MiB buffer.
    pub max_signature_millis: u64,
    /// GGUF: metadata key/value pairs read.
    pub max_gguf_kv_count: u64,
    /// GGUF: bytes of one metadata string (key or value).
    pub max_gguf_string_bytes: u64,
    /// GGUF: elements of one metadata array.
    pub max_gguf_array_len: u64,
    /// GGUF: nesting of arrays inside arrays.
    pub max_gguf_nesting: usize,
    /// GGUF: total metadata bytes decoded (strings, array headers), the vocabulary included.
    pub max_gguf_metadata_bytes: u64,
    /// Chat templates (Jinja) larger than this are not parsed.
    pub max_template_bytes: u64,
    /// safetensors: JSON header size.
    pub max_safetensors_header_bytes: u64,
    /// ONNX / TensorFlow: protobuf bytes read into memory for decoding.
    pub max_protobuf_bytes: u64,
    /// ONNX / TensorFlow: nesting of subgraphs (If/Loop/Scan bodies, function calls).
    pub max_graph_depth: usize,
    /// Chat-template files (`tokenizer_config.json`, `*.jinja`) read for analysis.
    pub max_chat_template_file_bytes: u64,
    /// Keras: bytes of a model config (`config.json`, an HDF5 attribute, `keras_metadata.pb`)
    /// read and parsed as JSON.
    pub max_config_bytes: u64,
    /// Keras `.h5`: bytes read from an HDF5 file to reach its root attributes (the model
    /// config); only the ranges the parser asks for are read, never the weights.
    pub max_hdf5_bytes: u64,
    /// msgpack: nesting of maps and arrays.
    pub max_msgpack_depth: usize,
    /// msgpack: values (map keys, map values, array elements) walked in one file.
    pub max_msgpack_items: u64,
    /// TFLite: entries of one flatbuffer vector read (operator codes, subgraphs, operators).
    pub max_tflite_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            pickle: modelguard_pickle::Limits::default(),
            code: modelguard_pycode::Limits::default(),
            max_pickle_bytes: 256 << 20,
            max_depth: 8,
            max_members: 100_000,
            max_member_bytes: 512 << 20,
            max_decompressed_bytes: 2 << 30,
            max_ratio: 1_000,
            max_zip_directory_bytes: 64 << 20,
            hash_auto_max_bytes: 256 << 20,
            max_signature_bytes: 4 << 20,
            max_signature_millis: 10_000,
            max_gguf_kv_count: 1 << 16,
            max_gguf_string_bytes: 16 << 20,
            max_gguf_array_len: 1 << 24,
            max_gguf_nesting: 8,
            max_gguf_metadata_bytes: 256 << 20,
            max_template_bytes: 1 << 20,
            max_safetensors_header_bytes: 100 << 20,
            max_protobuf_bytes: 1 << 30,
            max_graph_depth: 32,
            max_chat_template_file_bytes: 64 << 20,
            max_config_bytes: 64 << 20,
            max_hdf5_bytes: 256 << 20,
            max_msgpack_depth: 64,
            max_msgpack_items: 50_000_000,
            max_tflite_entries: 1 << 20,
        }
    }
}
