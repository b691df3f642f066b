//! Behaviour of the symbolic VM on hand-built and Python-generated pickles.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use modelguard_pickle::{
    Analysis, CallKind, ErrorKind, ImportKind, Limits, Options, Value, analyze, analyze_with,
};

fn run(data: &[u8]) -> Analysis {
    analyze(data, &Limits::default())
}

fn run_with(data: &[u8], f: impl FnOnce(&mut Limits)) -> Analysis {
    let mut l = Limits::default();
    f(&mut l);
    analyze(data, &l)
}

/// `(module, name)` of every import that has constant names.
fn imports(a: &Analysis) -> Vec<(String, String)> {
    a.imports
        .iter()
        .map(|i| {
            (
                i.module.clone().unwrap_or_default(),
                i.name.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn call_renders(a: &Analysis) -> Vec<String> {
    (0..a.calls.len()).map(|i| a.render_call(i)).collect()
}

fn error_kind(a: &Analysis) -> Option<ErrorKind> {
    a.error.as_ref().map(|e| e.kind.clone())
}

fn result(a: &Analysis, i: usize) -> &Value {
    a.value(a.pickles[i].result.expect("pickle has a result"))
        .unwrap()
}

// ----- the classic payload at every protocol -------------------------------------------------

#[test]
fn protocol0_text_payload() {
    let a = run(b"cos\nsystem\n(S'echo hi'\ntR.");
    assert_eq!(a.error, None);
    assert_eq!(imports(&a), [("os".into(), "system".into())]);
    assert_eq!(a.imports[0].kind, ImportKind::Global);
    assert_eq!(a.imports[0].at.offset, 0);
    assert_eq!(a.calls.len(), 1);
    assert_eq!(a.calls[0].kind, CallKind::Reduce);
    assert_eq!(a.render(a.calls[0].result), "os.system('echo hi')");
    assert_eq!(a.render_call(0), "os.system('echo hi')");
    assert_eq!(a.calls[0].at.offset, 24);
    let p = &a.pickles[0];
    assert_eq!(
        (p.start, p.end, p.protocol, p.min_protocol, p.opcodes),
        (0, 26, None, 0, 6)
    );
    assert_eq!(p.result, Some(a.calls[0].result));
}

#[test]
fn python_reduce_payload_all_protocols() {
    let files: [&[u8]; 6] = [
        include_bytes!("data/reduce_p0.pkl"),
        include_bytes!("data/reduce_p1.pkl"),
        include_bytes!("data/reduce_p2.pkl"),
        include_bytes!("data/reduce_p3.pkl"),
        include_bytes!("data/reduce_p4.pkl"),
        include_bytes!("data/reduce_p5.pkl"),
    ];
    for (proto, data) in files.iter().enumerate() {
        let a = run(data);
        assert_eq!(a.error, None, "protocol {proto}");
        // Python writes os.system as posix.system on Linux.
        assert_eq!(
            imports(&a),
            [("posix".into(), "system".into())],
            "protocol {proto}"
        );
        let kind = if proto >= 4 {
            ImportKind::StackGlobal
        } else {
            ImportKind::Global
        };
        assert_eq!(a.imports[0].kind, kind);
        assert_eq!(
            call_renders(&a),
            ["posix.system('echo hi')"],
            "protocol {proto}"
        );
        let p = &a.pickles[0];
        let want = if proto >= 2 { Some(proto as u8) } else { None };
        assert_eq!(p.protocol, want);
        // pickletools.dis: "highest protocol among opcodes".
        assert_eq!(p.min_protocol, [0, 1, 2, 2, 4, 4][proto]);
        assert_eq!(p.end as usize, data.len());
        assert_eq!(a.trailing_bytes, 0);
    }
}

// ----- STACK_GLOBAL --------------------------------------------------------------------------

#[test]
fn dotted_stack_global_keeps_module_and_dotted_name() {
    let a = run(b"\x80\x04\x8c\x07logging\x8c\x09os.system\x93\x8c\x02hi\x85R.");
    assert_eq!(a.error, None);
    assert_eq!(imports(&a), [("logging".into(), "os.system".into())]);
    assert_eq!(a.imports[0].raw_name.as_deref(), Some("os.system"));
    assert_eq!(call_renders(&a), ["logging.os.system('hi')"]);
}

#[test]
fn stack_global_operands_from_memo_with_padding() {
    // 'os' and 'system' are memoised (MEMOIZE, BINPUT, PUT), popped, padded with junk memo
    // entries, and fetched back with BINGET / LONG_BINGET / GET: the picklescan bypass.
    let mut p = b"\x80\x04".to_vec();
    p.extend(b"\x8c\x02os\x940"); // memo 0 = 'os', POP
    p.extend(b"\x8c\x04junk\x94\x940"); // memo 1, 2 = 'junk'
    p.extend(b"\x8c\x06systemq\x070"); // memo 7 = 'system'
    p.extend(b"\x8c\x03pad\x94p100\n0"); // memo 3, 100 = 'pad'
    p.extend(b"h\x00j\x07\x00\x00\x00\x93"); // BINGET 0, LONG_BINGET 7, STACK_GLOBAL
    p.extend(b"g0\ng7\n\x93"); // GET 0, GET 7, STACK_GLOBAL again
    p.extend(b"0\x8c\x02id\x85R.");
    let a = run(&p);
    assert_eq!(a.error, None);
    assert_eq!(
        imports(&a),
        [
            ("os".into(), "system".into()),
            ("os".into(), "system".into())
        ]
    );
    assert_eq!(call_renders(&a), ["os.system('id')"]);
}

#[test]
fn memo_entries_far_apart_and_overlapping_stay_found() {
    /// PROTO 4, `'far'` put at `far`, then `None` put at each index of `run`, then `tail`.
    fn memo_pickle(far: u32, run: impl Iterator<Item = u8>, tail: &[u8]) -> Vec<u8> {
        let mut p = b"\x80\x04\x8c\x03farr".to_vec();
        p.extend(far.to_le_bytes());
        p.push(b'0');
        for i in run {
            p.extend([b'N', b'q', i, b'0']);
        }
        p.extend(tail);
        p
    }
    fn far_str(a: &Analysis) -> bool {
        matches!(result(a, 0), Value::Str { value, .. } if value == "far")
    }
    // A far index is kept apart from the dense run of small ones.
    let a = run(&memo_pickle(1000, 0..=200, b"j\xe8\x03\x00\x00."));
    assert_eq!(a.error, None);
    assert!(far_str(&a), "{:?}", result(&a, 0));
    // The run grows past index 70 (stored apart: too far when put) without overwriting it.
    let tail = b"h\x46.";
    let p = memo_pickle(70, (0..70).chain(71..=100), tail);
    let a = run(&p);
    assert_eq!(a.error, None);
    assert!(far_str(&a), "{:?}", result(&a, 0));
    // A PUT at 70 in the run replaces it, as in Python's dict memo.
    let a = run(&memo_pickle(70, 0..=100, tail));
    assert!(matches!(result(&a, 0), Value::None));
    // 101 distinct indices are counted once each against the limit.
    assert_eq!(
        error_kind(&run_with(&p, |l| l.max_memo = 100)),
        Some(ErrorKind::Limit("max_memo"))
    );
    assert_eq!(error_kind(&run_with(&p, |l| l.max_memo = 101)), None);
}

#[test]
fn stack_global_from_protocol0_strings_and_dynamic_operands() {
    // STRING operands decode to str in Python 3, so they are valid STACK_GLOBAL operands.
    let a = run(b"S'os'\nS'system'\n\x93.");
    assert_eq!(a.error, None);
    assert_eq!(imports(&a), [("os".into(), "system".into())]);

    // A computed module name: the import is dynamic.
    let a = run(b"\x80\x04cbuiltins\nstr\n\x8c\x02os\x85R\x8c\x06system\x93\x8c\x02id\x85R.");
    assert_eq!(a.error, None);
    assert_eq!(a.imports.len(), 2);
    let dynamic = &a.imports[1];
    assert_eq!(
        (dynamic.module.as_ref(), dynamic.name.as_ref()),
        (None, None)
    );
    assert_eq!(dynamic.kind, ImportKind::StackGlobal);
    assert!(matches!(
        a.value(dynamic.value),
        Some(Value::DynamicGlobal { .. })
    ));
    assert_eq!(
        a.render_call(1),
        "getattr(__import__(builtins.str('os')), 'system')('id')"
    );

    // bytes are not str: dynamic too.
    let a = run(b"\x80\x04C\x02osC\x06system\x93.");
    assert_eq!(a.imports[0].module, None);
}

// ----- errors keep what came before ----------------------------------------------------------

#[test]
fn missing_memo_after_call_keeps_call() {
    let a = run(b"cos\nsystem\n(S'echo hi'\ntRh\x07.");
    assert_eq!(error_kind(&a), Some(ErrorKind::MissingMemo(7)));
    assert_eq!(a.error.as_ref().unwrap().offset, 25);
    assert_eq!(call_renders(&a), ["os.system('echo hi')"]);
    assert_eq!(a.pickles.len(), 1);
    assert_eq!(a.pickles[0].result, None);
    assert_eq!(a.pickles[0].end, 25);
}

#[test]
fn garbage_without_stop_keeps_call() {
    let a = run(b"cos\nsystem\n(S'echo hi'\ntR\xff\xff");
    assert_eq!(error_kind(&a), Some(ErrorKind::UnknownOpcode(0xff)));
    assert_eq!(call_renders(&a), ["os.system('echo hi')"]);
    assert_eq!(a.pickles[0].result, None);

    let a = run(b"cos\nsystem\n(S'echo hi'\ntR");
    assert_eq!(error_kind(&a), Some(ErrorKind::Truncated));
    assert_eq!(a.calls.len(), 1);

    // GLOBAL/INST operands cut by the end of the data: pickle._Unpickler (joblib) still
    // imports `readline()[:-1]` before failing.
    let a = run(b"cantigravity\nxy");
    assert_eq!(error_kind(&a), Some(ErrorKind::Truncated));
    assert_eq!(imports(&a), [("antigravity".into(), "x".into())]);
    let a = run(b"N(iwebbrowserx");
    assert_eq!(error_kind(&a), Some(ErrorKind::Truncated));
    assert_eq!(imports(&a), [("webbrowser".into(), String::new())]);
    assert_eq!(a.calls.len(), 1);
    let a = run(b"c");
    assert_eq!(error_kind(&a), Some(ErrorKind::Truncated));
    assert_eq!(imports(&a), [(String::new(), String::new())]);
    assert_eq!(a.pickles.len(), 1);
}

#[test]
fn empty_and_garbage_inputs() {
    assert_eq!(error_kind(&run(b"")), Some(ErrorKind::Truncated));
    assert_eq!(
        error_kind(&run(b"\x00abc")),
        Some(ErrorKind::UnknownOpcode(0))
    );
    assert_eq!(
        error_kind(&run(b"a")),
        Some(ErrorKind::Stack("unpickling stack underflow".into()))
    );
    assert_eq!(error_kind(&run(b"K")), Some(ErrorKind::Truncated));
    assert_eq!(
        error_kind(&run(b"\x80\x06.")),
        Some(ErrorKind::BadOperand(
            "unsupported pickle protocol: 6".into()
        ))
    );
}

// ----- streams of pickles --------------------------------------------------------------------

#[test]
fn pickles_back_to_back_reset_the_memo() {
    let a = run(b"K\x01q\x00.K\x02.");
    assert_eq!(a.error, None);
    assert_eq!(a.pickles.len(), 2);
    assert_eq!(result(&a, 0), &Value::Int(1));
    assert_eq!(result(&a, 1), &Value::Int(2));
    assert_eq!((a.pickles[1].start, a.pickles[1].end), (5, 8));

    // The second pickle's memo is fresh: GET 0 fails (after an opcode ran, so it's an error).
    let a = run(b"K\x01q\x00.K\x02h\x00.");
    assert_eq!(error_kind(&a), Some(ErrorKind::MissingMemo(0)));
    assert_eq!(a.pickles.len(), 2);

    // Each pickle has its own protocol: the second one (no PROTO) maps Python 2 names.
    let a = run(b"\x80\x03N.c__builtin__\neval\n.");
    assert_eq!(imports(&a), [("builtins".into(), "eval".into())]);
    assert_eq!(a.imports[0].at.pickle, 1);
    assert_eq!(a.imports[0].at.opcode, 3);
}

#[test]
fn trailing_bytes_are_not_a_pickle() {
    let a = run(b"K\x01.\x00\x00garbage");
    assert_eq!(a.error, None);
    assert_eq!(a.pickles.len(), 1);
    assert_eq!(a.trailing_bytes, 9);

    // A valid opcode that fails at once (APPEND on an empty stack) is garbage too.
    let a = run(b"K\x01.abc");
    assert_eq!(a.error, None);
    assert_eq!(a.trailing_bytes, 3);
    assert_eq!(a.values.len(), 1);

    // A second pickle that fails later is an error, and what it did is kept.
    let a = run(b"K\x01.cos\nsystem\n\x00");
    assert_eq!(error_kind(&a), Some(ErrorKind::UnknownOpcode(0)));
    assert_eq!(a.imports.len(), 1);
    assert_eq!(a.trailing_bytes, 0);
}

#[test]
fn legacy_torch_file_is_five_pickles_then_raw_data() {
    let data = include_bytes!("data/legacy_torch.pt");
    let opts = Options {
        max_pickles: Some(5),
        joblib: false,
    };
    let a = analyze_with(data, &Limits::default(), &opts);
    assert_eq!(a.error, None);
    assert_eq!(a.pickles.len(), 5);
    assert_eq!(a.trailing_bytes, 24);
    assert_eq!(
        result(&a, 0),
        &Value::BigInt("119547037146038801333356".into())
    );
    assert_eq!(result(&a, 1), &Value::Int(1001));
    assert!(
        a.calls
            .iter()
            .any(|c| a.render(c.func) == "torch._utils._rebuild_tensor_v2")
    );

    // Without the option the raw bytes start with 'R': REDUCE on an empty stack, garbage.
    let a = analyze(data, &Limits::default());
    assert_eq!(a.error, None);
    assert_eq!(a.pickles.len(), 5);
    assert_eq!(a.trailing_bytes, 24);
}

// ----- Python 2 name mapping -----------------------------------------------------------------

#[test]
fn python2_names_map_only_below_protocol_3() {
    let a = run(b"\x80\x02c__builtin__\neval\nX\x02\x00\x00\x001+\x85R.");
    assert_eq!(a.error, None);
    let i = &a.imports[0];
    assert_eq!(
        (i.module.as_deref(), i.name.as_deref()),
        (Some("builtins"), Some("eval"))
    );
    assert_eq!(
        (i.raw_module.as_deref(), i.raw_name.as_deref()),
        (Some("__builtin__"), Some("eval"))
    );
    assert_eq!(call_renders(&a), ["builtins.eval('1+')"]);

    // No PROTO: protocol 0, mapped too.
    let a = run(b"ccommands\ngetoutput\n.");
    assert_eq!(imports(&a), [("subprocess".into(), "getoutput".into())]);

    // Protocol 3 and 4: names are taken as written.
    for p in [b'\x03', b'\x04'] {
        let a = run(&[b"\x80", &[p][..], b"c__builtin__\neval\n."].concat());
        assert_eq!(imports(&a), [("__builtin__".into(), "eval".into())]);
    }

    // STACK_GLOBAL under PROTO 2 and INST without PROTO go through find_class as well.
    let a = run(b"\x80\x02\x8c\x0b__builtin__\x8c\x06xrange\x93.");
    assert_eq!(imports(&a), [("builtins".into(), "range".into())]);
    let a = run(b"(ccopy_reg\n_reconstructor\nicopy_reg\n_reconstructor\n.");
    assert_eq!(a.imports.len(), 2);
    assert_eq!(a.imports[1].kind, ImportKind::Inst);
    assert_eq!(imports(&a)[1], ("copyreg".into(), "_reconstructor".into()));
}

// ----- calls of every kind -------------------------------------------------------------------

#[test]
fn newobj_and_newobj_ex_with_kwargs() {
    let a = run(b"\x80\x04\x8c\x08builtins\x8c\x03set\x93)\x81.");
    assert_eq!(call_renders(&a), ["builtins.set.__new__(builtins.set)"]);
    assert_eq!(a.calls[0].kind, CallKind::NewObj);

    let a = run(
        b"\x80\x04cmod\nCls\n\x8c\x01xK\x02\x86}\x8c\x01aK\x01s\x8c\x03b cNs\x8c\x01d\x88s\x92.",
    );
    assert_eq!(a.error, None);
    let c = &a.calls[0];
    assert_eq!(c.kind, CallKind::NewObjEx);
    assert_eq!(c.args.len(), 2);
    assert_eq!(c.kwargs.len(), 3);
    assert_eq!(
        a.render_call(0),
        "mod.Cls.__new__(mod.Cls, 'x', 2, a=1, **{'b c': None}, d=True)"
    );

    // kwargs operand that is not a dict.
    let a = run(b"\x80\x04cmod\nCls\n)cmod\nkw\n\x92.");
    assert_eq!(a.render_call(0), "mod.Cls.__new__(mod.Cls, **mod.kw)");
}

#[test]
fn obj_and_inst() {
    let a = run(b"(cos\nsystem\nS'ls'\no.");
    assert_eq!(a.error, None);
    assert_eq!(a.calls[0].kind, CallKind::Obj);
    assert_eq!(call_renders(&a), ["os.system('ls')"]);

    let a = run(b"(S'ls'\nios\nsystem\n.");
    assert_eq!(a.error, None);
    assert_eq!(a.imports[0].kind, ImportKind::Inst);
    assert_eq!(a.calls[0].kind, CallKind::Inst);
    assert_eq!(a.calls[0].func, a.imports[0].value);
    assert_eq!(call_renders(&a), ["os.system('ls')"]);
    assert_eq!(a.render(a.pickles[0].result.unwrap()), "os.system('ls')");

    assert!(matches!(
        error_kind(&run(b"(o.")),
        Some(ErrorKind::Stack(_))
    ));
    // INST without MARK: pickle.py has already imported the module when it fails.
    let a = run(b"N(Nios\nsystem\n0ios\nsystem\n.");
    assert!(matches!(error_kind(&a), Some(ErrorKind::Stack(_))));
    assert_eq!(a.imports.len(), 2);
    assert_eq!(a.calls.len(), 1);
}

#[test]
fn reduce_with_non_tuple_args() {
    // A list works with the pure-Python unpickler (`func(*args)`); other operands are kept.
    let a = run(b"cos\nsystem\n(S'ls'\nlR.");
    assert_eq!(call_renders(&a), ["os.system('ls')"]);
    let a = run(b"cos\nsystem\nP1\nR.");
    assert_eq!(call_renders(&a), ["os.system(persistent_load('1'))"]);
}

#[test]
fn build_on_a_global_and_render_build() {
    let a = run(b"cos\nsystem\n}S'a'\nK\x01sb.");
    assert_eq!(a.error, None);
    assert_eq!(a.builds.len(), 1);
    assert_eq!(a.builds[0].target, a.imports[0].value);
    assert_eq!(a.render_build(0), "os.system.__setstate__({'a': 1})");
    // BUILD leaves the target on the stack.
    assert_eq!(a.pickles[0].result, Some(a.imports[0].value));
    assert_eq!(a.render_build(1), "");
    assert_eq!(a.render_call(0), "");
}

#[test]
fn mutations_of_unknown_objects_are_calls() {
    let a = run(b"cbuiltins\nlist\n)R(K\x01K\x02eK\x03a.");
    assert_eq!(a.error, None);
    assert_eq!(a.calls.len(), 3);
    assert_eq!(a.calls[1].kind, CallKind::Append);
    assert_eq!(a.calls[1].func, a.calls[0].result);
    assert_eq!(
        call_renders(&a),
        [
            "builtins.list()",
            "builtins.list().extend([1, 2])",
            "builtins.list().append(3)"
        ]
    );
    // The stack still holds the object, not the method's result.
    assert_eq!(a.pickles[0].result, Some(a.calls[0].result));

    let a = run(b"cmod\nd\n)RS'k'\nK\x01s(K\x02K\x03K\x04K\x05u.");
    assert_eq!(a.calls[1].kind, CallKind::SetItem);
    assert_eq!(
        call_renders(&a)[1..],
        [
            "mod.d().__setitem__('k', 1)",
            "mod.d().update({2: 3, 4: 5})"
        ]
    );

    let a = run(b"\x80\x04cmod\ns\n)R(K\x01\x90(K\x01K\x02\x90.");
    assert_eq!(a.calls[1].kind, CallKind::AddItems);
    assert_eq!(
        call_renders(&a)[1..],
        ["mod.s().add(1)", "mod.s().update({1, 2})"]
    );

    // Empty APPENDS still calls `extend` in the pure-Python unpickler; empty SETITEMS doesn't.
    let a = run(b"cmod\nx\n(e(u.");
    assert_eq!(call_renders(&a), ["mod.x.extend([])"]);

    // Known containers are mutated in place.
    let a = run(b"]q\x00(K\x01K\x02eK\x03a}(K\x01K\x02uK\x03K\x04s\x8f(K\x05\x90\x87.");
    assert_eq!(a.calls.len(), 0);
    assert_eq!(
        a.render(a.pickles[0].result.unwrap()),
        "([1, 2, 3], {1: 2, 3: 4}, {5})"
    );

    // Odd SETITEMS: complete pairs are set, then an error.
    let a = run(b"}(K\x01K\x02K\x03u.");
    assert!(matches!(error_kind(&a), Some(ErrorKind::Stack(_))));
}

// ----- every opcode family -------------------------------------------------------------------

#[test]
fn numbers() {
    let a = run(b"(I01\nI00\nI-12\nI0x1f\nI123456789012345678901234567890\nL5L\nL-7\nJ\xff\xff\xff\xffK\xffM\xff\xff\x8a\x00\x8a\x02\x00\x80\x8b\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01F1.5\nF-inf\nG\x3f\xf8\x00\x00\x00\x00\x00\x00t.");
    assert_eq!(a.error, None);
    assert_eq!(
        a.render(a.pickles[0].result.unwrap()),
        "(True, False, -12, 31, 123456789012345678901234567890, 5, -7, -1, 255, 65535, 0, -32768, 18446744073709551616, 1.5, -inf, 1.5)"
    );
    // The C unpickler parses numeric lines as C strings (stopping at NUL) and INT with
    // strtol (C octal).
    let a = run(b"(I12\x00junk\nL-5\x00L\nF2.5\x00x\nI012\ntp0\x00\ng0\x00x\n.");
    assert_eq!(a.error, None);
    assert_eq!(a.render(a.pickles[0].result.unwrap()), "(12, -5, 2.5, 10)");
    assert!(matches!(
        error_kind(&run(b"I1x\n.")),
        Some(ErrorKind::BadOperand(_))
    ));
    assert!(matches!(
        error_kind(&run(b"Fx\n.")),
        Some(ErrorKind::BadOperand(_))
    ));
    assert!(matches!(
        error_kind(&run(b"\x8b\xff\xff\xff\xff.")),
        Some(ErrorKind::BadOperand(_))
    ));
}

#[test]
fn strings_and_bytes() {
    let a = run(b"(S'a\\'b\\n\\x41'\nS\"q\"\nT\x02\x00\x00\x00hiU\x01\xe9V\\u00e9\\U0001f600x\nX\x03\x00\x00\x00\xe2\x82\xac\x8c\x01z\x8d\x01\x00\x00\x00\x00\x00\x00\x00yB\x02\x00\x00\x00\x00'C\x01\"\x8e\x01\x00\x00\x00\x00\x00\x00\x00b\x96\x01\x00\x00\x00\x00\x00\x00\x00\x80t.");
    assert_eq!(a.error, None);
    assert_eq!(
        a.render(a.pickles[0].result.unwrap()),
        "(\"a'b\\nA\", 'q', 'hi', 'é', 'é😀x', '€', 'z', 'y', b\"\\x00'\", b'\"', b'b', bytearray(b'\\x80'))"
    );
    assert_eq!(
        a.str_value(
            a.values
                .iter()
                .position(|v| matches!(v, Value::Str { value, .. } if value == "€"))
                .unwrap() as u32
        ),
        Some("€")
    );
    assert!(matches!(
        error_kind(&run(b"S'abc\n.")),
        Some(ErrorKind::BadOperand(_))
    ));
    assert!(matches!(
        error_kind(&run(b"S'\\x4'\n.")),
        Some(ErrorKind::BadOperand(_))
    ));
    assert!(matches!(
        error_kind(&run(b"T\xff\xff\xff\xff.")),
        Some(ErrorKind::BadOperand(_))
    ));
    assert!(matches!(
        error_kind(&run(b"V\\u12\n.")),
        Some(ErrorKind::BadOperand(_))
    ));
}

#[test]
fn containers_stack_and_marks() {
    // EMPTY_TUPLE TUPLE1-3 TUPLE LIST DICT FROZENSET EMPTY_SET, DUP, POP, POP_MARK.
    let a = run(b"(\x80\x04)K\x01\x85K\x01K\x02\x86K\x01K\x02K\x03\x87(K\x04t(K\x05l(K\x06K\x07d(K\x08\x91\x8fK\x092\x86K\x0a0(K\x0b1(0t.");
    assert_eq!(a.error, None);
    assert_eq!(
        a.render(a.pickles[0].result.unwrap()),
        "((), (1,), (1, 2), (1, 2, 3), (4,), [5], {6: 7}, frozenset({8}), set(), (9, 9))"
    );
    assert_eq!(a.pickles[0].min_protocol, 4);
    // Pops may not cross a MARK (the C unpickler's fence).
    assert!(matches!(
        error_kind(&run(b"K\x01(\x85.")),
        Some(ErrorKind::Stack(_))
    ));
    assert!(matches!(
        error_kind(&run(b"(K\x01d.")),
        Some(ErrorKind::Stack(_))
    ));
    assert!(matches!(error_kind(&run(b"t.")), Some(ErrorKind::Stack(_))));
    assert!(matches!(error_kind(&run(b"(.")), Some(ErrorKind::Stack(_))));
    assert!(matches!(
        error_kind(&run(b"(2.")),
        Some(ErrorKind::Stack(_))
    ));
}

#[test]
fn persistent_ids_extensions_buffers_frames() {
    let body = b"(Pkey1\nK\x07Q\x82\x01\x83\x02\x01\x84\xff\xff\xff\x7f\x97\x97\x98t.";
    let mut p = b"\x80\x05\x95".to_vec();
    p.extend((body.len() as u64).to_le_bytes());
    p.extend(body);
    let a = run(&p);
    assert_eq!(a.error, None);
    assert_eq!(a.persistent_ids.len(), 2);
    assert_eq!(a.render(a.persistent_ids[0].0), "'key1'");
    assert_eq!(a.persistent_ids[1].1.offset, 20);
    assert_eq!(
        a.render(a.pickles[0].result.unwrap()),
        "(persistent_load('key1'), persistent_load(7), find_class(*copyreg._inverted_registry[1]), \
         find_class(*copyreg._inverted_registry[258]), find_class(*copyreg._inverted_registry[2147483647]), \
         next_buffer(), next_buffer().toreadonly())"
    );
    assert_eq!(a.pickles[0].min_protocol, 5);
    // A frame longer than the data: the C unpickler refuses it, pickle._Unpickler runs the
    // shorter frame (both views are read on; the overrun is recorded). EXT code 0.
    let a = run(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00cos\nsystem\n.");
    assert_eq!(a.error, None);
    assert_eq!(a.frame_overrun, Some(2));
    assert_eq!(a.imports.len(), 1);
    assert_eq!(
        error_kind(&run(b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x80N.")),
        Some(ErrorKind::Truncated),
        "above sys.maxsize both refuse it"
    );
    assert!(matches!(
        error_kind(&run(b"\x82\x00.")),
        Some(ErrorKind::BadOperand(_))
    ));
    assert!(matches!(
        error_kind(&run(b"P\xe9\n.")),
        Some(ErrorKind::BadOperand(_))
    ));
}

// ----- hostile shapes ------------------------------------------------------------------------

#[test]
fn huge_declared_lengths_do_not_allocate() {
    let big = u64::MAX / 2 + 1; // 2^63
    for op in [0x8eu8, 0x8d, 0x96] {
        let mut p = vec![op];
        p.extend(big.to_le_bytes());
        p.extend(b"xx.");
        assert_eq!(
            error_kind(&run(&p)),
            Some(ErrorKind::Truncated),
            "opcode {op:#x}"
        );
    }
    assert_eq!(
        error_kind(&run(b"X\xff\xff\xff\xffab.")),
        Some(ErrorKind::Truncated)
    );
    assert_eq!(
        error_kind(&run(b"\x8b\xff\xff\xff\x7f\x01.")),
        Some(ErrorKind::Truncated)
    );
    assert_eq!(
        error_kind(&run(b"\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\xffN.")),
        Some(ErrorKind::Truncated)
    );
}

#[test]
fn huge_long4_is_summarised() {
    let mut p = b"\x8b".to_vec();
    p.extend(5000u32.to_le_bytes());
    p.extend(vec![0u8; 4999]);
    p.push(0x40);
    p.push(b'.');
    let a = run(&p);
    assert_eq!(a.error, None);
    let Some(Value::BigInt(s)) = a.value(a.pickles[0].result.unwrap()) else {
        panic!()
    };
    assert!(
        s.starts_with("0x40000000") && s.ends_with("…(5000 bytes)"),
        "{s}"
    );
    // Above max_string_bytes the payload is skipped without being looked at.
    let a = run_with(&p, |l| l.max_string_bytes = 100);
    assert_eq!(a.error, None);
    assert_eq!(result(&a, 0), &Value::BigInt("0x…(5000 bytes)".into()));
}

#[test]
fn self_containing_list_and_memo_laughs_stay_bounded() {
    // L = []; L.append(L)
    let a = run(b"]2a.");
    assert_eq!(a.error, None);
    let r = a.render(a.pickles[0].result.unwrap());
    assert!(
        r.starts_with("[[[[") && r.contains('…') && r.chars().count() <= 2000,
        "{r}"
    );

    // Billion laughs: each level is a list of 10 references to the previous level.
    let mut p = b"]q\x00K\x01a".to_vec();
    for level in 1u8..=30 {
        p.extend(b"](");
        for _ in 0..10 {
            p.extend([b'h', level - 1]);
        }
        p.extend([b'e', b'q', level]);
    }
    p.push(b'.');
    let a = run(&p);
    assert_eq!(a.error, None);
    assert!(a.values.len() < 100);
    let r = a.render(a.pickles[0].result.unwrap());
    assert_eq!(r.chars().count(), 2000);
    assert!(r.ends_with('…'));
}

#[test]
fn memoised_tuple_cannot_multiply_call_arguments() {
    // A 1000-item tuple passed to 5000 REDUCEs: copies are charged to max_values.
    let mut p = b"(".to_vec();
    for _ in 0..1000 {
        p.extend(b"N");
    }
    p.extend(b"tq\x000");
    for _ in 0..5000 {
        p.extend(b"cos\nsystem\nh\x00R0");
    }
    p.extend(b"N.");
    let a = run_with(&p, |l| l.max_values = 1_000_000);
    assert_eq!(error_kind(&a), Some(ErrorKind::Limit("max_values")));
    assert!(a.calls.len() < 1000);
}

// ----- limits --------------------------------------------------------------------------------

#[test]
fn every_limit_can_be_crossed() {
    let lim = |a: &Analysis| error_kind(a);
    assert_eq!(
        lim(&run_with(b"NNN.", |l| l.max_opcodes = 3)),
        Some(ErrorKind::Limit("max_opcodes"))
    );
    assert_eq!(run_with(b"NNN.", |l| l.max_opcodes = 4).error, None);
    assert_eq!(
        lim(&run_with(b"NNN.", |l| l.max_stack = 2)),
        Some(ErrorKind::Limit("max_stack"))
    );
    assert_eq!(
        lim(&run_with(b"((N.", |l| l.max_marks = 1)),
        Some(ErrorKind::Limit("max_marks"))
    );
    assert_eq!(
        lim(&run_with(b"\x80\x04N\x94\x94K\x01\x94.", |l| l.max_memo = 1)),
        Some(ErrorKind::Limit("max_memo"))
    );
    // Re-PUT of the same key is no new entry; a PUT index past the limit is refused.
    assert_eq!(run_with(b"Nq\x00q\x00.", |l| l.max_memo = 1).error, None);
    assert_eq!(
        lim(&run_with(b"Nr\xff\xff\xff\xff.", |l| l.max_memo = 10)),
        Some(ErrorKind::Limit("max_memo"))
    );
    assert_eq!(
        lim(&run_with(b"Np99999999999999999999999\n.", |l| l.max_memo = 10)),
        Some(ErrorKind::Limit("max_memo"))
    );
    assert_eq!(
        lim(&run_with(b"K\x01K\x02K\x03.", |l| l.max_values = 2)),
        Some(ErrorKind::Limit("max_values"))
    );

    let a = run_with(b"X\x0a\x00\x00\x00abcdefghijC\x03xyz.", |l| {
        l.max_string_bytes = 4
    });
    assert_eq!(a.error, None);
    assert_eq!(
        a.values[0],
        Value::Str {
            value: "abcd".into(),
            truncated: true
        }
    );
    assert_eq!(
        a.values[1],
        Value::Bytes {
            value: b"xyz".to_vec(),
            truncated: false
        }
    );
    assert_eq!(a.render(0), "'abcd'…");
    // Truncation respects UTF-8 boundaries; long GLOBAL names are refused.
    let a = run_with("X\x04\x00\x00\x00aéb.".as_bytes(), |l| {
        l.max_string_bytes = 2
    });
    assert_eq!(
        a.values[0],
        Value::Str {
            value: "a".into(),
            truncated: true
        }
    );
    assert_eq!(
        lim(&run_with(b"cabcdef\nx\n.", |l| l.max_string_bytes = 4)),
        Some(ErrorKind::Limit("max_string_bytes"))
    );

    assert_eq!(
        lim(&run_with(b"C\x03abcC\x03abc.", |l| l
            .max_total_string_bytes =
            5)),
        Some(ErrorKind::Limit("max_total_string_bytes"))
    );

    let a = run_with(b"N.N.N.", |l| l.max_pickles = 2);
    assert_eq!(lim(&a), Some(ErrorKind::Limit("max_pickles")));
    assert_eq!(a.pickles.len(), 2);
    let a = run_with(b"N.N.\x00", |l| l.max_pickles = 2);
    assert_eq!((a.error.clone(), a.trailing_bytes), (None, 1));

    // max_depth: deeper nesting renders as `…`.
    let a = run_with(b"K\x01\x85\x85\x85\x85\x85.", |l| l.max_depth = 3);
    assert_eq!(a.render(a.pickles[0].result.unwrap()), "((((…,),),),)");
    let a = run(b"K\x01\x85\x85\x85\x85\x85.");
    assert_eq!(a.render(a.pickles[0].result.unwrap()), "(((((1,),),),),)");

    // max_render_chars.
    let a = run_with(b"(K\x01K\x02K\x03K\x04K\x05K\x06l.", |l| {
        l.max_render_chars = 10
    });
    let r = a.render(a.pickles[0].result.unwrap());
    assert_eq!(r, "[1, 2, 3,…");
    assert_eq!(r.chars().count(), 10);
    let a = run_with(b"(K\x01K\x02K\x03l.", |l| l.max_render_chars = 9);
    assert_eq!(a.render(a.pickles[0].result.unwrap()), "[1, 2, 3]");
    let a = run_with(b"(K\x01K\x02K\x03l.", |l| l.max_render_chars = 8);
    assert_eq!(a.render(a.pickles[0].result.unwrap()), "[1, 2, …");
}

// ----- real-world layouts --------------------------------------------------------------------

#[test]
fn torch_state_dict_renders() {
    let a = run(include_bytes!("data/state_dict.pkl"));
    assert_eq!(a.error, None);
    let weight = a
        .calls
        .iter()
        .find(|c| a.render(c.func) == "torch._utils._rebuild_tensor_v2")
        .unwrap();
    assert_eq!(
        a.render(weight.result),
        "torch._utils._rebuild_tensor_v2(persistent_load(('storage', torch.FloatStorage, '0', 'cpu', 4)), 0, (2, 2), (2, 1), False, collections.OrderedDict())"
    );
    assert_eq!(a.persistent_ids.len(), 2);
    assert_eq!(
        a.render(a.pickles[0].result.unwrap()),
        "collections.OrderedDict()"
    );
    let setitems = a
        .calls
        .iter()
        .position(|c| c.kind == CallKind::SetItem)
        .unwrap();
    let r = a.render_call(setitems);
    assert!(
        r.starts_with(
            "collections.OrderedDict().update({'weight': torch._utils._rebuild_tensor_v2("
        ),
        "{r}"
    );
    assert!(r.contains("'bias': torch._utils._rebuild_tensor_v2(persistent_load(('storage', torch.FloatStorage, '1', 'cpu', 2)), 0, (2,), (1,), False"), "{r}");
    let mods: Vec<_> = imports(&a);
    assert_eq!(
        mods,
        [
            ("collections".into(), "OrderedDict".into()),
            ("torch._utils".into(), "_rebuild_tensor_v2".into()),
            ("torch".into(), "FloatStorage".into()),
        ]
    );
}

#[test]
fn joblib_inline_arrays() {
    let data = include_bytes!("data/joblib_mixed.joblib");
    let opts = Options {
        max_pickles: None,
        joblib: true,
    };
    let a = analyze_with(data, &Limits::default(), &opts);
    assert_eq!(a.error, None);
    assert_eq!(a.trailing_bytes, 0);
    // The outer pickle and the nested object-array pickle.
    assert_eq!(a.pickles.len(), 2);
    assert_eq!(a.pickles[1].protocol, Some(5));
    assert!(a.pickles[0].start < a.pickles[1].start && a.pickles[1].end < a.pickles[0].end);
    // The payload inside the object array is found, in the nested pickle.
    let sys = a
        .imports
        .iter()
        .find(|i| i.name.as_deref() == Some("system"))
        .unwrap();
    assert_eq!(sys.at.pickle, 1);
    assert!(call_renders(&a).contains(&"posix.system('echo hi')".to_string()));
    let Value::Dict(items) = result(&a, 0) else {
        panic!("not a dict")
    };
    assert_eq!(items.len(), 4);
    // The object array replaced its wrapper on the stack.
    let o = items
        .iter()
        .find(|(k, _)| a.str_value(*k) == Some("o"))
        .unwrap()
        .1;
    assert!(
        a.render(o)
            .starts_with("numpy._core.multiarray._reconstruct("),
        "{}",
        a.render(o)
    );

    // Read as a plain pickle, the inline bytes are garbage right after the first BUILD.
    let a = analyze(data, &Limits::default());
    assert!(a.error.is_some());
    assert_eq!(a.pickles.len(), 1);

    // Cut inside array data: Truncated.
    let a = analyze_with(&data[..400], &Limits::default(), &opts);
    assert!(a.error.is_some());
}

#[test]
fn joblib_sizes_are_checked() {
    // Hand-built wrapper: shape (2**40, 2**40) of float64 cannot be in the data.
    let wrapper_p = |proto: u8, shape: &[u8], dtype: &[u8], tail: &[u8]| {
        let mut p = vec![0x80, proto];
        p.extend(b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(\x8c\x05shape");
        p.extend(shape);
        p.extend(b"\x8c\x05dtypecnumpy\ndtype\n");
        p.extend(dtype);
        p.extend(b"\x89\x88\x87R(K\x03\x8c\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb");
        p.extend(b"\x8c\x1bnumpy_array_alignment_bytesK\x10ub");
        p.extend(tail);
        p
    };
    let wrapper = |shape: &[u8], dtype: &[u8], tail: &[u8]| wrapper_p(4, shape, dtype, tail);
    let opts = Options {
        max_pickles: None,
        joblib: true,
    };
    let run_j = |p: &[u8]| analyze_with(p, &Limits::default(), &opts);
    let huge = wrapper(
        b"\x8a\x06\x00\x00\x00\x00\x00\x01\x8a\x06\x00\x00\x00\x00\x00\x01\x86",
        b"\x8c\x02f8",
        b".",
    );
    assert_eq!(error_kind(&run_j(&huge)), Some(ErrorKind::Truncated));
    // shape (3,) of i2 with 2 padding bytes: pad length byte, padding, 6 data bytes, STOP.
    let ok = wrapper(
        b"K\x03\x85",
        b"\x8c\x02i2",
        b"\x02\xff\xff\x00\x01\x02\x03\x04\x05.",
    );
    let a = run_j(&ok);
    assert_eq!(a.error, None);
    assert_eq!(a.pickles[0].end as usize, ok.len());
    // One data byte missing.
    let short = wrapper(
        b"K\x03\x85",
        b"\x8c\x02i2",
        b"\x02\xff\xff\x00\x01\x02\x03\x04",
    );
    assert_eq!(error_kind(&run_j(&short)), Some(ErrorKind::Truncated));
    // Object dtype: a nested pickle follows, whose names joblib maps by the *outer* protocol.
    let nested = b"\x80\x05c__builtin__\neval\n..";
    let a = run_j(&wrapper_p(2, b"K\x02\x85", b"\x8c\x02O8", nested));
    assert_eq!(a.error, None);
    assert_eq!(a.pickles.len(), 2);
    assert_eq!(
        imports(&a).last().unwrap(),
        &("builtins".into(), "eval".into())
    );
    assert_eq!(a.imports.last().unwrap().at.pickle, 1);
    let a = run_j(&wrapper_p(4, b"K\x02\x85", b"\x8c\x02O8", nested));
    assert_eq!(
        imports(&a).last().unwrap(),
        &("__builtin__".into(), "eval".into())
    );
    // The nested pickle's result replaces the wrapper on the stack; the outer STOP returns it.
    assert_eq!(a.pickles[0].result, a.pickles[1].result);
    // A broken nested pickle is an error of the whole stream.
    let a = run_j(&wrapper_p(
        4,
        b"K\x02\x85",
        b"\x8c\x02O8",
        b"\x80\x05cos\nsystem\n",
    ));
    assert_eq!(error_kind(&a), Some(ErrorKind::Truncated));
    assert_eq!(a.imports.last().unwrap().name.as_deref(), Some("system"));
    // Unknown dtype: cannot know how much to skip.
    let odd = wrapper(b"K\x03\x85", b"\x8c\x02zz", b".");
    assert!(matches!(
        error_kind(&run_j(&odd)),
        Some(ErrorKind::BadOperand(_))
    ));
}

#[test]
fn large_stream_is_linear() {
    // ~1M opcodes: a list of 330k ints appended in batches.
    let mut p = b"\x80\x04]".to_vec();
    for _ in 0..1100 {
        p.push(b'(');
        for i in 0..300u32 {
            p.extend([b'K', (i % 256) as u8]);
        }
        p.push(b'e');
    }
    p.push(b'.');
    let start = std::time::Instant::now();
    let a = run(&p);
    assert_eq!(a.error, None);
    assert!(a.pickles[0].opcodes > 330_000);
    // Generous even for an unoptimised build.
    assert!(start.elapsed().as_secs() < 20);
}

#[test]
fn analysis_serialises_to_json() {
    let a = run(include_bytes!("data/mixed_p5.pkl"));
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["values"][0]["kind"], "dict");
    assert_eq!(
        json["values"][1],
        serde_json::json!({"kind": "str", "value": {"value": "ints", "truncated": false}})
    );
    assert_eq!(json["values"][2]["kind"], "list");
    assert_eq!(json["pickles"][0]["protocol"], 5);
    assert!(json.get("render_limits").is_none());
    let a = run(b"cos\nsystem\n(S'echo hi'\ntR.");
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["imports"][0]["kind"], "GLOBAL");
    assert_eq!(json["calls"][0]["kind"], "REDUCE");
    assert_eq!(
        json["values"][3],
        serde_json::json!({"kind": "call", "value": 0})
    );
    let a = run(b"\x00");
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(
        json["error"],
        serde_json::json!({"kind": {"type": "unknown_opcode", "detail": 0}, "offset": 0})
    );
}
