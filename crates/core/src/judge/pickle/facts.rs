//! What the pickle analysis found, as plain data for the rules (`rules/pickle.rs`): every
//! point where a verdict is made, in load order, with what the verdict needs — the real
//! target, its capability and how it is reached, argument notes, what evaluated code reaches —
//! and nothing that depends on the policy or decides a severity.
//!
//! Policy enters only in the rules: the user allowlist and `strict` are applied to the
//! [`PickleEvent::UnlistedCall`] and [`PickleEvent::UnlistedImport`] events, which carry the
//! built-in allowlist's answer ([`StaticAllow`]) so that a user pattern can be weighed against
//! it exactly as `Policy::allowed` does.

use serde::{Deserialize, Serialize};

use modelguard_pycode::catalog::Capability;

pub use crate::policy::StaticAllow;
use crate::severity::Reach;

/// One pickle stream's analysis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PickleFacts {
    /// Verdict points, in the order the analysis met them (the report keeps that order).
    pub events: Vec<Located>,
    /// Parts that could not be analysed (a code string that does not parse, a codec not
    /// reproduced): the file cannot be `complete`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<String>,
}

/// An event with where it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Located {
    /// What was found.
    #[serde(flatten)]
    pub event: PickleEvent,
    /// The evidence line: the call or value as the pickle builds it.
    pub evidence: String,
    /// Byte offset of the opcode in the stream, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Index of the opcode from the start of the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opcode: Option<u64>,
}

/// A verdict point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum PickleEvent {
    /// A module-level object or a module is changed (items added, an attribute set).
    GlobalMutation {
        /// What is changed and how.
        message: String,
    },
    /// BUILD overwrites attributes of an imported object.
    GlobalBuild {
        /// `module.qualname` of the object.
        name: String,
        /// The state sets a dunder attribute.
        dunder: bool,
    },
    /// A callable computed at load time, or a module object, is called or resolved.
    Resolver {
        /// What is computed.
        message: String,
    },
    /// The result of another call is called.
    CallsResult {
        /// The inner callable is a factory the ecosystem table knows to be harmless.
        known_factory: bool,
    },
    /// A dunder attribute is called, imported or reached.
    Dunder {
        /// Which and how.
        message: String,
    },
    /// A catalogued capability is reached.
    Capability(CapabilityUse),
    /// A capability reached by code the pickle evaluates or builds.
    CodeHit {
        /// The capability.
        capability: Capability,
        /// What reaches it, through what.
        message: String,
    },
    /// A pickled code object that reaches no capability.
    CodeObject {
        /// What the analysis says of it.
        message: String,
        /// The analysis saw all of it.
        complete: bool,
    },
    /// A name the catalog does not list is called: judged by the allowlists and its use.
    UnlistedCall(UnlistedCall),
    /// A name the catalog does not list is imported and not called.
    UnlistedImport {
        /// Module.
        module: String,
        /// Qualified name.
        name: String,
        /// The built-in allowlist's answer (never `Exact`: those are not recorded).
        allow: Option<StaticAllow>,
        /// A resolver that is imported but never called (inert).
        inert_resolver: bool,
    },
    /// A persistent id where the format does not expect one.
    PersistentId,
    /// A copyreg extension code.
    Extension {
        /// The code.
        code: i64,
        /// `module.name` when the pickle registered the code itself.
        registered: Option<String>,
    },
}

/// A catalogued capability and how it is reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapabilityUse {
    /// The capability.
    pub capability: Capability,
    /// The name shown (`os.system`).
    pub name: String,
    /// Called, referenced, or reached through the callee's own code.
    pub reach: Reach,
    /// How it is reached (` via functools.partial`), empty when directly.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub via: String,
    /// Notes on constant arguments that are evidence (URLs, paths, command lines, code).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// An `open` whose mode only reads.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only_open: bool,
    /// This pickle's code objects were analysed (their verdicts are reported on their own).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub code_objects_analysed: bool,
    /// What each constant code string handed to an evaluator reaches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code: Vec<CodeVerdict>,
    /// Constant payloads handed to a nested loader (analysed as nested files).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub nested_payloads: usize,
    /// For `copyreg._reconstructor`'s class: the class's built-in allowlist answer; the
    /// finding is made only when neither that nor a user pattern allows the class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unless_allowed: Option<AllowGate>,
}

/// A name whose finding an allowlist entry cancels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllowGate {
    /// Module.
    pub module: String,
    /// Qualified name.
    pub qualname: String,
    /// The built-in allowlist's answer.
    pub allow: Option<StaticAllow>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What one code string handed to an evaluator reaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeVerdict {
    /// The capabilities its code reaches (each also a [`PickleEvent::CodeHit`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hits: Vec<Capability>,
    /// The analysis saw all of it.
    pub complete: bool,
    /// Only literals and arithmetic.
    pub inert: bool,
    /// Why it could not be fully analysed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Calls it makes that modelguard cannot judge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_calls: Vec<String>,
}

/// A call of a name the catalog does not list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnlistedCall {
    /// Module.
    pub module: String,
    /// Qualified name.
    pub qualname: String,
    /// The built-in allowlist's answer (never `Exact`: those are not recorded).
    pub allow: Option<StaticAllow>,
    /// Restoring an object (NEWOBJ, or a call without arguments) rather than calling.
    pub class_like: bool,
    /// Notes on constant arguments that are evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The class's `__init__` reaches a capability (the ecosystem table's code analysis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<CapabilityUse>,
}
