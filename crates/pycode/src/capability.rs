//! The capabilities a Python callable can reach: the vocabulary shared by the catalog (which
//! names reach which capability) and the ecosystem table (what a library function's own code
//! reaches), so neither imports the other for it.
//!
//! Must not: know any name; matching names to capabilities is [`crate::catalog`]'s job.

use serde::Serialize;

/// A dangerous thing a callable can do when called (or, for classes, instantiated).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Starts a process or a shell (os.system, subprocess, pty.spawn, pip…).
    ProcessExec,
    /// Compiles or runs Python code from data (eval, exec, runpy, cProfile.run…).
    DynamicCode,
    /// Creates code or function objects from parts (types.CodeType, cloudpickle._make_function).
    CodeObject,
    /// Imports or resolves arbitrary names (__import__, importlib, pkgutil.resolve_name,
    /// operator.attrgetter): a step towards any other capability.
    ImportMachinery,
    /// Reaches interpreter internals (getattr, globals, vars, sys._getframe, gc).
    Introspection,
    /// Deserialises nested data that can itself run code (pickle.loads, torch.load, marshal).
    Deserialize,
    /// Writes, deletes or changes files and permissions.
    FileWrite,
    /// Reads files or lists directories.
    FileRead,
    /// Opens network connections or fetches URLs.
    Network,
    /// Loads or calls native code (ctypes, cffi, C extensions, cpp_extension).
    NativeCode,
    /// Changes process-wide state (environment, signals, exit, kill).
    ProcessControl,
}

impl Capability {
    /// Stable kebab-case name, used in evidence and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::ProcessExec => "process-exec",
            Capability::DynamicCode => "dynamic-code",
            Capability::CodeObject => "code-object",
            Capability::ImportMachinery => "import-machinery",
            Capability::Introspection => "introspection",
            Capability::Deserialize => "deserialize",
            Capability::FileWrite => "file-write",
            Capability::FileRead => "file-read",
            Capability::Network => "network",
            Capability::NativeCode => "native-code",
            Capability::ProcessControl => "process-control",
        }
    }

    /// One-line description for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Capability::ProcessExec => "runs a process or shell command",
            Capability::DynamicCode => "compiles or executes Python code",
            Capability::CodeObject => "builds a code or function object",
            Capability::ImportMachinery => "imports or resolves arbitrary names",
            Capability::Introspection => "reaches interpreter internals",
            Capability::Deserialize => "deserialises nested data that can run code",
            Capability::FileWrite => "writes or deletes files",
            Capability::FileRead => "reads files",
            Capability::Network => "opens network connections",
            Capability::NativeCode => "loads native code",
            Capability::ProcessControl => "changes process-wide state",
        }
    }
}
