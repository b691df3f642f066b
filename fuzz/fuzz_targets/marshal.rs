//! Fuzz target for marshal decoding and bytecode analysis, plus the decoding layers and
//! payload sniffing: nothing may panic or run unbounded on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelguard_pycode::{Limits, analyze_marshal, decode, marshal};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_ast_nodes: 20_000,
        max_decoded_bytes: 256 << 10,
        max_marshal_objects: 20_000,
        max_marshal_depth: 64,
        max_fold_len: 16 << 10,
        ..Limits::default()
    };
    let f = analyze_marshal(data, None, &limits);
    if f.inert {
        assert!(f.complete && f.hits.is_empty() && f.unknown_calls.is_empty());
    }
    if !f.complete {
        assert!(!f.errors.is_empty());
    }
    if let Some((&first, rest)) = data.split_first() {
        // Every supported version explicitly, chosen by the first byte.
        let minor = 6 + (first % 9);
        let _ = analyze_marshal(rest, Some((3, minor)), &limits);
        if let Ok(obj) = marshal::loads(rest, Some((3, minor)), &limits) {
            for code in obj.codes() {
                assert!(code.localspluskinds.is_empty() || code.localspluskinds.len() == code.varnames.len());
            }
        }
    }
    for enc in decode::Encoding::ALL {
        if let Ok(out) = decode::decode(*enc, data, &limits) {
            assert!(out.len() <= limits.max_decoded_bytes);
        }
    }
    let _ = decode::sniff_payload(data);
});
