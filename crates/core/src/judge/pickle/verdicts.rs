//! From what is reached to verdict points: named and allowed calls, capabilities and their
//! arguments, code handed to evaluators, imports and uncalled resolutions. The points are
//! facts (`facts.rs`); severities and the user allowlist are the rules' (`rules/pickle.rs`).

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
        loc: Loc,
    ) {
        let Some(call) = self.a.calls.get(ci) else {
            return;
        };
        let args = args.to_vec();
        let kind = call.kind;
        let result = call.result;
        // Resolvers whose result we could follow are judged where the result is used.
        if is_resolver(module, qualname) {
            let Sym::Unresolved(why) = self.eval(result, 0) else {
                return;
            };
            self.event_of(
                PickleEvent::Resolver {
                    message: format!("pickle resolves a name it computes at load time ({why})"),
                },
                &evidence,
                loc,
            );
            return;
        }
        if is_dunder(qualname) {
            self.event_of(
                PickleEvent::Dunder {
                    message: format!("pickle calls a dunder attribute {module}.{qualname}"),
                },
                &evidence,
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
                Sym::Name { .. } | Sym::Module(_) | Sym::Unresolved(_) => {
                    self.event_of(
                        PickleEvent::GlobalMutation {
                            message: format!("pickle changes an attribute of a module-level object with {module}.{qualname}"),
                        },
                        &evidence,
                        loc,
                    );
                }
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
                let reach = called_reach(entry.indirect);
                self.capability_finding(
                    entry.capability,
                    tm,
                    tq,
                    reach,
                    &via,
                    &inner,
                    evidence,
                    loc,
                );
                return;
            }
        }
        let allow = policy::static_allowed(module, qualname);
        let catalogued = catalog::classify(module, qualname);
        // Curated exact entries outrank the catalog; a user pattern never silences a
        // catalogued capability (`--allow 'os.*'` must not make os.system safe).
        if allow == Some(StaticAllow::Exact) {
            self.reconstructed_class(module, qualname, &args, evidence, loc);
            return;
        }
        if let Some(entry) = catalogued {
            let reach = called_reach(entry.indirect);
            self.capability_finding(
                entry.capability,
                module,
                qualname,
                reach,
                via,
                &args,
                evidence,
                loc,
            );
            return;
        }
        // Not catalogued: a user pattern allows it (reported as suppressed), else the rules
        // judge it by its class's __init__, the ecosystem table, or its use.
        // Calling a class runs its __init__, which restoring an object (NEWOBJ) does not.
        let init = if matches!(kind, CallKind::Reduce | CallKind::Inst | CallKind::Obj)
            && !args.is_empty()
            && let Some((cap, through)) = ecosystem::resolve(module, qualname)
                .record
                .and_then(|r| r.init)
        {
            let via = format!("{via} (its __init__ calls {through})");
            Some(self.capability_use(cap, module, qualname, Reach::Indirect, &via, &args))
        } else {
            None
        };
        // A name the table knows reaches no capability whatever it is given: its arguments
        // are not needed.
        let notes = if allow == Some(StaticAllow::Known) && init.is_none() {
            Vec::new()
        } else {
            self.argument_notes(&args)
        };
        let class_like = matches!(kind, CallKind::NewObj | CallKind::NewObjEx) || args.is_empty();
        self.event_of(
            PickleEvent::UnlistedCall(UnlistedCall {
                module: module.to_string(),
                qualname: qualname.to_string(),
                allow,
                class_like,
                notes,
                init,
            }),
            &evidence,
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

    /// `copyreg._reconstructor(cls, base, state)`: the class is what gets built.
    pub(super) fn reconstructed_class(
        &mut self,
        module: &str,
        qualname: &str,
        args: &[ValueId],
        evidence: Evidence,
        loc: Loc,
    ) {
        if (module, qualname) != ("copyreg", "_reconstructor") {
            return;
        }
        let Some(&cls) = args.first() else { return };
        let Sym::Name {
            module: m,
            qualname: q,
        } = self.eval(cls, 0)
        else {
            return;
        };
        let Some(e) = catalog::classify(&m, &q) else {
            return;
        };
        let allow = policy::static_allowed(&m, &q);
        if allow.is_some() {
            return;
        }
        let mut using = self.capability_use(e.capability, &m, &q, Reach::Called, "", &[]);
        using.unless_allowed = Some(facts::AllowGate {
            module: m,
            qualname: q,
            allow,
        });
        self.event_of(PickleEvent::Capability(using), &evidence, loc);
    }

    /// Record a capability reached, with what decides its severity.
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
        loc: Loc,
    ) {
        let using = self.capability_use_at(cap, module, qualname, reach, via, args, &loc);
        self.event_of(PickleEvent::Capability(using), &evidence, loc);
    }

    fn capability_use(
        &mut self,
        cap: Capability,
        module: &str,
        qualname: &str,
        reach: Reach,
        via: &str,
        args: &[ValueId],
    ) -> CapabilityUse {
        self.capability_use_at(cap, module, qualname, reach, via, args, &Loc::default())
    }

    /// What a capability use needs for its verdict. Code strings handed to an evaluator are
    /// analysed here (their hits are recorded first, at `loc`); constant payloads of nested
    /// loaders are queued for analysis as files of their own.
    #[allow(clippy::too_many_arguments)]
    fn capability_use_at(
        &mut self,
        cap: Capability,
        module: &str,
        qualname: &str,
        reach: Reach,
        via: &str,
        args: &[ValueId],
        loc: &Loc,
    ) -> CapabilityUse {
        let name = display_name(module, qualname);
        let called = reach != Reach::Referenced;
        let mut code = Vec::new();
        // eval/exec/compile of a constant: read the code instead of the word.
        if reach == Reach::Called && cap == Capability::DynamicCode {
            for src in self.code_arguments(module, qualname, args) {
                let facts = modelguard_pycode::analyze_source(&src, &self.ctx.code_limits);
                code.push(self.code_hits(&facts, &name, loc));
            }
        }
        // Constant payloads are analysed as files of their own (their findings carry the
        // member path `…nested[i]`).
        let mut nested_payloads = 0;
        if reach == Reach::Called && cap == Capability::Deserialize {
            for &arg in args {
                if let Sym::Bytes(data) = self.eval(arg, 0) {
                    nested_payloads += 1;
                    self.out.nested.push(NestedPayload {
                        data,
                        loader: name.clone(),
                    });
                }
            }
        }
        // (The mode is read before the other arguments, as the verdict has always done.)
        let read_only_open = cap == Capability::FileWrite
            && reach == Reach::Called
            && opens_for_reading(self, module, qualname, args);
        CapabilityUse {
            capability: cap,
            reach,
            via: via.to_string(),
            notes: if called {
                self.argument_notes(args)
            } else {
                Vec::new()
            },
            read_only_open,
            code_objects_analysed: cap == Capability::CodeObject && self.code_objects_analysed,
            code,
            nested_payloads,
            unless_allowed: None,
            name,
        }
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

    /// Record what analysed code reaches (a hit per capability, at `loc`) and queue the
    /// pickles it decodes; returns the summary its evaluating call is judged by.
    pub(super) fn code_hits(
        &mut self,
        facts: &modelguard_pycode::CodeFacts,
        evaluator: &str,
        loc: &Loc,
    ) -> facts::CodeVerdict {
        for h in &facts.hits {
            let chain = if h.chain.is_empty() {
                String::new()
            } else {
                format!(" via {}", h.chain.join(" → "))
            };
            self.event(
                PickleEvent::CodeHit {
                    capability: h.capability,
                    message: format!(
                        "code passed to {evaluator} reaches {}, which {}{chain}",
                        h.target,
                        h.capability.describe()
                    ),
                },
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
        if facts.hits.is_empty() && !facts.complete {
            self.out.facts.incomplete.push(format!(
                "code passed to {evaluator}: {}",
                facts.errors.join("; ")
            ));
        }
        facts::CodeVerdict {
            hits: facts.hits.iter().map(|h| h.capability).collect(),
            complete: facts.complete,
            inert: facts.inert,
            errors: facts.errors.clone(),
            unknown_calls: facts.unknown_calls.clone(),
        }
    }

    pub(super) fn judge_imports(&mut self) {
        let a = self.a;
        // Effective callees through partial count as called later.
        let mut partial_funcs: HashSet<ValueId> = HashSet::default();
        for call in &a.calls {
            if let Some(Value::Global { module, name }) = a.value(call.func)
                && matches!(
                    (module.as_str(), name.as_str()),
                    ("functools" | "_functools", "partial")
                )
                && let Some(&f) = call.args.first()
            {
                partial_funcs.insert(f);
            }
        }
        for imp in &a.imports {
            let (Some(module), Some(name)) = (&imp.module, &imp.name) else {
                continue; // dynamic: judged where called / below
            };
            let is_called =
                self.called_values.contains(&imp.value) || matches!(imp.kind, ImportKind::Inst);
            // dill's `__builtin__.__main__` is the __main__ namespace its functions live in.
            if matches!(module.as_str(), "builtins" | "__builtin__") && name == "__main__" {
                continue;
            }
            if is_dunder(name) && !is_called {
                let loc = self.loc(imp.at);
                self.event(
                    PickleEvent::Dunder {
                        message: format!("pickle imports the dunder attribute {module}.{name}"),
                    },
                    format!("{module}.{name}"),
                    loc,
                );
            }
            if is_called {
                continue; // judged as a call
            }
            let allow = policy::static_allowed(module, name);
            if allow == Some(StaticAllow::Exact) {
                continue;
            }
            let called_later = partial_funcs.contains(&imp.value);
            let inert_resolver = is_resolver(module, name) && !called_later;
            if let Some(entry) = catalog::classify(module, name) {
                if inert_resolver {
                    continue; // a resolver imported but not called is inert
                }
                let loc = self.loc(imp.at);
                let reach = if called_later {
                    called_reach(entry.indirect)
                } else {
                    Reach::Referenced
                };
                let via = if called_later {
                    " via functools.partial"
                } else {
                    ""
                };
                let ev = Evidence::Text(format!("{module}.{name}"));
                self.capability_finding(entry.capability, module, name, reach, via, &[], ev, loc);
                continue;
            }
            let loc = self.loc(imp.at);
            self.event(
                PickleEvent::UnlistedImport {
                    module: module.clone(),
                    name: name.clone(),
                    allow,
                    inert_resolver,
                },
                format!("{module}.{name}"),
                loc,
            );
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
                self.event(
                    PickleEvent::Dunder {
                        message: format!("pickle reaches the dunder attribute {m}.{q}"),
                    },
                    ev,
                    loc,
                );
            }
        }
    }
}

/// How calling a catalogued callable reaches its capability: directly, or through its own
/// code when the catalog says the capability is one step removed.
fn called_reach(indirect: bool) -> Reach {
    if indirect {
        Reach::Indirect
    } else {
        Reach::Called
    }
}
