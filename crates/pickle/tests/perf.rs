//! Throughput check, ignored by default (meaningful only in release):
//! `cargo test -p modelguard-pickle --release --test perf -- --ignored --nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Instant;

use modelguard_pickle::{Limits, analyze};

/// About 10 MB and 1.4M opcodes: 200k memoised `(str, int, float)` tuples in a list, plus
/// 200 REDUCE calls.
fn big_pickle() -> Vec<u8> {
    let mut p = b"\x80\x04]\x94".to_vec();
    for batch in 0..200u32 {
        p.extend(b"cbuiltins\nprint\n\x8c\x02hi\x85R0(");
        for i in 0..1000u32 {
            let s = format!("key_{batch:05}_{i:05}_padding_padding");
            p.push(0x8c);
            p.push(s.len() as u8);
            p.extend(s.as_bytes());
            p.push(0x94);
            p.push(b'J');
            p.extend((batch * 1000 + i).to_le_bytes());
            p.push(b'G');
            p.extend(f64::from(i).to_be_bytes());
            p.extend(b"\x87\x94");
        }
        p.push(b'e');
    }
    p.push(b'.');
    p
}

#[test]
#[ignore = "timing; run in release"]
fn ten_megabytes_a_million_opcodes() {
    let data = big_pickle();
    let start = Instant::now();
    let a = analyze(&data, &Limits::default());
    let took = start.elapsed();
    assert_eq!(a.error, None);
    eprintln!(
        "{} bytes, {} opcodes, {} values, {} calls in {:?}",
        data.len(),
        a.pickles[0].opcodes,
        a.values.len(),
        a.calls.len(),
        took
    );
    assert!(took.as_millis() < 1000, "took {took:?}");
}
