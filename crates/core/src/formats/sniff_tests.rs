//! Sniffing through the registry against the hand-written `sniff` it replaced: the same kind,
//! under the same precedence, for every fixture and for heads built to make magics collide.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;

/// The `sniff` before its tests moved into the registry, verbatim but for returning the old
/// enum's variant names (which `Kind`'s `Debug` keeps: report text uses them).
fn legacy_sniff(head: &[u8]) -> &'static str {
    if head.is_empty() {
        return "Empty";
    }
    if zip::sniff(head) {
        return "Zip";
    }
    if head.starts_with(TORCH_LEGACY_MAGIC) {
        return "TorchLegacy";
    }
    if head.starts_with(ZF_PREFIX) {
        return "JoblibZf";
    }
    if head.starts_with(b"\x93NUMPY") {
        return "Npy";
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return "Gzip";
    }
    if head.starts_with(b"BZh") {
        return "Bzip2";
    }
    if head.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0]) {
        return "Xz";
    }
    if head.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        return "Zstd";
    }
    if head.starts_with(&[b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C]) {
        return "SevenZip";
    }
    if head.starts_with(b"GGUF") {
        return "Gguf";
    }
    if head.starts_with(b"\x89HDF\r\n\x1a\n") {
        return "Hdf5";
    }
    if head.get(4..8) == Some(b"TFL3") {
        return "Tflite";
    }
    if head.starts_with(&[0x04, 0x22, 0x4D, 0x18]) {
        return "Lz4";
    }
    if head.get(257..262) == Some(b"ustar") {
        return "Tar";
    }
    if let [0x80, p, ..] = head
        && (2..=5).contains(p)
    {
        return "PickleProto";
    }
    if let Some(len) = head.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
        let n = u64::from_le_bytes(len);
        if n > 1 && n < 100 << 20 && head.get(8) == Some(&b'{') {
            return "Safetensors";
        }
    }
    if head.starts_with(&[0x5D, 0x00, 0x00]) {
        return "LzmaAlone";
    }
    if let [cmf, flg, ..] = head
        && cmf & 0x0F == 8
        && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0
        && *cmf >> 4 <= 7
    {
        return "Zlib";
    }
    if opens_pickle(head) {
        return "MaybePickle";
    }
    "Data"
}

/// The kinds [`legacy_sniff`] can return. A format added since sniffs as a kind of its own and
/// is left out of the comparison (its precedence is pinned by its fixture's golden report).
const LEGACY_KINDS: &[&str] = &[
    "Empty",
    "Zip",
    "TorchLegacy",
    "JoblibZf",
    "Npy",
    "Gzip",
    "Bzip2",
    "Xz",
    "Zstd",
    "SevenZip",
    "Gguf",
    "Hdf5",
    "Tflite",
    "Lz4",
    "Tar",
    "PickleProto",
    "Safetensors",
    "LzmaAlone",
    "Zlib",
    "MaybePickle",
    "Data",
];

/// `sniff(head)` as `legacy_sniff` names it, and whether that kind existed before.
fn same_as_legacy(head: &[u8]) -> Result<(), (String, &'static str)> {
    let now = format!("{:?}", sniff(head));
    let was = legacy_sniff(head);
    if now == was || !LEGACY_KINDS.contains(&now.as_str()) {
        Ok(())
    } else {
        Err((now, was))
    }
}

/// The first 512 bytes of every file under `tests/fixtures`, with its path.
fn fixture_heads() -> Vec<(String, Vec<u8>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let mut dirs = vec![root];
    let mut out = Vec::new();
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(data) = std::fs::read(&path) {
                let head = data.get(..512).unwrap_or(&data).to_vec();
                out.push((path.display().to_string(), head));
            }
        }
    }
    out.sort();
    out
}

/// One head per magic (placed where its test looks), and the pieces that make the weak
/// tests fire.
fn samples() -> Vec<Vec<u8>> {
    let mut tar = vec![b'a'; 300];
    tar[257..262].copy_from_slice(b"ustar");
    let mut tflite = vec![0x18, 0, 0, 0];
    tflite.extend_from_slice(b"TFL3");
    let mut safetensors = 64u64.to_le_bytes().to_vec();
    safetensors.extend_from_slice(b"{\"a\":1}");
    vec![
        b"PK\x03\x04".to_vec(),
        b"PK\x05\x06".to_vec(),
        TORCH_LEGACY_MAGIC.to_vec(),
        b"ZF0x1f               x\x9c".to_vec(),
        b"\x93NUMPY\x01\x00".to_vec(),
        vec![0x1f, 0x8b, 8],
        b"BZh91AY".to_vec(),
        vec![0xFD, b'7', b'z', b'X', b'Z', 0],
        vec![0x28, 0xB5, 0x2F, 0xFD],
        vec![b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C],
        b"GGUF\x03\0\0\0".to_vec(),
        HDF5_SIGNATURE.to_vec(),
        tflite,
        vec![0x04, 0x22, 0x4D, 0x18],
        tar,
        b"\x80\x04\x95".to_vec(),
        b"\x80\x02}q".to_vec(),
        safetensors,
        vec![0x5D, 0, 0, 0x80, 0],
        vec![0x78, 0x9c, 1, 2],
        b"(S'echo'\n".to_vec(),
        b"cos\nsystem\n".to_vec(),
        b"\x80\x01cos\n".to_vec(),
        b"hello world".to_vec(),
    ]
}

/// `a` with `b` written over it (the longer length): two formats' magics in one head.
fn overlay(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = a.to_vec();
    if out.len() < b.len() {
        out.resize(b.len(), 0);
    }
    for (i, &x) in b.iter().enumerate() {
        // Only the bytes a magic looks at: `b`'s filler (zeros, `a`) leaves `a` alone.
        if x != 0 && x != b'a' {
            out[i] = x;
        }
    }
    out
}

#[test]
fn sniff_is_unchanged_on_every_fixture() {
    let heads = fixture_heads();
    assert!(heads.len() > 200, "fixture corpus not found");
    for (path, head) in &heads {
        assert_eq!(same_as_legacy(head), Ok(()), "{path}");
    }
}

/// Precedence: every pair of magics in one head, every prefix of each, and pseudo-random
/// heads drawn from magic bytes and opcodes, sniff as before.
#[test]
fn sniff_precedence_is_unchanged() {
    let samples = samples();
    let mut heads: Vec<Vec<u8>> = Vec::new();
    for a in &samples {
        for n in 0..=a.len() {
            heads.push(a[..n].to_vec());
        }
        for b in &samples {
            heads.push(overlay(a, b));
        }
    }
    // xorshift: reproducible without a dependency.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let pool: Vec<u8> = samples.concat();
    for _ in 0..20_000 {
        let len = (next() % 300) as usize;
        let head: Vec<u8> = (0..len)
            .map(|_| {
                let r = next();
                if r % 2 == 0 {
                    pool[(r >> 8) as usize % pool.len()]
                } else {
                    (r >> 16) as u8
                }
            })
            .collect();
        heads.push(head);
    }
    for h in &heads {
        assert_eq!(same_as_legacy(h), Ok(()), "{h:?}");
    }
}

/// Every registry magic wins on some fixture (no other magic shadows it, and each has a
/// fixture), ranks are unique, and each names its own entry's format.
#[test]
fn every_magic_is_reachable() {
    let kinds: Vec<Kind> = fixture_heads().iter().map(|(_, h)| sniff(h)).collect();
    let mut ranks: Vec<u16> = magics().iter().map(|m| m.rank).collect();
    ranks.dedup();
    assert_eq!(ranks.len(), magics().len(), "two magics share a rank");
    for f in FORMATS {
        for m in f.magic {
            assert!(
                m.id == f.id || f.reported_as.contains(&m.id),
                "{} magic names {}",
                f.name,
                m.id
            );
            assert!(
                kinds.contains(&m.kind()),
                "no fixture sniffs as {:?} ({} magic, rank {})",
                m.kind(),
                m.label,
                m.rank
            );
        }
    }
    for s in samples() {
        let k = sniff(&s);
        if let Kind::Is(id) | Kind::Maybe(id) = k {
            assert!(magics().iter().any(|m| m.kind() == k && m.id == id));
        }
    }
}
