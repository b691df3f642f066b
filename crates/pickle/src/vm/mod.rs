//! The symbolic machine: runs the opcodes of one or more pickles over a value arena, the way
//! `pickle.Unpickler.load` would, but records imports and calls instead of performing them.
//!
//! Structure follows CPython's C unpickler (`Modules/_pickle.c`): one object stack, a mark
//! stack of stack heights, and a "fence" (the top mark) below which opcodes may not pop. Where
//! the C and pure-Python unpicklers differ, the VM takes the more permissive reading so that an
//! attacker cannot hide a payload behind a construct one of them accepts.
//!
//! This module holds the machine's state and primitives (arena, stack, memo, calls), the run
//! loop and the hot opcodes; the others are handled by family in `stream.rs`, `scalars.rs`,
//! `containers.rs` and `objects.rs`, which use only this module's primitives; joblib's inline
//! arrays are `joblib.rs`. Must not: execute, import or judge anything.

mod containers;
mod joblib;
mod memo;
mod objects;
mod scalars;
mod stream;

use memo::Memo;

use rustc_hash::FxHashMap as HashMap;

use crate::opcodes::{self as op, min_protocol_of};
use crate::reader::Reader;
use crate::{
    Analysis, Call, CallKind, Error, ErrorKind, Limits, Location, PickleInfo, Value, ValueId,
};

/// Per-pickle state: each `pickle.load` call starts with a fresh stack, memo and protocol.
#[derive(Default)]
struct Frame {
    stack: Vec<ValueId>,
    /// Stack heights at each MARK.
    marks: Vec<usize>,
    memo: Memo,
    /// Current protocol (PROTO sets it; 0 without one), consulted by `find_class` mapping.
    proto: u8,
    /// For a joblib object-array pickle: the outer unpickler's protocol. joblib 1.6 reads the
    /// nested pickle with the *outer* unpickler's `find_class`, which maps Python 2 names by
    /// the outer protocol; older versions used a plain `pickle.load`. Names are mapped if
    /// either protocol is below 3, so no version's reading is missed.
    outer_proto: Option<u8>,
}

impl Frame {
    fn maps_python2_names(&self) -> bool {
        self.proto < 3 || self.outer_proto.is_some_and(|p| p < 3)
    }
}

/// How one pickle ended.
pub(crate) struct Outcome {
    /// Offset after its STOP, or where it failed.
    pub(crate) end: usize,
    pub(crate) result: Result<ValueId, Error>,
    /// The failure happened on the pickle's very first opcode (nothing ran).
    pub(crate) failed_first: bool,
}

/// What [`Vm::snapshot`] saves so a pickle that turns out to be trailing garbage can be undone.
pub(crate) struct Snapshot {
    values: usize,
    imports: usize,
    calls: usize,
    builds: usize,
    pids: usize,
    pickles: usize,
    opcodes: u64,
    string_bytes: usize,
    copied: usize,
}

/// The machine. One per `analyze` run; pickles of the stream share its arena.
pub(crate) struct Vm<'a> {
    data: &'a [u8],
    limits: &'a Limits,
    pub(crate) out: Analysis,
    opcodes: u64,
    string_bytes: usize,
    /// Value ids copied into call argument lists (counted against `max_values`, since a
    /// memoised tuple can be passed to any number of REDUCEs).
    copied: usize,
    none_id: Option<ValueId>,
    true_id: Option<ValueId>,
    false_id: Option<ValueId>,
    /// Last BUILD state per target; only kept for joblib (dtype states).
    build_state: HashMap<ValueId, ValueId>,
    /// Read frames as `_pickle.c` reads a file (see `Reader::discard`).
    pub(crate) frame_discard: bool,
}

type R<T> = Result<T, ErrorKind>;

// Errors end the run: keeping their construction out of line keeps the handlers small.
#[cold]
#[inline(never)]
fn stack_err(msg: &str) -> ErrorKind {
    ErrorKind::Stack(msg.to_owned())
}

#[cold]
#[inline(never)]
fn bad(msg: &str) -> ErrorKind {
    ErrorKind::BadOperand(msg.to_owned())
}

/// Cuts `s` to at most `max` bytes on a char boundary.
fn truncate_str(mut s: String, max: usize) -> (String, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    (s, true)
}

impl<'a> Vm<'a> {
    pub(crate) fn new(data: &'a [u8], limits: &'a Limits) -> Self {
        let mut out = Analysis::default();
        // Room for the values a typical stream of this size makes (about one per 8 bytes),
        // so small pickles do not regrow the arena several times.
        out.values.reserve((data.len() / 8).clamp(16, 1 << 12));
        Self {
            data,
            limits,
            out,
            opcodes: 0,
            string_bytes: 0,
            copied: 0,
            none_id: None,
            true_id: None,
            false_id: None,
            build_state: HashMap::default(),
            frame_discard: false,
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            values: self.out.values.len(),
            imports: self.out.imports.len(),
            calls: self.out.calls.len(),
            builds: self.out.builds.len(),
            pids: self.out.persistent_ids.len(),
            pickles: self.out.pickles.len(),
            opcodes: self.opcodes,
            string_bytes: self.string_bytes,
            copied: self.copied,
        }
    }

    pub(crate) fn rollback(&mut self, s: Snapshot) {
        self.out.values.truncate(s.values);
        self.out.imports.truncate(s.imports);
        self.out.calls.truncate(s.calls);
        self.out.builds.truncate(s.builds);
        self.out.persistent_ids.truncate(s.pids);
        self.out.pickles.truncate(s.pickles);
        self.opcodes = s.opcodes;
        self.string_bytes = s.string_bytes;
        self.copied = s.copied;
        let keep = |id: &mut Option<ValueId>| {
            if id.is_some_and(|v| v as usize >= s.values) {
                *id = None;
            }
        };
        keep(&mut self.none_id);
        keep(&mut self.true_id);
        keep(&mut self.false_id);
        self.build_state
            .retain(|k, v| (*k as usize) < s.values && (*v as usize) < s.values);
    }

    // ----- arena -------------------------------------------------------------------------

    #[inline(always)]
    fn new_value(&mut self, v: Value) -> R<ValueId> {
        let n = self.out.values.len();
        if n.saturating_add(self.copied) >= self.limits.max_values {
            return Err(ErrorKind::Limit("max_values"));
        }
        let id = ValueId::try_from(n).map_err(|_| ErrorKind::Limit("max_values"))?;
        self.out.values.push(v);
        Ok(id)
    }

    fn value(&self, id: ValueId) -> Option<&Value> {
        self.out.values.get(id as usize)
    }

    /// `None`/`True`/`False` are immutable singletons in Python too: share one value each.
    fn singleton(&mut self, v: Value) -> R<ValueId> {
        let slot = match v {
            Value::None => self.none_id,
            Value::Bool(true) => self.true_id,
            Value::Bool(false) => self.false_id,
            _ => None,
        };
        if let Some(id) = slot {
            return Ok(id);
        }
        let is = (matches!(v, Value::None), matches!(v, Value::Bool(true)));
        let id = self.new_value(v)?;
        match is {
            (true, _) => self.none_id = Some(id),
            (false, true) => self.true_id = Some(id),
            (false, false) => self.false_id = Some(id),
        }
        Ok(id)
    }

    #[inline]
    fn charge_strings(&mut self, n: usize) -> R<()> {
        self.string_bytes = self.string_bytes.saturating_add(n);
        if self.string_bytes > self.limits.max_total_string_bytes {
            return Err(ErrorKind::Limit("max_total_string_bytes"));
        }
        Ok(())
    }

    fn charge_copies(&mut self, n: usize) -> R<()> {
        self.copied = self.copied.saturating_add(n);
        if self.out.values.len().saturating_add(self.copied) >= self.limits.max_values {
            return Err(ErrorKind::Limit("max_values"));
        }
        Ok(())
    }

    /// A UTF-8 string operand of which only the first `max_string_bytes` are decoded.
    #[inline]
    fn new_utf8(&mut self, raw: &[u8]) -> R<ValueId> {
        // The common case, valid text within the limit, needs no cutting.
        if raw.len() <= self.limits.max_string_bytes
            && let Ok(s) = std::str::from_utf8(raw)
        {
            self.charge_strings(s.len())?;
            return self.new_value(Value::Str {
                value: s.to_owned(),
                truncated: false,
            });
        }
        self.new_utf8_cut(raw)
    }

    /// [`Vm::new_utf8`] for long or invalid text.
    #[inline(never)]
    fn new_utf8_cut(&mut self, raw: &[u8]) -> R<ValueId> {
        let max = self.limits.max_string_bytes;
        let (head, cut) = match raw.split_at_checked(max) {
            Some((h, _)) if raw.len() > max => (h, true),
            _ => (raw, false),
        };
        // `from_utf8` first: the lossy path validates byte by byte even for valid text.
        let s = match std::str::from_utf8(head) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(head).into_owned(),
        };
        let (value, t) = truncate_str(s, max);
        self.charge_strings(value.len())?;
        self.new_value(Value::Str {
            value,
            truncated: cut || t,
        })
    }

    /// Reads a declared length and checks the bytes are there before anything is allocated.
    fn sized<'r>(&self, r: &mut Reader<'r>, len: u64) -> R<&'r [u8]> {
        let n = usize::try_from(len).map_err(|_| ErrorKind::Truncated)?;
        if n > r.remaining() {
            return Err(ErrorKind::Truncated);
        }
        r.take(n)
    }

    // ----- stack -------------------------------------------------------------------------

    #[inline(always)]
    fn push(&self, f: &mut Frame, id: ValueId) -> R<()> {
        if f.stack.len() >= self.limits.max_stack {
            return Err(ErrorKind::Limit("max_stack"));
        }
        f.stack.push(id);
        Ok(())
    }

    fn fence(f: &Frame) -> usize {
        f.marks.last().copied().unwrap_or(0)
    }

    #[inline(always)]
    fn pop(f: &mut Frame) -> R<ValueId> {
        if f.stack.len() <= Self::fence(f) {
            return Err(stack_err("unpickling stack underflow"));
        }
        f.stack
            .pop()
            .ok_or_else(|| stack_err("unpickling stack underflow"))
    }

    #[inline(always)]
    fn top(f: &Frame) -> R<ValueId> {
        if f.stack.len() <= Self::fence(f) {
            return Err(stack_err("unpickling stack underflow"));
        }
        f.stack
            .last()
            .copied()
            .ok_or_else(|| stack_err("unpickling stack underflow"))
    }

    fn set_top(f: &mut Frame, id: ValueId) -> R<()> {
        let slot = f
            .stack
            .last_mut()
            .ok_or_else(|| stack_err("unpickling stack underflow"))?;
        *slot = id;
        Ok(())
    }

    fn pop_mark(f: &mut Frame) -> R<Vec<ValueId>> {
        let m = Self::pop_mark_height(f)?;
        Ok(f.stack.split_off(m))
    }

    /// What [`Vm::top`] gives once the items above stack height `m` (a popped mark) are gone.
    #[inline(always)]
    fn below_mark(f: &Frame, m: usize) -> R<ValueId> {
        match m.checked_sub(1).and_then(|i| f.stack.get(i)) {
            Some(&t) if m > Self::fence(f) => Ok(t),
            _ => Err(stack_err("unpickling stack underflow")),
        }
    }

    /// Pops the top mark and returns its stack height: the items above it are `stack[m..]`.
    #[inline(always)]
    fn pop_mark_height(f: &mut Frame) -> R<usize> {
        let m = f
            .marks
            .pop()
            .ok_or_else(|| stack_err("could not find MARK"))?;
        if m > f.stack.len() {
            return Err(stack_err("MARK above stack top"));
        }
        Ok(m)
    }

    // ----- memo --------------------------------------------------------------------------

    #[inline(always)]
    fn memo_put(&self, f: &mut Frame, idx: u64) -> R<()> {
        let top = Self::top(f)?;
        let max = self.limits.max_memo as u64;
        if idx >= max || (f.memo.len() >= self.limits.max_memo && !f.memo.contains(idx)) {
            return Err(ErrorKind::Limit("max_memo"));
        }
        f.memo.insert(idx, top);
        Ok(())
    }

    #[inline]
    fn memo_get(&self, f: &mut Frame, idx: u64) -> R<()> {
        let id = f.memo.get(idx).ok_or(ErrorKind::MissingMemo(idx))?;
        self.push(f, id)
    }

    // ----- imports and calls -------------------------------------------------------------

    /// Where the opcode at `pos` is (`self.opcodes` already counts it). Built only by the
    /// handlers that record a location, not for every opcode.
    fn at(&self, pos: usize, pickle: u32) -> Location {
        Location {
            offset: pos as u64,
            opcode: self.opcodes - 1,
            pickle,
        }
    }

    fn call(
        &mut self,
        func: ValueId,
        args: Vec<ValueId>,
        kwargs: Vec<(ValueId, ValueId)>,
        kind: CallKind,
        at: Location,
    ) -> R<ValueId> {
        let idx =
            u32::try_from(self.out.calls.len()).map_err(|_| ErrorKind::Limit("max_values"))?;
        let result = self.new_value(Value::Call(idx))?;
        self.out.calls.push(Call {
            func,
            args,
            kwargs,
            kind,
            result,
            at,
        });
        Ok(result)
    }

    // ----- running -----------------------------------------------------------------------

    /// Runs one pickle starting at `start`. `joblib` enables joblib's inline array data after
    /// `NumpyArrayWrapper` BUILDs (never for a nested pickle: joblib reads those with a plain
    /// `Unpickler`, so nesting is at most one level deep). `outer_proto` is set for such a
    /// nested pickle (see [`Frame::outer_proto`]).
    pub(crate) fn run_pickle(
        &mut self,
        start: usize,
        joblib: bool,
        outer_proto: Option<u8>,
    ) -> Outcome {
        let index = self.out.pickles.len();
        self.out.pickles.push(PickleInfo {
            start: start as u64,
            end: start as u64,
            protocol: None,
            min_protocol: 0,
            opcodes: 0,
            result: None,
        });
        // Room for a typical small pickle's stack, marks and memo, so they are allocated once
        // instead of regrown from empty.
        let mut ctx = Ctx {
            frame: Frame {
                stack: Vec::with_capacity(32),
                marks: Vec::with_capacity(8),
                memo: Memo::with_capacity(32),
                outer_proto,
                ..Frame::default()
            },
            r: Reader::new(self.data, start).discarding(self.frame_discard),
            pickle: u32::try_from(index).unwrap_or(u32::MAX),
            joblib,
            count: 0,
            min_proto: 0,
            first_proto: None,
        };
        let result = loop {
            match self.step(&mut ctx) {
                Ok(None) => {}
                Ok(Some(v)) => break Ok(v),
                Err(e) => break Err(e),
            }
        };
        if self.out.frame_straddle.is_none() {
            self.out.frame_straddle = ctx.r.straddle.map(|p| p as u64);
        }
        let end = match &result {
            Ok(_) => ctx.r.pos(),
            Err(e) => usize::try_from(e.offset)
                .unwrap_or(usize::MAX)
                .min(self.data.len()),
        };
        if let Some(info) = self.out.pickles.get_mut(index) {
            info.end = end as u64;
            info.protocol = ctx.first_proto;
            info.min_protocol = ctx.min_proto;
            info.opcodes = ctx.count;
            info.result = result.as_ref().ok().copied();
        }
        Outcome {
            end,
            failed_first: result.is_err() && ctx.count <= 1,
            result,
        }
    }

    /// Executes one opcode (plus joblib inline data after it, if any).
    fn step(&mut self, c: &mut Ctx<'a>) -> Result<Option<ValueId>, Error> {
        let pos = c.r.pos();
        let err = |kind| Error {
            kind,
            offset: pos as u64,
        };
        let code = c.r.u8().map_err(err)?;
        self.opcodes += 1;
        c.count += 1;
        if self.opcodes > self.limits.max_opcodes {
            return Err(err(ErrorKind::Limit("max_opcodes")));
        }
        let proto = min_protocol_of(code).ok_or_else(|| err(ErrorKind::UnknownOpcode(code)))?;
        c.min_proto = c.min_proto.max(proto);
        match self.exec(code, c, pos).map_err(err)? {
            Step::Continue => Ok(None),
            Step::Stop(v) => Ok(Some(v)),
            Step::Built { target, state } => {
                if c.joblib {
                    self.joblib_inline(c, target, state)?;
                }
                Ok(None)
            }
        }
    }

    /// The opcode handlers, after CPython's `load_*` methods. The opcodes that make up most of
    /// a protocol 1–5 pickle (numbers, strings, empty containers, list items, memo, marks) are
    /// handled here, inlined into the run loop; the others in [`Vm::exec_other`], so the
    /// common path keeps a small stack frame.
    #[inline(always)]
    fn exec(&mut self, code: u8, c: &mut Ctx<'a>, pos: usize) -> R<Step> {
        let r = &mut c.r;
        let f = &mut c.frame;
        let pushed = match code {
            op::MARK => {
                if f.marks.len() >= self.limits.max_marks {
                    return Err(ErrorKind::Limit("max_marks"));
                }
                f.marks.push(f.stack.len());
                return Ok(Step::Continue);
            }
            op::BININT => {
                let v = r.i32_le()?;
                self.new_value(Value::Int(i64::from(v)))?
            }
            op::BININT1 => {
                let v = r.u8()?;
                self.new_value(Value::Int(i64::from(v)))?
            }
            op::BININT2 => {
                let v = r.u16_le()?;
                self.new_value(Value::Int(i64::from(v)))?
            }
            op::BINFLOAT => {
                let v = f64::from_be_bytes(r.array()?);
                self.new_value(Value::Float(v))?
            }
            op::BINGET | op::LONG_BINGET => {
                let idx = match code {
                    op::BINGET => u64::from(r.u8()?),
                    _ => u64::from(r.u32_le()?),
                };
                self.memo_get(f, idx)?;
                return Ok(Step::Continue);
            }
            op::BINPUT | op::LONG_BINPUT => {
                let idx = match code {
                    op::BINPUT => u64::from(r.u8()?),
                    _ => u64::from(r.u32_le()?),
                };
                self.memo_put(f, idx)?;
                return Ok(Step::Continue);
            }
            op::MEMOIZE => {
                let idx = f.memo.len() as u64;
                self.memo_put(f, idx)?;
                return Ok(Step::Continue);
            }
            op::EMPTY_TUPLE => self.new_value(Value::Tuple(Vec::new()))?,
            op::EMPTY_LIST => self.new_value(Value::List(Vec::new()))?,
            op::EMPTY_DICT => self.new_value(Value::Dict(Vec::new()))?,
            op::BINUNICODE | op::SHORT_BINUNICODE | op::BINUNICODE8 => {
                let n = match code {
                    op::BINUNICODE => u64::from(r.u32_le()?),
                    op::SHORT_BINUNICODE => u64::from(r.u8()?),
                    _ => r.u64_le()?,
                };
                let data = self.sized(r, n)?;
                self.new_utf8(data)?
            }
            op::APPENDS => {
                let m = Self::pop_mark_height(f)?;
                let target = Self::below_mark(f, m)?;
                // A known list takes the items straight from the stack (an empty one takes
                // them as they are); anything else gets `extend` called with them, even with
                // no items, as the pure-Python unpickler does.
                match self.out.values.get_mut(target as usize) {
                    Some(Value::List(l)) if l.is_empty() => *l = f.stack.split_off(m),
                    Some(Value::List(l)) => {
                        l.extend_from_slice(f.stack.get(m..).unwrap_or_default());
                        f.stack.truncate(m);
                    }
                    _ => {
                        let items = f.stack.split_off(m);
                        let at = self.at(pos, c.pickle);
                        self.call(target, items, Vec::new(), CallKind::Append, at)?;
                    }
                }
                return Ok(Step::Continue);
            }
            _ => return self.exec_other(code, c, pos),
        };
        self.push(f, pushed)?;
        Ok(Step::Continue)
    }

    /// The less frequent opcode handlers (see [`Vm::exec`]), by family. The family handlers
    /// are `inline(always)`: this stays one out-of-line function, as before the split.
    #[inline(never)]
    fn exec_other(&mut self, code: u8, c: &mut Ctx<'a>, pos: usize) -> R<Step> {
        let f = &mut c.frame;
        match code {
            op::STOP => Ok(Step::Stop(Self::pop(f)?)),
            op::POP => {
                // As in `_pickle.c`: POP right after a MARK discards the mark.
                if f.marks.last() == Some(&f.stack.len()) {
                    f.marks.pop();
                } else {
                    Self::pop(f)?;
                }
                Ok(Step::Continue)
            }
            op::POP_MARK => {
                Self::pop_mark(f)?;
                Ok(Step::Continue)
            }
            op::DUP => {
                let top = Self::top(f)?;
                self.push(f, top)?;
                Ok(Step::Continue)
            }
            op::PROTO | op::FRAME | op::GET | op::PUT => self.exec_stream(code, c, pos),
            op::NONE
            | op::NEWTRUE
            | op::NEWFALSE
            | op::INT
            | op::LONG
            | op::LONG1
            | op::LONG4
            | op::FLOAT
            | op::STRING
            | op::BINSTRING
            | op::SHORT_BINSTRING
            | op::UNICODE
            | op::BINBYTES
            | op::SHORT_BINBYTES
            | op::BINBYTES8
            | op::BYTEARRAY8 => self.exec_scalar(code, c),
            op::TUPLE1
            | op::TUPLE2
            | op::TUPLE3
            | op::TUPLE
            | op::LIST
            | op::DICT
            | op::EMPTY_SET
            | op::FROZENSET
            | op::APPEND
            | op::SETITEM
            | op::SETITEMS
            | op::ADDITEMS => self.exec_container(code, c, self.at(pos, c.pickle)),
            op::GLOBAL
            | op::STACK_GLOBAL
            | op::INST
            | op::OBJ
            | op::REDUCE
            | op::NEWOBJ
            | op::NEWOBJ_EX
            | op::BUILD
            | op::PERSID
            | op::BINPERSID
            | op::EXT1
            | op::EXT2
            | op::EXT4
            | op::NEXT_BUFFER
            | op::READONLY_BUFFER => self.exec_object(code, c, self.at(pos, c.pickle)),
            other => Err(ErrorKind::UnknownOpcode(other)),
        }
    }
}

/// What an opcode handler asks the loop to do next.
enum Step {
    Continue,
    Stop(ValueId),
    /// A BUILD happened (joblib may have inline data after it).
    Built {
        target: ValueId,
        state: ValueId,
    },
}

/// The running state of one pickle.
struct Ctx<'a> {
    frame: Frame,
    r: Reader<'a>,
    pickle: u32,
    joblib: bool,
    count: u64,
    min_proto: u8,
    first_proto: Option<u8>,
}
