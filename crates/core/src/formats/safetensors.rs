//! safetensors: strict header validation.
//!
//! A safetensors file is an 8-byte little-endian header length, a JSON header and a data
//! area. The format carries no code; what can go wrong is a header that readers interpret
//! differently (duplicate keys: JSON parsers keep the first or the last), spans that overlap
//! or leave gaps (hidden bytes), sizes that overflow, or a file that is not what its name
//! says (sniffed by content before this module is reached). The checks mirror what the
//! reference implementation (`safetensors` crate, `validate`) enforces, so a file accepted
//! here loads there, and every difference is reported.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::{FormatCtx, Outcome, Problem};
use crate::source::{ReadAt, read_range};

/// Bits per element of each safetensors dtype.
pub fn dtype_bits(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        _ => return None,
    })
}

/// The header's top-level entries in file order, duplicates kept (serde_json's `Map` keeps
/// only the last of a repeated key).
struct Entries(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Entries, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = m.next_entry::<String, Value>()? {
                    v.push((k, val));
                }
                Ok(Entries(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// A tensor entry that passed the per-entry checks.
struct Span {
    name: String,
    begin: u64,
    end: u64,
}

/// Check the header; returns (violations, trailing bytes after the last span).
fn validate(entries: &[(String, Value)], data_size: u64) -> (Vec<String>, u64) {
    let mut bad = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut spans = Vec::new();
    for (name, v) in entries {
        if !seen.insert(name.as_str()) {
            bad.push(format!(
                "key {name:?} appears more than once (readers disagree on which copy counts)"
            ));
        }
        if name == "__metadata__" {
            match v.as_object() {
                Some(m) => {
                    if let Some((k, _)) = m.iter().find(|(_, x)| !x.is_string()) {
                        bad.push(format!("__metadata__ value of {k:?} is not a string"));
                    }
                }
                None => bad.push("__metadata__ is not an object".into()),
            }
            continue;
        }
        match tensor(name, v, data_size) {
            Ok(s) => spans.push(s),
            Err(e) => bad.push(format!("tensor {name:?}: {e}")),
        }
    }
    spans.sort_by_key(|s| (s.begin, s.end));
    let mut pos = 0u64;
    for s in &spans {
        if s.begin < pos {
            bad.push(format!(
                "tensor {:?} [{}, {}) overlaps the previous tensor (ends at {pos})",
                s.name, s.begin, s.end
            ));
        } else if s.begin > pos {
            bad.push(format!(
                "gap of {} bytes before tensor {:?} at {} (bytes no tensor accounts for)",
                s.begin - pos,
                s.name,
                s.begin
            ));
        }
        pos = pos.max(s.end);
    }
    (bad, data_size.saturating_sub(pos))
}

fn tensor(name: &str, v: &Value, data_size: u64) -> Result<Span, String> {
    let o = v.as_object().ok_or("entry is not an object")?;
    if let Some(k) = o
        .keys()
        .find(|k| !matches!(k.as_str(), "dtype" | "shape" | "data_offsets"))
    {
        return Err(format!("unknown field {k:?}"));
    }
    let dtype = o
        .get("dtype")
        .and_then(Value::as_str)
        .ok_or("dtype missing or not a string")?;
    let bits = dtype_bits(dtype).ok_or_else(|| format!("unknown dtype {dtype:?}"))?;
    let shape = o
        .get("shape")
        .and_then(Value::as_array)
        .ok_or("shape missing or not a list")?;
    let mut n: u64 = 1;
    for d in shape {
        let d = d
            .as_u64()
            .ok_or("shape has an entry that is not a non-negative integer")?;
        n = n.checked_mul(d).ok_or("element count overflows")?;
    }
    let offs = o
        .get("data_offsets")
        .and_then(Value::as_array)
        .ok_or("data_offsets missing or not a list")?;
    let (begin, end) = match offs.as_slice() {
        [b, e] => (
            b.as_u64()
                .ok_or("data_offsets begin is not a non-negative integer")?,
            e.as_u64()
                .ok_or("data_offsets end is not a non-negative integer")?,
        ),
        _ => return Err("data_offsets is not [begin, end]".into()),
    };
    if end < begin {
        return Err(format!("data_offsets [{begin}, {end}] end before begin"));
    }
    if end > data_size {
        return Err(format!(
            "data_offsets [{begin}, {end}] beyond the data area ({data_size} bytes)"
        ));
    }
    let total_bits = n.checked_mul(bits).ok_or("byte size overflows")?;
    if total_bits % 8 != 0 {
        return Err(format!("{n} elements of {dtype} do not fill whole bytes"));
    }
    if end - begin != total_bits / 8 {
        return Err(format!(
            "data_offsets span {} bytes, shape × dtype needs {}",
            end - begin,
            total_bits / 8
        ));
    }
    Ok(Span {
        name: name.to_string(),
        begin,
        end,
    })
}

fn fatal(out: &mut Outcome, message: String, offset: u64) {
    out.problems.push(Problem {
        fatal: true,
        message,
        offset: Some(offset),
    });
}

/// What a safetensors header says, for the rules (see [`crate::facts`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SafetensorsFacts {
    /// Every way the header breaks the format, in the order found (empty: conforms).
    pub violations: Vec<String>,
    /// The start of the header, when there are violations (evidence).
    pub header_excerpt: String,
    /// Bytes after the last tensor that belong to no tensor.
    pub trailing: u64,
    /// Where they start.
    pub trailing_offset: u64,
}

/// The registry's magic test: a little-endian u64 header length (above 1, below 100 MiB)
/// followed by the header's opening `{`.
pub fn sniff(head: &[u8]) -> bool {
    head.get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_le_bytes)
        .is_some_and(|n| n > 1 && n < 100 << 20 && head.get(8) == Some(&b'{'))
}

/// Analyse `src` as safetensors.
pub fn analyze(src: &dyn ReadAt, ctx: &FormatCtx<'_>) -> Outcome {
    let mut out = Outcome::new(super::FormatId::Safetensors);
    let size = src.size();
    let Some(n) = read_range(src, 0, 8)
        .ok()
        .and_then(|h| <[u8; 8]>::try_from(h.as_slice()).ok())
        .map(u64::from_le_bytes)
    else {
        fatal(&mut out, "safetensors: file shorter than 8 bytes".into(), 0);
        return out;
    };
    if n > ctx.limits.max_safetensors_header_bytes {
        out.problems.push(Problem {
            fatal: false,
            message: format!(
                "safetensors header of {n} bytes above max_safetensors_header_bytes ({})",
                ctx.limits.max_safetensors_header_bytes
            ),
            offset: Some(0),
        });
        return out;
    }
    if n > size.saturating_sub(8) {
        fatal(
            &mut out,
            format!("safetensors header length {n} beyond the end of the file ({size} bytes)"),
            0,
        );
        return out;
    }
    let header = match read_range(src, 8, n) {
        Ok(h) if h.len() as u64 == n => h,
        Ok(_) => {
            fatal(&mut out, "safetensors header truncated".into(), 8);
            return out;
        }
        Err(e) => {
            fatal(&mut out, format!("safetensors: {e}"), 8);
            return out;
        }
    };
    if header.first() != Some(&b'{') {
        fatal(
            &mut out,
            "safetensors header does not start with '{'".into(),
            8,
        );
        return out;
    }
    let entries = match serde_json::from_slice::<Entries>(&header) {
        Ok(e) => e.0,
        Err(e) => {
            fatal(
                &mut out,
                format!("safetensors header is not a JSON object: {e}"),
                8,
            );
            return out;
        }
    };
    let data_size = size - 8 - n;
    let (violations, trailing) = validate(&entries, data_size);
    let excerpt = if violations.is_empty() {
        String::new()
    } else {
        super::gguf::jinja::excerpt(&String::from_utf8_lossy(&header), 0, 200)
    };
    out.facts.push(
        SafetensorsFacts {
            violations,
            header_excerpt: excerpt,
            trailing,
            trailing_offset: size - trailing,
        }
        .into(),
    );
    out
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::policy::Policy;
    use crate::report::Severity;
    use crate::source::Bytes;

    fn file(header: &str, data: usize) -> Vec<u8> {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend(header.as_bytes());
        v.extend(vec![0u8; data]);
        v
    }

    fn run_with(data: &[u8], limits: &Limits) -> Outcome {
        let policy = Policy::default();
        let ctx = FormatCtx {
            limits,
            name: "m.safetensors",
        };
        // The reader gives facts; the rules' checks turn them into findings.
        let mut out = analyze(&Bytes(data), &ctx);
        for f in &out.facts {
            out.findings.extend(crate::rules::judge(f, &policy).0);
        }
        out
    }

    fn run(data: &[u8]) -> Outcome {
        run_with(data, &Limits::default())
    }

    fn medium(out: &Outcome) -> bool {
        out.findings
            .iter()
            .any(|f| f.rule == "MG-ST-HEADER" && f.severity == Severity::Medium)
    }

    #[test]
    fn valid_file_is_clean() {
        let h = r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]},"e":{"dtype":"F32","shape":[0],"data_offsets":[22,22]}}   "#;
        let out = run(&file(h, 22));
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        assert!(out.problems.is_empty());
    }

    #[test]
    fn violations_are_reported() {
        for (h, data) in [
            // size mismatch
            (
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
                4,
            ),
            // overlap
            (
                r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}"#,
                4,
            ),
            // gap
            (
                r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}"#,
                4,
            ),
            // beyond data
            (
                r#"{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}"#,
                4,
            ),
            // unknown dtype, negative dim, overflow
            (
                r#"{"a":{"dtype":"X9","shape":[1],"data_offsets":[0,1]}}"#,
                1,
            ),
            (
                r#"{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}"#,
                1,
            ),
            (
                r#"{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,1]}}"#,
                1,
            ),
            // metadata not strings
            (
                r#"{"__metadata__":{"a":1},"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#,
                1,
            ),
            // duplicate key: serde_json would keep only the last
            (
                r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#,
                1,
            ),
            // reversed offsets, bad offsets shape
            (
                r#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}"#,
                1,
            ),
            (r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}}"#, 1),
        ] {
            assert!(medium(&run(&file(h, data))), "{h}");
        }
    }

    #[test]
    fn trailing_data_is_info() {
        let out = run(&file(
            r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#,
            5,
        ));
        assert_eq!(out.findings.len(), 1);
        assert_eq!(out.findings[0].severity, Severity::Info);
    }

    #[test]
    fn unparseable_is_an_error() {
        for data in [
            file("{not json", 0),
            file("[1,2]", 0),
            file(r#"{"a":1"#, 0),
            b"\x08\x00".to_vec(),
            {
                let mut v = 1000u64.to_le_bytes().to_vec();
                v.extend(b"{}");
                v
            },
        ] {
            let out = run(&data);
            assert!(out.problems.iter().any(|p| p.fatal), "{data:?}");
        }
    }

    #[test]
    fn header_limit_is_incomplete() {
        let data = file(
            r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#,
            1,
        );
        let l = Limits {
            max_safetensors_header_bytes: 8,
            ..Limits::default()
        };
        let out = run_with(&data, &l);
        assert!(out.problems.iter().any(|p| !p.fatal));
    }
}
