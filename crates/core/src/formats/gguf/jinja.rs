//! Chat templates (Jinja2) parsed with minijinja's parser and analysed for sandbox escapes,
//! without rendering anything.
//!
//! Jinja's sandbox is the only thing between a template and the Python process that renders
//! it (llama-cpp-python rendered GGUF templates without one: CVE-2024-34359). Escapes walk
//! Python object internals: `().__class__.__base__.__subclasses__()`,
//! `cycler.__init__.__globals__.os.popen(...)`, usually with the names hidden from string
//! searches (`|attr('_'*2 ~ 'class' ~ '_'*2)`, `|join`, `|reverse`, `|format`, slicing).
//! The analysis folds string constants through those operations (and through `set`
//! variables, every possible value of each), then checks every attribute or item name a
//! template accesses, every filter that takes an attribute name, and every call.

use std::collections::HashMap;

use minijinja::Value;
use minijinja::machinery::Span;
use minijinja::machinery::ast::{self, BinOpKind, CallArg, Expr, Stmt};
use minijinja::syntax::SyntaxConfig;

use crate::limits::Limits;
use crate::report::Severity;

/// Names whose access gives a path to arbitrary code (module globals, builtins, every class
/// of the process, frames): an escape exists.
const ESCAPE: &[&str] = &[
    "__globals__",
    "__builtins__",
    "__subclasses__",
    "__import__",
    "__code__",
    "__loader__",
    "__spec__",
    "func_globals",
    "func_code",
    "f_globals",
    "f_locals",
    "f_builtins",
    "f_back",
    "gi_frame",
    "cr_frame",
    "ag_frame",
    "tb_frame",
    "_TemplateReference__context",
];

/// Callables that run commands, evaluate code or open files once reached.
const EXEC: &[&str] = &[
    "popen",
    "system",
    "spawn",
    "spawnv",
    "spawnl",
    "execv",
    "execl",
    "execve",
    "exec",
    "eval",
    "compile",
    "__import__",
    "import_module",
    "load_module",
    "check_output",
    "check_call",
    "getoutput",
    "getstatusoutput",
    "Popen",
    "run",
    "call",
    "open",
    "subprocess",
    "os",
    "system",
];

/// Of [`EXEC`], the names no benign template calls even without a dunder chain.
const EXEC_STRONG: &[&str] = &[
    "popen",
    "system",
    "spawnv",
    "spawnl",
    "execv",
    "execl",
    "execve",
    "eval",
    "exec",
    "__import__",
    "import_module",
    "check_output",
    "getoutput",
    "getstatusoutput",
    "Popen",
];

/// Filters that take an attribute name (dotted paths allowed) as a keyword `attribute`.
const ATTRIBUTE_FILTERS: &[&str] = &[
    "map",
    "selectattr",
    "rejectattr",
    "sort",
    "groupby",
    "unique",
    "sum",
    "min",
    "max",
    "dictsort",
];

/// Longest string built by constant folding; longer values are unknown.
const MAX_FOLD: usize = 4096;
/// Alternatives kept per value (a variable assigned in several places).
const MAX_ALTS: usize = 16;
/// Tokens in one `{{ }}` or `{% %}` block: bounds the depth of the AST (minijinja builds
/// operator chains as left-deep trees, and dropping or walking them recurses).
const MAX_BLOCK_TOKENS: usize = 1000;
/// Analysis passes to settle variable values (a use may come before its assignment).
const PASSES: usize = 4;

/// One suspicious construct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// How bad.
    pub severity: Severity,
    /// What was reached, e.g. `attribute __globals__`.
    pub what: String,
    /// The template source of the expression.
    pub evidence: String,
}

/// Result of analysing one template.
#[derive(Debug, Default)]
pub struct TemplateReport {
    /// Suspicious constructs.
    pub hits: Vec<Hit>,
    /// Set when the template could not be analysed (parse error, limit): never clean then.
    pub unparsed: Option<String>,
}

/// Remove the tags Transformers adds to Jinja (`{% generation %}`, `{% endgeneration %}`),
/// which minijinja rejects, keeping every other byte offset unchanged (tags become spaces).
pub fn strip_extension_tags(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(i) = rest.find("{%") {
        let (before, tail) = rest.split_at(i);
        out.push_str(before);
        let Some(end) = tail.find("%}") else {
            out.push_str(tail);
            return out;
        };
        let tag = tail.get(..end + 2).unwrap_or(tail);
        let inner = tag
            .get(2..tag.len().saturating_sub(2))
            .unwrap_or_default()
            .trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
        if inner == "generation" || inner == "endgeneration" {
            out.extend(std::iter::repeat_n(' ', tag.len()));
        } else {
            out.push_str(tag);
        }
        rest = tail.get(end + 2..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// Up to `max` bytes of `s` from `start`, on char boundaries, `…` when cut.
pub fn excerpt(s: &str, start: usize, max: usize) -> String {
    let mut a = start.min(s.len());
    while !s.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = a.saturating_add(max).min(s.len());
    while !s.is_char_boundary(b) {
        b -= 1;
    }
    let t = s.get(a..b).unwrap_or_default();
    if b < s.len() {
        format!("{t}…")
    } else {
        t.to_string()
    }
}

/// Analyse a template source.
pub fn analyze(src: &str, limits: &Limits) -> TemplateReport {
    let mut rep = TemplateReport::default();
    if src.len() as u64 > limits.max_template_bytes {
        rep.unparsed = Some(format!(
            "template of {} bytes above max_template_bytes ({})",
            src.len(),
            limits.max_template_bytes
        ));
        return rep;
    }
    let text = strip_extension_tags(src);
    if let Err(e) = check_block_sizes(&text) {
        rep.unparsed = Some(e);
        return rep;
    }
    // minijinja builds operator and postfix chains as left-deep trees; parsing, walking and
    // dropping them recurse once per level. A dedicated thread with a large stack makes the
    // depth the token limit allows safe on any caller's thread (rayon workers, test threads).
    let run = || analyze_parsed(&text);
    let joined = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("modelguard-jinja".into())
            .stack_size(ANALYSIS_STACK)
            .spawn_scoped(s, run)
            .map(|h| h.join())
    });
    match joined {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => TemplateReport {
            hits: vec![],
            unparsed: Some("template analysis failed".into()),
        },
        Err(e) => TemplateReport {
            hits: vec![],
            unparsed: Some(format!("template analysis could not start: {e}")),
        },
    }
}

/// Stack of the template analysis thread.
const ANALYSIS_STACK: usize = 64 << 20;

fn analyze_parsed(text: &str) -> TemplateReport {
    let mut rep = TemplateReport::default();
    let ast = match minijinja::machinery::parse(text, "chat_template", SyntaxConfig::default()) {
        Ok(a) => a,
        Err(e) => {
            rep.unparsed = Some(format!("Jinja parse error: {e}"));
            // Jinja2 accepts syntax minijinja does not (a call after a filter:
            // `x|attr(n)()`): the tokens still tell what names the template builds.
            rep.hits = lexical(text);
            return rep;
        }
    };
    let mut an = An {
        src: text,
        env: HashMap::new(),
        hits: Vec::new(),
        report: false,
        changed: false,
        outer: None,
    };
    for _ in 0..PASSES {
        an.changed = false;
        an.stmt(&ast);
        if !an.changed {
            break;
        }
    }
    an.report = true;
    an.stmt(&ast);
    let mut hits: Vec<Hit> = Vec::new();
    for h in an.hits {
        if !hits.contains(&h) && hits.len() < 256 {
            hits.push(h);
        }
    }
    rep.hits = hits;
    rep
}

/// Reject blocks with more tokens than [`MAX_BLOCK_TOKENS`] before building the AST.
fn check_block_sizes(text: &str) -> Result<(), String> {
    use minijinja::machinery::Token;
    let mut n = 0usize;
    for t in minijinja::machinery::tokenize(text, false, SyntaxConfig::default()) {
        match t {
            Ok((Token::VariableStart | Token::BlockStart, _)) => n = 0,
            Ok(_) => {
                n += 1;
                if n > MAX_BLOCK_TOKENS {
                    return Err(format!(
                        "a template block has more than {MAX_BLOCK_TOKENS} tokens"
                    ));
                }
            }
            Err(e) => return Err(format!("Jinja syntax error: {e}")),
        }
    }
    Ok(())
}

/// Fallback for templates the parser rejects: fold runs of constants (`'_'*2 ~ 'class'`)
/// within each block and check every identifier and string against the internal names.
fn lexical(text: &str) -> Vec<Hit> {
    use minijinja::machinery::Token;
    let mut hits: Vec<Hit> = Vec::new();
    let mut add = |sev: Severity, what: String, span: Span| {
        let start = span.start_offset as usize;
        let len = (span.end_offset as usize).saturating_sub(start);
        let h = Hit {
            severity: sev,
            what,
            evidence: if len > 240 {
                excerpt(text, start, 240)
            } else {
                text.get(start..start + len).unwrap_or_default().to_string()
            },
        };
        if !hits.contains(&h) && hits.len() < 256 {
            hits.push(h);
        }
    };
    let check = |name: &str| -> Option<Severity> {
        if ESCAPE.contains(&name) {
            Some(Severity::Critical)
        } else if name.len() > 4 && name.starts_with("__") && name.ends_with("__") {
            Some(Severity::High)
        } else {
            None
        }
    };
    // Operands and operators of the current run of constants: `+`/`~` join, `*` repeats.
    let mut run: Vec<K> = Vec::new();
    let mut ops: Vec<char> = Vec::new();
    let mut run_span: Option<Span> = None;
    let mut prev_pipe = false;
    let mut prev_dot = false;
    let flush = |run: &mut Vec<K>,
                 ops: &mut Vec<char>,
                 span: Option<Span>,
                 add: &mut dyn FnMut(Severity, String, Span)| {
        if run.len() > 1 && ops.len() + 1 == run.len() {
            // `*` binds tighter than `+` and `~`.
            let mut terms: Vec<K> = vec![];
            let mut cur = run.first().cloned();
            for (op, k) in ops.iter().zip(run.iter().skip(1)) {
                if *op == '*' {
                    let rep = |s: &str, n: i64| {
                        usize::try_from(n)
                            .ok()
                            .filter(|n| s.len().saturating_mul(*n) <= MAX_FOLD)
                            .map(|n| K::Str(s.repeat(n)))
                    };
                    cur = match (cur, k) {
                        (Some(K::Str(s)), K::Int(n)) => rep(&s, *n),
                        (Some(K::Int(n)), K::Str(s)) => rep(s, n),
                        _ => None,
                    };
                } else {
                    terms.extend(cur.take());
                    cur = Some(k.clone());
                }
            }
            terms.extend(cur);
            let joined: String = terms.iter().filter_map(K::text).collect();
            if let (Some(sev), Some(span)) = (check(&joined), span) {
                add(sev, format!("string {joined} built"), span);
            }
        }
        run.clear();
        ops.clear();
    };
    for t in minijinja::machinery::tokenize(text, false, SyntaxConfig::default()) {
        let Ok((tok, span)) = t else { break };
        let konst = match &tok {
            Token::Str(s) => Some(K::Str((*s).to_string())),
            Token::String(s) => Some(K::Str(s.to_string())),
            Token::Int(i) => i64::try_from(*i).ok().map(K::Int),
            _ => None,
        };
        if let Some(k) = konst {
            if let K::Str(s) = &k
                && let Some(sev) = check(s)
            {
                add(sev, format!("string {s}"), span);
            }
            if run.len() > ops.len() {
                // Adjacent string literals concatenate ('__glo' 'bals__').
                if matches!((run.last(), &k), (Some(K::Str(_)), K::Str(_))) {
                    ops.push('+');
                } else {
                    flush(&mut run, &mut ops, run_span, &mut add);
                }
            }
            if run.is_empty() {
                run_span = Some(span);
            }
            if let Some(r) = run_span.as_mut() {
                r.end_offset = span.end_offset;
            }
            run.push(k);
        } else {
            match tok {
                Token::Plus | Token::Tilde if !run.is_empty() => ops.push('+'),
                Token::Mul if !run.is_empty() => ops.push('*'),
                _ => flush(&mut run, &mut ops, run_span, &mut add),
            }
        }
        if let Token::Ident(id) = tok {
            if let Some(sev) = check(id) {
                add(sev, format!("attribute {id}"), span);
            } else if prev_pipe && id == "attr" {
                add(Severity::High, "attr filter".into(), span);
            } else if prev_dot && EXEC_STRONG.contains(&id) {
                add(Severity::High, format!("name {id}"), span);
            }
        }
        prev_pipe = matches!(tok, Token::Pipe);
        prev_dot = matches!(tok, Token::Dot);
    }
    flush(&mut run, &mut ops, run_span, &mut add);
    hits
}

/// A constant value known at analysis time.
#[derive(Debug, Clone, PartialEq)]
enum K {
    Str(String),
    Int(i64),
    List(Vec<K>),
}

impl K {
    fn from_value(v: &Value) -> Option<K> {
        if let Some(s) = v.as_str() {
            return Some(K::Str(s.to_string()));
        }
        if let Some(i) = v.as_i64() {
            return Some(K::Int(i));
        }
        if v.kind() == minijinja::value::ValueKind::Seq {
            let items: Option<Vec<K>> = v
                .try_iter()
                .ok()?
                .take(256)
                .map(|x| K::from_value(&x))
                .collect();
            return items.map(K::List);
        }
        None
    }

    fn text(&self) -> Option<String> {
        match self {
            K::Str(s) => Some(s.clone()),
            K::Int(i) => Some(i.to_string()),
            K::List(_) => None,
        }
    }
}

/// What the analysis knows of an expression's value.
#[derive(Debug, Clone, Default, PartialEq)]
struct Abs {
    /// Possible constant values (empty: unknown).
    vals: Vec<K>,
    /// Internal names crossed to reach this value (`__class__`, `__globals__`…): taint.
    chain: Vec<String>,
}

impl Abs {
    fn konst(k: K) -> Abs {
        Abs {
            vals: vec![k],
            chain: vec![],
        }
    }

    fn tainted(chain: Vec<String>) -> Abs {
        Abs {
            vals: vec![],
            chain,
        }
    }

    fn strs(&self) -> impl Iterator<Item = &str> {
        self.vals.iter().filter_map(|k| match k {
            K::Str(s) => Some(s.as_str()),
            _ => None,
        })
    }

    fn merge(&mut self, other: &Abs) -> bool {
        let mut changed = false;
        for v in &other.vals {
            if self.vals.len() < MAX_ALTS && !self.vals.contains(v) {
                self.vals.push(v.clone());
                changed = true;
            }
        }
        for c in &other.chain {
            if self.chain.len() < 64 && !self.chain.contains(c) {
                self.chain.push(c.clone());
                changed = true;
            }
        }
        changed
    }
}

/// Fold `f` over every pair of alternatives.
fn product(a: &Abs, b: &Abs, f: impl Fn(&K, &K) -> Option<K>) -> Vec<K> {
    let mut out = Vec::new();
    for x in &a.vals {
        for y in &b.vals {
            if let Some(k) = f(x, y)
                && out.len() < MAX_ALTS
                && !out.contains(&k)
            {
                out.push(k);
            }
        }
    }
    out
}

fn short(s: String) -> Option<K> {
    (s.len() <= MAX_FOLD).then_some(K::Str(s))
}

/// Python `%` formatting, enough for `%s`/`%c`-style name building.
fn percent_format(fmt: &str, args: &[K]) -> Option<String> {
    let mut out = String::new();
    let mut it = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '%' => out.push('%'),
            's' | 'r' | 'd' | 'i' => out.push_str(&it.next()?.text()?),
            'c' => match it.next()? {
                K::Int(i) => out.push(char::from_u32(u32::try_from(*i).ok()?)?),
                K::Str(s) => out.push_str(s),
                K::List(_) => return None,
            },
            _ => return None,
        }
        if out.len() > MAX_FOLD {
            return None;
        }
    }
    Some(out)
}

/// Python slicing of a sequence of `n` items: the indices taken.
fn slice_indices(n: usize, start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> Vec<usize> {
    let n = n as i64;
    let step = step.unwrap_or(1);
    if step == 0 {
        return vec![];
    }
    let norm = |v: i64, lo: i64, hi: i64| {
        let v = if v < 0 { v + n } else { v };
        v.clamp(lo, hi)
    };
    let mut out = Vec::new();
    if step > 0 {
        let a = start.map_or(0, |s| norm(s, 0, n));
        let b = stop.map_or(n, |s| norm(s, 0, n));
        let mut i = a;
        while i < b {
            out.push(i as usize);
            i += step;
        }
    } else {
        let a = start.map_or(n - 1, |s| norm(s, -1, n - 1));
        let b = stop.map_or(-1, |s| norm(s, -1, n - 1));
        let mut i = a;
        while i > b {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

struct An<'s> {
    src: &'s str,
    env: HashMap<String, Abs>,
    hits: Vec<Hit>,
    report: bool,
    changed: bool,
    /// Extent of the outermost expression being evaluated, and the first hit inside it.
    outer: Option<(u32, u32, usize)>,
}

impl An<'_> {
    fn hit(&mut self, severity: Severity, what: String, span: Span) {
        if !self.report {
            return;
        }
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
            severity,
            what,
            evidence,
        };
        if self.hits.len() < 4096 {
            self.hits.push(h);
        }
    }

    /// Source text from `lo` to `hi`, at most 240 bytes.
    fn text(&self, lo: u32, hi: u32) -> String {
        let (lo, hi) = (lo as usize, hi as usize);
        if hi.saturating_sub(lo) > 240 {
            excerpt(self.src, lo, 240)
        } else {
            self.src.get(lo..hi).unwrap_or_default().to_string()
        }
    }

    fn bind(&mut self, name: &str, v: &Abs) {
        let e = self.env.entry(name.to_string()).or_default();
        if e.merge(v) {
            self.changed = true;
        }
    }

    fn bind_target(&mut self, target: &Expr<'_>, v: &Abs) {
        match target {
            Expr::Var(var) => self.bind(var.id, v),
            Expr::Tuple(t) => {
                let inner = Abs::tainted(v.chain.clone());
                for item in &t.items {
                    self.bind_target(item, &inner);
                }
            }
            other => {
                self.expr(other);
            }
        }
    }

    fn stmts(&mut self, list: &[Stmt<'_>]) {
        for s in list {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt<'_>) {
        match s {
            Stmt::Template(t) => self.stmts(&t.children),
            Stmt::EmitExpr(e) => {
                self.expr(&e.expr);
            }
            Stmt::EmitRaw(_) | Stmt::Continue(_) | Stmt::Break(_) => {}
            Stmt::ForLoop(f) => {
                let iter = self.expr(&f.iter);
                let mut item = Abs::tainted(iter.chain.clone());
                for v in &iter.vals {
                    match v {
                        K::List(items) => {
                            for i in items {
                                item.merge(&Abs::konst(i.clone()));
                            }
                        }
                        K::Str(s) => {
                            for c in s.chars().take(MAX_ALTS) {
                                item.merge(&Abs::konst(K::Str(c.to_string())));
                            }
                        }
                        K::Int(_) => {}
                    }
                }
                self.bind_target(&f.target, &item);
                if let Some(e) = &f.filter_expr {
                    self.expr(e);
                }
                self.stmts(&f.body);
                self.stmts(&f.else_body);
            }
            Stmt::IfCond(c) => {
                self.expr(&c.expr);
                self.stmts(&c.true_body);
                self.stmts(&c.false_body);
            }
            Stmt::WithBlock(w) => {
                for (t, e) in &w.assignments {
                    let v = self.expr(e);
                    self.bind_target(t, &v);
                }
                self.stmts(&w.body);
            }
            Stmt::Set(set) => {
                let v = self.expr(&set.expr);
                self.bind_target(&set.target, &v);
            }
            Stmt::SetBlock(set) => {
                if let Some(f) = &set.filter {
                    self.expr(f);
                }
                self.stmts(&set.body);
                self.bind_target(&set.target, &Abs::default());
            }
            Stmt::AutoEscape(a) => {
                self.expr(&a.enabled);
                self.stmts(&a.body);
            }
            Stmt::FilterBlock(f) => {
                self.expr(&f.filter);
                self.stmts(&f.body);
            }
            Stmt::Block(b) => self.stmts(&b.body),
            Stmt::Import(i) => {
                self.expr(&i.expr);
                self.hit(
                    Severity::High,
                    "{% import %} of another template".into(),
                    i.span(),
                );
            }
            Stmt::FromImport(i) => {
                self.expr(&i.expr);
                self.hit(
                    Severity::High,
                    "{% from … import %} of another template".into(),
                    i.span(),
                );
            }
            Stmt::Extends(e) => {
                self.expr(&e.name);
                self.hit(
                    Severity::High,
                    "{% extends %} another template".into(),
                    e.span(),
                );
            }
            Stmt::Include(i) => {
                self.expr(&i.name);
                self.hit(
                    Severity::High,
                    "{% include %} of another template".into(),
                    i.span(),
                );
            }
            Stmt::Macro(m) => self.mac(m),
            Stmt::CallBlock(c) => {
                self.call(&c.call, c.call.span());
                self.mac(&c.macro_decl);
            }
            Stmt::Do(d) => {
                self.call(&d.call, d.call.span());
            }
        }
    }

    fn mac(&mut self, m: &ast::Macro<'_>) {
        for d in &m.defaults {
            self.expr(d);
        }
        for a in &m.args {
            self.bind_target(a, &Abs::default());
        }
        self.stmts(&m.body);
    }

    /// Check an attribute or item name accessed on `base`; returns the result's taint.
    fn access(&mut self, base: &Abs, name: &str, span: Span) -> Abs {
        let dunder = name.len() > 4 && name.starts_with("__") && name.ends_with("__");
        let mut chain = base.chain.clone();
        if ESCAPE.contains(&name) {
            self.hit(Severity::Critical, format!("attribute {name}"), span);
            chain.push(name.to_string());
        } else if dunder || name == "mro" {
            self.hit(Severity::High, format!("attribute {name}"), span);
            chain.push(name.to_string());
        } else if name.starts_with('_') {
            self.hit(Severity::Medium, format!("private attribute {name}"), span);
            chain.push(name.to_string());
        } else if !base.chain.is_empty() {
            if EXEC.contains(&name) {
                self.hit(
                    Severity::Critical,
                    format!("{name} reached through {}", base.chain.join(".")),
                    span,
                );
            }
            chain.push(name.to_string());
        }
        Abs::tainted(chain)
    }

    /// Check a possibly dotted attribute path given to a filter (`map(attribute='a.b')`).
    fn attribute_path(&mut self, base: &Abs, path: &Abs, span: Span) -> Abs {
        let mut out = Abs::tainted(base.chain.clone());
        let paths: Vec<String> = path.strs().map(str::to_string).collect();
        for p in paths {
            let mut cur = base.clone();
            for part in p.split('.') {
                cur = self.access(&cur, part, span);
            }
            out.merge(&cur);
        }
        out
    }

    fn args(&mut self, args: &[CallArg<'_>]) -> (Vec<Abs>, Vec<(String, Abs)>) {
        let mut pos = Vec::new();
        let mut kw = Vec::new();
        for a in args {
            match a {
                CallArg::Pos(e) => pos.push(self.expr(e)),
                CallArg::Kwarg(k, e) => {
                    let v = self.expr(e);
                    kw.push((k.to_string(), v));
                }
                CallArg::PosSplat(e) | CallArg::KwargSplat(e) => {
                    self.expr(e);
                }
            }
        }
        (pos, kw)
    }

    /// Flag a computed string that is exactly an internal name: only an escape needs it.
    fn built_name(&mut self, v: &Abs, span: Span) {
        let names: Vec<String> = v
            .strs()
            .filter(|s| {
                ESCAPE.contains(s) || (s.len() > 4 && s.starts_with("__") && s.ends_with("__"))
            })
            .map(str::to_string)
            .collect();
        for n in names {
            let sev = if ESCAPE.contains(&n.as_str()) {
                Severity::Critical
            } else {
                Severity::High
            };
            self.hit(sev, format!("string {n} built"), span);
        }
    }

    fn expr(&mut self, e: &Expr<'_>) -> Abs {
        // Postfix nodes (`.attr`, `(…)`) span only their own operator: the evidence of a hit
        // is the extent of the whole outermost expression, known once it is evaluated.
        let sp = e.span();
        let top = match &mut self.outer {
            None => {
                self.outer = Some((sp.start_offset, sp.end_offset, self.hits.len()));
                true
            }
            Some((lo, hi, _)) => {
                *lo = (*lo).min(sp.start_offset);
                *hi = (*hi).max(sp.end_offset);
                false
            }
        };
        let v = self.expr_inner(e);
        if top && let Some((lo, hi, first)) = self.outer.take() {
            let text = self.text(lo, hi);
            for h in self.hits.iter_mut().skip(first) {
                h.evidence.clone_from(&text);
            }
        }
        if !matches!(e, Expr::Const(_) | Expr::Var(_)) {
            self.built_name(&v, e.span());
        }
        v
    }

    fn expr_inner(&mut self, e: &Expr<'_>) -> Abs {
        match e {
            Expr::Var(v) => self.env.get(v.id).cloned().unwrap_or_default(),
            Expr::Const(c) => K::from_value(&c.value).map(Abs::konst).unwrap_or_default(),
            Expr::Slice(s) => {
                let base = self.expr(&s.expr);
                let idx = |an: &mut Self, x: &Option<Expr<'_>>| -> Option<Option<i64>> {
                    match x {
                        None => Some(None),
                        Some(x) => match an.expr(x).vals.as_slice() {
                            [K::Int(i)] => Some(Some(*i)),
                            _ => None,
                        },
                    }
                };
                let (a, b, c) = (idx(self, &s.start), idx(self, &s.stop), idx(self, &s.step));
                let mut out = Abs::tainted(base.chain.clone());
                if let (Some(a), Some(b), Some(c)) = (a, b, c) {
                    for v in &base.vals {
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
                            K::Int(_) => continue,
                        };
                        out.merge(&Abs::konst(k));
                    }
                }
                out
            }
            Expr::UnaryOp(u) => {
                let v = self.expr(&u.expr);
                match (&u.op, v.vals.as_slice()) {
                    (ast::UnaryOpKind::Neg, [K::Int(i)]) => i
                        .checked_neg()
                        .map(|n| Abs::konst(K::Int(n)))
                        .unwrap_or_default(),
                    _ => Abs::default(),
                }
            }
            Expr::BinOp(b) => {
                let l = self.expr(&b.left);
                let r = self.expr(&b.right);
                let vals = match b.op {
                    BinOpKind::Concat => product(&l, &r, |x, y| short(x.text()? + &y.text()?)),
                    BinOpKind::Add => product(&l, &r, |x, y| match (x, y) {
                        (K::Str(a), K::Str(b)) => short(format!("{a}{b}")),
                        (K::Int(a), K::Int(b)) => a.checked_add(*b).map(K::Int),
                        (K::List(a), K::List(b)) if a.len() + b.len() <= 256 => {
                            Some(K::List(a.iter().chain(b).cloned().collect()))
                        }
                        _ => None,
                    }),
                    BinOpKind::Mul => product(&l, &r, |x, y| match (x, y) {
                        (K::Str(s), K::Int(n)) | (K::Int(n), K::Str(s)) => {
                            let n = usize::try_from(*n).unwrap_or(0);
                            (s.len().saturating_mul(n) <= MAX_FOLD).then(|| K::Str(s.repeat(n)))
                        }
                        (K::Int(a), K::Int(b)) => a.checked_mul(*b).map(K::Int),
                        _ => None,
                    }),
                    BinOpKind::Sub => product(&l, &r, |x, y| match (x, y) {
                        (K::Int(a), K::Int(b)) => a.checked_sub(*b).map(K::Int),
                        _ => None,
                    }),
                    BinOpKind::Rem => product(&l, &r, |x, y| match (x, y) {
                        (K::Str(f), K::List(args)) => short(percent_format(f, args)?),
                        (K::Str(f), a) => short(percent_format(f, std::slice::from_ref(a))?),
                        _ => None,
                    }),
                    BinOpKind::ScOr | BinOpKind::ScAnd => {
                        let mut v = l.clone();
                        v.merge(&r);
                        return v;
                    }
                    _ => vec![],
                };
                let mut chain = l.chain;
                chain.extend(r.chain);
                Abs { vals, chain }
            }
            Expr::Compare(c) => {
                self.expr(&c.expr);
                for op in &c.ops {
                    self.expr(&op.expr);
                }
                Abs::default()
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr);
                let mut v = self.expr(&i.true_expr);
                if let Some(f) = &i.false_expr {
                    let w = self.expr(f);
                    v.merge(&w);
                }
                v
            }
            Expr::Filter(f) => self.filter(f, e.span()),
            Expr::Test(t) => {
                self.expr(&t.expr);
                self.args(&t.args);
                Abs::default()
            }
            Expr::GetAttr(g) => {
                let base = self.expr(&g.expr);
                self.access(&base, g.name, e.span())
            }
            Expr::GetItem(g) => {
                let base = self.expr(&g.expr);
                let sub = self.expr(&g.subscript_expr);
                let mut out = Abs::tainted(base.chain.clone());
                let names: Vec<String> = sub.strs().map(str::to_string).collect();
                for n in names {
                    let r = self.access(&base, &n, e.span());
                    out.merge(&r);
                }
                for i in sub.vals.iter().filter_map(|k| match k {
                    K::Int(i) => Some(*i),
                    _ => None,
                }) {
                    for v in &base.vals {
                        let item = match v {
                            K::Str(s) => {
                                let chars: Vec<char> = s.chars().collect();
                                slice_indices(chars.len(), Some(i), None, None)
                                    .first()
                                    .and_then(|j| chars.get(*j))
                                    .map(|c| K::Str(c.to_string()))
                            }
                            K::List(l) => slice_indices(l.len(), Some(i), None, None)
                                .first()
                                .and_then(|j| l.get(*j).cloned()),
                            K::Int(_) => None,
                        };
                        if let Some(k) = item {
                            out.merge(&Abs::konst(k));
                        }
                    }
                }
                out
            }
            Expr::Call(c) => self.call(c, e.span()),
            Expr::List(l) => self.seq(&l.items),
            Expr::Tuple(t) => self.seq(&t.items),
            Expr::Map(m) => {
                for k in &m.keys {
                    self.expr(k);
                }
                for v in &m.values {
                    self.expr(v);
                }
                Abs::default()
            }
        }
    }

    fn seq(&mut self, items: &[Expr<'_>]) -> Abs {
        let vals: Vec<Abs> = items.iter().map(|i| self.expr(i)).collect();
        let mut chain = Vec::new();
        for v in &vals {
            chain.extend(v.chain.iter().cloned());
        }
        // Constant only when every item has one known value.
        let list: Option<Vec<K>> = vals
            .iter()
            .map(|v| match v.vals.as_slice() {
                [k] => Some(k.clone()),
                _ => None,
            })
            .collect();
        Abs {
            vals: list
                .filter(|l| l.len() <= 256)
                .map(K::List)
                .into_iter()
                .collect(),
            chain,
        }
    }

    fn filter(&mut self, f: &ast::Filter<'_>, span: Span) -> Abs {
        let base = match &f.expr {
            Some(e) => self.expr(e),
            None => Abs::default(),
        };
        let (pos, kw) = self.args(&f.args);
        let first = pos.first().cloned().unwrap_or_default();
        let kwarg = |name: &str| kw.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let str_map = |g: &dyn Fn(&str) -> Option<String>| -> Vec<K> {
            base.vals
                .iter()
                .filter_map(|k| match k {
                    K::Str(s) => g(s).and_then(short),
                    _ => None,
                })
                .collect()
        };
        let keep = |vals: Vec<K>| Abs {
            vals,
            chain: base.chain.clone(),
        };
        match f.name {
            "attr" => {
                if first.strs().next().is_none() {
                    self.hit(
                        Severity::High,
                        "attr filter with a name computed at render time".into(),
                        span,
                    );
                    return Abs::tainted(base.chain.clone());
                }
                let names: Vec<String> = first.strs().map(str::to_string).collect();
                let mut out = Abs::tainted(base.chain.clone());
                for n in names {
                    let r = self.access(&base, &n, span);
                    out.merge(&r);
                }
                out
            }
            name if ATTRIBUTE_FILTERS.contains(&name) => {
                if let Some(a) = kwarg("attribute") {
                    return self.attribute_path(&base, &a, span);
                }
                match name {
                    "selectattr" | "rejectattr" | "groupby" => {
                        self.attribute_path(&base, &first, span)
                    }
                    // `map('attr', name)` applies the attr filter to each item.
                    "map" if first.strs().any(|s| s == "attr") => {
                        let second = pos.get(1).cloned().unwrap_or_default();
                        if second.strs().next().is_none() {
                            self.hit(
                                Severity::High,
                                "map('attr', …) with a name computed at render time".into(),
                                span,
                            );
                        }
                        self.attribute_path(&base, &second, span)
                    }
                    _ => Abs::tainted(base.chain.clone()),
                }
            }
            "join" => {
                let seps: Vec<String> = if pos.is_empty() {
                    vec![String::new()]
                } else {
                    first.strs().map(str::to_string).collect()
                };
                let mut vals = Vec::new();
                for v in &base.vals {
                    let parts: Option<Vec<String>> = match v {
                        K::List(l) => l.iter().map(K::text).collect(),
                        K::Str(s) => Some(s.chars().map(String::from).collect()),
                        K::Int(_) => None,
                    };
                    if let Some(parts) = parts {
                        for sep in &seps {
                            if let Some(k) = short(parts.join(sep))
                                && vals.len() < MAX_ALTS
                            {
                                vals.push(k);
                            }
                        }
                    }
                }
                keep(vals)
            }
            "replace" => {
                let (Some(old), Some(new)) = (pos.first(), pos.get(1)) else {
                    return keep(vec![]);
                };
                let mut vals = Vec::new();
                for o in old.strs() {
                    for n in new.strs() {
                        vals.extend(str_map(&|s| Some(s.replace(o, n))));
                    }
                }
                vals.truncate(MAX_ALTS);
                keep(vals)
            }
            "reverse" => keep(
                base.vals
                    .iter()
                    .filter_map(|k| match k {
                        K::Str(s) => Some(K::Str(s.chars().rev().collect())),
                        K::List(l) => Some(K::List(l.iter().rev().cloned().collect())),
                        K::Int(_) => None,
                    })
                    .collect(),
            ),
            "format" => {
                let args: Vec<K> = pos
                    .iter()
                    .map(|a| match a.vals.as_slice() {
                        [k] => Some(k.clone()),
                        _ => None,
                    })
                    .collect::<Option<Vec<K>>>()
                    .unwrap_or_default();
                if args.len() != pos.len() {
                    return keep(vec![]);
                }
                keep(str_map(&|s| percent_format(s, &args)))
            }
            "lower" => keep(str_map(&|s| Some(s.to_lowercase()))),
            "upper" => keep(str_map(&|s| Some(s.to_uppercase()))),
            "trim" => keep(str_map(&|s| Some(s.trim().to_string()))),
            "capitalize" | "title" => keep(vec![]),
            "string" | "safe" | "e" | "escape" => keep(
                base.vals
                    .iter()
                    .filter_map(|k| k.text().map(K::Str))
                    .collect(),
            ),
            "list" => keep(
                base.vals
                    .iter()
                    .filter_map(|k| match k {
                        K::Str(s) => Some(K::List(s.chars().map(|c| K::Str(c.into())).collect())),
                        K::List(l) => Some(K::List(l.clone())),
                        K::Int(_) => None,
                    })
                    .collect(),
            ),
            "first" | "last" => keep(
                base.vals
                    .iter()
                    .filter_map(|k| {
                        let l: Vec<K> = match k {
                            K::Str(s) => s.chars().map(|c| K::Str(c.into())).collect(),
                            K::List(l) => l.clone(),
                            K::Int(_) => return None,
                        };
                        if f.name == "first" {
                            l.first().cloned()
                        } else {
                            l.last().cloned()
                        }
                    })
                    .collect(),
            ),
            _ => Abs::tainted(base.chain.clone()),
        }
    }

    fn call(&mut self, c: &ast::Call<'_>, span: Span) -> Abs {
        let (pos, _kw) = self.args(&c.args);
        match &c.expr {
            Expr::GetAttr(g) => {
                let obj = self.expr(&g.expr);
                let callee = self.access(&obj, g.name, c.expr.span());
                if EXEC_STRONG.contains(&g.name)
                    || (EXEC.contains(&g.name) && !obj.chain.is_empty())
                {
                    let sev = if obj.chain.is_empty() {
                        Severity::High
                    } else {
                        Severity::Critical
                    };
                    self.hit(sev, format!("call of {}", g.name), span);
                }
                // String methods that build names.
                let first = pos.first().cloned().unwrap_or_default();
                let vals: Vec<K> = match g.name {
                    "join" => product(&obj, &first, |sep, l| match (sep, l) {
                        (K::Str(sep), K::List(l)) => {
                            short(l.iter().map(K::text).collect::<Option<Vec<_>>>()?.join(sep))
                        }
                        _ => None,
                    }),
                    "replace" => {
                        let second = pos.get(1).cloned().unwrap_or_default();
                        let mut out = Vec::new();
                        for s in obj.strs() {
                            for o in first.strs() {
                                for n in second.strs() {
                                    if let Some(k) = short(s.replace(o, n))
                                        && out.len() < MAX_ALTS
                                    {
                                        out.push(k);
                                    }
                                }
                            }
                        }
                        out
                    }
                    "lower" | "upper" | "strip" | "swapcase" => obj
                        .strs()
                        .filter_map(|s| {
                            short(match g.name {
                                "lower" => s.to_lowercase(),
                                "upper" => s.to_uppercase(),
                                "strip" => s.trim().to_string(),
                                _ => s
                                    .chars()
                                    .map(|c| {
                                        if c.is_uppercase() {
                                            c.to_lowercase().collect::<String>()
                                        } else {
                                            c.to_uppercase().collect()
                                        }
                                    })
                                    .collect(),
                            })
                        })
                        .collect(),
                    "format" | "format_map" => {
                        // str.format walks attributes itself: '{0.__class__}'.format(x).
                        let fields: Vec<String> = obj
                            .strs()
                            .flat_map(|s| {
                                s.split('{')
                                    .skip(1)
                                    .filter_map(|p| p.split('}').next())
                                    .map(str::to_string)
                                    .collect::<Vec<_>>()
                            })
                            .collect();
                        for field in fields {
                            let mut cur = Abs::tainted(first.chain.clone());
                            let field = field.split([':', '!']).next().unwrap_or_default();
                            for part in field.split(['.', '[', ']']).skip(1) {
                                if !part.is_empty() {
                                    cur = self.access(&cur, part, span);
                                }
                            }
                        }
                        vec![]
                    }
                    _ => vec![],
                };
                Abs {
                    vals,
                    chain: callee.chain,
                }
            }
            Expr::Var(v) => {
                if EXEC_STRONG.contains(&v.id) || matches!(v.id, "getattr" | "setattr" | "open") {
                    self.hit(Severity::High, format!("call of {}", v.id), span);
                }
                let callee = self.expr(&c.expr);
                Abs::tainted(callee.chain)
            }
            other => {
                let callee = self.expr(other);
                Abs::tainted(callee.chain)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn worst(src: &str) -> Option<Severity> {
        let r = analyze(src, &Limits::default());
        assert!(r.unparsed.is_none(), "{src}: {:?}", r.unparsed);
        r.hits.iter().map(|h| h.severity).max()
    }

    #[test]
    fn classic_escapes_are_critical() {
        for t in [
            "{% for x in ().__class__.__base__.__subclasses__() %}{% if 'warning' in x.__name__ %}{{ x()._module.__builtins__['__import__']('os').popen('echo modelguard-test').read() }}{% endif %}{% endfor %}",
            "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
            "{{ joiner.__init__.__globals__['os'].system('id') }}",
            "{{ namespace.__init__.__globals__.__builtins__.eval('1') }}",
            "{{ lipsum.__globals__['os'].popen('id') }}",
            "{{ ''|attr('_'*2~'class'~'_'*2)|attr('_'*2~'base'~'_'*2)|attr('_'*2~'subclasses'~'_'*2) }}",
            "{% set a = '__glo' %}{% set b = 'bals__' %}{{ cycler.__init__|attr(a ~ b) }}",
            "{{ self|attr(['__', 'init', '__']|join)|attr('__slabolg__'|reverse) }}",
            "{{ x|attr('%sglobals%s'|format('__','__')) }}",
            "{{ x|attr('__GLOBALS__'|lower) }}",
            "{{ x[('__glob' + 'als__')] }}",
            "{{ x|attr('__globals__XX'[:-2]) }}",
            "{{ x|attr('__slabolg__'[::-1]) }}",
            "{{ x['__glo' 'bals__'] }}",
            "{{ x|attr('%c%cglobals%c%c'|format(95, 95, 95, 95)) }}",
            "{{ x|attr('__globalz__'|replace('z', 's')) }}",
            "{{ '{0.__globals__}'.format(cycler.__init__) }}",
            "{% set n = 'safe' %}{% if false %}{% set n = '__globals__' %}{% endif %}{{ f|attr(n) }}",
            "{{ x|map(attribute='__init__.__globals__')|list }}",
            "{{ x|map('attr', '__globals__')|list }}",
            "{{ f.func_globals }}",
            "{{ g.gi_frame.f_back.f_globals }}",
        ] {
            assert_eq!(worst(t), Some(Severity::Critical), "{t}");
        }
    }

    #[test]
    fn partial_chains_are_high() {
        for t in [
            "{{ ''.__class__ }}",
            "{{ ''|attr(name) }}",
            "{{ x.__class__.__mro__ }}",
            "{% include 'other.j2' %}",
            "{% import 'macros.j2' as m %}",
            "{{ x.popen('ls') }}",
            "{% set n = '__cl' ~ 'ass__' %}{{ n }}",
        ] {
            assert_eq!(worst(t), Some(Severity::High), "{t}");
        }
    }

    #[test]
    fn ordinary_templates_are_clean() {
        for t in [
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
            "{%- set ns = namespace(found=false) -%}{%- for m in messages -%}{%- if m.role == 'system' -%}{%- set ns.found = true -%}{%- endif -%}{%- endfor -%}{{ messages|map(attribute='content')|join('\\n') }}",
            "{% generation %}{{ message.content | trim }}{% endgeneration %}",
            "{{ raise_exception('Conversation roles must alternate') }}{{ tools|tojson(indent=4) }}{{ x.items()|list }}",
        ] {
            assert_eq!(worst(t), None, "{t}");
        }
    }

    #[test]
    fn unparsable_escapes_are_still_seen() {
        // Jinja2 accepts a call after a filter; minijinja does not.
        let r = analyze(
            "{{ ''|attr('_'*2~'class'~'_'*2)|attr('_'*2~'base'~'_'*2)|attr('_'*2~'subclasses'~'_'*2)() }}",
            &Limits::default(),
        );
        assert!(r.unparsed.is_some());
        assert_eq!(
            r.hits.iter().map(|h| h.severity).max(),
            Some(Severity::Critical)
        );
        let r = analyze("{{ x|attr('__glo' 'bals__')() }}", &Limits::default());
        assert_eq!(
            r.hits.iter().map(|h| h.severity).max(),
            Some(Severity::Critical)
        );
        // A variable named like a command function is not a call of it.
        let r = analyze("{% if system %}{{ x|trim() }}{% endif", &Limits::default());
        assert!(r.unparsed.is_some() && r.hits.is_empty(), "{:?}", r.hits);
        let r = analyze("{{ x|attr(a)() }}", &Limits::default());
        assert_eq!(
            r.hits.iter().map(|h| h.severity).max(),
            Some(Severity::High)
        );
    }

    #[test]
    fn parse_failures_and_limits_are_reported() {
        let r = analyze("{% for %}", &Limits::default());
        assert!(r.unparsed.is_some());
        let l = Limits {
            max_template_bytes: 4,
            ..Limits::default()
        };
        assert!(analyze("{{ hello }}", &l).unparsed.is_some());
        // A long operator chain is refused before the AST is built.
        let long = format!("{{{{ {} }}}}", vec!["'a'"; 2000].join(" ~ "));
        assert!(analyze(&long, &Limits::default()).unparsed.is_some());
        let ok = format!("{{{{ {} }}}}", vec!["'a'"; 400].join(" ~ "));
        assert!(analyze(&ok, &Limits::default()).unparsed.is_none());
        // The deepest trees the token limit lets through fit a 2 MiB thread stack.
        let deep = format!("{{{{ {} }}}}", vec!["'a'"; 499].join(" ~ "));
        let chain = format!("{{{{ x{} }}}}", ".a".repeat(498));
        let filters = format!("{{{{ x{} }}}}", "|f".repeat(498));
        for t in [deep, chain, filters] {
            let r = std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || analyze(&t, &Limits::default()).unparsed)
                .unwrap()
                .join()
                .unwrap();
            assert!(r.is_none(), "{r:?}");
        }
    }

    #[test]
    fn generation_tags_are_stripped_in_place() {
        let s = "a{%- generation -%}b{% endgeneration %}c{% if x %}";
        let t = strip_extension_tags(s);
        assert_eq!(t.len(), s.len());
        assert!(t.starts_with("a ") && t.contains('b') && t.ends_with("c{% if x %}"));
    }
}
