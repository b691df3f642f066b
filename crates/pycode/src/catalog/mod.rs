//! What importable Python callables can do.
//!
//! A pickle, a Keras config or a code string names callables as `module` + `qualname`. This
//! catalog maps such a name to the [`Capability`] it reaches. It is the single place where
//! modelguard encodes knowledge of the standard library and of ML frameworks' gadgets, so that
//! a pickle `GLOBAL`, a `getattr` resolved by data flow and a call in `eval`'d source are judged
//! alike.
//!
//! Matching follows how Python resolves the name, not how it is spelt:
//! - a pattern on a module covers its submodules (`asyncio` covers `asyncio.unix_events`),
//!   because a denylist that only matches exact modules was bypassed (CVE-2025-10157);
//! - a dotted qualname is walked like `find_class` walks it: `('logging', 'os.system')` reaches
//!   `os.system` when `logging` has an `os` attribute, so every split of the joined dotted path
//!   into "module" + "attribute path" is tried.
//!
//! The patterns are in `table.rs`; real targets come from [`crate::ecosystem`]. Must not:
//! decide severities (the core crate's rules do).

mod table;

use serde::Serialize;

pub use crate::capability::Capability;
use table::{CATALOG, NOT_CAPABILITIES};

/// A catalog match: what the name reaches and the pattern that matched (for evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Capability reached.
    pub capability: Capability,
    /// The catalog pattern, `module:qualname` (`*` = anything below), or for a capability the
    /// ecosystem table found in the callee's code, the callee that reaches it.
    pub pattern: &'static str,
    /// Whether the capability is reached only through the callee's own code (not by the name
    /// itself): a gadget one step removed.
    pub indirect: bool,
}

static NOT_CAPABILITIES_INDEX: std::sync::LazyLock<
    rustc_hash::FxHashMap<&'static str, Vec<&'static str>>,
> = std::sync::LazyLock::new(|| {
    let mut m: rustc_hash::FxHashMap<&'static str, Vec<&'static str>> =
        rustc_hash::FxHashMap::default();
    for p in NOT_CAPABILITIES {
        if let Some((pm, pq)) = p.split_once(':') {
            m.entry(pm).or_default().push(pq);
        }
    }
    m
});

/// Whether `module` + `qualname` is listed as reaching no capability, under any split of the
/// dotted path (`urllib` + `parse.urlparse` is `urllib.parse` + `urlparse`).
fn exempt(module: &str, qualname: &str) -> bool {
    if exempt_split(module, qualname) {
        return true;
    }
    let mut m = module;
    let mut q = qualname.to_string();
    while let Some((parent, last)) = m.rsplit_once('.') {
        q = format!("{last}.{q}");
        m = parent;
        if exempt_split(m, &q) {
            return true;
        }
    }
    let mut q = qualname;
    let mut m = module.to_string();
    while let Some((first, rest)) = q.split_once('.') {
        m = format!("{m}.{first}");
        q = rest;
        if exempt_split(&m, q) {
            return true;
        }
    }
    false
}

fn exempt_split(module: &str, qualname: &str) -> bool {
    if NOT_CAPABILITIES_INDEX
        .get(module)
        .is_some_and(|v| v.iter().any(|pq| glob(pq, qualname)))
    {
        return true;
    }
    let mut m = module;
    while let Some((parent, _)) = m.rsplit_once('.') {
        if NOT_CAPABILITIES_INDEX
            .get(parent)
            .is_some_and(|v| v.contains(&"*"))
        {
            return true;
        }
        m = parent;
    }
    false
}

/// Classify `module` + `qualname` (as `find_class` receives them, after Python 2 mapping).
///
/// Returns the first catalog entry that matches any way Python could resolve the name (see
/// the module docs), or `None` when the catalog knows nothing dangerous about it — which does
/// not make it safe: the caller's allowlist decides that.
pub fn classify(module: &str, qualname: &str) -> Option<Entry> {
    // Every import and call of every pickle is classified, often the same names.
    thread_local! {
        static MEMO: crate::ecosystem::NameMemo<Option<Entry>> =
            crate::ecosystem::NameMemo::default();
    }
    MEMO.with(|m| m.get_or(module, qualname, classify_uncached))
}

fn classify_uncached(module: &str, qualname: &str) -> Option<Entry> {
    // The real target first (re-exports, module aliases: `sklearn.utils._testing.check_output`
    // is `subprocess.check_output`), then what the ecosystem table found its code reaches,
    // then the spelling itself (every dotted split, for names the table does not know).
    let real = crate::ecosystem::resolve(module, qualname);
    if let Some(e) = lookup_spelling(&real.module, &real.qualname) {
        return Some(e);
    }
    // A curated entry on the public spelling (`tensorflow.load_op_library`) outranks what the
    // table inferred from the definition's code.
    if real.aliased
        && let Some(e) = lookup_spelling(module, qualname)
    {
        return Some(e);
    }
    if let Some(rec) = real.record
        && let Some(capability) = rec.capability
    {
        return Some(Entry {
            capability,
            pattern: rec.via.or(rec.target).unwrap_or("ecosystem table"),
            indirect: rec.via.is_some(),
        });
    }
    lookup_spelling(module, qualname)
}

/// The catalog matched on a spelling: as written, then every split of the dotted path.
fn lookup_spelling(module: &str, qualname: &str) -> Option<Entry> {
    // The joined dotted path, e.g. "logging.os.system", split at every dot into a module and an
    // attribute path, longest module first. The name as written comes first.
    if let Some(e) = lookup(module, qualname) {
        return Some(e);
    }
    // Without a dot on either side the name as written is the only reading.
    if !module.contains('.') && !qualname.contains('.') {
        return None;
    }
    let joined = format!("{module}.{qualname}");
    // find_class may reach a module through attributes (logging.os → os): try every suffix
    // of the joined path as a fresh module path too (os.system from logging.os.system).
    // Split positions are byte offsets of the dots, so no string is built per try (this runs
    // for every import of every pickle).
    let dots: Vec<usize> = joined
        .char_indices()
        .filter(|&(_, c)| c == '.')
        .map(|(i, _)| i)
        .collect();
    // Only attribute paths can lead elsewhere: start inside the qualname, never inside the
    // module path (`torch.jit._pickle` is not `_pickle`).
    let first_attr = module.split('.').count();
    let starts = std::iter::once(0).chain(
        dots.iter()
            .enumerate()
            .filter(|&(k, _)| k + 1 >= first_attr.max(1))
            .map(|(_, &d)| d + 1),
    );
    for start in starts {
        for &d in dots.iter().rev().filter(|&&d| d > start) {
            let (Some(m), Some(q)) = (joined.get(start..d), joined.get(d + 1..)) else {
                continue;
            };
            if m == module && q == qualname {
                continue;
            }
            if let Some(e) = lookup(m, q) {
                return Some(e);
            }
        }
    }
    None
}

/// Whether the catalog lists anything under the top-level module `name` (`os`, `subprocess`,
/// `pickle`…). Analysers use it to read an unbound global of that name as the module itself.
pub fn mentions_module(name: &str) -> bool {
    !name.is_empty()
        && CATALOG.iter().any(|(pattern, _)| {
            let module = pattern.split_once(':').map_or(*pattern, |(m, _)| m);
            module.split('.').next() == Some(name)
        })
}

/// The table indexed by module, built once: a lookup touches only the entries of the module
/// and of its parent packages instead of scanning the whole table (this is on the hot path:
/// every import and call of every pickle is classified).
static INDEX: std::sync::LazyLock<rustc_hash::FxHashMap<&'static str, Vec<(usize, &'static str)>>> =
    std::sync::LazyLock::new(|| {
        let mut m: rustc_hash::FxHashMap<&'static str, Vec<(usize, &'static str)>> =
            rustc_hash::FxHashMap::default();
        for (i, &(pattern, _)) in CATALOG.iter().enumerate() {
            if let Some((pm, pq)) = pattern.split_once(':') {
                m.entry(pm).or_default().push((i, pq));
            }
        }
        m
    });

/// Match one exact (module, qualname) pair against the table (first entry in table order wins).
fn lookup(module: &str, qualname: &str) -> Option<Entry> {
    if exempt(module, qualname) {
        return None;
    }
    let mut best: Option<usize> = None;
    let mut consider = |pm: &str, exact_module: bool| {
        for &(i, pq) in INDEX.get(pm).map(Vec::as_slice).unwrap_or_default() {
            // A submodule only matches `module:*` patterns (a pattern naming one function of
            // `os` says nothing about `os.path`).
            let ok = if exact_module {
                glob(pq, qualname)
            } else {
                pq == "*"
            };
            if ok && best.is_none_or(|b| i < b) {
                best = Some(i);
            }
        }
    };
    consider(module, true);
    let mut m = module;
    while let Some((parent, _)) = m.rsplit_once('.') {
        consider(parent, false);
        m = parent;
    }
    let &(pattern, capability) = CATALOG.get(best?)?;
    Some(Entry {
        capability,
        pattern,
        indirect: false,
    })
}

/// Minimal glob: `*` matches any run of characters (including dots).
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else {
                return false;
            };
            if tail.is_empty() {
                return true;
            }
            // Try every position for the remainder (patterns have at most a couple of stars).
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| glob(tail, rest.get(i..).unwrap_or_default()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Capability::*;

    fn cap(m: &str, q: &str) -> Option<Capability> {
        classify(m, q).map(|e| e.capability)
    }

    #[test]
    fn exact_and_prefix() {
        assert_eq!(cap("os", "system"), Some(ProcessExec));
        assert_eq!(cap("posix", "system"), Some(ProcessExec));
        assert_eq!(cap("subprocess", "Popen"), Some(ProcessExec));
        assert_eq!(cap("builtins", "eval"), Some(DynamicCode));
        assert_eq!(cap("os", "listdir"), Some(FileRead));
    }

    #[test]
    fn submodules_are_covered() {
        assert_eq!(
            cap("asyncio.unix_events", "_UnixSubprocessTransport._start"),
            Some(ProcessExec)
        );
        assert_eq!(cap("numpy.f2py.crackfortran", "x"), Some(ProcessExec));
        // A pattern naming one function does not cover submodules.
        assert_eq!(cap("os.path", "join"), None);
    }

    #[test]
    fn dotted_names_are_walked() {
        assert_eq!(cap("logging", "os.system"), Some(ProcessExec));
        assert_eq!(cap("pathlib", "os.system"), Some(ProcessExec));
    }

    #[test]
    fn benign_names_are_unknown() {
        assert_eq!(cap("collections", "OrderedDict"), None);
        assert_eq!(cap("torch._utils", "_rebuild_tensor_v2"), None);
        assert_eq!(cap("numpy.core.multiarray", "_reconstruct"), None);
        assert_eq!(cap("builtins", "set"), None);
        assert_eq!(cap("torch.jit._pickle", "build_intlist"), None);
        // Attribute paths that name a submodule resolve through it.
        assert_eq!(cap("torch", "ops.load_library"), Some(NativeCode));
    }

    #[test]
    fn ml_framework_entries() {
        assert_eq!(cap("tensorflow.io", "write_file"), Some(FileWrite));
        assert_eq!(cap("tensorflow.io.gfile", "GFile"), Some(FileWrite));
        assert_eq!(cap("tensorflow", "load_op_library"), Some(NativeCode));
        assert_eq!(cap("keras.utils", "get_file"), Some(Network));
        assert_eq!(cap("numpy.ctypeslib", "load_library"), Some(NativeCode));
        assert_eq!(cap("tensorflow", "reduce_mean"), None);
        assert_eq!(cap("tensorflow.math", "reduce_sum"), None);
    }

    #[test]
    fn module_mentions() {
        assert!(mentions_module("os"));
        assert!(mentions_module("subprocess"));
        assert!(mentions_module("torch"));
        assert!(!mentions_module("collections"));
        assert!(!mentions_module(""));
    }

    #[test]
    fn globbing() {
        assert!(glob("a*", "abc"));
        assert!(glob("*.write_text", "Path.write_text"));
        assert!(!glob("*.write_text", "Path.read_text"));
        assert!(glob("exec*", "execvp"));
    }
}
