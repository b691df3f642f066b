//! Fuzz the streaming msgpack walker (Flax checkpoints) on arbitrary bytes. Property: no panic, no hang (limits small).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelguard::formats::FormatCtx;
use modelguard::source::Bytes;

fuzz_target!(|data: &[u8]| {
    let mut limits = modelguard::Limits::default();
    limits.max_config_bytes = 1 << 20;
    limits.max_hdf5_bytes = 1 << 20;
    let ctx = FormatCtx {
        limits: &limits,
        name: "fuzz",
    };
    let o = modelguard::formats::msgpack::analyze(&Bytes(data), &ctx);
    let nested: usize = o.nested.iter().map(|(_, d)| d.len()).sum();
    assert!(nested <= data.len());
});
