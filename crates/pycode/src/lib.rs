//! Python knowledge for modelguard.
//!
//! This crate owns what modelguard knows about Python itself:
//! - [`catalog`]: which importable callables reach which [`catalog::Capability`]
//!   (process execution, dynamic code, filesystem, network, native code, import machinery…),
//!   shared by the pickle rules and the source/bytecode analysers so both judge a name the same way;
//! - [`ecosystem`]: the table of what each spelling a pickle can use really is in the pinned
//!   Python ecosystem (re-exports, module aliases, what a library function's own code reaches,
//!   which arguments it calls), generated from the real packages by `data/gen_ecosystem.py` and
//!   checked against CPython's unpickler; the catalog is matched on the real target it gives;
//! - [`analyze_source`]: analysis of Python source handed to evaluators (eval/exec arguments,
//!   TorchScript code, Keras Lambda strings). It parses with a real parser, resolves imports,
//!   aliases and `getattr`/`__import__`/`globals()` lookups, folds constant expressions
//!   (`'o'+'s'`, `''.join(...)`, `chr(...)`, `[::-1]`, `bytes.fromhex(...)`, …), peels decoding
//!   layers (base64, hex, zlib, bz2, lzma, rot13, …) and follows decoded code into
//!   `exec`/`eval`/`compile`;
//! - [`marshal`] and [`analyze_code`]/[`analyze_marshal`]: decoding of marshalled code objects
//!   (CPython 3.6–3.14) and the same capability analysis run over their bytecode;
//! - [`knowledge`]: the shared lists (decoders, resolvers, introspection and data dunders)
//!   every analyser uses, here and in the core crate's pickle judge;
//! - [`decode`]: the decoding layers, also usable directly by the core crate, and Python's own
//!   codecs reproduced exactly ([`decode::codecs_decode`], [`decode::codecs_encode`],
//!   [`decode::bytes_decode`], [`decode::str_encode`]): `codecs.lookup` normalisation and
//!   aliases, UTF-7/8/16/32, `unicode_escape`/`raw_unicode_escape`, punycode, idna, the
//!   single-byte code pages, rot13 and the bytes-to-bytes codecs, differentially tested against
//!   CPython. A codec call it cannot reproduce is [`decode::CodecError::Unanalysable`], never
//!   the input passed through.
//!
//! It must not read files, know about model formats or decide severities: it reports facts
//! (capabilities reached, with evidence); the core crate's rules turn them into findings.
//!
//! How facts are judged:
//! - a call is a [`Hit`] when its resolved target is in the catalog; a catalogued callable
//!   passed as an argument, stored in a container or returned counts too (`map(os.system, …)`);
//! - attribute access to introspection dunders (`__subclasses__`, `__globals__`, …) is an
//!   [`catalog::Capability::Introspection`] hit with the access as evidence;
//! - an evaluator (`exec`, `eval`, `compile`, `timeit.timeit`, `cProfile.run`, …) or
//!   `marshal.loads` given constant (folded, decoded) input is not a hit itself: the code it
//!   runs is analysed and its hits carry the path in [`Hit::chain`] (`["base64", "exec"]`), so
//!   `eval('1+1')` stays inert. With non-constant input it is a hit;
//! - `getattr`/`__import__`/`importlib.import_module`/`globals()[…]` with constant names
//!   resolve like attribute access and `import`; with unknown names they are hits;
//! - decoded data that nothing consumes is examined at the end: source and marshalled code are
//!   analysed, pickles returned as [`Payload`]s, compressed data decompressed (chain step
//!   `decoded`);
//! - calls the analysis cannot resolve to a catalogued or known-safe callable are listed in
//!   [`CodeFacts::unknown_calls`].
//!
//! ```
//! use modelguard_pycode::{Limits, analyze_source, catalog::Capability};
//!
//! let facts = analyze_source("getattr(__import__('o'+'s'), 'sys'+'tem')('id')", &Limits::default());
//! assert!(facts.hits.iter().any(|h| h.capability == Capability::ProcessExec && h.target == "os.system"));
//!
//! let benign = analyze_source("lambda x: x * 2", &Limits::default());
//! assert!(benign.inert);
//! ```
#![forbid(unsafe_code)]

mod bytecode;
mod capability;
pub mod catalog;
#[allow(clippy::unreadable_literal)]
mod codec_tables;
pub mod decode;
pub mod ecosystem;
mod engine;
pub mod knowledge;
pub mod marshal;
mod opcodes;
mod pycodecs;
mod source;
pub mod strfmt;
mod syntax;

/// The walkers the engine hands nested code to (the engine does not import them).
const RUNNERS: engine::Runners = engine::Runners {
    source: source::run,
    marshal: bytecode::run_marshal,
};

use serde::{Deserialize, Serialize};

/// Resource limits for every analysis in this crate. All inputs are hostile: each limit turns
/// an unbounded cost into `complete = false` with an error, never a panic or a hang.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Longest source text analysed (bytes); longer text is not parsed.
    pub max_source_bytes: usize,
    /// Most AST nodes (and bytecode instructions) visited in one analysis, nested layers included.
    pub max_ast_nodes: usize,
    /// Deepest recursion of the analysers (nested expressions/statements, shared by nested
    /// layers). Source whose token-level nesting exceeds 20× this is not parsed at all (the
    /// parser's AST would be too deep to drop safely). About 1 MiB of stack suffices for the
    /// default in debug builds, far less in release builds.
    pub max_depth: usize,
    /// Total bytes produced by decoding layers (base64, zlib, …) across one analysis.
    pub max_decoded_bytes: usize,
    /// Most nested decoding/evaluation layers followed (`exec(b64decode(zlib…))`).
    pub max_decode_layers: usize,
    /// Most objects materialised by one marshal load (references count their full size).
    pub max_marshal_objects: usize,
    /// Deepest container nesting in marshal data.
    pub max_marshal_depth: usize,
    /// Longest constant string/bytes/sequence built by constant folding.
    pub max_fold_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_source_bytes: 4 << 20,
            max_ast_nodes: 500_000,
            max_depth: 200,
            max_decoded_bytes: 32 << 20,
            max_decode_layers: 12,
            max_marshal_objects: 500_000,
            max_marshal_depth: 200,
            max_fold_len: 1 << 20,
        }
    }
}

/// One capability reached by analysed code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Hit {
    /// What the code can do (from the [`catalog`]).
    pub capability: catalog::Capability,
    /// Resolved dotted name (`os.system`, `builtins.eval`) or, for introspection escapes, the
    /// dunder attribute reached (`__subclasses__`).
    pub target: String,
    /// Short rendering of the call or access, e.g. `os.system('id')`.
    pub evidence: String,
    /// Decoding/evaluation path that led to this code, outermost first, e.g.
    /// `["base64", "zlib", "exec"]`; empty for code analysed directly.
    pub chain: Vec<String>,
    /// 1-based line in the analysed source (for code reached through decoding layers, the line
    /// of the outermost call site); for bytecode, the code object's first line.
    pub line: Option<u32>,
}

/// Kind of an embedded payload found by decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadKind {
    /// A pickle stream (PROTO header, or a protocol-0 stream ending in `.`).
    Pickle,
    /// A marshalled code object.
    Marshal,
    /// Python source text.
    Source,
    /// Compressed data, recognised by its magic number.
    Compressed(decode::Encoding),
}

/// Data found by decoding that this crate cannot analyse itself (nested pickles): returned so
/// the caller can run it through the right analyser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// What the data looks like.
    pub kind: PayloadKind,
    /// The decoded bytes (not serialised: reports carry the kind and chain only).
    #[serde(skip)]
    pub data: Vec<u8>,
    /// Decoding/evaluation path that produced it (as in [`Hit::chain`]), ending with the
    /// consumer, e.g. `["base64", "pickle.loads"]`.
    pub chain: Vec<String>,
}

/// Facts about one piece of code: what it reaches, what could not be resolved, and whether the
/// analysis saw everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CodeFacts {
    /// Capabilities reached, deduplicated.
    pub hits: Vec<Hit>,
    /// Calls whose target could not be resolved to a known-safe callable or a catalog entry
    /// (`x.system` on an unknown `x`, `collections.OrderedDict`, `foo`), deduplicated.
    pub unknown_calls: Vec<String>,
    /// Nested payloads (pickles) for the caller to analyse.
    pub payloads: Vec<Payload>,
    /// True when the code is complete, reaches no capability, makes no unknown call and hands
    /// back no payload: only literals, arithmetic, comparisons, calls of safe builtins
    /// (`len`, `range`, `int`, `print`, …), numeric-framework calls (`tf.*`, `K.*`, `np.*`,
    /// `torch.*`, `math.*` outside the catalog) and method calls on arguments (`x.reshape`).
    pub inert: bool,
    /// Problems met (parse errors, decode errors, limits hit).
    pub errors: Vec<String>,
    /// False when a limit stopped the analysis or the input could not be parsed or decoded.
    pub complete: bool,
}

/// Analyse Python source text (a module, statement list or single expression).
///
/// Never panics; parse failures and limits make `complete` false with an error.
pub fn analyze_source(src: &str, limits: &Limits) -> CodeFacts {
    let mut eng = engine::Engine::new(limits, RUNNERS);
    let site = engine::Site::root();
    source::run(&mut eng, src, &site);
    eng.drain_pending();
    eng.finish()
}

/// Analyse a decoded code object (and the code objects nested in its constants).
pub fn analyze_code(code: &marshal::Code, limits: &Limits) -> CodeFacts {
    let mut eng = engine::Engine::new(limits, RUNNERS);
    let site = engine::Site::root();
    bytecode::run(&mut eng, code, &site);
    eng.drain_pending();
    eng.finish()
}

/// Decode marshal data (optionally behind a `.pyc` header) and analyse every code object in it.
///
/// `version` selects the CPython code-object layout and opcode table; `None` detects it.
/// Decode errors make `complete` false with an error.
pub fn analyze_marshal(data: &[u8], version: Option<(u8, u8)>, limits: &Limits) -> CodeFacts {
    let mut eng = engine::Engine::new(limits, RUNNERS);
    let site = engine::Site::root();
    bytecode::run_marshal(&mut eng, data, version, &site);
    eng.drain_pending();
    eng.finish()
}
