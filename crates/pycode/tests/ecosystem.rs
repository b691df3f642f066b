//! The ecosystem table against CPython: for a sample of spellings (re-exports, module
//! aliases, class attributes, dotted paths through an alias such as `sklearn.base` +
//! `np.load`), `ecosystem::resolve` must name the object CPython's unpickler returns for a
//! protocol-4 STACK_GLOBAL of that spelling. The answers were recorded from the pinned
//! packages by `data/verify_ecosystem.py` (real `pickle.loads`), so this test needs no Python.

#![allow(clippy::expect_used)]

use modelguard_pycode::catalog::{self, Capability};
use modelguard_pycode::ecosystem;

#[test]
fn resolve_agrees_with_find_class() {
    let data = include_str!("data/ecosystem_find_class.tsv");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for line in data.lines().filter(|l| !l.starts_with('#')) {
        let mut f = line.split('\t');
        let (Some(module), Some(name), Some(real)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let r = ecosystem::resolve(module, name);
        let got = if r.qualname.is_empty() {
            r.module.clone()
        } else {
            format!("{}:{}", r.module, r.qualname)
        };
        checked += 1;
        if got != real {
            wrong.push(format!("{module}:{name}: table {got}, CPython {real}"));
        }
    }
    assert!(checked >= 2000, "only {checked} samples");
    assert!(
        wrong.is_empty(),
        "{} of {checked} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn gadgets_are_judged_by_their_real_target() {
    let cap = |m: &str, q: &str| catalog::classify(m, q).map(|e| e.capability);
    // Re-exports and aliases the spelling hides.
    assert_eq!(
        cap("sklearn.utils._testing", "check_output"),
        Some(Capability::ProcessExec)
    );
    assert_eq!(
        cap("sklearn.base", "np.load"),
        Some(Capability::Deserialize)
    );
    assert_eq!(cap("os", "_execvpe"), Some(Capability::ProcessExec));
    // Harmless names stay harmless, however they are spelled.
    assert_eq!(
        cap("sklearn.linear_model._logistic", "LogisticRegression"),
        None
    );
    assert_eq!(cap("os", "getcwd"), None);
    assert_eq!(cap("urllib.parse", "urlparse"), None);
    assert_eq!(cap("pickle", "dumps"), None);
    assert_eq!(cap("numpy", "log1p"), None);
}

#[test]
fn trampolines_are_recorded() {
    let rec = ecosystem::record("pandas.core.common", "apply_if_callable").expect("recorded");
    assert_eq!(rec.called_params().collect::<Vec<_>>(), vec![0]);
}
