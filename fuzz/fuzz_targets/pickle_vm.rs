//! Fuzz target for the symbolic pickle VM: `analyze` must never panic, hang or allocate
//! without bound on any input, and what it reports must be internally consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelguard_pickle::{
    Analysis, Limits, Options, Value, ValueId, analyze, analyze_file_view, analyze_with,
};

/// Renders checked per input (each is bounded, but thousands of them would slow fuzzing).
const MAX_RENDERS: usize = 64;

fn check(data: &[u8], a: &Analysis, limits: &Limits) {
    let len = data.len() as u64;
    let n = a.values.len();
    let id_ok = |id: ValueId| (id as usize) < n;
    for i in &a.imports {
        assert!(i.at.offset < len);
        assert!(id_ok(i.value));
        assert!(matches!(
            a.value(i.value),
            Some(Value::Global { .. } | Value::DynamicGlobal { .. })
        ));
    }
    for (idx, c) in a.calls.iter().enumerate() {
        assert!(c.at.offset < len);
        assert!(id_ok(c.func) && id_ok(c.result));
        assert!(c.args.iter().all(|&x| id_ok(x)));
        assert!(c.kwargs.iter().all(|&(k, v)| id_ok(k) && id_ok(v)));
        assert_eq!(a.value(c.result), Some(&Value::Call(idx as u32)));
    }
    for b in &a.builds {
        assert!(b.at.offset < len);
        assert!(id_ok(b.target) && id_ok(b.state));
    }
    for (pid, at) in &a.persistent_ids {
        assert!(at.offset < len);
        assert!(id_ok(*pid));
    }
    for p in &a.pickles {
        assert!(p.start <= p.end && p.end <= len);
        assert!(p.min_protocol <= 5);
        assert!(p.result.is_none_or(id_ok));
    }
    assert!(a.trailing_bytes <= len);
    assert!(a.frame_overrun.is_none_or(|o| o < len));
    assert!(a.frame_straddle.is_none_or(|o| o < len));
    if let Some(e) = &a.error {
        assert!(e.offset <= len);
    }
    assert!(a.values.len() <= limits.max_values);

    let max = limits.max_render_chars;
    let bounded = |s: String| {
        assert!(
            s.chars().count() <= max,
            "render too long: {} > {max}",
            s.chars().count()
        );
    };
    for i in 0..a.calls.len().min(MAX_RENDERS) {
        bounded(a.render_call(i));
    }
    for i in 0..a.builds.len().min(MAX_RENDERS) {
        bounded(a.render_build(i));
    }
    for p in a.pickles.iter().take(MAX_RENDERS) {
        if let Some(r) = p.result {
            bounded(a.render(r));
        }
    }
    for id in 0..(n.min(MAX_RENDERS) as ValueId) {
        bounded(a.render(id));
        let _ = a.str_value(id);
    }
}

fuzz_target!(|data: &[u8]| {
    // Small limits so that every limit is reachable by small inputs.
    let small = Limits {
        max_opcodes: 20_000,
        max_stack: 500,
        max_marks: 50,
        max_memo: 200,
        max_values: 20_000,
        max_string_bytes: 64,
        max_total_string_bytes: 4096,
        max_pickles: 4,
        max_depth: 8,
        max_render_chars: 200,
    };
    let a = analyze(data, &small);
    check(data, &a, &small);
    let opts = Options {
        max_pickles: None,
        joblib: true,
    };
    let a = analyze_with(data, &small, &opts);
    check(data, &a, &small);
    // _pickle.c's view of frames read from a file (io.BytesIO): only differs after a read
    // crossing a frame end, and must be as consistent.
    let f = analyze_file_view(data, &small, &opts);
    check(data, &f, &small);
    if a.frame_straddle.is_none() {
        assert_eq!(f.imports.len(), a.imports.len());
    }

    // The legacy-torch reading: a few pickles, then raw bytes.
    let first = usize::from(data.first().copied().unwrap_or(0) % 6);
    let opts_n = Options {
        max_pickles: Some(first),
        joblib: false,
    };
    let a = analyze_with(data, &small, &opts_n);
    check(data, &a, &small);
    assert!(a.pickles.len() <= first);

    let defaults = Limits {
        max_opcodes: 200_000,
        ..Limits::default()
    };
    let a = analyze_with(data, &defaults, &opts);
    check(data, &a, &defaults);
});
