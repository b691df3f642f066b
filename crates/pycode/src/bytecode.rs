//! Bytecode analysis: an abstract interpretation of CPython 3.6–3.14 instruction streams that
//! feeds the same [`Engine`] as the source analyser, so `LOAD_GLOBAL getattr; LOAD_GLOBAL
//! __import__; LOAD_CONST 'o'; LOAD_CONST 's'; BINARY_OP +; CALL…` resolves to `os.system`
//! exactly as the equivalent source does.
//!
//! Control flow is approximated on a single linear pass: conditional jumps save the stack,
//! and unconditional jumps/returns restore the most recent saved stack (so both arms of
//! `a if c else b` start from the same state). Instructions whose stack effect is not
//! modelled reset the stack. Independently of the interpreter, every name in `co_names` that
//! is an introspection escape (`__subclasses__`, `__globals__`…) is reported, so an
//! unrecognised version still yields those facts.

use std::collections::HashMap;

use crate::catalog::Capability;
use crate::engine::{self, BinOp, CallArgs, Engine, Site, Val};
use crate::marshal::{self, Code, Layout, Object};
use crate::opcodes::{self, Op};

/// Most code objects analysed from one marshal blob.
const MAX_CODES: usize = 10_000;
/// Most saved stacks kept for jump merging.
const MAX_CHECKPOINTS: usize = 32;
/// Deepest abstract stack tracked.
const MAX_STACK: usize = 4096;

/// Decode marshal data (after an optional `.pyc` header) and analyse its code objects.
pub(crate) fn run_marshal(
    eng: &mut Engine<'_>,
    data: &[u8],
    version: Option<(u8, u8)>,
    site: &Site,
) {
    let (version, body) = match version {
        Some(v) => (Some(v), data),
        None => match marshal::strip_pyc_header(data) {
            Some((v, rest)) => (Some(v), rest),
            None => (None, data),
        },
    };
    let obj = match marshal::loads(body, version, eng.limits) {
        Ok(o) => o,
        Err(e) => {
            eng.incomplete(format!("marshal data could not be decoded: {e}"));
            return;
        }
    };
    // Analyse the outermost code objects; each analyses its nested ones.
    let mut stack = vec![&obj];
    while let Some(o) = stack.pop() {
        match o {
            Object::Code(c) => run(eng, c, site),
            Object::Tuple(v) | Object::List(v) | Object::Set(v) | Object::FrozenSet(v) => {
                stack.extend(v.iter().rev())
            }
            Object::Dict(kv) => {
                for (k, v) in kv.iter().rev() {
                    stack.push(v);
                    stack.push(k);
                }
            }
            _ => {}
        }
    }
}

/// Analyse a code object and the code objects nested in its constants.
pub(crate) fn run(eng: &mut Engine<'_>, code: &Code, site: &Site) {
    let minor = match code.version {
        Some((3, m)) if opcodes::table(m).is_some() => m,
        Some((3, m)) if m > 14 => 14,
        _ => detect_minor(code),
    };
    let Some(table) = opcodes::table(minor) else {
        eng.incomplete(format!("no opcode table for Python 3.{minor}"));
        return;
    };
    let mut globals = Scope::default();
    let mut work: Vec<&Code> = vec![code];
    let mut seen = 0usize;
    while let Some(c) = work.pop() {
        seen += 1;
        if seen > MAX_CODES || eng.exhausted() {
            eng.incomplete("too many code objects: analysis stopped");
            return;
        }
        names_facts(eng, c, site);
        let mut interp = Interp {
            eng: &mut *eng,
            code: c,
            ops: table,
            minor,
            site,
            globals: &mut globals,
            locals: HashMap::new(),
            stack: Vec::new(),
            kwnames: None,
            checkpoints: Vec::new(),
        };
        interp.exec();
        let children: Vec<&Code> = c.children().collect();
        work.extend(children.into_iter().rev());
    }
}

/// Facts visible from `co_names` alone: introspection escapes.
fn names_facts(eng: &mut Engine<'_>, code: &Code, site: &Site) {
    for n in &code.names {
        if crate::knowledge::INTROSPECTION_ATTRS.contains(&n.as_str()) {
            let ev = format!("{} uses {n}", code_label(code));
            eng.hit(
                site,
                Capability::Introspection,
                n,
                &ev,
                Some(code.firstlineno),
            );
        }
    }
}

fn code_label(code: &Code) -> String {
    let name = if code.qualname.is_empty() {
        &code.name
    } else {
        &code.qualname
    };
    format!("code object {name}")
}

/// Pick the CPython minor version whose opcode table best explains the code (fewest invalid
/// opcodes, `RESUME` first for 3.11+), among the versions sharing the code's layout.
fn detect_minor(code: &Code) -> u8 {
    let candidates: &[u8] = match code.layout {
        Layout::Py36 => &[7, 6],
        Layout::Py38 => &[10, 9, 8],
        Layout::Py311 => &[11, 12, 13, 14],
    };
    let mut codes: Vec<&Code> = vec![code];
    let mut i = 0;
    while let Some(c) = codes.get(i) {
        let kids: Vec<&Code> = c.children().collect();
        i += 1;
        if codes.len() + kids.len() > 64 {
            break;
        }
        codes.extend(kids);
    }
    // The layout's versions come first and win ties; another version wins only by fitting
    // strictly better (a code object built by hand, e.g. from `CodeType(...)` arguments in a
    // pickle, may carry a placeholder layout).
    let others = opcodes::MINORS
        .iter()
        .copied()
        .filter(|m| !candidates.contains(m));
    let mut best = (usize::MAX, candidates.first().copied().unwrap_or(11));
    for m in candidates.iter().copied().chain(others) {
        let score: usize = codes.iter().map(|c| version_misfit(c, m)).sum();
        if score < best.0 {
            best = (score, m);
        }
        if best.0 == 0 {
            break;
        }
    }
    best.1
}

/// How badly the instruction stream of `code` fits CPython 3.`minor`: invalid opcodes,
/// operands out of range for `co_names`/`co_consts`/locals, a missing `RESUME` (3.11+) and,
/// for 3.11, `CALL` without `PRECALL`.
fn version_misfit(code: &Code, minor: u8) -> usize {
    let Some(t) = opcodes::table(minor) else {
        return usize::MAX / 4;
    };
    let resume = opcodes::resume_opcode(minor);
    let (nnames, nconsts, nlocals) = (code.names.len(), code.consts.len(), code.varnames.len());
    let mut score = 0usize;
    let mut first_real = minor >= 11;
    let mut prev = Op::Nop;
    let mut ext = 0u32;
    for pair in code.code.chunks_exact(2) {
        let (op, raw) = match pair {
            [a, b] => (*a, *b),
            _ => continue,
        };
        let kind = t.get(usize::from(op)).copied().unwrap_or(Op::Invalid);
        let arg = ext | u32::from(raw);
        if kind == Op::ExtendedArg {
            ext = arg.checked_shl(8).unwrap_or(0);
            continue;
        }
        ext = 0;
        let idx = |a: u32| usize::try_from(a).unwrap_or(usize::MAX);
        let out_of_range = match kind {
            Op::Invalid => true,
            Op::LoadName
            | Op::StoreName
            | Op::StoreGlobal
            | Op::ImportName
            | Op::ImportFrom
            | Op::StoreAttr
            | Op::DeleteAttr
            | Op::LoadMethod
            | Op::LoadFromDictOrGlobals => idx(arg) >= nnames,
            Op::LoadGlobal => idx(if minor >= 11 { arg >> 1 } else { arg }) >= nnames,
            Op::LoadAttr => idx(if minor >= 12 { arg >> 1 } else { arg }) >= nnames,
            Op::LoadSuperAttr => idx(arg >> 2) >= nnames,
            Op::LoadConst | Op::ReturnConst | Op::KwNames => idx(arg) >= nconsts,
            Op::LoadFast | Op::StoreFast => idx(arg) >= nlocals,
            Op::LoadFastPair | Op::StoreFastLoadFast | Op::StoreFastStoreFast => {
                idx(arg >> 4) >= nlocals || idx(arg & 15) >= nlocals
            }
            _ => false,
        };
        if out_of_range {
            score += 10;
        }
        if first_real && kind != Op::Cache {
            // MAKE_CELL / COPY_FREE_VARS / RETURN_GENERATOR may precede RESUME.
            let prefix = (kind == Op::Nop || kind == Op::PushData) && Some(op) != resume;
            if !prefix {
                if Some(op) != resume {
                    score += 5;
                }
                first_real = false;
            }
        }
        if minor == 11 && kind == Op::Call && prev != Op::Nop {
            score += 5;
        }
        if kind != Op::Cache {
            prev = kind;
        }
    }
    score
}

#[derive(Default)]
struct Scope {
    vars: HashMap<String, Val>,
    star: Vec<String>,
}

struct Interp<'a, 'l> {
    eng: &'a mut Engine<'l>,
    code: &'a Code,
    ops: &'static [Op; 256],
    minor: u8,
    site: &'a Site,
    globals: &'a mut Scope,
    locals: HashMap<String, Val>,
    stack: Vec<Val>,
    kwnames: Option<Vec<String>>,
    checkpoints: Vec<Vec<Val>>,
}

impl Interp<'_, '_> {
    fn is_module(&self) -> bool {
        // Module and class bodies store with STORE_NAME; only module code writes globals.
        self.code.name == "<module>"
    }

    fn line(&self) -> Option<u32> {
        Some(self.code.firstlineno)
    }

    fn pop(&mut self) -> Val {
        self.stack.pop().unwrap_or(Val::Unknown)
    }

    fn popn(&mut self, n: usize) -> Vec<Val> {
        let keep = self.stack.len().saturating_sub(n);
        let mut out = self.stack.split_off(keep);
        while out.len() < n {
            out.insert(0, Val::Unknown);
        }
        out
    }

    fn push(&mut self, v: Val) {
        if self.stack.len() >= MAX_STACK {
            self.stack.clear();
        }
        self.stack.push(v);
    }

    /// Pop the two call slots (callable and NULL/self, in either order) and pick the callable.
    fn pop_callable(&mut self) -> Val {
        let upper = self.pop();
        let lower = self.pop();
        match (&lower, &upper) {
            (_, Val::Null) => lower,
            (Val::Null, _) => upper,
            _ => lower,
        }
    }

    fn name(&self, idx: u32) -> Option<String> {
        self.code.names.get(usize::try_from(idx).ok()?).cloned()
    }

    /// Name of local slot `idx` (varnames before 3.11, localsplusnames after).
    fn local_name(&self, idx: u32) -> Option<String> {
        self.code.varnames.get(usize::try_from(idx).ok()?).cloned()
    }

    /// Name of a cell/free slot.
    fn deref_name(&self, idx: u32) -> Option<String> {
        let i = usize::try_from(idx).ok()?;
        if self.minor >= 11 {
            return self.code.varnames.get(i).cloned();
        }
        self.code
            .cellvars
            .iter()
            .chain(self.code.freevars.iter())
            .nth(i)
            .cloned()
    }

    fn n_params(&self) -> usize {
        let c = self.code;
        let mut n = usize::try_from(c.argcount.saturating_add(c.kwonlyargcount)).unwrap_or(0);
        // CO_VARARGS 0x04, CO_VARKEYWORDS 0x08
        if c.flags & 0x04 != 0 {
            n += 1;
        }
        if c.flags & 0x08 != 0 {
            n += 1;
        }
        n
    }

    fn load_fast(&mut self, idx: u32) -> Val {
        let Some(name) = self.local_name(idx) else {
            return Val::Unknown;
        };
        if let Some(v) = self.locals.get(&name) {
            return v.clone();
        }
        if usize::try_from(idx).is_ok_and(|i| i < self.n_params()) {
            return Val::Param(name);
        }
        Val::Unknown
    }

    fn load_global(&mut self, name: &str) -> Val {
        if let Some(v) = self.globals.vars.get(name) {
            return v.clone();
        }
        let line = self.line();
        if let Some(module) = self.globals.star.last() {
            let candidate = format!("{module}.{name}");
            let builtin = self.eng.unbound_name(self.site, name, line);
            return match builtin {
                Val::Global(ref p) if p.starts_with("builtins.") => {
                    if engine::classify_path(&candidate).is_some() {
                        Val::Global(candidate)
                    } else {
                        builtin
                    }
                }
                _ => Val::Global(candidate),
            };
        }
        self.eng.unbound_name(self.site, name, line)
    }

    fn load_name(&mut self, name: &str) -> Val {
        if !self.is_module()
            && let Some(v) = self.locals.get(name)
        {
            return v.clone();
        }
        self.load_global(name)
    }

    fn store_name(&mut self, name: String, v: Val) {
        if self.is_module() {
            self.globals.vars.insert(name, v);
        } else {
            self.locals.insert(name, v);
        }
    }

    fn checkpoint(&mut self) {
        for _ in 0..(self.stack.len() / 16) {
            self.eng.tick();
        }
        if self.checkpoints.len() >= MAX_CHECKPOINTS {
            self.checkpoints.remove(0);
        }
        self.checkpoints.push(self.stack.clone());
    }

    fn restore(&mut self) {
        self.stack = self.checkpoints.pop().unwrap_or_default();
    }

    fn evidence(func: &Val, args: &[Val], kwargs: &[(String, Val)]) -> String {
        let mut parts: Vec<String> = args.iter().take(6).map(Val::render).collect();
        parts.extend(
            kwargs
                .iter()
                .take(4)
                .map(|(k, v)| format!("{k}={}", v.render())),
        );
        format!("{}({})", func.render(), parts.join(", "))
    }

    fn do_call(&mut self, func: Val, mut args: Vec<Val>, kwnames: Vec<String>) {
        let nkw = kwnames.len().min(args.len());
        let kwvals = args.split_off(args.len() - nkw);
        let kwargs: Vec<(String, Val)> = kwnames.into_iter().zip(kwvals).collect();
        let ev = Self::evidence(&func, &args, &kwargs);
        let line = self.line();
        let r = self.eng.call(
            self.site,
            &func,
            &CallArgs {
                args: &args,
                kwargs: &kwargs,
                evidence: &ev,
                line,
            },
        );
        self.push(r);
    }

    fn exec(&mut self) {
        let mut ext: u32 = 0;
        let code = self.code;
        for pair in code.code.chunks_exact(2) {
            if !self.eng.tick() {
                return;
            }
            let (op_byte, arg_byte) = match pair {
                [a, b] => (*a, *b),
                _ => continue,
            };
            let op = self
                .ops
                .get(usize::from(op_byte))
                .copied()
                .unwrap_or(Op::Invalid);
            let arg = ext | u32::from(arg_byte);
            if op == Op::ExtendedArg {
                ext = arg.checked_shl(8).unwrap_or(0);
                continue;
            }
            ext = 0;
            self.step(op, arg);
        }
    }

    fn step(&mut self, op: Op, arg: u32) {
        let minor = self.minor;
        let line = self.line();
        match op {
            Op::Invalid | Op::Other => self.stack.clear(),
            Op::Nop | Op::Cache | Op::ExtendedArg => {}
            Op::PopTop => {
                self.pop();
            }
            Op::PushNull => self.push(Val::Null),
            Op::LoadConst => {
                let v = self
                    .code
                    .consts
                    .get(usize::try_from(arg).unwrap_or(usize::MAX))
                    .map(const_val)
                    .unwrap_or(Val::Unknown);
                self.push(v);
            }
            Op::LoadSmallInt => self.push(Val::Int(i128::from(arg))),
            Op::ReturnConst | Op::ReturnValue => {
                let v = if op == Op::ReturnConst {
                    self.code
                        .consts
                        .get(usize::try_from(arg).unwrap_or(usize::MAX))
                        .map(const_val)
                        .unwrap_or(Val::Unknown)
                } else {
                    self.pop()
                };
                let ev = format!("return {}", v.render());
                self.eng.escape(self.site, &v, &ev, line);
                self.restore();
            }
            Op::LoadName => {
                let v = match self.name(arg) {
                    Some(n) => self.load_name(&n),
                    None => Val::Unknown,
                };
                self.push(v);
            }
            Op::LoadGlobal => {
                let (idx, null) = if minor >= 11 {
                    (arg >> 1, arg & 1 == 1)
                } else {
                    (arg, false)
                };
                if null {
                    self.push(Val::Null);
                }
                let v = match self.name(idx) {
                    Some(n) => self.load_global(&n),
                    None => Val::Unknown,
                };
                self.push(v);
            }
            Op::LoadFast => {
                let v = self.load_fast(arg);
                self.push(v);
            }
            Op::LoadFastPair => {
                let a = self.load_fast(arg >> 4);
                let b = self.load_fast(arg & 15);
                self.push(a);
                self.push(b);
            }
            Op::LoadDeref => {
                let v = match self.deref_name(arg) {
                    Some(n) => self.locals.get(&n).cloned().unwrap_or(Val::Free(n)),
                    None => Val::Unknown,
                };
                self.push(v);
            }
            Op::LoadFromDictOrGlobals => {
                self.pop();
                let v = match self.name(arg) {
                    Some(n) => self.load_global(&n),
                    None => Val::Unknown,
                };
                self.push(v);
            }
            Op::LoadFromDictOrDeref => {
                self.pop();
                let v = match self.deref_name(arg) {
                    Some(n) => self.locals.get(&n).cloned().unwrap_or(Val::Free(n)),
                    None => Val::Unknown,
                };
                self.push(v);
            }
            Op::LoadAttr | Op::LoadMethod => {
                let (idx, method) = if op == Op::LoadAttr && minor >= 12 {
                    (arg >> 1, arg & 1 == 1)
                } else {
                    (arg, op == Op::LoadMethod)
                };
                let base = self.pop();
                let v = match self.name(idx) {
                    Some(n) => self.eng.attr(self.site, &base, &n, line),
                    None => Val::Unknown,
                };
                if method {
                    self.push(Val::Null);
                }
                self.push(v);
            }
            Op::LoadSuperAttr => {
                self.popn(3);
                let name = self.name(arg >> 2);
                let v = match name {
                    Some(n) => self.eng.attr(self.site, &Val::Data, &n, line),
                    None => Val::Unknown,
                };
                if arg & 1 == 1 {
                    self.push(Val::Null);
                }
                self.push(v);
            }
            Op::LoadBuildClass => self.push(Val::BuildClass),
            Op::LoadLocals => self.push(Val::Globals),
            Op::StoreName => {
                let v = self.pop();
                if let Some(n) = self.name(arg) {
                    self.store_name(n, v);
                }
            }
            Op::StoreGlobal => {
                let v = self.pop();
                if let Some(n) = self.name(arg) {
                    self.globals.vars.insert(n, v);
                }
            }
            Op::StoreFast => {
                let v = self.pop();
                if let Some(n) = self.local_name(arg) {
                    self.locals.insert(n, v);
                }
            }
            Op::StoreFastLoadFast => {
                let v = self.pop();
                if let Some(n) = self.local_name(arg >> 4) {
                    self.locals.insert(n, v);
                }
                let l = self.load_fast(arg & 15);
                self.push(l);
            }
            Op::StoreFastStoreFast => {
                for idx in [arg >> 4, arg & 15] {
                    let v = self.pop();
                    if let Some(n) = self.local_name(idx) {
                        self.locals.insert(n, v);
                    }
                }
            }
            Op::StoreDeref => {
                let v = self.pop();
                if let Some(n) = self.deref_name(arg) {
                    self.locals.insert(n, v);
                }
            }
            Op::StoreAttr => {
                let obj = self.pop();
                let v = self.pop();
                if let Some(n) = self.name(arg) {
                    self.eng.attr(self.site, &obj, &n, line);
                    let ev = format!("{}.{n} = {}", obj.render(), v.render());
                    self.eng.escape(self.site, &v, &ev, line);
                }
            }
            Op::StoreSubscr => {
                let vals = self.popn(3);
                if let Some(v) = vals.first() {
                    self.eng.escape(self.site, v, "store into container", line);
                }
            }
            Op::StoreSlice => {
                self.popn(4);
            }
            Op::DeleteAttr => {
                self.pop();
            }
            Op::DeleteSubscr => {
                self.popn(2);
            }
            Op::ImportName => {
                let fromlist = self.pop();
                let _level = self.pop();
                let v = match self.name(arg) {
                    Some(n) => {
                        let full = engine::canonical(&n);
                        if fromlist.truthy() == Some(true) {
                            Val::Global(full)
                        } else {
                            Val::Global(full.split('.').next().unwrap_or(&full).to_string())
                        }
                    }
                    None => Val::Unknown,
                };
                self.push(v);
            }
            Op::ImportFrom => {
                let module = self.stack.last().cloned().unwrap_or(Val::Unknown);
                let v = match self.name(arg) {
                    Some(n) => self.eng.attr(self.site, &module, &n, line),
                    None => Val::Unknown,
                };
                self.push(v);
            }
            Op::ImportStar => {
                if let Val::Global(m) = self.pop() {
                    self.globals.star.push(m);
                }
            }
            Op::CallFunction => {
                let args = self.popn(arg_count(arg));
                let func = self.pop();
                self.do_call(func, args, Vec::new());
            }
            Op::CallFunctionKw | Op::CallKw => {
                let names = match self.pop() {
                    Val::Seq(v) => v
                        .iter()
                        .map(|x| match x {
                            Val::Str(s, _) => s.to_string(),
                            _ => String::new(),
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let args = self.popn(arg_count(arg));
                let func = if op == Op::CallKw {
                    self.pop_callable()
                } else {
                    self.pop()
                };
                self.do_call(func, args, names);
            }
            Op::CallMethod => {
                let args = self.popn(arg_count(arg));
                let func = self.pop_callable();
                self.do_call(func, args, Vec::new());
            }
            Op::Call => {
                let args = self.popn(arg_count(arg));
                let func = self.pop_callable();
                let names = self.kwnames.take().unwrap_or_default();
                self.do_call(func, args, names);
            }
            Op::KwNames => {
                let names = match self
                    .code
                    .consts
                    .get(usize::try_from(arg).unwrap_or(usize::MAX))
                {
                    Some(Object::Tuple(v)) => v
                        .iter()
                        .map(|o| o.as_str().unwrap_or_default().to_string())
                        .collect(),
                    _ => Vec::new(),
                };
                self.kwnames = Some(names);
            }
            Op::CallFunctionEx => {
                let kwargs = if minor >= 14 || arg & 1 == 1 {
                    Some(self.pop())
                } else {
                    None
                };
                let args = self.pop();
                let func = if minor >= 11 {
                    self.pop_callable()
                } else {
                    self.pop()
                };
                let mut kw: Vec<(String, Val)> = Vec::new();
                if let Some(Val::Dict(items)) = &kwargs {
                    for (k, v) in items.iter() {
                        if let Val::Str(k, _) = k {
                            kw.push((k.to_string(), v.clone()));
                        }
                    }
                }
                let args = args.elements(256).unwrap_or_else(|| vec![Val::Unknown]);
                let names: Vec<String> = kw.iter().map(|(k, _)| k.clone()).collect();
                let mut all = args;
                all.extend(kw.into_iter().map(|(_, v)| v));
                self.do_call(func, all, names);
            }
            Op::CallIntrinsic1 => {
                let v = self.pop();
                match arg {
                    // INTRINSIC_IMPORT_STAR
                    2 => {
                        if let Val::Global(m) = v {
                            self.globals.star.push(m);
                        }
                        self.push(Val::NoneV);
                    }
                    // INTRINSIC_UNARY_POSITIVE, INTRINSIC_LIST_TO_TUPLE
                    5 | 6 => self.push(v),
                    _ => self.push(Val::Unknown),
                }
            }
            Op::CallIntrinsic2 => {
                self.popn(2);
                self.push(Val::Unknown);
            }
            Op::Binary(b) => {
                let r = self.pop();
                let l = self.pop();
                let v = self.eng.binop(b, &l, &r);
                self.push(v);
            }
            Op::BinOpArg => {
                let r = self.pop();
                let l = self.pop();
                let v = match binary_op_arg(arg) {
                    Some(b) => self.eng.binop(b, &l, &r),
                    None if arg == 26 => self.subscript(&l, &r),
                    None => Val::Unknown,
                };
                self.push(v);
            }
            Op::BinarySubscr => {
                let idx = self.pop();
                let base = self.pop();
                let v = self.subscript(&base, &idx);
                self.push(v);
            }
            Op::BinarySlice => {
                let stop = self.pop();
                let start = self.pop();
                let base = self.pop();
                let v = match (slice_bound(&start), slice_bound(&stop)) {
                    (Some(a), Some(b)) => self.eng.slice(&base, a, b, None),
                    _ => Val::Unknown,
                };
                self.push(v);
            }
            Op::BuildSlice => {
                let parts = self.popn(if arg == 3 { 3 } else { 2 });
                let bounds: Option<Vec<Option<i128>>> = parts.iter().map(slice_bound).collect();
                let v = match bounds.as_deref() {
                    Some([a, b]) => Val::Slice(*a, *b, None),
                    Some([a, b, c]) => Val::Slice(*a, *b, *c),
                    _ => Val::Unknown,
                };
                self.push(v);
            }
            Op::Unary(u) => {
                let v = self.pop();
                let r = self.eng.unop(u, &v);
                self.push(r);
            }
            Op::Compare => {
                self.popn(2);
                self.push(Val::Data);
            }
            Op::Keep => {
                let v = self.pop();
                self.push(v);
            }
            Op::ToBool => {
                let v = self.pop();
                self.push(v.truthy().map(Val::Bool).unwrap_or(Val::Data));
            }
            Op::FormatSimple => {
                let v = self.pop();
                self.push(format_val(&v));
            }
            Op::FormatValue => {
                if arg & 0x04 != 0 {
                    self.pop();
                    self.pop();
                    self.push(Val::Unknown);
                } else {
                    let v = self.pop();
                    let r = if arg & 0x03 <= 1 {
                        format_val(&v)
                    } else {
                        Val::Unknown
                    };
                    self.push(r);
                }
            }
            Op::FormatWithSpec => {
                self.popn(2);
                self.push(Val::Unknown);
            }
            Op::ConvertValue => {
                let v = self.pop();
                self.push(if arg == 1 {
                    format_val(&v)
                } else {
                    Val::Unknown
                });
            }
            Op::BuildTuple | Op::BuildList | Op::BuildSet => {
                let items = self.popn(arg_count(arg));
                for v in &items {
                    self.eng.escape(self.site, v, "stored in a container", line);
                }
                self.push(Val::Seq(items.into()));
            }
            Op::BuildMap => {
                let items = self.popn(arg_count(arg).saturating_mul(2));
                let pairs: Vec<(Val, Val)> = items
                    .chunks_exact(2)
                    .map(|kv| {
                        (
                            kv.first().cloned().unwrap_or(Val::Unknown),
                            kv.get(1).cloned().unwrap_or(Val::Unknown),
                        )
                    })
                    .collect();
                self.push(Val::Dict(pairs.into()));
            }
            Op::BuildConstKeyMap => {
                let keys = self.pop();
                let vals = self.popn(arg_count(arg));
                let v = match keys.elements(vals.len()) {
                    Some(ks) if ks.len() == vals.len() => {
                        Val::Dict(ks.into_iter().zip(vals).collect())
                    }
                    _ => Val::Unknown,
                };
                self.push(v);
            }
            Op::BuildString => {
                let parts = self.popn(arg_count(arg));
                let mut s = String::new();
                let mut ok = true;
                for p in &parts {
                    match p {
                        Val::Str(x, _) => s.push_str(x),
                        _ => ok = false,
                    }
                }
                let v = if ok && s.len() <= self.eng.limits.max_fold_len {
                    Val::Str(s.into(), Vec::new())
                } else if parts.iter().any(|p| matches!(p, Val::Data | Val::Param(_))) {
                    Val::Data
                } else {
                    Val::Unknown
                };
                self.push(v);
            }
            Op::ListAppend => {
                let v = self.pop();
                self.eng
                    .escape(self.site, &v, "stored in a container", line);
            }
            Op::ListExtend => {
                let v = self.pop();
                let depth = arg_count(arg);
                let len = self.stack.len();
                if let Some(target) = len.checked_sub(depth).and_then(|i| self.stack.get_mut(i)) {
                    match (target, v.elements(self.eng.max_items())) {
                        (Val::Seq(items), Some(more))
                            if items.len() + more.len() <= self.eng.limits.max_fold_len =>
                        {
                            let mut all = items.to_vec();
                            all.extend(more);
                            *items = all.into();
                        }
                        (t, _) => *t = Val::Unknown,
                    }
                }
            }
            Op::Pop1 => {
                self.pop();
            }
            Op::Pop2 => {
                self.popn(2);
            }
            Op::PushData => self.push(Val::Data),
            Op::MakeFunction => {
                if minor <= 10 {
                    self.pop(); // qualname
                }
                self.pop(); // code
                if minor <= 12 {
                    let extras = (arg & 0x0f).count_ones() as usize;
                    self.popn(extras);
                }
                self.push(Val::Func(Box::new(Val::Data)));
            }
            Op::SetFunctionAttribute => {
                let f = self.pop();
                self.pop();
                self.push(f);
            }
            Op::DupTop => {
                let v = self.stack.last().cloned().unwrap_or(Val::Unknown);
                self.push(v);
            }
            Op::DupTopTwo => {
                let n = self.stack.len();
                let a = n
                    .checked_sub(2)
                    .and_then(|i| self.stack.get(i))
                    .cloned()
                    .unwrap_or(Val::Unknown);
                let b = self.stack.last().cloned().unwrap_or(Val::Unknown);
                self.push(a);
                self.push(b);
            }
            Op::RotTwo => self.rotate(2),
            Op::RotThree => self.rotate(3),
            Op::RotFour => self.rotate(4),
            Op::RotN => self.rotate(arg_count(arg)),
            Op::Copy => {
                let n = self.stack.len();
                let v = n
                    .checked_sub(arg_count(arg))
                    .and_then(|i| self.stack.get(i))
                    .cloned()
                    .unwrap_or(Val::Unknown);
                self.push(v);
            }
            Op::Swap => {
                let n = self.stack.len();
                if let Some(i) = n.checked_sub(arg_count(arg))
                    && i < n
                    && n > 0
                {
                    self.stack.swap(i, n - 1);
                }
            }
            Op::UnpackSequence => {
                let n = arg_count(arg);
                let v = self.pop();
                if n > MAX_STACK {
                    self.stack.clear();
                    return;
                }
                let fill = if matches!(v, Val::Data | Val::Param(_)) {
                    Val::Data
                } else {
                    Val::Unknown
                };
                match v.elements(n) {
                    Some(els) if els.len() == n => {
                        for e in els.into_iter().rev() {
                            self.push(e);
                        }
                    }
                    _ => {
                        for _ in 0..n {
                            self.push(fill.clone());
                        }
                    }
                }
            }
            Op::ForIter => {
                let it = self.stack.last().cloned().unwrap_or(Val::Unknown);
                let v = if matches!(it, Val::Data | Val::Param(_)) {
                    Val::Data
                } else {
                    Val::Unknown
                };
                self.push(v);
            }
            Op::YieldValue => {
                let v = self.pop();
                self.eng.escape(self.site, &v, "yield", line);
                self.push(Val::Unknown);
            }
            Op::RaiseVarargs => {
                self.popn(arg_count(arg));
                self.restore();
            }
            Op::Pop1Push2 => {
                let v = self.pop();
                self.push(Val::Unknown);
                self.push(if matches!(v, Val::Data | Val::Param(_)) {
                    Val::Data
                } else {
                    Val::Opaque(v.render())
                });
            }
            Op::PopJump => {
                self.pop();
                self.checkpoint();
            }
            Op::JumpOrPop => {
                self.checkpoint();
                self.pop();
            }
            Op::JumpForward | Op::JumpBackward | Op::JumpAbsolute | Op::Terminate => self.restore(),
        }
    }

    fn rotate(&mut self, n: usize) {
        let len = self.stack.len();
        if n >= 2
            && n <= len
            && let Some(top) = self.stack.pop()
        {
            self.stack.insert(len - n, top);
        }
    }

    fn subscript(&mut self, base: &Val, idx: &Val) -> Val {
        let line = self.line();
        let site = self.site;
        let globals = &self.globals.vars;
        self.eng.subscript(site, base, idx, line, &mut |eng, name| {
            globals
                .get(name)
                .cloned()
                .unwrap_or_else(|| eng.unbound_name(site, name, line))
        })
    }
}

fn arg_count(arg: u32) -> usize {
    usize::try_from(arg).unwrap_or(usize::MAX).min(MAX_STACK)
}

fn slice_bound(v: &Val) -> Option<Option<i128>> {
    match v {
        Val::NoneV => Some(None),
        Val::Int(i) => Some(Some(*i)),
        Val::Bool(b) => Some(Some(i128::from(*b))),
        _ => None,
    }
}

fn format_val(v: &Val) -> Val {
    match v {
        Val::Str(..) => v.clone(),
        Val::Int(i) => Val::Str(i.to_string().into(), Vec::new()),
        Val::Data | Val::Param(_) => Val::Data,
        _ => Val::Unknown,
    }
}

/// `BINARY_OP` argument (3.11+) → operator; in-place forms share the operator.
fn binary_op_arg(arg: u32) -> Option<BinOp> {
    let base = if (13..=25).contains(&arg) {
        arg - 13
    } else {
        arg
    };
    Some(match base {
        0 => BinOp::Add,
        1 => BinOp::BitAnd,
        2 => BinOp::FloorDiv,
        3 => BinOp::LShift,
        4 => BinOp::MatMul,
        5 => BinOp::Mul,
        6 => BinOp::Mod,
        7 => BinOp::BitOr,
        8 => BinOp::Pow,
        9 => BinOp::RShift,
        10 => BinOp::Sub,
        11 => BinOp::Div,
        12 => BinOp::BitXor,
        _ => return None,
    })
}

/// A marshal constant as an abstract value.
fn const_val(o: &Object) -> Val {
    match o {
        Object::None => Val::NoneV,
        Object::Bool(b) => Val::Bool(*b),
        Object::Int(i) => Val::Int(i128::from(*i)),
        Object::Float(f) => Val::Float(*f),
        Object::Str(s) => Val::Str(s.clone().into(), Vec::new()),
        Object::Bytes(b) => Val::Bytes(b.clone().into(), Vec::new()),
        Object::Tuple(v) | Object::FrozenSet(v) => {
            Val::Seq(v.iter().take(4096).map(const_val).collect())
        }
        Object::Code(_) => Val::CodeDone,
        Object::Slice(s) => {
            let b = |o: &Object| match o {
                Object::Int(i) => Some(i128::from(*i)),
                _ => None,
            };
            Val::Slice(b(&s.0), b(&s.1), b(&s.2))
        }
        _ => Val::Data,
    }
}
