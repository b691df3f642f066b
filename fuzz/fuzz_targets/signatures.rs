//! Fuzz the bundled YARA rules (boreal) on arbitrary bytes, with a signature budget taken from
//! the first byte so the head/tail windowing is exercised. Property: no panic, no hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelguard::signatures::Signatures;
use modelguard::source::Bytes;

fuzz_target!(|data: &[u8]| {
    let budget = data.first().map_or(0, |b| u64::from(*b) * 64);
    let s = Signatures::bundled();
    let mut m = Vec::new();
    let _ = s.scan(&Bytes(data), budget, None, &mut m);
    for x in &m {
        assert!(x.offset.is_none_or(|o| o < data.len() as u64));
    }
    let _ = s.scan(&Bytes(data), 1 << 20, None, &mut Vec::new());
});
