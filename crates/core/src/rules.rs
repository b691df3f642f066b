//! The rule registry. Each rule is one `static` whose doc comment is its user-facing
//! documentation (`modelguard explain ID`, `docs/rules.md`); [`RULES`] lists them all.
//!
//! Adding a rule: declare it here with [`rule!`](crate::rule), add it to [`RULES`], emit it
//! where the fact is found, add a malicious and a benign fixture test.

use crate::report::Severity;
use serde::Serialize;

/// When the threat takes effect (JFrog's "time of infection").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fires {
    /// When the model file is loaded.
    Load,
    /// When the loaded model is used (inference, template rendering).
    Query,
    /// Neither: a structural fact or a scanner limitation.
    Other,
}

/// Metadata and documentation of one rule.
#[derive(Debug, Serialize)]
pub struct Rule {
    /// Stable ID, e.g. `MG-PKL-PROC`.
    pub id: &'static str,
    /// Short kebab-case name.
    pub name: &'static str,
    /// Default severity (findings may carry another when the evidence says so; see the doc).
    pub severity: Severity,
    /// Formats the rule applies to.
    pub formats: &'static [&'static str],
    /// When the threat fires.
    pub fires: Fires,
    /// The rule's documentation (its doc comment).
    pub doc: &'static str,
}

impl Rule {
    /// The documentation with rustdoc's leading space removed from each line.
    pub fn doc_text(&self) -> String {
        self.doc
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_string()
    }
}

/// Declare a rule: the doc comment becomes both rustdoc and the `explain` text.
#[macro_export]
macro_rules! rule {
    ($(#[doc = $doc:literal])* $name:ident { id: $id:literal, name: $n:literal, severity: $sev:ident, formats: [$($f:literal),* $(,)?], fires: $fires:ident $(,)? }) => {
        $(#[doc = $doc])*
        pub static $name: $crate::rules::Rule = $crate::rules::Rule {
            id: $id,
            name: $n,
            severity: $crate::report::Severity::$sev,
            formats: &[$($f),*],
            fires: $crate::rules::Fires::$fires,
            doc: concat!($($doc, "\n"),*),
        };
    };
}

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
    /// A file or member whose structure could not be parsed completely: a truncated or
    /// malformed pickle, a broken zip directory, a limit crossed.
    ///
    /// ## Why is this dangerous?
    /// Loaders often execute what comes before the broken part (a pickle runs its `REDUCE`s
    /// before failing), and malformed structure is a known way to make scanners skip a file.
    ///
    /// ## How the verdict is decided
    /// `medium`; the file's status becomes `incomplete` or `error`, never safe. Anything found
    /// before the error is still reported.
    ///
    /// ## False positives
    /// Files damaged in transfer; files larger than the configured limits (raise them).
    ///
    /// ## How to fix
    /// Re-download or re-export the file.
    MALFORMED { id: "MG-MALFORMED", name: "malformed-input", severity: Medium, formats: ["*"], fires: Other }
}

rule! {
    /// ## What it detects
    /// A zip read differently by different loaders: duplicate member names (Python's
    /// `zipfile` takes the last, PyTorch the first), a local header whose name differs from
    /// the central directory's, members missing from the central directory, bytes before the
    /// first member, general-purpose flags that make `zipfile` refuse a member PyTorch reads
    /// (encryption, patched data), or CRC-32 values that do not match.
    ///
    /// ## Why is this dangerous?
    /// Each was used to show a scanner a clean view while the loader reads the payload
    /// (CVE-2025-10156, CVE-2025-1944, CVE-2025-1945).
    ///
    /// ## How the verdict is decided
    /// modelguard analyses every view (central directory, each local header, each duplicate).
    /// Name disagreements and duplicates are `high`, flags and CRC mismatches `medium`, a junk
    /// prefix `low`.
    ///
    /// ## False positives
    /// Some zip tools write data descriptors with CRC 0 in the local header (not reported).
    ///
    /// ## How to fix
    /// Re-create the archive with a standard tool.
    ZIP_TAMPER { id: "MG-ZIP-TAMPER", name: "zip-structure-tampering", severity: High, formats: ["zip", "pytorch-zip", "torchscript", "npz"], fires: Other }
}

rule! {
    /// ## What it detects
    /// A file whose content is a different format than its extension says: a raw pickle named
    /// `.bin`/`.pt`, a pickle or zip named `.safetensors`, `.npy`, `.json`.
    ///
    /// ## Why is this dangerous?
    /// Scanners that pick a parser by extension skip or misread it (CVE-2025-10155); loaders
    /// that sniff content still execute it.
    ///
    /// ## How the verdict is decided
    /// `low` when a code-bearing format is named as another code-bearing format (raw pickle as
    /// `.pt`); `medium` when it is named as a format that cannot carry code (`.safetensors`,
    /// `.json`, `.txt`). The content is always analysed as what it is.
    ///
    /// ## False positives
    /// Renamed files from old tooling.
    ///
    /// ## How to fix
    /// Name files after their format.
    EXTENSION_MISMATCH { id: "MG-EXT-MISMATCH", name: "extension-mismatch", severity: Low, formats: ["*"], fires: Other }
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

rule! {
    /// ## What it detects
    /// Archive members whose path is absolute or climbs out of the extraction directory with
    /// `..` (ZipSlip / TarSlip).
    ///
    /// ## Why is this dangerous?
    /// Tools that extract the archive write outside the target directory, e.g. over
    /// `~/.ssh/authorized_keys` or a Python package (CVE-2023-5245, MLeap).
    ///
    /// ## How the verdict is decided
    /// `high` for any member path that is absolute, has a drive letter, or normalises above
    /// the archive root.
    ///
    /// ## False positives
    /// None: no model archive needs such paths.
    ///
    /// ## How to fix
    /// Re-create the archive with relative paths.
    ARCHIVE_SLIP { id: "MG-ARCHIVE-SLIP", name: "archive-path-traversal", severity: High, formats: ["zip", "tar", "pytorch-zip", "npz"], fires: Load }
}

rule! {
    /// ## What it detects
    /// Symbolic or hard links inside an archive.
    ///
    /// ## Why is this dangerous?
    /// Extracting a link and then a file through it writes anywhere the link points; a link to
    /// `/etc/passwd` or `~/.aws/credentials` exposes it to whatever reads the extracted model.
    ///
    /// ## How the verdict is decided
    /// `high` when the target is absolute or leaves the archive root, `medium` otherwise.
    ///
    /// ## False positives
    /// Archives of model folders that use relative links between their own files.
    ///
    /// ## How to fix
    /// Replace links with copies.
    ARCHIVE_LINK { id: "MG-ARCHIVE-LINK", name: "archive-link-member", severity: High, formats: ["zip", "tar"], fires: Load }
}

rule! {
    /// ## What it detects
    /// Members whose declared or actual expansion exceeds the compression-ratio or size limits
    /// (decompression bombs).
    ///
    /// ## Why is this dangerous?
    /// Loading or scanning exhausts memory or disk.
    ///
    /// ## How the verdict is decided
    /// `medium`; modelguard never inflates past its limits, and reports what it did not read.
    ///
    /// ## False positives
    /// Highly compressible data (all-zero tensors) in small archives; raise `max_ratio`.
    ///
    /// ## How to fix
    /// Store tensors uncompressed, or check the archive's origin.
    ARCHIVE_BOMB { id: "MG-ARCHIVE-BOMB", name: "archive-decompression-bomb", severity: Medium, formats: ["zip", "gzip", "bzip2", "xz", "tar"], fires: Load }
}

/// Every rule, in documentation order.
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
    &ZIP_TAMPER,
    &EXTENSION_MISMATCH,
    &NPY_OBJECT,
    &ARCHIVE_SLIP,
    &ARCHIVE_LINK,
    &ARCHIVE_BOMB,
    &MALFORMED,
];

/// Look a rule up by ID (case-insensitive).
pub fn find(id: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.id.eq_ignore_ascii_case(id))
}

/// Digest of the rule set (IDs, severities, docs), for reports: `sha256:…`.
pub fn ruleset_digest(extra: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    for r in RULES {
        h.update(r.id.as_bytes());
        h.update(r.severity.as_str().as_bytes());
        h.update(r.doc.as_bytes());
    }
    h.update(extra);
    format!("sha256:{}", crate::report::hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_unique_and_documented() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate rule IDs");
        for r in RULES {
            let doc = r.doc_text();
            for section in [
                "## What it detects",
                "## Why is this dangerous?",
                "## How the verdict is decided",
                "## False positives",
                "## How to fix",
            ] {
                assert!(doc.contains(section), "{} lacks section {section}", r.id);
            }
        }
    }
}
