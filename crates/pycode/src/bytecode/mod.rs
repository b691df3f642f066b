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
//!
//! This module holds the driver and the interpreter's state and stack primitives; `step`
//! dispatches each opcode to its family: `names.rs` (loads, stores, imports), `calls.rs`,
//! `values.rs` (constants, operators, containers, formatting), `stack.rs` (shuffles and
//! control flow); `version.rs` detects the Python version. The families call only this
//! module's primitives, never each other.
//!
//! Must not: give meaning to names, calls or operators itself (the [`Engine`] does), or decide
//! severities.

mod calls;
mod names;
mod stack;
mod values;
mod version;

use std::collections::HashMap;

use crate::catalog::Capability;
use crate::engine::{Engine, Site, Val};
use crate::marshal::{self, Code, Object};
use crate::opcodes::{self, Op};
use version::detect_minor;

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

    /// One instruction: trivial ones here, the rest in their family's module.
    fn step(&mut self, op: Op, arg: u32) {
        match op {
            Op::Invalid | Op::Other => self.stack.clear(),
            Op::Nop | Op::Cache | Op::ExtendedArg => {}
            Op::PopTop => {
                self.pop();
            }
            Op::PushNull => self.push(Val::Null),
            Op::LoadConst => self.op_load_const(arg),
            Op::LoadSmallInt => self.push(Val::Int(i128::from(arg))),
            Op::ReturnConst | Op::ReturnValue => self.op_return(op, arg),
            Op::LoadName => self.op_load_name(arg),
            Op::LoadGlobal => self.op_load_global(arg),
            Op::LoadFast => self.op_load_fast(arg),
            Op::LoadFastPair => self.op_load_fast_pair(arg),
            Op::LoadDeref => self.op_load_deref(arg),
            Op::LoadFromDictOrGlobals => self.op_load_from_dict_or_globals(arg),
            Op::LoadFromDictOrDeref => self.op_load_from_dict_or_deref(arg),
            Op::LoadAttr | Op::LoadMethod => self.op_load_attr(op, arg),
            Op::LoadSuperAttr => self.op_load_super_attr(arg),
            Op::LoadBuildClass => self.push(Val::BuildClass),
            Op::LoadLocals => self.push(Val::Globals),
            Op::StoreName => self.op_store_name(arg),
            Op::StoreGlobal => self.op_store_global(arg),
            Op::StoreFast => self.op_store_fast(arg),
            Op::StoreFastLoadFast => self.op_store_fast_load_fast(arg),
            Op::StoreFastStoreFast => self.op_store_fast_store_fast(arg),
            Op::StoreDeref => self.op_store_deref(arg),
            Op::StoreAttr => self.op_store_attr(arg),
            Op::StoreSubscr => self.op_store_subscr(),
            Op::StoreSlice => {
                self.popn(4);
            }
            Op::DeleteAttr => {
                self.pop();
            }
            Op::DeleteSubscr => {
                self.popn(2);
            }
            Op::ImportName => self.op_import_name(arg),
            Op::ImportFrom => self.op_import_from(arg),
            Op::ImportStar => self.op_import_star(),
            Op::CallFunction => self.op_call_function(arg),
            Op::CallFunctionKw | Op::CallKw => self.op_call_function_kw(op, arg),
            Op::CallMethod => self.op_call_method(arg),
            Op::Call => self.op_call(arg),
            Op::KwNames => self.op_kw_names(arg),
            Op::CallFunctionEx => self.op_call_function_ex(arg),
            Op::CallIntrinsic1 => self.op_call_intrinsic1(arg),
            Op::CallIntrinsic2 => {
                self.popn(2);
                self.push(Val::Unknown);
            }
            Op::Binary(b) => self.op_binary(b),
            Op::BinOpArg => self.op_bin_op_arg(arg),
            Op::BinarySubscr => self.op_binary_subscr(),
            Op::BinarySlice => self.op_binary_slice(),
            Op::BuildSlice => self.op_build_slice(arg),
            Op::Unary(u) => self.op_unary(u),
            Op::Compare => {
                self.popn(2);
                self.push(Val::Data);
            }
            Op::Keep => {
                let v = self.pop();
                self.push(v);
            }
            Op::ToBool => self.op_to_bool(),
            Op::FormatSimple => self.op_format_simple(),
            Op::FormatValue => self.op_format_value(arg),
            Op::FormatWithSpec => {
                self.popn(2);
                self.push(Val::Unknown);
            }
            Op::ConvertValue => self.op_convert_value(arg),
            Op::BuildTuple | Op::BuildList | Op::BuildSet => self.op_build_seq(arg),
            Op::BuildMap => self.op_build_map(arg),
            Op::BuildConstKeyMap => self.op_build_const_key_map(arg),
            Op::BuildString => self.op_build_string(arg),
            Op::ListAppend => self.op_list_append(),
            Op::ListExtend => self.op_list_extend(arg),
            Op::Pop1 => {
                self.pop();
            }
            Op::Pop2 => {
                self.popn(2);
            }
            Op::PushData => self.push(Val::Data),
            Op::MakeFunction => self.op_make_function(arg),
            Op::SetFunctionAttribute => self.op_set_function_attribute(),
            Op::DupTop => self.op_dup_top(),
            Op::DupTopTwo => self.op_dup_top_two(),
            Op::RotTwo => self.rotate(2),
            Op::RotThree => self.rotate(3),
            Op::RotFour => self.rotate(4),
            Op::RotN => self.rotate(arg_count(arg)),
            Op::Copy => self.op_copy(arg),
            Op::Swap => self.op_swap(arg),
            Op::UnpackSequence => self.op_unpack_sequence(arg),
            Op::ForIter => self.op_for_iter(),
            Op::YieldValue => self.op_yield_value(),
            Op::RaiseVarargs => self.op_raise_varargs(arg),
            Op::Pop1Push2 => self.op_pop1_push2(),
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
}

fn arg_count(arg: u32) -> usize {
    usize::try_from(arg).unwrap_or(usize::MAX).min(MAX_STACK)
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
