//! Analyse what a pickle does: turn the VM's calls, imports and builds into verdict points
//! (`facts.rs`) that the rules judge (`rules/pickle.rs`).
//!
//! The VM says *what would be called with what*; this module follows values through the
//! resolvers an attacker uses to hide names (`getattr`, `__import__`, `importlib`,
//! `operator.attrgetter`/`methodcaller`, `functools.partial`, `pkgutil.resolve_name`,
//! `pydoc.locate`), finds the callable that is actually reached, with its arguments, and
//! records its real target, its capability in the catalog and the built-in allowlist's answer.
//!
//! `eval.rs`: data flow (what a value is); `payloads.rs`: constants, code objects, decoders;
//! `verdicts.rs`: verdict points for what is reached; `names.rs`: Python's name resolution;
//! `facts.rs`: the verdict points' types.
//!
//! Must not: read files or walk containers (the scan driver hands it an `Analysis`), consult
//! the user's policy, or decide a severity (the rules do both).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use modelguard_pickle::{Analysis, CallKind, ImportKind, Value, ValueId};
use modelguard_pycode::catalog::{self, Capability};
use modelguard_pycode::decode::{self, Encoding, PyStr, PyValue};
use modelguard_pycode::ecosystem;
use modelguard_pycode::knowledge::{self, is_dunder, is_resolver};
use modelguard_pycode::marshal::{self, Object};

use crate::policy;
use crate::severity::Reach;

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
pub struct Context {
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
    /// What the rules judge (`rules/pickle.rs`).
    pub facts: PickleFacts,
    /// Nested payloads to analyse.
    pub nested: Vec<NestedPayload>,
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
    ctx: &'a Context,
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
    /// A code object in this pickle was analysed (its verdict is reported on its own).
    code_objects_analysed: bool,
    /// Extension codes this pickle registers with `copyreg.add_extension(module, name, code)`
    /// before an EXT opcode loads them.
    extensions: HashMap<i64, (String, String)>,
}

/// Judge one analysed pickle stream.
pub fn judge(a: &Analysis, ctx: &Context) -> Judgement {
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
        code_objects_analysed: false,
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

/// Where in the stream a verdict point is.
#[derive(Debug, Clone, Default)]
pub(super) struct Loc {
    offset: Option<u64>,
    opcode: Option<u64>,
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

mod eval;
pub mod facts;
mod names;
mod payloads;
mod verdicts;

pub use facts::PickleFacts;
use facts::{CapabilityUse, Located, PickleEvent, StaticAllow, UnlistedCall};
use names::*;

impl<'a> Judge<'a> {
    pub(super) fn loc(&self, at: modelguard_pickle::Location) -> Loc {
        Loc {
            offset: Some(at.offset),
            opcode: Some(at.opcode),
        }
    }

    /// Record a verdict point with the rendering of `evidence`.
    pub(super) fn event_of(&mut self, event: PickleEvent, evidence: &Evidence, loc: Loc) {
        let evidence = self.evidence(evidence);
        self.event(event, evidence, loc);
    }

    /// Record a verdict point.
    pub(super) fn event(&mut self, event: PickleEvent, evidence: String, loc: Loc) {
        self.out.facts.events.push(Located {
            event,
            evidence,
            offset: loc.offset,
            opcode: loc.opcode,
        });
    }

    pub(super) fn render(&self, id: ValueId) -> String {
        self.a.render(id)
    }

    pub(super) fn evidence(&self, e: &Evidence) -> String {
        match e {
            Evidence::Of(id) => self.render(*id),
            Evidence::Text(t) => t.clone(),
        }
    }

    pub(super) fn run(&mut self) {
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
                        self.event(
                            PickleEvent::GlobalMutation {
                                message: format!(
                                    "pickle mutates the module-level object {module}.{qualname}"
                                ),
                            },
                            format!("{} <- items", self.render(call.func)),
                            loc,
                        );
                    } else if let Sym::Module(m) = &target {
                        let loc = self.loc(call.at);
                        self.event(
                            PickleEvent::GlobalMutation {
                                message: format!("pickle mutates module {m}"),
                            },
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
                Sym::Unresolved(why) => self.event(
                    PickleEvent::Resolver {
                        message: format!(
                            "pickle calls a callable it computes at load time ({why})"
                        ),
                    },
                    self.render(call.result),
                    loc,
                ),
                Sym::Module(m) => self.event(
                    PickleEvent::Resolver {
                        message: format!("pickle calls module object {m}"),
                    },
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
                        self.event(
                            PickleEvent::CallsResult { known_factory },
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
                self.event(
                    PickleEvent::GlobalBuild {
                        name: format!("{module}.{qualname}"),
                        dunder,
                    },
                    format!("{module}.{qualname}.__setstate__({state})"),
                    loc,
                );
            }
        }
        // 5. Opaque references.
        for (pid, at) in &a.persistent_ids {
            if !self.ctx.expects_persistent_ids {
                let loc = self.loc(*at);
                self.event(
                    PickleEvent::PersistentId,
                    format!("persistent_load({})", self.render(*pid)),
                    loc,
                );
            }
        }
        for v in &a.values {
            if let Value::Extension(code) = v {
                // Resolved through a registration this pickle made: the name is judged where
                // it is used; the EXT opcode is only what hid it.
                let registered = self.extensions.get(code).map(|(m, n)| format!("{m}.{n}"));
                let evidence = match &registered {
                    Some(name) => format!("EXT {code} = {name}"),
                    None => format!("EXT {code}"),
                };
                self.event(
                    PickleEvent::Extension {
                        code: *code,
                        registered,
                    },
                    evidence,
                    Loc::default(),
                );
            }
        }
    }
}
