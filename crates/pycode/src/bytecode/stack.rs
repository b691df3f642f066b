//! Stack shuffles and control flow: duplication, rotation, unpacking, iteration, yields,
//! raises, returns, and the saved stacks jumps restore.

use super::{Interp, MAX_CHECKPOINTS, MAX_STACK, arg_count, const_val};
use crate::engine::Val;
use crate::opcodes::Op;

impl Interp<'_, '_> {
    pub(super) fn checkpoint(&mut self) {
        for _ in 0..(self.stack.len() / 16) {
            self.eng.tick();
        }
        if self.checkpoints.len() >= MAX_CHECKPOINTS {
            self.checkpoints.remove(0);
        }
        self.checkpoints.push(self.stack.clone());
    }

    pub(super) fn restore(&mut self) {
        self.stack = self.checkpoints.pop().unwrap_or_default();
    }

    pub(super) fn rotate(&mut self, n: usize) {
        let len = self.stack.len();
        if n >= 2
            && n <= len
            && let Some(top) = self.stack.pop()
        {
            self.stack.insert(len - n, top);
        }
    }

    /// `Op::ReturnConst | Op::ReturnValue`.
    pub(super) fn op_return(&mut self, op: Op, arg: u32) {
        let line = self.line();
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

    /// `Op::DupTop`.
    pub(super) fn op_dup_top(&mut self) {
        let v = self.stack.last().cloned().unwrap_or(Val::Unknown);
        self.push(v);
    }

    /// `Op::DupTopTwo`.
    pub(super) fn op_dup_top_two(&mut self) {
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

    /// `Op::Copy`.
    pub(super) fn op_copy(&mut self, arg: u32) {
        let n = self.stack.len();
        let v = n
            .checked_sub(arg_count(arg))
            .and_then(|i| self.stack.get(i))
            .cloned()
            .unwrap_or(Val::Unknown);
        self.push(v);
    }

    /// `Op::Swap`.
    pub(super) fn op_swap(&mut self, arg: u32) {
        let n = self.stack.len();
        if let Some(i) = n.checked_sub(arg_count(arg))
            && i < n
            && n > 0
        {
            self.stack.swap(i, n - 1);
        }
    }

    /// `Op::UnpackSequence`.
    pub(super) fn op_unpack_sequence(&mut self, arg: u32) {
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

    /// `Op::ForIter`.
    pub(super) fn op_for_iter(&mut self) {
        let it = self.stack.last().cloned().unwrap_or(Val::Unknown);
        let v = if matches!(it, Val::Data | Val::Param(_)) {
            Val::Data
        } else {
            Val::Unknown
        };
        self.push(v);
    }

    /// `Op::YieldValue`.
    pub(super) fn op_yield_value(&mut self) {
        let line = self.line();
        let v = self.pop();
        self.eng.escape(self.site, &v, "yield", line);
        self.push(Val::Unknown);
    }

    /// `Op::RaiseVarargs`.
    pub(super) fn op_raise_varargs(&mut self, arg: u32) {
        self.popn(arg_count(arg));
        self.restore();
    }

    /// `Op::Pop1Push2`.
    pub(super) fn op_pop1_push2(&mut self) {
        let v = self.pop();
        self.push(Val::Unknown);
        self.push(if matches!(v, Val::Data | Val::Param(_)) {
            Val::Data
        } else {
            Val::Opaque(v.render())
        });
    }
}
