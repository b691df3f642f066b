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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(decoder("base64.b64decode"), Some(Encoding::Base64));
        assert_eq!(decoder("builtins.bytearray.fromhex"), Some(Encoding::Hex));
        assert!(decoder("os.system").is_none());
        assert!(is_resolver("_operator", "attrgetter") && !is_resolver("os", "system"));
        assert!(is_dunder("x.__globals__") && !is_dunder("__") && !is_dunder("a_b"));
        assert!(INTROSPECTION_ATTRS.contains(&"__subclasses__"));
    }
}
