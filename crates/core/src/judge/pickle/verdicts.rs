//! From what is reached to findings: named and allowed calls, capabilities and their
//! arguments, code handed to evaluators, imports and uncalled resolutions.

use super::*;

impl Judge<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn judge_named_call(
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
    pub(super) fn trampoline(
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
    pub(super) fn items(&self, id: Option<ValueId>) -> Vec<ValueId> {
        match id.and_then(|i| self.a.value(i)) {
            Some(Value::List(v) | Value::Tuple(v) | Value::Set(v) | Value::FrozenSet(v)) => {
                v.clone()
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn judge_allowed_call(
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
    pub(super) fn capability_finding(
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
    pub(super) fn argument_notes(&mut self, args: &[ValueId]) -> Vec<String> {
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
    pub(super) fn string_note(&mut self, s: &str) -> Option<String> {
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
    pub(super) fn code_arguments(
        &mut self,
        module: &str,
        qualname: &str,
        args: &[ValueId],
    ) -> Vec<String> {
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
    pub(super) fn code_hits(
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

    pub(super) fn judge_imports(&mut self) {
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

    pub(super) fn judge_uncalled_resolutions(&mut self) {
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
