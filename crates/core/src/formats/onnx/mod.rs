//! ONNX `ModelProto`: external data paths, custom domains and functions, tensor consistency,
//! read into [`OnnxFacts`] for the rules' checks (`rules/onnx.rs`).
//!
//! ONNX carries no Python code; the risks are in what the runtime does with the graph:
//! `external_data` locations are opened relative to the model directory (a `../../` or an
//! absolute path reads any file the loader can, CVE-2024-27318/CVE-2024-5187 class), custom
//! operator domains need native libraries registered by the caller, and inconsistent tensors
//! are how malformed models crash or confuse readers. The model is decoded with a trimmed
//! schema (`crates/core/proto/onnx.proto`); every subgraph (If/Loop/Scan attributes, training
//! graphs, model-local functions) is walked to `max_graph_depth`.
//!
//! Must not: decide what a location, a domain or code is worth (severities): the checks do.

#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use prost::Message;
use serde::{Deserialize, Serialize};

use super::{FormatCtx, Outcome, Problem};
use crate::limits::Limits;
use crate::source::ReadAt;

/// What an ONNX model (or a bare `TensorProto`) holds that the runtime acts on: the facts the
/// rules judge (see [`crate::facts`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OnnxFacts {
    /// External-data locations, each once, with the first tensor naming it (walk order:
    /// main graph initializers, sparse initializers, nodes and their subgraphs, training
    /// graphs, functions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_data: Vec<OnnxExternalData>,
    /// Operators from domains outside [`STANDARD_DOMAINS`] that no model-local function
    /// defines: domain → op types.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_ops: BTreeMap<String, BTreeSet<String>>,
    /// Model-local functions, sorted by (domain, name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<OnnxFunction>,
    /// String attributes of custom-domain nodes that hold Python code reaching a capability
    /// or a shell command line (onnxruntime-extensions `PyOp` style: the registered
    /// implementation may run them), in walk order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code: Vec<OnnxCodeString>,
    /// How each inconsistent tensor is inconsistent (negative or overflowing dimensions, a
    /// stored size that disagrees with shape × data type, external offsets or lengths that
    /// are not numbers…): the first [`MAX_TENSORS_LISTED`], in walk order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inconsistent_tensors: Vec<String>,
    /// How many inconsistent tensors there are in all.
    #[serde(default)]
    pub inconsistent_count: usize,
}

/// A tensor's external-data location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnnxExternalData {
    /// The tensor (`<graph path>:<name>`); none for a bare `TensorProto` file.
    pub tensor: Option<String>,
    /// The `location` value as stored.
    pub location: String,
}

/// A model-local function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnnxFunction {
    /// Its domain (may be empty).
    pub domain: String,
    /// Its name.
    pub name: String,
}

/// A string attribute of a custom-domain node, analysed as Python source and as a command
/// line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnnxCodeString {
    /// The node's path (`<graph>/<node name or op type>`, subgraphs joined with `.`).
    pub node: String,
    /// The node's domain.
    pub domain: String,
    /// The node's op type.
    pub op: String,
    /// The attribute's name.
    pub attribute: String,
    /// Capabilities the string reaches as Python code (the first [`MAX_HITS_PER_STRING`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hits: Vec<modelguard_pycode::Hit>,
    /// The string (trimmed), when it reaches nothing as Python but reads as a shell command
    /// line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// Operator domains built into the ONNX standard and onnxruntime.
pub const STANDARD_DOMAINS: &[&str] = &[
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview.training",
    "com.microsoft",
    "com.microsoft.nchwc",
    "com.microsoft.experimental",
];

/// Largest size a tensor may declare (1 TiB); larger shapes are reported.
const MAX_DECLARED_BYTES: u64 = 1 << 40;

/// Inconsistent tensors described in the facts (the count covers them all).
pub const MAX_TENSORS_LISTED: usize = 10;

/// Capabilities kept per code string.
pub const MAX_HITS_PER_STRING: usize = 8;

/// Most code hits and command lines kept per model (each string is parsed).
const MAX_CODE_STRINGS: usize = 1024;

/// Cheap guess whether `head` starts a serialized `ModelProto`: field 1 (`ir_version`, a
/// small varint) followed by another field of ModelProto. Not used for sniffing: protobuf
/// has no magic, and many byte strings start like this.
pub fn looks_like_onnx(head: &[u8]) -> bool {
    matches!(head, [0x08, v, next, ..] if (1..=16).contains(v)
        && matches!(next, 0x12 | 0x1a | 0x22 | 0x28 | 0x32 | 0x3a | 0x42 | 0x72 | 0xa2 | 0xca))
}

/// Bits per element of an ONNX `TensorProto.DataType`; `None` for STRING and unknown types.
pub fn dtype_bits(t: i32) -> Option<u64> {
    Some(match t {
        2 | 3 | 9 | 17..=20 | 24 => 8,
        4 | 5 | 10 | 16 => 16,
        1 | 6 | 12 => 32,
        7 | 11 | 13 | 14 => 64,
        15 => 128,
        21..=23 => 4,
        25 | 26 => 2,
        _ => return None,
    })
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Why an external-data location leaves the model directory, if it does.
pub fn location_problem(loc: &str) -> Option<&'static str> {
    if loc.is_empty() {
        return Some("is empty");
    }
    if loc.contains('\0') {
        return Some("contains a NUL byte");
    }
    if loc.starts_with('/') || loc.starts_with('\\') {
        return Some("is absolute");
    }
    let b = loc.as_bytes();
    if b.len() >= 2 && b.first().is_some_and(u8::is_ascii_alphabetic) && b.get(1) == Some(&b':') {
        return Some("starts with a Windows drive letter");
    }
    if let Some(i) = loc.find(':') {
        let scheme = loc.get(..i).unwrap_or_default();
        if !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        {
            return Some("is a URL");
        }
    }
    if loc.split(['/', '\\']).any(|p| p == "..") {
        return Some("climbs out of the model directory with ..");
    }
    if loc.starts_with('~') {
        return Some("refers to a home directory");
    }
    None
}

impl OnnxFacts {
    /// Record an external-data location, unless an earlier tensor named it (for a few
    /// locations: the model walk keeps a set).
    pub(crate) fn external_location(&mut self, tensor: Option<String>, location: String) {
        if !self.external_data.iter().any(|e| e.location == location) {
            self.external_data
                .push(OnnxExternalData { tensor, location });
        }
    }

    fn inconsistent(&mut self, what: String) {
        if self.inconsistent_tensors.len() < MAX_TENSORS_LISTED {
            self.inconsistent_tensors.push(what);
        }
        self.inconsistent_count += 1;
    }
}

#[derive(Default)]
struct Walk<'a> {
    limits: Option<&'a Limits>,
    facts: OnnxFacts,
    /// Model-local functions (domain, name).
    functions: BTreeSet<(String, String)>,
    /// External-data locations recorded so far.
    locations: HashSet<String>,
    /// Code hits and command lines kept so far (bounded by [`MAX_CODE_STRINGS`]).
    code_items: usize,
    too_deep: bool,
}

impl Walk<'_> {
    fn graph(&mut self, g: &pb::GraphProto, path: &str, depth: usize) {
        if depth > self.limits.map_or(32, |l| l.max_graph_depth) {
            self.too_deep = true;
            return;
        }
        let gname = format!("{path}{}", text(g.name.as_deref().unwrap_or_default()));
        for t in &g.initializer {
            self.tensor(t, &gname);
        }
        for s in &g.sparse_initializer {
            self.sparse(s, &gname);
        }
        for n in &g.node {
            self.node(n, &gname, depth);
        }
    }

    fn sparse(&mut self, s: &pb::SparseTensorProto, path: &str) {
        for t in s.values.iter().chain(s.indices.iter()) {
            self.tensor(t, path);
        }
        if s.dims.iter().any(|d| *d < 0) {
            self.facts
                .inconsistent(format!("{path}: sparse tensor with a negative dimension"));
        }
    }

    fn node(&mut self, n: &pb::NodeProto, path: &str, depth: usize) {
        let domain = text(n.domain.as_deref().unwrap_or_default());
        let op = text(n.op_type.as_deref().unwrap_or_default());
        if !STANDARD_DOMAINS.contains(&domain.as_str())
            && !self.functions.contains(&(domain.clone(), op.clone()))
        {
            self.facts
                .custom_ops
                .entry(domain.clone())
                .or_default()
                .insert(op.clone());
        }
        let nname = text(n.name.as_deref().unwrap_or_default());
        let here = format!("{path}/{}", if nname.is_empty() { &op } else { &nname });
        if !STANDARD_DOMAINS.contains(&domain.as_str()) {
            self.code_strings(n, &domain, &op, &here);
        }
        for a in &n.attribute {
            for t in a.t.iter().chain(a.tensors.iter()) {
                self.tensor(t, &here);
            }
            for s in a.sparse_tensor.iter().chain(a.sparse_tensors.iter()) {
                self.sparse(s, &here);
            }
            for g in a.g.iter().chain(a.graphs.iter()) {
                self.graph(g, &format!("{here}."), depth + 1);
            }
        }
    }

    /// String attributes of a custom-domain node: analysed as Python source and, when that
    /// reaches nothing, as a shell command line.
    fn code_strings(&mut self, n: &pb::NodeProto, domain: &str, op: &str, here: &str) {
        let limits = self.limits.map(|l| l.code.clone()).unwrap_or_default();
        for a in &n.attribute {
            let aname = text(a.name.as_deref().unwrap_or_default());
            for s in a.s.iter().chain(a.strings.iter()) {
                if self.code_items >= MAX_CODE_STRINGS {
                    return;
                }
                let Ok(s) = std::str::from_utf8(s) else {
                    continue;
                };
                let s = s.trim();
                if s.len() < 4 {
                    continue;
                }
                let mut hits = modelguard_pycode::analyze_source(s, &limits).hits;
                hits.truncate(MAX_HITS_PER_STRING);
                let command = (hits.is_empty() && crate::evidence::looks_like_shell(s))
                    .then(|| s.to_string());
                if hits.is_empty() && command.is_none() {
                    continue;
                }
                self.code_items += hits.len() + usize::from(command.is_some());
                self.facts.code.push(OnnxCodeString {
                    node: here.to_string(),
                    domain: domain.to_string(),
                    op: op.to_string(),
                    attribute: aname.clone(),
                    hits,
                    command,
                });
            }
        }
    }

    fn tensor(&mut self, t: &pb::TensorProto, path: &str) {
        let name = format!("{path}:{}", text(t.name.as_deref().unwrap_or_default()));
        let dtype = t.data_type.unwrap_or(0);
        let mut n: Option<u64> = Some(1);
        for d in &t.dims {
            match u64::try_from(*d) {
                Ok(d) => n = n.and_then(|n| n.checked_mul(d)),
                Err(_) => {
                    self.facts
                        .inconsistent(format!("{name}: negative dimension {d}"));
                    return;
                }
            }
        }
        let Some(n) = n else {
            self.facts
                .inconsistent(format!("{name}: dimensions {:?} overflow", t.dims));
            return;
        };
        let bytes = dtype_bits(dtype)
            .and_then(|b| n.checked_mul(b))
            .map(|b| b.div_ceil(8));
        if dtype_bits(dtype).is_some() && bytes.is_none() {
            self.facts
                .inconsistent(format!("{name}: byte size overflows"));
            return;
        }
        if bytes.is_some_and(|b| b > MAX_DECLARED_BYTES) {
            self.facts.inconsistent(format!(
                "{name}: declares {} bytes (above 1 TiB)",
                bytes.unwrap_or(0)
            ));
        }
        let external = t.data_location == Some(1) || !t.external_data.is_empty();
        if external {
            let mut loc = None;
            let mut length = None;
            for kv in &t.external_data {
                let k = text(kv.key.as_deref().unwrap_or_default());
                let v = text(kv.value.as_deref().unwrap_or_default());
                match k.as_str() {
                    "location" => loc = Some(v),
                    "length" => length = Some(v),
                    "offset" if v.trim().parse::<u64>().is_err() => self
                        .facts
                        .inconsistent(format!("{name}: external offset {v:?} is not a number")),
                    _ => {}
                }
            }
            match loc {
                None => self
                    .facts
                    .inconsistent(format!("{name}: external data without a location")),
                Some(l) => {
                    if self.locations.insert(l.clone()) {
                        self.facts.external_data.push(OnnxExternalData {
                            tensor: Some(name.clone()),
                            location: l,
                        });
                    }
                }
            }
            if let (Some(len), Some(b)) = (length, bytes) {
                match len.trim().parse::<u64>() {
                    Ok(len) if len != b => self.facts.inconsistent(format!(
                        "{name}: external length {len} but shape × dtype needs {b} bytes"
                    )),
                    Ok(_) => {}
                    Err(_) => self
                        .facts
                        .inconsistent(format!("{name}: external length {len:?} is not a number")),
                }
            }
            return;
        }
        if let Some(raw) = &t.raw_data {
            match bytes {
                Some(b) if raw.len() as u64 != b => self.facts.inconsistent(format!(
                    "{name}: raw_data has {} bytes, dims {:?} × data type {dtype} need {b}",
                    raw.len(),
                    t.dims
                )),
                Some(_) => {}
                None => self.facts.inconsistent(format!(
                    "{name}: raw_data for data type {dtype} (string or unknown)"
                )),
            }
            return;
        }
        // Typed fields: how many entries each data type stores.
        let (len, want) = match dtype {
            1 => (t.float_data.len(), Some(n)),
            14 => (t.float_data.len(), n.checked_mul(2)),
            7 => (t.int64_data.len(), Some(n)),
            11 => (t.double_data.len(), Some(n)),
            15 => (t.double_data.len(), n.checked_mul(2)),
            12 | 13 => (t.uint64_data.len(), Some(n)),
            8 => (t.string_data.len(), Some(n)),
            2..=6 | 9 | 10 | 16..=20 | 24 => (t.int32_data.len(), Some(n)),
            21..=23 => (t.int32_data.len(), Some(n.div_ceil(2))),
            25 | 26 => (t.int32_data.len(), Some(n.div_ceil(4))),
            _ => (0, None),
        };
        if len > 0 && want != Some(len as u64) {
            self.facts.inconsistent(format!(
                "{name}: {len} stored values, dims {:?} need {}",
                t.dims,
                want.map_or("an overflowing count".to_string(), |w| w.to_string())
            ));
        }
    }
}

/// Analyse `src` as onnx.
pub fn analyze(src: &dyn ReadAt, ctx: &FormatCtx<'_>) -> Outcome {
    let mut out = Outcome::new(super::FormatId::Onnx);
    let data = match super::read_whole(
        src,
        ctx.limits.max_protobuf_bytes,
        "ONNX model",
        "max_protobuf_bytes",
    ) {
        Ok(d) => d,
        Err(p) => {
            out.problems.push(p);
            return out;
        }
    };
    let model = match pb::ModelProto::decode(data.as_slice()) {
        Ok(m) if m.ir_version.is_some() || m.graph.is_some() => m,
        Ok(_) => {
            out.problems.push(Problem {
                fatal: true,
                message: "not an ONNX model: no ir_version and no graph".into(),
                offset: None,
            });
            return out;
        }
        Err(e) => {
            out.problems.push(Problem {
                fatal: true,
                message: format!("not a valid ONNX ModelProto: {e}"),
                offset: None,
            });
            return out;
        }
    };
    drop(data);
    analyze_model(&model, ctx.limits, &mut out);
    out
}

fn analyze_model(model: &pb::ModelProto, limits: &Limits, out: &mut Outcome) {
    let mut w = Walk {
        limits: Some(limits),
        ..Walk::default()
    };
    for f in &model.functions {
        w.functions.insert((
            text(f.domain.as_deref().unwrap_or_default()),
            text(f.name.as_deref().unwrap_or_default()),
        ));
    }
    if let Some(g) = &model.graph {
        w.graph(g, "", 0);
    }
    for t in &model.training_info {
        for g in t.initialization.iter().chain(t.algorithm.iter()) {
            w.graph(g, "training.", 1);
        }
    }
    for f in &model.functions {
        let fname = format!("function {}", text(f.name.as_deref().unwrap_or_default()));
        for n in &f.node {
            w.node(n, &fname, 1);
        }
    }
    if w.too_deep {
        out.problems.push(Problem {
            fatal: false,
            message: format!(
                "subgraphs nested deeper than max_graph_depth ({}) were not analysed",
                limits.max_graph_depth
            ),
            offset: None,
        });
    }
    let mut facts = w.facts;
    facts.functions = w
        .functions
        .into_iter()
        .map(|(domain, name)| OnnxFunction { domain, name })
        .collect();
    if facts != OnnxFacts::default() {
        out.facts.push(facts.into());
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::Severity;
    use crate::source::Bytes;

    fn b(s: &str) -> Option<Vec<u8>> {
        Some(s.as_bytes().to_vec())
    }

    fn node(op: &str, domain: &str) -> pb::NodeProto {
        pb::NodeProto {
            op_type: b(op),
            domain: b(domain),
            ..Default::default()
        }
    }

    fn model(g: pb::GraphProto) -> Vec<u8> {
        pb::ModelProto {
            ir_version: Some(9),
            graph: Some(g),
            ..Default::default()
        }
        .encode_to_vec()
    }

    fn run_with(data: &[u8], limits: &Limits) -> Outcome {
        let ctx = FormatCtx {
            limits,
            name: "m.onnx",
        };
        crate::facts::judged(analyze(&Bytes(data), &ctx))
    }

    fn run(data: &[u8]) -> Outcome {
        run_with(data, &Limits::default())
    }

    fn ext(loc: &str) -> pb::TensorProto {
        pb::TensorProto {
            name: b("w"),
            data_type: Some(1),
            dims: vec![2],
            data_location: Some(1),
            external_data: vec![pb::StringStringEntryProto {
                key: b("location"),
                value: b(loc),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn locations() {
        for bad in [
            "../../etc/passwd",
            "/etc/passwd",
            "C:\\Windows\\x",
            "\\\\server\\share",
            "a/../../b",
            "file:///etc/passwd",
            "http://x/y",
            "~/.ssh/id_rsa",
            "",
        ] {
            assert!(location_problem(bad).is_some(), "{bad}");
        }
        for good in ["weights.bin", "data/w.bin", "model.onnx.data"] {
            assert!(location_problem(good).is_none(), "{good}");
        }
    }

    #[test]
    fn benign_model_is_clean() {
        let g = pb::GraphProto {
            node: vec![node("Add", ""), node("Relu", "")],
            initializer: vec![pb::TensorProto {
                dims: vec![2],
                data_type: Some(1),
                raw_data: Some(vec![0; 8]),
                ..Default::default()
            }],
            ..Default::default()
        };
        let out = run(&model(g));
        assert!(
            out.findings.is_empty() && out.problems.is_empty(),
            "{:?}",
            out.findings
        );
    }

    #[test]
    fn external_data_in_subgraph_is_high() {
        let inner = pb::GraphProto {
            initializer: vec![ext("../../etc/passwd")],
            ..Default::default()
        };
        let mut n = node("If", "");
        n.attribute.push(pb::AttributeProto {
            name: b("then_branch"),
            g: Some(inner),
            ..Default::default()
        });
        let out = run(&model(pb::GraphProto {
            node: vec![n],
            initializer: vec![ext("/etc/shadow"), ext("w.bin")],
            ..Default::default()
        }));
        let hits: Vec<_> = out
            .findings
            .iter()
            .filter(|f| f.rule == "MG-ONNX-EXTDATA")
            .collect();
        assert_eq!(hits.len(), 2, "{:?}", out.findings);
        assert!(hits.iter().all(|f| f.severity == Severity::High));
    }

    #[test]
    fn custom_domains_and_functions_are_info() {
        let out = run(&pb::ModelProto {
            ir_version: Some(9),
            graph: Some(pb::GraphProto {
                node: vec![node("Evil", "com.example"), node("MyFn", "local")],
                ..Default::default()
            }),
            functions: vec![pb::FunctionProto {
                name: b("MyFn"),
                domain: b("local"),
                node: vec![node("Add", "")],
                ..Default::default()
            }],
            ..Default::default()
        }
        .encode_to_vec());
        let msgs: Vec<_> = out
            .findings
            .iter()
            .filter(|f| f.rule == "MG-ONNX-CUSTOM-OP" && f.severity == Severity::Info)
            .map(|f| f.message.clone())
            .collect();
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(msgs[0].contains("com.example: Evil") && !msgs[0].contains("MyFn"));
        assert!(msgs[1].contains("local.MyFn"));
    }

    #[test]
    fn inconsistent_tensors_are_medium() {
        for t in [
            pb::TensorProto {
                dims: vec![4],
                data_type: Some(1),
                raw_data: Some(vec![0; 8]),
                ..Default::default()
            },
            pb::TensorProto {
                dims: vec![-1],
                data_type: Some(1),
                ..Default::default()
            },
            pb::TensorProto {
                dims: vec![i64::MAX, i64::MAX],
                data_type: Some(1),
                ..Default::default()
            },
            pb::TensorProto {
                dims: vec![1 << 40, 4],
                data_type: Some(11),
                ..Default::default()
            },
            pb::TensorProto {
                dims: vec![3],
                data_type: Some(1),
                float_data: vec![1.0],
                ..Default::default()
            },
            pb::TensorProto {
                dims: vec![1],
                data_type: Some(8),
                raw_data: Some(vec![1]),
                ..Default::default()
            },
        ] {
            let out = run(&model(pb::GraphProto {
                initializer: vec![t.clone()],
                ..Default::default()
            }));
            assert!(
                out.findings.iter().any(|f| f.rule == "MG-ONNX-TENSOR"),
                "{t:?}"
            );
        }
    }

    #[test]
    fn malformed_and_limits() {
        assert!(run(b"\xff\xff\xff").problems[0].fatal);
        assert!(run(b"\x50\x01").problems[0].fatal); // valid protobuf, not a model
        let data = model(pb::GraphProto::default());
        let l = Limits {
            max_protobuf_bytes: 2,
            ..Limits::default()
        };
        assert!(!run_with(&data, &l).problems[0].fatal);
        // Nesting beyond max_graph_depth: incomplete.
        let mut g = pb::GraphProto::default();
        for _ in 0..4 {
            let mut n = node("Loop", "");
            n.attribute.push(pb::AttributeProto {
                g: Some(g),
                ..Default::default()
            });
            g = pb::GraphProto {
                node: vec![n],
                ..Default::default()
            };
        }
        let l = Limits {
            max_graph_depth: 2,
            ..Limits::default()
        };
        let out = run_with(&model(g), &l);
        assert!(out.problems.iter().any(|p| !p.fatal));
        assert!(looks_like_onnx(&model(pb::GraphProto::default())));
        assert!(looks_like_onnx(b"\x08\x09\x3a"));
        assert!(!looks_like_onnx(b"PK\x03\x04"));
    }
}
