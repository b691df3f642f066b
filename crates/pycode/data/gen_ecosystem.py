#!/usr/bin/env python3
"""Generate ecosystem.tsv: what each name a pickle can spell really is.

A pickle names callables as `module` + dotted `qualname`, and `find_class` resolves them by
importing `module` and walking attributes (`pickle._getattribute`). Libraries re-export and
alias freely (`sklearn.utils._testing.check_output` *is* `subprocess.check_output`;
`sklearn.base.np` *is* the `numpy` module), so a scanner that matches spellings both misses
gadgets and flags ordinary names. This script imports the pinned ecosystem (requirements in
ecosystem-requirements.txt) and records, for every module attribute it can reach:

- module aliases: `mod:attr` whose value is a module of another name (`sklearn.base:np`);
- re-exports: `mod:attr` whose object is defined elsewhere (`numpy:load` ->
  `numpy.lib._npyio_impl:load`), verified by resolving the real name back to the same object;
- for each real target: what it is (class, function, instance of a type) and what it can do:
  a capability from the catalog (crates/pycode/src/catalog.rs, parsed here so both sides use
  one list) matched on the *real* target, or reached by its code (names its bytecode loads,
  resolved through its globals, transitively through other functions of the table), whether it
  calls one of its arguments (a trampoline) and whether it evaluates a string.

Output: ecosystem.tsv, sorted by key, one record per line (see the header comment in the
file and crates/pycode/src/ecosystem.rs). Run with the pinned venv:

    .venv/bin/python crates/pycode/data/gen_ecosystem.py

It imports each package in a child process (imports can crash or hang), with a time limit.
"""

import argparse
import dis
import importlib
import inspect
import json
import os
import pkgutil
import re
import signal
import subprocess
import sys
import tempfile
import types
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOG_RS = os.path.join(HERE, "..", "src", "catalog.rs")
OUT = os.path.join(HERE, "ecosystem.tsv")

# Third-party packages walked (top-level import names).
PACKAGES = [
    "numpy", "scipy", "pandas", "sklearn", "joblib", "dill", "cloudpickle", "torch",
    "xgboost", "lightgbm", "transformers", "tokenizers", "safetensors", "huggingface_hub",
    "h5py", "onnx", "jinja2", "yaml", "threadpoolctl", "packaging", "fsspec", "tqdm",
    "dateutil", "markupsafe", "requests", "urllib3", "charset_normalizer", "idna", "certifi",
    "keras", "tensorflow", "ml_dtypes", "pyarrow", "statsmodels", "torchvision", "torchaudio",
    "timm", "diffusers", "peft", "sentence_transformers", "datasets", "accelerate", "gensim",
]
# Modules whose import has visible side effects or needs a display.
SKIP = re.compile(
    r"^(antigravity|this|idlelib|tkinter|turtle|turtledemo|_tkinter|lib2to3\.pgen2\.conv|"
    r"test\.|.*\.__main__$|pydoc_data|ensurepip\.__main__|venv\.__main__|"
    r"torch\._inductor\.kernel|torch\.utils\.tensorboard|torch\.testing\._internal\.distributed|"
    r"torch\.distributed\.elastic\.multiprocessing|transformers\.models\..*\.convert_|"
    r".*\.conftest$|keras\.src\.backend\.(jax|torch|openvino|numpy)|keras\.src\.utils\.torch_utils|"
    r".*\.jax.*|.*_jax$|tensorflow\.python\.compiler\.tensorrt|tensorflow\.lite\.python\.|"
    r"tensorflow\.compiler|tensorflow\.python\.compiler\.xla|tensorflow\.python\.debug\.cli)"
)
MODULE_TIMEOUT = 20

# --- catalog, parsed from the Rust source so there is one list ---------------------------


def load_catalog():
    """(catalog entries, exemptions) from catalog.rs: `("module:qualname", Capability),` lines
    inside `const CATALOG` and `"module:qualname",` lines inside `const NOT_CAPABILITIES`."""
    pat = re.compile(r'^\s*\("([^"]+)",\s*(\w+)\),')
    exempt_pat = re.compile(r'^\s*"([^"]+)",')
    names = {
        "ProcessExec": "process-exec", "DynamicCode": "dynamic-code",
        "CodeObject": "code-object", "ImportMachinery": "import-machinery",
        "Introspection": "introspection", "Deserialize": "deserialize",
        "FileWrite": "file-write", "FileRead": "file-read", "Network": "network",
        "NativeCode": "native-code", "ProcessControl": "process-control",
    }
    out, exempt = [], []
    section = None
    with open(CATALOG_RS) as f:
        for line in f:
            if line.startswith("const CATALOG"):
                section = "catalog"
            elif line.startswith("const NOT_CAPABILITIES"):
                section = "exempt"
            elif section and line.startswith("];"):
                section = None
            elif section == "catalog":
                m = pat.match(line)
                if m:
                    out.append((m.group(1), names[m.group(2)]))
            elif section == "exempt":
                m = exempt_pat.match(line)
                if m:
                    exempt.append(m.group(1))
    return out, exempt


def glob(pattern, text):
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), text, re.S) is not None


def _matches(pattern, module, qualname):
    pm, pq = pattern.split(":", 1)
    if pm == module and glob(pq, qualname):
        return True
    return pq == "*" and module.startswith(pm + ".")


def catalog_match(catalog, module, qualname):
    """As catalog.rs `lookup`: exemptions first, then the first matching (pattern, capability)."""
    entries, exempt = catalog
    if any(_matches(p, module, qualname) for p in exempt):
        return None
    for pattern, cap in entries:
        if _matches(pattern, module, qualname):
            return pattern, cap
    return None


def catalog_cap(catalog, module, qualname):
    m = catalog_match(catalog, module, qualname)
    return m[1] if m else None


# Broad catalog patterns whose every name is a gadget when a library function calls it (a
# helper that calls anything in subprocess runs a process). Other broad patterns (`ctypes:*`,
# `sys:*`, `torch._inductor:*`, `huggingface_hub:*`) also cover plumbing every library uses
# (ctypes.byref, sys.getsizeof, hub helpers): calling those says nothing about a caller.
PROPAGATE_BROAD = {
    "subprocess:*", "_posixsubprocess:*", "pty:*", "commands:*", "popen2:*", "runpy:*",
    "code:*", "codeop:*", "marshal:*", "shelve:*", "pickle:*", "_pickle:*", "cPickle:*",
    "socket:*", "_socket:*", "http:*", "urllib:*", "urllib2:*", "urllib3:*", "requests:*",
    "httpx:*", "aiohttp:*", "ftplib:*", "smtplib:*", "telnetlib:*", "webbrowser:*",
    "cffi:*", "_cffi_backend:*", "torch.utils.cpp_extension:*", "torch.hub:*",
    "torch.utils.model_zoo:*", "pip:*", "venv:*", "ensurepip:*",
}


# --- walking (runs in a child per package) ------------------------------------------------


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


def import_quietly(name):
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(MODULE_TIMEOUT)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(name)
    except BaseException:  # noqa: BLE001 - any import failure means "not importable here"
        return None
    finally:
        signal.alarm(0)


def walk_package(top):
    mod = import_quietly(top)
    if mod is None:
        return
    path = getattr(mod, "__path__", None)
    if not path:
        return
    for info in pkgutil.walk_packages(path, top + ".", onerror=lambda n: None):
        if SKIP.match(info.name):
            continue
        import_quietly(info.name)


def getattribute(obj, dotted):
    for part in dotted.split("."):
        if part == "<locals>":
            return None, False
        try:
            obj = getattr(obj, part)
        except BaseException:  # noqa: BLE001
            return None, False
    return obj, True


def sget(obj, name):
    """getattr that survives properties and lazy loaders raising anything."""
    try:
        return getattr(obj, name, None)
    except BaseException:  # noqa: BLE001
        return None


def real_name(obj):
    """(module, qualname) that find_class resolves back to obj, or None."""
    try:
        return _real_name(obj)
    except BaseException:  # noqa: BLE001
        return None


def _real_name(obj):
    mod = sget(obj, "__module__")
    qn = sget(obj, "__qualname__") or sget(obj, "__name__")
    if not isinstance(mod, str) or not isinstance(qn, str):
        # C functions of builtins modules carry __self__ = their module.
        self_ = sget(obj, "__self__")
        if isinstance(self_, types.ModuleType) and isinstance(sget(obj, "__name__"), str):
            mod, qn = self_.__name__, obj.__name__
        else:
            return None
    m = sys.modules.get(mod)
    if m is None:
        return None
    found, ok = getattribute(m, qn)
    if ok and found is obj:
        return mod, qn
    return None


def kind_of(obj):
    if isinstance(obj, type):
        return "c"
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                        types.BuiltinMethodType, types.WrapperDescriptorType,
                        types.MethodDescriptorType, types.ClassMethodDescriptorType,
                        classmethod, staticmethod)):
        return "f"
    return "i"


def code_refs(func):
    """Objects the function's code loads by global name or as an attribute of a module global
    (`os.system`), the indexes of parameters it calls (`LOAD_FAST p` right after `PUSH_NULL`,
    CPython 3.11's shape of `p(...)`), and whether it uses eval/exec/compile."""
    code = getattr(func, "__code__", None)
    if code is None:
        return [], [], False
    g = getattr(func, "__globals__", {}) or {}
    b = g.get("__builtins__", __builtins__)
    bdict = b if isinstance(b, dict) else getattr(b, "__dict__", {})
    refs = []
    called_params = set()
    params = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    stack = [code]
    seen = 0
    while stack and seen < 64:
        c = stack.pop()
        seen += 1
        prev = None
        insns = list(dis.get_instructions(c))
        for i, ins in enumerate(insns):
            op = ins.opname
            if op in ("LOAD_GLOBAL", "LOAD_NAME"):
                name = ins.argval
                obj = g.get(name, bdict.get(name)) if isinstance(name, str) else None
                prev = obj
                if obj is not None:
                    refs.append(obj)
            elif op in ("LOAD_ATTR", "LOAD_METHOD") and isinstance(prev, types.ModuleType):
                try:
                    obj = getattr(prev, ins.argval)
                except BaseException:  # noqa: BLE001
                    obj = None
                prev = obj
                if obj is not None:
                    refs.append(obj)
            else:
                prev = None
            if c is code and op == "LOAD_FAST" and ins.argval in params and i > 0 \
                    and insns[i - 1].opname == "PUSH_NULL":
                called_params.add(params.index(ins.argval))
        for k in c.co_consts:
            if isinstance(k, types.CodeType):
                stack.append(k)
    evaluates = any(getattr(r, "__name__", None) in ("eval", "exec", "compile")
                    and getattr(r, "__module__", None) == "builtins" for r in refs)
    return refs, sorted(called_params), evaluates


def walk_child(top, out_path):
    if top in ("keras", "tensorflow"):
        # TensorFlow's LLVM and torch's/triton's abort the process when both load: walk the
        # TensorFlow family without them (modules that need torch are then not importable,
        # as in an environment without torch).
        for blocked in ("torch", "triton", "jax", "jaxlib", "openvino"):
            sys.modules[blocked] = None
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if top == "<stdlib>":
        for name in sorted(sys.stdlib_module_names):
            if SKIP.match(name + "."):
                continue
            if SKIP.match(name):
                continue
            m = import_quietly(name)
            if m is not None and getattr(m, "__path__", None):
                for info in pkgutil.walk_packages(m.__path__, name + ".", onerror=lambda n: None):
                    if not SKIP.match(info.name):
                        import_quietly(info.name)
        prefixes = None
    else:
        walk_package(top)
        prefixes = (top,)
    records = {}
    funcs = {}

    def want(modname):
        if prefixes is None:
            return modname.split(".")[0] in sys.stdlib_module_names
        return modname == top or modname.startswith(top + ".")

    modules = []
    for modname, m in list(sys.modules.items()):
        if not isinstance(modname, str) or not isinstance(m, types.ModuleType) or not want(modname):
            continue
        modules.append(modname)
        if getattr(m, "__name__", modname) != modname and isinstance(m.__name__, str):
            # sys.modules['os.path'] is posixpath: find_class('os.path', ...) imports that.
            records[modname] = ("m", m.__name__)
        try:
            items = list(vars(m).items())
        except BaseException:  # noqa: BLE001
            continue
        for attr, obj in items:
            if not isinstance(attr, str) or attr.startswith("__") and attr.endswith("__"):
                continue
            try:
                one_attr(modname, attr, obj, records, funcs)
            except BaseException:  # noqa: BLE001 - a hostile __getattr__ must not stop the walk
                continue
    facts = collect_facts(funcs)
    with open(out_path, "w") as f:
        json.dump({"records": records, "facts": facts, "modules": modules}, f)


def one_attr(modname, attr, obj, records, funcs):
    """Record what `modname.attr` is (and, for classes defined there, their attributes)."""
    key = f"{modname}:{attr}"
    if isinstance(obj, types.ModuleType):
        if obj.__name__ != f"{modname}.{attr}":
            records[key] = ("m", obj.__name__)
        return
    rn = real_name(obj)
    kind = kind_of(obj)
    if kind == "i":
        t = real_name(type(obj))
        records[key] = ("i", f"{t[0]}:{t[1]}" if t else "-")
        if isinstance(obj, __import__("functools").partial):
            fr = real_name(obj.func)
            if fr:
                records[key] = ("p", f"{fr[0]}:{fr[1]}")
        return
    if rn is None:
        records[key] = (kind, "?")
        return
    real = f"{rn[0]}:{rn[1]}"
    records[key] = (kind, real)
    if kind == "f" or kind == "c":
        funcs[real] = obj
    if kind == "c" and real == key:
        # Class attributes that are functions defined elsewhere (staticmethod(os.system)).
        try:
            cvars = list(vars(obj).items())
        except BaseException:  # noqa: BLE001
            cvars = []
        for cattr, cobj in cvars:
            if not isinstance(cattr, str):
                continue
            raw = cobj
            if isinstance(raw, (staticmethod, classmethod)):
                raw = raw.__func__
            crn = real_name(raw)
            ckey = f"{key}.{cattr}"
            if crn is not None and f"{crn[0]}:{crn[1]}" != ckey:
                records[ckey] = (kind_of(raw), f"{crn[0]}:{crn[1]}")
                funcs[f"{crn[0]}:{crn[1]}"] = raw
            elif cattr in ("__init__", "__new__", "__setstate__", "__call__",
                           "__reduce__", "__getattr__", "__del__") and \
                    isinstance(raw, types.FunctionType):
                funcs[ckey] = raw


def collect_facts(funcs):
    """Facts per real target: code references, called parameters, eval use."""
    facts = {}
    for real, obj in funcs.items():
        try:
            one_fact(real, obj, facts)
        except BaseException:  # noqa: BLE001
            continue
    return facts


def one_fact(real, obj, facts):
    if isinstance(obj, type):
        # What instantiating it runs: the effective (MRO-resolved) __init__, __new__ and
        # __setstate__. Their real names count as references (a Popen subclass inherits
        # `subprocess.Popen.__init__`); their code's references count too. A base class's
        # *name* does not (a mixin with a network method is not a network constructor).
        # NEWOBJ + BUILD (how pickles restore objects) runs __new__ and __setstate__;
        # calling the class (REDUCE) runs __init__ too: recorded apart, so that a class
        # whose constructor does something is judged only when the pickle calls it.
        def refs_of(methods):
            refs, ev = [], False
            for meth in methods:
                f = sget(obj, meth)
                if isinstance(f, (staticmethod, classmethod)):
                    f = f.__func__
                f = getattr(f, "__func__", f)
                if f is None or f in (object.__init__, object.__new__):
                    continue
                refs.append(f)
                if isinstance(f, types.FunctionType):
                    r, _, e = code_refs(f)
                    refs.extend(r)
                    ev = ev or e
            return sorted({f"{x[0]}:{x[1]}" for x in (real_name(r) for r in refs) if x}), ev
        refs, ev = refs_of(("__new__", "__setstate__"))
        init_refs, init_ev = refs_of(("__init__",))
        facts[real] = {
            "refs": refs, "init_refs": init_refs, "init_eval": init_ev,
            "bases": [], "calls": [], "eval": ev, "class": True,
        }
    else:
        f = obj
        if isinstance(f, (staticmethod, classmethod)):
            f = f.__func__
        r, called, ev = code_refs(f)
        facts[real] = {
            "refs": sorted({f"{x[0]}:{x[1]}" for x in (real_name(o) for o in r) if x}),
            "bases": [], "calls": called, "eval": ev,
        }



# --- merging and classification -----------------------------------------------------------

# Packages whose harmless classes are listed as known (the inventory's "known" label, and
# quiet under --strict): the ones model pickles are made of. Elsewhere only names that reach
# a capability, trampolines and module aliases are kept, to keep the table small.
KNOWN_CLASS_PACKAGES = {
    "numpy", "scipy", "pandas", "sklearn", "joblib", "torch", "xgboost", "lightgbm",
    "dateutil", "ml_dtypes", "collections", "datetime", "decimal", "fractions", "enum",
    "pathlib", "uuid", "zoneinfo", "builtins", "array", "re", "functools", "operator",
    "_operator", "_collections", "_datetime", "_decimal", "_pydecimal", "numbers", "typing",
    "dataclasses", "ipaddress", "argparse", "copyreg", "_codecs", "codecs", "io", "_io",
    "pyarrow", "statsmodels", "torchvision", "timm", "sentence_transformers", "gensim",
}
# Modules whose harmless functions and values are listed as known too (what pickles name
# besides classes: `builtins.len`, `numpy.log1p`, `torch.float16`, `operator.itemgetter`).
KNOWN_VALUE_MODULES = {
    "builtins", "math", "operator", "_operator", "numpy", "torch", "collections", "datetime",
    "zoneinfo", "functools", "copyreg", "_codecs", "numpy.random._pickle",
    "numpy._core.multiarray", "numpy.core.multiarray", "torch._utils", "pandas",
}

# Capabilities that propagate through calls (a function that calls os.system can run a
# process); the rest are judged only where they are named directly.
PROPAGATE = {"process-exec", "dynamic-code", "native-code", "deserialize", "network"}


def classify(records, facts, catalog):
    """Capability per real target: the catalog on the real name, else the first capability
    among the names its code references directly (one level: deeper propagation through
    helpers marked half of every library, e.g. everything that builds a namedtuple)."""
    memo = {}

    def match(real):
        if real not in memo:
            m, q = real.split(":", 1)
            memo[real] = catalog_match(catalog, m, q)
        return memo[real]

    def direct(real):
        m = match(real)
        return m[1] if m else None

    def propagates(real):
        m = match(real)
        if not m or m[1] not in PROPAGATE:
            return None
        pattern, cap = m
        # The ctypes entry points that load a library are gadgets; ctypes plumbing is not.
        if pattern.split(":", 1)[1] != "*" or pattern in PROPAGATE_BROAD:
            return cap
        if real.startswith(("ctypes:CDLL", "ctypes:PyDLL", "ctypes:LibraryLoader",
                            "ctypes:cdll", "ctypes:pydll", "_ctypes:dlopen")):
            return cap
        return None

    caps, init_caps = {}, {}
    reals = set(facts) | {v for (k, v) in records.values() if ":" in v}
    for real in reals:
        c = direct(real)
        if c:
            caps[real] = (c, real)
    for real, fx in facts.items():
        for r in fx.get("init_refs", []):
            c = propagates(r)
            if c and r != real:
                init_caps[real] = (c, r)
                break
        if real in caps:
            continue
        for r in fx["refs"]:
            if r == real:
                continue
            c = propagates(r)
            if c:
                caps[real] = (c, r)
                break
    return caps, init_caps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", nargs=2, metavar=("PACKAGE", "OUT"))
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the per-package walks already in .ecosystem-tmp")
    args = ap.parse_args()
    if args.child:
        walk_child(*args.child)
        return
    catalog = load_catalog()
    records, facts, modules = {}, {}, set()
    tmp = os.path.join(HERE, ".ecosystem-tmp")
    os.makedirs(tmp, exist_ok=True)
    versions = {}
    for top in ["<stdlib>"] + (args.only or PACKAGES):
        out = os.path.join(tmp, top.strip("<>") + ".json")
        env = dict(os.environ, PYTHONWARNINGS="ignore", TF_CPP_MIN_LOG_LEVEL="3",
                   CUDA_VISIBLE_DEVICES="")
        if not (args.reuse and os.path.exists(out)):
            try:
                # Test modules write files where they run: give them a scratch directory.
                subprocess.run([sys.executable, os.path.abspath(__file__), "--child", top,
                                os.path.abspath(out)], env=env, cwd=tempfile.mkdtemp(),
                               timeout=1800, check=False, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                print(f"{top}: timed out", file=sys.stderr)
        if not os.path.exists(out):
            print(f"{top}: not importable", file=sys.stderr)
            continue
        with open(out) as f:
            d = json.load(f)
        records.update(d["records"])
        facts.update(d["facts"])
        modules.update(d.get("modules", []))
        modules.update(k.split(":", 1)[0] for k in d["records"] if ":" in k)
        if top != "<stdlib>":
            try:
                from importlib.metadata import version, packages_distributions
                dist = packages_distributions().get(top, [top])[0]
                versions[top] = version(dist)
            except Exception:  # noqa: BLE001
                versions[top] = "?"
        print(f"{top}: {len(d['records'])} names", file=sys.stderr)
    caps, init_caps = classify(records, facts, catalog)
    # Module aliases kept: into another package (`sklearn.base.np` is numpy, `x.os` is os),
    # or into a module that itself holds something the table or the catalog flags. An alias
    # inside one package to a harmless module leads nowhere a spelling-level check misses.
    flagged_modules = {k.split(":", 1)[0] for k, (kind, real) in records.items()
                       if ":" in k and kind != "m" and (caps.get(real) or caps.get(k))}
    flagged_modules |= {p.split(":", 1)[0] for p, _ in catalog[0]}

    def keep_alias(key, target):
        src_top = key.split(":", 1)[0].split(".")[0]
        if target.split(".")[0] != src_top:
            return True
        return target in flagged_modules or any(
            target.startswith(m + ".") for m in flagged_modules if m.endswith("*"))

    lines = []
    for key, (kind, real) in records.items():
        target = real if ":" in real else real
        cap = caps.get(real) if ":" in real else None
        if kind in ("c", "f") and real == key and cap is None:
            cap = caps.get(key)
        fx = facts.get(real, {}) if ":" in real else {}
        flags = []
        if cap:
            flags.append(f"{cap[0]}" + (f"@{cap[1]}" if cap[1] != real else ""))
        if fx.get("calls"):
            flags.append("calls=" + ",".join(str(i) for i in fx["calls"]))
        ic = init_caps.get(real) if ":" in real else None
        if ic and not cap:
            flags.append(f"init={ic[0]}@{ic[1]}")
        # Keep only what changes a verdict or a label: aliases, re-exports, capabilities,
        # trampolines; a plain self-named class/function is recorded as known (kind only).
        if kind == "m":
            if ":" not in key or keep_alias(key, real):
                lines.append(f"{key}\tm\t{real}\t")
        elif real == key and cap and cap[1] == real and not fx.get("calls") and not ic:
            # The catalog matches this name itself: nothing to add.
            continue
        elif flags:
            lines.append(f"{key}\t{kind}\t{'=' if real == key else target}\t{' '.join(flags)}")
        elif (kind == "c" and real == key
              and key.split(".")[0].split(":")[0] in KNOWN_CLASS_PACKAGES) \
                or (kind in ("f", "i") and key.split(":")[0] in KNOWN_VALUE_MODULES):
            # A class at its own name: pickles name classes this way (the inventory's
            # "known" label). Harmless re-exports, functions and values are left out: an
            # unknown name is judged by its use, so they would change no verdict.
            lines.append(f"{key}\t{kind}\t{'=' if real == key else real}\t")
    # Every module walked, so a resolver can tell a submodule from an attribute.
    for mod in modules:
        if mod not in records:
            lines.append(f"{mod}\tm\t=\t")
    # Real targets that have facts but were reached only through aliases.
    keys = set(records)
    for real in facts:
        if real not in keys and real in caps:
            cap = caps[real]
            lines.append(f"{real}\tf\t=\t{cap[0]}" + (f"@{cap[1]}" if cap[1] != real else ""))
    lines.sort()
    header = [
        "# ecosystem.tsv: generated by gen_ecosystem.py; do not edit.",
        f"# python {sys.version.split()[0]}; " + "; ".join(f"{k} {v}" for k, v in sorted(versions.items())),
        "# key<TAB>kind<TAB>real target<TAB>flags",
        "# kind: m module alias (target = module), c class, f function, i instance (target = its type),",
        "#       p functools.partial (target = its function); '=' means the key is the real target,",
        "#       '?' that it could not be resolved back; flags: CAPABILITY[@reached-through], calls=ARG,...,",
        "#       init=CAPABILITY@through (what calling a class runs in __init__, beyond NEWOBJ+BUILD)",
    ]
    with open(OUT, "w") as f:
        f.write("\n".join(header) + "\n" + "\n".join(lines) + "\n")
    print(f"wrote {len(lines)} lines to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
