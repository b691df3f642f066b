//! Fuzz the zip reader (zipfile's and miniz's directory readings, carving, member decoding)
//! on arbitrary bytes. Property: no panic, bounded work.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelguard::formats::zip;

fuzz_target!(|data: &[u8]| {
    let limits = modelguard::Limits::default();
    let bytes = data.to_vec();
    if let Ok(view) = zip::read(&bytes, &limits) {
        for e in view.entries.iter().take(64) {
            let _ = modelguard::member::read_prefix(&bytes, e, 1 << 20, &limits);
        }
    }
});
