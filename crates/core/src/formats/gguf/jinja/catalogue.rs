//! The escape catalogue: the Python names and Jinja filters the analysis knows about (names
//! that lead to code, command functions, filters taking attribute names, methods that
//! change values in place, filters whose result is text or a number).
//!
//! It also names the kinds of construct the analysis reports ([`EscapeKind`]).
//!
//! Must not: evaluate anything or decide severities (the rules map each kind to a
//! severity); it holds plain tables only.

use serde::{Deserialize, Serialize};

/// What kind of sandbox-escape construct a template uses. The analysis says what it found;
/// `rules::gguf` says what each kind is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EscapeKind {
    /// A name of [`ESCAPE`] accessed or built (`__globals__`, `__subclasses__`, frames…): a
    /// path to arbitrary code.
    CodeName,
    /// A command function of [`EXEC`] reached or called through internal names
    /// (`cycler.__init__.__globals__.os.popen`).
    CommandThroughInternals,
    /// Another dunder attribute (`__class__`, `__mro__`, or `mro`) accessed or built.
    Dunder,
    /// A command function of [`EXEC_STRONG`] (or `getattr`, `setattr`, `open`) called on an
    /// ordinary value; in a template that does not parse, named after a dot.
    CommandCall,
    /// A name computed at render time used where it may reach internals (`|attr(x)`,
    /// `lipsum[x]`, `map(x, …)`, `str.format` with a computed format); in a template that
    /// does not parse, any `|attr`.
    DynamicName,
    /// `{% include %}`, `{% import %}`, `{% from … import %}` or `{% extends %}`.
    TemplateLoad,
    /// A private (`_name`) attribute.
    Private,
}

/// Names whose access gives a path to arbitrary code (module globals, builtins, every class
/// of the process, frames): an escape exists.
pub(super) const ESCAPE: &[&str] = &[
    "__globals__",
    "__builtins__",
    "__subclasses__",
    "__import__",
    "__code__",
    "__loader__",
    "__spec__",
    "func_globals",
    "func_code",
    "f_globals",
    "f_locals",
    "f_builtins",
    "f_back",
    "gi_frame",
    "cr_frame",
    "ag_frame",
    "tb_frame",
    "_TemplateReference__context",
];

/// Callables that run commands, evaluate code or open files once reached.
pub(super) const EXEC: &[&str] = &[
    "popen",
    "system",
    "spawn",
    "spawnv",
    "spawnl",
    "execv",
    "execl",
    "execve",
    "exec",
    "eval",
    "compile",
    "__import__",
    "import_module",
    "load_module",
    "check_output",
    "check_call",
    "getoutput",
    "getstatusoutput",
    "Popen",
    "run",
    "call",
    "open",
    "subprocess",
    "os",
    "system",
];

/// Of [`EXEC`], the names no benign template calls even without a dunder chain.
pub(super) const EXEC_STRONG: &[&str] = &[
    "popen",
    "system",
    "spawnv",
    "spawnl",
    "execv",
    "execl",
    "execve",
    "eval",
    "exec",
    "__import__",
    "import_module",
    "check_output",
    "getoutput",
    "getstatusoutput",
    "Popen",
];

/// Filters that take an attribute name (dotted paths allowed) as a keyword `attribute`.
pub(super) const ATTRIBUTE_FILTERS: &[&str] = &[
    "map",
    "selectattr",
    "rejectattr",
    "sort",
    "groupby",
    "unique",
    "sum",
    "min",
    "max",
];

/// Methods that change a list, dict or set in place.
pub(super) const MUTATORS: &[&str] = &[
    "append",
    "extend",
    "insert",
    "update",
    "setdefault",
    "add",
    "pop",
    "popitem",
    "clear",
    "remove",
    "discard",
    "reverse",
    "sort",
];

/// Filters that render their input as text in ways not modelled here.
pub(super) const TEXT_FILTERS: &[&str] = &[
    "center",
    "indent",
    "wordwrap",
    "truncate",
    "striptags",
    "urlencode",
    "urlize",
    "xmlattr",
    "filesizeformat",
    "forceescape",
];

/// Filters whose result is a number or a boolean.
pub(super) const NUM_FILTERS: &[&str] = &[
    "length",
    "count",
    "wordcount",
    "int",
    "float",
    "round",
    "abs",
];
