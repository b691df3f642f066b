//! Opcodes that compute values: constants, operators, subscripts and slices, formatting and
//! container building.

use super::{Interp, arg_count, const_val};
use crate::engine::{BinOp, UnOp, Val};

impl Interp<'_, '_> {
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

    /// `Op::LoadConst`.
    pub(super) fn op_load_const(&mut self, arg: u32) {
        let v = self
            .code
            .consts
            .get(usize::try_from(arg).unwrap_or(usize::MAX))
            .map(const_val)
            .unwrap_or(Val::Unknown);
        self.push(v);
    }

    /// `Op::Binary(b)`.
    pub(super) fn op_binary(&mut self, b: BinOp) {
        let r = self.pop();
        let l = self.pop();
        let v = self.eng.binop(b, &l, &r);
        self.push(v);
    }

    /// `Op::BinOpArg`.
    pub(super) fn op_bin_op_arg(&mut self, arg: u32) {
        let r = self.pop();
        let l = self.pop();
        let v = match binary_op_arg(arg) {
            Some(b) => self.eng.binop(b, &l, &r),
            None if arg == 26 => self.subscript(&l, &r),
            None => Val::Unknown,
        };
        self.push(v);
    }

    /// `Op::BinarySubscr`.
    pub(super) fn op_binary_subscr(&mut self) {
        let idx = self.pop();
        let base = self.pop();
        let v = self.subscript(&base, &idx);
        self.push(v);
    }

    /// `Op::BinarySlice`.
    pub(super) fn op_binary_slice(&mut self) {
        let stop = self.pop();
        let start = self.pop();
        let base = self.pop();
        let v = match (slice_bound(&start), slice_bound(&stop)) {
            (Some(a), Some(b)) => self.eng.slice(&base, a, b, None),
            _ => Val::Unknown,
        };
        self.push(v);
    }

    /// `Op::BuildSlice`.
    pub(super) fn op_build_slice(&mut self, arg: u32) {
        let parts = self.popn(if arg == 3 { 3 } else { 2 });
        let bounds: Option<Vec<Option<i128>>> = parts.iter().map(slice_bound).collect();
        let v = match bounds.as_deref() {
            Some([a, b]) => Val::Slice(*a, *b, None),
            Some([a, b, c]) => Val::Slice(*a, *b, *c),
            _ => Val::Unknown,
        };
        self.push(v);
    }

    /// `Op::Unary(u)`.
    pub(super) fn op_unary(&mut self, u: UnOp) {
        let v = self.pop();
        let r = self.eng.unop(u, &v);
        self.push(r);
    }

    /// `Op::ToBool`.
    pub(super) fn op_to_bool(&mut self) {
        let v = self.pop();
        self.push(v.truthy().map(Val::Bool).unwrap_or(Val::Data));
    }

    /// `Op::FormatSimple`.
    pub(super) fn op_format_simple(&mut self) {
        let v = self.pop();
        self.push(format_val(&v));
    }

    /// `Op::FormatValue`.
    pub(super) fn op_format_value(&mut self, arg: u32) {
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

    /// `Op::ConvertValue`.
    pub(super) fn op_convert_value(&mut self, arg: u32) {
        let v = self.pop();
        self.push(if arg == 1 {
            format_val(&v)
        } else {
            Val::Unknown
        });
    }

    /// `Op::BuildTuple | Op::BuildList | Op::BuildSet`.
    pub(super) fn op_build_seq(&mut self, arg: u32) {
        let line = self.line();
        let items = self.popn(arg_count(arg));
        for v in &items {
            self.eng.escape(self.site, v, "stored in a container", line);
        }
        self.push(Val::Seq(items.into()));
    }

    /// `Op::BuildMap`.
    pub(super) fn op_build_map(&mut self, arg: u32) {
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

    /// `Op::BuildConstKeyMap`.
    pub(super) fn op_build_const_key_map(&mut self, arg: u32) {
        let keys = self.pop();
        let vals = self.popn(arg_count(arg));
        let v = match keys.elements(vals.len()) {
            Some(ks) if ks.len() == vals.len() => Val::Dict(ks.into_iter().zip(vals).collect()),
            _ => Val::Unknown,
        };
        self.push(v);
    }

    /// `Op::BuildString`.
    pub(super) fn op_build_string(&mut self, arg: u32) {
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

    /// `Op::ListAppend`.
    pub(super) fn op_list_append(&mut self) {
        let line = self.line();
        let v = self.pop();
        self.eng
            .escape(self.site, &v, "stored in a container", line);
    }

    /// `Op::ListExtend`.
    pub(super) fn op_list_extend(&mut self, arg: u32) {
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
