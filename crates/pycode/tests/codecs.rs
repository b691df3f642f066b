//! Differential test: modelguard's Python codecs against CPython 3.11.
//!
//! The corpus (`tests/data/codecs/corpus.json.gz`) was made by running CPython's own codecs
//! (`tests/data/codecs/gen_codec_corpus.py`); every record must give exactly Python's value or
//! exception class here. Answers modelguard marks unanalysable are counted, not compared: they
//! are never a value, so they cannot be a wrong one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::io::Read;

use modelguard_pycode::Limits;
use modelguard_pycode::decode::{
    CodecError, PyStr, PyValue, bytes_decode, codecs_decode, codecs_encode, function_decode,
    lookup, str_encode,
};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A `str` from the hex of its `surrogatepass` UTF-8 bytes.
fn pystr(h: &str) -> PyStr {
    let bytes = unhex(h);
    let mut cps = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = u32::from(bytes[i]);
        let (cp, n) = if c < 0x80 {
            (c, 1)
        } else if c < 0xE0 {
            (((c & 0x1F) << 6) | (u32::from(bytes[i + 1]) & 0x3F), 2)
        } else if c < 0xF0 {
            (
                ((c & 0x0F) << 12)
                    | ((u32::from(bytes[i + 1]) & 0x3F) << 6)
                    | (u32::from(bytes[i + 2]) & 0x3F),
                3,
            )
        } else {
            (
                ((c & 0x07) << 18)
                    | ((u32::from(bytes[i + 1]) & 0x3F) << 12)
                    | ((u32::from(bytes[i + 2]) & 0x3F) << 6)
                    | (u32::from(bytes[i + 3]) & 0x3F),
                4,
            )
        };
        cps.push(cp);
        i += n;
    }
    PyStr::from_code_points(&cps).unwrap()
}

fn render(r: Result<PyValue, CodecError>) -> (String, String) {
    match r {
        Ok(PyValue::Bytes(b)) => ("b".into(), hex(&b)),
        Ok(PyValue::Str(s)) => ("s".into(), hex(s.as_bytes())),
        Err(CodecError::Raises { exception, .. }) => ("x".into(), exception.to_string()),
        Err(e) => ("?".into(), e.to_string()),
    }
}

#[derive(Default, Debug)]
struct Stats {
    total: usize,
    exact: usize,
    unanalysable: usize,
    mismatched: usize,
}

#[test]
fn codecs_match_cpython() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/codecs/corpus.json.gz"
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let records: Vec<Vec<String>> = serde_json::from_str(&text).unwrap();
    let limits = Limits::default();
    let mut stats: BTreeMap<String, Stats> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for r in &records {
        let [op, codec, errors, ikind, ihex, rkind, rval] = &r[..] else {
            panic!("bad record {r:?}");
        };
        let family = match op.as_str() {
            "lookup" => "lookup".to_string(),
            "f" => format!("f:{codec}"),
            _ => match lookup(codec) {
                Ok(c) => format!("{op}:{}", c.module),
                Err(_) => format!("{op}:?"),
            },
        };
        let input = || match ikind.as_str() {
            "s" => PyValue::Str(pystr(ihex)),
            _ => PyValue::Bytes(unhex(ihex)),
        };
        let got = match op.as_str() {
            "lookup" => match lookup(codec) {
                Ok(c) => ("m".to_string(), c.module.to_string()),
                Err(e) => render(Err(e)),
            },
            "f" => render(
                function_decode(codec, &input(), &limits)
                    .expect("a decoding function")
                    .map(PyValue::Bytes),
            ),
            "d" => render(codecs_decode(&input(), codec, errors, &limits)),
            "e" => render(codecs_encode(&input(), codec, errors, &limits)),
            "bd" => render(bytes_decode(&unhex(ihex), codec, errors, &limits).map(PyValue::Str)),
            "se" => render(str_encode(&pystr(ihex), codec, errors, &limits).map(PyValue::Bytes)),
            other => panic!("unknown op {other}"),
        };
        let st = stats.entry(family).or_default();
        st.total += 1;
        if got.0 == "?" {
            st.unanalysable += 1;
            *reasons.entry(got.1.clone()).or_insert(0usize) += 1;
        } else if got.0 == *rkind && got.1 == *rval {
            st.exact += 1;
        } else {
            st.mismatched += 1;
            failures.push(format!(
                "{op} {codec:?} errors={errors} {ikind}:{ihex} -> python {rkind}:{rval}, modelguard {}:{}",
                got.0, got.1
            ));
        }
    }
    let (mut t, mut x, mut u) = (0, 0, 0);
    for (fam, s) in &stats {
        eprintln!(
            "{fam:28} total {:5} exact {:5} unanalysable {:4} mismatched {:4}",
            s.total, s.exact, s.unanalysable, s.mismatched
        );
        t += s.total;
        x += s.exact;
        u += s.unanalysable;
    }
    eprintln!(
        "ALL: {t} records, {x} exact, {u} unanalysable, {} mismatched",
        failures.len()
    );
    for (r, n) in &reasons {
        eprintln!("unanalysable {n:5}: {r}");
    }
    for f in failures.iter().take(60) {
        eprintln!("MISMATCH {f}");
    }
    assert!(failures.is_empty(), "{} mismatches", failures.len());
    assert!(records.len() > 20_000);
    // Unanalysable answers are for what cannot be reproduced (nameprep, zlib output, CJK…).
    assert!(u * 20 < t, "{u} of {t} unanalysable");
}
