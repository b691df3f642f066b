//! Policy: which imported names are known to be what frameworks emit (the allowlist), and the
//! user's own additions and overrides.
//!
//! The built-in allowlist is curated from what `torch.save`, NumPy, joblib/scikit-learn,
//! pandas and the standard library actually write. A name on it is judged safe *as a name*;
//! calls through it are still judged by their arguments where that matters (nested loaders,
//! file paths).

use serde::{Deserialize, Serialize};

/// Exact `module:qualname` entries: safe whatever the catalog says.
const BUILTIN_EXACT: &[&str] = &[
    // builtins that only build values
    "builtins:set",
    "builtins:frozenset",
    "builtins:bytearray",
    "builtins:bytes",
    "builtins:slice",
    "builtins:complex",
    "builtins:range",
    "builtins:list",
    "builtins:dict",
    "builtins:tuple",
    "builtins:int",
    "builtins:float",
    "builtins:str",
    "builtins:bool",
    "builtins:object",
    "builtins:NoneType",
    "builtins:Ellipsis",
    "builtins:NotImplemented",
    "_codecs:encode",
    "_io:BytesIO",
    "io:BytesIO",
    "_io:StringIO",
    "io:StringIO",
    "copyreg:_reconstructor",
    "copyreg:__newobj__",
    "copyreg:__newobj_ex__",
    "collections:OrderedDict",
    "collections:defaultdict",
    "collections:deque",
    "collections:Counter",
    "datetime:datetime",
    "datetime:date",
    "datetime:time",
    "datetime:timedelta",
    "datetime:timezone",
    "decimal:Decimal",
    "fractions:Fraction",
    "uuid:UUID",
    "argparse:Namespace",
    "re:_compile",
    "pathlib:PosixPath",
    "pathlib:PurePosixPath",
    "pathlib:WindowsPath",
    "pathlib:PureWindowsPath",
    "pathlib:Path",
    "enum:Enum",
    // torch
    "torch._utils:_rebuild_tensor",
    "torch._utils:_rebuild_tensor_v2",
    "torch._utils:_rebuild_tensor_v3",
    "torch._utils:_rebuild_parameter",
    "torch._utils:_rebuild_parameter_with_state",
    "torch._utils:_rebuild_sparse_tensor",
    "torch._utils:_rebuild_nested_tensor",
    "torch._utils:_rebuild_device_tensor_from_numpy",
    "torch._utils:_rebuild_meta_tensor_no_storage",
    "torch._utils:_rebuild_wrapper_subclass",
    "torch._utils:_rebuild_qtensor",
    "torch._utils:_rebuild_xla_tensor",
    "torch._utils:_rebuild_mlc_tensor",
    "torch._utils:_rebuild_from_type",
    "torch._utils:_rebuild_from_type_v2",
    "torch._tensor:_rebuild_from_type",
    "torch._tensor:_rebuild_from_type_v2",
    "torch.serialization:_get_layout",
    "torch:Size",
    "torch:device",
    "torch:Tensor",
    "torch:strided",
    "torch:sparse_coo",
    "torch:contiguous_format",
    "torch:channels_last",
    "torch:preserve_format",
    "torch.storage:TypedStorage",
    "torch.jit._pickle:build_intlist",
    "torch.jit._pickle:build_doublelist",
    "torch.jit._pickle:build_boollist",
    "torch.jit._pickle:build_tensorlist",
    "torch.jit._pickle:build_tensor_from_id",
    "torch.jit._pickle:restore_type_tag",
    "torch.storage:UntypedStorage",
    "torch.nn.parameter:Parameter",
    "torch.nn.parameter:Buffer",
    // numpy
    "numpy:ndarray",
    "numpy:dtype",
    "numpy:matrix",
    "numpy.core.multiarray:_reconstruct",
    "numpy.core.multiarray:scalar",
    "numpy._core.multiarray:_reconstruct",
    "numpy._core.multiarray:scalar",
    "numpy.core.numeric:_frombuffer",
    "numpy._core.numeric:_frombuffer",
    "numpy.ma.core:_mareconstruct",
    "numpy.random._pickle:__randomstate_ctor",
    "numpy.random._pickle:__generator_ctor",
    "numpy.random._pickle:__bit_generator_ctor",
    // joblib
    "joblib.numpy_pickle:NumpyArrayWrapper",
    "joblib.numpy_pickle_compat:NDArrayWrapper",
    "joblib.numpy_pickle_compat:ZNDArrayWrapper",
];

/// Module prefixes whose classes frameworks pickle as objects. The catalog of dangerous
/// callables overrides these (a prefix says "this package's classes", not "every function").
const BUILTIN_PREFIXES: &[&str] = &[
    // TorchScript class names, resolved by the archive's own compilation unit (its code/
    // member), not imported from Python.
    "__torch__",
    "torch.nn.modules",
    "torch.optim",
    "torch.ao.quantization",
    "torch.distributions",
    "numpy.dtypes",
    "sklearn",
    "scipy.sparse",
    "pandas.core",
    "pandas._libs",
    "xgboost",
    "lightgbm",
];

/// Torch storage and dtype attribute names (`torch.FloatStorage`, `torch.float16`).
const TORCH_TYPE_NAMES: &[&str] = &[
    "FloatStorage",
    "DoubleStorage",
    "HalfStorage",
    "BFloat16Storage",
    "LongStorage",
    "IntStorage",
    "ShortStorage",
    "CharStorage",
    "ByteStorage",
    "BoolStorage",
    "ComplexFloatStorage",
    "ComplexDoubleStorage",
    "QUInt8Storage",
    "QInt8Storage",
    "QInt32Storage",
    "QUInt4x2Storage",
    "QUInt2x4Storage",
    "float32",
    "float",
    "float64",
    "double",
    "float16",
    "half",
    "bfloat16",
    "complex64",
    "complex128",
    "cfloat",
    "cdouble",
    "uint8",
    "int8",
    "int16",
    "short",
    "int32",
    "int",
    "int64",
    "long",
    "bool",
    "uint16",
    "uint32",
    "uint64",
    "float8_e4m3fn",
    "float8_e5m2",
    "float8_e4m3fnuz",
    "float8_e5m2fnuz",
    "qint8",
    "quint8",
    "qint32",
];

/// NumPy scalar type names that are pickled as globals (`numpy.float64`).
const NUMPY_TYPE_NAMES: &[&str] = &[
    "float16",
    "float32",
    "float64",
    "longdouble",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool_",
    "complex64",
    "complex128",
    "str_",
    "bytes_",
    "object_",
    "void",
    "datetime64",
    "timedelta64",
];

/// A user allowlist entry: `module:qualname`, `module.*` (a package and its submodules) or
/// `module:*` (every name of one module).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GlobalPattern(pub String);

impl GlobalPattern {
    /// Whether `module` + `qualname` matches.
    pub fn matches(&self, module: &str, qualname: &str) -> bool {
        let p = self.0.as_str();
        if let Some((pm, pq)) = p.split_once(':') {
            return module == pm && (pq == "*" || pq == qualname);
        }
        if let Some(prefix) = p.strip_suffix(".*") {
            return module == prefix
                || module
                    .strip_prefix(prefix)
                    .is_some_and(|r| r.starts_with('.'));
        }
        // A dotted full name `module.qualname`.
        p == format!("{module}.{qualname}")
    }
}

/// How an allowlist lookup matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// A curated exact entry: safe even when the catalog has a broad pattern for the module.
    Exact,
    /// A package prefix: the catalog of dangerous callables takes precedence.
    Prefix,
    /// The user's policy file allowed it (reported as a suppression).
    User(String),
}

/// The policy in force for a scan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// User allowlist of globals.
    pub allow_globals: Vec<GlobalPattern>,
    /// Treat unknown globals as suspicious (`medium`) however they are used.
    pub strict: bool,
}

impl Policy {
    /// Look `module:qualname` up in the built-in and user allowlists.
    pub fn allowed(&self, module: &str, qualname: &str) -> Option<Allowed> {
        let full = format!("{module}:{qualname}");
        if BUILTIN_EXACT.contains(&full.as_str()) {
            return Some(Allowed::Exact);
        }
        if module == "torch" && TORCH_TYPE_NAMES.contains(&qualname) {
            return Some(Allowed::Exact);
        }
        if module == "numpy" && NUMPY_TYPE_NAMES.contains(&qualname) {
            return Some(Allowed::Exact);
        }
        if let Some(p) = self
            .allow_globals
            .iter()
            .find(|p| p.matches(module, qualname))
        {
            return Some(Allowed::User(p.0.clone()));
        }
        if BUILTIN_PREFIXES
            .iter()
            .any(|p| module == *p || module.strip_prefix(p).is_some_and(|r| r.starts_with('.')))
        {
            return Some(Allowed::Prefix);
        }
        None
    }

    /// Digest input for the report's ruleset field.
    pub fn digest_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_entries() {
        let p = Policy::default();
        assert_eq!(
            p.allowed("torch._utils", "_rebuild_tensor_v2"),
            Some(Allowed::Exact)
        );
        assert_eq!(p.allowed("torch", "FloatStorage"), Some(Allowed::Exact));
        assert_eq!(
            p.allowed("sklearn.linear_model._logistic", "LogisticRegression"),
            Some(Allowed::Prefix)
        );
        assert_eq!(p.allowed("os", "system"), None);
        assert_eq!(p.allowed("torchx", "anything"), None);
    }

    #[test]
    fn user_patterns() {
        let p = Policy {
            allow_globals: vec![
                GlobalPattern("mypkg.*".into()),
                GlobalPattern("other:Thing".into()),
            ],
            strict: false,
        };
        assert!(matches!(
            p.allowed("mypkg.models", "Net"),
            Some(Allowed::User(_))
        ));
        assert!(matches!(p.allowed("mypkg", "Net"), Some(Allowed::User(_))));
        assert!(p.allowed("mypkgx", "Net").is_none());
        assert!(matches!(
            p.allowed("other", "Thing"),
            Some(Allowed::User(_))
        ));
        assert!(p.allowed("other", "Else").is_none());
    }
}
