//! TorchScript code: the Python-syntax source under `code/` of a `torch.jit.save` archive
//! (the zip walk, `containers/zip.rs`, reads each `code/**.py` member and hands its text
//! here), analysed by modelguard-pycode into [`TorchScriptFacts`] for the rules' checks
//! (`rules/code.rs`). TorchScript compiles only its subset of Python, so a reach into
//! os/subprocess/eval there is deliberate.
//!
//! Must not: read archives (the zip walk does) or decide what a capability is worth (the
//! check does).

use serde::{Deserialize, Serialize};

/// What one TorchScript source file reaches: the facts the rules judge (see
/// [`crate::facts`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TorchScriptFacts {
    /// The analysis of the source: capabilities reached (with the call as evidence and its
    /// line), unresolved calls, whether it saw everything and why not. Payload bytes are not
    /// kept (TorchScript hands none to a loader).
    pub code: modelguard_pycode::CodeFacts,
}

/// Analyse the text of one `code/**.py` member.
pub fn analyze_code(text: &str, limits: &modelguard_pycode::Limits) -> TorchScriptFacts {
    TorchScriptFacts {
        code: modelguard_pycode::analyze_source(text, limits),
    }
}
