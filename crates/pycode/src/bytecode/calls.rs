//! Call opcodes (every version's calling convention), keyword-name tuples, intrinsics and
//! function creation: each call is handed to the engine with its evidence.

use super::{Interp, arg_count};
use crate::engine::{CallArgs, Val};
use crate::marshal::Object;
use crate::opcodes::Op;

impl Interp<'_, '_> {
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

    /// `Op::CallFunction`.
    pub(super) fn op_call_function(&mut self, arg: u32) {
        let args = self.popn(arg_count(arg));
        let func = self.pop();
        self.do_call(func, args, Vec::new());
    }

    /// `Op::CallFunctionKw | Op::CallKw`.
    pub(super) fn op_call_function_kw(&mut self, op: Op, arg: u32) {
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

    /// `Op::CallMethod`.
    pub(super) fn op_call_method(&mut self, arg: u32) {
        let args = self.popn(arg_count(arg));
        let func = self.pop_callable();
        self.do_call(func, args, Vec::new());
    }

    /// `Op::Call`.
    pub(super) fn op_call(&mut self, arg: u32) {
        let args = self.popn(arg_count(arg));
        let func = self.pop_callable();
        let names = self.kwnames.take().unwrap_or_default();
        self.do_call(func, args, names);
    }

    /// `Op::KwNames`.
    pub(super) fn op_kw_names(&mut self, arg: u32) {
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

    /// `Op::CallFunctionEx`.
    pub(super) fn op_call_function_ex(&mut self, arg: u32) {
        let minor = self.minor;
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

    /// `Op::CallIntrinsic1`.
    pub(super) fn op_call_intrinsic1(&mut self, arg: u32) {
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

    /// `Op::MakeFunction`.
    pub(super) fn op_make_function(&mut self, arg: u32) {
        let minor = self.minor;
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

    /// `Op::SetFunctionAttribute`.
    pub(super) fn op_set_function_attribute(&mut self) {
        let f = self.pop();
        self.pop();
        self.push(f);
    }
}
