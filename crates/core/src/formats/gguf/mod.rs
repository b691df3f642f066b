//! GGUF: header and metadata of every version (v1 with 32-bit counts, v2/v3 with 64-bit
//! counts; little- and big-endian), read with a bounded reader, into [`GgufFacts`]; chat
//! templates, in GGUF metadata and in Hugging Face files ([`template`]), parsed as Jinja and
//! analysed for sandbox escapes ([`jinja`]) into [`TemplateFacts`].
//!
//! Only the metadata can carry code (a chat template is rendered by llama.cpp,
//! llama-cpp-python, Ollama, Transformers' GGUF loader…); tensor data is never read.
//!
//! Must not: judge (no `rules`, no severities): the rules in `rules/gguf.rs` read the facts.

pub mod jinja;
pub mod template;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{FormatCtx, Outcome, Problem};
use crate::limits::Limits;
use crate::source::{ReadAt, read_range};

pub use template::{TemplateFacts, Unparsed, analyze_chat_template_file, is_chat_template_file};

/// What a GGUF header says that readers may disagree on (its templates are
/// [`TemplateFacts`] of their own), as far as it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GgufFacts {
    /// GGUF version (1, 2 or 3; 0 when the header ends before it).
    pub version: u32,
    /// Whether the file is big-endian.
    pub big_endian: bool,
    /// Declared tensor count.
    pub tensor_count: u64,
    /// Declared metadata key/value count.
    pub kv_count: u64,
    /// Metadata keys stored more than once (llama.cpp refuses the file, other readers keep
    /// one of the values), sorted.
    pub duplicate_keys: Vec<String>,
}

/// Value type codes of the GGUF metadata (`gguf_metadata_value_type`).
mod ty {
    pub const UINT8: u32 = 0;
    pub const INT8: u32 = 1;
    pub const UINT16: u32 = 2;
    pub const INT16: u32 = 3;
    pub const UINT32: u32 = 4;
    pub const INT32: u32 = 5;
    pub const FLOAT32: u32 = 6;
    pub const BOOL: u32 = 7;
    pub const STRING: u32 = 8;
    pub const ARRAY: u32 = 9;
    pub const UINT64: u32 = 10;
    pub const INT64: u32 = 11;
    pub const FLOAT64: u32 = 12;
}

/// Why reading stopped.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// The file ends inside a structure.
    #[error("truncated at offset {0}")]
    Truncated(u64),
    /// A structure is invalid.
    #[error("{0}")]
    Malformed(String),
    /// A limit was crossed.
    #[error("{0}")]
    Limit(String),
    /// Reading failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// The parsed header and the metadata this scanner keeps.
#[derive(Debug, Default)]
pub struct Header {
    /// GGUF version (1, 2 or 3).
    pub version: u32,
    /// Whether the file is big-endian.
    pub big_endian: bool,
    /// Declared tensor count.
    pub tensor_count: u64,
    /// Declared metadata key/value count.
    pub kv_count: u64,
    /// Every key in file order, with the offset of its value.
    pub keys: Vec<(String, u64)>,
    /// Scalar string values whose key names a template: (key, value, offset of the value).
    pub templates: Vec<(String, String, u64)>,
}

/// Buffered positional reader over a [`ReadAt`], with GGUF's primitive types.
struct Reader<'a> {
    src: &'a dyn ReadAt,
    size: u64,
    pos: u64,
    buf: Vec<u8>,
    buf_start: u64,
    big: bool,
    wide: bool,
    decoded: u64,
    limits: &'a Limits,
}

const CHUNK: u64 = 64 << 10;

impl<'a> Reader<'a> {
    fn new(src: &'a dyn ReadAt, limits: &'a Limits) -> Self {
        Reader {
            src,
            size: src.size(),
            pos: 0,
            buf: Vec::new(),
            buf_start: 0,
            big: false,
            wide: true,
            decoded: 0,
            limits,
        }
    }

    fn bytes(&mut self, n: u64) -> Result<Vec<u8>, GgufError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.size)
            .ok_or(GgufError::Truncated(self.pos))?;
        let buf_end = self.buf_start + self.buf.len() as u64;
        if self.pos < self.buf_start || end > buf_end {
            if n > CHUNK {
                let v = read_range(self.src, self.pos, n)?;
                if v.len() as u64 != n {
                    return Err(GgufError::Truncated(self.pos));
                }
                self.pos = end;
                return Ok(v);
            }
            self.buf = read_range(self.src, self.pos, CHUNK.min(self.size - self.pos))?;
            self.buf_start = self.pos;
        }
        let from = usize::try_from(self.pos - self.buf_start).unwrap_or(usize::MAX);
        let to = usize::try_from(end - self.buf_start).unwrap_or(usize::MAX);
        let v = self
            .buf
            .get(from..to)
            .ok_or(GgufError::Truncated(self.pos))?
            .to_vec();
        self.pos = end;
        Ok(v)
    }

    fn skip(&mut self, n: u64) -> Result<(), GgufError> {
        self.pos = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.size)
            .ok_or(GgufError::Truncated(self.pos))?;
        Ok(())
    }

    fn u32(&mut self) -> Result<u32, GgufError> {
        let b: [u8; 4] = self
            .bytes(4)?
            .try_into()
            .map_err(|_| GgufError::Truncated(self.pos))?;
        Ok(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn u64(&mut self) -> Result<u64, GgufError> {
        let b: [u8; 8] = self
            .bytes(8)?
            .try_into()
            .map_err(|_| GgufError::Truncated(self.pos))?;
        Ok(if self.big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }

    /// A count or length: 32-bit in v1, 64-bit from v2 on.
    fn count(&mut self) -> Result<u64, GgufError> {
        if self.wide {
            self.u64()
        } else {
            self.u32().map(u64::from)
        }
    }

    /// Charge `n` decoded bytes against the metadata budget.
    fn charge(&mut self, n: u64) -> Result<(), GgufError> {
        self.decoded = self.decoded.saturating_add(n);
        if self.decoded > self.limits.max_gguf_metadata_bytes {
            return Err(GgufError::Limit(format!(
                "metadata larger than max_gguf_metadata_bytes ({})",
                self.limits.max_gguf_metadata_bytes
            )));
        }
        Ok(())
    }

    fn string_len(&mut self) -> Result<u64, GgufError> {
        let at = self.pos;
        let n = self.count()?;
        if n > self.limits.max_gguf_string_bytes {
            return Err(GgufError::Limit(format!(
                "string of {n} bytes at offset {at} above max_gguf_string_bytes ({})",
                self.limits.max_gguf_string_bytes
            )));
        }
        self.charge(n.saturating_add(8))?;
        Ok(n)
    }

    fn string(&mut self) -> Result<String, GgufError> {
        let n = self.string_len()?;
        let b = self.bytes(n)?;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }

    /// Skip a value of type `t`; returns the string when it is a scalar string and `keep`.
    fn value(&mut self, t: u32, depth: usize, keep: bool) -> Result<Option<String>, GgufError> {
        if let Some(size) = fixed_size(t) {
            self.skip(size)?;
            return Ok(None);
        }
        match t {
            ty::STRING if keep => self.string().map(Some),
            ty::STRING => {
                let n = self.string_len()?;
                self.skip(n)?;
                Ok(None)
            }
            ty::ARRAY => {
                if depth >= self.limits.max_gguf_nesting {
                    return Err(GgufError::Limit(format!(
                        "arrays nested deeper than max_gguf_nesting ({})",
                        self.limits.max_gguf_nesting
                    )));
                }
                let et = self.u32()?;
                let at = self.pos;
                let n = self.count()?;
                if n > self.limits.max_gguf_array_len {
                    return Err(GgufError::Limit(format!(
                        "array of {n} elements at offset {at} above max_gguf_array_len ({})",
                        self.limits.max_gguf_array_len
                    )));
                }
                self.charge(12)?;
                if let Some(size) = fixed_size(et) {
                    let total = n.checked_mul(size).ok_or(GgufError::Truncated(at))?;
                    self.skip(total)?;
                } else if et == ty::STRING || et == ty::ARRAY {
                    for _ in 0..n {
                        self.value(et, depth + 1, false)?;
                    }
                } else {
                    return Err(GgufError::Malformed(format!(
                        "unknown array element type {et} at offset {at}"
                    )));
                }
                Ok(None)
            }
            other => Err(GgufError::Malformed(format!(
                "unknown value type {other} at offset {}",
                self.pos.saturating_sub(4)
            ))),
        }
    }
}

fn fixed_size(t: u32) -> Option<u64> {
    match t {
        ty::UINT8 | ty::INT8 | ty::BOOL => Some(1),
        ty::UINT16 | ty::INT16 => Some(2),
        ty::UINT32 | ty::INT32 | ty::FLOAT32 => Some(4),
        ty::UINT64 | ty::INT64 | ty::FLOAT64 => Some(8),
        _ => None,
    }
}

/// Whether a metadata key holds a template a loader may render (`tokenizer.chat_template`,
/// `tokenizer.chat_template.<name>`, and any other key naming a template).
pub fn is_template_key(key: &str) -> bool {
    key.to_ascii_lowercase().contains("template")
}

/// Parse the header and metadata. On error, the header read so far is returned with it.
pub fn parse(src: &dyn ReadAt, limits: &Limits) -> (Header, Option<GgufError>) {
    let mut h = Header::default();
    let mut r = Reader::new(src, limits);
    let err = parse_into(&mut r, &mut h).err();
    (h, err)
}

fn parse_into(r: &mut Reader<'_>, h: &mut Header) -> Result<(), GgufError> {
    let magic = r.bytes(4)?;
    if magic != b"GGUF" {
        return Err(GgufError::Malformed("missing GGUF magic".into()));
    }
    // The magic reads the same in both byte orders; the version tells them apart (a
    // big-endian v3 reads as 0x03000000 little-endian).
    let v = r.u32()?;
    let version = if (1..=3).contains(&v) {
        v
    } else if (1..=3).contains(&v.swap_bytes()) {
        r.big = true;
        v.swap_bytes()
    } else {
        return Err(GgufError::Limit(format!("unsupported GGUF version {v}")));
    };
    h.version = version;
    h.big_endian = r.big;
    r.wide = version >= 2;
    h.tensor_count = r.count()?;
    h.kv_count = r.count()?;
    if h.kv_count > r.limits.max_gguf_kv_count {
        return Err(GgufError::Limit(format!(
            "{} metadata entries above max_gguf_kv_count ({})",
            h.kv_count, r.limits.max_gguf_kv_count
        )));
    }
    for _ in 0..h.kv_count {
        let key = r.string()?;
        let t = r.u32()?;
        let at = r.pos;
        let keep = t == ty::STRING && is_template_key(&key);
        if let Some(s) = r.value(t, 0, keep)? {
            h.templates.push((key.clone(), s, at));
        }
        h.keys.push((key, at));
    }
    Ok(())
}

/// Analyse `src` as GGUF.
pub fn analyze(src: &dyn ReadAt, ctx: &FormatCtx<'_>) -> Outcome {
    let mut out = Outcome::new(super::FormatId::Gguf);
    let (h, err) = parse(src, ctx.limits);
    if let Some(e) = err {
        out.problems.push(Problem {
            fatal: !matches!(e, GgufError::Limit(_)),
            message: format!("gguf: {e}"),
            offset: match e {
                GgufError::Truncated(o) => Some(o),
                _ => None,
            },
        });
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (k, _) in &h.keys {
        *seen.entry(k.as_str()).or_default() += 1;
    }
    let mut duplicate_keys: Vec<String> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| (*k).to_string())
        .collect();
    duplicate_keys.sort_unstable();
    // The header's facts first, then each template's: findings keep that order.
    out.facts.push(
        GgufFacts {
            version: h.version,
            big_endian: h.big_endian,
            tensor_count: h.tensor_count,
            kv_count: h.kv_count,
            duplicate_keys,
        }
        .into(),
    );
    for (key, text, offset) in &h.templates {
        template::analyze_template(&mut out, key, text, Some(*offset), ctx.limits);
    }
    out
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::report::{Finding, Severity};
    use crate::source::Bytes;

    /// What the rules conclude from an outcome's facts, in order.
    fn findings(out: &Outcome) -> Vec<Finding> {
        out.facts
            .iter()
            .flat_map(|f| crate::rules::judge(f, &Policy::default()).0)
            .collect()
    }

    /// A GGUF writer for tests: `(key, type, encoded value)` triples.
    fn build(version: u32, big: bool, kvs: &[(&str, u32, Vec<u8>)]) -> Vec<u8> {
        let u32b = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let cnt = |v: u64| -> Vec<u8> {
            if version == 1 {
                u32b(v as u32).to_vec()
            } else if big {
                v.to_be_bytes().to_vec()
            } else {
                v.to_le_bytes().to_vec()
            }
        };
        let mut out = b"GGUF".to_vec();
        out.extend(u32b(version));
        out.extend(cnt(0));
        out.extend(cnt(kvs.len() as u64));
        for (k, t, v) in kvs {
            out.extend(cnt(k.len() as u64));
            out.extend(k.as_bytes());
            out.extend(u32b(*t));
            out.extend(v);
        }
        out
    }

    fn s(version: u32, big: bool, text: &str) -> Vec<u8> {
        let mut v = if version == 1 {
            if big {
                (text.len() as u32).to_be_bytes().to_vec()
            } else {
                (text.len() as u32).to_le_bytes().to_vec()
            }
        } else if big {
            (text.len() as u64).to_be_bytes().to_vec()
        } else {
            (text.len() as u64).to_le_bytes().to_vec()
        };
        v.extend(text.as_bytes());
        v
    }

    fn run(data: &[u8], limits: &Limits) -> Outcome {
        let ctx = FormatCtx {
            limits,
            name: "m.gguf",
        };
        analyze(&Bytes(data), &ctx)
    }

    const SSTI: &str = "{{ cycler.__init__.__globals__.os.popen('echo modelguard-test').read() }}";

    #[test]
    fn every_version_and_endianness() {
        for version in [1, 2, 3] {
            for big in [false, true] {
                let data = build(
                    version,
                    big,
                    &[
                        ("general.architecture", ty::STRING, s(version, big, "llama")),
                        ("x.count", ty::UINT32, vec![0; 4]),
                        ("tokenizer.chat_template", ty::STRING, s(version, big, SSTI)),
                    ],
                );
                let (h, err) = parse(&Bytes(&data), &Limits::default());
                assert!(err.is_none(), "v{version} big={big}: {err:?}");
                assert_eq!(h.version, version);
                assert_eq!(h.big_endian, big);
                assert_eq!(h.keys.len(), 3);
                let out = run(&data, &Limits::default());
                assert_eq!(findings(&out)[0].rule, "MG-TEMPLATE-SSTI");
                assert_eq!(findings(&out)[0].severity, Severity::Critical);
            }
        }
    }

    #[test]
    fn arrays_and_nesting() {
        let mut arr = ty::STRING.to_le_bytes().to_vec();
        arr.extend(2u64.to_le_bytes());
        arr.extend(s(3, false, "a"));
        arr.extend(s(3, false, "bc"));
        let mut nested = ty::ARRAY.to_le_bytes().to_vec();
        nested.extend(1u64.to_le_bytes());
        nested.extend(arr.clone());
        let data = build(
            3,
            false,
            &[("t", ty::ARRAY, arr), ("n", ty::ARRAY, nested.clone())],
        );
        let (h, err) = parse(&Bytes(&data), &Limits::default());
        assert!(err.is_none());
        assert_eq!(h.keys.len(), 2);
        let lim = Limits {
            max_gguf_nesting: 1,
            ..Limits::default()
        };
        let (_, err) = parse(&Bytes(&data), &lim);
        assert!(matches!(err, Some(GgufError::Limit(_))));
    }

    #[test]
    fn limits_are_enforced() {
        let data = build(3, false, &[("a", ty::STRING, s(3, false, "hello"))]);
        let small = |f: &dyn Fn(&mut Limits)| {
            let mut l = Limits::default();
            f(&mut l);
            matches!(parse(&Bytes(&data), &l).1, Some(GgufError::Limit(_)))
        };
        assert!(small(&|l| l.max_gguf_kv_count = 0));
        assert!(small(&|l| l.max_gguf_string_bytes = 2));
        assert!(small(&|l| l.max_gguf_metadata_bytes = 10));
        let mut arr = ty::UINT8.to_le_bytes().to_vec();
        arr.extend(3u64.to_le_bytes());
        arr.extend([1, 2, 3]);
        let data = build(3, false, &[("a", ty::ARRAY, arr)]);
        let l = Limits {
            max_gguf_array_len: 2,
            ..Limits::default()
        };
        assert!(matches!(
            parse(&Bytes(&data), &l).1,
            Some(GgufError::Limit(_))
        ));
        // A crossed limit is incomplete, not an error, and never clean.
        let out = run(&data, &l);
        assert!(!out.problems.is_empty() && !out.problems[0].fatal);
    }

    #[test]
    fn hostile_counts_fail_closed() {
        // 2^62 keys, a 2^62-byte string, a 2^62-element array: no allocation, no panic.
        let mut data = b"GGUF".to_vec();
        data.extend(3u32.to_le_bytes());
        data.extend(0u64.to_le_bytes());
        data.extend((1u64 << 62).to_le_bytes());
        assert!(matches!(
            parse(&Bytes(&data), &Limits::default()).1,
            Some(GgufError::Limit(_))
        ));
        let mut big = ty::UINT64.to_le_bytes().to_vec();
        big.extend((1u64 << 62).to_le_bytes());
        let data = build(3, false, &[("a", ty::ARRAY, big)]);
        assert!(parse(&Bytes(&data), &Limits::default()).1.is_some());
        let data = build(
            3,
            false,
            &[("a", ty::STRING, (1u64 << 62).to_le_bytes().to_vec())],
        );
        assert!(parse(&Bytes(&data), &Limits::default()).1.is_some());
        // Truncated: fatal.
        let data = build(3, false, &[("a", ty::STRING, s(3, false, "hello"))]);
        let out = run(&data[..data.len() - 2], &Limits::default());
        assert!(out.problems[0].fatal);
        // Unknown version: incomplete.
        let mut data = build(3, false, &[]);
        data[4] = 9;
        let out = run(&data, &Limits::default());
        assert!(!out.problems[0].fatal);
        // Unknown value type: fatal.
        let data = build(3, false, &[("a", 99, vec![])]);
        assert!(run(&data, &Limits::default()).problems[0].fatal);
    }

    #[test]
    fn duplicate_keys_are_reported() {
        let data = build(
            3,
            false,
            &[
                (
                    "tokenizer.chat_template",
                    ty::STRING,
                    s(3, false, "{{ a }}"),
                ),
                ("tokenizer.chat_template", ty::STRING, s(3, false, SSTI)),
            ],
        );
        let out = run(&data, &Limits::default());
        // Facts only (the rules judge them), in the order findings were always reported.
        assert!(out.findings.is_empty());
        let found = findings(&out);
        let rules: Vec<&str> = found.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(rules, ["MG-GGUF-HEADER", "MG-TEMPLATE-SSTI"]);
    }

    #[test]
    fn hugging_face_template_files() {
        let limits = Limits::default();
        let run = |name: &str, data: &[u8]| {
            let ctx = FormatCtx {
                limits: &limits,
                name,
            };
            analyze_chat_template_file(&Bytes(data), &ctx)
        };
        let cfg = serde_json::json!({"chat_template": SSTI, "eos_token": "</s>"}).to_string();
        let out = run("tokenizer_config.json", cfg.as_bytes());
        assert_eq!(findings(&out)[0].severity, Severity::Critical);
        let named = serde_json::json!({"chat_template": [
            {"name": "default", "template": "{{ messages[0].content }}"},
            {"name": "tool_use", "template": SSTI},
        ]})
        .to_string();
        let out = run("tokenizer_config.json", named.as_bytes());
        assert_eq!(findings(&out).len(), 1);
        assert!(findings(&out)[0].message.contains("chat_template.tool_use"));
        let out = run("chat_template.jinja", SSTI.as_bytes());
        assert_eq!(findings(&out)[0].severity, Severity::Critical);
        let out = run("tokenizer_config.json", br#"{"model_max_length": 512}"#);
        assert!(findings(&out).is_empty() && out.problems.is_empty());
        assert!(run("tokenizer_config.json", b"{oops").problems[0].fatal);
        let small = Limits {
            max_chat_template_file_bytes: 4,
            ..Limits::default()
        };
        let ctx = FormatCtx {
            limits: &small,
            name: "chat_template.jinja",
        };
        assert!(!analyze_chat_template_file(&Bytes(SSTI.as_bytes()), &ctx).problems[0].fatal);
        assert!(is_chat_template_file("org/model/tokenizer_config.json"));
        assert!(!is_chat_template_file("config.json"));
    }

    #[test]
    fn unparsable_template_is_never_clean() {
        let data = build(
            3,
            false,
            &[(
                "tokenizer.chat_template",
                ty::STRING,
                s(3, false, "{% if %}"),
            )],
        );
        let out = run(&data, &Limits::default());
        assert!(findings(&out).iter().any(|f| f.rule == "MG-TEMPLATE-PARSE"));
        assert!(out.problems.iter().any(|p| !p.fatal));
    }
}
