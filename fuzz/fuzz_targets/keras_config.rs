//! Fuzz Keras JSON configs (Lambda bytecode, function references) and the keras_metadata.pb reader on arbitrary bytes. Property: no panic, no hang (limits small).
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
    let o = modelguard::formats::keras::analyze_config_json(data, &ctx);
    let _ = o.findings.len();
    // keras_metadata.pb dispatch (no HDF5 magic): the protobuf reader.
    let o = modelguard::formats::keras::analyze(&Bytes(data), &ctx);
    assert!(o.format == "keras-metadata" || o.format == "hdf5" || o.format == "keras-h5");
});
