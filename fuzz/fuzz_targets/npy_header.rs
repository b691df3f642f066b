//! Fuzz the `.npy` header reader (the `ast.literal_eval` subset and `descr_to_dtype`) on
//! arbitrary bytes. Properties: no panic, bounded work, and a header read as "not object"
//! stays so when it is read again (the parse is deterministic).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelguard::formats::npy;

fuzz_target!(|data: &[u8]| {
    let first = npy::parse(data);
    let _ = npy::data_offset(data);
    assert_eq!(first, npy::parse(data));
});
