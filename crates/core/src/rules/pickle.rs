//! Rules for what pickles (and the formats built on them) do when loaded.

use std::collections::BTreeSet;

use modelguard_pycode::catalog::Capability;

use super::Rule;
use crate::facts::{Emitter, Facts};
use crate::judge::pickle::facts::{CapabilityUse, CodeVerdict, PickleEvent};
use crate::policy::{Policy, StaticAllow};
use crate::report::{Finding, Location, Severity};
use crate::rule;
use crate::severity::{self, Reach};

rule! {
    /// ## What it detects
    /// A pickle that calls (or references) a callable that starts a process: `os.system`,
    /// `subprocess.*`, `pty.spawn`, `pip.main`, stdlib gadgets that shell out
    /// (`uuid._get_command_stdout`, `imaplib.IMAP4_stream`, `venv.create`…), ML-framework
    /// gadgets (`torch.utils.collect_env.run`), reached directly, through a dotted name
    /// (`logging` + `os.system`), a submodule, or a resolver (`getattr(__import__('os'), 'system')`).
    ///
    /// ## Why is this dangerous?
    /// Unpickling performs the call: loading the model runs the command.
    ///
    /// ## How the verdict is decided
    /// The symbolic VM rebuilds every call with its arguments; the callee is resolved through
    /// `getattr`/`__import__`/`attrgetter`/`partial`/`resolve_name` data flow and trampolines
    /// (`map`, `_operator.call`, library functions that call an argument), named by its real
    /// target through the ecosystem table (`sklearn.utils._testing.check_output` is
    /// `subprocess.check_output`), and matched against the capability catalog. A call is
    /// `critical`; a reference that is never called, or a library function whose own code
    /// starts a process (`os._execvpe`), is `high` (docs/severity.md).
    ///
    /// ## False positives
    /// None known: no framework pickles a process-spawning callable. Check the evidence line.
    ///
    /// ## How to fix
    /// Do not load the file. Re-export the weights from a trusted source as safetensors.
    PKL_PROCESS { id: "MG-PKL-PROC", name: "pickle-process-exec", severity: Critical, formats: [Pickle, PytorchZip, PytorchLegacy, PytorchTar, Torchscript, Numpy, Npz, Joblib], fires: Load }
}

rule! {
    /// ## What it detects
    /// A pickle that calls a callable that compiles or runs Python code: `eval`, `exec`,
    /// `compile`, `runpy`, `code.InteractiveInterpreter.runcode`, `timeit`, `cProfile.run`,
    /// `trace`, `pdb`, `doctest`, `idlelib`, `torch.jit.unsupported_tensor_ops.execWrapper`…
    ///
    /// ## Why is this dangerous?
    /// The code string runs with the loader's privileges.
    ///
    /// ## How the verdict is decided
    /// As for MG-PKL-PROC. When the code argument is a constant it is parsed and analysed: code
    /// that reaches a capability makes the call `critical`; code that analyses as harmless
    /// keeps it `medium` (no serialiser writes a direct `eval`; it is how exploits are staged
    /// and tested), with the code in the evidence. A bare reference is `high`.
    ///
    /// ## False positives
    /// None known for model files.
    ///
    /// ## How to fix
    /// Do not load the file; convert trusted weights to safetensors.
    PKL_DYNAMIC_CODE { id: "MG-PKL-CODE", name: "pickle-dynamic-code", severity: Critical, formats: [Pickle, PytorchZip, PytorchLegacy, PytorchTar, Torchscript, Numpy, Npz, Joblib], fires: Load }
}

rule! {
    /// ## What it detects
    /// A pickle that loads native code (`ctypes.CDLL`, `cffi`, `torch.utils.cpp_extension`,
    /// `torch.ops.load_library`).
    ///
    /// ## Why is this dangerous?
    /// Native code runs outside any Python-level sandbox.
    ///
    /// ## How the verdict is decided
    /// Catalog match on the resolved callee; a call is `critical`, a reference `high`.
    ///
    /// ## False positives
    /// None known for model files.
    ///
    /// ## How to fix
    /// Do not load the file.
    PKL_NATIVE { id: "MG-PKL-NATIVE", name: "pickle-native-code", severity: Critical, formats: [Pickle, PytorchZip, PytorchLegacy, PytorchTar, Torchscript, Numpy, Npz, Joblib], fires: Load }
}

rule! {
    /// ## What it detects
    /// A pickle that builds code or function objects from parts: `types.CodeType`,
    /// `types.FunctionType`, cloudpickle's `_make_function`/`_builtin_type`, dill's
    /// `_create_code`/`_create_function`.
    ///
    /// ## Why is this dangerous?
    /// The function's bytecode is attacker-chosen; it runs when the model calls it (or at once,
    /// if the pickle calls it).
    ///
    /// ## How the verdict is decided
    /// `high` by default. When the code object's bytecode is available and analysed, the
    /// severity follows what the code reaches: code that reaches no capability (inert, or
    /// calling only names modelguard does not know) is `info`; code that cannot be analysed
    /// is `medium`. The function-making calls (`_make_function`, `_create_function`) are then
    /// `info`: functions carried as data are a practicality, judged by their code.
    ///
    /// ## False positives
    /// cloudpickle/dill serialise user functions this way (e.g. a preprocessing lambda).
    /// Read the evidence: the function's names and constants are listed.
    ///
    /// ## How to fix
    /// Replace pickled functions by code shipped with your application.
    PKL_CODE_OBJECT { id: "MG-PKL-CODEOBJ", name: "pickle-code-object", severity: High, formats: [Pickle, Joblib], fires: Load }
}

rule! {
    /// ## What it detects
    /// Import machinery and universal resolvers whose target could not be resolved to a
    /// known-safe name: `__import__`, `importlib.import_module`, `pkgutil.resolve_name`,
    /// `pydoc.locate`, `operator.attrgetter`/`methodcaller`, `functools.partial`, `getattr`
    /// with computed arguments, a `STACK_GLOBAL` whose operands are not constant strings.
    ///
    /// ## Why is this dangerous?
    /// These are the building blocks that reach any callable while hiding its name from
    /// import-list scanners.
    ///
    /// ## How the verdict is decided
    /// modelguard follows the values: when the resolver's arguments are constants it resolves
    /// the target and judges *that* instead (so `getattr(torch, 'float16')` raises nothing, and
    /// `getattr(__import__('os'), 'system')` is MG-PKL-PROC). Only unresolvable uses land here,
    /// as `high`.
    ///
    /// ## False positives
    /// Unusual custom reducers that compute names at load time.
    ///
    /// ## How to fix
    /// Save plain data (state_dict) instead of objects with custom reducers.
    PKL_RESOLVER { id: "MG-PKL-RESOLVE", name: "pickle-dynamic-resolution", severity: High, formats: [Pickle, PytorchZip, PytorchLegacy, PytorchTar, Torchscript, Numpy, Npz, Joblib], fires: Load }
}

rule! {
    /// ## What it detects
    /// A pickle that calls a nested deserialiser: `pickle.loads`, `marshal.loads`,
    /// `torch.load`, `torch.storage._load_from_bytes`, `numpy.load`, `joblib.load`,
    /// `pandas.read_pickle`, `yaml.load`.
    ///
    /// ## Why is this dangerous?
    /// The inner data is a second payload that import-list scanners never see.
    ///
    /// ## How the verdict is decided
    /// When the inner data is a constant, modelguard analyses it as a file of its own and
    /// reports what it finds with the member path `…nested[i]:loader`; the call itself is then
    /// `info` (a benign inner payload gives no finding above `info`). A payload that is not a
    /// constant cannot be judged: the call is `high`.
    ///
    /// ## False positives
    /// Old torch pickles of whole modules contain `_load_from_bytes` for storages.
    ///
    /// ## How to fix
    /// Save a state_dict with `torch.save` (zip format) or safetensors.
    PKL_NESTED { id: "MG-PKL-NESTED", name: "pickle-nested-loader", severity: High, formats: [Pickle, PytorchZip, PytorchLegacy, PytorchTar, Torchscript, Numpy, Npz, Joblib], fires: Load }
}

rule! {
    /// ## What it detects
    /// A pickle that writes, deletes or opens files (`open`, `_io.FileIO`, `shutil`,
    /// `logging.FileHandler`, `os.remove`…), or reads them.
    ///
    /// ## Why is this dangerous?
    /// Loading can overwrite `~/.ssh/authorized_keys`, plant code or leak secrets.
    ///
    /// ## How the verdict is decided
    /// Writes are `high`; reads are `medium`; an absolute or `..` path argument raises a read
    /// to `high`.
    ///
    /// ## False positives
    /// None known for model files.
    ///
    /// ## How to fix
    /// Do not load the file.
    PKL_FILE { id: "MG-PKL-FILE", name: "pickle-filesystem", severity: High, formats: [Pickle, PytorchZip, PytorchLegacy, PytorchTar, Torchscript, Numpy, Npz, Joblib], fires: Load }
}

rule! {
    /// ## What it detects
    /// A pickle that opens network connections or fetches URLs (`socket`, `urllib`,
    /// `http.client`, `requests`, `ssl.get_server_certificate`, `torch.hub`).
    ///
    /// ## Why is this dangerous?
    /// Exfiltration, download of second stages, beaconing.
    ///
    /// ## How the verdict is decided
    /// Catalog match on the resolved callee: `high`.
    ///
    /// ## False positives
    /// None known for model files.
    ///
    /// ## How to fix
    /// Do not load the file.
    PKL_NETWORK { id: "MG-PKL-NET", name: "pickle-network", severity: High, formats: [Pickle, PytorchZip, PytorchLegacy, PytorchTar, Torchscript, Numpy, Npz, Joblib], fires: Load }
}

rule! {
    /// ## What it detects
    /// A pickle that reaches interpreter internals or process-wide state: `getattr` on
    /// unresolvable values, `globals`, `vars`, `sys.*`, `gc`, `signal`, `os.environ`,
    /// `threading`, `sys.exit`.
    ///
    /// ## Why is this dangerous?
    /// These are steps in gadget chains (reaching `__builtins__`, patching modules) or
    /// disrupt the loading process.
    ///
    /// ## How the verdict is decided
    /// `medium` when called, `info` when only referenced (a name handed around reaches
    /// nothing by itself); data flow turns a resolvable `getattr` into the capability it
    /// reaches. `setattr` on an object the pickle builds is ordinary restoring (dill does it);
    /// on a module-level object it is MG-PKL-MUTATE.
    ///
    /// ## False positives
    /// Framework pickles that fetch dtypes by `getattr` are resolved and not reported.
    ///
    /// ## How to fix
    /// Check the evidence; save plain tensors instead.
    PKL_INTROSPECTION { id: "MG-PKL-INTROSPECT", name: "pickle-introspection", severity: Medium, formats: [Pickle, PytorchZip, PytorchLegacy, PytorchTar, Torchscript, Numpy, Npz, Joblib], fires: Load }
}

rule! {
    /// ## What it detects
    /// A `BUILD` whose target is a module-level object (a global) rather than a freshly
    /// created instance: the pickle overwrites attributes of an imported object, e.g. the
    /// `numpy.size` + `__builtins__` gadget that makes an allowlisted callable reach `eval`.
    ///
    /// ## Why is this dangerous?
    /// It mutates trusted code so that a later, innocent-looking call does something else.
    ///
    /// ## How the verdict is decided
    /// `high` when the state sets dunder attributes (`__globals__`, `__builtins__`, `__code__`,
    /// `__dict__`…) or a dangerous value; `medium` otherwise.
    ///
    /// ## False positives
    /// None known: frameworks build instances, not globals.
    ///
    /// ## How to fix
    /// Do not load the file.
    PKL_GLOBAL_MUTATION { id: "MG-PKL-MUTATE", name: "pickle-global-mutation", severity: High, formats: [Pickle, PytorchZip, PytorchLegacy, PytorchTar, Torchscript, Numpy, Npz, Joblib], fires: Load }
}

rule! {
    /// ## What it detects
    /// An imported name that reaches no known capability and that modelguard's ecosystem
    /// table does not know (e.g. a custom model class): an inventory item.
    ///
    /// ## Why is this dangerous?
    /// Unknown code runs on load: importing the module executes its top level, and the class's
    /// constructor or `__setstate__` runs. Whether that is harmful depends on the package.
    ///
    /// ## How the verdict is decided
    /// By how it is used: unknown is not dangerous, so restoring an object, referencing the
    /// name or calling it with ordinary arguments is `info`; a call whose arguments look like
    /// commands, URLs or paths outside the model is `medium`. `--strict` raises every unknown
    /// name to `medium`. Names the ecosystem table knows and that reach no capability get no
    /// finding.
    ///
    /// ## False positives
    /// Models that pickle their own classes (ultralytics, fastai, sklearn pipelines with
    /// custom steps). Allowlist the package in `modelguard.toml` once you trust it.
    ///
    /// ## How to fix
    /// Allowlist (`[allow] globals = ["mypkg.*"]`) or save a state_dict instead.
    PKL_UNKNOWN_GLOBAL { id: "MG-PKL-UNKNOWN", name: "pickle-unknown-global", severity: Info, formats: [Pickle, PytorchZip, PytorchLegacy, PytorchTar, Torchscript, Numpy, Npz, Joblib], fires: Load }
}

rule! {
    /// ## What it detects
    /// Opcodes that depend on loader state modelguard cannot see: `EXT1/2/4` (copyreg
    /// extension registry), and persistent ids outside formats that use them (PyTorch).
    ///
    /// ## Why is this dangerous?
    /// The object they produce is chosen by the application's registry or `persistent_load`.
    ///
    /// ## How the verdict is decided
    /// Extension codes are `medium`; persistent ids in a raw pickle are `info`.
    ///
    /// ## False positives
    /// Custom unpicklers that use persistent ids for external storage.
    ///
    /// ## How to fix
    /// Check which loader reads the file.
    PKL_OPAQUE { id: "MG-PKL-OPAQUE", name: "pickle-opaque-reference", severity: Medium, formats: [Pickle], fires: Load }
}

rule! {
    /// ## What it detects
    /// Bytes after the end of the last pickle in a file that a loader would not read.
    ///
    /// ## Why is this dangerous?
    /// Harmless to `pickle.load`, but a place to hide a second payload for another loader.
    ///
    /// ## How the verdict is decided
    /// Always `info`.
    ///
    /// ## False positives
    /// Files that append metadata.
    ///
    /// ## How to fix
    /// Nothing to fix unless unexpected.
    PKL_TRAILING { id: "MG-PKL-TRAILING", name: "pickle-trailing-data", severity: Info, formats: [Pickle], fires: Other }
}

rule! {
    /// ## What it detects
    /// A NumPy `.npy` array of object dtype, whose payload is a pickle.
    ///
    /// ## Why is this dangerous?
    /// `numpy.load(allow_pickle=True)` unpickles it.
    ///
    /// ## How the verdict is decided
    /// `info` for the fact; the embedded pickle is analysed and its findings reported.
    ///
    /// ## False positives
    /// Arrays of Python objects are legitimate but rarely needed in models.
    ///
    /// ## How to fix
    /// Store numeric arrays.
    NPY_OBJECT { id: "MG-NPY-OBJECT", name: "numpy-object-array", severity: Info, formats: [Numpy, Npz], fires: Load }
}

/// [`NPY_OBJECT`]: an object dtype means the array data is a pickle (analysed as one).
pub fn check_npy_object(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::Npy(n) = facts else {
        return;
    };
    if n.object {
        out.emit(
            Finding::new(
                &NPY_OBJECT,
                Severity::Info,
                format!(
                    "NumPy array of object dtype {}: its data is a pickle",
                    n.descr
                ),
            )
            .evidence(format!("dtype {}", n.descr)),
        );
    }
}

/// The pickle rule that reports a capability.
pub fn capability_rule(cap: Capability) -> &'static Rule {
    match cap {
        Capability::ProcessExec => &PKL_PROCESS,
        Capability::DynamicCode => &PKL_DYNAMIC_CODE,
        Capability::NativeCode => &PKL_NATIVE,
        Capability::CodeObject => &PKL_CODE_OBJECT,
        Capability::ImportMachinery => &PKL_RESOLVER,
        Capability::Deserialize => &PKL_NESTED,
        Capability::FileWrite | Capability::FileRead => &PKL_FILE,
        Capability::Network => &PKL_NETWORK,
        Capability::Introspection | Capability::ProcessControl => &PKL_INTROSPECTION,
    }
}

/// Every `MG-PKL-*` verdict of one pickle stream, in the order the analysis met them: the
/// stream's verdict points ([`PickleFacts`]) judged with the severity model
/// (`severity.rs`), the user allowlist and `strict`. The rule of each finding follows from
/// the event (a capability's rule from [`capability_rule`]).
pub fn check_pickle(facts: &Facts, policy: &Policy, out: &mut Emitter) {
    let Facts::Pickle(p) = facts else {
        return;
    };
    // An unknown or allowlisted import is reported once per name (a B-tree: most pickles have
    // none, and an empty one costs nothing to make).
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    for e in &p.events {
        let at = Location {
            member: None,
            offset: e.offset,
            opcode: e.opcode,
        };
        let finding = |rule: &Rule, sev: Severity, message: String| {
            Finding::new(rule, sev, message)
                .evidence(e.evidence.clone())
                .at(at.clone())
        };
        let f = match &e.event {
            PickleEvent::GlobalMutation { message } => {
                finding(&PKL_GLOBAL_MUTATION, Severity::High, message.clone())
            }
            PickleEvent::GlobalBuild { name, dunder } => finding(
                &PKL_GLOBAL_MUTATION,
                if *dunder {
                    Severity::High
                } else {
                    Severity::Medium
                },
                format!("pickle overwrites attributes of the imported object {name}"),
            ),
            PickleEvent::Resolver { message } => {
                finding(&PKL_RESOLVER, Severity::High, message.clone())
            }
            PickleEvent::CallsResult { known_factory } => finding(
                &PKL_RESOLVER,
                if *known_factory {
                    Severity::Info
                } else {
                    Severity::Medium
                },
                "pickle calls the result of another call".into(),
            ),
            PickleEvent::Dunder { message } => {
                finding(&PKL_INTROSPECTION, Severity::High, message.clone())
            }
            PickleEvent::Capability(u) => {
                if let Some(g) = &u.unless_allowed
                    && (g.allow.is_some() || policy.user_allowed(&g.module, &g.qualname).is_some())
                {
                    continue;
                }
                let (rule, sev, message) = capability_verdict(u);
                finding(rule, sev, message)
            }
            PickleEvent::CodeHit {
                capability,
                message,
            } => finding(
                capability_rule(*capability),
                severity::in_code(*capability),
                message.clone(),
            ),
            PickleEvent::CodeObject { message, complete } => finding(
                &PKL_CODE_OBJECT,
                if *complete {
                    Severity::Info
                } else {
                    Severity::Medium
                },
                message.clone(),
            ),
            PickleEvent::UnlistedCall(c) => {
                if let Some(pattern) = policy.user_allowed(&c.module, &c.qualname) {
                    // Reported as suppressed so that allowlisting is never silent.
                    finding(
                        &PKL_UNKNOWN_GLOBAL,
                        Severity::Info,
                        format!("pickle calls {}.{}", c.module, c.qualname),
                    )
                    .suppressed(format!("allowlisted by policy: {pattern}"))
                } else if let Some(init) = &c.init {
                    let (rule, sev, message) = capability_verdict(init);
                    finding(rule, sev, message)
                } else if c.allow == Some(StaticAllow::Known) {
                    continue;
                } else {
                    // Unknown is judged by what it is used for: arguments that look like
                    // commands, URLs or paths outside the model are evidence; a plain
                    // constructor call is an inventory item.
                    let sev = if !c.notes.is_empty() || policy.strict {
                        Severity::Medium
                    } else {
                        Severity::Info
                    };
                    let how = if c.class_like {
                        "restores an object of"
                    } else {
                        "calls, with arguments,"
                    };
                    let what = if c.notes.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", c.notes.join("; "))
                    };
                    finding(
                        &PKL_UNKNOWN_GLOBAL,
                        sev,
                        format!(
                            "pickle {how} {}.{}, which modelguard does not know{what}",
                            c.module, c.qualname
                        ),
                    )
                }
            }
            PickleEvent::UnlistedImport {
                module,
                name,
                allow,
                inert_resolver,
            } => {
                if let Some(pattern) = policy.user_allowed(module, name) {
                    if !seen.insert((module, name)) {
                        continue;
                    }
                    finding(
                        &PKL_UNKNOWN_GLOBAL,
                        Severity::Info,
                        format!("pickle imports {module}.{name}"),
                    )
                    .suppressed(format!("allowlisted by policy: {pattern}"))
                } else if *inert_resolver || allow.is_some() || !seen.insert((module, name)) {
                    continue;
                } else {
                    // Unknown is not dangerous: an inventory item, unless the user asked for
                    // every unknown name to be raised.
                    finding(
                        &PKL_UNKNOWN_GLOBAL,
                        if policy.strict {
                            Severity::Medium
                        } else {
                            Severity::Info
                        },
                        format!(
                            "pickle imports {module}.{name}, which modelguard does not know (importing runs its module's top-level code)"
                        ),
                    )
                }
            }
            PickleEvent::PersistentId => finding(
                &PKL_OPAQUE,
                Severity::Info,
                "pickle loads a persistent id (resolved by the loader's persistent_load)".into(),
            ),
            PickleEvent::Extension {
                code,
                registered: Some(name),
            } => finding(
                &PKL_OPAQUE,
                Severity::Info,
                format!(
                    "pickle loads {name} through copyreg extension code {code}, which it registered itself"
                ),
            ),
            PickleEvent::Extension {
                code,
                registered: None,
            } => finding(
                &PKL_OPAQUE,
                Severity::Medium,
                format!(
                    "pickle uses copyreg extension code {code}, resolved by the loader's registry"
                ),
            ),
        };
        out.emit(f);
    }
    for why in &p.incomplete {
        out.undecided("incomplete", why.clone(), None);
    }
}

/// Rule, severity and message of a capability reached: the severity model's answer for the
/// capability and how it is reached, then what the arguments and analysed code say.
fn capability_verdict(u: &CapabilityUse) -> (&'static Rule, Severity, String) {
    let cap = u.capability;
    let called = u.reach != Reach::Referenced;
    let mut sev = match cap {
        // Building a function from analysed code: the code's verdict is reported on its own;
        // the building step is information.
        Capability::CodeObject if u.code_objects_analysed => Severity::Info,
        Capability::FileWrite if u.read_only_open => Severity::Medium,
        _ => severity::of(cap, u.reach),
    };
    let mut what = String::new();
    if u.reach == Reach::Indirect {
        what.push_str(" (through its own code)");
    }
    // eval/exec/compile of constant code: each code string (timeit has stmt and setup) is
    // judged and the worst decides. Even harmless code keeps the call at the floor: no
    // serialiser writes a direct eval, it is how exploits are staged and tested.
    if !u.code.is_empty() {
        sev = Severity::Info;
        for c in &u.code {
            let (s, w) = code_verdict(c);
            if s >= sev {
                (sev, what) = (s, w);
            }
        }
        sev = sev.max(severity::DIRECT_EVALUATION_FLOOR);
    }
    // Constant payloads of a nested loader are analysed as files of their own; the call is
    // then information. A payload that is not a constant cannot be judged: the call stays.
    if u.nested_payloads > 0 {
        sev = Severity::Info;
        what.push_str(" (its constant payload is analysed as a nested file)");
    }
    // Arguments matter: a path outside the model or a remote URL says what the call does.
    if called && !u.notes.is_empty() {
        if matches!(cap, Capability::FileRead | Capability::FileWrite)
            && u.notes.iter().any(|n| n.starts_with("path"))
        {
            sev = sev.max(Severity::High);
        }
        what.push_str(&format!(" ({})", u.notes.join("; ")));
    }
    let verb = if called { "calls" } else { "references" };
    let message = format!(
        "pickle {verb} {}{}, which {}{what}",
        u.name,
        u.via,
        cap.describe()
    );
    (capability_rule(cap), sev, message)
}

/// The severity an evaluated code string earns its evaluating call, with a note for its
/// message. Inert code (arithmetic, literals) is `info`.
fn code_verdict(c: &CodeVerdict) -> (Severity, String) {
    match c.hits.iter().map(|&h| severity::in_code(h)).max() {
        Some(s) => (s.max(Severity::High), String::new()),
        None if !c.complete => (
            Severity::High,
            format!(
                " (the code could not be fully analysed: {})",
                c.errors.join("; ")
            ),
        ),
        None if c.inert => (
            Severity::Info,
            " (the code is inert: only literals and arithmetic)".into(),
        ),
        None => (
            Severity::Medium,
            format!(
                " (the code calls {} modelguard cannot judge)",
                c.unknown_calls.join(", ")
            ),
        ),
    }
}

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[
    &PKL_PROCESS,
    &PKL_DYNAMIC_CODE,
    &PKL_NATIVE,
    &PKL_CODE_OBJECT,
    &PKL_RESOLVER,
    &PKL_NESTED,
    &PKL_FILE,
    &PKL_NETWORK,
    &PKL_INTROSPECTION,
    &PKL_GLOBAL_MUTATION,
    &PKL_UNKNOWN_GLOBAL,
    &PKL_OPAQUE,
    &PKL_TRAILING,
    &NPY_OBJECT,
];

/// This area's checks, in reporting order (see [`super::CHECKS`]).
pub static CHECKS: &[super::Check] = &[
    super::Check::on(&[crate::facts::FactsKind::Npy], check_npy_object),
    super::Check::on(&[crate::facts::FactsKind::Pickle], check_pickle),
];
