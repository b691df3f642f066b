//! Calls in the abstract render: command functions called (`popen`, `eval`…), string and
//! dict methods that build names (`join`, `replace`, `format` with its attribute fields…),
//! macros, and the objects a template can call (`namespace`, `dict`, `range`, `cycler`…).
//!
//! Must not: handle filters (`filters`) or statements (`interp`).

use minijinja::machinery::Span;
use minijinja::machinery::ast::{self, Expr};

use super::catalogue::EscapeKind;
use super::catalogue::{EXEC, EXEC_STRONG};
use super::interp::An;
use super::strings::{py_capitalize, py_title, str_format};
use super::value::{Abs, K, State, cat, describe, norm_str, obj};

impl<'a> An<'a> {
    pub(super) fn call(
        &mut self,
        c: &'a ast::Call<'a>,
        span: Span,
        caller: Option<usize>,
        st: &mut State,
    ) -> Abs {
        match &c.expr {
            Expr::GetAttr(g) => {
                let obj = self.expr(&g.expr, st);
                let callee = self.access(&obj, g.name, c.expr.span(), st);
                let (pos, kw) = self.args(&c.args, st);
                if EXEC_STRONG.contains(&g.name)
                    || (EXEC.contains(&g.name) && !obj.chain.is_empty())
                {
                    let kind = if obj.chain.is_empty() {
                        EscapeKind::CommandCall
                    } else {
                        EscapeKind::CommandThroughInternals
                    };
                    self.hit_via(kind, format!("call of {}", g.name), &obj.chain, span);
                }
                let first = pos.first().cloned().unwrap_or_default();
                if !callee.macros.is_empty() {
                    return self.call_value(&callee, &pos, &kw, caller, span, st);
                }
                if !obj.chain.is_empty() || obj.objs & obj::SENSITIVE & !obj::LOOP != 0 {
                    return callee;
                }
                if obj.objs & obj::LOOP != 0 && g.name == "cycle" {
                    let mut out = Abs::bottom();
                    for p in &pos {
                        out.join(p);
                    }
                    return out;
                }
                // String and dict methods that build names.
                let texts = obj.texts();
                let strs: Vec<String> = obj.strs().map(str::to_string).collect();
                let unknown_text = K::Pat(String::new(), String::new());
                let mut out = Abs::bottom();
                match g.name {
                    "join" => {
                        for sep in &texts {
                            let mut lists = first.vals.clone();
                            if first.any {
                                out.add(unknown_text.clone());
                            }
                            for l in lists.drain(..) {
                                let K::List(parts) = l else {
                                    out.add(unknown_text.clone());
                                    continue;
                                };
                                let mut acc = K::Str(String::new());
                                for (i, p) in parts.iter().enumerate() {
                                    let step = if i == 0 {
                                        Some(acc.clone())
                                    } else {
                                        cat(&acc, sep)
                                    };
                                    acc = step
                                        .and_then(|a| cat(&a, p))
                                        .unwrap_or(unknown_text.clone());
                                }
                                out.add(acc);
                            }
                        }
                    }
                    "replace" => {
                        let second = pos.get(1).cloned().unwrap_or_default();
                        for k in &texts {
                            match k {
                                K::Str(s) if !first.name_unknown() && !second.name_unknown() => {
                                    for o in first.strs() {
                                        for n in second.strs() {
                                            out.add(norm_str(s.replace(o, n)));
                                        }
                                    }
                                }
                                _ => {
                                    out.add(unknown_text.clone());
                                }
                            }
                        }
                    }
                    "lower" | "upper" | "strip" | "lstrip" | "rstrip" | "swapcase" | "title"
                    | "capitalize" | "casefold" => {
                        for k in &texts {
                            let K::Str(s) = k else {
                                out.add(unknown_text.clone());
                                continue;
                            };
                            out.add(norm_str(match g.name {
                                "lower" | "casefold" => s.to_lowercase(),
                                "upper" => s.to_uppercase(),
                                "strip" if pos.is_empty() => s.trim().to_string(),
                                "lstrip" if pos.is_empty() => s.trim_start().to_string(),
                                "rstrip" if pos.is_empty() => s.trim_end().to_string(),
                                "strip" | "lstrip" | "rstrip" => {
                                    let (Some(K::Str(cs)), 1) = (first.single(), pos.len()) else {
                                        out.add(unknown_text.clone());
                                        continue;
                                    };
                                    let f = |c: char| cs.contains(c);
                                    match g.name {
                                        "strip" => s.trim_matches(f).to_string(),
                                        "lstrip" => s.trim_start_matches(f).to_string(),
                                        _ => s.trim_end_matches(f).to_string(),
                                    }
                                }
                                "title" => py_title(s),
                                "capitalize" => py_capitalize(s),
                                "swapcase" => s
                                    .chars()
                                    .map(|c| {
                                        if c.is_uppercase() {
                                            c.to_lowercase().collect::<String>()
                                        } else {
                                            c.to_uppercase().collect()
                                        }
                                    })
                                    .collect(),
                                _ => {
                                    out.add(unknown_text.clone());
                                    continue;
                                }
                            }));
                        }
                    }
                    "split" => {
                        for s in &strs {
                            let seps: Vec<&str> = first.strs().collect();
                            if pos.is_empty() {
                                out.add(K::List(
                                    s.split_whitespace().map(|p| K::Str(p.into())).collect(),
                                ));
                            } else if pos.len() == 1 && !first.any && !seps.is_empty() {
                                for sep in seps.into_iter().filter(|x| !x.is_empty()) {
                                    out.add(K::List(
                                        s.split(sep).map(|p| K::Str(p.into())).collect(),
                                    ));
                                }
                            } else {
                                out.any = true;
                            }
                        }
                        if obj.any || strs.len() != obj.vals.len() {
                            out.any = true;
                        }
                    }
                    "format" | "format_map" => {
                        // str.format walks attributes itself: '{0.__class__}'.format(x).
                        let mut args = Abs::bottom();
                        for a in pos.iter().chain(kw.iter().map(|(_, v)| v)) {
                            args.join(a);
                        }
                        if obj.name_unknown() && args.sensitive() {
                            let what = describe(&args);
                            self.hit(
                                EscapeKind::DynamicName,
                                format!(
                                    "str.format with a format computed at render time on {what}"
                                ),
                                span,
                            );
                        }
                        let fields: Vec<String> = strs
                            .iter()
                            .flat_map(|s| {
                                s.split('{')
                                    .skip(1)
                                    .filter_map(|p| p.split('}').next())
                                    .map(str::to_string)
                                    .collect::<Vec<_>>()
                            })
                            .collect();
                        // `'{}{}'.format(a, b)`: fields without attributes, known arguments.
                        let known: Option<Vec<K>> =
                            pos.iter().map(|a| a.single().cloned()).collect();
                        let named: Option<Vec<(String, K)>> = kw
                            .iter()
                            .map(|(k, v)| v.single().map(|x| (k.clone(), x.clone())))
                            .collect();
                        if let (Some(known), Some(named)) = (&known, &named) {
                            for f in &strs {
                                match str_format(f, known, named) {
                                    Some(r) => out.add(norm_str(r)),
                                    None => out.add(unknown_text.clone()),
                                };
                            }
                        }
                        for field in fields {
                            let mut cur = Abs {
                                objs: args.objs | obj::FUNC,
                                ..Abs::tainted(args.chain.clone())
                            };
                            let field = field.split([':', '!']).next().unwrap_or_default();
                            for part in field.split(['.', '[', ']']).skip(1) {
                                if !part.is_empty() {
                                    cur = self.access(&cur, part, span, st);
                                }
                            }
                        }
                        if out.vals.len() != strs.len() || obj.name_unknown() {
                            out.add(unknown_text.clone());
                        }
                    }
                    "get" | "pop" | "setdefault" => {
                        for v in &obj.vals {
                            if let K::Map(m) = v {
                                for k in first.strs() {
                                    match m.iter().rev().find(|(x, _)| x == k) {
                                        Some((_, x)) => out.add(x.clone()),
                                        None => {
                                            out.join(&pos.get(1).cloned().unwrap_or_else(Abs::num));
                                            false
                                        }
                                    };
                                }
                            }
                        }
                        out.any = true;
                        out.objs |= obj.objs & obj::COMPUTED;
                    }
                    "items" | "keys" | "values" => {
                        for v in &obj.vals {
                            if let K::Map(m) = v {
                                out.add(K::List(
                                    m.iter()
                                        .map(|(k, v)| match g.name {
                                            "items" => K::List(vec![K::Str(k.clone()), v.clone()]),
                                            "keys" => K::Str(k.clone()),
                                            _ => v.clone(),
                                        })
                                        .collect(),
                                ));
                            } else {
                                out.any = true;
                            }
                        }
                        if obj.any {
                            out.any = true;
                        }
                        out.objs |= obj.objs & obj::COMPUTED;
                    }
                    _ => {
                        out = Abs::default();
                        out.objs |= obj.objs & obj::COMPUTED;
                    }
                }
                if out == Abs::bottom() {
                    out = Abs::default();
                }
                out
            }
            Expr::Var(v) => {
                if EXEC_STRONG.contains(&v.id) || matches!(v.id, "getattr" | "setattr" | "open") {
                    self.hit(EscapeKind::CommandCall, format!("call of {}", v.id), span);
                }
                let callee = self.expr(&c.expr, st);
                let (pos, kw) = self.args(&c.args, st);
                self.call_value(&callee, &pos, &kw, caller, span, st)
            }
            other => {
                let callee = self.expr(other, st);
                let (pos, kw) = self.args(&c.args, st);
                self.call_value(&callee, &pos, &kw, caller, span, st)
            }
        }
    }

    /// Call a value: macros are evaluated, builtins give what they return.
    pub(super) fn call_value(
        &mut self,
        callee: &Abs,
        pos: &[Abs],
        kw: &[(String, Abs)],
        caller: Option<usize>,
        span: Span,
        st: &mut State,
    ) -> Abs {
        let mut out = Abs::bottom();
        for id in callee.macros.clone() {
            let r = self.call_macro(id, pos, kw, caller, st);
            out.join(&r);
        }
        let o = callee.objs;
        if o & obj::NAMESPACE != 0 {
            let id = span.start_offset;
            for (k, v) in kw {
                st.heap.insert((id, k.clone()), v.clone());
            }
            for p in pos {
                // `namespace(d)`: attributes from a mapping.
                for v in &p.vals {
                    if let K::Map(m) = v {
                        for (k, x) in m {
                            st.heap.insert((id, k.clone()), Abs::konst(x.clone()));
                        }
                    }
                }
            }
            out.join(&Abs {
                ns: vec![id],
                objs: obj::NS_INST,
                ..Abs::bottom()
            });
        }
        if o & obj::DICT != 0 {
            let known: Option<Vec<(String, K)>> = kw
                .iter()
                .map(|(k, v)| v.single().map(|x| (k.clone(), x.clone())))
                .collect();
            match known {
                Some(m) if pos.is_empty() => out.add(K::Map(m)),
                _ => {
                    let mut d = Abs::default();
                    for v in pos.iter().chain(kw.iter().map(|(_, v)| v)) {
                        d.join(&v.keep_taint());
                    }
                    out.join(&d)
                }
            };
        }
        if o & obj::RANGE != 0 {
            let ints: Option<Vec<i64>> = pos
                .iter()
                .map(|a| {
                    a.single().and_then(|k| match k {
                        K::Int(i) => Some(*i),
                        _ => None,
                    })
                })
                .collect();
            let r = match ints.as_deref() {
                Some([n]) => Some((0, *n, 1)),
                Some([a, b]) => Some((*a, *b, 1)),
                Some([a, b, s]) if *s != 0 => Some((*a, *b, *s)),
                _ => None,
            };
            let list = r.and_then(|(a, b, s)| {
                let mut v = Vec::new();
                let mut i = a;
                while (s > 0 && i < b) || (s < 0 && i > b) {
                    if v.len() >= 256 {
                        return None;
                    }
                    v.push(K::Int(i));
                    i = i.checked_add(s)?;
                }
                Some(v)
            });
            match list {
                Some(l) => out.add(K::List(l)),
                None => out.join(&Abs::default()),
            };
        }
        if o & obj::CYCLER != 0 {
            let mut c = Abs::object(obj::CYCLER_INST);
            for p in pos {
                c.join(&p.keep_taint());
            }
            out.join(&c);
        }
        if o & obj::JOINER != 0 {
            out.join(&Abs::object(obj::JOINER_INST));
        }
        if o & obj::JOINER_INST != 0 {
            out.join(&Abs::text_top());
        }
        if o & (obj::LIPSUM | obj::LOOP) != 0 {
            out.join(&Abs::text_top());
        }
        if o & !(obj::NAMESPACE
            | obj::DICT
            | obj::RANGE
            | obj::CYCLER
            | obj::JOINER
            | obj::JOINER_INST
            | obj::LIPSUM
            | obj::LOOP)
            != 0
            || callee.any
            || !callee.chain.is_empty()
        {
            // Other callables: unknown result, still tainted by the chain that led here.
            out.join(&Abs {
                objs: callee.objs & obj::COMPUTED,
                ..Abs::tainted(callee.chain.clone())
            });
            if !callee.chain.is_empty() {
                out.objs |= obj::FUNC;
            }
        }
        if out == Abs::bottom() {
            out = Abs::default();
        }
        out
    }
}
