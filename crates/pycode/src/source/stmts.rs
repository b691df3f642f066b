//! Statements: definitions, control flow (branches merged, constant loops unrolled), imports
//! and simple statements.

use ruff_python_ast::{self as ast, Expr, Stmt};

use super::functions::FnBody;
use super::scope::{FrameKind, merge_maps};
use super::{Walker, bin_op};
use crate::engine::{Val, canonical};

/// Longest loop unrolled over a constant iterable.
const MAX_UNROLL: usize = 256;

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

impl Walker<'_, '_> {
    #[inline(never)]
    pub(super) fn stmt_def(&mut self, f: &ast::StmtFunctionDef) {
        let v = self.function(
            Some(&*f.parameters),
            FnBody::Stmts(&f.body),
            &f.decorator_list,
            f.range,
        );
        self.bind(f.name.as_str(), v);
    }

    #[inline(never)]
    pub(super) fn stmt_class(&mut self, c: &ast::StmtClassDef) {
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
    pub(super) fn stmt_flow(&mut self, s: &Stmt) {
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
    pub(super) fn stmt_import(&mut self, s: &Stmt) {
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
    pub(super) fn stmt_simple(&mut self, s: &Stmt) {
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

    pub(super) fn for_loop(&mut self, f: &ast::StmtFor) {
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
}
