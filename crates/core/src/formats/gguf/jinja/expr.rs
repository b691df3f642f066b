//! Expressions of the abstract render: variables, constants, operators, slicing, and every
//! attribute or item access, where the names reached are checked (`access`, `subscript`,
//! computed names, dotted attribute paths given to filters).
//!
//! Must not: implement filters or calls (`filters`, `calls`) or statements (`interp`).

use minijinja::machinery::Span;
use minijinja::machinery::ast::{self, BinOpKind, CallArg, Expr};

use super::catalogue::EscapeKind;
use super::catalogue::{ESCAPE, EXEC, MUTATORS};
use super::interp::An;
use super::strings::{index_pat, literal_run, percent_format, slice_indices, slice_pat};
use super::value::{Abs, K, MAX_FOLD, State, cat, concat, describe, norm_str, obj, product};

impl<'a> An<'a> {
    /// Check an attribute or item name accessed on `base` (Jinja's `getattr` falls back to
    /// the item and `getitem` to the attribute: both are the same access); returns what
    /// the access gives.
    pub(super) fn access(&mut self, base: &Abs, name: &str, span: Span, st: &mut State) -> Abs {
        if MUTATORS.contains(&name) && base.chain.is_empty() {
            self.saw_mutator = true;
        }
        let dunder = name.len() > 4 && name.starts_with("__") && name.ends_with("__");
        let mut chain = base.chain.clone();
        let mut internal = true;
        if ESCAPE.contains(&name) {
            self.hit_via(
                EscapeKind::CodeName,
                format!("attribute {name}"),
                &base.chain,
                span,
            );
        } else if dunder || name == "mro" {
            self.hit_via(
                EscapeKind::Dunder,
                format!("attribute {name}"),
                &base.chain,
                span,
            );
        } else if name.starts_with('_') {
            self.hit_via(
                EscapeKind::Private,
                format!("private attribute {name}"),
                &base.chain,
                span,
            );
        } else {
            internal = false;
            if !base.chain.is_empty() && EXEC.contains(&name) {
                self.hit_via(
                    EscapeKind::CommandThroughInternals,
                    format!("{name} reached through {}", base.chain.join(".")),
                    &base.chain,
                    span,
                );
            }
        }
        if internal || !base.chain.is_empty() {
            chain.push(name.to_string());
            return Abs {
                objs: obj::FUNC,
                ..Abs::tainted(chain)
            };
        }
        let mut out = Abs::bottom();
        if base.any || base.objs & obj::COMPUTED != 0 {
            out.join(&Abs {
                objs: base.objs & obj::COMPUTED,
                ..Abs::default()
            });
        }
        for v in &base.vals {
            match v {
                K::Map(m) => match m.iter().rev().find(|(k, _)| k == name) {
                    Some((_, x)) => {
                        out.add(x.clone());
                    }
                    None => out.any = true,
                },
                // String methods and the like: called, they are handled by `call`.
                _ => {
                    out.join(&Abs::object(obj::FUNC));
                }
            }
        }
        for id in &base.ns {
            match st.heap.get(&(*id, name.to_string())) {
                Some(v) => out.join(v),
                None => out.join(&Abs::default()),
            };
        }
        if base.objs & obj::LOOP != 0 {
            match name {
                "index" | "index0" | "revindex" | "revindex0" | "length" | "depth" | "depth0"
                | "first" | "last" => out.join(&Abs::num()),
                "previtem" | "nextitem" => out.join(&Abs::default()),
                _ => out.join(&Abs::object(obj::FUNC)),
            };
        }
        let other = base.objs & obj::SENSITIVE & !(obj::LOOP | obj::NS_INST);
        if other != 0 || !base.macros.is_empty() {
            out.join(&Abs::object(obj::FUNC));
        }
        out
    }

    /// `base[sub]` (and `base|attr(sub)` when `attr_filter`): every name `sub` may be.
    pub(super) fn subscript(
        &mut self,
        base: &Abs,
        sub: &Abs,
        span: Span,
        attr_filter: bool,
        st: &mut State,
    ) -> Abs {
        let mut out = Abs::bottom();
        let names: Vec<String> = sub.strs().map(str::to_string).collect();
        for n in &names {
            let r = self.access(base, n, span, st);
            out.join(&r);
        }
        if !attr_filter {
            for i in sub.ints() {
                out.join(&self.index(base, i));
            }
            if sub.any && sub.num {
                out.join(&base.element());
            }
        }
        if sub.name_unknown() || (attr_filter && names.is_empty()) {
            if base.sensitive() {
                let what = describe(base);
                self.hit_via(
                    EscapeKind::DynamicName,
                    format!("name computed at render time used as an attribute of {what}"),
                    &base.chain,
                    span,
                );
                let mut chain = base.chain.clone();
                chain.push("<computed>".into());
                out.join(&Abs {
                    objs: obj::FUNC | obj::COMPUTED,
                    ..Abs::tainted(chain)
                });
            } else if base.objs & obj::COMPUTED != 0 {
                self.hit(
                    EscapeKind::DynamicName,
                    "chain of names computed at render time".into(),
                    span,
                );
                out.join(&Abs {
                    objs: obj::COMPUTED | obj::FUNC,
                    ..Abs::tainted(vec!["<computed>".into()])
                });
            } else if attr_filter {
                self.hit(
                    EscapeKind::DynamicName,
                    "attr filter with a name computed at render time".into(),
                    span,
                );
                out.join(&Abs::object(obj::COMPUTED));
                out.any = true;
            } else {
                let mut e = base.element();
                e.any = true;
                e.objs |= obj::COMPUTED;
                out.join(&e);
            }
        }
        if out == Abs::bottom() {
            // An object as the key, or nothing known: an item of the base.
            out = base.element();
            out.any = true;
        }
        out
    }

    pub(super) fn index(&self, base: &Abs, i: i64) -> Abs {
        let mut out = Abs {
            any: base.any,
            ..base.keep_taint()
        };
        if !base.ns.is_empty() || base.objs != 0 {
            out.any = true;
        }
        for v in &base.vals {
            match v {
                K::Str(s) => {
                    let chars: Vec<char> = s.chars().collect();
                    match slice_indices(chars.len(), Some(i), None, None)
                        .first()
                        .filter(|_| i < chars.len() as i64)
                        .and_then(|j| chars.get(*j))
                    {
                        Some(c) => {
                            out.add(K::Str(c.to_string()));
                        }
                        None => out.any = true,
                    }
                }
                K::List(l) => match slice_indices(l.len(), Some(i), None, None)
                    .first()
                    .filter(|_| i < l.len() as i64)
                    .and_then(|j| l.get(*j))
                {
                    Some(k) => {
                        out.add(k.clone());
                    }
                    None => out.any = true,
                },
                K::Pat(p, s) => {
                    out.add(index_pat(p, s, i));
                }
                K::Map(_) | K::Int(_) => out.any = true,
            }
        }
        out
    }

    pub(super) fn args(
        &mut self,
        args: &'a [CallArg<'a>],
        st: &mut State,
    ) -> (Vec<Abs>, Vec<(String, Abs)>) {
        let mut pos = Vec::new();
        let mut kw = Vec::new();
        for a in args {
            match a {
                CallArg::Pos(e) => pos.push(self.expr(e, st)),
                CallArg::Kwarg(k, e) => {
                    let v = self.expr(e, st);
                    kw.push((k.to_string(), v));
                }
                CallArg::PosSplat(e) | CallArg::KwargSplat(e) => {
                    let v = self.expr(e, st);
                    // Unknown arguments; their objects may reach any parameter.
                    let mut x = v.element();
                    x.any = true;
                    pos.push(x);
                }
            }
        }
        (pos, kw)
    }

    /// Flag a computed string that is exactly an internal name: only an escape needs it.
    pub(super) fn built_name(&mut self, v: &Abs, span: Span) {
        let names: Vec<String> = v
            .strs()
            .filter(|s| {
                ESCAPE.contains(s) || (s.len() > 4 && s.starts_with("__") && s.ends_with("__"))
            })
            .map(str::to_string)
            .collect();
        for n in names {
            let kind = if ESCAPE.contains(&n.as_str()) {
                EscapeKind::CodeName
            } else {
                EscapeKind::Dunder
            };
            self.hit(kind, format!("string {n} built"), span);
        }
    }

    pub(super) fn expr(&mut self, e: &'a Expr<'a>, st: &mut State) -> Abs {
        self.steps += 1;
        // Postfix nodes (`.attr`, `(…)`) span only their own operator: the evidence of a hit
        // is the extent of the whole outermost expression, known once it is evaluated.
        let sp = e.span();
        let top = match &mut self.outer {
            None => {
                self.outer = Some((sp.start_offset, sp.end_offset));
                true
            }
            Some((lo, hi)) => {
                *lo = (*lo).min(sp.start_offset);
                *hi = (*hi).max(sp.end_offset);
                false
            }
        };
        let mut v = self.expr_inner(e, st);
        if self.mutable && v.vals.iter().any(|k| matches!(k, K::List(_) | K::Map(_))) {
            v.vals.retain(|k| !matches!(k, K::List(_) | K::Map(_)));
            v.any = true;
            v.num = false;
        }
        if top && let Some((lo, hi)) = self.outer.take() {
            let text = self.text(lo, hi);
            for mut h in std::mem::take(&mut self.pending) {
                h.evidence.clone_from(&text);
                h.at = lo;
                self.finalize(h);
            }
        }
        if !matches!(e, Expr::Const(_) | Expr::Var(_)) {
            self.built_name(&v, e.span());
        }
        v
    }

    /// A string literal decoded as Jinja2's lexer decodes it (minijinja's escapes differ:
    /// `\N{LOW LINE}`, octal): `None` (no escape) to keep minijinja's value.
    pub(super) fn string_literal(&self, span: Span) -> Option<K> {
        let text = self
            .src
            .get(span.start_offset as usize..span.end_offset as usize)?;
        if !text.contains('\\') {
            return None;
        }
        // Escapes in a constant whose source is not a run of literals (nothing else is
        // expected): unknown rather than minijinja's decoding.
        Some(literal_run(text).unwrap_or(K::Pat(String::new(), String::new())))
    }
}

impl<'a> An<'a> {
    pub(super) fn var(&self, id: &str, st: &State) -> Abs {
        if let Some(v) = st.env.get(id) {
            return v.clone();
        }
        match id {
            "lipsum" => Abs::object(obj::LIPSUM),
            "cycler" => Abs::object(obj::CYCLER),
            "joiner" => Abs::object(obj::JOINER),
            "namespace" => Abs::object(obj::NAMESPACE),
            "range" => Abs::object(obj::RANGE),
            "dict" => Abs::object(obj::DICT),
            "self" => Abs::object(obj::SELF),
            // Callables the renderers pass in (Transformers, llama-cpp-python).
            "raise_exception" | "strftime_now" => Abs::object(obj::FUNC),
            _ => Abs::default(),
        }
    }

    pub(super) fn expr_inner(&mut self, e: &'a Expr<'a>, st: &mut State) -> Abs {
        match e {
            Expr::Var(v) => self.var(v.id, st),
            Expr::Const(c) => {
                if c.value.kind() == minijinja::value::ValueKind::String
                    && let Some(k) = self.string_literal(e.span())
                {
                    return Abs::konst(k);
                }
                use minijinja::value::ValueKind;
                match K::from_value(&c.value) {
                    Some(k) => Abs::konst(k),
                    // Booleans, none, floats: never a name.
                    None if matches!(
                        c.value.kind(),
                        ValueKind::Bool
                            | ValueKind::None
                            | ValueKind::Undefined
                            | ValueKind::Number
                    ) =>
                    {
                        Abs::num()
                    }
                    None => Abs::default(),
                }
            }
            Expr::Slice(s) => {
                let base = self.expr(&s.expr, st);
                let mut idx = |an: &mut Self, x: &'a Option<Expr<'a>>| -> Option<Option<i64>> {
                    match x {
                        None => Some(None),
                        Some(x) => match an.expr(x, st).vals.as_slice() {
                            [K::Int(i)] => Some(Some(*i)),
                            _ => None,
                        },
                    }
                };
                let (a, b, c) = (idx(self, &s.start), idx(self, &s.stop), idx(self, &s.step));
                let mut out = Abs {
                    any: base.any,
                    ..base.keep_taint()
                };
                if !base.ns.is_empty() || base.objs != 0 {
                    out.any = true;
                }
                for v in &base.vals {
                    let (Some(a), Some(b), Some(c)) = (a, b, c) else {
                        out.any = true;
                        if v.is_text() {
                            out.add(K::Pat(String::new(), String::new()));
                        }
                        continue;
                    };
                    let k = match v {
                        K::Str(s) => {
                            let chars: Vec<char> = s.chars().collect();
                            K::Str(
                                slice_indices(chars.len(), a, b, c)
                                    .into_iter()
                                    .filter_map(|i| chars.get(i))
                                    .collect(),
                            )
                        }
                        K::List(l) => K::List(
                            slice_indices(l.len(), a, b, c)
                                .into_iter()
                                .filter_map(|i| l.get(i).cloned())
                                .collect(),
                        ),
                        K::Pat(p, s) => slice_pat(p, s, a, b, c),
                        K::Int(_) | K::Map(_) => {
                            out.any = true;
                            continue;
                        }
                    };
                    out.add(k);
                }
                out
            }
            Expr::UnaryOp(u) => {
                let v = self.expr(&u.expr, st);
                match (&u.op, v.vals.as_slice()) {
                    (ast::UnaryOpKind::Neg, [K::Int(i)]) if !v.any => i
                        .checked_neg()
                        .map_or_else(Abs::num, |n| Abs::konst(K::Int(n))),
                    _ => Abs::num(),
                }
            }
            Expr::BinOp(b) => self.binop(b, st),
            Expr::Compare(c) => {
                self.expr(&c.expr, st);
                for op in &c.ops {
                    self.expr(&op.expr, st);
                }
                Abs::num()
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr, st);
                let mut v = self.expr(&i.true_expr, st);
                match &i.false_expr {
                    Some(f) => {
                        let w = self.expr(f, st);
                        v.join(&w);
                    }
                    // Undefined.
                    None => {
                        v.join(&Abs::konst(K::Str(String::new())));
                    }
                }
                v
            }
            Expr::Filter(f) => {
                let base = match &f.expr {
                    Some(x) => self.expr(x, st),
                    None => Abs::default(),
                };
                let (pos, kw) = self.args(&f.args, st);
                self.apply_filter(f.name, base, &pos, &kw, e.span(), st)
            }
            Expr::Test(t) => {
                self.expr(&t.expr, st);
                self.args(&t.args, st);
                Abs::num()
            }
            Expr::GetAttr(g) => {
                let base = self.expr(&g.expr, st);
                self.access(&base, g.name, e.span(), st)
            }
            Expr::GetItem(g) => {
                let base = self.expr(&g.expr, st);
                let sub = self.expr(&g.subscript_expr, st);
                self.subscript(&base, &sub, e.span(), false, st)
            }
            Expr::Call(c) => self.call(c, e.span(), None, st),
            Expr::List(l) => self.seq(&l.items, st),
            Expr::Tuple(t) => self.seq(&t.items, st),
            Expr::Map(m) => {
                let keys: Vec<Abs> = m.keys.iter().map(|k| self.expr(k, st)).collect();
                let vals: Vec<Abs> = m.values.iter().map(|v| self.expr(v, st)).collect();
                let known: Option<Vec<(String, K)>> = keys
                    .iter()
                    .zip(&vals)
                    .map(|(k, v)| match (k.single(), v.single()) {
                        (Some(K::Str(k)), Some(v)) => Some((k.clone(), v.clone())),
                        _ => None,
                    })
                    .collect();
                match known {
                    Some(m) if m.len() <= 256 => Abs::konst(K::Map(m)),
                    _ => {
                        let mut out = Abs::default();
                        for v in &vals {
                            out.join(&v.keep_taint());
                        }
                        out
                    }
                }
            }
        }
    }

    pub(super) fn binop(&mut self, b: &'a ast::BinOp<'a>, st: &mut State) -> Abs {
        let l = self.expr(&b.left, st);
        let r = self.expr(&b.right, st);
        let mut out = match b.op {
            BinOpKind::Concat => concat(&l, &r),
            BinOpKind::Add => {
                let mut out = product(&l.vals, &r.vals, |x, y| match (x, y) {
                    (K::Int(a), K::Int(b)) => a.checked_add(*b).map(K::Int),
                    (K::List(a), K::List(b)) if a.len() + b.len() <= 256 => {
                        Some(K::List(a.iter().chain(b).cloned().collect()))
                    }
                    (a, b) if a.is_text() && b.is_text() => cat(a, b),
                    _ => None,
                });
                // A string plus something unknown is a string starting or ending with it.
                let lt: Vec<K> = l.vals.iter().filter(|k| k.is_text()).cloned().collect();
                let rt: Vec<K> = r.vals.iter().filter(|k| k.is_text()).cloned().collect();
                let unk = [K::Pat(String::new(), String::new())];
                if r.any && !r.num {
                    out.join(&product(&lt, &unk, cat));
                }
                if l.any && !l.num {
                    out.join(&product(&unk, &rt, cat));
                }
                if l.any || r.any {
                    out.any = true;
                    out.num = (l.num || !l.any) && (r.num || !r.any) && out.vals.is_empty();
                }
                out
            }
            BinOpKind::Mul => {
                let mut out = product(&l.vals, &r.vals, |x, y| match (x, y) {
                    (K::Str(s), K::Int(n)) | (K::Int(n), K::Str(s)) => {
                        let n = usize::try_from(*n).unwrap_or(0);
                        Some(if s.len().saturating_mul(n) <= MAX_FOLD {
                            K::Str(s.repeat(n))
                        } else {
                            K::Pat(String::new(), String::new())
                        })
                    }
                    (K::Int(a), K::Int(b)) => a.checked_mul(*b).map(K::Int),
                    (K::Pat(..), K::Int(_)) | (K::Int(_), K::Pat(..)) => {
                        Some(K::Pat(String::new(), String::new()))
                    }
                    _ => None,
                });
                if l.any || r.any {
                    out.any = true;
                    out.num = l.num && r.num;
                    if l.vals.iter().chain(&r.vals).any(K::is_text) {
                        out.add(K::Pat(String::new(), String::new()));
                    }
                }
                out
            }
            BinOpKind::Sub => {
                let mut out = product(&l.vals, &r.vals, |x, y| match (x, y) {
                    (K::Int(a), K::Int(b)) => a.checked_sub(*b).map(K::Int),
                    _ => None,
                });
                if l.any || r.any {
                    out.any = true;
                    out.num = true;
                }
                out.num |= out.any;
                out
            }
            BinOpKind::Rem => {
                let mut out = product(&l.vals, &r.vals, |x, y| match (x, y) {
                    (K::Str(f), K::List(args)) => Some(norm_str(percent_format(f, args)?)),
                    (K::Str(f), a) => Some(norm_str(percent_format(f, std::slice::from_ref(a))?)),
                    (K::Int(a), K::Int(b)) => a.checked_rem_euclid(*b).map(K::Int),
                    _ => None,
                });
                if out.any && l.vals.iter().any(K::is_text) {
                    out.add(K::Pat(String::new(), String::new()));
                }
                if l.any || r.any {
                    out.any = true;
                    out.num = l.num;
                }
                out
            }
            BinOpKind::ScOr | BinOpKind::ScAnd => {
                let mut v = l.clone();
                v.join(&r);
                return v;
            }
            _ => Abs::num(),
        };
        if out.vals.is_empty() && !out.any {
            out = Abs::default();
        }
        out.chain.extend(l.chain.iter().chain(&r.chain).cloned());
        out
    }

    pub(super) fn seq(&mut self, items: &'a [Expr<'a>], st: &mut State) -> Abs {
        let vals: Vec<Abs> = items.iter().map(|i| self.expr(i, st)).collect();
        // Constant only when every item has one known value.
        let list: Option<Vec<K>> = vals.iter().map(|v| v.single().cloned()).collect();
        match list {
            Some(l) if l.len() <= 256 => Abs::konst(K::List(l)),
            _ => {
                let mut out = Abs::default();
                for v in &vals {
                    out.join(&v.keep_taint());
                }
                out
            }
        }
    }

    /// Follow a possibly dotted attribute path given to a filter (`map(attribute='a.b')`,
    /// `groupby('a')`) on the items of `base`.
    pub(super) fn attribute_path(
        &mut self,
        base: &Abs,
        path: &Abs,
        span: Span,
        st: &mut State,
    ) -> Abs {
        let items = base.element();
        let mut out = Abs::bottom();
        let paths: Vec<String> = path.strs().map(str::to_string).collect();
        for p in paths {
            let mut cur = items.clone();
            // `jinja2.filters._prepare_attribute_parts`: digits are indexes.
            for part in p.split('.') {
                cur = match part.parse::<i64>() {
                    Ok(i) => self.index(&cur, i),
                    Err(_) => self.access(&cur, part, span, st),
                };
            }
            out.join(&cur);
        }
        for i in path.ints() {
            out.join(&self.index(&items, i));
        }
        if path.name_unknown() {
            let r = self.subscript(&items, &Abs::default(), span, true, st);
            out.join(&r);
        }
        if out == Abs::bottom() {
            out = Abs::default();
        }
        out
    }
}
