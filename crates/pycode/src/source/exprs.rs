//! Expressions other than the few the dispatcher answers itself: operators and chains,
//! containers, calls, attribute and subscript access, f-strings.

use ruff_python_ast::{
    self as ast, BoolOp as AstBoolOp, ConversionFlag, Expr, FStringPart, InterpolatedStringElement,
    UnaryOp as AstUnaryOp,
};
use ruff_text_size::{Ranged, TextRange};

use super::scope::{lookup_in, merge_vals};
use super::{Walker, bin_op};
use crate::engine::{CallArgs, UnOp, Val};

impl Walker<'_, '_> {
    #[inline(never)]
    pub(super) fn boolop(&mut self, b: &ast::ExprBoolOp) -> Val {
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
    pub(super) fn ternary(&mut self, i: &ast::ExprIf) -> Val {
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
    pub(super) fn dict(&mut self, d: &ast::ExprDict) -> Val {
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
    pub(super) fn compare(&mut self, c: &ast::ExprCompare) -> Val {
        self.expr(&c.left);
        for x in c.comparators.iter() {
            self.expr(x);
        }
        Val::Data
    }

    #[inline(never)]
    pub(super) fn misc_expr(&mut self, e: &Expr) -> Val {
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

    pub(super) fn sequence(&mut self, elts: &[Expr], range: TextRange) -> Val {
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
    pub(super) fn binop_chain(&mut self, e: &Expr) -> Val {
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
    pub(super) fn postfix_chain(&mut self, e: &Expr) -> Val {
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
    pub(super) fn call(&mut self, func: &Val, c: &ast::ExprCall) -> Val {
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

    pub(super) fn fstring(&mut self, f: &ast::ExprFString) -> Val {
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
}
