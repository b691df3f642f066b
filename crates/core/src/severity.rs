//! The severity model: what reaching a capability is worth, in one table every analyser uses
//! (pickle judge, Keras configs and Lambdas, TorchScript code, eval'd strings). What each level
//! means to the reader is written in `docs/severity.md`; this file is its executable half.
//!
//! A finding needs evidence. A name that is neither catalogued nor used in a dangerous way is
//! an inventory item (`info`), not a finding: unknown is not dangerous.

use modelguard_pycode::catalog::Capability;

use crate::report::Severity;

/// How the file reaches a capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reach {
    /// Loading the file performs the call (a pickle `REDUCE`, code that runs when called).
    Called,
    /// The file names the callable without calling it (an imported global, a config
    /// reference): the application may call it later.
    Referenced,
    /// The callee is harmless by its name but its own code reaches the capability (recorded
    /// by the ecosystem table's code analysis): a gadget, one step removed.
    Indirect,
}

/// The severity of reaching `cap` by `reach`.
///
/// | capability | called | referenced / indirect |
/// |---|---|---|
/// | process-exec, dynamic-code, native-code | critical | high |
/// | deserialize, import-machinery, code-object, network, file-write | high | high |
/// | file-read, introspection, process-control | medium | info / medium |
pub fn of(cap: Capability, reach: Reach) -> Severity {
    let called = match cap {
        Capability::ProcessExec | Capability::DynamicCode | Capability::NativeCode => {
            Severity::Critical
        }
        Capability::Deserialize
        | Capability::ImportMachinery
        | Capability::CodeObject
        | Capability::Network
        | Capability::FileWrite => Severity::High,
        Capability::FileRead | Capability::Introspection | Capability::ProcessControl => {
            Severity::Medium
        }
    };
    match reach {
        Reach::Called => called,
        // A reference to a medium-tier capability (`setattr`, `os.getenv`) reaches nothing by
        // itself: an inventory item. The dangerous tiers stay high: the application may call
        // what the file hands it.
        Reach::Referenced if called <= Severity::Medium => Severity::Info,
        Reach::Referenced | Reach::Indirect => called.min(Severity::High),
    }
}

/// Severity of code that runs when loaded or called (an `eval`'d string, a Lambda, a
/// TorchScript method, a pickled function) and reaches `cap`. Reaching interpreter internals
/// from code (`().__class__.__subclasses__()`, `f.__globals__`) is how sandbox escapes reach
/// `Popen` or `exec` without naming them, so it counts as running code there, unlike a
/// pickle's `getattr` on a name the judge has already resolved.
pub fn in_code(cap: Capability) -> Severity {
    match cap {
        Capability::Introspection => Severity::Critical,
        other => of(other, Reach::Called),
    }
}

/// Code that is executed directly by the file (`eval`/`exec`/`timeit`/`cProfile.run` called by
/// a pickle) but analyses as harmless: no serializer writes such a call, it is how exploits are
/// staged and tested, so it is at least `medium`, with the code shown.
pub const DIRECT_EVALUATION_FLOOR: Severity = Severity::Medium;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(
            of(Capability::ProcessExec, Reach::Called),
            Severity::Critical
        );
        assert_eq!(
            of(Capability::ProcessExec, Reach::Referenced),
            Severity::High
        );
        assert_eq!(of(Capability::ProcessExec, Reach::Indirect), Severity::High);
        assert_eq!(of(Capability::FileRead, Reach::Called), Severity::Medium);
        assert_eq!(
            of(Capability::Introspection, Reach::Referenced),
            Severity::Info
        );
        assert_eq!(of(Capability::Network, Reach::Referenced), Severity::High);
        assert_eq!(in_code(Capability::Introspection), Severity::Critical);
        assert_eq!(in_code(Capability::DynamicCode), Severity::Critical);
    }
}
