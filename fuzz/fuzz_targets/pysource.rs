//! Fuzz target for Python source analysis: `analyze_source` must never panic, overflow the
//! stack or run unbounded on any UTF-8 text, and its facts must be consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelguard_pycode::{CodeFacts, Limits, analyze_source};

fn check(f: &CodeFacts, limits: &Limits) {
    if f.inert {
        assert!(f.complete && f.hits.is_empty() && f.unknown_calls.is_empty() && f.payloads.is_empty());
    }
    if !f.complete {
        assert!(!f.errors.is_empty());
    }
    for h in &f.hits {
        assert!(h.evidence.chars().count() <= 201, "evidence too long");
        assert!(h.chain.len() <= limits.max_decode_layers + 1);
    }
    for p in &f.payloads {
        assert!(p.data.len() <= limits.max_decoded_bytes);
    }
    assert!(f.errors.len() <= 32 && f.payloads.len() <= 64 && f.hits.len() <= 1000);
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    // Small limits so that every limit is reachable by small inputs.
    let small = Limits {
        max_source_bytes: 16 << 10,
        max_ast_nodes: 5_000,
        max_depth: 40,
        max_decoded_bytes: 64 << 10,
        max_decode_layers: 4,
        max_marshal_objects: 2_000,
        max_marshal_depth: 20,
        max_fold_len: 4096,
    };
    check(&analyze_source(src, &small), &small);
    let defaults = Limits {
        max_ast_nodes: 50_000,
        max_decoded_bytes: 1 << 20,
        max_fold_len: 64 << 10,
        ..Limits::default()
    };
    check(&analyze_source(src, &defaults), &defaults);
});
