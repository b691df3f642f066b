//! The abstract interpreter's state (`An`) and its statement walk: template text, `set`,
//! `if`, `with`, loops (unrolled over known lists, iterated to a fixed point otherwise,
//! `break`/`continue`), macros and `caller()`, template-loading tags, and where hits are
//! recorded with their evidence.
//!
//! Must not: decide what a hit is worth (the rules do) or render anything for real.

use std::collections::{HashMap, HashSet};

use minijinja::machinery::Span;
use minijinja::machinery::ast::{self, Expr, Stmt};

use super::catalogue::EscapeKind;
use super::value::{Abs, Heap, K, State, concat, norm_str, obj};
use super::{Hit, HitKey, excerpt};

/// Passes over a loop body whose items are unknown before values that still change are
/// widened to unknown.
pub(super) const WIDEN_AFTER: usize = 3;
/// Items of a known list a loop is unrolled over.
pub(super) const MAX_UNROLL: usize = 64;
/// Depth of macro calls evaluated (recursion included).
pub(super) const MAX_CALL_DEPTH: usize = 8;
/// Expressions evaluated before loops and macro calls stop being expanded.
pub(super) const MAX_STEPS: usize = 200_000;

/// Abstract interpreter: renders the template over abstract values, in order, as Jinja2
/// does (`jinja2.compiler.CodeGenerator`): loops and macros have their own scope,
/// `{% set %}` inside a loop does not leak out of it, namespace attributes do.
pub(super) struct An<'a> {
    pub(super) src: &'a str,
    pub(super) hits: Vec<Hit>,
    /// Extent of the outermost expression being evaluated.
    pub(super) outer: Option<(u32, u32)>,
    /// Hits inside that expression, which becomes their evidence.
    pub(super) pending: Vec<Hit>,
    pub(super) seen: HashSet<HitKey>,
    pub(super) macros: Vec<&'a ast::Macro<'a>>,
    pub(super) macro_ids: HashMap<usize, usize>,
    pub(super) depth: usize,
    pub(super) steps: usize,
    /// Macro calls evaluated, by macro, arguments and state: a recursive macro called
    /// from loops (Hermes' `json_to_python_type`) is evaluated once per distinct call.
    pub(super) memo: HashMap<u64, (Abs, Heap)>,
    /// Calls being evaluated: a call that recurses with the same inputs renders unknown text.
    pub(super) active: Vec<u64>,
    /// Per enclosing loop: the states met at `{% continue %}` and at `{% break %}`.
    pub(super) loops: Vec<(Option<State>, Option<State>)>,
    /// Lists and dicts may be changed in place: their contents are never known.
    pub(super) mutable: bool,
    /// A method that changes a list or dict in place was reached.
    pub(super) saw_mutator: bool,
    /// Render text between tags as Jinja2 does with `trim_blocks` and `lstrip_blocks`.
    pub(super) trim: bool,
    /// Some text between tags differs in that mode.
    pub(super) trim_matters: bool,
}

impl<'a> An<'a> {
    /// An analyser of `src`; `mutable`: lists and dicts may change in place; `trim`: render
    /// text between tags with `trim_blocks` and `lstrip_blocks`.
    pub(super) fn new(src: &'a str, mutable: bool, trim: bool) -> Self {
        An {
            src,
            hits: Vec::new(),
            outer: None,
            pending: Vec::new(),
            seen: HashSet::new(),
            macros: Vec::new(),
            macro_ids: HashMap::new(),
            depth: 0,
            steps: 0,
            memo: HashMap::new(),
            active: Vec::new(),
            loops: Vec::new(),
            mutable,
            saw_mutator: false,
            trim,
            trim_matters: false,
        }
    }

    /// Record a construct found at `span` (not reached through internal names).
    pub(super) fn hit(&mut self, kind: EscapeKind, what: String, span: Span) {
        self.hit_via(kind, what, &[], span);
    }

    /// Record a construct found at `span`, reached through the internal names `path`.
    pub(super) fn hit_via(&mut self, kind: EscapeKind, what: String, path: &[String], span: Span) {
        let start = span.start_offset as usize;
        let len = (span.end_offset as usize).saturating_sub(start);
        let evidence = if len > 240 {
            excerpt(self.src, start, 240)
        } else {
            self.src
                .get(start..start + len)
                .unwrap_or_default()
                .to_string()
        };
        let h = Hit {
            kind,
            what,
            evidence,
            path: path.to_vec(),
            at: span.start_offset,
        };
        if self.outer.is_some() {
            if self.pending.len() < 4096 {
                self.pending.push(h);
            }
        } else {
            self.finalize(h);
        }
    }

    /// Record a hit once (loop passes and macro calls evaluate expressions again).
    pub(super) fn finalize(&mut self, h: Hit) {
        if self.hits.len() < 4096 && self.seen.insert(h.key()) {
            self.hits.push(h);
        }
    }

    /// Template text as rendered: as is, or (in `trim` mode) without the newline after a
    /// block tag (`trim_blocks`) and the spaces and tabs before one at a line start
    /// (`lstrip_blocks`), as `jinja2.lexer.Lexer.tokeniter` does.
    pub(super) fn trimmed(&mut self, raw: &str, span: Span) -> String {
        let before = self
            .src
            .get(..span.start_offset as usize)
            .unwrap_or_default();
        let after = self.src.get(span.end_offset as usize..).unwrap_or_default();
        // lstrip_blocks first: the line start is where the raw text has it.
        let mut t = raw;
        if after.starts_with("{%") && !after.starts_with("{%+") {
            let line_start = raw.rfind('\n').map_or(0, |i| i + 1);
            let tail = raw.get(line_start..).unwrap_or_default();
            let at_line_start = line_start > 0 || before.is_empty() || before.ends_with('\n');
            if at_line_start && tail.chars().all(|c| c == ' ' || c == '\t') {
                t = raw.get(..line_start).unwrap_or_default();
            }
        }
        if before.ends_with("%}") {
            t = t
                .strip_prefix("\r\n")
                .or_else(|| t.strip_prefix('\n'))
                .unwrap_or(t);
        }
        let out = t.to_string();
        if out != raw {
            self.trim_matters = true;
            if self.trim {
                return out;
            }
        }
        raw.to_string()
    }

    pub(super) fn exhausted(&self) -> bool {
        self.steps > MAX_STEPS
    }

    /// Source text from `lo` to `hi`, at most 240 bytes.
    pub(super) fn text(&self, lo: u32, hi: u32) -> String {
        let (lo, hi) = (lo as usize, hi as usize);
        if hi.saturating_sub(lo) > 240 {
            excerpt(self.src, lo, 240)
        } else {
            self.src.get(lo..hi).unwrap_or_default().to_string()
        }
    }

    pub(super) fn bind_target(&mut self, target: &'a Expr<'a>, v: &Abs, st: &mut State) {
        match target {
            Expr::Var(var) => {
                st.env.insert(var.id.to_string(), v.clone());
            }
            // `for k, v in …` (minijinja parses the target as a list) and `set (a, b) = …`.
            Expr::Tuple(_) | Expr::List(_) => {
                let items: &'a [Expr<'a>] = match target {
                    Expr::Tuple(t) => &t.items,
                    Expr::List(l) => &l.items,
                    _ => &[],
                };
                let n = items.len();
                for (i, item) in items.iter().enumerate() {
                    // Unpacking a known list of the right length gives its items.
                    let mut part = Abs {
                        vals: vec![],
                        any: v.any,
                        ..v.keep_taint()
                    };
                    for k in &v.vals {
                        match k {
                            K::List(l) if l.len() == n => {
                                if let Some(x) = l.get(i) {
                                    part.add(x.clone());
                                }
                            }
                            _ => part.any = true,
                        }
                    }
                    self.bind_target(item, &part, st);
                }
            }
            Expr::GetAttr(g) => {
                // `{% set ns.attr = v %}`: a namespace attribute.
                let base = self.expr(&g.expr, st);
                let strong = base.ns.len() == 1;
                for id in &base.ns {
                    let key = (*id, g.name.to_string());
                    if strong {
                        st.heap.insert(key, v.clone());
                    } else {
                        st.heap.entry(key).or_insert_with(Abs::bottom).join(v);
                    }
                }
            }
            other => {
                self.expr(other, st);
            }
        }
    }

    pub(super) fn stmts(&mut self, list: &'a [Stmt<'a>], st: &mut State) -> Abs {
        let mut out = Abs::konst(K::Str(String::new()));
        for s in list {
            let o = self.stmt(s, st);
            out = concat(&out, &o);
        }
        out
    }

    /// Evaluate a statement; returns what it renders.
    pub(super) fn stmt(&mut self, s: &'a Stmt<'a>, st: &mut State) -> Abs {
        let empty = || Abs::konst(K::Str(String::new()));
        match s {
            Stmt::Template(t) => self.stmts(&t.children, st),
            Stmt::EmitExpr(e) => self.expr(&e.expr, st).as_text(),
            Stmt::EmitRaw(r) => {
                let raw = self.trimmed(r.raw, r.span());
                Abs::konst(norm_str(raw))
            }
            // `jinja2.ext.loopcontrols` (Transformers enables it): the state here is also
            // an iteration's end (continue) or the loop's (break).
            Stmt::Continue(_) => {
                if let Some(frame) = self.loops.last_mut() {
                    frame.0.get_or_insert_with(State::default).join(st);
                }
                empty()
            }
            Stmt::Break(_) => {
                if let Some(frame) = self.loops.last_mut() {
                    frame.1.get_or_insert_with(State::default).join(st);
                }
                empty()
            }
            Stmt::ForLoop(f) => self.for_loop(f, st),
            Stmt::IfCond(c) => {
                self.expr(&c.expr, st);
                let mut other = st.clone();
                let mut a = self.stmts(&c.true_body, st);
                let b = self.stmts(&c.false_body, &mut other);
                st.join(&other);
                a.join(&b);
                a
            }
            Stmt::WithBlock(w) => {
                let saved = st.env.clone();
                for (t, e) in &w.assignments {
                    let v = self.expr(e, st);
                    self.bind_target(t, &v, st);
                }
                let out = self.stmts(&w.body, st);
                st.env = saved;
                out
            }
            Stmt::Set(set) => {
                let v = self.expr(&set.expr, st);
                self.bind_target(&set.target, &v, st);
                empty()
            }
            Stmt::SetBlock(set) => {
                // The block renders in its own scope; its output is the value.
                let saved = st.env.clone();
                let body = self.stmts(&set.body, st);
                st.env = saved;
                let v = match &set.filter {
                    Some(f) => self.expr_with_input(f, body, st),
                    None => body,
                };
                self.bind_target(&set.target, &v, st);
                empty()
            }
            Stmt::AutoEscape(a) => {
                self.expr(&a.enabled, st);
                self.stmts(&a.body, st)
            }
            Stmt::FilterBlock(f) => {
                let saved = st.env.clone();
                let body = self.stmts(&f.body, st);
                st.env = saved;
                self.expr_with_input(&f.filter, body, st)
            }
            Stmt::Block(b) => self.stmts(&b.body, st),
            Stmt::Import(i) => {
                self.expr(&i.expr, st);
                self.hit(
                    EscapeKind::TemplateLoad,
                    "{% import %} of another template".into(),
                    i.span(),
                );
                if let Expr::Var(v) = &i.name {
                    st.env.insert(v.id.to_string(), Abs::object(obj::FUNC));
                }
                empty()
            }
            Stmt::FromImport(i) => {
                self.expr(&i.expr, st);
                self.hit(
                    EscapeKind::TemplateLoad,
                    "{% from … import %} of another template".into(),
                    i.span(),
                );
                for (name, alias) in &i.names {
                    if let Expr::Var(v) = alias.as_ref().unwrap_or(name) {
                        st.env.insert(v.id.to_string(), Abs::object(obj::FUNC));
                    }
                }
                empty()
            }
            Stmt::Extends(e) => {
                self.expr(&e.name, st);
                self.hit(
                    EscapeKind::TemplateLoad,
                    "{% extends %} another template".into(),
                    e.span(),
                );
                Abs::text_top()
            }
            Stmt::Include(i) => {
                self.expr(&i.name, st);
                self.hit(
                    EscapeKind::TemplateLoad,
                    "{% include %} of another template".into(),
                    i.span(),
                );
                Abs::text_top()
            }
            Stmt::Macro(m) => {
                let id = self.define_macro(m, st);
                st.env.insert(
                    m.name.to_string(),
                    Abs {
                        macros: vec![id],
                        ..Abs::bottom()
                    },
                );
                empty()
            }
            Stmt::CallBlock(c) => {
                let id = self.define_macro(&c.macro_decl, st);
                self.call(&c.call, c.call.span(), Some(id), st).as_text()
            }
            Stmt::Do(d) => {
                self.call(&d.call, d.call.span(), None, st);
                empty()
            }
        }
    }

    /// Register a macro and analyse its body once with unknown arguments, so that a macro
    /// never called (or called in ways not followed) is still checked.
    pub(super) fn define_macro(&mut self, m: &'a ast::Macro<'a>, st: &mut State) -> usize {
        // The same definition met again (a loop pass, a second call): the same id.
        let key = std::ptr::from_ref(m) as usize;
        let id = match self.macro_ids.get(&key) {
            Some(id) => *id,
            None => {
                let id = self.macros.len();
                self.macros.push(m);
                self.macro_ids.insert(key, id);
                id
            }
        };
        let mut inner = st.clone();
        for d in &m.defaults {
            self.expr(d, &mut inner);
        }
        for a in &m.args {
            self.bind_target(a, &Abs::default(), &mut inner);
        }
        for name in ["varargs", "kwargs", "caller"] {
            inner.env.insert(name.into(), Abs::default());
        }
        inner.env.insert(
            m.name.to_string(),
            Abs {
                macros: vec![id],
                ..Abs::bottom()
            },
        );
        self.stmts(&m.body, &mut inner);
        // Namespace attributes the body may set persist.
        st.heap = inner.heap;
        id
    }

    pub(super) fn call_macro(
        &mut self,
        id: usize,
        pos: &[Abs],
        kw: &[(String, Abs)],
        caller: Option<usize>,
        st: &mut State,
    ) -> Abs {
        let Some(m) = self.macros.get(id).copied() else {
            return Abs::text_top();
        };
        if self.depth >= MAX_CALL_DEPTH || self.exhausted() {
            return Abs::text_top();
        }
        let key = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (id, caller).hash(&mut h);
            format!("{pos:?}{kw:?}").hash(&mut h);
            let mut env: Vec<String> = st.env.iter().map(|e| format!("{e:?}")).collect();
            env.sort_unstable();
            env.hash(&mut h);
            let mut heap: Vec<String> = st.heap.iter().map(|e| format!("{e:?}")).collect();
            heap.sort_unstable();
            heap.hash(&mut h);
            h.finish()
        };
        if let Some((out, heap)) = self.memo.get(&key) {
            st.heap.clone_from(heap);
            return out.clone();
        }
        if self.active.contains(&key) {
            return Abs::text_top();
        }
        self.active.push(key);
        let mut inner = State {
            env: st.env.clone(),
            heap: std::mem::take(&mut st.heap),
        };
        let first_default = m.args.len().saturating_sub(m.defaults.len());
        for (i, a) in m.args.iter().enumerate() {
            let name = match a {
                Expr::Var(v) => v.id,
                _ => "",
            };
            let v = if let Some(p) = pos.get(i) {
                p.clone()
            } else if let Some((_, v)) = kw.iter().find(|(k, _)| k == name) {
                v.clone()
            } else if let Some(d) = i.checked_sub(first_default).and_then(|j| m.defaults.get(j)) {
                self.expr(d, &mut inner)
            } else {
                Abs::default()
            };
            self.bind_target(a, &v, &mut inner);
        }
        let extra: Vec<Abs> = pos.iter().skip(m.args.len()).cloned().collect();
        let varargs = match extra
            .iter()
            .map(|a| a.single().cloned())
            .collect::<Option<Vec<K>>>()
        {
            Some(l) => Abs::konst(K::List(l)),
            None => {
                let mut v = Abs::default();
                extra.iter().for_each(|p| {
                    v.join(&p.keep_taint());
                });
                v
            }
        };
        inner.env.insert("varargs".into(), varargs);
        let params: Vec<&str> = m
            .args
            .iter()
            .filter_map(|a| match a {
                Expr::Var(v) => Some(v.id),
                _ => None,
            })
            .collect();
        let extra_kw: Vec<&(String, Abs)> = kw
            .iter()
            .filter(|(k, _)| !params.contains(&k.as_str()))
            .collect();
        let kwargs = match extra_kw
            .iter()
            .map(|(k, v)| v.single().map(|x| (k.clone(), x.clone())))
            .collect::<Option<Vec<(String, K)>>>()
        {
            Some(m) => Abs::konst(K::Map(m)),
            None => {
                let mut v = Abs::default();
                extra_kw.iter().for_each(|(_, x)| {
                    v.join(&x.keep_taint());
                });
                v
            }
        };
        inner.env.insert("kwargs".into(), kwargs);
        inner.env.insert(
            "caller".into(),
            match caller {
                Some(c) => Abs {
                    macros: vec![c],
                    ..Abs::bottom()
                },
                None => Abs::default(),
            },
        );
        self.depth += 1;
        // The body's expressions are the evidence of what they find, not the call.
        let outer = self.outer.take();
        let pending = std::mem::take(&mut self.pending);
        let loops = std::mem::take(&mut self.loops);
        let out = self.stmts(&m.body, &mut inner);
        self.outer = outer;
        self.pending = pending;
        self.loops = loops;
        self.depth -= 1;
        self.active.pop();
        if self.memo.len() < 4096 {
            self.memo.insert(key, (out.clone(), inner.heap.clone()));
        }
        st.heap = inner.heap;
        out
    }

    pub(super) fn for_loop(&mut self, f: &'a ast::ForLoop<'a>, st: &mut State) -> Abs {
        let iter = self.expr(&f.iter, st);
        let entry = st.env.clone();
        let unrolled: Option<Vec<K>> = match iter.single() {
            _ if self.exhausted() => None,
            Some(K::List(l)) if l.len() <= MAX_UNROLL => Some(l.clone()),
            Some(K::Str(s)) if s.chars().count() <= MAX_UNROLL => {
                Some(s.chars().map(|c| K::Str(c.to_string())).collect())
            }
            Some(K::Map(m)) if m.len() <= MAX_UNROLL => {
                Some(m.iter().map(|(k, _)| K::Str(k.clone())).collect())
            }
            _ => None,
        };
        let mut out = Abs::konst(K::Str(String::new()));
        let mut broke: Option<State> = None;
        if let Some(items) = unrolled {
            // Each iteration starts from the scope the loop was entered with (Jinja2
            // resets loop-local names per iteration); namespaces carry over.
            for item in &items {
                st.env.clone_from(&entry);
                self.bind_target(&f.target, &Abs::konst(item.clone()), st);
                st.env.insert("loop".into(), Abs::object(obj::LOOP));
                if let Some(e) = &f.filter_expr {
                    self.expr(e, st);
                }
                let o = self.loop_body(f, st, &mut broke);
                out = concat(&out, &o);
            }
            if let Some(b) = &broke {
                st.join(b);
                out = Abs::text_top();
            }
            st.env.clone_from(&entry);
            if items.is_empty() {
                out = self.stmts(&f.else_body, st);
            }
            st.env = entry;
            return out;
        }
        // Unknown items: iterate the body until the namespaces settle, widening values
        // that keep changing.
        let item = iter.element();
        let mut heap = st.heap.clone();
        for pass in 0..WIDEN_AFTER + 2 {
            st.env.clone_from(&entry);
            st.heap.clone_from(&heap);
            self.bind_target(&f.target, &item, st);
            st.env.insert("loop".into(), Abs::object(obj::LOOP));
            if let Some(e) = &f.filter_expr {
                self.expr(e, st);
            }
            self.loop_body(f, st, &mut broke);
            let mut joined = heap.clone();
            let mut changed = false;
            for (k, v) in &st.heap {
                let e = joined.entry(k.clone()).or_insert_with(Abs::bottom);
                let mut n = e.clone();
                if n.join(v) {
                    changed = true;
                    if pass >= WIDEN_AFTER {
                        n = Abs {
                            vals: vec![],
                            ..n.keep_taint()
                        };
                    }
                    *e = n;
                }
            }
            heap = joined;
            if !changed || self.exhausted() {
                break;
            }
        }
        st.env.clone_from(&entry);
        st.heap = heap;
        if let Some(b) = &broke {
            st.join(b);
        }
        let mut other = st.clone();
        self.stmts(&f.else_body, &mut other);
        st.join(&other);
        st.env = entry;
        // Zero or more renders of the body: nothing known of the text.
        Abs::text_top()
    }

    /// One iteration of a loop body: the state at its end joins the states met at
    /// `{% continue %}`; those met at `{% break %}` are added to `broke`.
    pub(super) fn loop_body(
        &mut self,
        f: &'a ast::ForLoop<'a>,
        st: &mut State,
        broke: &mut Option<State>,
    ) -> Abs {
        self.loops.push((None, None));
        let out = self.stmts(&f.body, st);
        if let Some((cont, brk)) = self.loops.pop() {
            if let Some(c) = cont {
                st.join(&c);
            }
            if let Some(b) = brk {
                broke.get_or_insert_with(State::default).join(&b);
            }
        }
        out
    }

    /// Evaluate `filter` (an `Expr::Filter` chain without input, as in `{% filter %}` and
    /// `{% set x | f %}`) applied to `input`.
    pub(super) fn expr_with_input(
        &mut self,
        filter: &'a Expr<'a>,
        input: Abs,
        st: &mut State,
    ) -> Abs {
        match filter {
            Expr::Filter(f) => {
                let base = match &f.expr {
                    Some(inner) => self.expr_with_input(inner, input, st),
                    None => input,
                };
                let (pos, kw) = self.args(&f.args, st);
                self.apply_filter(f.name, base, &pos, &kw, filter.span(), st)
            }
            other => self.expr(other, st),
        }
    }
}
