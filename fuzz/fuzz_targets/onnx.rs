//! Fuzz the ONNX ModelProto decoding and graph walk on arbitrary bytes. Property: no panic, no
//! unbounded work.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelguard::formats::FormatCtx;
use modelguard::source::Bytes;

fuzz_target!(|data: &[u8]| {
    let limits = modelguard::Limits::default();
    let ctx = FormatCtx {
        limits: &limits,
        name: "model.onnx",
    };
    let _ = modelguard::formats::onnx::analyze(&Bytes(data), &ctx);
});
