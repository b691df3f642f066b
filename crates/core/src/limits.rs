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
        }
    }
}
