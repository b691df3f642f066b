//! Chat templates (Jinja2) parsed with minijinja's parser and analysed for sandbox escapes,
//! without rendering anything.
//!
//! Jinja's sandbox is the only thing between a template and the Python process that renders
//! it (llama-cpp-python rendered GGUF templates without one: CVE-2024-34359). Escapes walk
//! Python object internals: `().__class__.__base__.__subclasses__()`,
//! `cycler.__init__.__globals__.os.popen(...)`, usually with the names hidden from string
//! searches (`|attr('_'*2 ~ 'class' ~ '_'*2)`, `|join`, `|reverse`, `|format`, slicing).
//!
//! The analysis is an abstract interpretation of the render (`jinja2.compiler`'s semantics):
//! statements run in order over abstract values (`Abs`: known strings, strings of which
//! only the ends are known, numbers, lists, dicts, the objects the template can reach —
//! `lipsum`, `cycler`, `joiner`, `namespace`, `range`, `dict`, `self`, `loop`, macros,
//! functions — or unknown template input). Blocks, macros and `caller()` give their rendered
//! text, so names built by `{% set %}…{% endset %}`, `{% filter %}`, macro return values,
//! `(lipsum|string)[i]`, `|tojson`, `|pprint`, `groupby`, `|join`, or loops accumulating in
//! a namespace are known when the template is. Jinja's subscript falls back to the
//! attribute and `getattr` to the item: both are one access. Every name accessed is
//! checked; a name that cannot be computed, used on one of those objects, is a finding
//! (fail closed).

use std::collections::{HashMap, HashSet};

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
];

/// Longest string built by constant folding; longer values are unknown.
const MAX_FOLD: usize = 4096;
/// Alternatives kept per value (a variable assigned in several places).
const MAX_ALTS: usize = 16;
/// Tokens in one `{{ }}` or `{% %}` block: bounds the depth of the AST (minijinja builds
/// operator chains as left-deep trees, and dropping or walking them recurses).
const MAX_BLOCK_TOKENS: usize = 1000;

/// One suspicious construct.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
    let run = |mutable: bool, trim: bool| {
        let mut an = An {
            src: text,
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
        };
        let mut st = State::default();
        an.stmt(&ast, &mut st);
        an
    };
    let mut an = run(false, false);
    let mutable = an.saw_mutator;
    if mutable {
        // The template may change lists and dicts in place (`x.append(…)`): evaluate again
        // with no list or dict content taken as known.
        an = run(true, false);
    }
    let mut all = std::mem::take(&mut an.hits);
    let mut cut = an.steps > MAX_STEPS;
    if an.trim_matters {
        // Text between tags differs with `trim_blocks`/`lstrip_blocks` (Transformers and
        // llama-cpp-python set both): render that way too.
        let mut b = run(mutable, true);
        all.append(&mut b.hits);
        cut |= b.steps > MAX_STEPS;
    }
    if cut {
        // The cheap mode past the budget is still sound, but say the evaluation was cut.
        rep.unparsed = Some(format!(
            "template evaluation stopped after {MAX_STEPS} steps (loops and macro calls no longer expanded)"
        ));
    }
    let mut hits: Vec<Hit> = Vec::new();
    for h in all {
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
            let joined: String = terms.iter().filter_map(K::plain).collect();
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
    /// A dict with string keys, in insertion order.
    Map(Vec<(String, K)>),
    /// A string of which only the start and the end are known: `(lipsum|string)` is
    /// `<function generate_lorem_ipsum at 0x…>`. The two parts may overlap.
    Pat(String, String),
}

impl K {
    fn from_value(v: &Value) -> Option<K> {
        use minijinja::value::ValueKind;
        match v.kind() {
            ValueKind::String => v.as_str().map(|s| K::Str(s.to_string())),
            ValueKind::Number => v.as_i64().map(K::Int),
            ValueKind::Seq => {
                let items: Option<Vec<K>> = v
                    .try_iter()
                    .ok()?
                    .take(256)
                    .map(|x| K::from_value(&x))
                    .collect();
                items.map(K::List)
            }
            ValueKind::Map => {
                let mut m = Vec::new();
                for k in v.try_iter().ok()?.take(256) {
                    let val = v.get_item(&k).ok()?;
                    m.push((k.as_str()?.to_string(), K::from_value(&val)?));
                }
                Some(K::Map(m))
            }
            _ => None,
        }
    }

    /// The value as `str(v)` renders it: a `Str` or a `Pat`.
    fn text(&self) -> Option<K> {
        match self {
            K::Str(_) | K::Pat(..) => Some(self.clone()),
            K::Int(i) => Some(K::Str(i.to_string())),
            K::List(_) | K::Map(_) => Some(match py_repr(self) {
                Some(s) => norm_str(s),
                None if matches!(self, K::List(_)) => K::Pat("[".into(), "]".into()),
                None => K::Pat("{".into(), "}".into()),
            }),
        }
    }

    /// `str(v)` of a string or a number.
    fn plain(&self) -> Option<String> {
        match self {
            K::Str(s) => Some(s.clone()),
            K::Int(i) => Some(i.to_string()),
            _ => None,
        }
    }

    fn is_text(&self) -> bool {
        matches!(self, K::Str(_) | K::Pat(..))
    }
}

/// A string as a `K`: over [`MAX_FOLD`] bytes only its ends are kept.
fn norm_str(s: String) -> K {
    if s.len() <= MAX_FOLD {
        K::Str(s)
    } else {
        pat(s.clone(), s)
    }
}

/// A `Pat` with both parts cut to [`MAX_FOLD`] bytes (the start of the prefix, the end
/// of the suffix): a shorter known part is a weaker, still true, statement.
fn pat(mut pre: String, suf: String) -> K {
    if pre.len() > MAX_FOLD {
        let mut i = MAX_FOLD;
        while !pre.is_char_boundary(i) {
            i -= 1;
        }
        pre.truncate(i);
    }
    let suf = if suf.len() > MAX_FOLD {
        let mut i = suf.len() - MAX_FOLD;
        while !suf.is_char_boundary(i) {
            i += 1;
        }
        suf.get(i..).unwrap_or_default().to_string()
    } else {
        suf
    };
    K::Pat(pre, suf)
}

/// String concatenation of two text values.
fn cat(a: &K, b: &K) -> Option<K> {
    Some(match (a.text()?, b.text()?) {
        (K::Str(x), K::Str(y)) => norm_str(x + &y),
        (K::Str(x), K::Pat(p, s)) => pat(x + &p, s),
        (K::Pat(p, s), K::Str(y)) => pat(p, s + &y),
        (K::Pat(p, _), K::Pat(_, s)) => pat(p, s),
        _ => return None,
    })
}

/// Python's `repr` (and `pprint.pformat` for short values) of a constant.
fn py_repr(k: &K) -> Option<String> {
    Some(match k {
        K::Str(s) => {
            let q = if s.contains('\'') && !s.contains('"') {
                '"'
            } else {
                '\''
            };
            let mut out = String::from(q);
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c == q => {
                        out.push('\\');
                        out.push(c);
                    }
                    c if c.is_control() => return None,
                    c => out.push(c),
                }
            }
            out.push(q);
            out
        }
        K::Int(i) => i.to_string(),
        K::List(l) => {
            let parts: Option<Vec<String>> = l.iter().map(py_repr).collect();
            format!("[{}]", parts?.join(", "))
        }
        K::Map(m) => {
            let parts: Option<Vec<String>> = m
                .iter()
                .map(|(k, v)| Some(format!("{}: {}", py_repr(&K::Str(k.clone()))?, py_repr(v)?)))
                .collect();
            format!("{{{}}}", parts?.join(", "))
        }
        K::Pat(..) => return None,
    })
}

/// `json.dumps(v, sort_keys=True)` then Jinja's `htmlsafe_json_dumps` escapes (the `tojson`
/// filter).
fn to_json(k: &K) -> Option<String> {
    Some(match k {
        K::Str(s) => {
            let mut out = String::from('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '<' | '>' | '&' | '\'' => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c if c.is_ascii() && !c.is_control() => out.push(c),
                    c => {
                        let mut buf = [0u16; 2];
                        for u in c.encode_utf16(&mut buf) {
                            out.push_str(&format!("\\u{u:04x}"));
                        }
                    }
                }
            }
            out.push('"');
            out
        }
        K::Int(i) => i.to_string(),
        K::List(l) => {
            let parts: Option<Vec<String>> = l.iter().map(to_json).collect();
            format!("[{}]", parts?.join(", "))
        }
        K::Map(m) => {
            let mut m = m.clone();
            m.sort_by(|a, b| a.0.cmp(&b.0));
            m.dedup_by(|a, b| a.0 == b.0);
            let parts: Option<Vec<String>> = m
                .iter()
                .map(|(k, v)| Some(format!("{}: {}", to_json(&K::Str(k.clone()))?, to_json(v)?)))
                .collect();
            format!("{{{}}}", parts?.join(", "))
        }
        K::Pat(..) => return None,
    })
}

/// Objects a template can reach that are not plain data: their attributes lead to Python
/// internals (`lipsum.__globals__`, `cycler.__init__.__globals__`, `self._TemplateReference__context`).
mod obj {
    pub const LIPSUM: u32 = 1;
    pub const CYCLER: u32 = 1 << 1;
    pub const JOINER: u32 = 1 << 2;
    pub const NAMESPACE: u32 = 1 << 3;
    pub const RANGE: u32 = 1 << 4;
    pub const DICT: u32 = 1 << 5;
    pub const SELF: u32 = 1 << 6;
    pub const LOOP: u32 = 1 << 7;
    /// A function, builtin, method or other callable (macros are tracked by id).
    pub const FUNC: u32 = 1 << 8;
    pub const NS_INST: u32 = 1 << 9;
    pub const CYCLER_INST: u32 = 1 << 10;
    pub const JOINER_INST: u32 = 1 << 11;
    pub const CONTEXT: u32 = 1 << 12;
    /// Reached by an item name computed at render time: may be anything of its base.
    pub const COMPUTED: u32 = 1 << 13;
    /// Objects whose attributes lead to code (all but `COMPUTED`).
    pub const SENSITIVE: u32 = COMPUTED - 1;

    pub const NAMES: &[(u32, &str)] = &[
        (LIPSUM, "lipsum"),
        (CYCLER, "cycler"),
        (JOINER, "joiner"),
        (NAMESPACE, "namespace"),
        (RANGE, "range"),
        (DICT, "dict"),
        (SELF, "self"),
        (LOOP, "loop"),
        (FUNC, "a function"),
        (NS_INST, "a namespace"),
        (CYCLER_INST, "a cycler"),
        (JOINER_INST, "a joiner"),
        (CONTEXT, "the render context"),
        (COMPUTED, "a value reached by a computed name"),
    ];
}

/// `str()` of an object: what Jinja2 3.1 renders (CPython reprs).
fn obj_text(o: u32) -> K {
    let s = |x: &str| K::Str(x.into());
    let p = |a: &str, b: &str| K::Pat(a.into(), b.into());
    match o {
        obj::LIPSUM => p("<function generate_lorem_ipsum at 0x", ">"),
        obj::CYCLER => s("<class 'jinja2.utils.Cycler'>"),
        obj::JOINER => s("<class 'jinja2.utils.Joiner'>"),
        obj::NAMESPACE => s("<class 'jinja2.utils.Namespace'>"),
        obj::RANGE => s("<class 'range'>"),
        obj::DICT => s("<class 'dict'>"),
        obj::SELF => p("<TemplateReference ", ">"),
        obj::LOOP => p("<LoopContext ", ">"),
        obj::NS_INST => p("<Namespace {", "}>"),
        obj::CYCLER_INST => p("<jinja2.utils.Cycler object at 0x", ">"),
        obj::JOINER_INST => p("<jinja2.utils.Joiner object at 0x", ">"),
        obj::FUNC | obj::CONTEXT => p("<", ">"),
        _ => p("", ""),
    }
}

/// What the analysis knows of a value at one point of the render.
#[derive(Debug, Clone, PartialEq)]
struct Abs {
    /// Known alternatives.
    vals: Vec<K>,
    /// The value may also be something not described otherwise (template input, …).
    any: bool,
    /// That unknown part is a number or a boolean (never an attribute name).
    num: bool,
    /// Objects (`obj::*`) the value may be or contain.
    objs: u32,
    /// Namespace instances (allocation sites) it may be or contain.
    ns: Vec<u32>,
    /// Macros it may be.
    macros: Vec<usize>,
    /// Internal names crossed to reach this value (`__class__`, `__globals__`…): taint.
    chain: Vec<String>,
}

impl Default for Abs {
    /// Unknown template data.
    fn default() -> Self {
        Abs {
            vals: vec![],
            any: true,
            num: false,
            objs: 0,
            ns: vec![],
            macros: vec![],
            chain: vec![],
        }
    }
}

impl Abs {
    fn bottom() -> Abs {
        Abs {
            any: false,
            ..Abs::default()
        }
    }

    fn konst(k: K) -> Abs {
        Abs {
            vals: vec![k],
            ..Abs::bottom()
        }
    }

    fn num() -> Abs {
        Abs {
            num: true,
            ..Abs::default()
        }
    }

    fn object(o: u32) -> Abs {
        Abs {
            objs: o,
            ..Abs::bottom()
        }
    }

    fn tainted(chain: Vec<String>) -> Abs {
        Abs {
            chain,
            ..Abs::default()
        }
    }

    /// Unknown text: a string of which nothing is known.
    fn text_top() -> Abs {
        Abs::konst(K::Pat(String::new(), String::new()))
    }

    fn from_vals(vals: Vec<K>) -> Abs {
        let mut a = Abs::bottom();
        for v in vals {
            a.add(v);
        }
        a
    }

    /// The same taint (objects, namespaces, macros, chain) on an unknown value.
    fn keep_taint(&self) -> Abs {
        Abs {
            objs: self.objs,
            ns: self.ns.clone(),
            macros: self.macros.clone(),
            chain: self.chain.clone(),
            ..Abs::default()
        }
    }

    fn sensitive(&self) -> bool {
        self.objs & obj::SENSITIVE != 0
            || !self.ns.is_empty()
            || !self.macros.is_empty()
            || !self.chain.is_empty()
    }

    /// The value may be a string the analysis does not know: as a name it is unknown.
    fn name_unknown(&self) -> bool {
        (self.any && !self.num) || self.vals.iter().any(|k| matches!(k, K::Pat(..)))
    }

    fn strs(&self) -> impl Iterator<Item = &str> {
        self.vals.iter().filter_map(|k| match k {
            K::Str(s) => Some(s.as_str()),
            _ => None,
        })
    }

    fn ints(&self) -> Vec<i64> {
        self.vals
            .iter()
            .filter_map(|k| match k {
                K::Int(i) => Some(*i),
                _ => None,
            })
            .collect()
    }

    fn single(&self) -> Option<&K> {
        match self.vals.as_slice() {
            [k] if !self.any && self.objs == 0 && self.ns.is_empty() && self.macros.is_empty() => {
                Some(k)
            }
            _ => None,
        }
    }

    fn add(&mut self, k: K) -> bool {
        if self.vals.contains(&k) {
            return false;
        }
        self.vals.push(k);
        if self.vals.len() > MAX_ALTS {
            self.collapse();
        }
        true
    }

    /// Too many alternatives: strings become their common prefix and suffix, anything
    /// else unknown.
    fn collapse(&mut self) {
        if self.vals.iter().all(K::is_text) {
            let ends: Vec<(String, String)> = self
                .vals
                .iter()
                .map(|k| match k {
                    K::Str(s) => (s.clone(), s.clone()),
                    K::Pat(p, s) => (p.clone(), s.clone()),
                    _ => (String::new(), String::new()),
                })
                .collect();
            let mut pre = ends.first().map(|e| e.0.clone()).unwrap_or_default();
            let mut suf = ends.first().map(|e| e.1.clone()).unwrap_or_default();
            for (p, s) in &ends {
                let n = pre
                    .chars()
                    .zip(p.chars())
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a.len_utf8())
                    .sum();
                pre.truncate(n);
                let m: usize = suf
                    .chars()
                    .rev()
                    .zip(s.chars().rev())
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a.len_utf8())
                    .sum();
                suf = suf.get(suf.len() - m..).unwrap_or_default().to_string();
            }
            self.vals = vec![K::Pat(pre, suf)];
        } else {
            let all_int = self.vals.iter().all(|k| matches!(k, K::Int(_)));
            self.num = all_int && (!self.any || self.num);
            self.any = true;
            self.vals.clear();
        }
    }

    fn join(&mut self, o: &Abs) -> bool {
        let before = (self.vals.len(), self.any, self.num, self.objs);
        let mut changed = false;
        for v in &o.vals {
            changed |= self.add(v.clone());
        }
        if o.any {
            self.num = if self.any { self.num && o.num } else { o.num };
            self.any = true;
        }
        self.objs |= o.objs;
        for n in &o.ns {
            if !self.ns.contains(n) && self.ns.len() < 64 {
                self.ns.push(*n);
                changed = true;
            }
        }
        for m in &o.macros {
            if !self.macros.contains(m) && self.macros.len() < 64 {
                self.macros.push(*m);
                changed = true;
            }
        }
        for c in &o.chain {
            if self.chain.len() < 64 && !self.chain.contains(c) {
                self.chain.push(c.clone());
                changed = true;
            }
        }
        changed || before != (self.vals.len(), self.any, self.num, self.objs)
    }

    /// Every string the value may render as (`{{ v }}`, `~`): constants, object reprs,
    /// and an unknown string for unknown values.
    fn texts(&self) -> Vec<K> {
        let mut out: Vec<K> = self.vals.iter().filter_map(K::text).collect();
        for (o, _) in obj::NAMES {
            if self.objs & o != 0 {
                out.push(obj_text(*o));
            }
        }
        if !self.ns.is_empty() {
            out.push(obj_text(obj::NS_INST));
        }
        if !self.macros.is_empty() {
            out.push(K::Pat("<Macro ".into(), ">".into()));
        }
        if self.any {
            out.push(if self.num {
                // Digits, `True`, `False`, `None`, floats: never a dunder, unknown all the same.
                K::Pat(String::new(), String::new())
            } else {
                K::Pat(String::new(), String::new())
            });
        }
        out
    }

    fn as_text(&self) -> Abs {
        Abs::from_vals(self.texts())
    }

    /// What iterating (or indexing) the value gives: items of known lists, characters,
    /// keys; objects and taint are kept (a list holding `lipsum` yields `lipsum`).
    fn element(&self) -> Abs {
        let mut out = Abs {
            any: self.any,
            num: false,
            ..self.keep_taint()
        };
        if !self.ns.is_empty() || self.objs & obj::LOOP != 0 {
            out.any = true;
        }
        for v in &self.vals {
            match v {
                K::List(l) => l.iter().for_each(|k| {
                    out.add(k.clone());
                }),
                K::Str(s) => s.chars().take(256).for_each(|c| {
                    out.add(K::Str(c.to_string()));
                }),
                K::Map(m) => m.iter().for_each(|(k, _)| {
                    out.add(K::Str(k.clone()));
                }),
                K::Pat(..) => {
                    out.add(K::Pat(String::new(), String::new()));
                }
                K::Int(_) => {}
            }
        }
        out
    }
}

/// Fold `f` over every pair of alternatives.
fn product(a: &[K], b: &[K], f: impl Fn(&K, &K) -> Option<K>) -> Abs {
    let mut out = Abs::bottom();
    for x in a {
        for y in b {
            match f(x, y) {
                Some(k) => {
                    out.add(k);
                }
                None => out.any = true,
            }
        }
    }
    out
}

/// `a ~ b`: both sides as strings.
fn concat(a: &Abs, b: &Abs) -> Abs {
    let mut r = product(&a.texts(), &b.texts(), cat);
    if r.vals.is_empty() && !r.any {
        // An empty side (nothing known to render): the other side alone.
        r = Abs::text_top();
    }
    r
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
            's' | 'd' | 'i' => match it.next()?.text()? {
                K::Str(s) => out.push_str(&s),
                _ => return None,
            },
            'r' => out.push_str(&py_repr(it.next()?)?),
            'c' => match it.next()? {
                K::Int(i) => out.push(char::from_u32(u32::try_from(*i).ok()?)?),
                K::Str(s) => out.push_str(s),
                _ => return None,
            },
            _ => return None,
        }
        if out.len() > MAX_FOLD {
            return None;
        }
    }
    Some(out)
}

/// Jinja2's decoding of a string literal's body (`jinja2.lexer.Lexer.wrap`): newlines
/// normalised, non-ASCII characters `backslashreplace`d, then Python's `unicode-escape`
/// codec. `None` when the codec would fail or a `\N{…}` name is not in the small table.
fn jinja_unescape(body: &str) -> Option<String> {
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let mut ascii = String::with_capacity(body.len());
    for c in body.chars() {
        match c as u32 {
            0..=0x7f => ascii.push(c),
            n @ 0x80..=0xff => ascii.push_str(&format!("\\x{n:02x}")),
            n @ 0x100..=0xffff => ascii.push_str(&format!("\\u{n:04x}")),
            n => ascii.push_str(&format!("\\U{n:08x}")),
        }
    }
    let mut out = String::new();
    let mut it = ascii.chars().peekable();
    let hex = |it: &mut std::iter::Peekable<std::str::Chars<'_>>, n: usize| -> Option<char> {
        let mut v = 0u32;
        for _ in 0..n {
            v = v * 16 + it.next()?.to_digit(16)?;
        }
        char::from_u32(v)
    };
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next()? {
            '\n' => {}
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            d @ '0'..='7' => {
                let mut v = d.to_digit(8)?;
                for _ in 0..2 {
                    match it.peek().and_then(|c| c.to_digit(8)) {
                        Some(x) => {
                            v = v * 8 + x;
                            it.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v)?);
            }
            'x' => out.push(hex(&mut it, 2)?),
            'u' => out.push(hex(&mut it, 4)?),
            'U' => out.push(hex(&mut it, 8)?),
            'N' => {
                if it.next()? != '{' {
                    return None;
                }
                let name: String = it.by_ref().take_while(|c| *c != '}').collect();
                out.push(unicode_name(&name)?);
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
        if out.len() > MAX_FOLD {
            return None;
        }
    }
    Some(out)
}

/// The characters of attribute names by Unicode name (`\N{LOW LINE}`): ASCII letters,
/// digits, `_`, `.`, space.
fn unicode_name(name: &str) -> Option<char> {
    let n = name.to_ascii_uppercase();
    let n = n.trim();
    let simple = [
        ("LOW LINE", '_'),
        ("FULL STOP", '.'),
        ("SPACE", ' '),
        ("SOLIDUS", '/'),
        ("HYPHEN-MINUS", '-'),
    ];
    if let Some((_, c)) = simple.iter().find(|(k, _)| *k == n) {
        return Some(*c);
    }
    let digits = [
        "ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE",
    ];
    if let Some(d) = n.strip_prefix("DIGIT ") {
        return digits
            .iter()
            .position(|x| *x == d)
            .and_then(|i| char::from_digit(i as u32, 10));
    }
    let letter = |rest: &str| -> Option<char> {
        let mut cs = rest.chars();
        match (cs.next(), cs.next()) {
            (Some(c), None) if c.is_ascii_uppercase() => Some(c),
            _ => None,
        }
    };
    if let Some(r) = n.strip_prefix("LATIN SMALL LETTER ") {
        return letter(r).map(|c| c.to_ascii_lowercase());
    }
    if let Some(r) = n.strip_prefix("LATIN CAPITAL LETTER ") {
        return letter(r);
    }
    None
}

/// `str.format` with plain fields (`{}`, `{0}`, `{name}`, `{{`, `}}`); `None` for anything
/// else (conversions, format specs, attribute fields).
fn str_format(fmt: &str, pos: &[K], named: &[(String, K)]) -> Option<String> {
    use modelguard_pycode::strfmt::{Field, brace_format};
    brace_format(fmt, MAX_FOLD, |field| match field {
        Field::Auto(i) | Field::Index(i) => pos.get(i)?.plain(),
        Field::Name(n) => named.iter().find(|(k, _)| k == n)?.1.plain(),
    })
}

/// Python slicing of a sequence of `n` items: the indices taken.
fn slice_indices(n: usize, start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> Vec<usize> {
    let n = n as i64;
    let step = step.unwrap_or(1);
    if step == 0 {
        return vec![];
    }
    let norm = |v: i64, lo: i64, hi: i64| {
        let v = if v < 0 { v.saturating_add(n) } else { v };
        v.clamp(lo, hi)
    };
    let mut out = Vec::new();
    if step > 0 {
        let a = start.map_or(0, |s| norm(s, 0, n));
        let b = stop.map_or(n, |s| norm(s, 0, n));
        let mut i = a;
        while i < b {
            out.push(i as usize);
            i = i.saturating_add(step);
        }
    } else {
        let a = start.map_or(n - 1, |s| norm(s, -1, n - 1));
        let b = stop.map_or(-1, |s| norm(s, -1, n - 1));
        let mut i = a;
        while i > b {
            out.push(i as usize);
            i = i.saturating_add(step);
        }
    }
    out
}

/// A slice of a string of which only the ends are known: known when it falls inside the
/// prefix (non-negative bounds) or inside the suffix (negative bounds).
fn slice_pat(pre: &str, suf: &str, a: Option<i64>, b: Option<i64>, step: Option<i64>) -> K {
    let step = step.unwrap_or(1);
    let unknown = K::Pat(String::new(), String::new());
    if step <= 0 {
        return unknown;
    }
    let take = |chars: &[char], lo: i64, hi: i64| -> K {
        let (Ok(lo), Ok(hi)) = (usize::try_from(lo), usize::try_from(hi)) else {
            return K::Pat(String::new(), String::new());
        };
        K::Str(
            (lo..hi.min(chars.len()))
                .step_by(usize::try_from(step).unwrap_or(1))
                .filter_map(|i| chars.get(i))
                .collect(),
        )
    };
    let p: Vec<char> = pre.chars().collect();
    let s: Vec<char> = suf.chars().collect();
    let (pl, sl) = (p.len() as i64, s.len() as i64);
    match (a.unwrap_or(0), b) {
        (a, Some(b)) if a >= 0 && b >= 0 && b <= pl => take(&p, a, b.max(a)),
        (a, Some(b)) if a < 0 && b < 0 && -a <= sl => take(&s, sl + a, (sl + b).max(sl + a)),
        (a, None) if a < 0 && -a <= sl => take(&s, sl + a, sl),
        _ => unknown,
    }
}

/// The character at index `i` of a string of which only the ends are known.
fn index_pat(pre: &str, suf: &str, i: i64) -> K {
    let c = if i >= 0 {
        usize::try_from(i).ok().and_then(|i| pre.chars().nth(i))
    } else {
        usize::try_from(-i - 1)
            .ok()
            .and_then(|j| suf.chars().rev().nth(j))
    };
    c.map_or(K::Pat(String::new(), String::new()), |c| {
        K::Str(c.to_string())
    })
}

/// Python `str.title()`.
fn py_title(s: &str) -> String {
    let mut out = String::new();
    let mut prev_cased = false;
    for c in s.chars() {
        if prev_cased {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        prev_cased = c.is_alphabetic();
    }
    out
}

/// Python `str.capitalize()`.
fn py_capitalize(s: &str) -> String {
    let mut it = s.chars();
    match it.next() {
        Some(c) => c
            .to_uppercase()
            .chain(it.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// `markupsafe.escape` of a string.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// Everything the render may have in its variables and namespaces at one point.
#[derive(Debug, Clone, Default)]
struct State {
    env: HashMap<String, Abs>,
    /// Namespace attributes by (allocation site, name): shared by every scope.
    heap: Heap,
}

/// Namespace attributes by (allocation site, attribute name).
type Heap = HashMap<(u32, String), Abs>;

impl State {
    fn join(&mut self, o: &State) -> bool {
        let mut changed = join_map(&mut self.env, &o.env);
        changed |= join_map(&mut self.heap, &o.heap);
        changed
    }
}

fn join_map<Q: Clone + Eq + std::hash::Hash>(a: &mut HashMap<Q, Abs>, b: &HashMap<Q, Abs>) -> bool {
    let mut changed = false;
    for (k, v) in b {
        match a.get_mut(k) {
            Some(x) => changed |= x.join(v),
            None => {
                a.insert(k.clone(), v.clone());
                changed = true;
            }
        }
    }
    changed
}

/// Passes over a loop body whose items are unknown before values that still change are
/// widened to unknown.
const WIDEN_AFTER: usize = 3;
/// Items of a known list a loop is unrolled over.
const MAX_UNROLL: usize = 64;
/// Depth of macro calls evaluated (recursion included).
const MAX_CALL_DEPTH: usize = 8;
/// Expressions evaluated before loops and macro calls stop being expanded.
const MAX_STEPS: usize = 200_000;

/// Methods that change a list, dict or set in place.
const MUTATORS: &[&str] = &[
    "append",
    "extend",
    "insert",
    "update",
    "setdefault",
    "add",
    "pop",
    "popitem",
    "clear",
    "remove",
    "discard",
    "reverse",
    "sort",
];

/// Filters that render their input as text in ways not modelled here.
const TEXT_FILTERS: &[&str] = &[
    "center",
    "indent",
    "wordwrap",
    "truncate",
    "striptags",
    "urlencode",
    "urlize",
    "xmlattr",
    "filesizeformat",
    "forceescape",
];

/// Filters whose result is a number or a boolean.
const NUM_FILTERS: &[&str] = &[
    "length",
    "count",
    "wordcount",
    "int",
    "float",
    "round",
    "abs",
];

/// Abstract interpreter: renders the template over abstract values, in order, as Jinja2
/// does (`jinja2.compiler.CodeGenerator`): loops and macros have their own scope,
/// `{% set %}` inside a loop does not leak out of it, namespace attributes do.
struct An<'a> {
    src: &'a str,
    hits: Vec<Hit>,
    /// Extent of the outermost expression being evaluated.
    outer: Option<(u32, u32)>,
    /// Hits inside that expression, which becomes their evidence.
    pending: Vec<Hit>,
    seen: HashSet<Hit>,
    macros: Vec<&'a ast::Macro<'a>>,
    macro_ids: HashMap<usize, usize>,
    depth: usize,
    steps: usize,
    /// Macro calls evaluated, by macro, arguments and state: a recursive macro called
    /// from loops (Hermes' `json_to_python_type`) is evaluated once per distinct call.
    memo: HashMap<u64, (Abs, Heap)>,
    /// Calls being evaluated: a call that recurses with the same inputs renders unknown text.
    active: Vec<u64>,
    /// Per enclosing loop: the states met at `{% continue %}` and at `{% break %}`.
    loops: Vec<(Option<State>, Option<State>)>,
    /// Lists and dicts may be changed in place: their contents are never known.
    mutable: bool,
    /// A method that changes a list or dict in place was reached.
    saw_mutator: bool,
    /// Render text between tags as Jinja2 does with `trim_blocks` and `lstrip_blocks`.
    trim: bool,
    /// Some text between tags differs in that mode.
    trim_matters: bool,
}

impl<'a> An<'a> {
    fn hit(&mut self, severity: Severity, what: String, span: Span) {
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
        if self.outer.is_some() {
            if self.pending.len() < 4096 {
                self.pending.push(h);
            }
        } else {
            self.finalize(h);
        }
    }

    /// Record a hit once (loop passes and macro calls evaluate expressions again).
    fn finalize(&mut self, h: Hit) {
        if self.hits.len() < 4096 && self.seen.insert(h.clone()) {
            self.hits.push(h);
        }
    }

    /// Template text as rendered: as is, or (in `trim` mode) without the newline after a
    /// block tag (`trim_blocks`) and the spaces and tabs before one at a line start
    /// (`lstrip_blocks`), as `jinja2.lexer.Lexer.tokeniter` does.
    fn trimmed(&mut self, raw: &str, span: Span) -> String {
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

    fn exhausted(&self) -> bool {
        self.steps > MAX_STEPS
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

    fn bind_target(&mut self, target: &'a Expr<'a>, v: &Abs, st: &mut State) {
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

    fn stmts(&mut self, list: &'a [Stmt<'a>], st: &mut State) -> Abs {
        let mut out = Abs::konst(K::Str(String::new()));
        for s in list {
            let o = self.stmt(s, st);
            out = concat(&out, &o);
        }
        out
    }

    /// Evaluate a statement; returns what it renders.
    fn stmt(&mut self, s: &'a Stmt<'a>, st: &mut State) -> Abs {
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
                    Severity::High,
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
                    Severity::High,
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
                    Severity::High,
                    "{% extends %} another template".into(),
                    e.span(),
                );
                Abs::text_top()
            }
            Stmt::Include(i) => {
                self.expr(&i.name, st);
                self.hit(
                    Severity::High,
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
    fn define_macro(&mut self, m: &'a ast::Macro<'a>, st: &mut State) -> usize {
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

    fn call_macro(
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

    fn for_loop(&mut self, f: &'a ast::ForLoop<'a>, st: &mut State) -> Abs {
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
    fn loop_body(
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
    fn expr_with_input(&mut self, filter: &'a Expr<'a>, input: Abs, st: &mut State) -> Abs {
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

    /// Check an attribute or item name accessed on `base` (Jinja's `getattr` falls back to
    /// the item and `getitem` to the attribute: both are the same access); returns what
    /// the access gives.
    fn access(&mut self, base: &Abs, name: &str, span: Span, st: &mut State) -> Abs {
        if MUTATORS.contains(&name) && base.chain.is_empty() {
            self.saw_mutator = true;
        }
        let dunder = name.len() > 4 && name.starts_with("__") && name.ends_with("__");
        let mut chain = base.chain.clone();
        let mut internal = true;
        if ESCAPE.contains(&name) {
            self.hit(Severity::Critical, format!("attribute {name}"), span);
        } else if dunder || name == "mro" {
            self.hit(Severity::High, format!("attribute {name}"), span);
        } else if name.starts_with('_') {
            self.hit(Severity::Medium, format!("private attribute {name}"), span);
        } else {
            internal = false;
            if !base.chain.is_empty() && EXEC.contains(&name) {
                self.hit(
                    Severity::Critical,
                    format!("{name} reached through {}", base.chain.join(".")),
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
    fn subscript(
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
                self.hit(
                    Severity::High,
                    format!("name computed at render time used as an attribute of {what}"),
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
                    Severity::High,
                    "chain of names computed at render time".into(),
                    span,
                );
                out.join(&Abs {
                    objs: obj::COMPUTED | obj::FUNC,
                    ..Abs::tainted(vec!["<computed>".into()])
                });
            } else if attr_filter {
                self.hit(
                    Severity::High,
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

    fn index(&self, base: &Abs, i: i64) -> Abs {
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

    fn args(&mut self, args: &'a [CallArg<'a>], st: &mut State) -> (Vec<Abs>, Vec<(String, Abs)>) {
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

    fn expr(&mut self, e: &'a Expr<'a>, st: &mut State) -> Abs {
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
    fn string_literal(&self, span: Span) -> Option<K> {
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

/// One string literal or several adjacent ones (`'a' "b"`, which Jinja2 concatenates),
/// decoded as Jinja2 does.
fn literal_run(text: &str) -> Option<K> {
    let mut out = String::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let q = rest.chars().next()?;
        if q != '\'' && q != '"' {
            return None;
        }
        let body = rest.get(1..)?;
        let mut end = None;
        let mut esc = false;
        for (i, c) in body.char_indices() {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == q {
                end = Some(i);
                break;
            }
        }
        let end = end?;
        match jinja_unescape(body.get(..end)?) {
            Some(v) => out.push_str(&v),
            // An escape the analysis cannot decode: the string is unknown.
            None => return Some(K::Pat(String::new(), String::new())),
        }
        rest = body.get(end + 1..)?.trim_start();
    }
    Some(norm_str(out))
}

impl<'a> An<'a> {
    fn var(&self, id: &str, st: &State) -> Abs {
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

    fn expr_inner(&mut self, e: &'a Expr<'a>, st: &mut State) -> Abs {
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

    fn binop(&mut self, b: &'a ast::BinOp<'a>, st: &mut State) -> Abs {
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

    fn seq(&mut self, items: &'a [Expr<'a>], st: &mut State) -> Abs {
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
    fn attribute_path(&mut self, base: &Abs, path: &Abs, span: Span, st: &mut State) -> Abs {
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

    #[allow(clippy::too_many_lines)]
    fn apply_filter(
        &mut self,
        name: &str,
        base: Abs,
        pos: &[Abs],
        kw: &[(String, Abs)],
        span: Span,
        st: &mut State,
    ) -> Abs {
        let first = pos.first().cloned().unwrap_or_default();
        let kwarg = |n: &str| kw.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        // A text transformation of every known string; unknown strings stay unknown.
        let text_map = |g: &dyn Fn(&str) -> Option<String>,
                        pat_map: &dyn Fn(&str, &str) -> Option<K>|
         -> Abs {
            let mut out = Abs::bottom();
            for k in base.texts() {
                match k {
                    K::Str(s) => match g(&s) {
                        Some(r) => out.add(norm_str(r)),
                        None => out.add(K::Pat(String::new(), String::new())),
                    },
                    K::Pat(p, s) => {
                        out.add(pat_map(&p, &s).unwrap_or(K::Pat(String::new(), String::new())))
                    }
                    _ => false,
                };
            }
            if out.vals.is_empty() {
                out = Abs::text_top();
            }
            out
        };
        let no_pat = |_: &str, _: &str| None;
        match name {
            "attr" => self.subscript(&base, &first, span, true, st),
            n if ATTRIBUTE_FILTERS.contains(&n) => {
                if let Some(a) = kwarg("attribute") {
                    let r = self.attribute_path(&base, &a, span, st);
                    return if n == "map" || n == "groupby" {
                        Abs { any: true, ..r }
                    } else {
                        let mut b = base.clone();
                        b.join(&r);
                        b.vals.clear();
                        b.any = true;
                        b
                    };
                }
                match n {
                    "selectattr" | "rejectattr" | "groupby" => {
                        let r = self.attribute_path(&base, &first, span, st);
                        let mut b = base.keep_taint();
                        b.join(&r.keep_taint());
                        b
                    }
                    // `map('attr', name)` applies the attr filter to each item;
                    // `map('upper')` any other filter.
                    "map" => {
                        let fname: Vec<String> = first.strs().map(str::to_string).collect();
                        let rest: Vec<Abs> = pos.iter().skip(1).cloned().collect();
                        if first.name_unknown() && base.sensitive() {
                            let what = describe(&base);
                            self.hit(
                                Severity::High,
                                format!("map with a filter computed at render time on {what}"),
                                span,
                            );
                        }
                        let mut out = Abs::bottom();
                        if first.name_unknown()
                            && let Some(second) = rest.first()
                        {
                            // The filter may be `attr`: the next argument a name.
                            let r = self.attribute_path(&base, second, span, st);
                            out.join(&r.keep_taint());
                        }
                        for f in fname {
                            if f == "attr" {
                                let second = rest.first().cloned().unwrap_or_default();
                                let r = self.attribute_path(&base, &second, span, st);
                                out.join(&r.keep_taint());
                                continue;
                            }
                            match base.single() {
                                Some(K::List(l)) => {
                                    let mapped: Option<Vec<K>> = l
                                        .clone()
                                        .into_iter()
                                        .map(|k| {
                                            self.apply_filter(
                                                &f,
                                                Abs::konst(k),
                                                &rest,
                                                &[],
                                                span,
                                                st,
                                            )
                                            .single()
                                            .cloned()
                                        })
                                        .collect();
                                    match mapped {
                                        Some(m) => out.add(K::List(m)),
                                        None => out.join(&Abs::default()),
                                    };
                                }
                                _ => {
                                    let r =
                                        self.apply_filter(&f, base.element(), &rest, &[], span, st);
                                    out.join(&r.keep_taint());
                                }
                            }
                        }
                        if out == Abs::bottom() {
                            out = base.keep_taint();
                        }
                        out
                    }
                    "sort" | "unique" | "min" | "max" => match base.single() {
                        Some(K::List(l)) if n == "sort" || n == "unique" => {
                            let mut l = l.clone();
                            if l.iter().all(|k| matches!(k, K::Str(_)))
                                || l.iter().all(|k| matches!(k, K::Int(_)))
                            {
                                l.sort_by(|a, b| match (a, b) {
                                    (K::Str(a), K::Str(b)) => a.cmp(b),
                                    (K::Int(a), K::Int(b)) => a.cmp(b),
                                    _ => std::cmp::Ordering::Equal,
                                });
                                if n == "unique" {
                                    l.dedup();
                                }
                                Abs::konst(K::List(l))
                            } else {
                                base.keep_taint()
                            }
                        }
                        _ if n == "min" || n == "max" => base.element(),
                        _ => {
                            let mut b = base.clone();
                            b.vals.clear();
                            b.any = true;
                            b
                        }
                    },
                    "sum" => Abs::num(),
                    _ => base.keep_taint(),
                }
            }
            "join" => {
                if let Some(a) = kwarg("attribute") {
                    self.attribute_path(&base, &a, span, st);
                }
                let seps: Vec<K> = if pos.is_empty() {
                    vec![K::Str(String::new())]
                } else {
                    first.texts()
                };
                let mut out = Abs::bottom();
                for v in &base.vals {
                    let parts: Vec<K> = match v {
                        K::List(l) => l.clone(),
                        K::Str(s) => s.chars().map(|c| K::Str(c.into())).collect(),
                        K::Map(m) => m.iter().map(|(k, _)| K::Str(k.clone())).collect(),
                        K::Pat(..) | K::Int(_) => {
                            out.add(K::Pat(String::new(), String::new()));
                            continue;
                        }
                    };
                    for sep in &seps {
                        let mut acc = K::Str(String::new());
                        for (i, p) in parts.iter().enumerate() {
                            let step = if i == 0 {
                                Some(acc.clone())
                            } else {
                                cat(&acc, sep)
                            };
                            acc = step
                                .and_then(|a| cat(&a, p))
                                .unwrap_or(K::Pat(String::new(), String::new()));
                        }
                        out.add(acc);
                    }
                }
                if base.any || base.objs != 0 || !base.ns.is_empty() {
                    out.add(K::Pat(String::new(), String::new()));
                }
                if out == Abs::bottom() {
                    out = Abs::text_top();
                }
                out
            }
            "replace" => {
                let (Some(old), Some(new)) = (pos.first(), pos.get(1)) else {
                    return Abs::text_top();
                };
                let mut out = Abs::bottom();
                for k in base.texts() {
                    match k {
                        K::Str(s) if !old.name_unknown() && !new.name_unknown() => {
                            for o in old.strs() {
                                for n in new.strs() {
                                    out.add(norm_str(s.replace(o, n)));
                                }
                            }
                        }
                        _ => {
                            out.add(K::Pat(String::new(), String::new()));
                        }
                    }
                }
                if out == Abs::bottom() {
                    out = Abs::text_top();
                }
                out
            }
            "reverse" => {
                let mut out = Abs::bottom();
                for k in &base.vals {
                    out.add(match k {
                        K::Str(s) => K::Str(s.chars().rev().collect()),
                        K::Pat(p, s) => {
                            K::Pat(s.chars().rev().collect(), p.chars().rev().collect())
                        }
                        K::List(l) => K::List(l.iter().rev().cloned().collect()),
                        K::Map(m) => {
                            K::List(m.iter().rev().map(|(k, _)| K::Str(k.clone())).collect())
                        }
                        K::Int(_) => continue,
                    });
                }
                if base.any || base.objs != 0 || !base.ns.is_empty() || !base.macros.is_empty() {
                    out.join(&base.keep_taint());
                    out.add(K::Pat(String::new(), String::new()));
                }
                out
            }
            "format" => {
                let args: Option<Vec<K>> = pos.iter().map(|a| a.single().cloned()).collect();
                match args {
                    Some(args) => text_map(&|s| percent_format(s, &args), &no_pat),
                    None => Abs::text_top(),
                }
            }
            "lower" => text_map(&|s| Some(s.to_lowercase()), &|p, s| {
                Some(K::Pat(p.to_lowercase(), s.to_lowercase()))
            }),
            "upper" => text_map(&|s| Some(s.to_uppercase()), &|p, s| {
                Some(K::Pat(p.to_uppercase(), s.to_uppercase()))
            }),
            "trim" => {
                if pos.is_empty() {
                    text_map(&|s| Some(s.trim().to_string()), &|p, s| {
                        Some(K::Pat(p.trim_start().to_string(), s.trim_end().to_string()))
                    })
                } else {
                    let chars: Vec<String> = first.strs().map(str::to_string).collect();
                    match chars.as_slice() {
                        [c] if !first.any => {
                            let c = c.clone();
                            text_map(
                                &|s| Some(s.trim_matches(|x| c.contains(x)).to_string()),
                                &no_pat,
                            )
                        }
                        _ => Abs::text_top(),
                    }
                }
            }
            "capitalize" => text_map(&|s| Some(py_capitalize(s)), &no_pat),
            "title" => text_map(&|s| Some(py_title(s)), &no_pat),
            "e" | "escape" | "forceescape" => text_map(&|s| Some(html_escape(s)), &no_pat),
            "string" | "safe" => base.as_text(),
            "pprint" => {
                let mut out = Abs::bottom();
                for k in &base.vals {
                    out.add(match py_repr(k) {
                        Some(s) if s.len() <= 80 => K::Str(s),
                        _ => K::Pat(String::new(), String::new()),
                    });
                }
                let rest = Abs {
                    vals: vec![],
                    ..base.clone()
                };
                out.join(&rest.as_text());
                out
            }
            "tojson" => {
                if !pos.is_empty() || !kw.is_empty() {
                    return Abs::text_top();
                }
                let mut out = Abs::bottom();
                for k in &base.vals {
                    out.add(match to_json(k) {
                        Some(s) => norm_str(s),
                        None => K::Pat(String::new(), String::new()),
                    });
                }
                if base.any || base.objs != 0 || !base.ns.is_empty() {
                    out.add(K::Pat(String::new(), String::new()));
                }
                out
            }
            "list" => {
                let mut out = Abs {
                    any: base.any,
                    ..base.keep_taint()
                };
                for k in &base.vals {
                    match k {
                        K::Str(s) => {
                            out.add(K::List(s.chars().map(|c| K::Str(c.into())).collect()));
                        }
                        K::List(l) => {
                            out.add(K::List(l.clone()));
                        }
                        K::Map(m) => {
                            out.add(K::List(m.iter().map(|(k, _)| K::Str(k.clone())).collect()));
                        }
                        K::Pat(..) | K::Int(_) => {
                            out.join(&Abs::object(obj::COMPUTED));
                            out.any = true;
                        }
                    }
                }
                if out.vals.is_empty() {
                    out.any = true;
                }
                out
            }
            "first" | "last" | "random" => {
                let mut out = base.element();
                out.vals.clear();
                for k in &base.vals {
                    let l: Vec<K> = match k {
                        K::Str(s) => s.chars().map(|c| K::Str(c.into())).collect(),
                        K::List(l) => l.clone(),
                        K::Map(m) => m.iter().map(|(k, _)| K::Str(k.clone())).collect(),
                        K::Pat(p, s) => {
                            let c = if name == "first" {
                                p.chars().next()
                            } else if name == "last" {
                                s.chars().last()
                            } else {
                                None
                            };
                            out.add(c.map_or(K::Pat(String::new(), String::new()), |c| {
                                K::Str(c.to_string())
                            }));
                            continue;
                        }
                        K::Int(_) => continue,
                    };
                    match name {
                        "first" => l.first().cloned().map(|k| out.add(k)),
                        "last" => l.last().cloned().map(|k| out.add(k)),
                        _ => Some(l.into_iter().fold(false, |_, k| out.add(k))),
                    };
                }
                out
            }
            "default" | "d" => {
                let mut out = base.clone();
                out.join(&first);
                out
            }
            "items" | "dictsort" => {
                let mut out = Abs {
                    any: base.any,
                    ..base.keep_taint()
                };
                for k in &base.vals {
                    match k {
                        K::Map(m) => {
                            let mut m = m.clone();
                            if name == "dictsort" {
                                m.sort_by_key(|a| a.0.to_lowercase());
                            }
                            out.add(K::List(
                                m.into_iter()
                                    .map(|(k, v)| K::List(vec![K::Str(k), v]))
                                    .collect(),
                            ));
                        }
                        _ => out.any = true,
                    }
                }
                out
            }
            n if NUM_FILTERS.contains(&n) => match (n, base.single()) {
                ("length" | "count", Some(K::Str(s))) => {
                    Abs::konst(K::Int(s.chars().count() as i64))
                }
                ("length" | "count", Some(K::List(l))) => Abs::konst(K::Int(l.len() as i64)),
                ("int", Some(K::Str(s))) => s
                    .trim()
                    .parse::<i64>()
                    .map_or_else(|_| Abs::num(), |i| Abs::konst(K::Int(i))),
                ("int" | "abs", Some(K::Int(i))) => {
                    Abs::konst(K::Int(if n == "abs" { i.saturating_abs() } else { *i }))
                }
                _ => Abs::num(),
            },
            n if TEXT_FILTERS.contains(&n) => Abs::text_top(),
            // `select`, `reject`, `batch`, `slice` and unknown filters: the same objects
            // may come out.
            _ => {
                let mut b = base.keep_taint();
                for v in &base.vals {
                    b.join(&Abs::konst(v.clone()).element());
                }
                b
            }
        }
    }

    fn call(
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
                    let sev = if obj.chain.is_empty() {
                        Severity::High
                    } else {
                        Severity::Critical
                    };
                    self.hit(sev, format!("call of {}", g.name), span);
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
                                Severity::High,
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
                    self.hit(Severity::High, format!("call of {}", v.id), span);
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
    fn call_value(
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

/// The sensitive objects a value may be, for the finding's text.
fn describe(v: &Abs) -> String {
    let mut names: Vec<&str> = obj::NAMES
        .iter()
        .filter(|(o, _)| v.objs & o != 0)
        .map(|(_, n)| *n)
        .collect();
    if !v.ns.is_empty() && v.objs & obj::NS_INST == 0 {
        names.push("a namespace");
    }
    if !v.macros.is_empty() {
        names.push("a macro");
    }
    if !v.chain.is_empty() {
        names.push("an object reached through internals");
    }
    if names.is_empty() {
        "a value".into()
    } else {
        names.join(", ")
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
    fn names_computed_at_render_time_are_evaluated() {
        let mut bad = Vec::new();
        for t in [
            // `{% set %}…{% endset %}` block.
            "{% set g %}__glo{{ 'bals' }}__{% endset %}{{ lipsum[g]['os'].popen('echo modelguard-test').read() }}",
            // A macro's return value.
            "{% macro m(a) %}__{{ a }}__{% endmacro %}{{ lipsum[m('globals')].os.popen('id') }}",
            // A `{% filter %}` block.
            "{% set g %}{% filter lower %}__GLOBALS__{% endfilter %}{% endset %}{{ lipsum|attr(g) }}",
            // Characters sliced out of `(lipsum|string)`.
            "{% set u = (lipsum|string)[18] %}{{ lipsum[u*2 ~ 'globals' ~ u*2].os }}",
            "{% set s = lipsum|string %}{{ cycler.__init__[s[18:19] * 2 ~ 'glo' ~ 'bals' ~ s[24:25]*2] }}",
            // `|tojson` and `|pprint`.
            "{{ lipsum[('__globals__'|tojson)[1:-1]] }}",
            "{{ lipsum[(['__globals__']|pprint)[2:-2]] }}",
            // `groupby` with a computed key.
            "{% set k %}__globals__{% endset %}{% for g in [lipsum]|groupby(k) %}{{ g.grouper.os.popen('id') }}{% endfor %}",
            // `|join` of a list, `|list`, `|first`.
            "{{ lipsum[['__glo', 'bals__']|join] }}",
            "{{ lipsum[('x__globals__'|list)[1:]|join] }}",
            // `~` inside a loop, through a namespace.
            "{% set ns = namespace(n='') %}{% for p in ['__', 'glo', 'bals', '__'] %}{% set ns.n = ns.n ~ p %}{% endfor %}{{ lipsum[ns.n].os.popen('id') }}",
            // A dict built at render time.
            "{% set d = dict(a='__glo', b='bals__') %}{{ lipsum[d.a ~ d['b']] }}",
            "{{ lipsum[{'k': '__globals__'}|tojson|replace('{\"k\": \"', '')|replace('\"}', '')] }}",
            // A macro through `caller`.
            "{% macro w() %}{{ lipsum[caller()] }}{% endmacro %}{% call w() %}__globals__{% endcall %}",
            "{{ joiner.__init__[range(2)|map('string')|join|replace('0', '__glo')|replace('1', 'bals__')] }}",
            // String escapes as Jinja2 (Python's unicode-escape) decodes them.
            "{{ lipsum['\\N{LOW LINE}\\N{LOW LINE}globals\\x5f\\137'] }}",
            "{{ lipsum['\\u005f_glo' \"bals\\U0000005f_\"] }}",
            // Constant dicts (minijinja folds literals).
            "{% for k, v in {'__globals__': 1}|items %}{{ lipsum[k] }}{% endfor %}",
            "{{ lipsum[{'a': '__globals__'}.a] }}",
            "{{ lipsum[({'__globals__': 1}|dictsort|first)[0]] }}",
            "{{ lipsum['..__globals__..'.strip('.')] }}",
            // Only with trim_blocks/lstrip_blocks (Transformers' environment).
            "{% set g %}\n    {% if true %}__globals__{% endif %}\n{% endset %}{{ lipsum[g] }}",
            // `{% break %}` leaves the namespace as one iteration left it.
            "{% set ns = namespace(n='') %}{% for p in ['__glo', 'bals__', 'x'] %}{% set ns.n = ns.n ~ p %}{% if p == 'bals__' %}{% break %}{% endif %}{% endfor %}{{ lipsum[ns.n] }}",
            "{% set ns = namespace(n='') %}{% for p in ['__glo', 'bals__', 'tail'] %}{% if p == 'tail' %}{% continue %}{% endif %}{% set ns.n = ns.n ~ p %}{% endfor %}{{ lipsum[ns.n] }}",
            // `str.format`, `varargs`, `kwargs`.
            "{{ lipsum['{}{}'.format('__glo', 'bals__')] }}",
            "{% macro m() %}{{ varargs|join }}{% endmacro %}{{ lipsum[m('__glo', 'bals__')] }}",
            "{% macro m() %}{{ kwargs.a }}{% endmacro %}{{ lipsum[m(a='__globals__')] }}",
        ] {
            bad.extend(
                (worst(t) != Some(Severity::Critical)).then(|| format!("{t}: {:?}", worst(t))),
            );
        }
        assert!(bad.is_empty(), "{bad:#?}");
    }

    #[test]
    fn uncomputable_names_on_sensitive_objects_are_high() {
        let mut bad = Vec::new();
        for t in [
            "{{ lipsum[messages[0]['content']] }}",
            "{% set ns = namespace(n='') %}{% for m in messages %}{% set ns.n = ns.n ~ m.content %}{% endfor %}{{ lipsum[ns.n] }}",
            "{% set g %}{{ messages|last }}{% endset %}{{ cycler[g] }}",
            "{% macro m() %}{{ x }}{% endmacro %}{{ m[y] }}",
            "{% for x in messages %}{{ loop[x.content] }}{% endfor %}",
            "{{ self[name] }}",
            "{% set l = [lipsum, 1] %}{{ l[0][key] }}",
            "{{ [joiner]|map(attribute=k)|list }}",
            "{% for g in [namespace]|groupby(k) %}{{ g }}{% endfor %}",
            "{{ raise_exception[k] }}",
            "{{ messages[a][b] }}",
            "{{ messages|map(f, '__class__')|list }}",
            // Lists changed in place.
            "{% set x = [] %}{% set _ = x.append('__globals__') %}{{ lipsum[x|first] }}",
            "{% set x = ['a'] %}{% set f = x['app' ~ 'end'] %}{% set _ = f('__globals__') %}{{ lipsum[x|last] }}",
            "{{ lipsum['\\N{MODIFIER LETTER LOW MACRON}globals__'] }}",
        ] {
            bad.extend((worst(t) != Some(Severity::High)).then(|| format!("{t}: {:?}", worst(t))));
        }
        // The item names real templates compute (message fields, loop indexes) are clean.
        for t in [
            "{{ messages[loop_index - 1]['role'] }}",
            "{% for k in tool.parameters.properties %}{{ tool.parameters.properties[k].type }}{% endfor %}",
            "{% set ns = namespace(i=0) %}{% for m in messages %}{% set ns.i = ns.i + 1 %}{% endfor %}{{ messages[ns.i - 1].content }}",
        ] {
            bad.extend(worst(t).map(|w| format!("{t}: {w:?}")));
        }
        assert!(bad.is_empty(), "{bad:#?}");
    }

    #[test]
    fn macro_bodies_are_their_own_evidence() {
        let r = analyze(
            "{% macro m(o) %}{{ o.__globals__ }}{% endmacro %}{{ m(lipsum) }}",
            &Limits::default(),
        );
        assert!(
            r.hits.iter().all(|h| h.evidence == "o.__globals__"),
            "{:?}",
            r.hits
        );
    }

    #[test]
    fn evaluation_is_bounded() {
        let start = std::time::Instant::now();
        // Nested loops over known lists.
        let mut t = String::new();
        for i in 0..12 {
            t += &format!("{{% for a{i} in range(60) %}}");
        }
        t += "{{ lipsum[x] }}";
        t += &"{% endfor %}".repeat(12);
        let r = analyze(&t, &Limits::default());
        assert_eq!(
            r.hits.iter().map(|h| h.severity).max(),
            Some(Severity::High)
        );
        // Macros calling the previous one twice with different arguments.
        let mut t = String::from("{% macro m0(x) %}{{ lipsum[x] }}{% endmacro %}");
        for i in 1..30 {
            t += &format!(
                "{{% macro m{i}(x) %}}{{{{ m{}(x ~ 'a') }}}}{{{{ m{}(x ~ 'b') }}}}{{% endmacro %}}",
                i - 1,
                i - 1
            );
        }
        t += "{{ m29('') }}";
        let r = analyze(&t, &Limits::default());
        assert!(!r.hits.is_empty());
        assert!(start.elapsed() < std::time::Duration::from_secs(60));
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
