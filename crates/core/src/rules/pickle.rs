//! Rules for what pickles (and the formats built on them) do when loaded.

use super::Rule;
use crate::rule;

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
    /// `getattr`/`__import__`/`attrgetter`/`partial`/`resolve_name` data flow and matched against
    /// the capability catalog, which covers submodules and dotted names. A call is `critical`;
    /// a reference that is never called is `high`.
    ///
    /// ## False positives
    /// None known: no framework pickles a process-spawning callable. Check the evidence line.
    ///
    /// ## How to fix
    /// Do not load the file. Re-export the weights from a trusted source as safetensors.
    PKL_PROCESS { id: "MG-PKL-PROC", name: "pickle-process-exec", severity: Critical, formats: ["pickle", "pytorch-zip", "pytorch-legacy", "pytorch-tar", "torchscript", "numpy", "npz", "joblib"], fires: Load }
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
    /// As for MG-PKL-PROC. A call is `critical`, a bare reference `high`. When the code
    /// argument is a constant, the evidence shows it.
    ///
    /// ## False positives
    /// None known for model files.
    ///
    /// ## How to fix
    /// Do not load the file; convert trusted weights to safetensors.
    PKL_DYNAMIC_CODE { id: "MG-PKL-CODE", name: "pickle-dynamic-code", severity: Critical, formats: ["pickle", "pytorch-zip", "pytorch-legacy", "pytorch-tar", "torchscript", "numpy", "npz", "joblib"], fires: Load }
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
    PKL_NATIVE { id: "MG-PKL-NATIVE", name: "pickle-native-code", severity: Critical, formats: ["pickle", "pytorch-zip", "pytorch-legacy", "pytorch-tar", "torchscript", "numpy", "npz", "joblib"], fires: Load }
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
    /// severity follows what the code reaches (see MG-CODE-* rules): inert code is `info`.
    ///
    /// ## False positives
    /// cloudpickle/dill serialise user functions this way (e.g. a preprocessing lambda).
    /// Read the evidence: the function's names and constants are listed.
    ///
    /// ## How to fix
    /// Replace pickled functions by code shipped with your application.
    PKL_CODE_OBJECT { id: "MG-PKL-CODEOBJ", name: "pickle-code-object", severity: High, formats: ["pickle", "joblib"], fires: Load }
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
    PKL_RESOLVER { id: "MG-PKL-RESOLVE", name: "pickle-dynamic-resolution", severity: High, formats: ["pickle", "pytorch-zip", "pytorch-legacy", "pytorch-tar", "torchscript", "numpy", "npz", "joblib"], fires: Load }
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
    /// When the inner data is a constant, modelguard analyses it as a pickle and reports what
    /// it finds with the member path `…!nested`; the call itself is `high`, or `info` for
    /// `torch.storage._load_from_bytes` whose inner pickle was analysed and is clean.
    ///
    /// ## False positives
    /// Old torch pickles of whole modules contain `_load_from_bytes` for storages.
    ///
    /// ## How to fix
    /// Save a state_dict with `torch.save` (zip format) or safetensors.
    PKL_NESTED { id: "MG-PKL-NESTED", name: "pickle-nested-loader", severity: High, formats: ["pickle", "pytorch-zip", "pytorch-legacy", "pytorch-tar", "torchscript", "numpy", "npz", "joblib"], fires: Load }
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
    PKL_FILE { id: "MG-PKL-FILE", name: "pickle-filesystem", severity: High, formats: ["pickle", "pytorch-zip", "pytorch-legacy", "pytorch-tar", "torchscript", "numpy", "npz", "joblib"], fires: Load }
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
    PKL_NETWORK { id: "MG-PKL-NET", name: "pickle-network", severity: High, formats: ["pickle", "pytorch-zip", "pytorch-legacy", "pytorch-tar", "torchscript", "numpy", "npz", "joblib"], fires: Load }
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
    /// `medium` for process-control and introspection that resolves to nothing dangerous;
    /// data flow turns a resolvable `getattr` into the capability it reaches.
    ///
    /// ## False positives
    /// Framework pickles that fetch dtypes by `getattr` are resolved and not reported.
    ///
    /// ## How to fix
    /// Check the evidence; save plain tensors instead.
    PKL_INTROSPECTION { id: "MG-PKL-INTROSPECT", name: "pickle-introspection", severity: Medium, formats: ["pickle", "pytorch-zip", "pytorch-legacy", "pytorch-tar", "torchscript", "numpy", "npz", "joblib"], fires: Load }
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
    PKL_GLOBAL_MUTATION { id: "MG-PKL-MUTATE", name: "pickle-global-mutation", severity: High, formats: ["pickle", "pytorch-zip", "pytorch-legacy", "pytorch-tar", "torchscript", "numpy", "npz", "joblib"], fires: Load }
}

rule! {
    /// ## What it detects
    /// An imported name that is neither in the allowlist of what frameworks emit nor in the
    /// catalog of dangerous callables (e.g. a custom model class).
    ///
    /// ## Why is this dangerous?
    /// Unknown code runs on load: importing the module executes its top level, and the class's
    /// constructor or `__setstate__` runs. Whether that is harmful depends on the package.
    ///
    /// ## How the verdict is decided
    /// By how it is used: restored as an object (`NEWOBJ`, `copyreg._reconstructor` + `BUILD`,
    /// or referenced as data) is `low`; called with arguments via `REDUCE` is `medium`.
    /// `--strict` raises both to `medium`.
    ///
    /// ## False positives
    /// Models that pickle their own classes (ultralytics, fastai, sklearn pipelines with
    /// custom steps). Allowlist the package in `modelguard.toml` once you trust it.
    ///
    /// ## How to fix
    /// Allowlist (`[allow] globals = ["mypkg.*"]`) or save a state_dict instead.
    PKL_UNKNOWN_GLOBAL { id: "MG-PKL-UNKNOWN", name: "pickle-unknown-global", severity: Low, formats: ["pickle", "pytorch-zip", "pytorch-legacy", "pytorch-tar", "torchscript", "numpy", "npz", "joblib"], fires: Load }
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
    PKL_OPAQUE { id: "MG-PKL-OPAQUE", name: "pickle-opaque-reference", severity: Medium, formats: ["pickle"], fires: Load }
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
    PKL_TRAILING { id: "MG-PKL-TRAILING", name: "pickle-trailing-data", severity: Info, formats: ["pickle"], fires: Other }
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
    NPY_OBJECT { id: "MG-NPY-OBJECT", name: "numpy-object-array", severity: Info, formats: ["numpy", "npz"], fires: Load }
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
