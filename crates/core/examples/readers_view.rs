//! Print modelguard's reading of `.npy` headers and zip archives, one JSON line per file,
//! for the differential tests against the real loaders
//! (`tests/fixtures/readers/gen_mutations.py`).
//!
//! Usage: `readers_view npy|zip FILE...`. For a zip, every member view is listed with the
//! SHA-256 of the bytes modelguard would analyse.

use std::io::Write;

use modelguard::formats::{npy, zip};
use modelguard::limits::Limits;
use modelguard::source::Bytes;
use serde_json::json;
use sha2::{Digest, Sha256};

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn npy_view(data: &[u8]) -> serde_json::Value {
    match npy::parse(data) {
        Ok(h) => json!({"object": h.object, "data_offset": h.data_offset, "descr": h.descr}),
        Err(e) => json!({"error": e}),
    }
}

fn zip_view(data: &[u8]) -> serde_json::Value {
    let limits = Limits::default();
    let src = Bytes(data);
    match zip::read(&src, &limits) {
        Ok(v) => {
            let entries: Vec<serde_json::Value> = v
                .entries
                .iter()
                .map(|e| {
                    let (sha, err) = match modelguard::member::read_prefix(
                        &src,
                        e,
                        limits.max_member_bytes,
                        &limits,
                    ) {
                        Ok((d, _)) => (Some(hex(&Sha256::digest(&d))), None),
                        Err(err) => (None, Some(err.to_string())),
                    };
                    json!({
                        "name": e.name,
                        "origin": format!("{:?}", e.origin),
                        "sha256": sha,
                        "error": err,
                        "encrypted": e.is_encrypted(),
                    })
                })
                .collect();
            let anomalies: Vec<String> = v.anomalies.iter().map(|a| format!("{a:?}")).collect();
            json!({"entries": entries, "anomalies": anomalies})
        }
        Err(e) => json!({"error": e.to_string()}),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_default();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for path in args {
        let v = match std::fs::read(&path) {
            Ok(data) if kind == "npy" => npy_view(&data),
            Ok(data) => zip_view(&data),
            Err(e) => json!({"error": e.to_string()}),
        };
        let _ = writeln!(out, "{}", json!({"path": path, "view": v}));
    }
}
