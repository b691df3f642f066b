//! Python source analysis: bounded pre-scan, parse (ruff), and a scope-aware AST walk that
//! feeds the [`Engine`].
//!
//! The ruff parser grows its own stack while parsing, but dropping a very deep AST and walking
//! it recurse on the native stack. So before parsing, a token-level pre-scan bounds the
//! syntactic nesting (brackets, operator chains, indentation) to `20 × max_depth`; the walker
//! iterates over left-leaning chains (`a + b + c`, `x.y.z()`) and counts its own recursion
//! against `max_depth`.
//!
//! This module parses and holds the walker's state with the dispatchers every part recurses
//! through (`stmts`, `expr`, `bind_target`, `branches`); `stmts.rs`, `exprs.rs` and
//! `functions.rs` (function, lambda and comprehension scopes) handle the node kinds and call
//! back only into this module (and `stmts.rs` into `functions.rs`); `scope.rs` is the scope
//! data below them all.
//!
//! Must not: give meaning to names, calls or operators itself (the [`Engine`] does), or decide
//! severities.

use ruff_python_ast::{self as ast, Expr, Mod, Operator, Stmt};
use ruff_python_parser::{Mode, ParseOptions};
use ruff_text_size::{TextRange, TextSize};

use crate::engine::{BinOp, Engine, Site, Val};
use crate::syntax::{hard_nesting, nesting_score};

mod exprs;
mod functions;
mod scope;
mod stmts;

use functions::FnBody;
use scope::{Frame, FrameKind, lookup_in, merge_maps};

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
