//! Public data types of the symbolic VM: what a pickle would build, never built.
//!
//! This file is the contract between the VM and its users (the core crate's rules); change it
//! only together with them.

use serde::Serialize;

/// Index of a [`Value`] in [`Analysis::values`].
pub type ValueId = u32;

/// Resource limits for one [`analyze`](crate::analyze) run. Every piece of work driven by the
/// input is bounded by one of these; crossing a limit stops the run with [`ErrorKind::Limit`]
/// and keeps everything found so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Opcodes executed across all pickles of the stream.
    pub max_opcodes: u64,
    /// Depth of the VM stack (items, marks excluded).
    pub max_stack: usize,
    /// Mark-stack depth (nested `MARK`s).
    pub max_marks: usize,
    /// Entries in the memo of one pickle (also bounds the largest `PUT` index accepted).
    pub max_memo: usize,
    /// Values created in the arena (bounds memory for the object graph).
    pub max_values: usize,
    /// Bytes kept for one string/bytes operand; longer data is truncated in the value
    /// (`Value::Str`/`Value::Bytes` carry a `truncated` flag) but still skipped correctly.
    pub max_string_bytes: usize,
    /// Total bytes of string/bytes data kept across the run.
    pub max_total_string_bytes: usize,
    /// Pickles analysed back to back in one stream.
    pub max_pickles: usize,
    /// Recursion depth of [`Analysis::render`] and of any other walk over the value graph.
    pub max_depth: usize,
    /// Characters of one rendering; longer renderings end in `…`.
    pub max_render_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_opcodes: 10_000_000,
            max_stack: 100_000,
            max_marks: 10_000,
            max_memo: 1_000_000,
            max_values: 2_000_000,
            max_string_bytes: 1 << 20,
            max_total_string_bytes: 64 << 20,
            max_pickles: 64,
            max_depth: 64,
            max_render_chars: 2_000,
        }
    }
}

/// Where something happened in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Location {
    /// Byte offset of the opcode from the start of the data handed to `analyze`.
    pub offset: u64,
    /// Index of the opcode counted from the start of the stream (all pickles).
    pub opcode: u64,
    /// Which pickle of the stream (0-based).
    pub pickle: u32,
}

/// A symbolic value: what the unpickler would have on its stack.
///
/// Serialised adjacently tagged (`{"kind": "int", "value": 1}`): an internally tagged enum
/// cannot serialise newtype variants such as `Int(i64)` or `List(Vec<_>)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A larger integer, as decimal text (or `0x…` for huge LONG4 payloads rendered partially).
    BigInt(String),
    /// A float.
    Float(f64),
    /// A text string (`str`); `truncated` when longer than `Limits::max_string_bytes`.
    Str {
        /// The text kept (lossy UTF-8 for invalid data, as Python's unpickler would fail there).
        value: String,
        /// Whether the original was longer than what is kept.
        truncated: bool,
    },
    /// A `bytes` value (also protocol-0/1 `STRING`/`BINSTRING` under Python 3 with
    /// `encoding='bytes'`; see [`Value::Str`] for how the VM decodes them).
    Bytes {
        /// The bytes kept.
        value: Vec<u8>,
        /// Whether the original was longer than what is kept.
        truncated: bool,
    },
    /// A `bytearray` (BYTEARRAY8).
    ByteArray {
        /// The bytes kept.
        value: Vec<u8>,
        /// Whether the original was longer than what is kept.
        truncated: bool,
    },
    /// A tuple.
    Tuple(Vec<ValueId>),
    /// A list (mutated in place by APPEND/APPENDS).
    List(Vec<ValueId>),
    /// A dict (mutated in place by SETITEM/SETITEMS).
    Dict(Vec<(ValueId, ValueId)>),
    /// A set (ADDITEMS).
    Set(Vec<ValueId>),
    /// A frozenset.
    FrozenSet(Vec<ValueId>),
    /// An object imported by GLOBAL / STACK_GLOBAL / INST with constant names, after the
    /// protocol < 3 Python 2 name mapping. `name` may be dotted (`os.system`): `find_class`
    /// walks attributes.
    Global {
        /// Module name as `find_class` imports it.
        module: String,
        /// Qualified name inside the module.
        name: String,
    },
    /// STACK_GLOBAL whose operands are not constant strings (computed, wrong type, unknown).
    DynamicGlobal {
        /// The module operand.
        module: ValueId,
        /// The name operand.
        name: ValueId,
    },
    /// The result of call number `.0` in [`Analysis::calls`].
    Call(u32),
    /// The object returned by `persistent_load(pid)` (PERSID/BINPERSID).
    PersistentId(ValueId),
    /// An object from the copyreg extension registry (EXT1/2/4), unresolvable statically.
    Extension(i64),
    /// An out-of-band buffer (NEXT_BUFFER), possibly made read-only (READONLY_BUFFER).
    Buffer {
        /// Whether READONLY_BUFFER was applied.
        readonly: bool,
    },
    /// A value the VM could not know (e.g. GET of a missing memo key after an error).
    Unknown,
}

/// How an import was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ImportKind {
    /// GLOBAL opcode (`c`), text operands on the opcode line.
    Global,
    /// STACK_GLOBAL opcode (protocol 4+), operands from the stack.
    StackGlobal,
    /// INST opcode (`i`), import and call in one.
    Inst,
}

/// One import performed by the pickle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Import {
    /// Module as `find_class` would import it (after Python 2 mapping), when constant.
    pub module: Option<String>,
    /// Qualified name, when constant.
    pub name: Option<String>,
    /// Module exactly as written in the pickle (before mapping), when constant.
    pub raw_module: Option<String>,
    /// Name exactly as written in the pickle, when constant.
    pub raw_name: Option<String>,
    /// Which opcode made it.
    pub kind: ImportKind,
    /// The value pushed (a `Global` or `DynamicGlobal`).
    pub value: ValueId,
    /// Where.
    pub at: Location,
}

/// How a call was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallKind {
    /// REDUCE: `func(*args)`.
    Reduce,
    /// NEWOBJ: `cls.__new__(cls, *args)`.
    NewObj,
    /// NEWOBJ_EX: `cls.__new__(cls, *args, **kwargs)`.
    NewObjEx,
    /// OBJ: `cls(*args)` (or `cls.__new__(cls)` when `args` is empty and cls is a class).
    Obj,
    /// INST: `module.name(*args)`.
    Inst,
    /// APPEND/APPENDS on something that is not a known list: calls `obj.append`/`obj.extend`.
    Append,
    /// SETITEM/SETITEMS on something that is not a known dict: calls `obj.__setitem__`.
    SetItem,
    /// ADDITEMS on something that is not a known set: calls `obj.add`.
    AddItems,
}

/// One call the unpickler would perform.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Call {
    /// The callable (for `Append`/`SetItem`/`AddItems`: the object whose method is called).
    pub func: ValueId,
    /// Positional arguments.
    pub args: Vec<ValueId>,
    /// Keyword arguments (NEWOBJ_EX only; key values are normally `Str`).
    pub kwargs: Vec<(ValueId, ValueId)>,
    /// Which opcode made the call.
    pub kind: CallKind,
    /// The value standing for the call's result (`Value::Call(index)`).
    pub result: ValueId,
    /// Where.
    pub at: Location,
}

/// One BUILD: `target.__setstate__(state)` or, without `__setstate__`, `target.__dict__.update`
/// (and `setattr` for the slot-state half of a `(dict, slots)` tuple).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Build {
    /// The object being built.
    pub target: ValueId,
    /// The state argument.
    pub state: ValueId,
    /// Where.
    pub at: Location,
}

/// One pickle of the stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PickleInfo {
    /// Offset of its first opcode.
    pub start: u64,
    /// Offset just past its STOP (or where analysis stopped).
    pub end: u64,
    /// Protocol from PROTO, if any (protocol 0/1 streams have none).
    pub protocol: Option<u8>,
    /// Highest protocol an opcode in it requires (0–5).
    pub min_protocol: u8,
    /// Opcodes executed in it.
    pub opcodes: u64,
    /// The value STOP returned, if it was reached.
    pub result: Option<ValueId>,
}

/// Why analysis stopped early.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{kind} at offset {offset}")]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Byte offset where it happened.
    pub offset: u64,
}

/// What went wrong while reading a pickle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "type", content = "detail", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The data ended inside an opcode or before STOP.
    #[error("unexpected end of data")]
    Truncated,
    /// A byte that is no opcode of protocols 0–5.
    #[error("unknown opcode 0x{0:02x}")]
    UnknownOpcode(u8),
    /// An operand that does not parse (bad decimal, bad UTF-8 where required, bad quoting…).
    #[error("invalid operand: {0}")]
    BadOperand(String),
    /// The stack did not hold what an opcode needs (underflow, missing MARK, wrong type).
    #[error("stack error: {0}")]
    Stack(String),
    /// GET of a memo key never PUT.
    #[error("memo key {0} not found")]
    MissingMemo(u64),
    /// A limit from [`Limits`] was crossed; the name of the limit.
    #[error("limit exceeded: {0}")]
    Limit(&'static str),
}

/// Everything the VM learnt from a stream. Complete when `error` is `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Analysis {
    /// The value arena; [`ValueId`]s index it.
    pub values: Vec<Value>,
    /// Every import, in stream order.
    pub imports: Vec<Import>,
    /// Every call, in stream order.
    pub calls: Vec<Call>,
    /// Every BUILD, in stream order.
    pub builds: Vec<Build>,
    /// Persistent ids loaded (PERSID/BINPERSID): the pid value and where.
    pub persistent_ids: Vec<(ValueId, Location)>,
    /// The pickles of the stream, in order.
    pub pickles: Vec<PickleInfo>,
    /// Bytes after the last pickle that do not start a new one (not read by `pickle.load`).
    pub trailing_bytes: u64,
    /// Offset of the first FRAME opcode that declares more bytes than the data holds. The C
    /// unpickler stops there ("pickle data was truncated"); the pure-Python one
    /// (`pickle._Unframer.load_frame`) takes the shorter frame and runs what follows. The VM
    /// reads on (Python's view, a superset of C's) and records where.
    pub frame_overrun: Option<u64>,
    /// Offset of the first read that crosses the end of a FRAME. `pickle.loads` reads on
    /// across it, `pickle._Unpickler` fails there, and `_pickle.c` reading a file object the
    /// frame was `read()` from (`io.BytesIO`: torch.load's data.pkl; any frame larger than a
    /// `BufferedReader`'s buffer) drops the rest of the frame and takes the read from after
    /// it: [`crate::analyze_file_view`] is that view. No pickler writes such a stream.
    pub frame_straddle: Option<u64>,
    /// Why analysis stopped early, if it did. Everything before the error is kept: code that
    /// runs before a parse error still runs when the file is loaded.
    pub error: Option<Error>,
    /// `Limits::max_depth` / `max_render_chars` of the run, for [`Analysis::render`].
    #[serde(skip)]
    pub(crate) render_limits: crate::render::RenderLimits,
}
