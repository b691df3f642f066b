//! Opcodes that load, store and import names (locals, globals, cells, attributes, modules),
//! and the name lookups they share.

use super::Interp;
use crate::engine::{self, Val};
use crate::opcodes::Op;

impl Interp<'_, '_> {
    pub(super) fn name(&self, idx: u32) -> Option<String> {
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

    /// `Op::LoadName`.
    pub(super) fn op_load_name(&mut self, arg: u32) {
        let v = match self.name(arg) {
            Some(n) => self.load_name(&n),
            None => Val::Unknown,
        };
        self.push(v);
    }

    /// `Op::LoadGlobal`.
    pub(super) fn op_load_global(&mut self, arg: u32) {
        let minor = self.minor;
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

    /// `Op::LoadFast`.
    pub(super) fn op_load_fast(&mut self, arg: u32) {
        let v = self.load_fast(arg);
        self.push(v);
    }

    /// `Op::LoadFastPair`.
    pub(super) fn op_load_fast_pair(&mut self, arg: u32) {
        let a = self.load_fast(arg >> 4);
        let b = self.load_fast(arg & 15);
        self.push(a);
        self.push(b);
    }

    /// `Op::LoadDeref`.
    pub(super) fn op_load_deref(&mut self, arg: u32) {
        let v = match self.deref_name(arg) {
            Some(n) => self.locals.get(&n).cloned().unwrap_or(Val::Free(n)),
            None => Val::Unknown,
        };
        self.push(v);
    }

    /// `Op::LoadFromDictOrGlobals`.
    pub(super) fn op_load_from_dict_or_globals(&mut self, arg: u32) {
        self.pop();
        let v = match self.name(arg) {
            Some(n) => self.load_global(&n),
            None => Val::Unknown,
        };
        self.push(v);
    }

    /// `Op::LoadFromDictOrDeref`.
    pub(super) fn op_load_from_dict_or_deref(&mut self, arg: u32) {
        self.pop();
        let v = match self.deref_name(arg) {
            Some(n) => self.locals.get(&n).cloned().unwrap_or(Val::Free(n)),
            None => Val::Unknown,
        };
        self.push(v);
    }

    /// `Op::LoadAttr | Op::LoadMethod`.
    pub(super) fn op_load_attr(&mut self, op: Op, arg: u32) {
        let minor = self.minor;
        let line = self.line();
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

    /// `Op::LoadSuperAttr`.
    pub(super) fn op_load_super_attr(&mut self, arg: u32) {
        let line = self.line();
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

    /// `Op::StoreName`.
    pub(super) fn op_store_name(&mut self, arg: u32) {
        let v = self.pop();
        if let Some(n) = self.name(arg) {
            self.store_name(n, v);
        }
    }

    /// `Op::StoreGlobal`.
    pub(super) fn op_store_global(&mut self, arg: u32) {
        let v = self.pop();
        if let Some(n) = self.name(arg) {
            self.globals.vars.insert(n, v);
        }
    }

    /// `Op::StoreFast`.
    pub(super) fn op_store_fast(&mut self, arg: u32) {
        let v = self.pop();
        if let Some(n) = self.local_name(arg) {
            self.locals.insert(n, v);
        }
    }

    /// `Op::StoreFastLoadFast`.
    pub(super) fn op_store_fast_load_fast(&mut self, arg: u32) {
        let v = self.pop();
        if let Some(n) = self.local_name(arg >> 4) {
            self.locals.insert(n, v);
        }
        let l = self.load_fast(arg & 15);
        self.push(l);
    }

    /// `Op::StoreFastStoreFast`.
    pub(super) fn op_store_fast_store_fast(&mut self, arg: u32) {
        for idx in [arg >> 4, arg & 15] {
            let v = self.pop();
            if let Some(n) = self.local_name(idx) {
                self.locals.insert(n, v);
            }
        }
    }

    /// `Op::StoreDeref`.
    pub(super) fn op_store_deref(&mut self, arg: u32) {
        let v = self.pop();
        if let Some(n) = self.deref_name(arg) {
            self.locals.insert(n, v);
        }
    }

    /// `Op::StoreAttr`.
    pub(super) fn op_store_attr(&mut self, arg: u32) {
        let line = self.line();
        let obj = self.pop();
        let v = self.pop();
        if let Some(n) = self.name(arg) {
            self.eng.attr(self.site, &obj, &n, line);
            let ev = format!("{}.{n} = {}", obj.render(), v.render());
            self.eng.escape(self.site, &v, &ev, line);
        }
    }

    /// `Op::StoreSubscr`.
    pub(super) fn op_store_subscr(&mut self) {
        let line = self.line();
        let vals = self.popn(3);
        if let Some(v) = vals.first() {
            self.eng.escape(self.site, v, "store into container", line);
        }
    }

    /// `Op::ImportName`.
    pub(super) fn op_import_name(&mut self, arg: u32) {
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

    /// `Op::ImportFrom`.
    pub(super) fn op_import_from(&mut self, arg: u32) {
        let line = self.line();
        let module = self.stack.last().cloned().unwrap_or(Val::Unknown);
        let v = match self.name(arg) {
            Some(n) => self.eng.attr(self.site, &module, &n, line),
            None => Val::Unknown,
        };
        self.push(v);
    }

    /// `Op::ImportStar`.
    pub(super) fn op_import_star(&mut self) {
        if let Val::Global(m) = self.pop() {
            self.globals.star.push(m);
        }
    }
}
