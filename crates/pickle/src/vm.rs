//! The symbolic machine: runs the opcodes of one or more pickles over a value arena, the way
//! `pickle.Unpickler.load` would, but records imports and calls instead of performing them.
//!
//! Structure follows CPython's C unpickler (`Modules/_pickle.c`): one object stack, a mark
//! stack of stack heights, and a "fence" (the top mark) below which opcodes may not pop. Where
//! the C and pure-Python unpicklers differ, the VM takes the more permissive reading so that an
//! attacker cannot hide a payload behind a construct one of them accepts.

use rustc_hash::FxHashMap as HashMap;

use crate::compat::map_python2_name;
use crate::opcodes::{self as op, min_protocol_of};
use crate::reader::Reader;
use crate::text::{self, PyInt};
use crate::{
    Analysis, Build, Call, CallKind, Error, ErrorKind, Import, ImportKind, Limits, Location,
    PickleInfo, Value, ValueId,
};

/// How many dict entries a joblib wrapper-state lookup inspects (real states have six).
const MAX_JOBLIB_STATE_SCAN: usize = 64;

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

/// A pickle's memo. Picklers number entries 0, 1, 2, … (sometimes with gaps, after
/// `pickletools.optimize`), so indices near the end live in a vector; an index far beyond it
/// goes to a map, so a hostile `PUT 999999` does not grow the vector.
#[derive(Default)]
struct Memo {
    dense: Vec<Option<ValueId>>,
    sparse: HashMap<u64, ValueId>,
    len: usize,
}

/// Largest gap past the vector's end that still extends it (bounds wasted slots per PUT).
const MEMO_DENSE_GAP: u64 = 64;

impl Memo {
    fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn get(&self, idx: u64) -> Option<ValueId> {
        match usize::try_from(idx).ok().and_then(|i| self.dense.get(i)) {
            Some(Some(v)) => Some(*v),
            _ => self.sparse.get(&idx).copied(),
        }
    }

    fn contains(&self, idx: u64) -> bool {
        self.get(idx).is_some()
    }

    #[inline]
    fn insert(&mut self, idx: u64, v: ValueId) {
        let end = self.dense.len() as u64;
        if idx < end.saturating_add(MEMO_DENSE_GAP)
            && let Ok(i) = usize::try_from(idx)
            && (self.sparse.is_empty() || !self.sparse.contains_key(&idx))
        {
            if i >= self.dense.len() {
                self.dense.resize(i + 1, None);
            }
            if let Some(slot) = self.dense.get_mut(i) {
                if slot.is_none() {
                    self.len += 1;
                }
                *slot = Some(v);
            }
        } else if self.sparse.insert(idx, v).is_none() {
            self.len += 1;
        }
    }
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

/// What a BUILD on a joblib `NumpyArrayWrapper` says follows inline.
enum InlineArray {
    /// A nested pickle (object dtype).
    Pickle,
    /// Raw bytes, optionally preceded by a padding-length byte and that much padding.
    Raw { nbytes: u64, padded: bool },
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

/// Python 3 decodes protocol 0–2 `str` (STRING/BINSTRING) with the unpickler's `encoding`
/// ('ASCII' by default; torch uses UTF-8, numpy 'latin1'). Keep whichever decoding succeeds.
fn decode_py2_str(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => b.iter().map(|&c| char::from(c)).collect(),
    }
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

    fn new_str(&mut self, s: String) -> R<ValueId> {
        let (value, truncated) = truncate_str(s, self.limits.max_string_bytes);
        self.charge_strings(value.len())?;
        self.new_value(Value::Str { value, truncated })
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

    fn kept_bytes(&mut self, raw: &[u8]) -> R<(Vec<u8>, bool)> {
        let max = self.limits.max_string_bytes;
        let (head, truncated) = match raw.split_at_checked(max) {
            Some((h, _)) if raw.len() > max => (h, true),
            _ => (raw, false),
        };
        self.charge_strings(head.len())?;
        Ok((head.to_vec(), truncated))
    }

    fn int_value(&mut self, v: PyInt) -> R<ValueId> {
        match v {
            PyInt::Small(i) => self.new_value(Value::Int(i)),
            PyInt::Big(s) => {
                self.charge_strings(s.len())?;
                self.new_value(Value::BigInt(s))
            }
        }
    }

    /// Reads a declared length and checks the bytes are there before anything is allocated.
    fn sized<'r>(&self, r: &mut Reader<'r>, len: u64) -> R<&'r [u8]> {
        let n = usize::try_from(len).map_err(|_| ErrorKind::Truncated)?;
        if n > r.remaining() {
            return Err(ErrorKind::Truncated);
        }
        r.take(n)
    }

    /// A protocol-0 text operand line, bounded like any other string operand.
    ///
    /// At the end of the data, `pickle._Unpickler` still calls `find_class` with what
    /// `readline()[:-1]` gave (importing the module!) before failing on the next read; so the
    /// partial line is returned with a flag and the caller records the import, then fails.
    fn name_line(&mut self, r: &mut Reader<'_>) -> R<(String, bool)> {
        let (line, eof) = r.line_or_rest();
        if line.len() > self.limits.max_string_bytes {
            return Err(ErrorKind::Limit("max_string_bytes"));
        }
        self.charge_strings(line.len())?;
        let text = match std::str::from_utf8(line) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(line).into_owned(),
        };
        Ok((text, eof))
    }

    /// The `module\nname\n` operands of GLOBAL/INST (see [`Vm::name_line`] for the flag).
    fn name_pair(&mut self, r: &mut Reader<'_>) -> R<(String, String, bool)> {
        let (module, eof) = self.name_line(r)?;
        if eof {
            return Ok((module, String::new(), true));
        }
        let (name, eof) = self.name_line(r)?;
        Ok((module, name, eof))
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

    fn global(
        &mut self,
        map_names: bool,
        raw_module: String,
        raw_name: String,
        kind: ImportKind,
        at: Location,
    ) -> R<ValueId> {
        let (module, name) = if map_names {
            map_python2_name(&raw_module, &raw_name)
        } else {
            (raw_module.clone(), raw_name.clone())
        };
        let value = self.new_value(Value::Global {
            module: module.clone(),
            name: name.clone(),
        })?;
        self.out.imports.push(Import {
            module: Some(module),
            name: Some(name),
            raw_module: Some(raw_module),
            raw_name: Some(raw_name),
            kind,
            value,
            at,
        });
        Ok(value)
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

    /// The positional arguments an `args` operand stands for: the items of a known tuple (or
    /// list: the pure-Python unpickler accepts `func(*list)`), else the operand itself.
    fn args_of(&mut self, id: ValueId) -> R<Vec<ValueId>> {
        let items = match self.value(id) {
            Some(Value::Tuple(v) | Value::List(v)) => v.clone(),
            _ => return Ok(vec![id]),
        };
        self.charge_copies(items.len())?;
        Ok(items)
    }

    /// Keyword arguments of NEWOBJ_EX: a known dict's items, else `(Unknown, operand)`, which
    /// renders as `**operand`.
    fn kwargs_of(&mut self, id: ValueId) -> R<Vec<(ValueId, ValueId)>> {
        let items = match self.value(id) {
            Some(Value::Dict(v)) => v.clone(),
            _ => {
                let k = self.new_value(Value::Unknown)?;
                return Ok(vec![(k, id)]);
            }
        };
        self.charge_copies(items.len().saturating_mul(2))?;
        Ok(items)
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
                memo: Memo {
                    dense: Vec::with_capacity(32),
                    ..Memo::default()
                },
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

    /// The less frequent opcode handlers (see [`Vm::exec`]).
    #[inline(never)]
    fn exec_other(&mut self, code: u8, c: &mut Ctx<'a>, pos: usize) -> R<Step> {
        let at = self.at(pos, c.pickle);
        let r = &mut c.r;
        let f = &mut c.frame;
        let pushed = match code {
            op::STOP => return Ok(Step::Stop(Self::pop(f)?)),
            op::POP => {
                // As in `_pickle.c`: POP right after a MARK discards the mark.
                if f.marks.last() == Some(&f.stack.len()) {
                    f.marks.pop();
                } else {
                    Self::pop(f)?;
                }
                return Ok(Step::Continue);
            }
            op::POP_MARK => {
                Self::pop_mark(f)?;
                return Ok(Step::Continue);
            }
            op::DUP => Self::top(f)?,
            op::PROTO => {
                let v = r.u8()?;
                if v > 5 {
                    return Err(ErrorKind::BadOperand(format!(
                        "unsupported pickle protocol: {v}"
                    )));
                }
                f.proto = v;
                if c.first_proto.is_none() {
                    c.first_proto = Some(v);
                }
                return Ok(Step::Continue);
            }
            op::FRAME => {
                // The two CPython unpicklers disagree here, and both views are kept.
                // `_pickle.c` `load_frame` reads the whole frame and rewinds: a frame longer
                // than the data fails ("pickle data was truncated"); afterwards frames do not
                // matter (reads cross their ends). `pickle.py` `_Unframer.load_frame` takes
                // `file.read(n)`, which may be shorter, and goes on inside it; a read crossing
                // the end of a frame fails there ("pickle exhausted before end of frame").
                // Reading on across frame ends (C) past an overlong frame (Python) sees every
                // opcode either unpickler runs.
                let n = r.u64_le()?;
                // Both refuse a length above sys.maxsize (OverflowError / ValueError).
                if n > i64::MAX as u64 {
                    return Err(ErrorKind::Truncated);
                }
                let len = usize::try_from(n).unwrap_or(usize::MAX);
                if len > r.remaining() && self.out.frame_overrun.is_none() {
                    self.out.frame_overrun = Some(pos as u64);
                }
                r.begin_frame(len);
                return Ok(Step::Continue);
            }

            // --- constants
            op::NONE => self.singleton(Value::None)?,
            op::NEWTRUE => self.singleton(Value::Bool(true))?,
            op::NEWFALSE => self.singleton(Value::Bool(false))?,
            op::INT => {
                let line = text::c_str(r.line()?);
                match line {
                    b"00" => self.singleton(Value::Bool(false))?,
                    b"01" => self.singleton(Value::Bool(true))?,
                    _ => {
                        let v = text::parse_int(line, true)
                            .or_else(|| text::parse_c_octal(line))
                            .ok_or_else(|| bad("INT"))?;
                        self.int_value(v)?
                    }
                }
            }
            op::LONG => {
                let line = text::c_str(r.line()?);
                let line = line.strip_suffix(b"L").unwrap_or(line);
                let v = text::parse_int(line, true).ok_or_else(|| bad("LONG"))?;
                self.int_value(v)?
            }
            op::LONG1 | op::LONG4 => {
                let n = if code == op::LONG1 {
                    u64::from(r.u8()?)
                } else {
                    u64::try_from(r.i32_le()?)
                        .map_err(|_| bad("LONG pickle has negative byte count"))?
                };
                let data = self.sized(r, n)?;
                if data.len() > self.limits.max_string_bytes {
                    // Skipped, summarised: decimal conversion would be quadratic.
                    self.new_value(Value::BigInt(format!("0x…({} bytes)", data.len())))?
                } else {
                    self.int_value(text::decode_long(data))?
                }
            }
            op::FLOAT => {
                let v = text::parse_float(text::c_str(r.line()?)).ok_or_else(|| bad("FLOAT"))?;
                self.new_value(Value::Float(v))?
            }

            // --- strings
            op::STRING => {
                let line = r.line()?;
                let inner = match line {
                    [q @ (b'\'' | b'"'), inner @ .., e] if q == e => inner,
                    _ => return Err(bad("the STRING opcode argument must be quoted")),
                };
                let bytes = text::escape_decode(inner).ok_or_else(|| bad("STRING escape"))?;
                self.new_str(decode_py2_str(&bytes))?
            }
            op::BINSTRING | op::SHORT_BINSTRING => {
                let n = if code == op::BINSTRING {
                    u64::try_from(r.i32_le()?)
                        .map_err(|_| bad("BINSTRING pickle has negative byte count"))?
                } else {
                    u64::from(r.u8()?)
                };
                let data = self.sized(r, n)?;
                let max = self.limits.max_string_bytes;
                let head = data.get(..max).unwrap_or(data);
                let (value, t) = truncate_str(decode_py2_str(head), max);
                self.charge_strings(value.len())?;
                self.new_value(Value::Str {
                    value,
                    truncated: t || data.len() > max,
                })?
            }
            op::UNICODE => {
                let s = text::raw_unicode_escape(r.line()?).ok_or_else(|| bad("UNICODE escape"))?;
                self.new_str(s)?
            }
            op::BINBYTES | op::SHORT_BINBYTES | op::BINBYTES8 | op::BYTEARRAY8 => {
                let n = match code {
                    op::BINBYTES => u64::from(r.u32_le()?),
                    op::SHORT_BINBYTES => u64::from(r.u8()?),
                    _ => r.u64_le()?,
                };
                // `_Unpickler_ReadInto`: contiguous across a frame end in every view.
                let len = usize::try_from(n).map_err(|_| ErrorKind::Truncated)?;
                if len > r.remaining() {
                    return Err(ErrorKind::Truncated);
                }
                let data = r.take_into(len)?;
                let (value, truncated) = self.kept_bytes(data)?;
                if code == op::BYTEARRAY8 {
                    self.new_value(Value::ByteArray { value, truncated })?
                } else {
                    self.new_value(Value::Bytes { value, truncated })?
                }
            }

            // --- containers
            op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                let n = usize::from(code - op::TUPLE1) + 1;
                let mut items = vec![0; n];
                for slot in items.iter_mut().rev() {
                    *slot = Self::pop(f)?;
                }
                self.new_value(Value::Tuple(items))?
            }
            op::TUPLE => {
                let items = Self::pop_mark(f)?;
                self.new_value(Value::Tuple(items))?
            }
            op::LIST => {
                let items = Self::pop_mark(f)?;
                self.new_value(Value::List(items))?
            }
            op::DICT => {
                let items = Self::pop_mark(f)?;
                if !items.len().is_multiple_of(2) {
                    return Err(stack_err("odd number of items for DICT"));
                }
                let pairs = items.chunks_exact(2).filter_map(|p| match p {
                    [k, v] => Some((*k, *v)),
                    _ => None,
                });
                let d = Value::Dict(pairs.collect());
                self.new_value(d)?
            }
            op::EMPTY_SET => self.new_value(Value::Set(Vec::new()))?,
            op::FROZENSET => {
                let items = Self::pop_mark(f)?;
                self.new_value(Value::FrozenSet(items))?
            }
            op::APPEND => {
                let v = Self::pop(f)?;
                let target = Self::top(f)?;
                // A known list takes the item without a one-item vector in between.
                match self.out.values.get_mut(target as usize) {
                    Some(Value::List(l)) => l.push(v),
                    _ => {
                        self.call(target, vec![v], Vec::new(), CallKind::Append, at)?;
                    }
                }
                return Ok(Step::Continue);
            }
            op::SETITEM => {
                let v = Self::pop(f)?;
                let k = Self::pop(f)?;
                let target = Self::top(f)?;
                // A known dict takes the pair without a two-item vector in between.
                match self.out.values.get_mut(target as usize) {
                    Some(Value::Dict(d)) => d.push((k, v)),
                    _ => {
                        self.call(target, vec![k, v], Vec::new(), CallKind::SetItem, at)?;
                    }
                }
                return Ok(Step::Continue);
            }
            op::SETITEMS => {
                let m = Self::pop_mark_height(f)?;
                let target = Self::below_mark(f, m)?;
                // A known dict takes the pairs straight from the stack, without a temporary
                // vector; anything else gets them as call arguments.
                if let Some(Value::Dict(d)) = self.out.values.get_mut(target as usize) {
                    let items = f.stack.get(m..).unwrap_or_default();
                    let odd = !items.len().is_multiple_of(2);
                    d.reserve(items.len() / 2);
                    d.extend(items.chunks_exact(2).filter_map(|p| match p {
                        [k, v] => Some((*k, *v)),
                        _ => None,
                    }));
                    f.stack.truncate(m);
                    if odd {
                        // The pure-Python unpickler sets the complete pairs before failing.
                        return Err(stack_err("odd number of items for SETITEMS"));
                    }
                    return Ok(Step::Continue);
                }
                let items = f.stack.split_off(m);
                self.setitems(target, items, at)?;
                return Ok(Step::Continue);
            }
            op::ADDITEMS => {
                let items = Self::pop_mark(f)?;
                let target = Self::top(f)?;
                if items.is_empty() {
                    return Ok(Step::Continue);
                }
                match self.out.values.get_mut(target as usize) {
                    Some(Value::Set(s)) => s.extend(items),
                    _ => {
                        self.call(target, items, Vec::new(), CallKind::AddItems, at)?;
                    }
                }
                return Ok(Step::Continue);
            }

            // --- memo
            op::GET => {
                let idx = match text::parse_int(text::c_str(r.line()?), false) {
                    Some(PyInt::Small(i)) => u64::try_from(i).map_err(|_| bad("GET index"))?,
                    _ => return Err(bad("GET index")),
                };
                self.memo_get(f, idx)?;
                return Ok(Step::Continue);
            }
            op::PUT => {
                let idx = match text::parse_int(text::c_str(r.line()?), false) {
                    Some(PyInt::Small(i)) => {
                        u64::try_from(i).map_err(|_| bad("negative PUT argument"))?
                    }
                    Some(PyInt::Big(_)) => return Err(ErrorKind::Limit("max_memo")),
                    None => return Err(bad("PUT index")),
                };
                self.memo_put(f, idx)?;
                return Ok(Step::Continue);
            }

            // --- imports and calls
            op::GLOBAL => {
                let (module, name, eof) = self.name_pair(r)?;
                let g =
                    self.global(f.maps_python2_names(), module, name, ImportKind::Global, at)?;
                if eof {
                    return Err(ErrorKind::Truncated);
                }
                g
            }
            op::STACK_GLOBAL => {
                let name = Self::pop(f)?;
                let module = Self::pop(f)?;
                match (self.value(module), self.value(name)) {
                    (
                        Some(Value::Str {
                            value: m,
                            truncated: false,
                        }),
                        Some(Value::Str {
                            value: n,
                            truncated: false,
                        }),
                    ) => {
                        let (m, n) = (m.clone(), n.clone());
                        self.global(f.maps_python2_names(), m, n, ImportKind::StackGlobal, at)?
                    }
                    _ => {
                        let value = self.new_value(Value::DynamicGlobal { module, name })?;
                        self.out.imports.push(Import {
                            module: None,
                            name: None,
                            raw_module: None,
                            raw_name: None,
                            kind: ImportKind::StackGlobal,
                            value,
                            at,
                        });
                        value
                    }
                }
            }
            op::INST => {
                let (module, name, eof) = self.name_pair(r)?;
                // pickle.py imports before looking for the MARK: the import happens even if
                // the call then fails.
                let cls =
                    self.global(f.maps_python2_names(), module, name, ImportKind::Inst, at)?;
                let args = Self::pop_mark(f)?;
                let v = self.call(cls, args, Vec::new(), CallKind::Inst, at)?;
                if eof {
                    return Err(ErrorKind::Truncated);
                }
                v
            }
            op::OBJ => {
                let mut items = Self::pop_mark(f)?;
                if items.is_empty() {
                    return Err(stack_err("OBJ without class"));
                }
                let cls = items.remove(0);
                self.call(cls, items, Vec::new(), CallKind::Obj, at)?
            }
            op::REDUCE => {
                let args = Self::pop(f)?;
                let func = Self::pop(f)?;
                let args = self.args_of(args)?;
                self.call(func, args, Vec::new(), CallKind::Reduce, at)?
            }
            op::NEWOBJ => {
                let args = Self::pop(f)?;
                let cls = Self::pop(f)?;
                let args = self.args_of(args)?;
                self.call(cls, args, Vec::new(), CallKind::NewObj, at)?
            }
            op::NEWOBJ_EX => {
                let kwargs = Self::pop(f)?;
                let args = Self::pop(f)?;
                let cls = Self::pop(f)?;
                let args = self.args_of(args)?;
                let kwargs = self.kwargs_of(kwargs)?;
                self.call(cls, args, kwargs, CallKind::NewObjEx, at)?
            }
            op::BUILD => {
                let state = Self::pop(f)?;
                let target = Self::top(f)?;
                self.out.builds.push(Build { target, state, at });
                if c.joblib {
                    self.build_state.insert(target, state);
                }
                return Ok(Step::Built { target, state });
            }
            op::PERSID => {
                let line = r.line()?;
                if !line.is_ascii() {
                    return Err(bad("persistent IDs in protocol 0 must be ASCII strings"));
                }
                let pid = self.new_utf8(line)?;
                self.out.persistent_ids.push((pid, at));
                self.new_value(Value::PersistentId(pid))?
            }
            op::BINPERSID => {
                let pid = Self::pop(f)?;
                self.out.persistent_ids.push((pid, at));
                self.new_value(Value::PersistentId(pid))?
            }
            op::EXT1 | op::EXT2 | op::EXT4 => {
                let code = match code {
                    op::EXT1 => i64::from(r.u8()?),
                    op::EXT2 => i64::from(r.u16_le()?),
                    _ => i64::from(r.i32_le()?),
                };
                if code <= 0 {
                    return Err(bad("EXT specifies code <= 0"));
                }
                self.new_value(Value::Extension(code))?
            }
            op::NEXT_BUFFER => self.new_value(Value::Buffer { readonly: false })?,
            op::READONLY_BUFFER => {
                let top = Self::top(f)?;
                // `memoryview(buf).toreadonly()` is a new object; a memoised original stays.
                if matches!(self.value(top), Some(Value::Buffer { readonly: false })) {
                    let v = self.new_value(Value::Buffer { readonly: true })?;
                    Self::set_top(f, v)?;
                }
                return Ok(Step::Continue);
            }
            other => return Err(ErrorKind::UnknownOpcode(other)),
        };
        self.push(f, pushed)?;
        Ok(Step::Continue)
    }

    /// SETITEMS on anything but a known dict (see `op::SETITEMS` in [`Vm::exec_other`]):
    /// `target.__setitem__` calls, none without items.
    fn setitems(&mut self, target: ValueId, items: Vec<ValueId>, at: Location) -> R<()> {
        let odd = !items.len().is_multiple_of(2);
        if !items.is_empty() {
            self.call(target, items, Vec::new(), CallKind::SetItem, at)?;
        }
        if odd {
            // The pure-Python unpickler sets the complete pairs before failing.
            return Err(stack_err("odd number of items for SETITEMS"));
        }
        Ok(())
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

// ----- joblib ------------------------------------------------------------------------------

impl<'a> Vm<'a> {
    /// joblib's `NumpyUnpickler.load_build`: after a BUILD whose target is a
    /// `NumpyArrayWrapper`, the array data follows inline (`NumpyArrayWrapper.read_array`):
    /// a whole nested pickle for object dtypes, else (when the state has a non-`None`
    /// `numpy_array_alignment_bytes`, joblib ≥ 1.2) one padding-length byte and that many
    /// padding bytes, then `prod(shape) * itemsize` raw bytes.
    fn joblib_inline(
        &mut self,
        c: &mut Ctx<'a>,
        target: ValueId,
        state: ValueId,
    ) -> Result<(), Error> {
        if !self.is_array_wrapper(target) {
            return Ok(());
        }
        let at = c.r.pos();
        let err = |kind| Error {
            kind,
            offset: at as u64,
        };
        match self.inline_array(state).map_err(err)? {
            InlineArray::Pickle => {
                let out = self.run_pickle(at, false, Some(c.frame.proto));
                let v = out.result?;
                // `self.stack.pop(); self.stack.append(array)`.
                Self::set_top(&mut c.frame, v).map_err(err)?;
                c.r = Reader::new(self.data, out.end);
            }
            InlineArray::Raw { nbytes, padded } => {
                if padded {
                    let pad = c.r.u8().map_err(err)?;
                    c.r.skip(u64::from(pad)).map_err(err)?;
                }
                c.r.skip(nbytes).map_err(err)?;
            }
        }
        Ok(())
    }

    fn global_of(&self, id: ValueId) -> Option<(&str, &str)> {
        match self.value(id)? {
            Value::Global { module, name } => Some((module.as_str(), name.as_str())),
            _ => None,
        }
    }

    /// Whether `id` is an instance of `joblib.numpy_pickle.NumpyArrayWrapper` (also the old
    /// vendored `sklearn.externals.joblib` copy), made by NEWOBJ (protocol ≥ 2), OBJ/INST, a
    /// direct REDUCE, or `copyreg._reconstructor(cls, object, None)` (protocols 0–1).
    fn is_array_wrapper(&self, id: ValueId) -> bool {
        let is_wrapper = |g: Option<(&str, &str)>| {
            g.is_some_and(|(m, n)| {
                n == "NumpyArrayWrapper"
                    && (m == "joblib.numpy_pickle" || m.ends_with(".joblib.numpy_pickle"))
            })
        };
        let Some(Value::Call(i)) = self.value(id) else {
            return false;
        };
        let Some(call) = self.out.calls.get(*i as usize) else {
            return false;
        };
        match call.kind {
            CallKind::NewObj | CallKind::NewObjEx | CallKind::Obj | CallKind::Inst => {
                is_wrapper(self.global_of(call.func))
            }
            CallKind::Reduce => {
                is_wrapper(self.global_of(call.func))
                    || (self.global_of(call.func) == Some(("copyreg", "_reconstructor"))
                        && call
                            .args
                            .first()
                            .is_some_and(|a| is_wrapper(self.global_of(*a))))
            }
            _ => false,
        }
    }

    /// Last value for a string key in a known dict (Python dicts keep the last assignment).
    fn dict_get(&self, dict: ValueId, key: &str) -> Option<ValueId> {
        let Some(Value::Dict(pairs)) = self.value(dict) else {
            return None;
        };
        pairs
            .iter()
            .rev()
            .take(MAX_JOBLIB_STATE_SCAN)
            .find_map(|(k, v)| match self.value(*k) {
                Some(Value::Str { value, .. }) if value == key => Some(*v),
                _ => None,
            })
    }

    fn inline_array(&self, state: ValueId) -> R<InlineArray> {
        let bad_state = |what: &str| ErrorKind::BadOperand(format!("joblib array wrapper: {what}"));
        // `__setstate__`-less objects take a dict, or a `(dict, slots)` tuple.
        let state = match self.value(state) {
            Some(Value::Tuple(t)) => t.first().copied().unwrap_or(state),
            _ => state,
        };
        let dtype = self
            .dict_get(state, "dtype")
            .ok_or_else(|| bad_state("no dtype"))?;
        let (type_str, elsize, flags) = self.dtype_info(dtype).ok_or_else(|| bad_state("dtype"))?;
        if type_str.starts_with('O') || flags & 1 != 0 {
            return Ok(InlineArray::Pickle);
        }
        let shape = self
            .dict_get(state, "shape")
            .ok_or_else(|| bad_state("no shape"))?;
        let dims = match self.value(shape) {
            Some(Value::Tuple(d) | Value::List(d)) => d,
            Some(Value::Int(_)) => std::slice::from_ref(&shape),
            _ => return Err(bad_state("shape")),
        };
        let mut count: Option<u64> = Some(1);
        let mut zero = false;
        for d in dims {
            match self.value(*d) {
                Some(Value::Int(n)) => {
                    let n = u64::try_from(*n).map_err(|_| bad_state("negative dimension"))?;
                    zero |= n == 0;
                    count = count.and_then(|c| c.checked_mul(n));
                }
                Some(Value::Bool(b)) => {
                    zero |= !b;
                }
                // A dimension larger than i64 cannot fit in the data.
                Some(Value::BigInt(s)) if !s.starts_with('-') => count = None,
                _ => return Err(bad_state("shape")),
            }
        }
        let itemsize = match elsize {
            Some(n) if n > 0 => n as u64,
            _ => dtype_itemsize(&type_str).ok_or_else(|| bad_state("dtype itemsize"))?,
        };
        let nbytes = if zero {
            0
        } else {
            count
                .and_then(|c| c.checked_mul(itemsize))
                .ok_or(ErrorKind::Truncated)?
        };
        let padded = self
            .dict_get(state, "numpy_array_alignment_bytes")
            .is_some_and(|v| !matches!(self.value(v), Some(Value::None)));
        Ok(InlineArray::Raw { nbytes, padded })
    }

    /// `numpy.dtype(type_str, align, copy)` plus its BUILD state
    /// `(version, endian, subdescr, names, fields, elsize, alignment, flags, …)`.
    fn dtype_info(&self, dtype: ValueId) -> Option<(String, Option<i64>, i64)> {
        let Some(Value::Call(i)) = self.value(dtype) else {
            return None;
        };
        let call = self.out.calls.get(*i as usize)?;
        let type_str = match self.value(*call.args.first()?)? {
            Value::Str { value, .. } => value.clone(),
            Value::Bytes { value, .. } => String::from_utf8_lossy(value).into_owned(),
            _ => return None,
        };
        let int_at = |t: &[ValueId], i: usize| match t.get(i).and_then(|v| self.value(*v)) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        };
        let (elsize, flags) = match self.build_state.get(&dtype).and_then(|s| self.value(*s)) {
            Some(Value::Tuple(t)) => (int_at(t, 5), int_at(t, 7).unwrap_or(0)),
            _ => (None, 0),
        };
        Some((type_str, elsize, flags))
    }
}

/// Item size from a dtype string such as `f8`, `<i4`, `c16`, `M8`, `b1`, `V12`.
fn dtype_itemsize(s: &str) -> Option<u64> {
    let s = s.trim_start_matches(['<', '>', '|', '=']);
    let digits = s.trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '?');
    let digits: String = digits.chars().take_while(char::is_ascii_digit).collect();
    match digits.parse::<u64>() {
        Ok(n) if n > 0 => Some(n),
        _ => match s {
            "?" | "b" | "B" => Some(1),
            _ => None,
        },
    }
}
