//! Source analysis: folding tricks, aliasing, introspection escapes, decoding layers, inertness.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use modelguard_pycode::catalog::Capability::{self, *};
use modelguard_pycode::{CodeFacts, Limits, PayloadKind, analyze_source};

fn facts(src: &str) -> CodeFacts {
    analyze_source(src, &Limits::default())
}

fn has(f: &CodeFacts, cap: Capability, target: &str) -> bool {
    f.hits
        .iter()
        .any(|h| h.capability == cap && h.target == target)
}

#[track_caller]
fn assert_hit(src: &str, cap: Capability, target: &str) -> CodeFacts {
    let f = facts(src);
    assert!(
        has(&f, cap, target),
        "expected {cap:?} {target} in {src:?}: {f:#?}"
    );
    assert!(!f.inert, "{src:?} must not be inert");
    f
}

#[track_caller]
fn assert_inert(src: &str) {
    let f = facts(src);
    assert!(
        f.inert && f.hits.is_empty() && f.complete,
        "{src:?} should be inert: {f:#?}"
    );
}

// ----- the brief's examples -------------------------------------------------------------

#[test]
fn brief_examples() {
    assert_inert("lambda x: x * 2");
    assert_inert("lambda x: tf.reduce_mean(x, axis=1)");
    assert_inert("lambda x: K.sum(x)");
    assert_hit(
        "lambda x: __import__('os').system('id')",
        ProcessExec,
        "os.system",
    );
    let f = assert_hit(
        "getattr(__import__('o'+'s'), 'sys'+'tem')('id')",
        ProcessExec,
        "os.system",
    );
    assert_eq!(f.hits.len(), 1, "{f:#?}");
    assert_hit(
        "().__class__.__base__.__subclasses__()",
        Introspection,
        "__subclasses__",
    );
    let f = assert_hit(
        "import base64\nexec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImlkIik='))",
        ProcessExec,
        "os.system",
    );
    let hit = f.hits.iter().find(|h| h.target == "os.system").unwrap();
    assert_eq!(hit.chain, ["base64", "exec"]);
    assert_eq!(hit.line, Some(2));
    assert_inert("eval('1+1')");
}

// ----- imports and aliases --------------------------------------------------------------

#[test]
fn aliases() {
    assert_hit("import os as o\no.system('id')", ProcessExec, "os.system");
    assert_hit(
        "from os import system as s\ns('id')",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "import os\nf = os.system\nf('id')",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "import subprocess as sp\nsp.Popen(['id'])",
        ProcessExec,
        "subprocess.Popen",
    );
    assert_hit("import os.path\nos.system('x')", ProcessExec, "os.system");
    assert_hit("from os import *\nsystem('id')", ProcessExec, "os.system");
    assert_hit(
        "from subprocess import *\ncall('id')",
        ProcessExec,
        "subprocess.call",
    );
    assert_hit(
        "import importlib\nimportlib.import_module('os').popen('id')",
        ProcessExec,
        "os.popen",
    );
    assert_hit(
        "import sys\nsys.modules['os'].system('id')",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "import builtins\nbuiltins.exec(x)",
        DynamicCode,
        "builtins.exec",
    );
    assert_hit(
        "import __builtin__\n__builtin__.eval(x)",
        DynamicCode,
        "builtins.eval",
    );
    assert_hit(
        "import logging\nlogging.os.system('id')",
        ProcessExec,
        "logging.os.system",
    );
    assert_hit(
        "def f():\n    global g\n    import os as g\nf()\ng.system('x')",
        ProcessExec,
        "os.system",
    );
}

#[test]
fn builtins_used_bare() {
    assert_hit("eval(x)", DynamicCode, "builtins.eval");
    assert_hit("exec(x)", DynamicCode, "builtins.exec");
    assert_hit("open('/etc/passwd').read()", FileWrite, "builtins.open");
    assert_hit("__import__(name)", ImportMachinery, "builtins.__import__");
    assert_hit("compile(src, 'f', 'exec')", DynamicCode, "builtins.compile");
    assert_hit("getattr(obj, name)()", Introspection, "builtins.getattr");
    assert_hit("breakpoint()", DynamicCode, "builtins.breakpoint");
}

#[test]
fn namespace_lookups() {
    assert_hit("__builtins__['ev'+'al'](x)", DynamicCode, "builtins.eval");
    assert_hit(
        "__builtins__.__dict__['exec'](x)",
        DynamicCode,
        "builtins.exec",
    );
    assert_hit(
        "globals()['__builtins__']['eval'](x)",
        DynamicCode,
        "builtins.eval",
    );
    assert_hit(
        "vars(__builtins__)['__import__']('os').system('x')",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "import os\nvars(os)['system']('id')",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "import os\nos.__dict__['sys' 'tem']('id')",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "import os\nglobals()['os'].system('id')",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "getattr(__builtins__, 'ex'+'ec')(x)",
        DynamicCode,
        "builtins.exec",
    );
    assert_hit(
        "globals().get('__builtins__')",
        Introspection,
        "__builtins__",
    );
}

// ----- constant folding ---------------------------------------------------------------------

#[test]
fn folding_tricks() {
    let cases = [
        "__import__('o'+'s').system('id')",
        "__import__(''.join(['o', 's'])).system('id')",
        "__import__('%s%s' % ('o', 's')).system('id')",
        "__import__('%c%c' % (111, 115)).system('id')",
        "a = 'o'\n__import__(f'{a}s').system('id')",
        "__import__('so'[::-1]).system('id')",
        "__import__(chr(111) + chr(115)).system('id')",
        "__import__(chr(ord('n') + 1) + chr(0x73)).system('id')",
        "__import__(bytes.fromhex('6f73').decode()).system('id')",
        "__import__(str('os')).system('id')",
        "__import__('oXs'.replace('X', '')).system('id')",
        "__import__('OS'.lower()).system('id')",
        "__import__(''.join(map(chr, [111, 115]))).system('id')",
        "__import__(''.join(chr(c) for c in [111, 115])).system('id')",
        "__import__(''.join([chr(c ^ 1) for c in [110, 114]])).system('id')",
        "__import__(''.join(reversed('so'))).system('id')",
        "__import__('xxosxx'[2:4]).system('id')",
        "__import__('{}{}'.format('o', 's')).system('id')",
        "__import__(b'os'.decode('utf-8')).system('id')",
        "__import__(bytes([111, 115]).decode()).system('id')",
        "__import__('  os '.strip()).system('id')",
        "s = ''\nfor c in [111, 115]:\n    s += chr(c)\n__import__(s).system('id')",
        "x = 'o'\nx = x + 's'\n__import__(x).system('id')",
        "__import__(('o', 's')[0] + 's').system('id')",
        "__import__('o' * 1 + 's').system('id')",
        "import codecs\n__import__(codecs.decode('bf', 'rot13')).system('id')",
        "__import__('ab'.upper().lower().replace('ab', 'os')).system('id')",
    ];
    for src in cases {
        assert_hit(src, ProcessExec, "os.system");
    }
    // Attribute names folded too.
    assert_hit(
        "import os\ngetattr(os, 'metsys'[::-1])('id')",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "import os\ngetattr(os, 'SYSTEM'.lower())('id')",
        ProcessExec,
        "os.system",
    );
}

#[test]
fn branches_do_not_hide_values() {
    // A conflicting assignment in a branch makes the value unknown (→ import machinery),
    // never a benign module.
    let f = facts("m = 'os'\nif cond:\n    m = 'math'\n__import__(m).system('id')");
    assert!(has(&f, ImportMachinery, "builtins.__import__"), "{f:#?}");
    assert!(!f.inert);
    // A binding made on one path only keeps its value.
    assert_hit(
        "if cond:\n    m = 'os'\n__import__(m).system('id')",
        ProcessExec,
        "os.system",
    );
}

// ----- introspection escapes ------------------------------------------------------------

#[test]
fn introspection_escapes() {
    for attr in [
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
        "f_globals",
        "gi_frame",
        "__loader__",
        "__spec__",
    ] {
        let src = format!("x.{attr}");
        let f = facts(&src);
        assert!(has(&f, Introspection, attr), "{src}: {f:#?}");
        let hit = f.hits.iter().find(|h| h.target == attr).unwrap();
        assert_eq!(hit.evidence, src);
    }
    assert_hit(
        "getattr(x, '__glo' + 'bals__')",
        Introspection,
        "__globals__",
    );
    assert_hit("__loader__.load_module('os')", Introspection, "__loader__");
    let f = assert_hit(
        "[c for c in ().__class__.__bases__[0].__subclasses__() if c.__name__ == 'Popen'][0](['id'])",
        Introspection,
        "__subclasses__",
    );
    assert!(has(&f, Introspection, "__bases__"));
    assert_hit("'{0.__globals__}'.format(f)", Introspection, "str.format");
    assert_hit(
        "f.__globals__['__builtins__']['eval']('1')",
        Introspection,
        "__globals__",
    );
}

// ----- decoding layers --------------------------------------------------------------------

#[test]
fn decoding_layers() {
    let cases: &[(&str, &[&str])] = &[
        (include_str!("data/layer_b64.py"), &["base64", "exec"]),
        (
            include_str!("data/layer_zlib_b64.py"),
            &["base64", "zlib", "exec"],
        ),
        (
            include_str!("data/layer_bz2_b85.py"),
            &["base85", "bz2", "exec"],
        ),
        (
            include_str!("data/layer_lzma_b32.py"),
            &["base32", "lzma", "exec"],
        ),
        (
            include_str!("data/layer_lzma_alone_a85.py"),
            &["ascii85", "lzma", "exec"],
        ),
        (
            include_str!("data/layer_gzip_hex.py"),
            &["hex", "gzip", "exec"],
        ),
        (include_str!("data/layer_rot13.py"), &["rot13", "exec"]),
        (
            include_str!("data/layer_codecs_b64_zlib.py"),
            &["base64", "zlib", "exec"],
        ),
        (
            include_str!("data/layer_reversed_b64.py"),
            &["reverse", "base64", "exec"],
        ),
        (
            include_str!("data/layer_unhexlify_unicode_escape.py"),
            &["hex", "unicode_escape", "exec"],
        ),
    ];
    for (src, chain) in cases {
        let f = assert_hit(src, ProcessExec, "os.system");
        let hit = f.hits.iter().find(|h| h.target == "os.system").unwrap();
        assert_eq!(hit.chain, *chain, "{src}");
        assert!(f.complete, "{src}: {f:#?}");
    }
}

#[test]
fn marshal_layer() {
    let f = assert_hit(
        include_str!("data/layer_marshal.py"),
        ProcessExec,
        "os.system",
    );
    let hit = f.hits.iter().find(|h| h.target == "os.system").unwrap();
    assert_eq!(hit.chain, ["base64", "marshal"]);
}

#[test]
fn nested_pickle_is_returned() {
    let f = facts(include_str!("data/layer_pickle.py"));
    assert_eq!(f.payloads.len(), 1, "{f:#?}");
    let p = &f.payloads[0];
    assert_eq!(p.kind, PayloadKind::Pickle);
    assert_eq!(p.data, b"cos\nsystem\n(S'id'\ntR.");
    assert_eq!(p.chain, ["base64", "pickle.loads"]);
    assert!(!f.inert);
}

#[test]
fn eval_of_constant_code() {
    assert_hit(
        "eval(\"__import__('os').system('id')\")",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "exec(compile('import os\\nos.system(1)', 'x', 'exec'))",
        ProcessExec,
        "os.system",
    );
    assert_inert("c = compile('1 + 2', 'x', 'eval')\neval(c)");
    assert_hit(
        "import timeit\ntimeit.timeit(\"__import__('os').system('x')\")",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "import cProfile\ncProfile.run('import os; os.system(1)')",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "import timeit\ntimeit.timeit(stmt)",
        DynamicCode,
        "timeit.timeit",
    );
    assert_hit(
        "exec(b'import os\\nos.system(1)')",
        ProcessExec,
        "os.system",
    );
    // Layers nest: exec of a string that itself decodes and execs.
    let src =
        "exec(\"import base64; exec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImlkIik='))\")";
    let f = assert_hit(src, ProcessExec, "os.system");
    let hit = f.hits.iter().find(|h| h.target == "os.system").unwrap();
    assert_eq!(hit.chain, ["exec", "base64", "exec"]);
}

// ----- unknown calls and inertness -------------------------------------------------------

#[test]
fn unknown_calls() {
    let f = facts("x.system('id')");
    assert!(f.hits.is_empty(), "{f:#?}");
    assert_eq!(f.unknown_calls, ["x.system"]);
    assert!(!f.inert);
    let f = facts("foo(1)");
    assert_eq!(f.unknown_calls, ["foo"]);
    let f = facts("import collections\ncollections.OrderedDict()");
    assert_eq!(f.unknown_calls, ["collections.OrderedDict"]);
    // A default argument naming a module is what the body uses.
    assert_hit(
        "lambda x, o=__import__('os'): o.system('id')",
        ProcessExec,
        "os.system",
    );
    // A suspicious method on an argument is still recorded.
    let f = facts("lambda m: m.system('id')");
    assert_eq!(f.unknown_calls, ["m.system"]);
}

#[test]
fn benign_snippets_are_inert() {
    for src in [
        "lambda x: x * 2 + 1",
        "lambda x: x[:, 0:1] ** 2 - 3.5",
        "lambda x: tf.reshape(x, (-1, 4))",
        "lambda x: tf.keras.backend.mean(x, axis=-1, keepdims=True)",
        "lambda x: K.concatenate([x[0], x[1]], axis=1)",
        "lambda x: tf.nn.relu(x) * tf.cast(x > 0, 'float32')",
        "lambda t: t.reshape(-1).sum() / len(t)",
        "lambda x, y: np.sqrt(np.abs(x - y)) if x is not None else 0",
        "lambda inputs: inputs[0] * inputs[1]",
        "lambda x: [abs(v) for v in range(10) if v % 2]",
        "lambda x: max(min(x, 1), -1)",
        "lambda x: print(x) or x",
        "lambda x: isinstance(x, (list, tuple)) and len(x) > 0",
        "lambda x: {'a': x, 'b': [1, 2, 3]}['a']",
        "lambda x: torch.cat([x, x], dim=1)",
        "lambda x: F.softmax(x, dim=-1)",
        "lambda x: math.sqrt(x) + math.pi",
        "lambda x: x.transpose(1, 2).contiguous().view(-1)",
        "x = 1\ny = x + 2\nz = [y, x]",
        "def f(x):\n    y = x * 2\n    return y\nf(3)",
        "import math\nclass A:\n    def g(self, x):\n        return math.floor(x)\nA().g(1.5)",
        "relu",
        "'hello world'",
        "eval('1+1')",
        "exec('x = [1, 2]')",
        "lambda x: x if x > 0 else -x",
        "lambda x: f'{x}'",
        "lambda x: tf.where(tf.math.is_nan(x), tf.zeros_like(x), x)",
    ] {
        assert_inert(src);
    }
}

#[test]
fn references_to_dangerous_callables_count() {
    assert_hit(
        "import os\nlist(map(os.system, ['id']))",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "import os, functools\nfunctools.partial(os.system, 'id')()",
        ProcessExec,
        "os.system",
    );
    assert_hit("import os\n[os.system]", ProcessExec, "os.system");
    assert_hit(
        "import os\ndef f():\n    return os.system\n",
        ProcessExec,
        "os.system",
    );
}

#[test]
fn functions_and_classes_are_walked() {
    assert_hit(
        "def f():\n    import os\n    os.system('id')\n",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "class A:\n    def __init__(self):\n        exec(self.x)\n",
        DynamicCode,
        "builtins.exec",
    );
    assert_hit(
        "lambda: [__import__('os').system(c) for c in cmds]",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "async def f():\n    await __import__('asyncio').create_subprocess_shell('id')",
        ProcessExec,
        "asyncio.create_subprocess_shell",
    );
    assert_hit(
        "with open('x', 'w') as f:\n    f.write('y')",
        FileWrite,
        "builtins.open",
    );
    assert_hit(
        "try:\n    pass\nexcept Exception:\n    __import__('os').system('x')",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "@__import__('os').system\ndef f(): pass",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "import os\ndef get():\n    return os\nget().system('x')",
        ProcessExec,
        "os.system",
    );
    assert_hit(
        "match x:\n    case 1:\n        eval(y)",
        DynamicCode,
        "builtins.eval",
    );
    assert_hit(
        "while True:\n    import socket\n    socket.socket()",
        Network,
        "socket.socket",
    );
}

#[test]
fn evidence_and_lines() {
    let f = facts("x = 1\n\nimport os\nos.system(  'id'  )\n");
    let h = &f.hits[0];
    assert_eq!(h.evidence, "os.system(  'id'  )");
    assert_eq!(h.line, Some(4));
    assert!(h.chain.is_empty());
}

// ----- hostile input and limits ------------------------------------------------------------

#[test]
fn syntax_errors_are_incomplete() {
    let f = facts("def f(:\n  os.system(");
    assert!(!f.complete);
    assert!(!f.inert);
    assert!(
        f.errors.iter().any(|e| e.contains("syntax error")),
        "{f:#?}"
    );
    // What could be recovered is still analysed.
    let f = facts("__import__('os').system('id')\ndef (");
    assert!(has(&f, ProcessExec, "os.system"));
    assert!(!f.complete);
}

#[test]
fn deep_nesting_does_not_overflow() {
    for src in [
        format!("x = {}1{}", "(".repeat(100_000), ")".repeat(100_000)),
        format!("x = {}1", "-".repeat(100_000)),
        format!("x = 1{}", "+1".repeat(100_000)),
        format!("x = a{}", ".b".repeat(100_000)),
        format!("x = a{}", "()".repeat(100_000)),
        format!("x = {}1", "lambda: ".repeat(50_000)),
        format!("x = {}1{}", "[".repeat(50_000), "]".repeat(50_000)),
        format!("x = 1{}", " if 1 else 1".repeat(50_000)),
        (0..3000)
            .map(|i| format!("{}if x:\n", " ".repeat(i)))
            .collect::<String>(),
        format!("x = {}", "f'{".repeat(3000)),
    ] {
        let f = facts(&src);
        assert!(!f.complete, "{}: {f:#?}", &src[..40]);
        assert!(!f.inert);
    }
}

#[test]
fn long_flat_chains_are_analysed() {
    // 1500 terms: deeper than max_depth as a tree, but a flat chain for the walker.
    let chars: String = (0..1500)
        .map(|i| if i % 2 == 0 { "chr(111)+" } else { "chr(115)+" })
        .collect();
    let src = format!("x = {chars}''\n__import__(x[:2]).system('id')");
    let f = assert_hit(&src, ProcessExec, "os.system");
    assert!(f.complete, "{:?}", f.errors);
}

#[test]
fn every_limit_is_enforced() {
    let base = Limits::default();
    // max_source_bytes
    let l = Limits {
        max_source_bytes: 10,
        ..base.clone()
    };
    let f = analyze_source("x = 1 + 2 + 3 + 4", &l);
    assert!(!f.complete && f.errors[0].contains("max_source_bytes"));
    // max_ast_nodes
    let l = Limits {
        max_ast_nodes: 20,
        ..base.clone()
    };
    let f = analyze_source(&"x = 1\n".repeat(100), &l);
    assert!(
        !f.complete && f.errors.iter().any(|e| e.contains("max_ast_nodes")),
        "{f:#?}"
    );
    // max_depth (pre-scan and walker)
    let l = Limits {
        max_depth: 10,
        ..base.clone()
    };
    let f = analyze_source(&format!("x = {}1{}", "(".repeat(300), ")".repeat(300)), &l);
    assert!(
        !f.complete && f.errors.iter().any(|e| e.contains("max_depth")),
        "{f:#?}"
    );
    let f = analyze_source("f(g(h(i(j(k(l(m(n(o(p(1)))))))))))", &l);
    assert!(
        !f.complete && f.errors.iter().any(|e| e.contains("max_depth")),
        "{f:#?}"
    );
    // max_decoded_bytes
    let l = Limits {
        max_decoded_bytes: 8,
        ..base.clone()
    };
    let f = analyze_source(include_str!("data/layer_b64.py"), &l);
    assert!(
        !f.complete && f.errors.iter().any(|e| e.contains("max_decoded_bytes")),
        "{f:#?}"
    );
    assert!(!f.inert);
    // max_decode_layers
    let l = Limits {
        max_decode_layers: 1,
        ..base.clone()
    };
    let f = analyze_source(include_str!("data/layer_zlib_b64.py"), &l);
    assert!(
        !f.complete && f.errors.iter().any(|e| e.contains("max_decode_layers")),
        "{f:#?}"
    );
    assert!(!f.inert);
    // max_fold_len
    let l = Limits {
        max_fold_len: 4,
        ..base.clone()
    };
    let f = analyze_source("x = 'abc' * 10", &l);
    assert!(
        !f.complete && f.errors.iter().any(|e| e.contains("max_fold_len")),
        "{f:#?}"
    );
    let f = analyze_source("x = 'a' * 10**12", &base);
    assert!(
        !f.complete && f.errors.iter().any(|e| e.contains("max_fold_len")),
        "{f:#?}"
    );
    // max_marshal_objects / max_marshal_depth through marshal.loads in source
    let l = Limits {
        max_marshal_depth: 2,
        ..base.clone()
    };
    let f = analyze_source(include_str!("data/layer_marshal.py"), &l);
    assert!(
        !f.complete && f.errors.iter().any(|e| e.contains("max_marshal_depth")),
        "{f:#?}"
    );
    let l = Limits {
        max_marshal_objects: 3,
        ..base
    };
    let f = analyze_source(include_str!("data/layer_marshal.py"), &l);
    assert!(
        !f.complete && f.errors.iter().any(|e| e.contains("max_marshal_objects")),
        "{f:#?}"
    );
}

/// bz2 of 64 MiB of zeros (79 bytes), made with CPython's bz2 module.
const BZ2_BOMB_B64: &str = "QlpoOTFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZvAS1wwCidcAAwAAACCAAIKQINjKKiE0qKiE4u5IpwoSFALuD6A==";

#[test]
fn decompression_bomb_is_capped() {
    let src =
        format!("import bz2, base64\nexec(bz2.decompress(base64.b64decode('{BZ2_BOMB_B64}')))");
    let f = facts(&src);
    assert!(
        !f.complete && f.errors.iter().any(|e| e.contains("max_decoded_bytes")),
        "{f:#?}"
    );
    assert!(!f.inert);
    // exec of undecodable data is an unresolved dynamic-code call.
    assert!(has(&f, DynamicCode, "builtins.exec"));
}

#[test]
fn limits_serde_defaults() {
    let l: Limits = serde_json::from_str("{\"max_depth\": 7}").unwrap();
    assert_eq!(l.max_depth, 7);
    assert_eq!(l.max_fold_len, Limits::default().max_fold_len);
    let json = serde_json::to_string(&facts("eval(x)")).unwrap();
    assert!(json.contains("dynamic-code"), "{json}");
}

#[test]
fn nesting_at_the_limit_fits_a_small_stack() {
    // Test threads have 2 MiB stacks; run the worst shapes at the default depth limit in a
    // 1 MiB thread to keep a margin.
    let d = Limits::default().max_depth;
    let shapes = vec![
        format!("{}x{}", "f(".repeat(d), ")".repeat(d)),
        format!("{}x{}", "[".repeat(d), "]".repeat(d)),
        format!("{}1", "lambda: ".repeat(d)),
        format!("{}1", "-".repeat(d * 4)),
        format!("{}x{}", "(a if b else ".repeat(d), ")".repeat(d)),
        format!("x = {}1{}", "{'a': ".repeat(d), "}".repeat(d)),
        format!("x = {}y{}", "f'{".repeat(d / 2), "}'".repeat(d / 2)),
        (0..d / 2)
            .map(|i| format!("{}def f{i}():\n", " ".repeat(i)))
            .collect::<String>()
            + &" ".repeat(d / 2)
            + "pass\n",
        (0..d / 2)
            .map(|i| format!("{}if x:\n", " ".repeat(i)))
            .collect::<String>()
            + &" ".repeat(d / 2)
            + "eval(y)\n",
        format!("{}x{}", "exec('".repeat(6), "')".repeat(6)),
        format!("x = {}", "not ".repeat(d * 2)) + "1",
    ];
    for src in shapes {
        let h = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                let f = analyze_source(&src, &Limits::default());
                (f.complete, f.errors)
            })
            .unwrap();
        let (_complete, _errors) = h.join().expect("analysis overflowed a 1 MiB stack");
    }
}

#[test]
fn resource_abuse_is_bounded() {
    let started = std::time::Instant::now();
    // Shared constants: thousands of references to a 1 MB string cost no copies.
    let many = vec!["a"; 3000].join(", ");
    let f = facts(&format!("a = 'x' * 1000000\nb = [{many}]\nc = (b, b, b)\n"));
    assert!(f.complete, "{f:#?}");
    // Huge repetitions are refused, not built.
    let f = facts("x = [(1, 2, 3)] * 10000000\ny = 'ab' * 10**9\nz = list(range(10**9))");
    assert!(!f.complete);
    // Nested loops over constants: only one level is unrolled.
    let f = facts(
        "for i in range(256):\n    for j in range(256):\n        for k in range(256):\n            x = chr(i)\n",
    );
    assert!(f.complete, "{f:#?}");
    // Quadratic growth hits the total fold budget.
    let f = facts("s = 'a' * 900000\nfor i in range(200):\n    s = s[:-1] + 'b'\n");
    assert!(
        !f.complete && f.errors.iter().any(|e| e.contains("total folded")),
        "{f:#?}"
    );
    // Many branches over a large scope are charged to the node budget.
    let vars: String = (0..2000).map(|i| format!("v{i} = {i}\n")).collect();
    let ifs = "if c:\n    pass\n".repeat(2000);
    let f = facts(&format!("{vars}{ifs}"));
    assert!(f.errors.iter().all(|e| !e.contains("syntax")), "{f:#?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn decoded_but_unused_blobs_are_examined() {
    // Source decoded and handed to something we do not model.
    let f = facts(
        "import base64\ncode = base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImlkIik=')\nrunner(code)",
    );
    let hit = f
        .hits
        .iter()
        .find(|h| h.target == "os.system")
        .expect("decoded source analysed");
    assert_eq!(hit.chain, ["base64", "decoded"]);
    // A decoded pickle is handed back.
    let f = facts("import base64\nblob = base64.b64decode('Y29zCnN5c3RlbQooUydpZCcKdFIu')");
    assert_eq!(f.payloads.len(), 1, "{f:#?}");
    assert_eq!(f.payloads[0].chain, ["base64", "decoded"]);
    // Compressed data found after decoding is decompressed and examined.
    let src = include_str!("data/layer_zlib_b64.py").replace("exec(zlib.decompress(", "x = ((");
    let f = facts(&src);
    let hit = f
        .hits
        .iter()
        .find(|h| h.target == "os.system")
        .expect("zlib layer examined");
    assert_eq!(hit.chain, ["base64", "zlib", "decoded"]);
    // Consumed blobs are not examined twice.
    let f = facts(include_str!("data/layer_b64.py"));
    assert_eq!(f.hits.len(), 1, "{f:#?}");
    // Random decoded bytes are no finding and no error.
    let f = facts("import base64\nx = base64.b64decode('AAECAwQFBgc=')");
    assert!(f.inert, "{f:#?}");
}

#[test]
fn torchscript_code_is_inert() {
    // Shaped like the `code/*.py` files of a TorchScript archive.
    let src = r#"op_version_set = 1
class Linear(Module):
  __parameters__ = ["weight", "bias", ]
  __buffers__ = []
  weight : Tensor
  bias : Optional[Tensor]
  training : bool
  _is_full_backward_hook : Optional[bool]
  def forward(self: __torch__.torch.nn.modules.linear.Linear,
    input: Tensor) -> Tensor:
    weight = self.weight
    bias = self.bias
    _0 = torch.linear(input, weight, bias)
    _1 = torch._C._nn.gelu(_0)
    x = annotate(List[int], [])
    y = ops.prim.NumToTensor(torch.size(input, 0))
    z = uninitialized(Tensor)
    if torch.__is__(bias, None):
      z = torch.add(_1, 1, alpha=1)
    else:
      z = unchecked_cast(Tensor, bias)
    return torch.view(z, [-1, int(y)])
"#;
    assert_inert(src);
    assert_hit(
        "torch._C._load_for_lite_interpreter(f)",
        NativeCode,
        "torch._C._load_for_lite_interpreter",
    );
}

// ----- Python's codecs, exactly ---------------------------------------------------------------
// Encoded forms made with CPython 3.11's codecs (utf-7: the whole text in base64 form).

#[test]
fn exact_codecs_reach_the_payload() {
    let cases: &[(&str, &[&str])] = &[
        (
            "import codecs\nexec(codecs.decode(b'+AGkAbQBwAG8AcgB0ACAAbwBzADsAIABvAHMALgBzAHkAcwB0AGUAbQAoACcAaQBkACcAKQ-', 'utf-7'))",
            &["utf_7", "exec"],
        ),
        (
            "import _codecs\nexec(_codecs.decode(b'+AGkAbQBwAG8AcgB0ACAAbwBzADsAIABvAHMALgBzAHkAcwB0AGUAbQAoACcAaQBkACcAKQ-', 'U7'))",
            &["utf_7", "exec"],
        ),
        (
            r"import codecs
exec(codecs.decode(b'\\u0069mp\\u006frt \\u006f\\u0073; \\u006f\\u0073.\\u0073y\\u0073tem(\'\\u0069d\')', 'raw-unicode-escape'))",
            &["raw_unicode_escape", "exec"],
        ),
        (
            "exec(bytes.fromhex('fffe69006d0070006f007200740020006f0073003b0020006f0073002e00730079007300740065006d00280027006900640027002900').decode('utf-16'))",
            &["hex", "utf_16", "exec"],
        ),
        (
            "exec(b\"import os; os.system('id')-\".decode('punycode'))",
            &["punycode", "exec"],
        ),
    ];
    for (src, chain) in cases {
        let f = assert_hit(src, ProcessExec, "os.system");
        let hit = f.hits.iter().find(|h| h.target == "os.system").unwrap();
        assert_eq!(hit.chain, *chain, "{src}");
        assert!(f.complete, "{src}: {f:#?}");
    }
}

#[test]
fn raw_unicode_escape_is_not_unicode_escape() {
    // raw_unicode_escape leaves `\x3b` as four characters: the code is a syntax error in
    // Python, so it reaches nothing (unicode_escape would give `;` and os.system).
    let src = r"import codecs
exec(codecs.decode(b'import os\\x3b os.system(1)', 'raw_unicode_escape'))";
    let f = facts(src);
    assert!(!f.hits.iter().any(|h| h.target == "os.system"), "{f:#?}");
    let src = r"import codecs
exec(codecs.decode(b'import os\\x3b os.system(1)', 'unicode_escape'))";
    assert_hit(src, ProcessExec, "os.system");
}

#[test]
fn unreproducible_codecs_are_incomplete_not_passed_through() {
    for src in [
        // A CJK codec, an error handler Python looks up at run time, a computed codec name.
        "exec(b\"import os; os.system('id')\".decode('gbk'))",
        "import codecs\nexec(codecs.decode(b\"import os; os.system('id')\\xff\", 'utf-8', 'custom'))",
        "import codecs\nexec(codecs.decode(b'x', ''.join(['utf', '-7', name])))",
    ] {
        let f = facts(src);
        assert!(!f.complete, "{src}: {f:#?}");
        assert!(!f.inert, "{src}: {f:#?}");
        // The undecoded text is never analysed as if it were the decoded code.
        assert!(
            f.hits.iter().all(|h| h.target != "os.system"),
            "{src}: {f:#?}"
        );
    }
}

#[test]
fn codec_calls_python_rejects_give_no_value() {
    // base64_codec takes bytes only and rot13 is not a text encoding: both raise in Python,
    // so neither decodes to the payload.
    for src in [
        "import codecs\nexec(codecs.decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oJ2lkJyk=', 'base64'))",
        "exec(\"vzcbeg bf; bf.flfgrz('vq')\".encode('rot13'))",
    ] {
        let f = facts(src);
        assert!(
            f.hits.iter().all(|h| h.target != "os.system"),
            "{src}: {f:#?}"
        );
        assert!(!f.inert, "{src}: {f:#?}");
    }
}

#[test]
fn str_and_bytes_constructors_with_an_encoding_use_the_codec() {
    // str(b, 'utf-7') decodes (it is not the repr "b'+AGk...'"); bytes(s, 'utf-16') encodes.
    let src = "exec(str(b'+AGkAbQBwAG8AcgB0ACAAbwBzADsAIABvAHMALgBzAHkAcwB0AGUAbQAoACcAaQBkACcAKQ-', 'utf-7'))";
    let f = assert_hit(src, ProcessExec, "os.system");
    let hit = f.hits.iter().find(|h| h.target == "os.system").unwrap();
    assert_eq!(hit.chain, ["utf_7", "exec"]);
    let src = "exec(bytes(\"import os; os.system('id')\", 'utf-16-le').decode('utf-16-le'))";
    assert_hit(src, ProcessExec, "os.system");
    // The UTF-16 bytes are not source: analysing them as UTF-8 text would be wrong.
    let f = facts("exec(bytes(\"import os; os.system('id')\", 'utf-16'))");
    assert!(f.hits.iter().all(|h| h.target != "os.system"), "{f:#?}");
}

#[test]
fn decoding_functions_are_pythons() {
    // base64.b64decode skips '-' and '_' (not the URL-safe alphabet): decoded as Python does,
    // this is the payload (CPython 3.11: b"import os; os.system('id')").
    let src = "import base64\nexec(base64.b64decode('aW1w-_b3J0I-G9zOyBvcy5zeXN0ZW0oJ2lkJyk='))";
    let f = assert_hit(src, ProcessExec, "os.system");
    assert!(f.complete, "{f:#?}");
    // Extra arguments (altchars, validate, wbits…) are not reproduced: incomplete.
    let f = facts("import base64\nexec(base64.b64decode('aW1wb3J0IG9z', b'-_', True))");
    assert!(!f.complete && !f.inert, "{f:#?}");
}
