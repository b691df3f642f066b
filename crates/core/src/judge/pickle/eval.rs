//! Data flow over the VM's value graph: what each value is (`Sym`), through resolvers,
//! attribute and item lookups, trampolines and planted attributes.

use super::*;

impl Judge<'_> {
    pub(super) fn eval(&mut self, id: ValueId, depth: usize) -> Sym {
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

    pub(super) fn str_arg(&mut self, args: &[ValueId], i: usize, depth: usize) -> Option<String> {
        let id = *args.get(i)?;
        match self.eval(id, depth) {
            Sym::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the value is a constant that is not a string (a number, container, bytes, None).
    pub(super) fn is_literal(&self, id: ValueId) -> bool {
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
    pub(super) fn instance_state(&mut self, obj: ValueId, name: &str) -> Option<Option<ValueId>> {
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
    pub(super) fn known_factory(&mut self, id: ValueId) -> bool {
        let Some(Value::Call(ci)) = self.a.value(id) else {
            return false;
        };
        let Some(func) = self.a.calls.get(*ci as usize).map(|c| c.func) else {
            return false;
        };
        match self.eval(func, 0) {
            Sym::Name { module, qualname } => matches!(
                policy::static_allowed(&module, &qualname),
                Some(StaticAllow::Known | StaticAllow::Exact)
            ),
            _ => false,
        }
    }

    /// Whether the value can never be an exact `str` (what STACK_GLOBAL requires): a
    /// non-string constant, or an instance a class other than `str` builds (`NEWOBJ`,
    /// `copyreg._reconstructor`).
    pub(super) fn never_str(&mut self, id: ValueId, depth: usize) -> bool {
        if self.is_literal(id) {
            return true;
        }
        // Only a class the ecosystem table knows: an unknown class's `__new__` could return
        // an exact `str`.
        match self.class_of(id, depth) {
            Some(Sym::Name { module, qualname }) => {
                !(module == "builtins" && qualname == "str")
                    && matches!(
                        policy::static_allowed(&module, &qualname),
                        Some(StaticAllow::Known | StaticAllow::Exact)
                    )
            }
            _ => false,
        }
    }

    /// The class of an instance this pickle builds without calling it (`NEWOBJ`,
    /// `copyreg._reconstructor(cls, …)`), if the value is one.
    pub(super) fn class_of(&mut self, id: ValueId, depth: usize) -> Option<Sym> {
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
    pub(super) fn effective_callee(&mut self, callee: Sym, args: &[ValueId], depth: usize) -> Sym {
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
    pub(super) fn eval_call(&mut self, ci: usize, depth: usize) -> Sym {
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
    pub(super) fn builtins_gadget(
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
}
