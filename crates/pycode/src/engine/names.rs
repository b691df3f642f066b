//! Names, attributes, subscripts and operators: what `x.y`, `x[k]`, `-x`, `a + b` mean for
//! abstract values, and how dotted paths resolve to catalogued callables.

use std::rc::Rc;

use super::*;
impl<'l> Engine<'l> {
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

pub(super) fn is_safe_path(path: &str) -> bool {
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
