//! Policy: which imported names are known to be what frameworks emit (the allowlist), and the
//! user's own additions and overrides.
//!
//! The built-in allowlist is curated from what `torch.save`, NumPy, joblib/scikit-learn,
//! pandas and the standard library actually write. A name on it is judged safe *as a name*;
//! calls through it are still judged by their arguments where that matters (nested loaders,
//! file paths).
//!
//! The user's part of the policy usually comes from a policy file ([`crate::config`]); it is
//! applied in two places: the allowlist and `strict` while judging pickles, and the rule
//! switches, severity overrides and path ignores by [`Policy::apply`] once a file's findings
//! are known. Nothing is ever dropped: a finding the policy silences is kept with
//! [`Finding::suppressed`](crate::report::Finding::suppressed) set to the reason.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::report::{FileReport, Severity};

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
    // pure decoders: their output is followed by the judge, not trusted
    "_codecs:decode",
    "codecs:decode",
    "base64:b64decode",
    "base64:standard_b64decode",
    "base64:urlsafe_b64decode",
    "base64:b32decode",
    "base64:b16decode",
    "base64:b85decode",
    "base64:a85decode",
    "base64:decodebytes",
    "binascii:unhexlify",
    "binascii:a2b_hex",
    "binascii:a2b_base64",
    "zlib:decompress",
    "gzip:decompress",
    "bz2:decompress",
    "lzma:decompress",
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

/// [`BUILTIN_EXACT`] as a set of `(module, qualname)`, built once (hot path).
static BUILTIN_EXACT_SET: std::sync::LazyLock<rustc_hash::FxHashSet<(&'static str, &'static str)>> =
    std::sync::LazyLock::new(|| {
        BUILTIN_EXACT
            .iter()
            .filter_map(|e| e.split_once(':'))
            .collect()
    });

/// Module prefixes that are not Python modules at all: TorchScript class names are resolved
/// by the archive's own compilation unit (its `code/` member), never imported.
const BUILTIN_PREFIXES: &[&str] = &["__torch__"];

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
    /// A package prefix that is not Python (TorchScript's `__torch__`): the catalog of
    /// dangerous callables takes precedence.
    Prefix,
    /// The ecosystem table knows the real target and it reaches no capability.
    Known,
    /// The user's policy file allowed it (reported as a suppression).
    User(String),
}

/// The built-in allowlist's answer for a name, whatever the policy: what analysers record in
/// facts, so that the rules can weigh a user pattern against it exactly as
/// [`Policy::allowed`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StaticAllow {
    /// A curated exact entry: safe even when the catalog has a broad pattern for the module.
    Exact,
    /// A package prefix that is not Python (TorchScript's `__torch__`).
    Prefix,
    /// The ecosystem table knows the real target and it reaches no capability.
    Known,
}

/// Look `module:qualname` up in the built-in allowlists (no user patterns).
pub fn static_allowed(module: &str, qualname: &str) -> Option<StaticAllow> {
    if BUILTIN_EXACT_SET.contains(&(module, qualname)) {
        return Some(StaticAllow::Exact);
    }
    if module == "torch" && TORCH_TYPE_NAMES.contains(&qualname) {
        return Some(StaticAllow::Exact);
    }
    if module == "numpy" && NUMPY_TYPE_NAMES.contains(&qualname) {
        return Some(StaticAllow::Exact);
    }
    if BUILTIN_PREFIXES
        .iter()
        .any(|p| module == *p || module.strip_prefix(p).is_some_and(|r| r.starts_with('.')))
    {
        return Some(StaticAllow::Prefix);
    }
    // Known to the ecosystem table as a class, function or value whose real target
    // reaches no capability. Never by package: a name the table does not know is judged
    // by how it is used.
    let real = modelguard_pycode::ecosystem::resolve(module, qualname);
    if let Some(rec) = real.record
        && rec.kind != modelguard_pycode::ecosystem::Kind::Module
        && rec.capability.is_none()
        && rec.calls.is_none()
        && modelguard_pycode::catalog::classify(module, qualname).is_none()
    {
        return Some(StaticAllow::Known);
    }
    None
}

/// A path glob (`tests/**`, `*.ckpt`, `models/legacy/`), matched against `/`-separated
/// paths relative to the policy file's directory (or, without one, against the path as given).
///
/// `*`, `?` and `[…]` stay within one path segment, `**` crosses segments; a pattern without
/// `/` matches a file or directory name at any depth (as in `.gitignore`); a pattern that
/// matches a directory matches everything below it.
#[derive(Clone)]
pub struct PathGlob {
    pattern: String,
    matcher: globset::GlobMatcher,
}

impl PathGlob {
    /// Compile a pattern.
    pub fn new(pattern: &str) -> Result<Self, globset::Error> {
        let mut p = pattern.trim();
        while let Some(rest) = p.strip_prefix("./") {
            p = rest;
        }
        let anchored = p.trim_end_matches('/').contains('/');
        let mut glob = p.trim_start_matches('/').trim_end_matches('/').to_string();
        if !anchored {
            glob = format!("**/{glob}");
        }
        let matcher = globset::GlobBuilder::new(&glob)
            .literal_separator(true)
            .backslash_escape(true)
            .build()?
            .compile_matcher();
        Ok(PathGlob {
            pattern: pattern.to_string(),
            matcher,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether a `/`-separated relative path, or one of its parent directories, matches.
    pub fn is_match(&self, path: &str) -> bool {
        let path = path.trim_start_matches("./");
        if self.matcher.is_match(path) {
            return true;
        }
        path.match_indices('/')
            .any(|(i, _)| path.get(..i).is_some_and(|d| self.matcher.is_match(d)))
    }
}

impl std::fmt::Debug for PathGlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PathGlob").field(&self.pattern).finish()
    }
}

impl PartialEq for PathGlob {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Serialize for PathGlob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.pattern)
    }
}

impl<'de> Deserialize<'de> for PathGlob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PathGlob::new(&s).map_err(|e| serde::de::Error::custom(format!("invalid glob {s:?}: {e}")))
    }
}

/// Which rules a selector covers: `*` (all), `MG-PKL-*` (an ID prefix) or one rule ID.
pub fn rule_selector_matches(selector: &str, rule: &str) -> bool {
    match selector.strip_suffix('*') {
        Some(prefix) => rule
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix)),
        None => selector.eq_ignore_ascii_case(rule),
    }
}

fn all_rules() -> Vec<String> {
    vec!["*".to_string()]
}

/// Suppress findings of some rules in files whose path matches a glob (`[[ignore]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathIgnore {
    /// Which files ([`PathGlob`]).
    pub path: PathGlob,
    /// Which rules (selectors, see [`rule_selector_matches`]); all when omitted.
    #[serde(default = "all_rules")]
    pub rules: Vec<String>,
    /// Why: shown with every finding it suppresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl PathIgnore {
    /// The suppression reason written into findings.
    pub fn suppression(&self) -> String {
        match &self.reason {
            Some(r) => format!("ignored by policy ({}): {r}", self.path.as_str()),
            None => format!("ignored by policy ({})", self.path.as_str()),
        }
    }
}

/// The policy in force for a scan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// User allowlist of globals.
    pub allow_globals: Vec<GlobalPattern>,
    /// Treat unknown globals as suspicious (`medium`) however they are used.
    pub strict: bool,
    /// Rules whose findings are suppressed (selectors, see [`rule_selector_matches`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disabled_rules: Vec<String>,
    /// Severity given to every finding of a rule, by rule ID.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub severity_overrides: BTreeMap<String, Severity>,
    /// Per-path suppressions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<PathIgnore>,
    /// Directory that [`ignore`](Self::ignore) paths are relative to: the policy file's.
    /// Not part of the ruleset digest (it differs between checkouts of one repository).
    #[serde(skip)]
    pub root: Option<PathBuf>,
}

impl Policy {
    /// Look `module:qualname` up in the built-in and user allowlists: a curated exact entry
    /// first, then the user's patterns, then the other built-in answers.
    pub fn allowed(&self, module: &str, qualname: &str) -> Option<Allowed> {
        let builtin = static_allowed(module, qualname);
        if builtin == Some(StaticAllow::Exact) {
            return Some(Allowed::Exact);
        }
        if let Some(p) = self.user_allowed(module, qualname) {
            return Some(Allowed::User(p.to_string()));
        }
        builtin.map(|b| match b {
            StaticAllow::Exact => Allowed::Exact,
            StaticAllow::Prefix => Allowed::Prefix,
            StaticAllow::Known => Allowed::Known,
        })
    }

    /// The first user pattern that allows `module:qualname`.
    pub fn user_allowed(&self, module: &str, qualname: &str) -> Option<&str> {
        self.allow_globals
            .iter()
            .find(|p| p.matches(module, qualname))
            .map(|p| p.0.as_str())
    }

    /// Digest input for the report's ruleset field.
    pub fn digest_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Apply the rule switches, severity overrides and path ignores to a file's findings,
    /// then recompute its verdict ([`FileReport::finalize`]).
    ///
    /// Overrides change `severity`; disabled rules and ignored paths set `suppressed` (a
    /// finding already suppressed keeps its first reason). Findings are never removed, and
    /// the status is never changed: an ignored file that could not be analysed completely is
    /// still not `safe`.
    pub fn apply(&self, report: &mut FileReport) {
        let ignores: Vec<&PathIgnore> = if self.ignore.is_empty() {
            Vec::new()
        } else {
            let rel = self.relative_path(&report.path);
            self.ignore
                .iter()
                .filter(|i| i.path.is_match(&rel))
                .collect()
        };
        for f in &mut report.findings {
            if let Some((_, sev)) = self
                .severity_overrides
                .iter()
                .find(|(id, _)| id.eq_ignore_ascii_case(&f.rule))
            {
                f.severity = *sev;
            }
            if f.suppressed.is_some() {
                continue;
            }
            if self
                .disabled_rules
                .iter()
                .any(|s| rule_selector_matches(s, &f.rule))
            {
                f.suppressed = Some("rule disabled by policy".to_string());
            } else if let Some(i) = ignores
                .iter()
                .find(|i| i.rules.iter().any(|s| rule_selector_matches(s, &f.rule)))
            {
                f.suppressed = Some(i.suppression());
            }
        }
        report.finalize();
    }

    /// `path` relative to [`root`](Self::root), `/`-separated; the path as given (normalised)
    /// when there is no root or the path is outside it. A relative `path` is taken relative to
    /// the current directory.
    pub fn relative_path(&self, path: &str) -> String {
        let p = Path::new(path);
        if let Some(root) = &self.root {
            let abs = if p.is_absolute() {
                p.to_path_buf()
            } else {
                std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
            };
            if let Ok(rel) = normalize(&abs).strip_prefix(normalize(root)) {
                return slashed(rel);
            }
        }
        slashed(&normalize(p))
    }
}

/// Remove `.` and resolve `..` lexically (no file system access, symlinks not followed).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// A path's components joined with `/` (a leading `/` for absolute paths).
fn slashed(p: &Path) -> String {
    let mut parts = Vec::new();
    let mut absolute = false;
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => parts.push("..".to_string()),
            Component::RootDir => absolute = true,
            Component::Prefix(pre) => parts.push(pre.as_os_str().to_string_lossy().into_owned()),
            Component::CurDir => {}
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
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
        // Known by the ecosystem table, not by package prefix.
        assert_eq!(
            p.allowed("sklearn.linear_model._logistic", "LogisticRegression"),
            Some(Allowed::Known)
        );
        assert_eq!(p.allowed("sklearn.utils._testing", "check_output"), None);
        assert_eq!(p.allowed("sklearn.no_such_module", "Anything"), None);
        assert_eq!(p.allowed("__torch__.model", "Net"), Some(Allowed::Prefix));
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
            ..Policy::default()
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

    fn report(path: &str, findings: &[(&str, Severity)]) -> FileReport {
        use crate::report::{Finding, Location, Status, Verdict};
        let mut r = FileReport {
            path: path.into(),
            sha256: None,
            size: 0,
            format: "pickle".into(),
            status: Status::Complete,
            verdict: Verdict::Unknown,
            findings: findings
                .iter()
                .map(|(rule, sev)| Finding {
                    rule: (*rule).into(),
                    severity: *sev,
                    message: String::new(),
                    evidence: None,
                    location: Location::default(),
                    suppressed: None,
                })
                .collect(),
            errors: vec![],
            members: vec![],
            imports: vec![],
        };
        r.finalize();
        r
    }

    #[test]
    fn globs() {
        let g = |p: &str| PathGlob::new(p).unwrap();
        assert!(g("tests/**").is_match("tests/a/b.pkl"));
        assert!(!g("tests/**").is_match("src/tests/b.pkl"));
        assert!(
            g("tests").is_match("src/tests/b.pkl"),
            "bare names match at any depth"
        );
        assert!(g("tests/").is_match("tests/b.pkl"));
        assert!(g("*.ckpt").is_match("a/b/c.ckpt"));
        assert!(
            !g("models/*.pt").is_match("models/sub/x.pt"),
            "* stays in a segment"
        );
        assert!(g("models/**/*.pt").is_match("models/sub/x.pt"));
        assert!(g("./models/x.pt").is_match("./models/x.pt"));
        assert!(PathGlob::new("a[").is_err());
    }

    #[test]
    fn selectors() {
        assert!(rule_selector_matches("*", "MG-PKL-PROC"));
        assert!(rule_selector_matches("MG-PKL-*", "MG-PKL-PROC"));
        assert!(!rule_selector_matches("MG-PKL-*", "MG-ZIP-TAMPER"));
        assert!(rule_selector_matches("mg-pkl-proc", "MG-PKL-PROC"));
        assert!(!rule_selector_matches("MG-PKL", "MG-PKL-PROC"));
    }

    #[test]
    fn apply_overrides_and_suppressions() {
        let p = Policy {
            disabled_rules: vec!["MG-EXT-MISMATCH".into()],
            severity_overrides: [("MG-PKL-UNKNOWN".to_string(), Severity::High)].into(),
            ignore: vec![PathIgnore {
                path: PathGlob::new("tests/**").unwrap(),
                rules: vec!["MG-PKL-*".into()],
                reason: Some("fixtures".into()),
            }],
            ..Policy::default()
        };
        let mut r = report(
            "src/m.pkl",
            &[
                ("MG-PKL-UNKNOWN", Severity::Low),
                ("MG-EXT-MISMATCH", Severity::Medium),
            ],
        );
        p.apply(&mut r);
        assert_eq!(r.verdict, crate::report::Verdict::Malicious);
        assert_eq!(r.findings.len(), 2, "nothing is dropped");
        let ext = r
            .findings
            .iter()
            .find(|f| f.rule == "MG-EXT-MISMATCH")
            .unwrap();
        assert_eq!(ext.suppressed.as_deref(), Some("rule disabled by policy"));

        let mut r = report(
            "tests/m.pkl",
            &[
                ("MG-PKL-PROC", Severity::Critical),
                ("MG-ZIP-TAMPER", Severity::Medium),
            ],
        );
        p.apply(&mut r);
        assert_eq!(r.verdict, crate::report::Verdict::Suspicious);
        let proc_ = r.findings.iter().find(|f| f.rule == "MG-PKL-PROC").unwrap();
        assert_eq!(
            proc_.suppressed.as_deref(),
            Some("ignored by policy (tests/**): fixtures")
        );
    }

    #[test]
    fn ignore_paths_are_relative_to_root() {
        let root = std::env::temp_dir().join("mg-root");
        let p = Policy {
            ignore: vec![PathIgnore {
                path: PathGlob::new("tests/**").unwrap(),
                rules: all_rules(),
                reason: None,
            }],
            root: Some(root.clone()),
            ..Policy::default()
        };
        let inside = root.join("tests").join("x.pkl");
        assert_eq!(
            p.relative_path(&inside.display().to_string()),
            "tests/x.pkl"
        );
        let dotted = root.join("other").join("..").join("tests").join("x.pkl");
        assert_eq!(
            p.relative_path(&dotted.display().to_string()),
            "tests/x.pkl"
        );
        let mut r = report(
            &inside.display().to_string(),
            &[("MG-PKL-PROC", Severity::Critical)],
        );
        p.apply(&mut r);
        assert_eq!(r.verdict, crate::report::Verdict::Safe);
        let mut r = report(
            &std::env::temp_dir()
                .join("tests")
                .join("x.pkl")
                .display()
                .to_string(),
            &[("MG-PKL-PROC", Severity::Critical)],
        );
        p.apply(&mut r);
        assert_eq!(
            r.verdict,
            crate::report::Verdict::Malicious,
            "outside the root"
        );
    }

    #[test]
    fn default_policy_digest_is_unchanged_by_new_fields() {
        assert_eq!(
            String::from_utf8(Policy::default().digest_bytes()).unwrap(),
            r#"{"allow_globals":[],"strict":false}"#
        );
    }
}
