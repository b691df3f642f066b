//! The symbolic evaluator shared by the source (AST) and bytecode analysers.
//!
//! Values are abstract ([`Val`]): constants that can be folded (strings, bytes, ints, tuples),
//! importable names (`Global("os.system")`), the builtins namespace, data flowing from
//! function parameters, objects reached through introspection, and "unknown". The walkers
//! (`source.rs`, `bytecode.rs`) resolve names and control flow; this module gives meaning to
//! attribute access, subscripts, calls and operators, records [`Hit`]s, unknown calls and
//! payloads, and follows constant code into `exec`/`eval`/`compile`/`marshal.loads`.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::rc::Rc;

use crate::catalog::{self, Capability};
use crate::decode::{self, Encoding, PyStr, PyValue};
use crate::knowledge::{DECODER_MODULES, INTROSPECTION_ATTRS, MODULE_DUNDER_DATA};
use crate::{CodeFacts, Hit, Limits, Payload, PayloadKind};

/// Longest rendering kept in evidence strings.
const EVIDENCE_MAX: usize = 200;
/// Longest dotted path tracked before giving up on a name.
const PATH_MAX: usize = 512;
/// Caps on collected facts (memory bounds; crossing one makes the analysis incomplete).
const MAX_HITS: usize = 1000;
const MAX_UNKNOWN: usize = 200;
const MAX_PAYLOADS: usize = 64;
const MAX_ERRORS: usize = 32;
/// Total folded data across one analysis, as a multiple of `max_fold_len`.
const FOLD_TOTAL_FACTOR: usize = 16;

/// Names of the builtins module (Python 3, plus a few Python 2 names).
const BUILTIN_NAMES: &[&str] = &[
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "copyright",
    "credits",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "exit",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "license",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "quit",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
    "__import__",
    "__build_class__",
    "__debug__",
    "NotImplemented",
    "Ellipsis",
    "execfile",
    "apply",
    "file",
    "reload",
    "unicode",
    "long",
    "xrange",
    "basestring",
    "raw_input",
    "unichr",
    "buffer",
    "intern",
    "cmp",
    "coerce",
];

/// Builtins that are safe to call (no capability), for inertness.
const SAFE_BUILTINS: &[&str] = &[
    "abs",
    "all",
    "any",
    "ascii",
    "bin",
    "bool",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "complex",
    "dict",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "format",
    "frozenset",
    "hasattr",
    "hash",
    "hex",
    "id",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "object",
    "oct",
    "ord",
    "pow",
    "print",
    "property",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "zip",
    "NotImplemented",
    "Ellipsis",
    "unicode",
    "long",
    "xrange",
    "basestring",
    "unichr",
    "cmp",
    "memoryview",
    "aiter",
    "anext",
];

/// Conventional aliases of numeric frameworks, resolved when a name is otherwise unbound
/// (Keras Lambda bodies use `tf`, `K`, `np` from the defining module).
const KNOWN_ALIASES: &[(&str, &str)] = &[
    ("tf", "tensorflow"),
    ("tensorflow", "tensorflow"),
    ("K", "keras.backend"),
    ("keras", "keras"),
    ("np", "numpy"),
    ("numpy", "numpy"),
    ("jnp", "jax.numpy"),
    ("jax", "jax"),
    ("torch", "torch"),
    ("F", "torch.nn.functional"),
    ("nn", "torch.nn"),
    ("math", "math"),
    ("ops", "keras.ops"),
    // TorchScript `code/*.py` builtins.
    ("__torch__", "torch"),
    ("annotate", "torch.jit.annotate"),
    ("uninitialized", "torch.jit.uninitialized"),
    ("unchecked_cast", "torch.jit.unchecked_cast"),
];

/// Operator namespaces inside catalogued modules that are plain tensor operations (TorchScript
/// code calls `torch._C._nn.gelu`, while `torch._C` as a whole reaches native internals).
const SAFE_OP_NAMESPACES: &[&str] = &[
    "torch._C._nn.",
    "torch._C._fft.",
    "torch._C._linalg.",
    "torch._C._special.",
    "torch._C._nested.",
    "torch._C._sparse.",
    "torch._C._VariableFunctions.",
];

/// Module prefixes whose uncatalogued callables are numeric operations on data.
const DATA_LIBS: &[&str] = &[
    "tensorflow",
    "keras",
    "tf_keras",
    "numpy",
    "torch",
    "jax",
    "math",
    "cmath",
    "operator",
    "einops",
    "typing",
];

/// Method names that stay suspicious even on function arguments (a parameter could be a
/// module handed in by the caller): calling them is recorded as an unknown call.
const SUSPICIOUS_METHODS: &[&str] = &[
    "system",
    "popen",
    "popen2",
    "popen3",
    "Popen",
    "spawnl",
    "spawnle",
    "spawnlp",
    "spawnv",
    "spawnve",
    "spawnvp",
    "execl",
    "execle",
    "execlp",
    "execv",
    "execve",
    "execvp",
    "execvpe",
    "check_output",
    "check_call",
    "getoutput",
    "getstatusoutput",
    "startfile",
    "__import__",
    "import_module",
    "exec",
    "eval",
    "loads",
    "load_library",
    "urlopen",
    "rmtree",
    "unlink",
];

/// Functions that evaluate a code string: path → (positional index, keyword) of code args.
const CODE_RUNNERS: &[(&str, &[(usize, &str)])] = &[
    ("builtins.eval", &[(0, "source")]),
    ("builtins.exec", &[(0, "source")]),
    ("builtins.compile", &[(0, "source")]),
    ("timeit.timeit", &[(0, "stmt"), (1, "setup")]),
    ("timeit.repeat", &[(0, "stmt"), (1, "setup")]),
    ("timeit.Timer", &[(0, "stmt"), (1, "setup")]),
    ("cProfile.run", &[(0, "statement")]),
    ("cProfile.runctx", &[(0, "statement")]),
    ("profile.run", &[(0, "statement")]),
    ("profile.runctx", &[(0, "statement")]),
    ("pdb.run", &[(0, "statement")]),
    ("pdb.runeval", &[(0, "expression")]),
    ("pdb.runctx", &[(0, "statement")]),
    ("runpy._run_code", &[(0, "code")]),
    ("numpy.testing._private.utils.runstring", &[(0, "astr")]),
    ("numpy.testing.runstring", &[(0, "astr")]),
    (
        "torch.jit.unsupported_tensor_ops.execWrapper",
        &[(0, "code")],
    ),
    ("doctest.debug_script", &[(0, "src")]),
    ("code.compile_command", &[(0, "source")]),
    ("codeop.compile_command", &[(0, "source")]),
];

/// Callables that unpickle (or otherwise deserialise) their bytes argument.
const PICKLE_LOADERS: &[&str] = &[
    "pickle.loads",
    "pickle.load",
    "pickle._loads",
    "pickle._load",
    "_pickle.loads",
    "_pickle.load",
    "cPickle.loads",
    "cPickle.load",
    "dill.loads",
    "dill.load",
    "cloudpickle.loads",
    "cloudpickle.load",
    "joblib.load",
    "torch.load",
    "numpy.load",
    "pandas.read_pickle",
    "jsonpickle.decode",
];

/// Other known-safe callables (constant producers and converters).
const SAFE_CALLS: &[&str] = &[
    "codecs.decode",
    "codecs.encode",
    "_codecs.decode",
    "_codecs.encode",
    "io.BytesIO",
    "io.StringIO",
    "base64.b64encode",
    "base64.encodebytes",
    "binascii.hexlify",
    "binascii.b2a_hex",
    "string.ascii_letters",
    "builtins.str.join",
    "builtins.bytes.join",
    "builtins.str.format",
];

/// Which entry point of Python's codec machinery a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodecOp {
    /// `codecs.decode(obj, encoding, errors)`.
    CodecsDecode,
    /// `codecs.encode(obj, encoding, errors)`.
    CodecsEncode,
    /// `bytes.decode(encoding, errors)`.
    BytesDecode,
    /// `str.encode(encoding, errors)`.
    StrEncode,
}

/// The chain step a codec adds (`None` for plain text encodings, which hide nothing).
fn codec_step(module: &str) -> Option<&str> {
    match module {
        "utf_8" | "ascii" | "latin_1" | "iso8859_1" | "charmap" => None,
        "rot_13" => Some("rot13"),
        m => Some(m.strip_suffix("_codec").unwrap_or(m)),
    }
}

/// An abstract Python value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    /// Nothing is known.
    Unknown,
    /// A value derived from the inputs (parameters) by data operations.
    Data,
    /// A function parameter.
    Param(String),
    /// An unresolved name or attribute chain (rendered), e.g. `foo` or `x.bar`.
    Free(String),
    /// A constant string, with the decoding steps that produced it. Shared: clones are cheap.
    Str(Rc<str>, Vec<String>),
    /// Constant bytes, with the decoding steps that produced them.
    Bytes(Rc<[u8]>, Vec<String>),
    /// A constant int.
    Int(i128),
    /// A constant float.
    Float(f64),
    /// A constant bool.
    Bool(bool),
    /// `None`.
    NoneV,
    /// A tuple, list or set of values.
    Seq(Rc<[Val]>),
    /// A dict literal.
    Dict(Rc<[(Val, Val)]>),
    /// A slice object (bytecode `BUILD_SLICE`).
    Slice(Option<i128>, Option<i128>, Option<i128>),
    /// An importable object by dotted path (modules included): `os`, `os.system`,
    /// `builtins.eval`.
    Global(String),
    /// The builtins namespace (`__builtins__`, as module or dict).
    Builtins,
    /// `globals()`/`locals()`/`vars()` of the running code.
    Globals,
    /// The attribute dict of a value (`x.__dict__`, `vars(x)`).
    AttrDict(Box<Val>),
    /// An object reached through an introspection escape (rendered chain).
    Introspect(String),
    /// A method of a constant, awaiting its call (for folding).
    Method(Box<Val>, String),
    /// A user-defined function, lambda or class, with what calling it returns.
    Func(Box<Val>),
    /// A code object already analysed (result of `compile()` or `marshal.loads` on constants).
    CodeDone,
    /// The result of calling something that is not a data operation (rendered).
    Opaque(String),
    /// The bytecode NULL marker.
    Null,
    /// `__build_class__` pushed by `LOAD_BUILD_CLASS`.
    BuildClass,
}

impl Val {
    /// Short human rendering.
    pub(crate) fn render(&self) -> String {
        let s = match self {
            Val::Unknown => "…".to_string(),
            Val::Data => "<data>".to_string(),
            Val::Param(n) | Val::Free(n) | Val::Introspect(n) | Val::Opaque(n) => n.clone(),
            Val::Str(s, _) => py_repr_str(s, 60),
            Val::Bytes(b, _) => py_repr_bytes(b, 60),
            Val::Int(i) => i.to_string(),
            Val::Float(f) => f.to_string(),
            Val::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            Val::NoneV => "None".to_string(),
            Val::Seq(v) => {
                let inner: Vec<String> = v.iter().take(8).map(Val::render).collect();
                let more = if v.len() > 8 { ", …" } else { "" };
                format!("[{}{more}]", inner.join(", "))
            }
            Val::Dict(_) => "{…}".to_string(),
            Val::Slice(..) => "slice(…)".to_string(),
            Val::Global(p) => p.strip_prefix("builtins.").unwrap_or(p).to_string(),
            Val::Builtins => "__builtins__".to_string(),
            Val::Globals => "globals()".to_string(),
            Val::AttrDict(v) => format!("{}.__dict__", v.render()),
            Val::Method(v, m) => format!("{}.{m}", v.render()),
            Val::Func(_) => "<function>".to_string(),
            Val::CodeDone => "<code>".to_string(),
            Val::Null => "NULL".to_string(),
            Val::BuildClass => "__build_class__".to_string(),
        };
        truncate(&s, EVIDENCE_MAX)
    }

    fn is_data(&self) -> bool {
        matches!(self, Val::Data | Val::Param(_))
    }

    /// Provenance (decoding steps) of a constant.
    fn prov(&self) -> &[String] {
        match self {
            Val::Str(_, p) | Val::Bytes(_, p) => p,
            _ => &[],
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s, _) => Some(s),
            _ => None,
        }
    }

    fn as_int(&self) -> Option<i128> {
        match self {
            Val::Int(i) => Some(*i),
            Val::Bool(b) => Some(i128::from(*b)),
            _ => None,
        }
    }

    /// Python truthiness of a constant.
    pub(crate) fn truthy(&self) -> Option<bool> {
        match self {
            Val::Str(s, _) => Some(!s.is_empty()),
            Val::Bytes(b, _) => Some(!b.is_empty()),
            Val::Int(i) => Some(*i != 0),
            Val::Float(f) => Some(*f != 0.0),
            Val::Bool(b) => Some(*b),
            Val::NoneV => Some(false),
            Val::Seq(v) => Some(!v.is_empty()),
            Val::Dict(v) => Some(!v.is_empty()),
            Val::Global(_) | Val::Func(_) | Val::Builtins => Some(true),
            _ => None,
        }
    }

    /// Elements of an iterable constant (str → chars, bytes → ints), if there are at most
    /// `max` of them.
    pub(crate) fn elements(&self, max: usize) -> Option<Vec<Val>> {
        match self {
            Val::Seq(v) if v.len() <= max => Some(v.to_vec()),
            Val::Str(s, _) if s.len() <= max.saturating_mul(4) && s.chars().count() <= max => Some(
                s.chars()
                    .map(|c| Val::Str(c.to_string().into(), Vec::new()))
                    .collect(),
            ),
            Val::Bytes(b, _) if b.len() <= max => {
                Some(b.iter().map(|&x| Val::Int(i128::from(x))).collect())
            }
            Val::Dict(kv) if kv.len() <= max => Some(kv.iter().map(|(k, _)| k.clone()).collect()),
            _ => None,
        }
    }

    /// Memory a folded value newly allocates, in fold units: bytes of text, or 16 per
    /// sequence slot (elements themselves are shared).
    fn fold_size(&self) -> usize {
        match self {
            Val::Str(s, _) => s.len(),
            Val::Bytes(b, _) => b.len(),
            Val::Seq(v) => v.len().saturating_mul(16),
            Val::Dict(v) => v.len().saturating_mul(32),
            _ => 0,
        }
    }
}

/// Operators the walkers hand to [`Engine::binop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    MatMul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    LShift,
    RShift,
    BitOr,
    BitXor,
    BitAnd,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnOp {
    Neg,
    Pos,
    Invert,
    Not,
}

/// Where code being analysed came from: the decoding/evaluation path and the outer line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Site {
    pub chain: Vec<String>,
    /// Line of the outermost call site, when this code was reached through a layer.
    pub line: Option<u32>,
}

impl Site {
    pub(crate) fn root() -> Site {
        Site::default()
    }

    fn nested(&self, steps: &[String], step: &str, line: Option<u32>) -> Site {
        let mut chain = self.chain.clone();
        chain.extend(steps.iter().cloned());
        chain.push(step.to_string());
        Site {
            chain,
            line: self.line.or(line),
        }
    }
}

/// A decoded blob waiting to be examined at the end of the analysis.
struct Pending {
    data: Rc<[u8]>,
    prov: Vec<String>,
    site: Site,
    line: Option<u32>,
}

fn blob_hash(data: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    data.hash(&mut h);
    h.finish()
}

/// A call as the walkers present it.
pub(crate) struct CallArgs<'a> {
    pub args: &'a [Val],
    pub kwargs: &'a [(String, Val)],
    /// Evidence rendering of the call.
    pub evidence: &'a str,
    pub line: Option<u32>,
}

impl CallArgs<'_> {
    fn arg(&self, pos: usize, kw: &str) -> Option<&Val> {
        self.kwargs
            .iter()
            .find(|(k, _)| k == kw)
            .map(|(_, v)| v)
            .or_else(|| self.args.get(pos))
    }
}

/// Accumulates facts and budgets across one analysis (nested layers included).
pub(crate) struct Engine<'l> {
    pub limits: &'l Limits,
    hits: Vec<Hit>,
    hit_set: HashSet<Hit>,
    unknown: Vec<String>,
    unknown_set: HashSet<String>,
    payloads: Vec<Payload>,
    errors: Vec<String>,
    complete: bool,
    decoded: usize,
    /// Decoded blobs not (yet) consumed by a decoder, evaluator or loader.
    pending: Vec<Pending>,
    /// Hashes of blobs that were consumed (or already examined).
    consumed: HashSet<u64>,
    folded: usize,
    nodes: usize,
    /// Current recursion depth of the walkers (shared across nested layers).
    pub depth: usize,
}

impl<'l> Engine<'l> {
    pub(crate) fn new(limits: &'l Limits) -> Self {
        Engine {
            limits,
            hits: Vec::new(),
            hit_set: HashSet::new(),
            unknown: Vec::new(),
            unknown_set: HashSet::new(),
            payloads: Vec::new(),
            errors: Vec::new(),
            complete: true,
            decoded: 0,
            pending: Vec::new(),
            consumed: HashSet::new(),
            folded: 0,
            nodes: 0,
            depth: 0,
        }
    }

    pub(crate) fn finish(self) -> CodeFacts {
        let inert = self.complete
            && self.hits.is_empty()
            && self.unknown.is_empty()
            && self.payloads.is_empty();
        CodeFacts {
            hits: self.hits,
            unknown_calls: self.unknown,
            payloads: self.payloads,
            inert,
            errors: self.errors,
            complete: self.complete,
        }
    }

    fn consume(&mut self, data: &[u8]) {
        self.consumed.insert(blob_hash(data));
    }

    /// Examine decoded blobs that no evaluator, decoder or loader consumed: a pickle is
    /// handed back as a payload, marshalled code and Python source are analysed (chain step
    /// `decoded`), compressed data is decompressed and examined in turn. Speculative: a blob
    /// that only looks like one of these adds no error.
    pub(crate) fn drain_pending(&mut self) {
        let mut rounds = 0;
        while !self.pending.is_empty() && rounds <= self.limits.max_decode_layers {
            rounds += 1;
            for p in std::mem::take(&mut self.pending) {
                if self.exhausted() || !self.consumed.insert(blob_hash(&p.data)) {
                    continue;
                }
                let nested = p.site.nested(&p.prov, "decoded", p.line);
                if nested.chain.len() > self.limits.max_decode_layers {
                    continue;
                }
                match decode::sniff_payload(&p.data) {
                    Some(PayloadKind::Pickle) => {
                        self.payload(
                            &p.site,
                            PayloadKind::Pickle,
                            p.data.to_vec(),
                            &p.prov,
                            "decoded",
                        );
                    }
                    Some(PayloadKind::Marshal)
                        if crate::marshal::loads(&p.data, None, self.limits).is_ok() =>
                    {
                        crate::bytecode::run_marshal(self, &p.data, None, &nested);
                    }
                    Some(PayloadKind::Source) => {
                        if let Ok(text) = std::str::from_utf8(&p.data) {
                            crate::source::run(self, text, &nested);
                        }
                    }
                    Some(PayloadKind::Compressed(enc)) => {
                        let remaining = self.limits.max_decoded_bytes.saturating_sub(self.decoded);
                        let budget = Limits {
                            max_decoded_bytes: remaining,
                            ..self.limits.clone()
                        };
                        if let Ok(out) = decode::decode(enc, &p.data, &budget) {
                            self.decoded = self.decoded.saturating_add(out.len());
                            let mut prov = p.prov.clone();
                            prov.push(enc.as_str().to_string());
                            self.pending.push(Pending {
                                data: out.into(),
                                prov,
                                site: p.site.clone(),
                                line: p.line,
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Record a problem that makes the analysis incomplete.
    pub(crate) fn incomplete(&mut self, msg: impl Into<String>) {
        self.complete = false;
        self.error(msg);
    }

    /// Record a problem (deduplicated, capped).
    pub(crate) fn error(&mut self, msg: impl Into<String>) {
        let msg = msg.into();
        if self.errors.len() < MAX_ERRORS && !self.errors.contains(&msg) {
            self.errors.push(msg);
        }
    }

    /// Count one visited node/instruction; false once the budget is spent.
    pub(crate) fn tick(&mut self) -> bool {
        self.nodes = self.nodes.saturating_add(1);
        if self.nodes > self.limits.max_ast_nodes {
            if self.complete || !self.errors.iter().any(|e| e.contains("max_ast_nodes")) {
                self.incomplete("limit max_ast_nodes reached: analysis stopped");
            }
            return false;
        }
        true
    }

    /// Whether the node budget is spent.
    pub(crate) fn exhausted(&self) -> bool {
        self.nodes > self.limits.max_ast_nodes
    }

    /// Enter one recursion level; false (and incomplete) past `max_depth`.
    pub(crate) fn enter(&mut self) -> bool {
        if self.depth >= self.limits.max_depth {
            if !self.errors.iter().any(|e| e.contains("max_depth")) {
                self.incomplete("limit max_depth reached: nested code not analysed");
            }
            self.complete = false;
            return false;
        }
        self.depth += 1;
        true
    }

    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    pub(crate) fn hit(
        &mut self,
        site: &Site,
        capability: Capability,
        target: &str,
        evidence: &str,
        line: Option<u32>,
    ) {
        let hit = Hit {
            capability,
            target: target.to_string(),
            evidence: truncate(&one_line(evidence), EVIDENCE_MAX),
            chain: site.chain.clone(),
            line: site.line.or(line),
        };
        if self.hit_set.contains(&hit) {
            return;
        }
        if self.hits.len() >= MAX_HITS {
            self.incomplete("too many hits: further hits dropped");
            return;
        }
        self.hit_set.insert(hit.clone());
        self.hits.push(hit);
    }

    pub(crate) fn unknown_call(&mut self, name: &str) {
        let name = truncate(&one_line(name), EVIDENCE_MAX);
        if self.unknown_set.contains(&name) {
            return;
        }
        if self.unknown.len() >= MAX_UNKNOWN {
            self.incomplete("too many unknown calls: further ones dropped");
            return;
        }
        self.unknown_set.insert(name.clone());
        self.unknown.push(name);
    }

    fn payload(
        &mut self,
        site: &Site,
        kind: PayloadKind,
        data: Vec<u8>,
        prov: &[String],
        step: &str,
    ) {
        if self.payloads.len() >= MAX_PAYLOADS {
            self.incomplete("too many payloads: further ones dropped");
            return;
        }
        let chain = site.nested(prov, step, None).chain;
        self.payloads.push(Payload { kind, data, chain });
    }

    /// Check a folded value against `max_fold_len`; oversize values become unknown.
    pub(crate) fn fold(&mut self, v: Val) -> Val {
        let size = v.fold_size();
        if size > self.limits.max_fold_len {
            return self.fold_oversize_val(&v);
        }
        // All folds of one analysis share a budget, so many folds cannot add up unbounded.
        self.folded = self.folded.saturating_add(size);
        if self.folded > self.limits.max_fold_len.saturating_mul(FOLD_TOTAL_FACTOR) {
            self.incomplete("limit max_fold_len reached: total folded data, constant not folded");
            return Val::Unknown;
        }
        v
    }

    /// Most elements a folded sequence may have.
    pub(crate) fn max_items(&self) -> usize {
        self.limits.max_fold_len / 16
    }

    // ----- names -------------------------------------------------------------------------

    /// Meaning of a name that no scope binds: a builtin, a conventional framework alias or a
    /// free name. `__builtins__`/`__loader__`/`__spec__` are introspection escapes.
    pub(crate) fn unbound_name(&mut self, site: &Site, name: &str, line: Option<u32>) -> Val {
        match name {
            "__builtins__" => {
                self.hit(site, Capability::Introspection, name, name, line);
                return Val::Builtins;
            }
            "__loader__" | "__spec__" => {
                self.hit(site, Capability::Introspection, name, name, line);
                return Val::Introspect(name.to_string());
            }
            _ => {}
        }
        if MODULE_DUNDER_DATA.contains(&name) {
            return Val::Data;
        }
        if BUILTIN_NAMES.contains(&name) {
            return Val::Global(format!("builtins.{name}"));
        }
        if let Some((_, module)) = KNOWN_ALIASES.iter().find(|(a, _)| *a == name) {
            return Val::Global((*module).to_string());
        }
        // A free global named like a module the catalog or a decoder knows is that module
        // (a marshalled function does not carry its module's imports).
        if catalog::mentions_module(name) || DECODER_MODULES.contains(&name) {
            return Val::Global(name.to_string());
        }
        Val::Free(name.to_string())
    }

    // ----- attribute access ----------------------------------------------------------------

    /// `base.name`.
    pub(crate) fn attr(&mut self, site: &Site, base: &Val, name: &str, line: Option<u32>) -> Val {
        self.attr_ev(site, base, name, line, None)
    }

    /// `base.name`, with the source text of the access as evidence when the caller has it.
    pub(crate) fn attr_ev(
        &mut self,
        site: &Site,
        base: &Val,
        name: &str,
        line: Option<u32>,
        evidence: Option<&str>,
    ) -> Val {
        let chain = format!("{}.{name}", base.render());
        if INTROSPECTION_ATTRS.contains(&name) {
            self.hit(
                site,
                Capability::Introspection,
                name,
                evidence.unwrap_or(&chain),
                line,
            );
            match name {
                "__builtins__" | "f_builtins" => return Val::Builtins,
                "__dict__" => {
                    return match base {
                        Val::Global(_) | Val::Builtins | Val::Introspect(_) => {
                            Val::AttrDict(Box::new(base.clone()))
                        }
                        _ => Val::Introspect(chain),
                    };
                }
                "__import__" => {
                    if matches!(base, Val::Builtins) {
                        return Val::Global("builtins.__import__".into());
                    }
                }
                _ => return Val::Introspect(chain),
            }
        }
        match base {
            Val::Global(p) => {
                if p.len() + name.len() > PATH_MAX {
                    return Val::Unknown;
                }
                Val::Global(format!("{p}.{name}"))
            }
            Val::Builtins => Val::Global(format!("builtins.{name}")),
            Val::Str(..) | Val::Bytes(..) | Val::Seq(_) | Val::Dict(_) | Val::Int(_) => {
                Val::Method(Box::new(base.clone()), name.to_string())
            }
            Val::Globals | Val::AttrDict(_) => {
                Val::Method(Box::new(base.clone()), name.to_string())
            }
            Val::Param(_) | Val::Data => {
                if SUSPICIOUS_METHODS.contains(&name) {
                    Val::Free(chain)
                } else {
                    Val::Data
                }
            }
            Val::Free(_) => Val::Free(truncate(&chain, PATH_MAX)),
            Val::Introspect(_) => Val::Introspect(truncate(&chain, PATH_MAX)),
            Val::Opaque(_) => Val::Opaque(truncate(&chain, PATH_MAX)),
            Val::Unknown => Val::Free(format!("….{name}")),
            Val::Func(_) | Val::CodeDone | Val::Method(..) | Val::Float(_) | Val::Bool(_) => {
                Val::Data
            }
            Val::NoneV | Val::Slice(..) => Val::Data,
            Val::Null | Val::BuildClass => Val::Unknown,
        }
    }

    // ----- subscripts ----------------------------------------------------------------------

    /// `base[index]`. `lookup` resolves names for `globals()[...]`.
    pub(crate) fn subscript(
        &mut self,
        site: &Site,
        base: &Val,
        index: &Val,
        line: Option<u32>,
        lookup: &mut dyn FnMut(&mut Engine<'l>, &str) -> Val,
    ) -> Val {
        if let Val::Slice(a, b, c) = index {
            return self.slice(base, *a, *b, *c);
        }
        match (base, index) {
            (Val::Str(s, prov), Val::Int(i)) => {
                let chars: Vec<char> = s.chars().collect();
                py_index(chars.len(), *i)
                    .and_then(|k| chars.get(k))
                    .map(|c| Val::Str(c.to_string().into(), prov.clone()))
                    .unwrap_or(Val::Unknown)
            }
            (Val::Bytes(b, _), Val::Int(i)) => py_index(b.len(), *i)
                .and_then(|k| b.get(k))
                .map(|&x| Val::Int(i128::from(x)))
                .unwrap_or(Val::Unknown),
            (Val::Seq(v), Val::Int(i)) => py_index(v.len(), *i)
                .and_then(|k| v.get(k))
                .cloned()
                .unwrap_or(Val::Unknown),
            (Val::Dict(kv), key) => kv
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or(Val::Unknown),
            (Val::Builtins, Val::Str(k, _)) => {
                if &**k == "__import__" {
                    return Val::Global("builtins.__import__".into());
                }
                self.attr(site, &Val::Builtins, k, line)
            }
            (Val::Globals, Val::Str(k, _)) => lookup(self, k),
            (Val::AttrDict(inner), Val::Str(k, _)) => self.attr(site, inner, k, line),
            (Val::Global(p), Val::Str(k, _)) if p == "sys.modules" => Val::Global(k.to_string()),
            (Val::Introspect(s), Val::Str(k, _)) => {
                if &**k == "__builtins__" {
                    self.hit(
                        site,
                        Capability::Introspection,
                        k,
                        &format!("{s}['{k}']"),
                        line,
                    );
                    return Val::Builtins;
                }
                Val::Introspect(truncate(&format!("{s}[{}]", py_repr_str(k, 40)), PATH_MAX))
            }
            (Val::Introspect(s), idx) => {
                Val::Introspect(truncate(&format!("{s}[{}]", idx.render()), PATH_MAX))
            }
            (Val::Param(_) | Val::Data, _) => Val::Data,
            (Val::Free(n), idx) => Val::Free(truncate(&format!("{n}[{}]", idx.render()), PATH_MAX)),
            _ => Val::Unknown,
        }
    }

    /// `base[a:b:c]` on constants.
    pub(crate) fn slice(
        &mut self,
        base: &Val,
        a: Option<i128>,
        b: Option<i128>,
        c: Option<i128>,
    ) -> Val {
        let step = c.unwrap_or(1);
        let reversing = step == -1 && a.is_none() && b.is_none();
        let out = match base {
            Val::Str(s, prov) => {
                let chars: Vec<char> = s.chars().collect();
                py_slice(chars.len(), a, b, c).map(|idx| {
                    let mut prov = prov.clone();
                    if reversing {
                        prov.push(Encoding::Reverse.as_str().into());
                    }
                    Val::Str(
                        idx.iter()
                            .filter_map(|&i| chars.get(i))
                            .collect::<String>()
                            .into(),
                        prov,
                    )
                })
            }
            Val::Bytes(bytes, prov) => py_slice(bytes.len(), a, b, c).map(|idx| {
                let mut prov = prov.clone();
                if reversing {
                    prov.push(Encoding::Reverse.as_str().into());
                }
                Val::Bytes(
                    idx.iter().filter_map(|&i| bytes.get(i).copied()).collect(),
                    prov,
                )
            }),
            Val::Seq(v) => py_slice(v.len(), a, b, c)
                .map(|idx| Val::Seq(idx.iter().filter_map(|&i| v.get(i).cloned()).collect())),
            Val::Param(_) | Val::Data => Some(Val::Data),
            _ => None,
        };
        out.unwrap_or(Val::Unknown)
    }

    // ----- operators -----------------------------------------------------------------------

    pub(crate) fn unop(&mut self, op: UnOp, v: &Val) -> Val {
        match (op, v) {
            (UnOp::Neg, Val::Int(i)) => i.checked_neg().map(Val::Int).unwrap_or(Val::Unknown),
            (UnOp::Neg, Val::Float(f)) => Val::Float(-f),
            (UnOp::Pos, Val::Int(_) | Val::Float(_)) => v.clone(),
            (UnOp::Invert, Val::Int(i)) => Val::Int(!i),
            (UnOp::Not, v) => v.truthy().map(|b| Val::Bool(!b)).unwrap_or(Val::Data),
            (_, v) if v.is_data() => Val::Data,
            _ => Val::Unknown,
        }
    }

    pub(crate) fn binop(&mut self, op: BinOp, l: &Val, r: &Val) -> Val {
        use Val::*;
        let merged_prov = |a: &[String], b: &[String]| -> Vec<String> {
            if a.len() >= b.len() {
                a.to_vec()
            } else {
                b.to_vec()
            }
        };
        let out = match (op, l, r) {
            (BinOp::Add, Str(a, pa), Str(b, pb)) => {
                if a.len() + b.len() > self.limits.max_fold_len {
                    return self.fold_oversize();
                }
                Str(format!("{a}{b}").into(), merged_prov(pa, pb))
            }
            (BinOp::Add, Bytes(a, pa), Bytes(b, pb)) => {
                if a.len() + b.len() > self.limits.max_fold_len {
                    return self.fold_oversize();
                }
                let mut v = a.to_vec();
                v.extend_from_slice(b);
                Bytes(v.into(), merged_prov(pa, pb))
            }
            (BinOp::Add, Seq(a), Seq(b)) => {
                if a.len() + b.len() > self.max_items() {
                    return self.fold_oversize_val(l);
                }
                let mut v = a.to_vec();
                v.extend(b.iter().cloned());
                Seq(v.into())
            }
            (BinOp::Mul, Str(s, p), n) | (BinOp::Mul, n, Str(s, p)) if n.as_int().is_some() => {
                let n = n.as_int().unwrap_or(0).max(0);
                let total = (s.len() as i128).saturating_mul(n);
                if total > self.limits.max_fold_len as i128 {
                    return self.fold_oversize();
                }
                Str(s.repeat(usize::try_from(n).unwrap_or(0)).into(), p.clone())
            }
            (BinOp::Mul, Bytes(s, p), n) | (BinOp::Mul, n, Bytes(s, p)) if n.as_int().is_some() => {
                let n = n.as_int().unwrap_or(0).max(0);
                let total = (s.len() as i128).saturating_mul(n);
                if total > self.limits.max_fold_len as i128 {
                    return self.fold_oversize();
                }
                Bytes(s.repeat(usize::try_from(n).unwrap_or(0)).into(), p.clone())
            }
            (BinOp::Mul, Seq(s), n) | (BinOp::Mul, n, Seq(s)) if n.as_int().is_some() => {
                let n = n.as_int().unwrap_or(0).max(0);
                let total = (s.len() as i128).saturating_mul(n);
                if total > self.max_items() as i128 {
                    return self.fold_oversize_val(&Seq(Rc::from(Vec::new())));
                }
                let mut out = Vec::new();
                for _ in 0..n {
                    out.extend(s.iter().cloned());
                }
                Seq(out.into())
            }
            (BinOp::Mod, Str(fmt, p), args) => match percent_format(fmt, args) {
                Some(s) if s.len() <= self.limits.max_fold_len => Str(s.into(), p.clone()),
                Some(_) => self.fold_oversize(),
                None => Unknown,
            },
            (op, a, b) if a.as_int().is_some() && b.as_int().is_some() => {
                int_op(op, a.as_int().unwrap_or(0), b.as_int().unwrap_or(0))
                    .map(Int)
                    .unwrap_or(Unknown)
            }
            (op, Float(_) | Int(_), Float(_) | Int(_)) => float_op(op, l, r),
            (_, a, b) if a.is_data() || b.is_data() => Data,
            _ => Unknown,
        };
        self.fold(out)
    }

    // ----- calls ---------------------------------------------------------------------------

    /// A value flows somewhere it may be called later (argument, container, return value):
    /// a catalogued callable reached this way counts as reached.
    pub(crate) fn escape(&mut self, site: &Site, v: &Val, evidence: &str, line: Option<u32>) {
        if let Val::Global(p) = v {
            if !p.contains('.') {
                return;
            }
            if let Some(entry) = classify_path(p) {
                self.hit(site, entry.capability, p, evidence, line);
            }
        }
    }

    /// Call `func` with `call`'s arguments.
    pub(crate) fn call(&mut self, site: &Site, func: &Val, call: &CallArgs<'_>) -> Val {
        match func {
            Val::Global(p) => self.call_global(site, &canonical(p), call),
            Val::Method(recv, m) => self.call_method(site, recv, m, call),
            Val::Param(_) | Val::Data => {
                self.escape_args(site, call);
                Val::Data
            }
            Val::Func(ret) => {
                self.escape_args(site, call);
                (**ret).clone()
            }
            Val::BuildClass => Val::Func(Box::new(Val::Data)),
            Val::Introspect(s) => {
                self.escape_args(site, call);
                Val::Introspect(truncate(&format!("{s}()"), PATH_MAX))
            }
            Val::Free(n) => {
                self.escape_args(site, call);
                self.unknown_call(n);
                Val::Opaque(truncate(&format!("{n}()"), PATH_MAX))
            }
            Val::Opaque(n) => {
                self.escape_args(site, call);
                self.unknown_call(n);
                Val::Opaque(truncate(&format!("{n}()"), PATH_MAX))
            }
            Val::CodeDone | Val::Null => Val::Unknown,
            other => {
                self.escape_args(site, call);
                let name = match other {
                    Val::Unknown => call.evidence.to_string(),
                    _ => other.render(),
                };
                self.unknown_call(&name);
                Val::Unknown
            }
        }
    }

    fn escape_args(&mut self, site: &Site, call: &CallArgs<'_>) {
        for v in call.args.iter().chain(call.kwargs.iter().map(|(_, v)| v)) {
            self.escape(site, v, call.evidence, call.line);
        }
    }

    fn call_global(&mut self, site: &Site, path: &str, call: &CallArgs<'_>) -> Val {
        let ev = call.evidence;
        let line = call.line;
        // Import primitives with constant names resolve like `import`.
        match path {
            "builtins.__import__" | "importlib.__import__" => {
                if let Some(name) = call.arg(0, "name").and_then(Val::as_str) {
                    let fromlist = call
                        .arg(3, "fromlist")
                        .and_then(Val::truthy)
                        .unwrap_or(false);
                    let module = if fromlist {
                        name.to_string()
                    } else {
                        name.split('.').next().unwrap_or(name).to_string()
                    };
                    return Val::Global(canonical(&module));
                }
                self.hit(site, Capability::ImportMachinery, path, ev, line);
                return Val::Unknown;
            }
            "importlib.import_module" => {
                if let Some(name) = call.arg(0, "name").and_then(Val::as_str) {
                    return Val::Global(canonical(name));
                }
                self.hit(site, Capability::ImportMachinery, path, ev, line);
                return Val::Unknown;
            }
            "builtins.getattr" => {
                let obj = call.args.first().cloned().unwrap_or(Val::Unknown);
                if let Some(name) = call.args.get(1).and_then(Val::as_str) {
                    let name = name.to_string();
                    return self.attr(site, &obj, &name, line);
                }
                self.hit(site, Capability::Introspection, path, ev, line);
                return Val::Unknown;
            }
            "builtins.globals" | "builtins.locals" => return Val::Globals,
            "builtins.vars" => {
                return match call.args.first() {
                    None => Val::Globals,
                    Some(v) => Val::AttrDict(Box::new(v.clone())),
                };
            }
            "builtins.dir" => return Val::Data,
            "builtins.__build_class__" => return Val::Func(Box::new(Val::Data)),
            _ => {}
        }
        if let Some((_, slots)) = CODE_RUNNERS.iter().find(|(p, _)| *p == path) {
            let step = path.strip_prefix("builtins.").unwrap_or(path);
            let mut all_resolved = true;
            let mut seen = false;
            for (pos, kw) in slots.iter() {
                let Some(v) = call.arg(*pos, kw) else {
                    continue;
                };
                // `exec(code, globals)`: only the first slot is code for exec/eval/compile.
                seen = true;
                if !self.run_code(site, step, v, line) {
                    all_resolved = false;
                }
            }
            if !seen || !all_resolved {
                let cap = classify_path(path)
                    .map(|e| e.capability)
                    .unwrap_or(Capability::DynamicCode);
                self.hit(site, cap, path, ev, line);
                return Val::Unknown;
            }
            self.escape_args_except_first(site, call);
            return if path == "builtins.compile" {
                Val::CodeDone
            } else {
                Val::Data
            };
        }
        if path == "marshal.loads" {
            if let Some(Val::Bytes(data, prov)) = call.arg(0, "bytes") {
                self.consume(data);
                let nested = site.nested(prov, "marshal", line);
                if nested.chain.len() > self.limits.max_decode_layers {
                    self.incomplete("limit max_decode_layers reached");
                } else {
                    crate::bytecode::run_marshal(self, data, None, &nested);
                    return Val::CodeDone;
                }
            }
            self.hit(site, Capability::Deserialize, path, ev, line);
            return Val::Unknown;
        }
        if PICKLE_LOADERS.contains(&path)
            && let Some(Val::Bytes(data, prov)) = call.args.first()
        {
            self.consume(data);
            let kind = decode::sniff_payload(data).unwrap_or(PayloadKind::Pickle);
            let step = path.to_string();
            self.payload(site, kind, data.to_vec(), prov, &step);
            return Val::Opaque(format!("{path}()"));
        }
        if let Some(enc) = crate::knowledge::decoder(path) {
            // Exactly as Python decodes where reproduced; the rest (gzip, lzma, base85…) by
            // the lenient layer decoders.
            if decode::function_decode(path, &PyValue::Bytes(Vec::new()), self.limits).is_some() {
                return self.function_call(site, line, path, enc.as_str(), call);
            }
            return self.decode_call(site, enc, call.args.first(), line);
        }
        if matches!(
            path,
            "codecs.decode" | "codecs.encode" | "_codecs.decode" | "_codecs.encode"
        ) {
            let op = if path.ends_with(".encode") {
                CodecOp::CodecsEncode
            } else {
                CodecOp::CodecsDecode
            };
            let Some(data) = call.arg(0, "obj") else {
                return Val::Unknown;
            };
            return self.codec_call(
                site,
                line,
                op,
                data,
                call.arg(1, "encoding"),
                call.arg(2, "errors"),
            );
        }
        if path == "io.BytesIO" || path == "io.StringIO" {
            return match call.args.first() {
                Some(v @ (Val::Bytes(..) | Val::Str(..))) => v.clone(),
                _ => Val::Data,
            };
        }
        // str(b, encoding[, errors]) decodes and bytes(s, encoding[, errors]) encodes, as
        // bytes.decode/str.encode do; without those arguments they are folded below.
        if matches!(
            path,
            "builtins.str" | "builtins.bytes" | "builtins.bytearray"
        ) && (call.arg(1, "encoding").is_some() || call.arg(2, "errors").is_some())
        {
            let kw = if path == "builtins.str" {
                "object"
            } else {
                "source"
            };
            let Some(obj) = call.arg(0, kw) else {
                return Val::Unknown;
            };
            let (encoding, errors) = (call.arg(1, "encoding"), call.arg(2, "errors"));
            return match (path, obj) {
                ("builtins.str", Val::Bytes(..)) => {
                    self.codec_call(site, line, CodecOp::BytesDecode, obj, encoding, errors)
                }
                ("builtins.bytes" | "builtins.bytearray", Val::Str(..)) => {
                    self.codec_call(site, line, CodecOp::StrEncode, obj, encoding, errors)
                }
                (_, v) if v.is_data() => Val::Data,
                (_, Val::Str(..) | Val::Bytes(..)) => {
                    self.error(format!(
                        "{path} with an encoding raises TypeError in Python"
                    ));
                    Val::Unknown
                }
                _ => Val::Unknown,
            };
        }
        if let Some(name) = path.strip_prefix("builtins.")
            && let Some(v) = self.fold_builtin(name, call)
        {
            return v;
        }
        self.escape_args(site, call);
        if SAFE_OP_NAMESPACES.iter().any(|ns| path.starts_with(ns)) {
            return Val::Data;
        }
        if let Some(entry) = classify_path(path) {
            self.hit(site, entry.capability, path, ev, line);
            return Val::Opaque(format!(
                "{}()",
                path.strip_prefix("builtins.").unwrap_or(path)
            ));
        }
        if is_safe_path(path) {
            return Val::Data;
        }
        self.unknown_call(path.strip_prefix("builtins.").unwrap_or(path));
        // Keep the path so methods of the result are judged by the catalog too
        // (`pathlib.Path(p).write_text` → `pathlib:*.write_text`).
        if path.len() + 2 <= PATH_MAX {
            Val::Global(format!("{path}()"))
        } else {
            Val::Unknown
        }
    }

    fn escape_args_except_first(&mut self, site: &Site, call: &CallArgs<'_>) {
        for v in call
            .args
            .iter()
            .skip(1)
            .chain(call.kwargs.iter().map(|(_, v)| v))
        {
            self.escape(site, v, call.evidence, call.line);
        }
    }

    /// Analyse constant code handed to an evaluator. True when the code was analysed.
    pub(crate) fn run_code(&mut self, site: &Site, step: &str, v: &Val, line: Option<u32>) -> bool {
        match v {
            Val::Str(s, _) => self.consume(s.as_bytes()),
            Val::Bytes(b, _) => self.consume(b),
            _ => {}
        }
        let text = match v {
            Val::CodeDone => return true,
            Val::Str(s, _) => s.clone(),
            Val::Bytes(b, _) => (match std::str::from_utf8(b) {
                Ok(s) => s.to_string(),
                Err(_) => return false,
            })
            .into(),
            _ => return false,
        };
        let nested = site.nested(v.prov(), step, line);
        if nested.chain.len() > self.limits.max_decode_layers {
            self.incomplete("limit max_decode_layers reached: nested code not analysed");
            return false;
        }
        crate::source::run(self, &text, &nested);
        true
    }

    fn decode_call(
        &mut self,
        site: &Site,
        enc: Encoding,
        data: Option<&Val>,
        line: Option<u32>,
    ) -> Val {
        let (bytes, prov) = match data {
            Some(Val::Bytes(b, p)) => (b.to_vec(), p.clone()),
            Some(Val::Str(s, p)) => (s.as_bytes().to_vec(), p.clone()),
            Some(v) if v.is_data() => return Val::Data,
            _ => return Val::Unknown,
        };
        self.decode_layer(site, line, enc, &bytes, &prov)
    }

    /// Apply one decoding layer to constant data, within the decoded-bytes and layer budgets.
    fn decode_layer(
        &mut self,
        site: &Site,
        line: Option<u32>,
        enc: Encoding,
        data: &[u8],
        prov: &[String],
    ) -> Val {
        self.consume(data);
        if prov.len() >= self.limits.max_decode_layers {
            self.incomplete("limit max_decode_layers reached: data not decoded");
            return Val::Unknown;
        }
        let remaining = self.limits.max_decoded_bytes.saturating_sub(self.decoded);
        let budget = Limits {
            max_decoded_bytes: remaining,
            ..self.limits.clone()
        };
        match decode::decode(enc, data, &budget) {
            Ok(out) => {
                self.decoded = self.decoded.saturating_add(out.len());
                let mut prov = prov.to_vec();
                prov.push(enc.as_str().to_string());
                let data: Rc<[u8]> = out.into();
                self.pending.push(Pending {
                    data: Rc::clone(&data),
                    prov: prov.clone(),
                    site: site.clone(),
                    line,
                });
                Val::Bytes(data, prov)
            }
            Err(e @ decode::DecodeError::TooLarge { .. }) => {
                self.incomplete(format!("limit max_decoded_bytes reached: {e}"));
                Val::Unknown
            }
            Err(e) => {
                self.incomplete(format!("constant data could not be decoded: {e}"));
                Val::Unknown
            }
        }
    }

    /// A call of Python's codec machinery on a constant, reproduced exactly
    /// ([`decode::codecs_decode`] and friends): Python's result, or `Unknown` when Python raises
    /// (noted) or when the call cannot be reproduced (incomplete, never the input passed on).
    fn codec_call(
        &mut self,
        site: &Site,
        line: Option<u32>,
        op: CodecOp,
        data: &Val,
        encoding: Option<&Val>,
        errors: Option<&Val>,
    ) -> Val {
        let (value, prov) = match data {
            Val::Str(s, p) => (PyValue::Str(PyStr::from(&**s)), p.clone()),
            Val::Bytes(b, p) => (PyValue::Bytes(b.to_vec()), p.clone()),
            v if v.is_data() => return Val::Data,
            _ => return Val::Unknown,
        };
        // Omitted arguments take Python's defaults; computed ones cannot be followed.
        let text_arg = |v: Option<&Val>, default: &'static str| match v {
            None => Some(default.to_string()),
            Some(v) => v.as_str().map(str::to_string),
        };
        let (Some(encoding), Some(errors)) =
            (text_arg(encoding, "utf-8"), text_arg(errors, "strict"))
        else {
            self.incomplete("unanalysable codec call: computed encoding or errors argument");
            return Val::Unknown;
        };
        let input_bytes: &[u8] = match data {
            Val::Str(s, _) => s.as_bytes(),
            Val::Bytes(b, _) => b,
            _ => &[],
        };
        self.consume(input_bytes);
        if prov.len() >= self.limits.max_decode_layers {
            self.incomplete("limit max_decode_layers reached: data not decoded");
            return Val::Unknown;
        }
        let remaining = self.limits.max_decoded_bytes.saturating_sub(self.decoded);
        let budget = Limits {
            max_decoded_bytes: remaining,
            ..self.limits.clone()
        };
        let result = match (op, &value) {
            (CodecOp::CodecsDecode, v) => decode::codecs_decode(v, &encoding, &errors, &budget),
            (CodecOp::CodecsEncode, v) => decode::codecs_encode(v, &encoding, &errors, &budget),
            (CodecOp::BytesDecode, PyValue::Bytes(b)) => {
                decode::bytes_decode(b, &encoding, &errors, &budget).map(PyValue::Str)
            }
            (CodecOp::StrEncode, PyValue::Str(s)) => {
                decode::str_encode(s, &encoding, &errors, &budget).map(PyValue::Bytes)
            }
            _ => return Val::Unknown,
        };
        let step = decode::lookup(&encoding)
            .ok()
            .and_then(|c| codec_step(c.module));
        self.codec_result(site, line, &encoding, prov, step, result)
    }

    /// One of the decoding functions [`decode::function_decode`] reproduces exactly
    /// (`base64.b64decode`, `bytes.fromhex`, `zlib.decompress`…), called with its data only.
    fn function_call(
        &mut self,
        site: &Site,
        line: Option<u32>,
        path: &str,
        step: &str,
        call: &CallArgs<'_>,
    ) -> Val {
        let Some(data) = call.args.first() else {
            return Val::Unknown;
        };
        let (value, prov, input) = match data {
            Val::Str(s, p) => (PyValue::Str(PyStr::from(&**s)), p.clone(), s.as_bytes()),
            Val::Bytes(b, p) => (PyValue::Bytes(b.to_vec()), p.clone(), &b[..]),
            v if v.is_data() => return Val::Data,
            _ => return Val::Unknown,
        };
        if call.args.len() > 1 || !call.kwargs.is_empty() {
            // altchars, validate, casefold, wbits…: not reproduced.
            self.incomplete(format!(
                "unanalysable call: {path} with arguments beyond its data"
            ));
            return Val::Unknown;
        }
        self.consume(input);
        if prov.len() >= self.limits.max_decode_layers {
            self.incomplete("limit max_decode_layers reached: data not decoded");
            return Val::Unknown;
        }
        let remaining = self.limits.max_decoded_bytes.saturating_sub(self.decoded);
        let budget = Limits {
            max_decoded_bytes: remaining,
            ..self.limits.clone()
        };
        let Some(result) = decode::function_decode(path, &value, &budget) else {
            return Val::Unknown;
        };
        self.codec_result(
            site,
            line,
            path,
            prov,
            Some(step),
            result.map(PyValue::Bytes),
        )
    }

    /// Turn an exact codec result into a value: Python's value (a decoding step in the chain,
    /// examined at the end if nothing consumes it), or `Unknown` when Python raises (noted) or
    /// the call cannot be reproduced (incomplete).
    fn codec_result(
        &mut self,
        site: &Site,
        line: Option<u32>,
        what: &str,
        prov: Vec<String>,
        step: Option<&str>,
        result: Result<PyValue, decode::CodecError>,
    ) -> Val {
        let out = match result {
            Ok(v) => v,
            Err(e @ decode::CodecError::Raises { .. }) => {
                self.error(format!("{what} call fails in Python: {e}"));
                return Val::Unknown;
            }
            Err(e @ decode::CodecError::TooLarge { .. }) => {
                self.incomplete(format!("limit max_decoded_bytes reached: {e}"));
                return Val::Unknown;
            }
            Err(e) => {
                self.incomplete(e.to_string());
                return Val::Unknown;
            }
        };
        let mut prov = prov;
        if let Some(step) = step {
            prov.push(step.to_string());
        }
        let bytes: Rc<[u8]> = match &out {
            PyValue::Bytes(b) => b.as_slice().into(),
            PyValue::Str(s) => s.as_bytes().into(),
        };
        self.decoded = self.decoded.saturating_add(bytes.len());
        let val = match out {
            PyValue::Bytes(_) => Val::Bytes(Rc::clone(&bytes), prov.clone()),
            PyValue::Str(s) => match s.as_str() {
                Some(t) => Val::Str(t.into(), prov.clone()),
                None => {
                    // A str with lone surrogates has no Rust form; only a further codec call
                    // could use it.
                    self.incomplete("unanalysable codec result: text with lone surrogates");
                    return Val::Unknown;
                }
            },
        };
        if step.is_some() {
            self.pending.push(Pending {
                data: bytes,
                prov,
                site: site.clone(),
                line,
            });
        }
        val
    }

    /// Constant folding of builtins; `None` when the call is not folded here.
    fn fold_builtin(&mut self, name: &str, call: &CallArgs<'_>) -> Option<Val> {
        let a0 = call.args.first();
        let v = match (name, a0) {
            ("chr" | "unichr", Some(v)) => match v.as_int() {
                Some(i) => u32::try_from(i)
                    .ok()
                    .and_then(char::from_u32)
                    .map(|c| Val::Str(c.to_string().into(), Vec::new()))
                    .unwrap_or(Val::Unknown),
                None if v.is_data() => Val::Data,
                None => Val::Unknown,
            },
            ("ord", Some(Val::Str(s, _))) => {
                let mut it = s.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) => Val::Int(i128::from(u32::from(c))),
                    _ => Val::Unknown,
                }
            }
            ("ord", Some(Val::Bytes(b, _))) if b.len() == 1 => {
                Val::Int(i128::from(b.first().copied().unwrap_or(0)))
            }
            ("str" | "unicode", Some(v)) => match to_str(v) {
                Some(s) => Val::Str(s.into(), v.prov().to_vec()),
                None if v.is_data() => Val::Data,
                None => Val::Unknown,
            },
            ("str", None) => Val::Str(String::new().into(), Vec::new()),
            ("repr", Some(Val::Str(s, p))) => {
                Val::Str(py_repr_str(s, usize::MAX).into(), p.clone())
            }
            ("int" | "long", Some(v)) => {
                let base = call.arg(1, "base").and_then(Val::as_int);
                match (v, base) {
                    (Val::Str(s, _), b) => parse_int(s, b.unwrap_or(10))
                        .map(Val::Int)
                        .unwrap_or(Val::Unknown),
                    (Val::Int(i), None) => Val::Int(*i),
                    (Val::Bool(b), None) => Val::Int(i128::from(*b)),
                    (Val::Float(f), None) if f.is_finite() && f.abs() < 1e30 => {
                        Val::Int(f.trunc() as i128)
                    }
                    (v, _) if v.is_data() => Val::Data,
                    _ => Val::Unknown,
                }
            }
            ("hex", Some(Val::Int(i))) => Val::Str(py_radix(*i, 16, "0x").into(), Vec::new()),
            ("oct", Some(Val::Int(i))) => Val::Str(py_radix(*i, 8, "0o").into(), Vec::new()),
            ("bin", Some(Val::Int(i))) => Val::Str(py_radix(*i, 2, "0b").into(), Vec::new()),
            ("len", Some(v)) => match v {
                Val::Str(s, _) => Val::Int(s.chars().count() as i128),
                Val::Bytes(b, _) => Val::Int(b.len() as i128),
                Val::Seq(s) => Val::Int(s.len() as i128),
                _ => Val::Data,
            },
            ("bytes" | "bytearray", Some(v)) => match v {
                Val::Bytes(..) => v.clone(),
                Val::Str(s, p) => Val::Bytes(s.as_bytes().to_vec().into(), p.clone()),
                Val::Seq(items) => {
                    let bytes: Option<Vec<u8>> = items
                        .iter()
                        .map(|x| x.as_int().and_then(|i| u8::try_from(i).ok()))
                        .collect();
                    bytes
                        .map(|b| Val::Bytes(b.into(), Vec::new()))
                        .unwrap_or(Val::Unknown)
                }
                Val::Int(n) if *n >= 0 && *n <= self.limits.max_fold_len as i128 => {
                    Val::Bytes(vec![0; usize::try_from(*n).unwrap_or(0)].into(), Vec::new())
                }
                v if v.is_data() => Val::Data,
                _ => Val::Unknown,
            },
            ("list" | "tuple" | "set" | "frozenset" | "sorted", Some(v)) => {
                match v.elements(self.max_items()) {
                    Some(mut els) => {
                        if name == "sorted" {
                            if els.iter().all(|e| e.as_int().is_some()) {
                                els.sort_by_key(|e| e.as_int().unwrap_or(0));
                            } else if els.iter().all(|e| e.as_str().is_some()) {
                                els.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
                            } else {
                                return Some(Val::Unknown);
                            }
                        }
                        Val::Seq(els.into())
                    }
                    None if v.is_data() => Val::Data,
                    None => Val::Unknown,
                }
            }
            ("list" | "tuple" | "set", None) => Val::Seq(Vec::new().into()),
            ("reversed", Some(v)) => match v.elements(self.max_items()) {
                Some(mut els) => {
                    els.reverse();
                    Val::Seq(els.into())
                }
                None if v.is_data() => Val::Data,
                None => Val::Unknown,
            },
            ("range" | "xrange", Some(_)) => {
                let ints: Option<Vec<i128>> = call.args.iter().map(Val::as_int).collect();
                match ints.as_deref() {
                    Some([stop]) => py_range(0, *stop, 1, self.max_items()),
                    Some([start, stop]) => py_range(*start, *stop, 1, self.max_items()),
                    Some([start, stop, step]) => py_range(*start, *stop, *step, self.max_items()),
                    _ => None,
                }
                .map(|v| Val::Seq(v.into_iter().map(Val::Int).collect()))
                .unwrap_or(Val::Data)
            }
            ("map", Some(f)) => {
                let Some(seq) = call.args.get(1).and_then(|v| v.elements(self.max_items())) else {
                    self.escape_args(&Site::root(), call);
                    return Some(Val::Data);
                };
                let out: Option<Vec<Val>> = match f {
                    Val::Global(g) => seq
                        .iter()
                        .map(|x| {
                            let inner = CallArgs {
                                args: std::slice::from_ref(x),
                                kwargs: &[],
                                evidence: call.evidence,
                                line: call.line,
                            };
                            match g.strip_prefix("builtins.") {
                                Some(n @ ("chr" | "ord" | "str" | "int" | "hex")) => {
                                    self.fold_builtin(n, &inner)
                                }
                                _ => None,
                            }
                        })
                        .collect(),
                    _ => None,
                };
                match out {
                    Some(v) => Val::Seq(v.into()),
                    None => return None,
                }
            }
            ("bool", Some(v)) => v.truthy().map(Val::Bool).unwrap_or(Val::Data),
            ("abs", Some(Val::Int(i))) => i.checked_abs().map(Val::Int).unwrap_or(Val::Unknown),
            ("sum", Some(Val::Seq(items))) => {
                let ints: Option<Vec<i128>> = items.iter().map(Val::as_int).collect();
                ints.and_then(|v| v.into_iter().try_fold(0i128, |a, b| a.checked_add(b)))
                    .map(Val::Int)
                    .unwrap_or(Val::Data)
            }
            ("getattr" | "setattr" | "delattr" | "eval" | "exec" | "compile" | "open", _) => {
                return None;
            }
            _ => return None,
        };
        if SAFE_BUILTINS.contains(&name) {
            self.escape_args(&Site::root(), call);
        }
        Some(self.fold(v))
    }

    fn call_method(&mut self, site: &Site, recv: &Val, m: &str, call: &CallArgs<'_>) -> Val {
        let a0 = call.args.first();
        let v = match (recv, m) {
            (Val::Str(sep, p), "join") => match a0.and_then(|v| v.elements(self.max_items())) {
                Some(items) => {
                    let parts: Option<Vec<String>> = items
                        .iter()
                        .map(|x| x.as_str().map(str::to_string))
                        .collect();
                    let prov = a0.map(|v| v.prov().to_vec()).unwrap_or_default();
                    match parts {
                        Some(parts) => {
                            let total: usize = parts.iter().map(String::len).sum::<usize>()
                                + sep.len().saturating_mul(parts.len());
                            if total > self.limits.max_fold_len {
                                return self.fold_oversize();
                            }
                            let prov = if prov.len() >= p.len() {
                                prov
                            } else {
                                p.clone()
                            };
                            Val::Str(parts.join(sep).into(), prov)
                        }
                        None => Val::Unknown,
                    }
                }
                None => Val::Unknown,
            },
            (Val::Bytes(sep, p), "join") => match a0.and_then(|v| v.elements(self.max_items())) {
                Some(items) => {
                    let parts: Option<Vec<Vec<u8>>> = items
                        .iter()
                        .map(|x| match x {
                            Val::Bytes(b, _) => Some(b.to_vec()),
                            _ => None,
                        })
                        .collect();
                    match parts {
                        Some(parts) => {
                            let total: usize = parts.iter().map(Vec::len).sum::<usize>()
                                + sep.len().saturating_mul(parts.len());
                            if total > self.limits.max_fold_len {
                                return self.fold_oversize();
                            }
                            Val::Bytes(parts.join(&sep[..]).into(), p.clone())
                        }
                        None => Val::Unknown,
                    }
                }
                None => Val::Unknown,
            },
            (Val::Str(s, p), "replace") => match (
                a0.and_then(Val::as_str),
                call.args.get(1).and_then(Val::as_str),
            ) {
                (Some(from), Some(to)) => {
                    let count = call.args.get(2).and_then(Val::as_int);
                    let grows = to.len().saturating_sub(from.len());
                    if s.len().saturating_add(grows.saturating_mul(s.len() + 1))
                        > self.limits.max_fold_len
                        && grows > 0
                    {
                        return self.fold_oversize();
                    }
                    let out = match count {
                        Some(n) if n >= 0 => s.replacen(from, to, usize::try_from(n).unwrap_or(0)),
                        _ => s.replace(from, to),
                    };
                    Val::Str(out.into(), p.clone())
                }
                _ => Val::Unknown,
            },
            (Val::Bytes(s, p), "replace") => match (a0, call.args.get(1)) {
                (Some(Val::Bytes(from, _)), Some(Val::Bytes(to, _))) if !from.is_empty() => {
                    let mut out = Vec::with_capacity(s.len());
                    let mut i = 0;
                    while i < s.len() {
                        if s.get(i..).is_some_and(|rest| rest.starts_with(from)) {
                            out.extend_from_slice(to);
                            i += from.len();
                        } else {
                            out.extend(s.get(i).copied());
                            i += 1;
                        }
                        if out.len() > self.limits.max_fold_len {
                            return self.fold_oversize();
                        }
                    }
                    Val::Bytes(out.into(), p.clone())
                }
                _ => Val::Unknown,
            },
            (Val::Str(s, p), "lower" | "casefold") => Val::Str(s.to_lowercase().into(), p.clone()),
            (Val::Str(s, p), "upper") => Val::Str(s.to_uppercase().into(), p.clone()),
            (Val::Str(s, p), "swapcase") => Val::Str(
                s.chars()
                    .flat_map(|c| {
                        if c.is_uppercase() {
                            c.to_lowercase().collect::<Vec<_>>()
                        } else {
                            c.to_uppercase().collect::<Vec<_>>()
                        }
                    })
                    .collect::<String>()
                    .into(),
                p.clone(),
            ),
            (Val::Str(s, p), "capitalize") => {
                let mut it = s.chars();
                let out = match it.next() {
                    Some(c) => c
                        .to_uppercase()
                        .chain(it.flat_map(char::to_lowercase))
                        .collect(),
                    None => String::new(),
                };
                Val::Str(out.into(), p.clone())
            }
            (Val::Str(s, p), "strip" | "lstrip" | "rstrip") => {
                let chars: Option<Vec<char>> = match a0 {
                    None | Some(Val::NoneV) => None,
                    Some(Val::Str(c, _)) => Some(c.chars().collect()),
                    _ => return Val::Unknown,
                };
                let pred = |c: char| match &chars {
                    None => c.is_whitespace(),
                    Some(set) => set.contains(&c),
                };
                let out = match m {
                    "strip" => s.trim_matches(pred),
                    "lstrip" => s.trim_start_matches(pred),
                    _ => s.trim_end_matches(pred),
                };
                Val::Str(out.to_string().into(), p.clone())
            }
            (Val::Bytes(s, p), "strip") => {
                let start = s
                    .iter()
                    .position(|b| !b.is_ascii_whitespace())
                    .unwrap_or(s.len());
                let end = s
                    .iter()
                    .rposition(|b| !b.is_ascii_whitespace())
                    .map_or(start, |e| e + 1);
                Val::Bytes(
                    s.get(start..end).unwrap_or_default().to_vec().into(),
                    p.clone(),
                )
            }
            (Val::Bytes(s, p), "lower") => Val::Bytes(s.to_ascii_lowercase().into(), p.clone()),
            (Val::Bytes(s, p), "upper") => Val::Bytes(s.to_ascii_uppercase().into(), p.clone()),
            (Val::Str(s, p), "removeprefix") => match a0.and_then(Val::as_str) {
                Some(x) => Val::Str(s.strip_prefix(x).unwrap_or(s).to_string().into(), p.clone()),
                None => Val::Unknown,
            },
            (Val::Str(s, p), "removesuffix") => match a0.and_then(Val::as_str) {
                Some(x) => Val::Str(s.strip_suffix(x).unwrap_or(s).to_string().into(), p.clone()),
                None => Val::Unknown,
            },
            (Val::Str(s, p), "split") => {
                let parts: Vec<Val> = match a0.and_then(Val::as_str) {
                    Some(sep) if !sep.is_empty() => s
                        .split(sep)
                        .map(|x| Val::Str(x.to_string().into(), p.clone()))
                        .collect(),
                    _ => s
                        .split_whitespace()
                        .map(|x| Val::Str(x.to_string().into(), p.clone()))
                        .collect(),
                };
                Val::Seq(parts.into())
            }
            (v @ Val::Str(..), "encode") => self.codec_call(
                site,
                call.line,
                CodecOp::StrEncode,
                v,
                call.arg(0, "encoding"),
                call.arg(1, "errors"),
            ),
            (Val::Str(s, p), "decode") => {
                // Python 2 str.decode('base64'/'hex'/'zlib'/'rot13'…).
                let codec = call
                    .arg(0, "encoding")
                    .and_then(Val::as_str)
                    .unwrap_or("utf-8")
                    .to_string();
                // Python 3 has no str.decode (AttributeError): only the transforms are
                // followed, to see what such code meant; nothing is passed through.
                match decode::encoding_from_codec_name(&codec) {
                    Some(e) => self.decode_layer(site, call.line, e, s.as_bytes(), p),
                    None => Val::Unknown,
                }
            }
            (v @ Val::Bytes(..), "decode") => self.codec_call(
                site,
                call.line,
                CodecOp::BytesDecode,
                v,
                call.arg(0, "encoding"),
                call.arg(1, "errors"),
            ),
            (Val::Bytes(b, p), "hex") => {
                if b.len().saturating_mul(2) > self.limits.max_fold_len {
                    return self.fold_oversize();
                }
                Val::Str(
                    b.iter()
                        .map(|x| format!("{x:02x}"))
                        .collect::<String>()
                        .into(),
                    p.clone(),
                )
            }
            (Val::Str(s, p), "format") => {
                if s.contains('{') && s.contains("__") {
                    // Format fields can walk attributes: '{0.__globals__}'.format(f).
                    self.hit(
                        site,
                        Capability::Introspection,
                        "str.format",
                        call.evidence,
                        call.line,
                    );
                }
                match brace_format(s, call.args, call.kwargs) {
                    Some(out) if out.len() <= self.limits.max_fold_len => {
                        Val::Str(out.into(), p.clone())
                    }
                    Some(_) => return self.fold_oversize(),
                    None => Val::Unknown,
                }
            }
            (Val::Globals, "get") | (Val::AttrDict(_), "get") => {
                if let Some(Val::Str(k, _)) = a0 {
                    let k = k.clone();
                    return match recv {
                        Val::AttrDict(inner) => self.attr(site, inner, &k, call.line),
                        _ => self.unbound_name(site, &k, call.line),
                    };
                }
                Val::Unknown
            }
            (Val::Str(..) | Val::Bytes(..) | Val::Seq(_) | Val::Dict(_) | Val::Int(_), _) => {
                self.escape_args(site, call);
                Val::Data
            }
            _ => {
                self.escape_args(site, call);
                self.unknown_call(&format!("{}.{m}", recv.render()));
                Val::Unknown
            }
        };
        self.fold(v)
    }
}

impl Engine<'_> {
    /// `fold` for the oversize marker: record the limit and return Unknown.
    fn fold_oversize(&mut self) -> Val {
        self.incomplete("limit max_fold_len reached: constant not folded");
        Val::Unknown
    }

    /// An oversize fold: text that cannot be folded makes the analysis incomplete; an oversize
    /// sequence only becomes unknown (unknown values reaching a sink are reported anyway).
    fn fold_oversize_val(&mut self, v: &Val) -> Val {
        match v {
            Val::Seq(_) | Val::Dict(_) => {
                self.error("limit max_fold_len: sequence too long to fold, treated as unknown");
                Val::Unknown
            }
            _ => self.fold_oversize(),
        }
    }
}

/// Catalog lookup for a dotted path (`os.system` → `classify("os", "system")`).
///
/// The module boundary of a dotted path is unknown (`torch.ops.load_library` may be module
/// `torch` + attributes, or module `torch.ops` + `load_library`), so every split is tried,
/// shortest module first.
pub(crate) fn classify_path(path: &str) -> Option<catalog::Entry> {
    path.match_indices('.').find_map(|(i, _)| {
        let (m, q) = (path.get(..i)?, path.get(i + 1..)?);
        catalog::classify(m, q)
    })
}

/// Python 2 builtins module name → Python 3.
pub(crate) fn canonical(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("__builtin__")
        && (rest.is_empty() || rest.starts_with('.'))
    {
        return format!("builtins{rest}");
    }
    path.to_string()
}

fn is_safe_path(path: &str) -> bool {
    if let Some(name) = path.strip_prefix("builtins.") {
        let head = name.split('.').next().unwrap_or(name);
        return SAFE_BUILTINS.contains(&head)
            || head.ends_with("Error")
            || head.ends_with("Exception")
            || head.ends_with("Warning")
            || matches!(
                head,
                "StopIteration" | "KeyboardInterrupt" | "GeneratorExit"
            );
    }
    if SAFE_CALLS.contains(&path) || crate::knowledge::decoder(path).is_some() {
        return true;
    }
    DATA_LIBS
        .iter()
        .any(|lib| path == *lib || path.strip_prefix(lib).is_some_and(|r| r.starts_with('.')))
}

fn int_op(op: BinOp, a: i128, b: i128) -> Option<i128> {
    match op {
        BinOp::Add => a.checked_add(b),
        BinOp::Sub => a.checked_sub(b),
        BinOp::Mul => a.checked_mul(b),
        BinOp::FloorDiv => {
            (b != 0).then(|| a.div_euclid(b) - i128::from(b < 0 && a.rem_euclid(b) != 0))
        }
        BinOp::Mod => (b != 0).then(|| {
            let r = a.rem_euclid(b);
            if b < 0 && r != 0 { r + b } else { r }
        }),
        BinOp::Pow => u32::try_from(b)
            .ok()
            .filter(|e| *e <= 127)
            .and_then(|e| a.checked_pow(e)),
        BinOp::LShift => u32::try_from(b)
            .ok()
            .filter(|s| *s < 127)
            .and_then(|s| a.checked_shl(s).filter(|r| r >> s == a)),
        BinOp::RShift => u32::try_from(b).ok().map(|s| a >> s.min(127)),
        BinOp::BitOr => Some(a | b),
        BinOp::BitXor => Some(a ^ b),
        BinOp::BitAnd => Some(a & b),
        BinOp::Div | BinOp::MatMul => None,
    }
}

fn float_op(op: BinOp, l: &Val, r: &Val) -> Val {
    let f = |v: &Val| match v {
        Val::Float(f) => Some(*f),
        Val::Int(i) => Some(*i as f64),
        _ => None,
    };
    match (f(l), f(r)) {
        (Some(a), Some(b)) => match op {
            BinOp::Add => Val::Float(a + b),
            BinOp::Sub => Val::Float(a - b),
            BinOp::Mul => Val::Float(a * b),
            BinOp::Div if b != 0.0 => Val::Float(a / b),
            _ => Val::Unknown,
        },
        _ => Val::Unknown,
    }
}

/// Python's `str()` of a constant.
fn to_str(v: &Val) -> Option<String> {
    match v {
        Val::Str(s, _) => Some(s.to_string()),
        Val::Int(i) => Some(i.to_string()),
        Val::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        Val::NoneV => Some("None".to_string()),
        Val::Bytes(b, _) => Some(py_repr_bytes(b, usize::MAX)),
        Val::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 => {
            Some(format!("{f:.1}"))
        }
        _ => None,
    }
}

/// The Python `repr` of a str, truncated to `max` characters of content.
pub(crate) fn py_repr_str(s: &str, max: usize) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len().min(max) + 2);
    out.push(quote);
    for (n, c) in s.chars().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// The Python `repr` of bytes, truncated to `max` bytes of content.
fn py_repr_bytes(b: &[u8], max: usize) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::from("b");
    out.push(char::from(quote));
    for (n, &c) in b.iter().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(char::from(c));
            }
            0x20..=0x7e => out.push(char::from(c)),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(char::from(quote));
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", s.get(..end).unwrap_or_default())
}

fn one_line(s: &str) -> String {
    if !s.contains(['\n', '\r', '\t']) {
        return s.to_string();
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn parse_int(s: &str, base: i128) -> Option<i128> {
    let t: String = s.trim().chars().filter(|&c| c != '_').collect();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r.to_string()),
        None => (false, t.strip_prefix('+').unwrap_or(&t).to_string()),
    };
    let (radix, digits) = match base {
        0 => {
            let lower = t.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("0x") {
                (16, r.to_string())
            } else if let Some(r) = lower.strip_prefix("0o") {
                (8, r.to_string())
            } else if let Some(r) = lower.strip_prefix("0b") {
                (2, r.to_string())
            } else {
                (10, lower)
            }
        }
        2..=36 => {
            let lower = t.to_ascii_lowercase();
            let stripped = match base {
                16 => lower.strip_prefix("0x"),
                8 => lower.strip_prefix("0o"),
                2 => lower.strip_prefix("0b"),
                _ => None,
            };
            (
                u32::try_from(base).ok()?,
                stripped.map(str::to_string).unwrap_or(lower),
            )
        }
        _ => return None,
    };
    let v = i128::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

fn py_radix(i: i128, radix: u32, prefix: &str) -> String {
    let (neg, mut n) = (i < 0, i.unsigned_abs());
    let mut digits = Vec::new();
    loop {
        let d = (n % u128::from(radix)) as u32;
        digits.push(char::from_digit(d, radix).unwrap_or('0'));
        n /= u128::from(radix);
        if n == 0 {
            break;
        }
    }
    let body: String = digits.iter().rev().collect();
    format!("{}{prefix}{body}", if neg { "-" } else { "" })
}

fn py_index(len: usize, i: i128) -> Option<usize> {
    let len = i128::try_from(len).ok()?;
    let k = if i < 0 { i + len } else { i };
    (0..len)
        .contains(&k)
        .then(|| usize::try_from(k).ok())
        .flatten()
}

/// Indices selected by `[start:stop:step]` on a sequence of `len` items (Python semantics).
pub(crate) fn py_slice(
    len: usize,
    start: Option<i128>,
    stop: Option<i128>,
    step: Option<i128>,
) -> Option<Vec<usize>> {
    let n = i128::try_from(len).ok()?;
    let step = step.unwrap_or(1);
    if step == 0 {
        return None;
    }
    let clamp = |v: i128, lo: i128, hi: i128| v.max(lo).min(hi);
    let norm = |v: i128| if v < 0 { v + n } else { v };
    let mut out = Vec::new();
    if step > 0 {
        let s = clamp(start.map(norm).unwrap_or(0), 0, n);
        let e = clamp(stop.map(norm).unwrap_or(n), 0, n);
        let mut i = s;
        while i < e {
            out.push(usize::try_from(i).ok()?);
            i += step;
        }
    } else {
        let s = clamp(start.map(norm).unwrap_or(n - 1), -1, n - 1);
        let e = clamp(stop.map(norm).unwrap_or(-1), -1, n - 1);
        let mut i = s;
        while i > e {
            out.push(usize::try_from(i).ok()?);
            i += step;
        }
    }
    Some(out)
}

fn py_range(start: i128, stop: i128, step: i128, max: usize) -> Option<Vec<i128>> {
    if step == 0 {
        return None;
    }
    let count = if step > 0 {
        (stop - start + step - 1).div_euclid(step)
    } else {
        (start - stop - step - 1).div_euclid(-step)
    }
    .max(0);
    if count > max as i128 {
        return None;
    }
    Some((0..count).map(|k| start + k * step).collect())
}

/// `fmt % args` for the common conversions (`%s %d %i %c %x %o %r %%`) without flags.
fn percent_format(fmt: &str, args: &Val) -> Option<String> {
    let args: Vec<Val> = match args {
        Val::Seq(v) => v.to_vec(),
        other => vec![other.clone()],
    };
    let mut it = args.iter();
    let mut out = String::with_capacity(fmt.len());
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let conv = chars.next()?;
        match conv {
            '%' => out.push('%'),
            's' => out.push_str(&to_str(it.next()?)?),
            'r' => match it.next()? {
                Val::Str(s, _) => out.push_str(&py_repr_str(&s[..], usize::MAX)),
                other => out.push_str(&to_str(other)?),
            },
            'd' | 'i' | 'u' => out.push_str(&it.next()?.as_int()?.to_string()),
            'c' => match it.next()? {
                Val::Str(s, _) if s.chars().count() == 1 => out.push_str(&s[..]),
                v => out.push(char::from_u32(u32::try_from(v.as_int()?).ok()?)?),
            },
            'x' => out.push_str(&format!("{:x}", it.next()?.as_int()?)),
            'X' => out.push_str(&format!("{:X}", it.next()?.as_int()?)),
            'o' => out.push_str(&format!("{:o}", it.next()?.as_int()?)),
            _ => return None,
        }
    }
    if it.next().is_some() {
        return None;
    }
    Some(out)
}

/// `fmt.format(*args, **kwargs)` for plain `{}`, `{0}` and `{name}` fields.
fn brace_format(fmt: &str, args: &[Val], kwargs: &[(String, Val)]) -> Option<String> {
    crate::strfmt::brace_format(fmt, usize::MAX, |field| match field {
        crate::strfmt::Field::Auto(i) | crate::strfmt::Field::Index(i) => to_str(args.get(i)?),
        crate::strfmt::Field::Name(n) => to_str(&kwargs.iter().find(|(k, _)| k == n)?.1),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn slices_follow_python() {
        assert_eq!(py_slice(5, None, None, Some(-1)), Some(vec![4, 3, 2, 1, 0]));
        assert_eq!(py_slice(5, Some(1), Some(3), None), Some(vec![1, 2]));
        assert_eq!(py_slice(5, Some(-2), None, None), Some(vec![3, 4]));
        assert_eq!(py_slice(5, None, None, Some(2)), Some(vec![0, 2, 4]));
        assert_eq!(py_slice(5, Some(10), None, Some(-2)), Some(vec![4, 2, 0]));
        assert_eq!(py_slice(3, None, None, Some(0)), None);
        assert_eq!(py_slice(0, None, None, Some(-1)), Some(vec![]));
    }

    #[test]
    fn ints() {
        assert_eq!(int_op(BinOp::FloorDiv, -7, 2), Some(-4));
        assert_eq!(int_op(BinOp::Mod, -7, 2), Some(1));
        assert_eq!(int_op(BinOp::Mod, 7, -2), Some(-1));
        assert_eq!(int_op(BinOp::Pow, 2, 200), None);
        assert_eq!(int_op(BinOp::LShift, 1, 200), None);
        assert_eq!(parse_int("0x1f", 0), Some(31));
        assert_eq!(parse_int("ff", 16), Some(255));
        assert_eq!(py_radix(255, 16, "0x"), "0xff");
        assert_eq!(py_radix(-8, 8, "0o"), "-0o10");
        assert_eq!(py_range(0, 10, 3, 100), Some(vec![0, 3, 6, 9]));
        assert_eq!(py_range(5, 0, -2, 100), Some(vec![5, 3, 1]));
        assert_eq!(py_range(0, 1000, 1, 10), None);
    }

    #[test]
    fn formatting() {
        let s = |x: &str| Val::Str(x.into(), vec![]);
        assert_eq!(
            percent_format("%s%s", &Val::Seq(vec![s("o"), s("s")].into())),
            Some("os".into())
        );
        assert_eq!(
            percent_format("%c%c", &Val::Seq(vec![Val::Int(111), Val::Int(115)].into())),
            Some("os".into())
        );
        assert_eq!(percent_format("%d%%", &Val::Int(5)), Some("5%".into()));
        assert_eq!(percent_format("%5s", &s("x")), None);
        assert_eq!(
            brace_format("{}{}", &[s("o"), s("s")], &[]),
            Some("os".into())
        );
        assert_eq!(
            brace_format("{1}{0}", &[s("s"), s("o")], &[]),
            Some("os".into())
        );
        assert_eq!(
            brace_format("{a}", &[], &[("a".into(), s("x"))]),
            Some("x".into())
        );
        assert_eq!(brace_format("{0.x}", &[s("s")], &[]), None);
        assert_eq!(py_repr_str("it's", 100), "\"it's\"");
        assert_eq!(py_repr_bytes(b"a\x00'", 100), "b\"a\\x00'\"");
    }
}
