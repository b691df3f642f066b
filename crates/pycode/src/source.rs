//! Python source analysis: bounded pre-scan, parse (ruff), and a scope-aware AST walk that
//! feeds the [`Engine`].
//!
//! The ruff parser grows its own stack while parsing, but dropping a very deep AST and walking
//! it recurse on the native stack. So before parsing, a token-level pre-scan bounds the
//! syntactic nesting (brackets, operator chains, indentation) to `20 × max_depth`; the walker
//! iterates over left-leaning chains (`a + b + c`, `x.y.z()`) and counts its own recursion
//! against `max_depth`.

use std::collections::{HashMap, HashSet};

use ruff_python_ast::{
    self as ast, BoolOp as AstBoolOp, ConversionFlag, Expr, FStringPart, InterpolatedStringElement,
    Mod, Operator, Stmt, UnaryOp as AstUnaryOp,
};
use ruff_python_parser::{Mode, ParseOptions};
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::engine::{BinOp, CallArgs, Engine, Site, UnOp, Val, canonical};
use crate::syntax::{hard_nesting, nesting_score};

/// Longest loop unrolled over a constant iterable.
const MAX_UNROLL: usize = 256;

/// Analyse `src` as a module, adding facts to `eng`.
pub(crate) fn run(eng: &mut Engine<'_>, src: &str, site: &Site) {
    if src.len() > eng.limits.max_source_bytes {
        eng.incomplete(format!(
            "limit max_source_bytes: source of {} bytes not analysed",
            src.len()
        ));
        return;
    }
    if !eng.tick() {
        return;
    }
    // Nested layers (exec of decoded code) get only what is left of the depth budget.
    let hard = hard_nesting(eng.limits.max_depth.saturating_sub(eng.depth));
    if let Err(score) = nesting_score(src, hard) {
        eng.incomplete(format!(
            "limit max_depth: source nesting {score}+ exceeds {hard}, not parsed"
        ));
        return;
    }
    let parsed = ruff_python_parser::parse_unchecked(src, ParseOptions::from(Mode::Module));
    if let Some(err) = parsed.errors().first() {
        let at = err.location.start().to_usize();
        let line = src.get(..at).map_or(0, |p| p.matches('\n').count()) + 1;
        let context = if site.chain.is_empty() {
            String::new()
        } else {
            format!(" in code reached through {}", site.chain.join(" → "))
        };
        eng.incomplete(format!(
            "syntax error at line {line}{context}: {}",
            err.error
        ));
    }
    let Mod::Module(module) = parsed.syntax() else {
        return;
    };
    let mut w = Walker {
        eng,
        src,
        site,
        cur: Frame::new(FrameKind::Module),
        outer: Vec::new(),
        unrolling: 0,
        line_starts: line_starts(src),
    };
    w.stmts(&module.body);
}

fn line_starts(src: &str) -> Vec<u32> {
    std::iter::once(0)
        .chain(
            src.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| u32::try_from(i + 1).unwrap_or(u32::MAX)),
        )
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    Module,
    Function,
    Class,
}

struct Frame {
    kind: FrameKind,
    vars: HashMap<String, Val>,
    /// Modules imported with `from m import *`, in order.
    star: Vec<String>,
    /// Names declared `global` in this frame.
    globals: HashSet<String>,
    /// Values returned by this function.
    returns: Vec<Val>,
}

impl Frame {
    fn new(kind: FrameKind) -> Self {
        Frame {
            kind,
            vars: HashMap::new(),
            star: Vec::new(),
            globals: HashSet::new(),
            returns: Vec::new(),
        }
    }
}

/// Resolve a name through the frames (class frames only when innermost), star imports and
/// builtins.
fn lookup_in(
    outer: &[Frame],
    cur: &Frame,
    eng: &mut Engine<'_>,
    site: &Site,
    name: &str,
    line: Option<u32>,
) -> Val {
    if let Some(v) = cur.vars.get(name) {
        return v.clone();
    }
    for f in outer.iter().rev() {
        if f.kind == FrameKind::Class {
            continue;
        }
        if let Some(v) = f.vars.get(name) {
            return v.clone();
        }
    }
    for f in std::iter::once(cur).chain(outer.iter().rev()) {
        if let Some(module) = f.star.last() {
            let candidate = format!("{module}.{name}");
            let builtin = eng.unbound_name(site, name, line);
            // A star import shadows a builtin only when the module has that name; we know it
            // does when the catalog lists it.
            return match builtin {
                Val::Global(ref p) if p.starts_with("builtins.") => {
                    if crate::engine::classify_path(&candidate).is_some() {
                        Val::Global(candidate)
                    } else {
                        builtin
                    }
                }
                _ => Val::Global(candidate),
            };
        }
    }
    eng.unbound_name(site, name, line)
}

fn merge_vals(a: &Val, b: &Val) -> Val {
    if a == b {
        a.clone()
    } else if matches!(a, Val::Data | Val::Param(_)) && matches!(b, Val::Data | Val::Param(_)) {
        Val::Data
    } else {
        Val::Unknown
    }
}

/// Merge the variable maps of alternative paths: names bound identically keep their value,
/// names bound on some paths only keep the bound value, conflicting names become unknown.
fn merge_maps(maps: Vec<HashMap<String, Val>>) -> HashMap<String, Val> {
    let mut it = maps.into_iter();
    let Some(mut acc) = it.next() else {
        return HashMap::new();
    };
    for m in it {
        for (k, v) in m {
            match acc.get_mut(&k) {
                Some(cur) => {
                    if *cur != v {
                        *cur = merge_vals(cur, &v);
                    }
                }
                None => {
                    acc.insert(k, v);
                }
            }
        }
    }
    acc
}

/// Whether a loop body contains a `break`/`continue` of this loop (not of nested loops or
/// functions). Iterative, so deep bodies cannot exhaust the stack.
fn has_break_or_continue(body: &[Stmt]) -> bool {
    let mut stack: Vec<&Stmt> = body.iter().collect();
    while let Some(s) = stack.pop() {
        match s {
            Stmt::Break(_) | Stmt::Continue(_) => return true,
            Stmt::If(i) => {
                stack.extend(i.body.iter());
                for c in &i.elif_else_clauses {
                    stack.extend(c.body.iter());
                }
            }
            Stmt::With(w) => stack.extend(w.body.iter()),
            Stmt::Try(t) => {
                stack.extend(t.body.iter());
                stack.extend(t.orelse.iter());
                stack.extend(t.finalbody.iter());
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    stack.extend(h.body.iter());
                }
            }
            Stmt::Match(m) => {
                for c in &m.cases {
                    stack.extend(c.body.iter());
                }
            }
            _ => {}
        }
    }
    false
}

struct Walker<'a, 'l> {
    eng: &'a mut Engine<'l>,
    src: &'a str,
    site: &'a Site,
    /// The innermost scope.
    cur: Frame,
    /// Enclosing scopes, outermost first.
    outer: Vec<Frame>,
    /// Depth of loops being unrolled.
    unrolling: usize,
    line_starts: Vec<u32>,
}

impl Walker<'_, '_> {
    fn line(&self, at: TextSize) -> Option<u32> {
        let off = u32::from(at);
        let idx = self.line_starts.partition_point(|&s| s <= off);
        u32::try_from(idx).ok()
    }

    fn text(&self, range: TextRange) -> &str {
        self.src
            .get(range.start().to_usize()..range.end().to_usize())
            .unwrap_or("")
    }

    fn frame(&mut self) -> &mut Frame {
        &mut self.cur
    }

    fn push_frame(&mut self, kind: FrameKind) {
        let prev = std::mem::replace(&mut self.cur, Frame::new(kind));
        self.outer.push(prev);
    }

    fn pop_frame(&mut self) -> Frame {
        match self.outer.pop() {
            Some(prev) => std::mem::replace(&mut self.cur, prev),
            None => std::mem::replace(&mut self.cur, Frame::new(FrameKind::Module)),
        }
    }

    fn lookup(&mut self, name: &str, line: Option<u32>) -> Val {
        lookup_in(&self.outer, &self.cur, self.eng, self.site, name, line)
    }

    fn bind(&mut self, name: &str, v: Val) {
        let frame = if self.cur.globals.contains(name) {
            self.outer.first_mut().unwrap_or(&mut self.cur)
        } else {
            &mut self.cur
        };
        frame.vars.insert(name.to_string(), v);
    }

    fn bind_target(&mut self, target: &Expr, v: Val) {
        match target {
            Expr::Name(n) => self.bind(n.id.as_str(), v),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                let els = v.elements(elts.len()).filter(|e| e.len() == elts.len());
                for (i, t) in elts.iter().enumerate() {
                    let item = els.as_ref().and_then(|e| e.get(i).cloned()).unwrap_or(
                        if matches!(v, Val::Data | Val::Param(_)) {
                            Val::Data
                        } else {
                            Val::Unknown
                        },
                    );
                    if self.eng.enter() {
                        self.bind_target(t, item);
                        self.eng.leave();
                    }
                }
            }
            Expr::Starred(s) => {
                if self.eng.enter() {
                    self.bind_target(&s.value, Val::Unknown);
                    self.eng.leave();
                }
            }
            Expr::Attribute(a) => {
                let base = self.expr(&a.value);
                let line = self.line(a.range.start());
                let ev = self.text(a.range).to_string();
                self.eng
                    .attr_ev(self.site, &base, a.attr.as_str(), line, Some(&ev));
                self.escape(&v, a.range);
            }
            Expr::Subscript(s) => {
                self.expr(&s.value);
                self.index(&s.slice);
                self.escape(&v, s.range);
            }
            other => {
                self.expr(other);
            }
        }
    }

    fn escape(&mut self, v: &Val, range: TextRange) {
        let ev = self.text(range).to_string();
        let line = self.line(range.start());
        self.eng.escape(self.site, v, &ev, line);
    }

    /// Walk alternative bodies from the current state and merge their bindings.
    fn branches(&mut self, bodies: &[&[Stmt]], fallthrough: bool) {
        let snapshot = self.frame().vars.clone();
        // Cloning scopes costs work: charge it to the node budget.
        for _ in 0..(snapshot.len() / 4) {
            if !self.eng.tick() {
                return;
            }
        }
        let mut results = Vec::with_capacity(bodies.len() + 1);
        if fallthrough {
            results.push(snapshot.clone());
        }
        for body in bodies {
            self.frame().vars = snapshot.clone();
            self.stmts(body);
            results.push(std::mem::take(&mut self.frame().vars));
        }
        self.frame().vars = merge_maps(results);
    }

    fn stmts(&mut self, body: &[Stmt]) {
        for s in body {
            if self.eng.exhausted() {
                return;
            }
            if !self.eng.enter() {
                return;
            }
            self.stmt(s);
            self.eng.leave();
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        if !self.eng.tick() {
            return;
        }
        match s {
            Stmt::FunctionDef(f) => self.stmt_def(f),
            Stmt::ClassDef(c) => self.stmt_class(c),
            Stmt::For(f) => self.for_loop(f),
            Stmt::While(_) | Stmt::If(_) | Stmt::With(_) | Stmt::Match(_) | Stmt::Try(_) => {
                self.stmt_flow(s)
            }
            Stmt::Import(_) | Stmt::ImportFrom(_) => self.stmt_import(s),
            _ => self.stmt_simple(s),
        }
    }

    #[inline(never)]
    fn stmt_def(&mut self, f: &ast::StmtFunctionDef) {
        let v = self.function(
            Some(&*f.parameters),
            FnBody::Stmts(&f.body),
            &f.decorator_list,
            f.range,
        );
        self.bind(f.name.as_str(), v);
    }

    #[inline(never)]
    fn stmt_class(&mut self, c: &ast::StmtClassDef) {
        for d in &c.decorator_list {
            self.expr(&d.expression);
        }
        if let Some(args) = &c.arguments {
            for a in args.args.iter() {
                let v = self.expr(a);
                self.escape(&v, c.range);
            }
            for k in args.keywords.iter() {
                let v = self.expr(&k.value);
                self.escape(&v, c.range);
            }
        }
        self.push_frame(FrameKind::Class);
        self.stmts(&c.body);
        self.pop_frame();
        self.bind(c.name.as_str(), Val::Func(Box::new(Val::Data)));
    }

    #[inline(never)]
    fn stmt_flow(&mut self, s: &Stmt) {
        match s {
            Stmt::While(w) => {
                self.expr(&w.test);
                self.branches(&[&w.body], true);
                self.stmts(&w.orelse);
            }
            Stmt::If(i) => {
                self.expr(&i.test);
                let mut bodies: Vec<&[Stmt]> = vec![&i.body];
                let mut has_else = false;
                for c in &i.elif_else_clauses {
                    match &c.test {
                        Some(t) => {
                            self.expr(t);
                        }
                        None => has_else = true,
                    }
                    bodies.push(&c.body);
                }
                self.branches(&bodies, !has_else);
            }
            Stmt::With(w) => {
                for item in &w.items {
                    let ctx = self.expr(&item.context_expr);
                    if let Some(t) = &item.optional_vars {
                        let v = if matches!(ctx, Val::Data | Val::Param(_)) {
                            Val::Data
                        } else {
                            Val::Opaque(ctx.render())
                        };
                        self.bind_target(t, v);
                    }
                }
                self.stmts(&w.body);
            }
            Stmt::Match(m) => {
                self.expr(&m.subject);
                let mut bodies: Vec<&[Stmt]> = Vec::new();
                for c in &m.cases {
                    if let Some(g) = &c.guard {
                        self.expr(g);
                    }
                    bodies.push(&c.body);
                }
                self.branches(&bodies, true);
            }
            Stmt::Try(t) => {
                self.stmts(&t.body);
                let mut bodies: Vec<&[Stmt]> = Vec::new();
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    if let Some(ty) = &h.type_ {
                        self.expr(ty);
                    }
                    if let Some(name) = &h.name {
                        self.bind(name.as_str(), Val::Unknown);
                    }
                    bodies.push(&h.body);
                }
                bodies.push(&t.orelse);
                self.branches(&bodies, true);
                self.stmts(&t.finalbody);
            }
            _ => {}
        }
    }

    #[inline(never)]
    fn stmt_import(&mut self, s: &Stmt) {
        match s {
            Stmt::Import(i) => {
                for alias in &i.names {
                    let name = alias.name.as_str();
                    match &alias.asname {
                        Some(as_) => self.bind(as_.as_str(), Val::Global(canonical(name))),
                        None => {
                            let top = name.split('.').next().unwrap_or(name);
                            self.bind(top, Val::Global(canonical(top)));
                        }
                    }
                }
            }
            Stmt::ImportFrom(i) => {
                let module = i.module.as_ref().map(|m| m.as_str()).unwrap_or("");
                let module = if i.level > 0 {
                    format!(
                        "{}{module}",
                        ".".repeat(usize::try_from(i.level.min(8)).unwrap_or(1))
                    )
                } else {
                    canonical(module)
                };
                if module == "__future__" {
                    return;
                }
                for alias in &i.names {
                    let name = alias.name.as_str();
                    if name == "*" {
                        self.frame().star.push(module.clone());
                        continue;
                    }
                    let bound = alias.asname.as_ref().map(|a| a.as_str()).unwrap_or(name);
                    let v = if i.level > 0 {
                        Val::Free(format!("{module}.{name}"))
                    } else {
                        Val::Global(format!("{module}.{name}"))
                    };
                    self.bind(bound, v);
                }
            }
            _ => {}
        }
    }

    #[inline(never)]
    fn stmt_simple(&mut self, s: &Stmt) {
        match s {
            Stmt::Return(r) => {
                let v = match &r.value {
                    Some(e) => self.expr(e),
                    None => Val::NoneV,
                };
                self.escape(&v, r.range);
                self.frame().returns.push(v);
            }
            Stmt::Delete(d) => {
                for t in &d.targets {
                    if !matches!(t, Expr::Name(_)) {
                        self.expr(t);
                    }
                }
            }
            Stmt::TypeAlias(t) => {
                self.expr(&t.value);
            }
            Stmt::Assign(a) => {
                let v = self.expr(&a.value);
                for t in &a.targets {
                    self.bind_target(t, v.clone());
                }
            }
            Stmt::AugAssign(a) => {
                let r = self.expr(&a.value);
                match &*a.target {
                    Expr::Name(n) => {
                        let line = self.line(n.range.start());
                        let cur = self.lookup(n.id.as_str(), line);
                        let v = self.eng.binop(bin_op(a.op), &cur, &r);
                        self.bind(n.id.as_str(), v);
                    }
                    other => {
                        self.expr(other);
                    }
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    let v = self.expr(v);
                    self.bind_target(&a.target, v);
                }
            }
            Stmt::Raise(r) => {
                if let Some(e) = &r.exc {
                    self.expr(e);
                }
                if let Some(e) = &r.cause {
                    self.expr(e);
                }
            }
            Stmt::Assert(a) => {
                self.expr(&a.test);
                if let Some(m) = &a.msg {
                    self.expr(m);
                }
            }
            Stmt::Global(g) => {
                let names: Vec<String> = g.names.iter().map(|n| n.as_str().to_string()).collect();
                self.frame().globals.extend(names);
            }
            Stmt::Expr(e) => {
                self.expr(&e.value);
            }
            _ => {}
        }
    }

    fn for_loop(&mut self, f: &ast::StmtFor) {
        let iter = self.expr(&f.iter);
        // Unroll one loop level only: nested unrolling multiplies work.
        if self.unrolling == 0
            && let Some(items) = iter.elements(MAX_UNROLL)
            && items.len() <= MAX_UNROLL
            && !has_break_or_continue(&f.body)
        {
            self.unrolling += 1;
            for item in items {
                if self.eng.exhausted() {
                    break;
                }
                self.bind_target(&f.target, item);
                self.stmts(&f.body);
            }
            self.unrolling -= 1;
            self.stmts(&f.orelse);
            return;
        }
        let item = if matches!(iter, Val::Data | Val::Param(_)) {
            Val::Data
        } else {
            Val::Unknown
        };
        let snapshot = self.frame().vars.clone();
        self.bind_target(&f.target, item);
        let mut after = std::mem::take(&mut self.frame().vars);
        self.frame().vars = after.clone();
        self.stmts(&f.body);
        after = std::mem::take(&mut self.frame().vars);
        self.frame().vars = merge_maps(vec![snapshot, after]);
        self.stmts(&f.orelse);
    }

    /// Analyse a function or lambda body in a new frame; returns the function value.
    #[inline(never)]
    fn function(
        &mut self,
        params: Option<&ast::Parameters>,
        body: FnBody<'_>,
        decorators: &[ast::Decorator],
        range: TextRange,
    ) -> Val {
        // Parameters are data, except that a default naming a module, callable or constant is
        // what the body sees when the caller (Keras calls `f(x)`) leaves it out.
        let mut names: Vec<(String, Val)> = Vec::new();
        if let Some(p) = params {
            for pd in p
                .posonlyargs
                .iter()
                .chain(p.args.iter())
                .chain(p.kwonlyargs.iter())
            {
                let name = pd.parameter.name.as_str().to_string();
                let mut bound = Val::Param(name.clone());
                if let Some(d) = &pd.default {
                    let v = self.expr(d);
                    self.escape(&v, range);
                    if matches!(
                        v,
                        Val::Global(_)
                            | Val::Builtins
                            | Val::Globals
                            | Val::Introspect(_)
                            | Val::Str(..)
                            | Val::Bytes(..)
                    ) {
                        bound = v;
                    }
                }
                names.push((name, bound));
            }
            for v in [&p.vararg, &p.kwarg].into_iter().flatten() {
                let name = v.name.as_str().to_string();
                names.push((name.clone(), Val::Param(name)));
            }
        }
        let decorator_vals: Vec<(Val, TextRange)> = decorators
            .iter()
            .map(|d| (self.expr(&d.expression), d.range))
            .collect();
        self.push_frame(FrameKind::Function);
        for (n, v) in names {
            self.cur.vars.insert(n, v);
        }
        let ret = match body {
            FnBody::Stmts(b) => {
                self.stmts(b);
                let rets = std::mem::take(&mut self.frame().returns);
                join_returns(rets)
            }
            FnBody::Expr(e) => {
                let v = self.expr(e);
                self.escape(&v, e.range());
                v
            }
        };
        self.pop_frame();
        let mut func = Val::Func(Box::new(ret));
        for (d, r) in decorator_vals.into_iter().rev() {
            let ev = self.text(r).to_string();
            let line = self.line(r.start());
            let args = [func.clone()];
            func = self.eng.call(
                self.site,
                &d,
                &CallArgs {
                    args: &args,
                    kwargs: &[],
                    evidence: &ev,
                    line,
                },
            );
        }
        func
    }

    fn index(&mut self, e: &Expr) -> Val {
        match e {
            Expr::Slice(s) => {
                let mut part = |x: &Option<Box<Expr>>| -> Result<Option<i128>, ()> {
                    match x {
                        None => Ok(None),
                        Some(e) => match self.expr(e) {
                            Val::Int(i) => Ok(Some(i)),
                            Val::Bool(b) => Ok(Some(i128::from(b))),
                            Val::NoneV => Ok(None),
                            _ => Err(()),
                        },
                    }
                };
                let (a, b, c) = (part(&s.lower), part(&s.upper), part(&s.step));
                match (a, b, c) {
                    (Ok(a), Ok(b), Ok(c)) => Val::Slice(a, b, c),
                    _ => Val::Unknown,
                }
            }
            other => self.expr(other),
        }
    }

    fn expr(&mut self, e: &Expr) -> Val {
        if !self.eng.tick() {
            return Val::Unknown;
        }
        if !self.eng.enter() {
            return Val::Unknown;
        }
        let v = self.expr_inner(e);
        self.eng.leave();
        v
    }

    fn expr_inner(&mut self, e: &Expr) -> Val {
        match e {
            Expr::BoolOp(b) => self.boolop(b),
            Expr::BinOp(_) => self.binop_chain(e),
            Expr::Lambda(l) => {
                self.function(l.parameters.as_deref(), FnBody::Expr(&l.body), &[], l.range)
            }
            Expr::If(i) => self.ternary(i),
            Expr::Dict(d) => self.dict(d),
            Expr::Set(ast::ExprSet { elts, range, .. })
            | Expr::List(ast::ExprList { elts, range, .. })
            | Expr::Tuple(ast::ExprTuple { elts, range, .. }) => self.sequence(elts, *range),
            Expr::ListComp(c) => self.comprehension(&c.elt, None, &c.generators),
            Expr::SetComp(c) => self.comprehension(&c.elt, None, &c.generators),
            Expr::Generator(c) => self.comprehension(&c.elt, None, &c.generators),
            Expr::DictComp(c) => self.comprehension(&c.value, c.key.as_deref(), &c.generators),
            Expr::Compare(c) => self.compare(c),
            Expr::Call(_) | Expr::Attribute(_) | Expr::Subscript(_) => self.postfix_chain(e),
            Expr::FString(f) => self.fstring(f),
            Expr::BooleanLiteral(b) => Val::Bool(b.value),
            Expr::NoneLiteral(_) => Val::NoneV,
            Expr::EllipsisLiteral(_) => Val::Data,
            Expr::Starred(s) => self.expr(&s.value),
            Expr::Slice(_) => self.index(e),
            Expr::IpyEscapeCommand(_) => Val::Unknown,
            _ => self.misc_expr(e),
        }
    }

    #[inline(never)]
    fn boolop(&mut self, b: &ast::ExprBoolOp) -> Val {
        let mut result: Option<Val> = None;
        let mut decided = false;
        for v in &b.values {
            let x = self.expr(v);
            if decided {
                continue;
            }
            match (b.op, x.truthy()) {
                (AstBoolOp::Or, Some(true)) | (AstBoolOp::And, Some(false)) => {
                    result = Some(x);
                    decided = true;
                }
                (_, Some(_)) => result = Some(x),
                (_, None) => {
                    result = Some(if matches!(x, Val::Data | Val::Param(_)) {
                        Val::Data
                    } else {
                        Val::Unknown
                    });
                    decided = true;
                }
            }
        }
        result.unwrap_or(Val::Unknown)
    }

    #[inline(never)]
    fn ternary(&mut self, i: &ast::ExprIf) -> Val {
        let t = self.expr(&i.test);
        let a = self.expr(&i.body);
        let b = self.expr(&i.orelse);
        match t.truthy() {
            Some(true) => a,
            Some(false) => b,
            None => merge_vals(&a, &b),
        }
    }

    #[inline(never)]
    fn dict(&mut self, d: &ast::ExprDict) -> Val {
        let mut items = Vec::new();
        let mut known = true;
        for item in &d.items {
            let v = self.expr(&item.value);
            self.escape(&v, d.range);
            match &item.key {
                Some(k) => {
                    let k = self.expr(k);
                    items.push((k, v));
                }
                None => known = false,
            }
        }
        if known {
            Val::Dict(items.into())
        } else {
            Val::Unknown
        }
    }

    #[inline(never)]
    fn compare(&mut self, c: &ast::ExprCompare) -> Val {
        self.expr(&c.left);
        for x in c.comparators.iter() {
            self.expr(x);
        }
        Val::Data
    }

    #[inline(never)]
    fn misc_expr(&mut self, e: &Expr) -> Val {
        match e {
            Expr::Named(n) => {
                let v = self.expr(&n.value);
                self.bind_target(&n.target, v.clone());
                v
            }
            Expr::UnaryOp(u) => {
                let v = self.expr(&u.operand);
                let op = match u.op {
                    AstUnaryOp::Invert => UnOp::Invert,
                    AstUnaryOp::Not => UnOp::Not,
                    AstUnaryOp::UAdd => UnOp::Pos,
                    AstUnaryOp::USub => UnOp::Neg,
                };
                self.eng.unop(op, &v)
            }
            Expr::Await(a) => {
                let v = self.expr(&a.value);
                if matches!(v, Val::Data | Val::Param(_)) {
                    Val::Data
                } else {
                    Val::Unknown
                }
            }
            Expr::Yield(y) => {
                if let Some(v) = &y.value {
                    let v = self.expr(v);
                    self.escape(&v, y.range);
                }
                Val::Unknown
            }
            Expr::YieldFrom(y) => {
                self.expr(&y.value);
                Val::Unknown
            }
            Expr::TString(t) => {
                for el in t.value.elements() {
                    if let InterpolatedStringElement::Interpolation(i) = el {
                        self.expr(&i.expression);
                    }
                }
                Val::Unknown
            }
            Expr::StringLiteral(s) => Val::Str(s.value.to_str().to_string().into(), Vec::new()),
            Expr::BytesLiteral(b) => Val::Bytes(b.value.bytes().collect(), Vec::new()),
            Expr::NumberLiteral(n) => match &n.value {
                ast::Number::Int(i) => i
                    .as_i64()
                    .map(i128::from)
                    .or_else(|| i.to_string().parse::<i128>().ok())
                    .map(Val::Int)
                    .unwrap_or(Val::Unknown),
                ast::Number::Float(f) => Val::Float(*f),
                ast::Number::Complex { .. } => Val::Data,
            },
            Expr::Name(n) => {
                let line = self.line(n.range.start());
                self.lookup(n.id.as_str(), line)
            }
            _ => Val::Unknown,
        }
    }

    fn sequence(&mut self, elts: &[Expr], range: TextRange) -> Val {
        let mut out = Vec::with_capacity(elts.len());
        let mut known = true;
        for el in elts {
            match el {
                Expr::Starred(s) => {
                    let v = self.expr(&s.value);
                    match v.elements(self.eng.max_items()) {
                        Some(items) if out.len() + items.len() <= self.eng.max_items() => {
                            out.extend(items)
                        }
                        _ => known = false,
                    }
                }
                other => {
                    let v = self.expr(other);
                    self.escape(&v, range);
                    out.push(v);
                }
            }
        }
        if known {
            Val::Seq(out.into())
        } else {
            Val::Unknown
        }
    }

    /// `a + b + c …`: iterate over the left spine instead of recursing.
    fn binop_chain(&mut self, e: &Expr) -> Val {
        let mut spine: Vec<&ast::ExprBinOp> = Vec::new();
        let mut cur = e;
        while let Expr::BinOp(b) = cur {
            spine.push(b);
            cur = &b.left;
            if !self.eng.tick() {
                return Val::Unknown;
            }
        }
        let mut acc = self.expr(cur);
        for b in spine.iter().rev() {
            let r = self.expr(&b.right);
            acc = self.eng.binop(bin_op(b.op), &acc, &r);
        }
        acc
    }

    /// `x.a[b](c).d …`: iterate over the postfix spine instead of recursing.
    fn postfix_chain(&mut self, e: &Expr) -> Val {
        let mut spine: Vec<&Expr> = Vec::new();
        let mut cur = e;
        loop {
            match cur {
                Expr::Attribute(a) => {
                    spine.push(cur);
                    cur = &a.value;
                }
                Expr::Call(c) => {
                    spine.push(cur);
                    cur = &c.func;
                }
                Expr::Subscript(s) => {
                    spine.push(cur);
                    cur = &s.value;
                }
                _ => break,
            }
            if !self.eng.tick() {
                return Val::Unknown;
            }
        }
        let mut acc = self.expr(cur);
        for node in spine.iter().rev() {
            if self.eng.exhausted() {
                return Val::Unknown;
            }
            acc = self.postfix_step(&acc, node);
        }
        acc
    }

    #[inline(never)]
    fn postfix_step(&mut self, acc: &Val, node: &Expr) -> Val {
        match node {
            Expr::Attribute(a) => {
                let line = self.line(a.range.start());
                let ev = self.text(a.range).to_string();
                self.eng
                    .attr_ev(self.site, acc, a.attr.as_str(), line, Some(&ev))
            }
            Expr::Subscript(s) => {
                let idx = self.index(&s.slice);
                let line = self.line(s.range.start());
                let (outer, cur, site) = (&self.outer, &self.cur, self.site);
                self.eng.subscript(site, acc, &idx, line, &mut |eng, name| {
                    lookup_in(outer, cur, eng, site, name, line)
                })
            }
            Expr::Call(c) => self.call(acc, c),
            _ => Val::Unknown,
        }
    }

    #[inline(never)]
    fn call(&mut self, func: &Val, c: &ast::ExprCall) -> Val {
        let mut args = Vec::with_capacity(c.arguments.args.len());
        for a in c.arguments.args.iter() {
            match a {
                Expr::Starred(s) => {
                    let v = self.expr(&s.value);
                    match v.elements(256) {
                        Some(items) => args.extend(items),
                        _ => args.push(if matches!(v, Val::Data | Val::Param(_)) {
                            Val::Data
                        } else {
                            Val::Unknown
                        }),
                    }
                }
                other => args.push(self.expr(other)),
            }
        }
        let mut kwargs = Vec::new();
        for k in c.arguments.keywords.iter() {
            let v = self.expr(&k.value);
            match &k.arg {
                Some(id) => kwargs.push((id.as_str().to_string(), v)),
                None => {
                    let r = k.range;
                    self.escape(&v, r);
                }
            }
        }
        let range = c.range();
        let ev = self.text(range).to_string();
        let line = self.line(range.start());
        self.eng.call(
            self.site,
            func,
            &CallArgs {
                args: &args,
                kwargs: &kwargs,
                evidence: &ev,
                line,
            },
        )
    }

    fn fstring(&mut self, f: &ast::ExprFString) -> Val {
        let mut out = String::new();
        let mut known = true;
        let mut data = false;
        for part in f.value.iter() {
            match part {
                FStringPart::Literal(l) => out.push_str(&l.value),
                FStringPart::FString(fs) => {
                    for el in fs.elements.iter() {
                        match el {
                            InterpolatedStringElement::Literal(l) => out.push_str(&l.value),
                            InterpolatedStringElement::Interpolation(i) => {
                                let v = self.expr(&i.expression);
                                if let Some(spec) = &i.format_spec {
                                    for el in spec.elements.iter() {
                                        if let InterpolatedStringElement::Interpolation(i) = el {
                                            self.expr(&i.expression);
                                        }
                                    }
                                    known = false;
                                }
                                data |= matches!(v, Val::Data | Val::Param(_));
                                let s = match (&v, i.conversion) {
                                    (
                                        Val::Str(s, _),
                                        ConversionFlag::None | ConversionFlag::Str,
                                    ) => Some(s.to_string()),
                                    (
                                        Val::Int(n),
                                        ConversionFlag::None
                                        | ConversionFlag::Str
                                        | ConversionFlag::Repr,
                                    ) => Some(n.to_string()),
                                    _ => None,
                                };
                                match s {
                                    Some(s) => out.push_str(&s),
                                    None => known = false,
                                }
                            }
                        }
                    }
                }
            }
            if out.len() > self.eng.limits.max_fold_len {
                self.eng
                    .incomplete("limit max_fold_len reached: constant not folded");
                return Val::Unknown;
            }
        }
        if known {
            self.eng.fold(Val::Str(out.into(), Vec::new()))
        } else if data {
            Val::Data
        } else {
            Val::Unknown
        }
    }

    fn comprehension(
        &mut self,
        elt: &Expr,
        key: Option<&Expr>,
        gens: &[ast::Comprehension],
    ) -> Val {
        let Some(first) = gens.first() else {
            return Val::Unknown;
        };
        let iter = self.expr(&first.iter);
        self.push_frame(FrameKind::Function);
        let result = 'fold: {
            if gens.len() != 1 || first.is_async || key.is_some() {
                break 'fold None;
            }
            let Some(items) = iter.elements(self.eng.max_items()) else {
                break 'fold None;
            };
            if items.len() > self.eng.limits.max_fold_len {
                break 'fold None;
            }
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if self.eng.exhausted() {
                    break 'fold None;
                }
                self.bind_target(&first.target, item);
                let mut keep = true;
                for cond in &first.ifs {
                    match self.expr(cond).truthy() {
                        Some(true) => {}
                        Some(false) => keep = false,
                        None => break 'fold None,
                    }
                }
                if keep {
                    out.push(self.expr(elt));
                }
            }
            Some(self.eng.fold(Val::Seq(out.into())))
        };
        let v = match result {
            Some(v) => v,
            None => {
                let item = if matches!(iter, Val::Data | Val::Param(_)) {
                    Val::Data
                } else {
                    Val::Unknown
                };
                self.bind_target(&first.target, item);
                for (i, g) in gens.iter().enumerate() {
                    if i > 0 {
                        let it = self.expr(&g.iter);
                        let item = if matches!(it, Val::Data | Val::Param(_)) {
                            Val::Data
                        } else {
                            Val::Unknown
                        };
                        self.bind_target(&g.target, item);
                    }
                    for cond in &g.ifs {
                        self.expr(cond);
                    }
                }
                if let Some(k) = key {
                    self.expr(k);
                }
                let v = self.expr(elt);
                if matches!(v, Val::Data | Val::Param(_)) {
                    Val::Data
                } else {
                    Val::Unknown
                }
            }
        };
        self.pop_frame();
        v
    }
}

enum FnBody<'a> {
    Stmts(&'a [Stmt]),
    Expr(&'a Expr),
}

fn join_returns(rets: Vec<Val>) -> Val {
    let mut it = rets.into_iter();
    let Some(first) = it.next() else {
        return Val::NoneV;
    };
    it.fold(first, |a, b| merge_vals(&a, &b))
}

fn bin_op(op: Operator) -> BinOp {
    match op {
        Operator::Add => BinOp::Add,
        Operator::Sub => BinOp::Sub,
        Operator::Mult => BinOp::Mul,
        Operator::MatMult => BinOp::MatMul,
        Operator::Div => BinOp::Div,
        Operator::Mod => BinOp::Mod,
        Operator::Pow => BinOp::Pow,
        Operator::LShift => BinOp::LShift,
        Operator::RShift => BinOp::RShift,
        Operator::BitOr => BinOp::BitOr,
        Operator::BitXor => BinOp::BitXor,
        Operator::BitAnd => BinOp::BitAnd,
        Operator::FloorDiv => BinOp::FloorDiv,
    }
}
