//! Marshal decoding and bytecode analysis.
//!
//! `*.py311.marshal` fixtures were written by a real CPython 3.11 (tests/data/gen_test_data.py).
//! Other versions are covered by code objects assembled here from the documented layouts and
//! each version's opcode numbers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use modelguard_pycode::catalog::Capability::{self, *};
use modelguard_pycode::marshal::{self, Layout, Object};
use modelguard_pycode::{CodeFacts, Limits, analyze_code, analyze_marshal};

fn lim() -> Limits {
    Limits::default()
}

fn has(f: &CodeFacts, cap: Capability, target: &str) -> bool {
    f.hits
        .iter()
        .any(|h| h.capability == cap && h.target == target)
}

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("data/", $name, ".py311.marshal")).as_slice()
    };
}

// ----- real CPython 3.11 code objects ------------------------------------------------------

#[test]
fn decodes_real_311_code_objects() {
    let obj = marshal::loads(fixture!("os_system"), None, &lim()).unwrap();
    let code = obj.as_code().unwrap();
    assert_eq!(code.layout, Layout::Py311);
    assert_eq!(code.name, "f");
    assert_eq!(code.qualname, "f");
    assert_eq!(code.argcount, 1);
    assert_eq!(code.names, ["os", "system"]);
    assert_eq!(code.varnames, ["cmd", "os"]);
    assert_eq!(code.firstlineno, 1);
    assert_eq!(code.stacksize, 3);
    assert_eq!(code.flags, 3);
    assert_eq!(code.code.len(), 52);
    assert_eq!(
        code.consts[..3],
        [Object::None, Object::Int(0), Object::Str("id".into())]
    );

    let obj = marshal::loads(fixture!("nested"), Some((3, 11)), &lim()).unwrap();
    let outer = obj.as_code().unwrap();
    assert_eq!(outer.varnames, ["inner"]);
    let inner = outer.children().next().unwrap();
    assert_eq!(inner.name, "inner");
    assert_eq!(inner.qualname, "outer.<locals>.inner");
    assert_eq!(obj.codes().len(), 2);
}

#[test]
fn benign_lambda_is_inert() {
    for data in [
        fixture!("lambda_mul"),
        fixture!("keras_reduce_mean"),
        fixture!("benign_math"),
    ] {
        let f = analyze_marshal(data, None, &lim());
        assert!(f.inert && f.complete, "{f:#?}");
        let f = analyze_marshal(data, Some((3, 11)), &lim());
        assert!(f.inert, "{f:#?}");
    }
}

#[test]
fn os_system_function() {
    let f = analyze_marshal(fixture!("os_system"), None, &lim());
    assert!(has(&f, ProcessExec, "os.system"), "{f:#?}");
    assert_eq!(f.hits[0].evidence, "os.system('id')");
    assert_eq!(f.hits[0].line, Some(1));
    assert!(!f.inert);
}

#[test]
fn import_built_at_runtime() {
    let f = analyze_marshal(fixture!("import_concat"), None, &lim());
    assert!(has(&f, ProcessExec, "os.system"), "{f:#?}");
}

#[test]
fn nested_functions_are_analysed() {
    let f = analyze_marshal(fixture!("nested"), None, &lim());
    assert!(has(&f, ProcessExec, "subprocess.check_output"), "{f:#?}");
}

#[test]
fn introspection_in_bytecode() {
    let f = analyze_marshal(fixture!("subclasses"), None, &lim());
    for attr in ["__class__", "__base__", "__subclasses__"] {
        assert!(has(&f, Introspection, attr), "{attr}: {f:#?}");
    }
}

#[test]
fn exec_of_decoded_constant_in_bytecode() {
    let f = analyze_marshal(fixture!("exec_b64"), None, &lim());
    let hit = f
        .hits
        .iter()
        .find(|h| h.target == "os.system")
        .expect("os.system");
    assert_eq!(hit.chain, ["base64", "exec"]);
}

#[test]
fn from_import_alias_and_module_code() {
    let f = analyze_marshal(fixture!("from_import_alias"), None, &lim());
    assert!(has(&f, ProcessExec, "os.system"), "{f:#?}");
    let f = analyze_marshal(fixture!("module_os"), None, &lim());
    assert!(has(&f, ProcessExec, "os.system"), "{f:#?}");
}

#[test]
fn pyc_files() {
    let data = include_bytes!("data/benign.py311.pyc");
    let f = analyze_marshal(data, None, &lim());
    assert!(f.inert && f.complete, "{f:#?}");
}

#[test]
fn analyze_code_directly() {
    let obj = marshal::loads(fixture!("os_system"), None, &lim()).unwrap();
    let f = analyze_code(obj.as_code().unwrap(), &lim());
    assert!(has(&f, ProcessExec, "os.system"));
}

#[test]
fn truncated_and_garbage_marshal() {
    let data = fixture!("os_system");
    for cut in [0, 1, 5, 20, data.len() / 2, data.len() - 1] {
        let f = analyze_marshal(&data[..cut], None, &lim());
        assert!(
            !f.complete && !f.inert && !f.errors.is_empty(),
            "cut {cut}: {f:#?}"
        );
    }
    // Bit flips anywhere: never a panic.
    for i in 0..data.len() {
        for bit in [0x01u8, 0x80, 0xff] {
            let mut d = data.to_vec();
            d[i] ^= bit;
            let _ = analyze_marshal(&d, None, &lim());
        }
    }
    let f = analyze_marshal(b"\xff\xfe garbage", None, &lim());
    assert!(!f.complete);
    // Wrong explicit version: the 3.11 blob does not parse with the 3.8 layout.
    let f = analyze_marshal(data, Some((3, 8)), &lim());
    assert!(!f.complete);
    let f = analyze_marshal(data, Some((2, 7)), &lim());
    assert!(!f.complete);
}

#[test]
fn marshal_limits() {
    let l = Limits {
        max_marshal_objects: 5,
        ..lim()
    };
    let f = analyze_marshal(fixture!("os_system"), None, &l);
    assert!(
        !f.complete && f.errors.iter().any(|e| e.contains("max_marshal_objects")),
        "{f:#?}"
    );
    let l = Limits {
        max_marshal_depth: 1,
        ..lim()
    };
    let f = analyze_marshal(fixture!("os_system"), None, &l);
    assert!(
        !f.complete && f.errors.iter().any(|e| e.contains("max_marshal_depth")),
        "{f:#?}"
    );
    let l = Limits {
        max_ast_nodes: 5,
        ..lim()
    };
    let f = analyze_marshal(fixture!("import_concat"), None, &l);
    assert!(
        !f.complete && f.errors.iter().any(|e| e.contains("max_ast_nodes")),
        "{f:#?}"
    );
}

// ----- hand-assembled code objects for other versions ---------------------------------------

fn w_long(out: &mut Vec<u8>, v: i32) {
    out.extend(v.to_le_bytes());
}

fn w_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'z');
    out.push(u8::try_from(s.len()).unwrap());
    out.extend(s.as_bytes());
}

fn w_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.push(b's');
    w_long(out, i32::try_from(b.len()).unwrap());
    out.extend(b);
}

fn w_names(out: &mut Vec<u8>, names: &[&str]) {
    out.push(b')');
    out.push(u8::try_from(names.len()).unwrap());
    for n in names {
        w_str(out, n);
    }
}

/// Constants: `None`, then the given strings / ints.
enum K<'a> {
    S(&'a str),
    I(i32),
    Names(&'a [&'a str]),
}

fn w_consts(out: &mut Vec<u8>, consts: &[K<'_>]) {
    out.push(b')');
    out.push(u8::try_from(consts.len() + 1).unwrap());
    out.push(b'N');
    for c in consts {
        match c {
            K::S(s) => w_str(out, s),
            K::I(i) => {
                out.push(b'i');
                w_long(out, *i);
            }
            K::Names(n) => w_names(out, n),
        }
    }
}

/// Assemble a code object with the field layout of `minor`.
fn code(
    minor: u8,
    argcount: i32,
    code: &[u8],
    consts: &[K<'_>],
    names: &[&str],
    varnames: &[&str],
) -> Vec<u8> {
    let mut out = vec![b'c' | 0x80];
    w_long(&mut out, argcount);
    if minor >= 8 {
        w_long(&mut out, 0); // posonlyargcount
    }
    w_long(&mut out, 0); // kwonlyargcount
    if minor < 11 {
        w_long(&mut out, i32::try_from(varnames.len()).unwrap()); // nlocals
    }
    w_long(&mut out, 8); // stacksize
    w_long(&mut out, 3); // flags: OPTIMIZED | NEWLOCALS
    w_bytes(&mut out, code);
    w_consts(&mut out, consts);
    w_names(&mut out, names);
    if minor >= 11 {
        w_names(&mut out, varnames); // localsplusnames
        w_bytes(&mut out, &vec![0x20u8; varnames.len()]); // CO_FAST_LOCAL
        w_str(&mut out, "<x>");
        w_str(&mut out, "f");
        w_str(&mut out, "f");
        w_long(&mut out, 7);
        w_bytes(&mut out, b"");
        w_bytes(&mut out, b"");
    } else {
        w_names(&mut out, varnames);
        w_names(&mut out, &[]); // freevars
        w_names(&mut out, &[]); // cellvars
        w_str(&mut out, "<x>");
        w_str(&mut out, "f");
        w_long(&mut out, 7);
        w_bytes(&mut out, b"");
    }
    out
}

/// `__import__('os').system('id')` for each version, from its opcode numbers.
fn import_os_system(minor: u8) -> Vec<u8> {
    let consts = [K::S("os"), K::S("id")];
    let names = ["__import__", "system"];
    let c: Vec<u8> = match minor {
        6 => vec![116, 0, 100, 1, 131, 1, 106, 1, 100, 2, 131, 1, 83, 0],
        7..=10 => vec![116, 0, 100, 1, 131, 1, 160, 1, 100, 2, 161, 1, 83, 0],
        12 => {
            let mut v = vec![151, 0, 116, 1];
            v.extend([0u8; 8]); // LOAD_GLOBAL caches
            v.extend([100, 1, 171, 1, 0, 0, 0, 0, 0, 0, 106, 3]);
            v.extend([0u8; 18]); // LOAD_ATTR caches
            v.extend([100, 2, 171, 1, 0, 0, 0, 0, 0, 0, 83, 0]);
            v
        }
        13 => vec![
            149, 0, 91, 1, 0, 0, 0, 0, 83, 1, 53, 1, 0, 0, 82, 3, 0, 0, 83, 2, 53, 1, 0, 0, 36, 0,
        ],
        14 => vec![
            128, 0, 92, 1, 0, 0, 0, 0, 82, 1, 52, 1, 0, 0, 80, 3, 0, 0, 82, 2, 52, 1, 0, 0, 35, 0,
        ],
        _ => unreachable!(),
    };
    code(minor, 0, &c, &consts, &names, &[])
}

/// `lambda x: x * 2`.
fn times_two(minor: u8) -> Vec<u8> {
    let c: Vec<u8> = match minor {
        6..=10 => vec![124, 0, 100, 1, 20, 0, 83, 0],
        12 => vec![151, 0, 124, 0, 100, 1, 122, 5, 0, 0, 83, 0],
        13 => vec![149, 0, 85, 0, 83, 1, 45, 5, 0, 0, 36, 0],
        14 => vec![
            128, 0, 84, 0, 94, 2, 44, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 35, 0,
        ],
        _ => unreachable!(),
    };
    code(minor, 1, &c, &[K::I(2)], &[], &["x"])
}

/// `subprocess.run('id', shell=True)` with a keyword call, per version.
fn kw_call(minor: u8) -> Vec<u8> {
    let consts = [K::S("id"), K::Names(&["shell"])];
    // consts: 0 None, 1 'id', 2 ('shell',); names: 0 subprocess, 1 run; True is loaded as const 3? use None.
    let names = ["subprocess", "run"];
    let c: Vec<u8> = match minor {
        6 => vec![116, 0, 106, 1, 100, 1, 100, 0, 100, 2, 141, 2, 83, 0],
        13 => vec![
            149, 0, 91, 0, 0, 0, 0, 0, 82, 2, 0, 0, 34, 0, 83, 1, 83, 0, 83, 2, 57, 2, 0, 0, 36, 0,
        ],
        14 => vec![
            128, 0, 92, 0, 0, 0, 0, 0, 80, 2, 0, 0, 33, 0, 82, 1, 82, 0, 82, 2, 55, 2, 0, 0, 35, 0,
        ],
        _ => unreachable!(),
    };
    code(minor, 0, &c, &consts, &names, &[])
}

#[test]
fn versions_by_construction() {
    for minor in [6u8, 7, 8, 9, 10, 12, 13, 14] {
        let data = import_os_system(minor);
        for version in [Some((3, minor)), None] {
            let f = analyze_marshal(&data, version, &lim());
            assert!(
                has(&f, ProcessExec, "os.system"),
                "3.{minor} {version:?}: {f:#?}"
            );
            assert!(f.complete, "3.{minor}: {f:#?}");
        }
        let obj = marshal::loads(&data, None, &lim()).unwrap();
        let code = obj.as_code().unwrap();
        let want = match minor {
            6 | 7 => Layout::Py36,
            8..=10 => Layout::Py38,
            _ => Layout::Py311,
        };
        assert_eq!(code.layout, want, "3.{minor}");
        assert_eq!(code.names, ["__import__", "system"]);

        let data = times_two(minor);
        for version in [Some((3, minor)), None] {
            let f = analyze_marshal(&data, version, &lim());
            assert!(f.inert && f.complete, "3.{minor} {version:?}: {f:#?}");
        }
    }
    for minor in [6u8, 13, 14] {
        let f = analyze_marshal(&kw_call(minor), Some((3, minor)), &lim());
        assert!(has(&f, ProcessExec, "subprocess.run"), "3.{minor}: {f:#?}");
        assert!(f.hits[0].evidence.contains("shell="), "3.{minor}: {f:#?}");
    }
}

#[test]
fn layouts_are_exclusive() {
    // A 3.8 blob read as 3.6 or 3.11 fails, and the reverse.
    let d38 = import_os_system(8);
    assert!(marshal::loads(&d38, Some((3, 6)), &lim()).is_err());
    assert!(marshal::loads(&d38, Some((3, 11)), &lim()).is_err());
    let d36 = import_os_system(6);
    assert!(marshal::loads(&d36, Some((3, 8)), &lim()).is_err());
    let d314 = import_os_system(14);
    assert!(marshal::loads(&d314, Some((3, 10)), &lim()).is_err());
}

#[test]
fn hand_built_code_with_placeholder_layout() {
    // The core crate rebuilds code objects from `CodeType(...)` pickle arguments with the 3.11
    // layout as a placeholder; 3.8 bytecode must still be read with the 3.8 opcode table.
    let obj = marshal::loads(&import_os_system(8), None, &lim()).unwrap();
    let mut code = obj.as_code().unwrap().clone();
    code.layout = Layout::Py311;
    code.version = None;
    let f = analyze_code(&code, &lim());
    assert!(has(&f, ProcessExec, "os.system"), "{f:#?}");
}
