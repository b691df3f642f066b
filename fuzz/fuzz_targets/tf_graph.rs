//! Fuzz the TensorFlow SavedModel/GraphDef decoding and op analysis on arbitrary bytes. Property:
//! no panic, no unbounded work.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelguard::formats::FormatCtx;
use modelguard::source::Bytes;

fuzz_target!(|data: &[u8]| {
    let limits = modelguard::Limits::default();
    let ctx = FormatCtx {
        limits: &limits,
        name: "saved_model.pb",
    };
    let _ = modelguard::formats::tensorflow::analyze(&Bytes(data), &ctx);
    for name in ["frozen.pb", "graph.pbtxt", "fingerprint.pb"] {
        let ctx = FormatCtx {
            limits: &limits,
            name,
        };
        let _ = modelguard::formats::tensorflow::analyze(&Bytes(data), &ctx);
    }
});
