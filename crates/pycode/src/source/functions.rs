//! New scopes with a body: function and lambda definitions (parameters, defaults,
//! decorators, returned value) and comprehensions (folded when the iterable is constant).

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::Walker;
use super::scope::{FrameKind, join_returns};
use crate::engine::{CallArgs, Val};

impl Walker<'_, '_> {
    /// Analyse a function or lambda body in a new frame; returns the function value.
    #[inline(never)]
    pub(super) fn function(
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

    pub(super) fn comprehension(
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

pub(super) enum FnBody<'a> {
    Stmts(&'a [Stmt]),
    Expr(&'a Expr),
}
