//! Python knowledge shared by every analyser (the pickle judge in `modelguard`, the source and
//! bytecode analysers here, Keras Lambdas, TorchScript code, chat templates): which callables
//! decode data, which resolve names at run time, which attribute names are introspection
//! escapes. One list each, so the analysers cannot drift apart.
//!
//! Must not: evaluate anything or decide severities (capabilities are in [`crate::catalog`]).

use crate::decode::Encoding;

/// Decoding functions (first positional argument is the data).
pub const DECODERS: &[(&str, Encoding)] = &[
    ("base64.b64decode", Encoding::Base64),
    ("base64.standard_b64decode", Encoding::Base64),
    ("base64.decodebytes", Encoding::Base64),
    ("base64.decodestring", Encoding::Base64),
    ("base64.urlsafe_b64decode", Encoding::Base64Url),
    ("base64.b32decode", Encoding::Base32),
    ("base64.b32hexdecode", Encoding::Base32),
    ("base64.b16decode", Encoding::Base16),
    ("base64.b85decode", Encoding::Base85),
    ("base64.a85decode", Encoding::Ascii85),
    ("binascii.a2b_base64", Encoding::Base64),
    ("binascii.unhexlify", Encoding::Hex),
    ("binascii.a2b_hex", Encoding::Hex),
    ("binascii.a2b_qp", Encoding::QuotedPrintable),
    ("builtins.bytes.fromhex", Encoding::Hex),
    ("builtins.bytearray.fromhex", Encoding::Hex),
    ("zlib.decompress", Encoding::Zlib),
    ("gzip.decompress", Encoding::Gzip),
    ("bz2.decompress", Encoding::Bz2),
    ("lzma.decompress", Encoding::Lzma),
    ("quopri.decodestring", Encoding::QuotedPrintable),
];

/// Modules of the decoding functions.
pub const DECODER_MODULES: &[&str] = &[
    "base64", "binascii", "zlib", "gzip", "bz2", "lzma", "codecs", "_codecs", "quopri",
];

/// Attribute names whose access is an introspection escape.
pub const INTROSPECTION_ATTRS: &[&str] = &[
    "__subclasses__",
    "__globals__",
    "__mro__",
    "__bases__",
    "__base__",
    "__builtins__",
    "__class__",
    "__code__",
    "__dict__",
    "__getattribute__",
    "__reduce__",
    "__reduce_ex__",
    "__closure__",
    "f_globals",
    "f_locals",
    "f_builtins",
    "f_back",
    "gi_frame",
    "gi_code",
    "cr_frame",
    "ag_frame",
    "tb_frame",
    "__loader__",
    "__spec__",
    "__self__",
    "__func__",
    "__init_subclass__",
];

/// Module-level names that are plain data.
pub const MODULE_DUNDER_DATA: &[&str] = &[
    "__name__",
    "__file__",
    "__doc__",
    "__package__",
    "__qualname__",
];

/// Resolvers: callables that turn a name (a string) into an object at load time, which
/// attackers use to hide the real target: `(module, [names])`.
pub const RESOLVERS: &[(&str, &[&str])] = &[
    ("builtins", &["__import__", "getattr"]),
    ("importlib", &["import_module", "__import__"]),
    (
        "cloudpickle.cloudpickle",
        &["subimport", "dynamic_subimport", "_builtin_type"],
    ),
    ("dill._dill", &["_import_module", "_get_attr", "_load_type"]),
    ("operator", &["attrgetter", "methodcaller"]),
    ("_operator", &["attrgetter", "methodcaller"]),
    ("functools", &["partial"]),
    ("_functools", &["partial"]),
    ("pkgutil", &["resolve_name"]),
    ("pydoc", &["locate"]),
];

/// The decoding function at dotted `path` (`base64.b64decode`), with the encoding its first
/// positional argument is decoded from.
pub fn decoder(path: &str) -> Option<Encoding> {
    DECODERS.iter().find(|(p, _)| *p == path).map(|(_, e)| *e)
}

/// [`decoder`] for `module` + `name` without building the dotted path (the pickle judge asks
/// this for every call it evaluates).
pub fn decoder_of(module: &str, name: &str) -> Option<Encoding> {
    // Lengths first: most calls the judge asks about are no decoder, and comparing lengths
    // rejects them without comparing bytes.
    let len = module.len() + 1 + name.len();
    DECODERS.iter().find_map(|(p, e)| {
        if p.len() != len {
            return None;
        }
        let rest = p.strip_prefix(module)?.strip_prefix('.')?;
        (rest == name).then_some(*e)
    })
}

/// Whether `module.name` resolves a name given as data (see [`RESOLVERS`]).
pub fn is_resolver(module: &str, name: &str) -> bool {
    RESOLVERS
        .iter()
        .any(|(m, names)| *m == module && names.contains(&name))
}

/// Whether a dotted name has a dunder part (`__reduce__`, `x.__globals__`): such names are
/// Python's object protocol, never an API a model needs.
pub fn is_dunder(name: &str) -> bool {
    name.split('.')
        .any(|p| p.len() > 4 && p.starts_with("__") && p.ends_with("__"))
}

/// Names of the builtins module (Python 3, plus a few Python 2 names).
pub(crate) const BUILTIN_NAMES: &[&str] = &[
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "copyright",
    "credits",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "exit",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "license",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "quit",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
    "__import__",
    "__build_class__",
    "__debug__",
    "NotImplemented",
    "Ellipsis",
    "execfile",
    "apply",
    "file",
    "reload",
    "unicode",
    "long",
    "xrange",
    "basestring",
    "raw_input",
    "unichr",
    "buffer",
    "intern",
    "cmp",
    "coerce",
];

/// Builtins that are safe to call (no capability), for inertness.
pub(crate) const SAFE_BUILTINS: &[&str] = &[
    "abs",
    "all",
    "any",
    "ascii",
    "bin",
    "bool",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "complex",
    "dict",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "format",
    "frozenset",
    "hasattr",
    "hash",
    "hex",
    "id",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "object",
    "oct",
    "ord",
    "pow",
    "print",
    "property",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "zip",
    "NotImplemented",
    "Ellipsis",
    "unicode",
    "long",
    "xrange",
    "basestring",
    "unichr",
    "cmp",
    "memoryview",
    "aiter",
    "anext",
];

/// Conventional aliases of numeric frameworks, resolved when a name is otherwise unbound
/// (Keras Lambda bodies use `tf`, `K`, `np` from the defining module).
pub(crate) const KNOWN_ALIASES: &[(&str, &str)] = &[
    ("tf", "tensorflow"),
    ("tensorflow", "tensorflow"),
    ("K", "keras.backend"),
    ("keras", "keras"),
    ("np", "numpy"),
    ("numpy", "numpy"),
    ("jnp", "jax.numpy"),
    ("jax", "jax"),
    ("torch", "torch"),
    ("F", "torch.nn.functional"),
    ("nn", "torch.nn"),
    ("math", "math"),
    ("ops", "keras.ops"),
    // TorchScript `code/*.py` builtins.
    ("__torch__", "torch"),
    ("annotate", "torch.jit.annotate"),
    ("uninitialized", "torch.jit.uninitialized"),
    ("unchecked_cast", "torch.jit.unchecked_cast"),
];

/// Operator namespaces inside catalogued modules that are plain tensor operations (TorchScript
/// code calls `torch._C._nn.gelu`, while `torch._C` as a whole reaches native internals).
pub(crate) const SAFE_OP_NAMESPACES: &[&str] = &[
    "torch._C._nn.",
    "torch._C._fft.",
    "torch._C._linalg.",
    "torch._C._special.",
    "torch._C._nested.",
    "torch._C._sparse.",
    "torch._C._VariableFunctions.",
];

/// Module prefixes whose uncatalogued callables are numeric operations on data.
pub(crate) const DATA_LIBS: &[&str] = &[
    "tensorflow",
    "keras",
    "tf_keras",
    "numpy",
    "torch",
    "jax",
    "math",
    "cmath",
    "operator",
    "einops",
    "typing",
];

/// Method names that stay suspicious even on function arguments (a parameter could be a
/// module handed in by the caller): calling them is recorded as an unknown call.
pub(crate) const SUSPICIOUS_METHODS: &[&str] = &[
    "system",
    "popen",
    "popen2",
    "popen3",
    "Popen",
    "spawnl",
    "spawnle",
    "spawnlp",
    "spawnv",
    "spawnve",
    "spawnvp",
    "execl",
    "execle",
    "execlp",
    "execv",
    "execve",
    "execvp",
    "execvpe",
    "check_output",
    "check_call",
    "getoutput",
    "getstatusoutput",
    "startfile",
    "__import__",
    "import_module",
    "exec",
    "eval",
    "loads",
    "load_library",
    "urlopen",
    "rmtree",
    "unlink",
];

/// Functions that evaluate a code string: path → (positional index, keyword) of code args.
pub(crate) const CODE_RUNNERS: &[(&str, &[(usize, &str)])] = &[
    ("builtins.eval", &[(0, "source")]),
    ("builtins.exec", &[(0, "source")]),
    ("builtins.compile", &[(0, "source")]),
    ("timeit.timeit", &[(0, "stmt"), (1, "setup")]),
    ("timeit.repeat", &[(0, "stmt"), (1, "setup")]),
    ("timeit.Timer", &[(0, "stmt"), (1, "setup")]),
    ("cProfile.run", &[(0, "statement")]),
    ("cProfile.runctx", &[(0, "statement")]),
    ("profile.run", &[(0, "statement")]),
    ("profile.runctx", &[(0, "statement")]),
    ("pdb.run", &[(0, "statement")]),
    ("pdb.runeval", &[(0, "expression")]),
    ("pdb.runctx", &[(0, "statement")]),
    ("runpy._run_code", &[(0, "code")]),
    ("numpy.testing._private.utils.runstring", &[(0, "astr")]),
    ("numpy.testing.runstring", &[(0, "astr")]),
    (
        "torch.jit.unsupported_tensor_ops.execWrapper",
        &[(0, "code")],
    ),
    ("doctest.debug_script", &[(0, "src")]),
    ("code.compile_command", &[(0, "source")]),
    ("codeop.compile_command", &[(0, "source")]),
];

/// Callables that unpickle (or otherwise deserialise) their bytes argument.
pub(crate) const PICKLE_LOADERS: &[&str] = &[
    "pickle.loads",
    "pickle.load",
    "pickle._loads",
    "pickle._load",
    "_pickle.loads",
    "_pickle.load",
    "cPickle.loads",
    "cPickle.load",
    "dill.loads",
    "dill.load",
    "cloudpickle.loads",
    "cloudpickle.load",
    "joblib.load",
    "torch.load",
    "numpy.load",
    "pandas.read_pickle",
    "jsonpickle.decode",
];

/// Other known-safe callables (constant producers and converters).
pub(crate) const SAFE_CALLS: &[&str] = &[
    "codecs.decode",
    "codecs.encode",
    "_codecs.decode",
    "_codecs.encode",
    "io.BytesIO",
    "io.StringIO",
    "base64.b64encode",
    "base64.encodebytes",
    "binascii.hexlify",
    "binascii.b2a_hex",
    "string.ascii_letters",
    "builtins.str.join",
    "builtins.bytes.join",
    "builtins.str.format",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(decoder("base64.b64decode"), Some(Encoding::Base64));
        assert_eq!(decoder("builtins.bytearray.fromhex"), Some(Encoding::Hex));
        assert!(decoder("os.system").is_none());
        assert_eq!(decoder_of("builtins", "bytes.fromhex"), Some(Encoding::Hex));
        assert!(
            decoder_of("base64", "b64").is_none() && decoder_of("base", "64.b64decode").is_none()
        );
        assert!(is_resolver("_operator", "attrgetter") && !is_resolver("os", "system"));
        assert!(is_dunder("x.__globals__") && !is_dunder("__") && !is_dunder("a_b"));
        assert!(INTROSPECTION_ATTRS.contains(&"__subclasses__"));
    }
}
