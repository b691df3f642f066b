//! Fuzz the safetensors header validation on arbitrary bytes. Property: no panic, no unbounded
//! work.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelguard::formats::FormatCtx;
use modelguard::source::Bytes;

fuzz_target!(|data: &[u8]| {
    let limits = modelguard::Limits::default();
    let ctx = FormatCtx {
        limits: &limits,
        name: "model.safetensors",
    };
    let _ = modelguard::formats::safetensors::analyze(&Bytes(data), &ctx);
});
