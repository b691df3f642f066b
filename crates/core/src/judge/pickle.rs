//! Judge what a pickle does: turn the VM's calls, imports and builds into findings.
//!
//! The VM says *what would be called with what*; this module follows values through the
//! resolvers an attacker uses to hide names (`getattr`, `__import__`, `importlib`,
//! `operator.attrgetter`/`methodcaller`, `functools.partial`, `pkgutil.resolve_name`,
//! `pydoc.locate`) and judges the callable that is actually reached, with its arguments,
//! against the capability catalog and the allowlist.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use modelguard_pickle::{Analysis, CallKind, ImportKind, Value, ValueId};
use modelguard_pycode::catalog::{self, Capability};
use modelguard_pycode::decode::{self, Encoding, PyStr, PyValue};
use modelguard_pycode::ecosystem;
use modelguard_pycode::knowledge::{self, is_dunder, is_resolver};
use modelguard_pycode::marshal::{self, Object};

use crate::policy::{Allowed, Policy};
use crate::report::{Finding, Location, Severity};
use crate::rules::{self, Rule};
use crate::severity::{self, Reach};

/// What a value is, as far as static analysis can tell.
#[derive(Debug, Clone, PartialEq)]
enum Sym {
    /// An importable object: `module` + dotted `qualname`.
    Name { module: String, qualname: String },
    /// A module object (result of `__import__('os')`).
    Module(String),
    /// A constant string.
    Str(String),
    /// A constant bytes value.
    Bytes(Vec<u8>),
    /// `operator.attrgetter(path)`.
    AttrGetter(String),
    /// `operator.methodcaller(name, *args)`.
    MethodCaller(String, Vec<ValueId>),
    /// `functools.partial(func, *args)`.
    Partial(Box<Sym>, Vec<ValueId>),
    /// Anything else (an object built by a call, a container, a number).
    Opaque,
    /// A computed STACK_GLOBAL or another resolver whose arguments are not constant.
    Unresolved(String),
    /// Something the unpickler refuses (STACK_GLOBAL of a non-string): the load stops there.
    Fails,
}

/// Context for judging one pickle stream.
pub struct Context<'a> {
    /// Member path for finding locations.
    pub member: Option<String>,
    /// Policy in force.
    pub policy: &'a Policy,
    /// Whether persistent ids are expected (PyTorch formats).
    pub expects_persistent_ids: bool,
    /// Recursion bound for value evaluation.
    pub max_depth: usize,
    /// Limits for decoding constant payloads and analysing code.
    pub code_limits: modelguard_pycode::Limits,
}

/// A constant blob handed to a nested deserialiser, to be analysed by the caller.
#[derive(Debug, Clone)]
pub struct NestedPayload {
    /// The data.
    pub data: Vec<u8>,
    /// What loads it (`pickle.loads`), for the member label.
    pub loader: String,
}

/// Output of judging one stream.
#[derive(Debug, Default)]
pub struct Judgement {
    /// Findings.
    pub findings: Vec<Finding>,
    /// Nested payloads to analyse.
    pub nested: Vec<NestedPayload>,
    /// Parts that could not be analysed (code strings that do not parse, limits): the file
    /// cannot be `complete`.
    pub incomplete: Vec<String>,
}

/// A finding's evidence, rendered only when a finding is made: rendering the result of every
/// benign call (each `OrderedDict(...)` of a state dict) was a fifth of the judge's time.
#[derive(Clone)]
enum Evidence {
    /// The rendering of this value.
    Of(ValueId),
    /// Fixed text.
    Text(String),
}

struct Judge<'a> {
    a: &'a Analysis,
    ctx: &'a Context<'a>,
    cache: HashMap<ValueId, Sym>,
    out: Judgement,
    /// Value ids of resolver calls whose result was consumed as a callee.
    called_values: HashSet<ValueId>,
    /// Attributes planted on imported objects by BUILD: (module, qualname, attr) → value.
    planted: HashMap<(String, String, String), ValueId>,
    /// The same values by object, for gadget checks (a scan of `planted` per call argument
    /// would be quadratic).
    planted_on: HashMap<(String, String), Vec<ValueId>>,
    /// Index of the last BUILD of each target (linear lookups per call were quadratic).
    last_build: HashMap<ValueId, usize>,
    /// Every BUILD of each target, in order (attribute lookups on instances); built on first
    /// use, which most pickles never need.
    builds_on: Option<HashMap<ValueId, Vec<usize>>>,
    /// What each constant string argument that may be code analyses to (`string_note`),
    /// computed once per distinct string: a memoised string can be passed to thousands of
    /// calls.
    string_notes: HashMap<String, Option<String>>,
    /// Severity that code objects in this pickle earned from their bytecode analysis
    /// (`None`: no code object could be analysed).
    code_severity: Option<Severity>,
    /// Extension codes this pickle registers with `copyreg.add_extension(module, name, code)`
    /// before an EXT opcode loads them.
    extensions: HashMap<i64, (String, String)>,
}

/// Judge one analysed pickle stream.
pub fn judge(a: &Analysis, ctx: &Context<'_>) -> Judgement {
    let mut j = Judge {
        a,
        ctx,
        cache: HashMap::default(),
        out: Judgement::default(),
        called_values: HashSet::default(),
        planted: HashMap::default(),
        planted_on: HashMap::default(),
        last_build: a
            .builds
            .iter()
            .enumerate()
            .map(|(i, b)| (b.target, i))
            .collect(),
        code_severity: None,
        extensions: HashMap::default(),
        builds_on: None,
        string_notes: HashMap::default(),
    };
    j.collect_extensions();
    j.collect_planted();
    j.judge_code_objects();
    j.run();
    j.out
}

/// Where the arguments of a trampoline's inner call come from.
#[derive(Debug, Clone, Copy)]
enum TrampolineArgs {
    /// The arguments after the callable (`operator.call(f, a, b)`).
    Following,
    /// The items of the argument at this position (`map(f, [a, b])` calls `f(a)`, `f(b)`).
    ItemsOf(usize),
}

fn split_resolve_name(s: &str) -> Option<(String, String)> {
    // pkgutil.resolve_name accepts `pkg.mod:qual.name` and `pkg.mod.name`.
    if let Some((m, q)) = s.split_once(':') {
        return Some((m.to_string(), q.to_string()));
    }
    let (m, q) = s.rsplit_once('.')?;
    Some((m.to_string(), q.to_string()))
}

impl<'a> Judge<'a> {
    fn loc(&self, at: modelguard_pickle::Location) -> Location {
        Location {
            member: self.ctx.member.clone(),
            offset: Some(at.offset),
            opcode: Some(at.opcode),
        }
    }

    fn push(
        &mut self,
        rule: &Rule,
        sev: Severity,
        message: String,
        evidence: String,
        loc: Location,
    ) {
        self.out
            .findings
            .push(Finding::new(rule, sev, message).evidence(evidence).at(loc));
    }

    fn eval(&mut self, id: ValueId, depth: usize) -> Sym {
        if let Some(s) = self.cache.get(&id) {
            return s.clone();
        }
        if depth > self.ctx.max_depth {
            return Sym::Unresolved("value graph too deep".into());
        }
        // Placeholder against cycles through the planted-attribute map.
        self.cache
            .insert(id, Sym::Unresolved("cyclic value".into()));
        let s = match self.a.value(id) {
            Some(Value::Global { module, name }) => {
                // `find_class('numpy', 'prod.x')` after a BUILD planted `x` on numpy.prod.
                let planted = name.rsplit_once('.').and_then(|(q, attr)| {
                    self.planted
                        .get(&(module.clone(), q.to_string(), attr.to_string()))
                        .copied()
                });
                match planted {
                    Some(v) => self.eval(v, depth + 1),
                    None => name_sym(module, name),
                }
            }
            Some(Value::DynamicGlobal { module, name }) => {
                let (m, n) = (*module, *name);
                match (self.eval(m, depth + 1), self.eval(n, depth + 1)) {
                    (Sym::Str(m), Sym::Str(n)) => name_sym(&m, &n),
                    // CPython's load_stack_global raises "STACK_GLOBAL requires str" on any
                    // other constant: the load stops there and nothing is called. (joblib's
                    // inline object arrays are pickles with their own memo; read as one plain
                    // stream their memo indices land on the outer pickle's values.)
                    _ if self.never_str(m, depth) || self.never_str(n, depth) => Sym::Fails,
                    _ => Sym::Unresolved("STACK_GLOBAL with computed operands".into()),
                }
            }
            Some(Value::Str { value, .. }) => Sym::Str(value.clone()),
            Some(Value::Bytes { value, .. }) | Some(Value::ByteArray { value, .. }) => {
                Sym::Bytes(value.clone())
            }
            Some(Value::Call(ci)) => self.eval_call(*ci as usize, depth + 1),
            Some(Value::Extension(code)) => match self.extensions.get(code) {
                Some((m, n)) => name_sym(m, n),
                None => Sym::Opaque,
            },
            _ => Sym::Opaque,
        };
        self.cache.insert(id, s.clone());
        s
    }

    fn str_arg(&mut self, args: &[ValueId], i: usize, depth: usize) -> Option<String> {
        let id = *args.get(i)?;
        match self.eval(id, depth) {
            Sym::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the value is a constant that is not a string (a number, container, bytes, None).
    fn is_literal(&self, id: ValueId) -> bool {
        matches!(
            self.a.value(id),
            Some(
                Value::None
                    | Value::Bool(_)
                    | Value::Int(_)
                    | Value::BigInt(_)
                    | Value::Float(_)
                    | Value::Bytes { .. }
                    | Value::ByteArray { .. }
                    | Value::Tuple(_)
                    | Value::List(_)
                    | Value::Dict(_)
                    | Value::Set(_)
                    | Value::FrozenSet(_)
            )
        )
    }

    /// The value BUILD sets for `name` on the instance `obj`: `Some(Some(v))` when a state
    /// dict sets it, `Some(None)` when every BUILD's state is a constant dict without it (or
    /// there is none), `None` when some state is not a literal dict (it could set anything).
    fn instance_state(&mut self, obj: ValueId, name: &str) -> Option<Option<ValueId>> {
        let a = self.a;
        let index = self.builds_on.get_or_insert_with(|| {
            let mut m: HashMap<ValueId, Vec<usize>> = HashMap::default();
            for (i, b) in a.builds.iter().enumerate() {
                m.entry(b.target).or_default().push(i);
            }
            m
        });
        let mut found = None;
        let builds = index.get(&obj).map(Vec::as_slice).unwrap_or_default();
        for b in builds.iter().filter_map(|&i| a.builds.get(i)) {
            let dicts: Vec<&Vec<(ValueId, ValueId)>> = match self.a.value(b.state) {
                Some(Value::Dict(items)) => vec![items],
                Some(Value::Tuple(parts)) => {
                    let mut v = Vec::new();
                    for p in parts {
                        match self.a.value(*p) {
                            Some(Value::Dict(items)) => v.push(items),
                            Some(Value::None) => {}
                            _ => return None,
                        }
                    }
                    v
                }
                Some(Value::None) => Vec::new(),
                _ => return None,
            };
            for items in dicts {
                for &(k, v) in items {
                    match self.a.str_value(k) {
                        Some(key) if key == name => found = Some(v),
                        Some(_) => {}
                        None => return None,
                    }
                }
            }
        }
        Some(found)
    }

    /// Whether `id` is the result of calling a function the ecosystem table knows and that
    /// reaches no capability.
    fn known_factory(&mut self, id: ValueId) -> bool {
        let Some(Value::Call(ci)) = self.a.value(id) else {
            return false;
        };
        let Some(func) = self.a.calls.get(*ci as usize).map(|c| c.func) else {
            return false;
        };
        match self.eval(func, 0) {
            Sym::Name { module, qualname } => matches!(
                self.ctx.policy.allowed(&module, &qualname),
                Some(Allowed::Known | Allowed::Exact)
            ),
            _ => false,
        }
    }

    /// Whether the value can never be an exact `str` (what STACK_GLOBAL requires): a
    /// non-string constant, or an instance a class other than `str` builds (`NEWOBJ`,
    /// `copyreg._reconstructor`).
    fn never_str(&mut self, id: ValueId, depth: usize) -> bool {
        if self.is_literal(id) {
            return true;
        }
        // Only a class the ecosystem table knows: an unknown class's `__new__` could return
        // an exact `str`.
        match self.class_of(id, depth) {
            Some(Sym::Name { module, qualname }) => {
                !(module == "builtins" && qualname == "str")
                    && matches!(
                        self.ctx.policy.allowed(&module, &qualname),
                        Some(Allowed::Known | Allowed::Exact)
                    )
            }
            _ => false,
        }
    }

    /// The class of an instance this pickle builds without calling it (`NEWOBJ`,
    /// `copyreg._reconstructor(cls, …)`), if the value is one.
    fn class_of(&mut self, id: ValueId, depth: usize) -> Option<Sym> {
        let Some(Value::Call(ci)) = self.a.value(id) else {
            return None;
        };
        let call = self.a.calls.get(*ci as usize)?;
        let (kind, func, first) = (call.kind, call.func, call.args.first().copied());
        let class = match kind {
            CallKind::NewObj | CallKind::NewObjEx => Some(func),
            CallKind::Reduce
                if matches!(
                    self.eval(func, depth + 1),
                    Sym::Name { ref module, ref qualname }
                        if module == "copyreg" && qualname == "_reconstructor"
                ) =>
            {
                first
            }
            _ => None,
        }?;
        match self.eval(class, depth + 1) {
            s @ Sym::Name { .. } => Some(s),
            _ => None,
        }
    }

    /// What calling `callee` leads to: the effective callable (after partial/methodcaller).
    fn effective_callee(&mut self, callee: Sym, args: &[ValueId], depth: usize) -> Sym {
        match callee {
            Sym::Partial(f, _) => *f,
            Sym::MethodCaller(name, _) => match args.first() {
                Some(&obj) => {
                    let o = self.eval(obj, depth);
                    attr(o, &name)
                }
                None => Sym::Unresolved("methodcaller without object".into()),
            },
            other => other,
        }
    }

    /// Symbolic result of call `ci`.
    fn eval_call(&mut self, ci: usize, depth: usize) -> Sym {
        let Some(call) = self.a.calls.get(ci) else {
            return Sym::Opaque;
        };
        if !matches!(
            call.kind,
            CallKind::Reduce
                | CallKind::NewObj
                | CallKind::NewObjEx
                | CallKind::Obj
                | CallKind::Inst
        ) {
            return Sym::Opaque;
        }
        let args = call.args.clone();
        let call = call.clone();
        let callee = self.eval(call.func, depth);
        let callee = self.effective_callee(callee, &args, depth);
        let Sym::Name { module, qualname } = &callee else {
            return match callee {
                Sym::AttrGetter(path) => match args.first() {
                    Some(&obj) => {
                        let o = self.eval(obj, depth);
                        attr(o, &path)
                    }
                    None => Sym::Unresolved("attrgetter without object".into()),
                },
                _ => Sym::Opaque,
            };
        };
        // sys.modules.get('os'), f.__globals__.get('system'), os.__dict__.__getitem__(…)
        if let Some(table) = qualname
            .strip_suffix(".get")
            .or_else(|| qualname.strip_suffix(".__getitem__"))
            && let Some(key) = self.str_arg(&args, 0, depth)
            && let Some(found) = table_lookup(module, table, &key)
        {
            return found;
        }
        match (module.as_str(), qualname.as_str()) {
            ("builtins", "__import__")
            | ("importlib", "import_module")
            | ("importlib", "__import__")
            | ("cloudpickle.cloudpickle", "subimport" | "dynamic_subimport")
            | ("dill._dill", "_import_module") => match self.str_arg(&args, 0, depth) {
                // `__import__('a.b')` returns `a`, but reaching `a.b` needs only an attribute
                // step more: judging `a.b` is the conservative reading. A module is named by
                // its real name (`os.path` is posixpath).
                Some(m) => match name_sym(&m, "") {
                    Sym::Module(real) => Sym::Module(real),
                    _ => Sym::Module(m),
                },
                None => Sym::Unresolved(format!("{module}.{qualname} of a computed name")),
            },
            ("builtins", "getattr") | ("dill._dill", "_get_attr") => {
                let Some(&obj) = args.first() else {
                    return Sym::Unresolved("getattr without arguments".into());
                };
                // An attribute of an instance this pickle builds is its class's attribute
                // (a bound method): judge the class's function.
                let Some(name) = self.str_arg(&args, 1, depth) else {
                    return Sym::Unresolved("getattr of a computed name".into());
                };
                if let Some(class @ Sym::Name { .. }) = self.class_of(obj, depth) {
                    // BUILD may have planted the attribute on the instance: that wins.
                    return match self.instance_state(obj, &name) {
                        Some(Some(v)) => self.eval(v, depth + 1),
                        Some(None) => attr(class, &name),
                        None => Sym::Unresolved(format!(
                            "attribute {name} of an object whose state is computed"
                        )),
                    };
                }
                let o = self.eval(obj, depth);
                attr(o, &name)
            }
            // sys.modules['os'], os.__dict__['system'], numpy.__builtins__['eval'],
            // f.__globals__['os']: a lookup by a constant key in a table of names.
            ("operator" | "_operator", "getitem") => {
                let Some(&table) = args.first() else {
                    return Sym::Unresolved("getitem without arguments".into());
                };
                match (self.eval(table, depth), self.str_arg(&args, 1, depth)) {
                    (Sym::Name { module, qualname }, Some(key)) => {
                        table_lookup(&module, &qualname, &key).unwrap_or(Sym::Opaque)
                    }
                    _ => Sym::Opaque,
                }
            }
            ("operator" | "_operator", "attrgetter") => match self.str_arg(&args, 0, depth) {
                Some(p) => Sym::AttrGetter(p),
                None => Sym::Unresolved("attrgetter of a computed name".into()),
            },
            ("operator" | "_operator", "methodcaller") => match self.str_arg(&args, 0, depth) {
                Some(p) => Sym::MethodCaller(p, args.get(1..).unwrap_or_default().to_vec()),
                None => Sym::Unresolved("methodcaller of a computed name".into()),
            },
            ("functools" | "_functools", "partial") => match args.first() {
                // partial.__setstate__((func, args, kwds, dict)) replaces what REDUCE gave.
                _ if self.partial_state(call.result).is_some() => {
                    let (f, pargs) = self.partial_state(call.result).unwrap_or_default();
                    let fs = self.eval(f, depth);
                    Sym::Partial(Box::new(fs), pargs)
                }
                Some(&f) => {
                    let fs = self.eval(f, depth);
                    Sym::Partial(Box::new(fs), args.get(1..).unwrap_or_default().to_vec())
                }
                None => Sym::Unresolved("partial without a function".into()),
            },
            ("pkgutil", "resolve_name") | ("pydoc", "locate") => {
                match self
                    .str_arg(&args, 0, depth)
                    .as_deref()
                    .and_then(split_resolve_name)
                {
                    Some((m, q)) => name_sym(&m, &q),
                    None => Sym::Unresolved(format!("{module}.{qualname} of a computed name")),
                }
            }
            // Python's own codecs, exactly (modelguard_pycode::decode): protocol 2 writes
            // bytes as `_codecs.encode(text, 'latin1')`; `codecs.decode(x, 'utf-7')` and
            // friends hide code. A codec modelguard cannot reproduce makes the value unknown
            // and the file incomplete, never the input passed through.
            ("_codecs" | "codecs", "encode" | "decode") => {
                let Some(obj) = args.first().map(|&a| self.eval(a, depth)) else {
                    return Sym::Opaque;
                };
                let enc = self
                    .str_arg(&args, 1, depth)
                    .unwrap_or_else(|| "utf-8".into());
                let errors = self
                    .str_arg(&args, 2, depth)
                    .unwrap_or_else(|| "strict".into());
                let value = match obj {
                    Sym::Str(s) => PyValue::Str(PyStr::from(s.as_str())),
                    Sym::Bytes(b) => PyValue::Bytes(b),
                    _ => return Sym::Opaque,
                };
                let limits = &self.ctx.code_limits;
                let out = if qualname == "encode" {
                    decode::codecs_encode(&value, &enc, &errors, limits)
                } else {
                    decode::codecs_decode(&value, &enc, &errors, limits)
                };
                self.codec_result(out, &format!("{module}.{qualname}(…, {enc:?})"))
            }
            // Decoders from the shared table (modelguard_pycode::knowledge).
            _ if knowledge::decoder_of(module, qualname).is_some() => {
                self.decoder_call(module, qualname, &args, depth)
            }
            ("cloudpickle.cloudpickle" | "cloudpickle.cloudpickle_fast", "_builtin_type")
            | ("dill._dill", "_load_type") => match self.str_arg(&args, 0, depth) {
                // cloudpickle's `_builtin_type(name)` is `getattr(types, name)`; dill's
                // `_load_type(name)` looks the name up in its reverse type map, which holds
                // the types module's `*Type` names and builtins (`bytes`, `type`, `list`).
                Some(t) => match t.as_str() {
                    "PartialType" => name_sym("functools", "partial"),
                    "AttrGetterType" => name_sym("operator", "attrgetter"),
                    "ItemGetterType" => name_sym("operator", "itemgetter"),
                    "MethodCallerType" => name_sym("operator", "methodcaller"),
                    "SuperType" => name_sym("builtins", "super"),
                    _ if t.ends_with("Type") => name_sym("types", &t),
                    _ => name_sym("builtins", &t),
                },
                None => Sym::Unresolved("_builtin_type of a computed name".into()),
            },
            ("_io" | "io", "BytesIO") => match args.first() {
                Some(&b) => match self.eval(b, depth) {
                    Sym::Bytes(v) => Sym::Bytes(v),
                    _ => Sym::Opaque,
                },
                None => Sym::Opaque,
            },
            ("builtins", "bytes") | ("builtins", "bytearray") => match args.first() {
                Some(&b) => match self.eval(b, depth) {
                    Sym::Bytes(v) => Sym::Bytes(v),
                    _ => Sym::Opaque,
                },
                None => Sym::Bytes(Vec::new()),
            },
            _ => self.builtins_gadget(module, qualname, &args, depth),
        }
    }

    /// Calls that look a builtin up by name in a `__builtins__` mapping reached through an
    /// allowlisted object (`numpy.__builtins__.get('eval')`, `_wrapfunc(numpy.__builtins__,
    /// 'get', 'eval')`, `numpy.size(obj, 'eval')` after BUILD planted `shape =
    /// numpy.__builtins__` on obj): the result is that builtin.
    fn builtins_gadget(
        &mut self,
        module: &str,
        qualname: &str,
        args: &[ValueId],
        depth: usize,
    ) -> Sym {
        let is_builtins = |s: &Sym| match s {
            Sym::Name { qualname, .. } => qualname.split('.').any(|p| p == "__builtins__"),
            Sym::Module(m) => m == "builtins",
            _ => false,
        };
        let mut reaches = qualname.split('.').any(|p| p == "__builtins__");
        let mut names = Vec::new();
        for &a in args {
            let s = self.eval(a, depth);
            if is_builtins(&s) {
                reaches = true;
            }
            if let Sym::Name {
                module: m,
                qualname: q,
            } = &s
            {
                let planted: Vec<ValueId> = self
                    .planted_on
                    .get(&(m.clone(), q.clone()))
                    .cloned()
                    .unwrap_or_default();
                for v in planted {
                    if is_builtins(&self.eval(v, depth)) {
                        reaches = true;
                    }
                }
            }
            if let Sym::Str(n) = s {
                names.push(n);
            }
        }
        let _ = module;
        match names
            .into_iter()
            .rev()
            .find(|n| catalog::classify("builtins", n).is_some())
        {
            Some(n) if reaches => Sym::Name {
                module: "builtins".into(),
                qualname: n,
            },
            _ => Sym::Opaque,
        }
    }

    /// Convert a value to a marshal object for the bytecode analyser (constants only).
    fn to_object(&self, id: ValueId, depth: usize) -> Object {
        if depth > self.ctx.max_depth {
            return Object::None;
        }
        match self.a.value(id) {
            Some(Value::Str { value, .. }) => Object::Str(value.clone()),
            Some(Value::Bytes { value, .. }) => Object::Bytes(value.clone()),
            Some(Value::Call(_)) if self.const_bytes(id).is_some() => {
                Object::Bytes(self.const_bytes(id).unwrap_or_default())
            }
            Some(Value::Int(i)) => Object::Int(*i),
            Some(Value::Bool(b)) => Object::Bool(*b),
            Some(Value::Float(f)) => Object::Float(*f),
            Some(Value::Tuple(items)) | Some(Value::List(items)) => Object::Tuple(
                items
                    .iter()
                    .map(|&i| self.to_object(i, depth + 1))
                    .collect(),
            ),
            Some(Value::Call(ci)) => {
                // A nested code object built by another CodeType call.
                match self
                    .a
                    .calls
                    .get(*ci as usize)
                    .map(|c| self.code_from_args(&c.args))
                {
                    Some(Some(code)) => Object::Code(Box::new(code)),
                    _ => Object::None,
                }
            }
            _ => Object::None,
        }
    }

    /// A constant bytes value: BINBYTES, or protocol 2's `_codecs.encode(text, 'latin1')`.
    fn const_bytes(&self, id: ValueId) -> Option<Vec<u8>> {
        match self.a.value(id)? {
            Value::Bytes { value, .. } => Some(value.clone()),
            Value::Call(ci) => {
                let call = self.a.calls.get(*ci as usize)?;
                let Some(Value::Global { module, name }) = self.a.value(call.func) else {
                    return None;
                };
                if !(matches!(module.as_str(), "_codecs" | "codecs") && name == "encode") {
                    return None;
                }
                let text = self.a.str_value(*call.args.first()?)?;
                let enc = call
                    .args
                    .get(1)
                    .and_then(|&e| self.a.str_value(e))
                    .unwrap_or("utf-8");
                if !matches!(enc, "latin1" | "latin-1" | "iso-8859-1") {
                    return None;
                }
                text.chars()
                    .map(|c| u8::try_from(u32::from(c)).ok())
                    .collect()
            }
            _ => None,
        }
    }

    fn strings(&self, id: ValueId) -> Option<Vec<String>> {
        match self.a.value(id) {
            Some(Value::Tuple(items)) => items
                .iter()
                .map(|&i| self.a.str_value(i).map(str::to_string))
                .collect(),
            _ => None,
        }
    }

    /// Rebuild a code object from `CodeType(...)`-style arguments: the bytecode is the first
    /// bytes argument, then come the constants tuple, the names and the local names.
    fn code_from_args(&self, args: &[ValueId]) -> Option<marshal::Code> {
        // The bytecode is the last bytes argument before the constants tuple (dill puts a
        // line table first; CodeType puts the bytecode right before the constants).
        let first_tuple = args
            .iter()
            .position(|&a| matches!(self.a.value(a), Some(Value::Tuple(_))))
            .unwrap_or(args.len());
        let code_pos = args
            .get(..first_tuple)
            .unwrap_or_default()
            .iter()
            .rposition(|&a| self.const_bytes(a).is_some())?;
        let code = self.const_bytes(*args.get(code_pos)?)?;
        let rest = args.get(code_pos + 1..).unwrap_or_default();
        let consts_id = rest
            .iter()
            .copied()
            .find(|&a| matches!(self.a.value(a), Some(Value::Tuple(_))))?;
        let consts = match self.to_object(consts_id, 0) {
            Object::Tuple(v) => v,
            _ => Vec::new(),
        };
        let after: Vec<ValueId> = rest
            .iter()
            .copied()
            .skip_while(|&a| a != consts_id)
            .skip(1)
            .collect();
        let mut tuples = after.iter().filter_map(|&a| self.strings(a));
        let names = tuples.next().unwrap_or_default();
        let varnames = tuples.next().unwrap_or_default();
        let strs: Vec<String> = after
            .iter()
            .filter_map(|&a| self.a.str_value(a).map(str::to_string))
            .collect();
        Some(marshal::Code {
            layout: marshal::Layout::Py311,
            version: None,
            argcount: 0,
            posonlyargcount: 0,
            kwonlyargcount: 0,
            nlocals: None,
            stacksize: 0,
            flags: 0,
            code,
            consts,
            names,
            varnames,
            localspluskinds: Vec::new(),
            freevars: Vec::new(),
            cellvars: Vec::new(),
            filename: strs.first().cloned().unwrap_or_default(),
            name: strs.get(1).cloned().unwrap_or_default(),
            qualname: strs.get(2).cloned().unwrap_or_default(),
            firstlineno: 0,
            linetable: Vec::new(),
            exceptiontable: Vec::new(),
        })
    }

    /// Analyse every code object the pickle builds (`types.CodeType`, cloudpickle's
    /// `_builtin_type('CodeType')`, dill's `_create_code`) with the bytecode analyser, and let
    /// what the code reaches decide the severity of the function-building calls.
    fn judge_code_objects(&mut self) {
        let a = self.a;
        for call in &a.calls {
            let callee = self.eval(call.func, 0);
            let Sym::Name { module, qualname } = callee else {
                continue;
            };
            let is_code = matches!(
                (module.as_str(), qualname.as_str()),
                ("types", "CodeType") | ("dill._dill", "_create_code") | ("code", "__new__")
            );
            if !is_code {
                continue;
            }
            let Some(code) = self.code_from_args(&call.args) else {
                continue;
            };
            let facts = modelguard_pycode::analyze_code(&code, &self.ctx.code_limits);
            let loc = self.loc(call.at);
            let label = if code.qualname.is_empty() {
                code.name.clone()
            } else {
                code.qualname.clone()
            };
            // A function carried as data is a practicality (cloudpickle, dill): judged by what
            // its code reaches. Calls to names modelguard cannot judge are not evidence; code
            // that could not be analysed is.
            let mut worst = if facts.hits.is_empty() && !facts.complete {
                Severity::Medium
            } else {
                Severity::Info
            };
            for h in &facts.hits {
                let (rule, sev) = capability_rule(h.capability);
                worst = worst.max(sev);
                let chain = if h.chain.is_empty() {
                    String::new()
                } else {
                    format!(" (via {})", h.chain.join(" → "))
                };
                self.push(
                    rule,
                    sev,
                    format!(
                        "pickled code object {label} reaches {} , which {}{chain}",
                        h.target,
                        h.capability.describe()
                    ),
                    h.evidence.clone(),
                    loc.clone(),
                );
            }
            if facts.hits.is_empty() {
                let what = if worst != Severity::Info {
                    format!("could not be fully analysed: {}", facts.errors.join("; "))
                } else if facts.unknown_calls.is_empty() {
                    "only computes on its inputs".to_string()
                } else {
                    format!(
                        "reaches no capability (it also calls {})",
                        facts.unknown_calls.join(", ")
                    )
                };
                self.push(
                    &rules::PKL_CODE_OBJECT,
                    worst,
                    format!("pickled code object {label} {what}"),
                    format!("names {:?}", code.names),
                    loc,
                );
            }
            self.code_severity = Some(self.code_severity.map_or(worst, |s| s.max(worst)));
        }
    }

    /// The symbolic value of a codec call's result: Python raising stops the load there; a
    /// codec modelguard cannot reproduce makes the value unknown and the file incomplete.
    fn codec_result(&mut self, out: Result<PyValue, decode::CodecError>, what: &str) -> Sym {
        match out {
            Ok(PyValue::Bytes(b)) => Sym::Bytes(b),
            Ok(PyValue::Str(s)) => match s.as_str() {
                Some(t) => Sym::Str(t.to_string()),
                None => {
                    self.out.incomplete.push(format!(
                        "{what} gives a string with lone surrogates, not analysed"
                    ));
                    Sym::Opaque
                }
            },
            Err(e) if e.is_unanalysable() => {
                self.out
                    .incomplete
                    .push(format!("{what} could not be reproduced: {e}"));
                Sym::Opaque
            }
            Err(_) => Sym::Fails,
        }
    }

    /// A call of a decoder from the shared table (`modelguard_pycode::knowledge`): decoded
    /// exactly as Python decodes where reproduced, by the lenient layer decoders otherwise.
    fn decoder_call(
        &mut self,
        module: &str,
        qualname: &str,
        args: &[ValueId],
        depth: usize,
    ) -> Sym {
        let Some(enc) = knowledge::decoder_of(module, qualname) else {
            return Sym::Opaque;
        };
        let name = format!("{module}.{qualname}");
        if decode::function_decode(&name, &PyValue::Bytes(Vec::new()), &self.ctx.code_limits)
            .is_none()
        {
            return self.decode_arg(args, enc, depth);
        }

        let Some(obj) = args.first().map(|&a| self.eval(a, depth)) else {
            return Sym::Opaque;
        };
        let value = match obj {
            Sym::Str(s) => PyValue::Str(PyStr::from(s.as_str())),
            Sym::Bytes(b) => PyValue::Bytes(b),
            _ => return Sym::Opaque,
        };
        if args.len() > 1 {
            // altchars, validate, wbits…: not reproduced.
            self.out.incomplete.push(format!(
                "{module}.{qualname} called with options modelguard does not reproduce"
            ));
            return Sym::Opaque;
        }
        match decode::function_decode(&name, &value, &self.ctx.code_limits) {
            Some(r) => self.codec_result(r.map(PyValue::Bytes), &name),
            None => Sym::Opaque,
        }
    }

    /// Decode a constant first argument (bounded by the code-analysis limits).
    fn decode_arg(&mut self, args: &[ValueId], enc: Encoding, depth: usize) -> Sym {
        let data = match args.first().map(|&a| self.eval(a, depth)) {
            Some(Sym::Bytes(b)) => b,
            Some(Sym::Str(s)) => s.into_bytes(),
            _ => return Sym::Opaque,
        };
        match modelguard_pycode::decode::decode(enc, &data, &self.ctx.code_limits) {
            Ok(out) => Sym::Bytes(out),
            Err(_) => Sym::Opaque,
        }
    }

    /// The `(func, args)` a BUILD gives a `functools.partial` object, if any.
    fn partial_state(&self, target: ValueId) -> Option<(ValueId, Vec<ValueId>)> {
        let b = self.a.builds.get(*self.last_build.get(&target)?)?;
        let Some(Value::Tuple(parts)) = self.a.value(b.state) else {
            return None;
        };
        let f = *parts.first()?;
        let args = match parts.get(1).and_then(|&a| self.a.value(a)) {
            Some(Value::Tuple(a)) => a.clone(),
            _ => Vec::new(),
        };
        Some((f, args))
    }

    /// Record `copyreg.add_extension(module, name, code)` calls with constant arguments.
    fn collect_extensions(&mut self) {
        let a = self.a;
        for call in &a.calls {
            let Some(Value::Global { module, name }) = a.value(call.func) else {
                continue;
            };
            if (module.as_str(), name.as_str()) != ("copyreg", "add_extension") {
                continue;
            }
            let arg = |i: usize| call.args.get(i).and_then(|&v| a.value(v));
            if let (
                Some(Value::Str { value: m, .. }),
                Some(Value::Str { value: n, .. }),
                Some(Value::Int(code)),
            ) = (arg(0), arg(1), arg(2))
            {
                self.extensions.insert(*code, (m.clone(), n.clone()));
            }
        }
    }

    /// Record attributes BUILD sets on imported objects (the state dict, or both halves of a
    /// `(dict, slotstate)` tuple).
    fn collect_planted(&mut self) {
        let a = self.a;
        for b in &a.builds {
            let Some(Value::Global { module, name }) = a.value(b.target) else {
                continue;
            };
            let mut dicts = Vec::new();
            match a.value(b.state) {
                Some(Value::Dict(items)) => dicts.push(items.clone()),
                Some(Value::Tuple(parts)) => {
                    for p in parts {
                        if let Some(Value::Dict(items)) = a.value(*p) {
                            dicts.push(items.clone());
                        }
                    }
                }
                _ => {}
            }
            for items in dicts {
                for (k, v) in items {
                    if let Some(key) = a.str_value(k) {
                        self.planted
                            .insert((module.clone(), name.clone(), key.to_string()), v);
                        self.planted_on
                            .entry((module.clone(), name.clone()))
                            .or_default()
                            .push(v);
                    }
                }
            }
        }
    }

    fn render(&self, id: ValueId) -> String {
        self.a.render(id)
    }

    fn evidence(&self, e: &Evidence) -> String {
        match e {
            Evidence::Of(id) => self.render(*id),
            Evidence::Text(t) => t.clone(),
        }
    }

    fn run(&mut self) {
        let a = self.a;
        // 1. Calls.
        for (ci, call) in a.calls.iter().enumerate() {
            match call.kind {
                CallKind::Append | CallKind::SetItem | CallKind::AddItems => {
                    // Mutating a module-level object (os.environ, sys.modules) is a gadget;
                    // on objects built by calls it is ordinary container restoring.
                    let target = self.eval(call.func, 0);
                    if let Sym::Name { module, qualname } = &target {
                        let loc = self.loc(call.at);
                        self.push(
                            &rules::PKL_GLOBAL_MUTATION,
                            Severity::High,
                            format!("pickle mutates the module-level object {module}.{qualname}"),
                            format!("{} <- items", self.render(call.func)),
                            loc,
                        );
                    } else if let Sym::Module(m) = &target {
                        let loc = self.loc(call.at);
                        self.push(
                            &rules::PKL_GLOBAL_MUTATION,
                            Severity::High,
                            format!("pickle mutates module {m}"),
                            self.render(call.func),
                            loc,
                        );
                    }
                    continue;
                }
                _ => {}
            }
            // Calling a constant (a dict, a number) raises TypeError: the load stops there.
            // (joblib's inline object arrays, read as one plain stream, land here.)
            if self.is_literal(call.func) {
                continue;
            }
            let raw_callee = self.eval(call.func, 0);
            self.called_values.insert(call.func);
            let callee = self.effective_callee(raw_callee.clone(), &call.args, 0);
            // A partial's stored arguments come first.
            let full_args: Vec<ValueId> = match &raw_callee {
                Sym::Partial(_, pargs) => pargs.iter().chain(call.args.iter()).copied().collect(),
                _ => call.args.clone(),
            };
            let evidence = Evidence::Of(call.result);
            let loc = self.loc(call.at);
            let via = match &raw_callee {
                Sym::Partial(..) => " via functools.partial",
                Sym::MethodCaller(..) => " via operator.methodcaller",
                _ => "",
            };
            match callee {
                Sym::Name { module, qualname } => {
                    self.judge_named_call(ci, &module, &qualname, via, &full_args, evidence, loc);
                }
                Sym::Unresolved(why) => self.push(
                    &rules::PKL_RESOLVER,
                    Severity::High,
                    format!("pickle calls a callable it computes at load time ({why})"),
                    self.render(call.result),
                    loc,
                ),
                Sym::Module(m) => self.push(
                    &rules::PKL_RESOLVER,
                    Severity::High,
                    format!("pickle calls module object {m}"),
                    self.render(call.result),
                    loc,
                ),
                Sym::AttrGetter(_) | Sym::Str(_) | Sym::Bytes(_) | Sym::Fails => {}
                Sym::Opaque | Sym::Partial(..) | Sym::MethodCaller(..) => {
                    // Calling the result of another call: the inner call is judged on its
                    // own; say that the result is invoked.
                    // A factory the ecosystem table knows to be harmless
                    // (`functools.lru_cache(None)(f)`, a decorator) makes an inventory item;
                    // the result of an unknown function is not known to be harmless.
                    if matches!(call.kind, CallKind::Reduce | CallKind::Inst | CallKind::Obj) {
                        let known_factory = self.known_factory(call.func);
                        self.push(
                            &rules::PKL_RESOLVER,
                            if known_factory {
                                Severity::Info
                            } else {
                                Severity::Medium
                            },
                            "pickle calls the result of another call".into(),
                            self.render(call.result),
                            loc,
                        );
                    }
                }
            }
        }
        // 2. Imports that are dangerous or unknown, judged by how they are used.
        self.judge_imports();
        // 3. Resolver results that reach something dangerous but are never called.
        self.judge_uncalled_resolutions();
        // 4. BUILDs on globals.
        for b in &a.builds {
            let target = self.eval(b.target, 0);
            if let Sym::Name { module, qualname } = &target {
                let state = self.render(b.state);
                let dunder = state.contains("'__");
                let loc = self.loc(b.at);
                self.push(
                    &rules::PKL_GLOBAL_MUTATION,
                    if dunder {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    format!(
                        "pickle overwrites attributes of the imported object {module}.{qualname}"
                    ),
                    format!("{module}.{qualname}.__setstate__({state})"),
                    loc,
                );
            }
        }
        // 5. Opaque references.
        for (pid, at) in &a.persistent_ids {
            if !self.ctx.expects_persistent_ids {
                let loc = self.loc(*at);
                self.push(
                    &rules::PKL_OPAQUE,
                    Severity::Info,
                    "pickle loads a persistent id (resolved by the loader's persistent_load)"
                        .into(),
                    format!("persistent_load({})", self.render(*pid)),
                    loc,
                );
            }
        }
        for v in &a.values {
            if let Value::Extension(code) = v {
                if let Some((m, n)) = self.extensions.get(code) {
                    // Resolved through the registration this pickle made: the name is judged
                    // where it is used; the EXT opcode is only what hid it.
                    let (m, n) = (m.clone(), n.clone());
                    self.push(
                        &rules::PKL_OPAQUE,
                        Severity::Info,
                        format!("pickle loads {m}.{n} through copyreg extension code {code}, which it registered itself"),
                        format!("EXT {code} = {m}.{n}"),
                        Location {
                            member: self.ctx.member.clone(),
                            ..Location::default()
                        },
                    );
                    continue;
                }
                self.out.findings.push(Finding::new(&rules::PKL_OPAQUE, Severity::Medium, format!(
                        "pickle uses copyreg extension code {code}, resolved by the loader's registry"
                    ))
.evidence(format!("EXT {code}"))
.at(Location {
                        member: self.ctx.member.clone(),
                        ..Location::default()
                    }));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn judge_named_call(
        &mut self,
        ci: usize,
        module: &str,
        qualname: &str,
        via: &str,
        args: &[ValueId],
        evidence: Evidence,
        loc: Location,
    ) {
        let Some(call) = self.a.calls.get(ci) else {
            return;
        };
        let args = args.to_vec();
        let kind = call.kind;
        let result = call.result;
        // Resolvers whose result we could follow are judged where the result is used.
        if is_resolver(module, qualname) {
            if !matches!(self.eval(result, 0), Sym::Unresolved(_)) {
                return;
            }
            let why = match self.eval(result, 0) {
                Sym::Unresolved(w) => w,
                _ => String::new(),
            };
            self.push(
                &rules::PKL_RESOLVER,
                Severity::High,
                format!("pickle resolves a name it computes at load time ({why})"),
                self.evidence(&evidence),
                loc,
            );
            return;
        }
        if is_dunder(qualname) {
            self.push(
                &rules::PKL_INTROSPECTION,
                Severity::High,
                format!("pickle calls a dunder attribute {module}.{qualname}"),
                self.evidence(&evidence),
                loc.clone(),
            );
        }
        // setattr restores attributes of objects the pickle builds (dill does it for functions
        // and classes); on a module-level object or a module it plants a gadget.
        if matches!(
            (module, qualname),
            ("builtins", "setattr" | "delattr") | ("dill._dill", "_setattr" | "_delattr")
        ) && let Some(&obj) = args.first()
        {
            match self.eval(obj, 0) {
                Sym::Name { .. } | Sym::Module(_) | Sym::Unresolved(_) => self.push(
                    &rules::PKL_GLOBAL_MUTATION,
                    Severity::High,
                    format!("pickle changes an attribute of a module-level object with {module}.{qualname}"),
                    self.evidence(&evidence),
                    loc,
                ),
                _ => {}
            }
            return;
        }
        // A callable that calls one of its arguments (`map`, `apply_if_callable`, a library
        // helper the ecosystem table found doing `f(...)`): what it calls is what runs.
        if let Some((k, rest)) = self.trampoline(module, qualname, args.len())
            && let Some(&f) = args.get(k)
        {
            let target = self.eval(f, 0);
            if let Sym::Name {
                module: tm,
                qualname: tq,
            } = &target
                && let Some(entry) = catalog::classify(tm, tq)
            {
                let inner: Vec<ValueId> = match rest {
                    TrampolineArgs::Following => args.get(k + 1..).unwrap_or_default().to_vec(),
                    TrampolineArgs::ItemsOf(i) => self.items(args.get(i).copied()),
                };
                let via = format!(" via {module}.{qualname}");
                self.capability_finding(
                    entry.capability,
                    tm,
                    tq,
                    if entry.indirect {
                        Reach::Indirect
                    } else {
                        Reach::Called
                    },
                    &via,
                    &inner,
                    evidence,
                    loc,
                );
                return;
            }
        }
        let allowed = self.ctx.policy.allowed(module, qualname);
        // A user pattern never silences a catalogued capability (`--allow 'os.*'` must not
        // make os.system safe); only curated exact entries outrank the catalog.
        let catalogued = catalog::classify(module, qualname);
        if matches!(allowed, Some(Allowed::Exact))
            || (matches!(allowed, Some(Allowed::User(_))) && catalogued.is_none())
        {
            self.judge_allowed_call(module, qualname, &args, evidence, loc, allowed);
            return;
        }
        if let Some(entry) = catalogued {
            self.capability_finding(
                entry.capability,
                module,
                qualname,
                if entry.indirect {
                    Reach::Indirect
                } else {
                    Reach::Called
                },
                via,
                &args,
                evidence,
                loc,
            );
            return;
        }
        // Calling a class runs its __init__, which restoring an object (NEWOBJ) does not.
        if matches!(kind, CallKind::Reduce | CallKind::Inst | CallKind::Obj)
            && !args.is_empty()
            && let Some((cap, through)) = ecosystem::resolve(module, qualname)
                .record
                .and_then(|r| r.init)
        {
            let via = format!("{via} (its __init__ calls {through})");
            self.capability_finding(
                cap,
                module,
                qualname,
                Reach::Indirect,
                &via,
                &args,
                evidence,
                loc,
            );
            return;
        }
        // Unknown (or known and harmless): judged by what it is used for. Arguments that look
        // like commands, URLs or paths outside the model are evidence; a plain constructor
        // call is an inventory item.
        // A name the table knows reaches no capability whatever it is given.
        if matches!(allowed, Some(Allowed::Known)) {
            return;
        }
        let class_like = matches!(kind, CallKind::NewObj | CallKind::NewObjEx) || args.is_empty();
        let notes = self.argument_notes(&args);
        let sev = if !notes.is_empty() || self.ctx.policy.strict {
            Severity::Medium
        } else {
            Severity::Info
        };
        let how = if class_like {
            "restores an object of"
        } else {
            "calls, with arguments,"
        };
        let what = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        self.push(
            &rules::PKL_UNKNOWN_GLOBAL,
            sev,
            format!("pickle {how} {module}.{qualname}, which modelguard does not know{what}"),
            self.evidence(&evidence),
            loc,
        );
    }

    /// When `module.qualname` is a trampoline: which argument it calls and where that call's
    /// arguments come from. C builtins are listed here; Python functions come from the
    /// ecosystem table's code analysis.
    fn trampoline(
        &self,
        module: &str,
        qualname: &str,
        nargs: usize,
    ) -> Option<(usize, TrampolineArgs)> {
        match (module, qualname) {
            ("builtins", "map" | "filter") | ("itertools", "starmap" | "filterfalse") => {
                return Some((0, TrampolineArgs::ItemsOf(1)));
            }
            ("operator" | "_operator", "call")
            | ("functools" | "_functools", "reduce")
            | ("builtins", "apply") => {
                return Some((0, TrampolineArgs::Following));
            }
            _ => {}
        }
        let rec = ecosystem::resolve(module, qualname).record?;
        let k = rec.called_params().next()?;
        (k < nargs).then_some((k, TrampolineArgs::Following))
    }

    /// The constant items of a list/tuple/set argument.
    fn items(&self, id: Option<ValueId>) -> Vec<ValueId> {
        match id.and_then(|i| self.a.value(i)) {
            Some(Value::List(v) | Value::Tuple(v) | Value::Set(v) | Value::FrozenSet(v)) => {
                v.clone()
            }
            _ => Vec::new(),
        }
    }

    fn judge_allowed_call(
        &mut self,
        module: &str,
        qualname: &str,
        args: &[ValueId],
        evidence: Evidence,
        loc: Location,
        allowed: Option<Allowed>,
    ) {
        // copyreg._reconstructor(cls, base, state): the class is what gets built.
        if (module, qualname) == ("copyreg", "_reconstructor")
            && let Some(&cls) = args.first()
            && let Sym::Name {
                module: m,
                qualname: q,
            } = self.eval(cls, 0)
            && self.ctx.policy.allowed(&m, &q).is_none()
            && let Some(e) = catalog::classify(&m, &q)
        {
            self.capability_finding(
                e.capability,
                &m,
                &q,
                Reach::Called,
                "",
                &[],
                evidence.clone(),
                loc.clone(),
            );
        }
        // unknown classes are reported by the import pass
        if let Some(Allowed::User(pattern)) = allowed {
            // Reported as suppressed so that allowlisting is never silent.
            self.out.findings.push(
                Finding::new(
                    &rules::PKL_UNKNOWN_GLOBAL,
                    Severity::Info,
                    format!("pickle calls {module}.{qualname}"),
                )
                .evidence(self.evidence(&evidence))
                .at(loc)
                .suppressed(format!("allowlisted by policy: {pattern}")),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn capability_finding(
        &mut self,
        cap: Capability,
        module: &str,
        qualname: &str,
        reach: Reach,
        via: &str,
        args: &[ValueId],
        evidence: Evidence,
        loc: Location,
    ) {
        let name = display_name(module, qualname);
        let called = reach != Reach::Referenced;
        let rule = pickle_rule(cap);
        let mut sev = match cap {
            // Building a function from analysed code: the code's verdict is reported on its
            // own; the building step is information.
            Capability::CodeObject if self.code_severity.is_some() => Severity::Info,
            Capability::FileWrite
                if reach == Reach::Called && opens_for_reading(self, module, qualname, args) =>
            {
                Severity::Medium
            }
            _ => severity::of(cap, reach),
        };
        let mut what = String::new();
        if reach == Reach::Indirect {
            what.push_str(" (through its own code)");
        }
        // eval/exec/compile of a constant: read the code instead of the word.
        if reach == Reach::Called && cap == Capability::DynamicCode {
            let sources = self.code_arguments(module, qualname, args);
            if !sources.is_empty() {
                // Each code string (timeit has stmt and setup) is judged; the worst decides.
                // Even harmless code keeps the call at the floor: no serialiser writes a
                // direct eval, it is how exploits are staged and tested.
                sev = Severity::Info;
                for src in sources {
                    let facts = modelguard_pycode::analyze_source(&src, &self.ctx.code_limits);
                    let (s, w) = self.code_hits(&facts, &name, &loc);
                    if s >= sev {
                        (sev, what) = (s, w);
                    }
                }
                sev = sev.max(severity::DIRECT_EVALUATION_FLOOR);
            }
        }
        if reach == Reach::Called && cap == Capability::Deserialize {
            // Constant payloads are analysed as files of their own (their findings carry the
            // member path `…nested[i]`); the call itself is then information. A payload that
            // is not a constant cannot be judged: the call stays high.
            let mut payloads = 0;
            for &arg in args {
                if let Sym::Bytes(data) = self.eval(arg, 0) {
                    payloads += 1;
                    self.out.nested.push(NestedPayload {
                        data,
                        loader: name.clone(),
                    });
                }
            }
            if payloads > 0 {
                sev = Severity::Info;
                what.push_str(" (its constant payload is analysed as a nested file)");
            }
        }
        // Arguments matter: a path outside the model or a remote URL says what the call does.
        if called {
            let notes = self.argument_notes(args);
            if !notes.is_empty() {
                if matches!(cap, Capability::FileRead | Capability::FileWrite)
                    && notes.iter().any(|n| n.starts_with("path"))
                {
                    sev = sev.max(Severity::High);
                }
                what.push_str(&format!(" ({})", notes.join("; ")));
            }
        }
        let verb = if called { "calls" } else { "references" };
        self.push(
            rule,
            sev,
            format!("pickle {verb} {name}{via}, which {}{what}", cap.describe()),
            self.evidence(&evidence),
            loc,
        );
    }

    /// Constant string arguments that are paths outside the model, URLs or shell pipelines.
    fn argument_notes(&mut self, args: &[ValueId]) -> Vec<String> {
        let mut notes = Vec::new();
        for &a in args.iter().take(8) {
            let note = match self.eval(a, 0) {
                Sym::Str(s) => self.string_note(&s),
                // `['sh', '-c', '…']`: an argv list, judged by its program.
                _ => match self.a.value(a) {
                    Some(Value::List(items) | Value::Tuple(items)) if items.len() >= 2 => {
                        let argv: Vec<String> = items
                            .iter()
                            .take(8)
                            .filter_map(|&i| self.a.str_value(i).map(str::to_string))
                            .collect();
                        if argv.len() >= 2 {
                            self.string_note(&argv.join(" "))
                        } else {
                            None
                        }
                    }
                    _ => None,
                },
            };
            notes.extend(note);
        }
        notes
    }

    /// What a constant string argument looks like, when that is evidence: a URL, a path
    /// outside the model, a shell command line, or Python code that reaches a capability.
    fn string_note(&mut self, s: &str) -> Option<String> {
        let t = s.trim();
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("http://")
            || lower.starts_with("https://")
            || lower.starts_with("ftp://")
        {
            return Some(format!("URL {t:?}"));
        }
        let drive = t.len() > 2
            && t.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && t.get(1..2) == Some(":")
            && matches!(t.get(2..3), Some("\\" | "/"));
        if t.starts_with('/')
            || t.starts_with('~')
            || drive
            || t == ".."
            || t.starts_with("../")
            || t.contains("/../")
        {
            return Some(format!("path {t:?} outside the model"));
        }
        // A command line: a program every system has with an argument, or shell syntax that
        // runs one (`| sh`, `$(…)`); an argv list is joined first.
        if crate::evidence::looks_like_shell(t) {
            let piped = t.contains('|') || t.contains("$(") || t.contains('`') || t.contains("&&");
            let what = if piped {
                "shell pipeline"
            } else {
                "command line"
            };
            return Some(format!("{what} {t:?}"));
        }
        // Python code that reaches a capability (an argument some library evaluates).
        if t.len() <= 4096 && t.contains('(') {
            if let Some(n) = self.string_notes.get(t) {
                return n.clone();
            }
            let facts = modelguard_pycode::analyze_source(t, &self.ctx.code_limits);
            let note = facts.hits.first().map(|h| {
                format!(
                    "Python code reaching {} ({}): {t:?}",
                    h.target,
                    h.capability.as_str()
                )
            });
            self.string_notes.insert(t.to_string(), note.clone());
            return note;
        }
        None
    }

    /// The constant code strings handed to an evaluator (none when it is not one, or when no
    /// code argument is constant).
    fn code_arguments(&mut self, module: &str, qualname: &str, args: &[ValueId]) -> Vec<String> {
        let evaluator = matches!(
            (module, qualname),
            ("builtins", "eval" | "exec" | "compile" | "execfile")
                | ("timeit", "timeit" | "repeat")
                | ("cProfile" | "profile", "run" | "runctx")
                | (
                    "code",
                    "InteractiveInterpreter.runsource" | "InteractiveInterpreter.runcode"
                )
                | (
                    "_xxsubinterpreters" | "_interpreters",
                    "run_string" | "exec"
                )
        );
        if !evaluator {
            return Vec::new();
        }
        // timeit(stmt, setup, …) and the runners take code first; runcode on an instance
        // takes (self, code).
        args.iter()
            .take(2)
            .filter_map(|&a| match self.eval(a, 0) {
                Sym::Str(s) => Some(s),
                Sym::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                _ => None,
            })
            .collect()
    }

    /// Report what analysed code reaches; returns the severity of the evaluating call and a
    /// note for its message. Inert code (arithmetic, literals) makes the call `info`.
    fn code_hits(
        &mut self,
        facts: &modelguard_pycode::CodeFacts,
        evaluator: &str,
        loc: &Location,
    ) -> (Severity, String) {
        let mut worst = None;
        for h in &facts.hits {
            let (rule, sev) = capability_rule(h.capability);
            worst = worst.max(Some(sev));
            let chain = if h.chain.is_empty() {
                String::new()
            } else {
                format!(" via {}", h.chain.join(" → "))
            };
            self.push(
                rule,
                sev,
                format!(
                    "code passed to {evaluator} reaches {}, which {}{chain}",
                    h.target,
                    h.capability.describe()
                ),
                h.evidence.clone(),
                loc.clone(),
            );
        }
        for p in &facts.payloads {
            if p.kind == modelguard_pycode::PayloadKind::Pickle {
                self.out.nested.push(NestedPayload {
                    data: p.data.clone(),
                    loader: format!("{evaluator}:{}", p.chain.join("→")),
                });
            }
        }
        match worst {
            Some(s) => (s.max(Severity::High), String::new()),
            None if !facts.complete => {
                self.out.incomplete.push(format!(
                    "code passed to {evaluator}: {}",
                    facts.errors.join("; ")
                ));
                (
                    Severity::High,
                    format!(
                        " (the code could not be fully analysed: {})",
                        facts.errors.join("; ")
                    ),
                )
            }
            None if facts.inert => (
                Severity::Info,
                " (the code is inert: only literals and arithmetic)".into(),
            ),
            None => (
                Severity::Medium,
                format!(
                    " (the code calls {} modelguard cannot judge)",
                    facts.unknown_calls.join(", ")
                ),
            ),
        }
    }

    fn judge_imports(&mut self) {
        let a = self.a;
        let called: HashSet<ValueId> = self.called_values.clone();
        // Effective callees through partial/methodcaller count as called, as do classes passed
        // to copyreg._reconstructor.
        let mut used_as_class: HashSet<ValueId> = HashSet::default();
        let mut partial_funcs: HashSet<ValueId> = HashSet::default();
        for call in &a.calls {
            if let Some(Value::Global { module, name }) = a.value(call.func) {
                if (module.as_str(), name.as_str()) == ("copyreg", "_reconstructor")
                    && let Some(&c) = call.args.first()
                {
                    used_as_class.insert(c);
                }
                if matches!(
                    (module.as_str(), name.as_str()),
                    ("functools" | "_functools", "partial")
                ) && let Some(&f) = call.args.first()
                {
                    partial_funcs.insert(f);
                }
            }
        }
        let mut seen: HashSet<(String, String)> = HashSet::default();
        for imp in &a.imports {
            let (Some(module), Some(name)) = (&imp.module, &imp.name) else {
                continue; // dynamic: judged where called / below
            };
            let is_called = called.contains(&imp.value) || matches!(imp.kind, ImportKind::Inst);
            // dill's `__builtin__.__main__` is the __main__ namespace its functions live in.
            if matches!(module.as_str(), "builtins" | "__builtin__") && name == "__main__" {
                continue;
            }
            if is_dunder(name) && !is_called {
                let loc = self.loc(imp.at);
                self.push(
                    &rules::PKL_INTROSPECTION,
                    Severity::High,
                    format!("pickle imports the dunder attribute {module}.{name}"),
                    format!("{module}.{name}"),
                    loc,
                );
            }
            if is_called && !partial_funcs.contains(&imp.value) {
                continue; // judged as a call
            }
            if partial_funcs.contains(&imp.value) && is_called {
                continue;
            }
            let allowed = self.ctx.policy.allowed(module, name);
            if matches!(allowed, Some(Allowed::Exact)) {
                continue;
            }
            if let Some(Allowed::User(p)) = &allowed
                && catalog::classify(module, name).is_none()
            {
                if seen.insert((module.clone(), name.clone())) {
                    let loc = self.loc(imp.at);
                    self.out.findings.push(
                        Finding::new(
                            &rules::PKL_UNKNOWN_GLOBAL,
                            Severity::Info,
                            format!("pickle imports {module}.{name}"),
                        )
                        .evidence(format!("{module}.{name}"))
                        .at(loc)
                        .suppressed(format!("allowlisted by policy: {p}")),
                    );
                }
                continue;
            }
            if is_resolver(module, name) && !partial_funcs.contains(&imp.value) {
                // A resolver imported but not called is inert.
                continue;
            }
            if let Some(entry) = catalog::classify(module, name) {
                let loc = self.loc(imp.at);
                let called_later = partial_funcs.contains(&imp.value);
                let evidence = Evidence::Text(format!("{module}.{name}"));
                let reach = if !called_later {
                    Reach::Referenced
                } else if entry.indirect {
                    Reach::Indirect
                } else {
                    Reach::Called
                };
                self.capability_finding(
                    entry.capability,
                    module,
                    name,
                    reach,
                    if called_later {
                        " via functools.partial"
                    } else {
                        ""
                    },
                    &[],
                    evidence,
                    loc,
                );
                continue;
            }
            if allowed.is_some() {
                continue;
            }
            if !seen.insert((module.clone(), name.clone())) {
                continue;
            }
            if used_as_class.contains(&imp.value) || !is_called {
                // Unknown is not dangerous: an inventory item, unless the user asked for
                // every unknown name to be raised.
                let sev = if self.ctx.policy.strict {
                    Severity::Medium
                } else {
                    Severity::Info
                };
                let loc = self.loc(imp.at);
                self.push(
                    &rules::PKL_UNKNOWN_GLOBAL,
                    sev,
                    format!(
                        "pickle imports {module}.{name}, which modelguard does not know (importing runs its module's top-level code)"
                    ),
                    format!("{module}.{name}"),
                    loc,
                );
            }
        }
    }

    fn judge_uncalled_resolutions(&mut self) {
        let a = self.a;
        for call in &a.calls {
            if self.called_values.contains(&call.result) {
                continue;
            }
            let Some(Value::Global { module, name }) = a.value(call.func) else {
                continue;
            };
            if !is_resolver(module, name) {
                continue;
            }
            let r = self.eval(call.result, 0);
            let Sym::Name {
                module: m,
                qualname: q,
            } = r
            else {
                continue;
            };
            if let Some(e) = catalog::classify(&m, &q) {
                let loc = self.loc(call.at);
                let ev = Evidence::Of(call.result);
                self.capability_finding(e.capability, &m, &q, Reach::Referenced, "", &[], ev, loc);
            } else if is_dunder(&q) {
                let loc = self.loc(call.at);
                let ev = self.render(call.result);
                self.push(
                    &rules::PKL_INTROSPECTION,
                    Severity::High,
                    format!("pickle reaches the dunder attribute {m}.{q}"),
                    ev,
                    loc,
                );
            }
        }
    }
}

/// Attribute `name` (possibly dotted) of a symbolic value.
/// `key` looked up in the table `module.qualname` when that is a table of modules or of a
/// module's names: `sys.modules`, a module's or class's `__dict__`, a function's
/// `__globals__` (its module's names), any `__builtins__` (the builtins module's names).
fn table_lookup(module: &str, qualname: &str, key: &str) -> Option<Sym> {
    let name = |module: &str, qualname: String| Sym::Name {
        module: module.to_string(),
        qualname,
    };
    if module == "sys" && qualname == "modules" {
        return Some(Sym::Module(key.to_string()));
    }
    if qualname == "__builtins__" || qualname.ends_with(".__builtins__") {
        return Some(name("builtins", key.to_string()));
    }
    if qualname.ends_with(".__globals__") || qualname == "__dict__" {
        return Some(name(module, key.to_string()));
    }
    qualname
        .strip_suffix(".__dict__")
        .map(|class| name(module, format!("{class}.{key}")))
}

/// What `find_class(module, qualname)` returns, named by its real target: re-exports and
/// module aliases resolved through the ecosystem table (`sklearn.base` + `np.load` is
/// `numpy.load`'s definition), so every check below matches what is really reached.
fn name_sym(module: &str, qualname: &str) -> Sym {
    // dill's Unpickler.find_class maps ('__builtin__', '__main__') to the globals of
    // `__main__`, the namespace its pickled functions live in: a dict, not a gadget.
    if matches!(module, "builtins" | "__builtin__") && qualname == "__main__" {
        return Sym::Opaque;
    }
    let r = ecosystem::resolve(module, qualname);
    if r.qualname.is_empty() {
        Sym::Module(r.module)
    } else {
        Sym::Name {
            module: r.module,
            qualname: r.qualname,
        }
    }
}

/// How a real target is shown in messages: CPython's C accelerator modules under the name
/// people write (`posix.system` is shown as `os.system`, `_io.open` as `io.open`); the
/// evidence line keeps the pickle's own spelling.
fn display_name(module: &str, qualname: &str) -> String {
    let shown = match module {
        "posix" | "nt" => "os",
        "posixpath" | "ntpath" => "os.path",
        "_io" => "io",
        "_operator" => "operator",
        "_functools" => "functools",
        "_pickle" => "pickle",
        "_codecs" => "codecs",
        "_socket" => "socket",
        "_collections" => "collections",
        other => other,
    };
    format!("{shown}.{qualname}")
}

fn attr(o: Sym, name: &str) -> Sym {
    match o {
        // A module-level function written in C (`builtins.len`, `posix.system`) is bound to
        // its module: `getattr(len, '__self__')` is the builtins module, a way to reach
        // `exec` without naming it.
        Sym::Name { module, qualname } if name == "__self__" && !qualname.contains('.') => {
            Sym::Module(module)
        }
        Sym::Module(m) => name_sym(&m, name),
        Sym::Name { module, qualname } => name_sym(&module, &format!("{qualname}.{name}")),
        Sym::Unresolved(w) => Sym::Unresolved(w),
        Sym::Fails => Sym::Fails,
        _ => Sym::Unresolved(format!("attribute {name} of a computed object")),
    }
}

/// `open(path)` / `open(path, 'r')`: reading, not writing.
fn opens_for_reading(j: &mut Judge<'_>, module: &str, qualname: &str, args: &[ValueId]) -> bool {
    if !matches!(
        (module, qualname),
        ("builtins", "open") | ("io", "open") | ("_io", "open") | ("codecs", "open")
    ) {
        return false;
    }
    match args.get(1) {
        None => true,
        Some(&m) => match j.eval(m, 0) {
            Sym::Str(mode) => !mode.contains(['w', 'a', 'x', '+']),
            _ => false,
        },
    }
}

/// The pickle rule that reports a capability.
fn pickle_rule(cap: Capability) -> &'static Rule {
    match cap {
        Capability::ProcessExec => &rules::PKL_PROCESS,
        Capability::DynamicCode => &rules::PKL_DYNAMIC_CODE,
        Capability::NativeCode => &rules::PKL_NATIVE,
        Capability::CodeObject => &rules::PKL_CODE_OBJECT,
        Capability::ImportMachinery => &rules::PKL_RESOLVER,
        Capability::Deserialize => &rules::PKL_NESTED,
        Capability::FileWrite | Capability::FileRead => &rules::PKL_FILE,
        Capability::Network => &rules::PKL_NETWORK,
        Capability::Introspection | Capability::ProcessControl => &rules::PKL_INTROSPECTION,
    }
}

/// Rule and severity for a capability reached by analysed code.
fn capability_rule(cap: Capability) -> (&'static Rule, Severity) {
    (pickle_rule(cap), severity::in_code(cap))
}
