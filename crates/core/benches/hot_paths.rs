//! Hot paths of a many-small-files scan, on committed fixtures (`cargo bench -p modelguard`).
//! Whole-process comparisons with other scanners live in `bench/compare.py`.
#![allow(missing_docs, clippy::unwrap_used)]

use modelguard::source::Bytes;
use modelguard::{Limits, Scanner};

fn main() {
    divan::main();
}

/// Inputs by name (divan prints argument values: names keep its table readable).
fn input(name: &str) -> &'static [u8] {
    match name {
        "ordereddict" => {
            include_bytes!("../../../tests/fixtures/pickle/benign/ordereddict_p4.pkl")
        }
        "os_system" => include_bytes!("../../../tests/fixtures/pickle/malicious/os_system_p4.pkl"),
        "torch_zip" => include_bytes!("../../../tests/fixtures/pickle/benign/torch_state_dict.pt"),
        "joblib" => include_bytes!("../../../tests/fixtures/pickle/benign/joblib_logreg.joblib"),
        // Names a decoder and exec: the signature prefilter lets it through to the engine.
        "dirty" => b"cbuiltins\nexec\n(cbase64\nb64decode\n(S'aWQ='\ntRtR.",
        _ => b"",
    }
}

/// The symbolic VM alone.
#[divan::bench(args = ["ordereddict", "os_system"])]
fn pickle_vm(bencher: divan::Bencher, name: &str) {
    let limits = modelguard_pickle::Limits::default();
    let data = input(name);
    bencher.bench(|| modelguard_pickle::analyze(divan::black_box(data), &limits));
}

/// The whole per-file pipeline on bytes in memory: sniffing, signatures, VM, judge, policy.
#[divan::bench(args = ["ordereddict", "os_system", "torch_zip", "joblib"])]
fn scan_bytes(bencher: divan::Bencher, name: &str) {
    let scanner = Scanner::new(Limits::default(), Default::default());
    let data = input(name);
    bencher.bench(|| scanner.scan_bytes(name, divan::black_box(data)));
}

/// The bundled YARA rules over a small benign pickle (the literal prefilter's fast path) and
/// over one the prefilter lets through.
#[divan::bench(args = ["ordereddict", "dirty"])]
fn signatures(bencher: divan::Bencher, name: &str) {
    let sigs = modelguard::signatures::Signatures::bundled();
    let data = input(name);
    bencher.bench(|| {
        let mut out = Vec::new();
        sigs.scan(&Bytes(divan::black_box(data)), 1 << 20, None, &mut out)
            .unwrap();
        out
    });
}
