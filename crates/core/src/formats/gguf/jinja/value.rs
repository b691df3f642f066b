//! The value model of the abstract render: constants (`K`), what is known of a value at one
//! point (`Abs`: alternatives, unknown input, reachable objects, namespaces, macros, the
//! chain of internal names crossed), the objects a template can reach (`obj`), the render
//! state, and Python's `str`/`repr`/`json` renderings of constants.
//!
//! Must not: walk the AST or report anything (the interpreter does); it knows values only.

use std::collections::HashMap;

use minijinja::Value;

/// Longest string built by constant folding; longer values are unknown.
pub(super) const MAX_FOLD: usize = 4096;
/// Alternatives kept per value (a variable assigned in several places).
pub(super) const MAX_ALTS: usize = 16;

/// A constant value known at analysis time.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum K {
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
    pub(super) fn from_value(v: &Value) -> Option<K> {
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
    pub(super) fn text(&self) -> Option<K> {
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
    pub(super) fn plain(&self) -> Option<String> {
        match self {
            K::Str(s) => Some(s.clone()),
            K::Int(i) => Some(i.to_string()),
            _ => None,
        }
    }

    pub(super) fn is_text(&self) -> bool {
        matches!(self, K::Str(_) | K::Pat(..))
    }
}

/// A string as a `K`: over [`MAX_FOLD`] bytes only its ends are kept.
pub(super) fn norm_str(s: String) -> K {
    if s.len() <= MAX_FOLD {
        K::Str(s)
    } else {
        pat(s.clone(), s)
    }
}

/// A `Pat` with both parts cut to [`MAX_FOLD`] bytes (the start of the prefix, the end
/// of the suffix): a shorter known part is a weaker, still true, statement.
pub(super) fn pat(mut pre: String, suf: String) -> K {
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
pub(super) fn cat(a: &K, b: &K) -> Option<K> {
    Some(match (a.text()?, b.text()?) {
        (K::Str(x), K::Str(y)) => norm_str(x + &y),
        (K::Str(x), K::Pat(p, s)) => pat(x + &p, s),
        (K::Pat(p, s), K::Str(y)) => pat(p, s + &y),
        (K::Pat(p, _), K::Pat(_, s)) => pat(p, s),
        _ => return None,
    })
}

/// Python's `repr` (and `pprint.pformat` for short values) of a constant.
pub(super) fn py_repr(k: &K) -> Option<String> {
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
pub(super) fn to_json(k: &K) -> Option<String> {
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
pub(super) mod obj {
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
pub(super) fn obj_text(o: u32) -> K {
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
pub(super) struct Abs {
    /// Known alternatives.
    pub(super) vals: Vec<K>,
    /// The value may also be something not described otherwise (template input, …).
    pub(super) any: bool,
    /// That unknown part is a number or a boolean (never an attribute name).
    pub(super) num: bool,
    /// Objects (`obj::*`) the value may be or contain.
    pub(super) objs: u32,
    /// Namespace instances (allocation sites) it may be or contain.
    pub(super) ns: Vec<u32>,
    /// Macros it may be.
    pub(super) macros: Vec<usize>,
    /// Internal names crossed to reach this value (`__class__`, `__globals__`…): taint.
    pub(super) chain: Vec<String>,
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
    pub(super) fn bottom() -> Abs {
        Abs {
            any: false,
            ..Abs::default()
        }
    }

    pub(super) fn konst(k: K) -> Abs {
        Abs {
            vals: vec![k],
            ..Abs::bottom()
        }
    }

    pub(super) fn num() -> Abs {
        Abs {
            num: true,
            ..Abs::default()
        }
    }

    pub(super) fn object(o: u32) -> Abs {
        Abs {
            objs: o,
            ..Abs::bottom()
        }
    }

    pub(super) fn tainted(chain: Vec<String>) -> Abs {
        Abs {
            chain,
            ..Abs::default()
        }
    }

    /// Unknown text: a string of which nothing is known.
    pub(super) fn text_top() -> Abs {
        Abs::konst(K::Pat(String::new(), String::new()))
    }

    pub(super) fn from_vals(vals: Vec<K>) -> Abs {
        let mut a = Abs::bottom();
        for v in vals {
            a.add(v);
        }
        a
    }

    /// The same taint (objects, namespaces, macros, chain) on an unknown value.
    pub(super) fn keep_taint(&self) -> Abs {
        Abs {
            objs: self.objs,
            ns: self.ns.clone(),
            macros: self.macros.clone(),
            chain: self.chain.clone(),
            ..Abs::default()
        }
    }

    pub(super) fn sensitive(&self) -> bool {
        self.objs & obj::SENSITIVE != 0
            || !self.ns.is_empty()
            || !self.macros.is_empty()
            || !self.chain.is_empty()
    }

    /// The value may be a string the analysis does not know: as a name it is unknown.
    pub(super) fn name_unknown(&self) -> bool {
        (self.any && !self.num) || self.vals.iter().any(|k| matches!(k, K::Pat(..)))
    }

    pub(super) fn strs(&self) -> impl Iterator<Item = &str> {
        self.vals.iter().filter_map(|k| match k {
            K::Str(s) => Some(s.as_str()),
            _ => None,
        })
    }

    pub(super) fn ints(&self) -> Vec<i64> {
        self.vals
            .iter()
            .filter_map(|k| match k {
                K::Int(i) => Some(*i),
                _ => None,
            })
            .collect()
    }

    pub(super) fn single(&self) -> Option<&K> {
        match self.vals.as_slice() {
            [k] if !self.any && self.objs == 0 && self.ns.is_empty() && self.macros.is_empty() => {
                Some(k)
            }
            _ => None,
        }
    }

    pub(super) fn add(&mut self, k: K) -> bool {
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
    pub(super) fn collapse(&mut self) {
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

    pub(super) fn join(&mut self, o: &Abs) -> bool {
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
    pub(super) fn texts(&self) -> Vec<K> {
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

    pub(super) fn as_text(&self) -> Abs {
        Abs::from_vals(self.texts())
    }

    /// What iterating (or indexing) the value gives: items of known lists, characters,
    /// keys; objects and taint are kept (a list holding `lipsum` yields `lipsum`).
    pub(super) fn element(&self) -> Abs {
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
pub(super) fn product(a: &[K], b: &[K], f: impl Fn(&K, &K) -> Option<K>) -> Abs {
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
pub(super) fn concat(a: &Abs, b: &Abs) -> Abs {
    let mut r = product(&a.texts(), &b.texts(), cat);
    if r.vals.is_empty() && !r.any {
        // An empty side (nothing known to render): the other side alone.
        r = Abs::text_top();
    }
    r
}

/// Everything the render may have in its variables and namespaces at one point.
#[derive(Debug, Clone, Default)]
pub(super) struct State {
    pub(super) env: HashMap<String, Abs>,
    /// Namespace attributes by (allocation site, name): shared by every scope.
    pub(super) heap: Heap,
}

/// Namespace attributes by (allocation site, attribute name).
pub(super) type Heap = HashMap<(u32, String), Abs>;

impl State {
    pub(super) fn join(&mut self, o: &State) -> bool {
        let mut changed = join_map(&mut self.env, &o.env);
        changed |= join_map(&mut self.heap, &o.heap);
        changed
    }
}

pub(super) fn join_map<Q: Clone + Eq + std::hash::Hash>(
    a: &mut HashMap<Q, Abs>,
    b: &HashMap<Q, Abs>,
) -> bool {
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

/// The sensitive objects a value may be, for the finding's text.
pub(super) fn describe(v: &Abs) -> String {
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
