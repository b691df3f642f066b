//! What the YARA rules matched in one source (`signatures` records it), as serialisable facts
//! for the `MG-YARA` check (`rules/signatures.rs`).
//!
//! Must not: decide severities or messages (the check does).

use serde::{Deserialize, Serialize};

use super::FormatId;

/// The rules that matched one source (a file, archive member, decompressed stream or decoded
/// payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureFacts {
    /// Every rule that matched, in the engine's order.
    pub matches: Vec<SignatureMatch>,
    /// What the source turned out to be when the walk read it as a file (`None` for bytes
    /// only matched, such as a member read as a pickle): where a match sits can change what
    /// it means (no loader executes safetensors data).
    pub format: Option<FormatId>,
}

/// One rule that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureMatch {
    /// Rule namespace (`signatures::BUNDLED_NAMESPACE` for bundled rules, the file path for user
    /// rules).
    pub namespace: String,
    /// Rule name.
    pub rule: String,
    /// First matched string's identifier (`$eicar`), if the condition used strings.
    pub string: Option<String>,
    /// Offset of that match within the scanned source.
    pub offset: Option<u64>,
    /// The rule's last `severity` meta, as written.
    pub severity: Option<String>,
    /// The rule's last `message` meta.
    pub message: Option<String>,
    /// The rule's first `description` meta (the text when there is no `message`).
    pub description: Option<String>,
}
