//! Differential tests of the sniffing readers against the real loaders (issue 13), run by
//! the Python in `MODELGUARD_PYTHON` (default `python3`) when it has joblib and h5py;
//! skipped, saying so, otherwise:
//! - joblib `ZF` headers: 1,200 mutated length fields parsed by modelguard
//!   (`formats::zf_header`) and by `numpy_pickle_compat.read_zfile` on the same bytes;
//! - HDF5 user blocks: a real h5py file behind 0…8,192 junk bytes (1,100 offsets), opened by
//!   h5py and located by `formats::hdf5_superblock`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::Write;
use std::process::Command;

use modelguard::formats::{hdf5_superblock, zf_header};

fn python() -> Option<String> {
    let py = std::env::var("MODELGUARD_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import joblib, h5py, zlib"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

/// Deterministic xorshift.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &'a [&'a [u8]]) -> &'a [u8] {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

#[test]
fn zf_headers_agree_with_joblib_read_zfile() {
    let Some(py) = python() else {
        eprintln!("SKIPPED: no python with joblib/h5py (set MODELGUARD_PYTHON)");
        return;
    };
    let payload = b"\x80\x02}q\x00.";
    let z = {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(payload).unwrap();
        e.finish().unwrap()
    };
    // Pieces a length field is made of: what write_zfile writes and what int(_, 16) may or
    // may not accept.
    let parts: &[&[u8]] = &[
        b"0x", b"0X", b"7", b"a", b"F", b"_", b" ", b"\t", b"\n", b"+", b"-", b"g", b"0", b"x",
        b"\x0b", b"\x0c", b"\r", b"\x00", b"\xff", b"__", b"1_0",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut cases: Vec<Vec<u8>> = Vec::new();
    for i in 0..1200 {
        let mut field = Vec::new();
        if i % 3 == 0 {
            field.extend_from_slice(format!("0x{:x}", payload.len()).as_bytes());
        }
        while field.len() < 19 && !rng.next().is_multiple_of(4) {
            field.extend_from_slice(rng.pick(parts));
        }
        field.resize(19, b' ');
        field.truncate(19);
        let mut f = b"ZF".to_vec();
        f.extend_from_slice(&field);
        if rng.next().is_multiple_of(5) {
            f.push(b' '); // joblib <= 0.8.4's wider header
        }
        f.extend_from_slice(&z);
        cases.push(f);
    }
    let dir = tempfile::tempdir().unwrap();
    for (i, c) in cases.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i:05}")), c).unwrap();
    }
    // The real reader on each file: the declared length it parsed, or ERR when read_zfile
    // raises before decompressing (its length assert is left out: we read on, as -O does).
    let script = r#"
import io, os, sys, zlib
from joblib import numpy_pickle_compat as c
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    data = open(os.path.join(d, name), "rb").read()
    try:
        orig = zlib.decompress
        seen = {}
        def spy(buf, wbits, bufsize):
            seen["n"] = bufsize
            seen["off"] = len(data) - len(buf)
            return orig(buf, wbits, bufsize)
        c.zlib.decompress = spy
        try:
            c.read_zfile(io.BytesIO(data))
        except AssertionError:
            pass
        finally:
            c.zlib.decompress = orig
        print(name, seen["n"], seen["off"])
    except Exception as e:
        print(name, "ERR", "ERR")
"#;
    let out = Command::new(&py)
        .args(["-c", script])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut compared = 0;
    let mut accepted = 0;
    for line in text.lines() {
        let cols: Vec<&str> = line.split(' ').collect();
        let i: usize = cols[0].parse().unwrap();
        let theirs = if cols[1] == "ERR" {
            None
        } else {
            Some((
                cols[1].parse::<u64>().unwrap(),
                cols[2].parse::<u64>().unwrap(),
            ))
        };
        let ours = zf_header(&cases[i]).ok();
        assert_eq!(
            ours,
            theirs,
            "case {i}: {:?}",
            String::from_utf8_lossy(&cases[i][..cases[i].len().min(23)])
        );
        compared += 1;
        accepted += usize::from(theirs.is_some());
    }
    assert_eq!(compared, cases.len());
    assert!(
        accepted > 100 && accepted < compared,
        "mutations must hit both outcomes: {accepted}/{compared}"
    );
    eprintln!("ZF differential: {compared} headers, {accepted} accepted by read_zfile");
}

#[test]
fn hdf5_user_blocks_agree_with_h5py() {
    let Some(py) = python() else {
        eprintln!("SKIPPED: no python with joblib/h5py (set MODELGUARD_PYTHON)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.h5");
    let make = r#"
import sys, h5py
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["model_config"] = '{"class_name": "Sequential", "config": {"layers": []}}'
    f.create_dataset("w", data=[1.0, 2.0, 3.0])
"#;
    let out = Command::new(&py)
        .args(["-c", make])
        .arg(&base)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let h5 = std::fs::read(&base).unwrap();
    // Junk before the file: every size 0..=64, then steps through 8 KiB (powers of two
    // included, and their neighbours).
    let mut sizes: Vec<usize> = (0..=64).collect();
    sizes.extend((65..=8192).step_by(8));
    for p in [512usize, 1024, 2048, 4096, 8192] {
        sizes.extend([p - 1, p, p + 1]);
    }
    sizes.sort_unstable();
    sizes.dedup();
    let mut rng = Rng(7);
    for (i, n) in sizes.iter().enumerate() {
        let mut f: Vec<u8> = (0..*n).map(|_| (rng.next() & 0xff) as u8).collect();
        f.extend_from_slice(&h5);
        std::fs::write(dir.path().join(format!("{i:05}.h5")), f).unwrap();
    }
    std::fs::remove_file(&base).unwrap();
    let probe = r#"
import os, sys, h5py
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    try:
        with h5py.File(os.path.join(d, name), "r") as f:
            ok = "model_config" in f.attrs
        print(name, "open" if ok else "noattr")
    except Exception:
        print(name, "fail")
"#;
    let out = Command::new(&py)
        .args(["-c", probe])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut opened = 0;
    let mut compared = 0;
    for line in text.lines() {
        let (name, what) = line.split_once(' ').unwrap();
        let data = std::fs::read(dir.path().join(name)).unwrap();
        let at = hdf5_superblock(&data);
        let theirs = what == "open";
        assert_eq!(at.is_some(), theirs, "{name}: h5py {what}, ours {at:?}");
        if theirs {
            // And the scanner reads it as Keras HDF5 from there.
            let r = modelguard::Scanner::default().scan_bytes("m.h5", &data);
            assert_eq!(r.format, "keras-h5", "{name}: {:?}", r.errors);
            opened += 1;
        }
        compared += 1;
    }
    assert_eq!(compared, sizes.len());
    assert!(compared >= 1000 && opened >= 6, "{opened}/{compared}");
    eprintln!("HDF5 differential: {compared} files, {opened} opened by h5py");
}
