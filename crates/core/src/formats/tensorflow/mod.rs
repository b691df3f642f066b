//! TensorFlow SavedModel (`saved_model.pb`) and frozen GraphDef (`.pb`): the ops of every
//! graph and of every function in the library, read into [`TfFacts`] for the rules' checks
//! (`rules/tensorflow.rs`).
//!
//! A TensorFlow graph is not Python, but its ops act on the machine when the graph runs:
//! `ReadFile`/`WriteFile`/`MatchingFiles` touch any path, `PyFunc`/`EagerPyFunc` call back
//! into Python, checkpoint ops (`SaveV2`, `RestoreV2`, `MergeV2Checkpoints`) write and read
//! files, debug ops ship tensors to `file://` or `grpc://` URLs. Paths are usually `Const`
//! nodes feeding the op: they are resolved (through `Identity` and `StringJoin`) and kept as
//! the node's arguments. Decoding uses a trimmed schema (`crates/core/proto/tensorflow.proto`).
//!
//! Must not: decide what an op or a path is worth (severities): the checks do.

#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb;

use std::collections::HashMap;

use prost::Message;
use serde::{Deserialize, Serialize};

use super::{FormatCtx, Outcome, Problem};
use crate::source::ReadAt;

/// The ops of a TensorFlow graph that touch files, Python or the network: the facts the rules
/// judge (see [`crate::facts`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TfFacts {
    /// Every asset of every meta graph (the loader opens `export_dir/assets/<filename>`), in
    /// file order.
    pub assets: Vec<TfAsset>,
    /// Every node whose op is one of the tables below ([`PYFUNC`], [`FILE_IO`],
    /// [`CHECKPOINT`], [`READERS`], `ImmutableConst`, `Debug*`, `PrintV2`) or whose name holds
    /// a word of [`SUSPICIOUS_WORDS`] (and is not in [`KNOWN_NAMES`]), in graph order: each
    /// meta graph's (or the GraphDef's) nodes, then its library functions'.
    pub nodes: Vec<TfNode>,
}

/// One `AssetFileDef`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TfAsset {
    /// Index of its meta graph.
    pub meta_graph: usize,
    /// `filename`, relative to the assets directory.
    pub filename: String,
}

/// One node of interest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TfNode {
    /// Its graph: `meta graph <i> [<tags>]`, `graph` (a GraphDef), `function <name>`, `text
    /// graph` (a `.pbtxt`, read lexically).
    pub graph: String,
    /// The node's name (`#<i>` in a text graph).
    pub name: String,
    /// The op.
    pub op: String,
    /// Constant strings reaching the inputs that name files (the first input of file and
    /// reader ops, [`CHECKPOINT`]'s path inputs) or, for an op named by a suspicious word,
    /// any input (at most 8): resolved through `Identity`-like ops and `StringJoin`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// `token` attribute of a Python-callback op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// `memory_region_name` attribute of `ImmutableConst`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_region: Option<String>,
    /// `debug_urls` and `dump_root` of a `Debug*` op (non-empty ones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// `output_stream` attribute of `PrintV2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_stream: Option<String>,
}

/// Ops that call Python functions registered in the loading process.
pub const PYFUNC: &[&str] = &["PyFunc", "PyFuncStateless", "EagerPyFunc"];

/// Ops that read or write the file named by their first input.
pub const FILE_IO: &[&str] = &["ReadFile", "WriteFile", "MatchingFiles"];

/// Checkpoint ops: normal in every SavedModel with a placeholder path; reported when a
/// constant path leaves the model directory. (op, input indices holding paths, writes)
pub const CHECKPOINT: &[(&str, &[usize], bool)] = &[
    ("Save", &[0], true),
    ("SaveSlices", &[0], true),
    ("SaveV2", &[0], true),
    ("MergeV2Checkpoints", &[0, 1], true),
    ("Restore", &[0], false),
    ("RestoreSlice", &[0], false),
    ("RestoreV2", &[0], false),
    ("ShardedFilename", &[0], false),
];

/// Ops that read files named by their first input as part of ordinary pipelines (vocabulary
/// tables, datasets, summaries): listed as `info`, `high` with a constant path that leaves
/// the model directory.
pub const READERS: &[&str] = &[
    "InitializeTableFromTextFile",
    "InitializeTableFromTextFileV2",
    "TFRecordDataset",
    "TFRecordDatasetV2",
    "TextLineDataset",
    "FixedLengthRecordDataset",
    "FixedLengthRecordDatasetV2",
    "CreateSummaryFileWriter",
    "WholeFileReader",
    "WholeFileReaderV2",
    "TextLineReader",
    "TextLineReaderV2",
    "TFRecordReader",
    "TFRecordReaderV2",
    "FixedLengthRecordReader",
    "FixedLengthRecordReaderV2",
    "LoadAndRemapMatrix",
    "ReadVariableXlaSplitND",
];

/// Built-in ops whose names contain a word of [`SUSPICIOUS_WORDS`] but are covered above or
/// harmless.
pub const KNOWN_NAMES: &[&str] = &[
    "TPUExecute",
    "TPUExecuteAndUpdateVariables",
    "TPUPartitionedCall",
    "FileSystemSetConfiguration",
];

/// Words in an op name that suggest file, network or process access.
pub const SUSPICIOUS_WORDS: &[&str] = &[
    "file",
    "socket",
    "exec",
    "shell",
    "popen",
    "system",
    "subprocess",
    "http",
    "url",
    "download",
    "upload",
    "command",
    "spawn",
];

/// The word of [`SUSPICIOUS_WORDS`] an op name holds, unless it is a [`KNOWN_NAMES`] op.
pub fn suspicious_word(op: &str) -> Option<&'static str> {
    if KNOWN_NAMES.contains(&op) {
        return None;
    }
    let lower = op.to_ascii_lowercase();
    SUSPICIOUS_WORDS
        .iter()
        .find(|w| lower.contains(**w))
        .copied()
}

/// Whether a constant path leaves the model directory.
pub fn path_escapes(p: &str) -> bool {
    let p = p.trim();
    p.starts_with('/')
        || p.starts_with('\\')
        || p.starts_with('~')
        || p.as_bytes().get(1) == Some(&b':')
        || p.contains("://")
        || p.split(['/', '\\']).any(|c| c == "..")
}

/// One graph: the nodes of a GraphDef or of a function body.
struct Graph<'a> {
    label: String,
    nodes: &'a [pb::NodeDef],
}

/// The node name an input string refers to (`name`, `name:0`, `name:output:0`, `^name`).
fn input_node(input: &str) -> Option<&str> {
    if input.starts_with('^') {
        return None;
    }
    input.split(':').next()
}

fn attr_str(n: &pb::NodeDef, key: &str) -> Option<String> {
    match n.attr.get(key)?.value.as_ref()? {
        pb::attr_value::Value::S(s) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}

fn attr_strs(n: &pb::NodeDef, key: &str) -> Vec<String> {
    match n.attr.get(key).and_then(|a| a.value.as_ref()) {
        Some(pb::attr_value::Value::S(s)) => vec![String::from_utf8_lossy(s).into_owned()],
        Some(pb::attr_value::Value::List(l)) => {
            l.s.iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        }
        _ => vec![],
    }
}

/// Constant strings a node's output can take, through `Identity`-like ops and `StringJoin`.
fn const_strings(
    by_name: &HashMap<&str, &pb::NodeDef>,
    name: &str,
    depth: usize,
) -> Option<Vec<String>> {
    let n = by_name.get(name)?;
    if depth > 8 {
        return None;
    }
    match n.op.as_str() {
        "Const" => match n.attr.get("value")?.value.as_ref()? {
            pb::attr_value::Value::Tensor(t) => Some(
                t.string_val
                    .iter()
                    .take(16)
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect(),
            ),
            _ => None,
        },
        "Identity" | "Snapshot" | "StopGradient" | "PlaceholderWithDefault" => {
            const_strings(by_name, input_node(n.input.first()?)?, depth + 1)
        }
        "StringJoin" => {
            let sep = attr_str(n, "separator").unwrap_or_default();
            let mut parts = Vec::new();
            for i in n.input.iter().filter_map(|i| input_node(i)) {
                parts.push(const_strings(by_name, i, depth + 1)?.into_iter().next()?);
            }
            Some(vec![parts.join(&sep)])
        }
        _ => None,
    }
}

impl TfFacts {
    fn graph(&mut self, g: &Graph<'_>) {
        let by_name: HashMap<&str, &pb::NodeDef> =
            g.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
        for n in g.nodes {
            self.node(g, &by_name, n);
        }
    }

    /// Record `n` when its op is of interest, with the arguments and attributes its kind of
    /// op reads.
    fn node(&mut self, g: &Graph<'_>, by_name: &HashMap<&str, &pb::NodeDef>, n: &pb::NodeDef) {
        let op = n.op.as_str();
        let path_args = |idx: &[usize]| -> Vec<String> {
            idx.iter()
                .filter_map(|i| n.input.get(*i))
                .filter_map(|i| input_node(i))
                .filter_map(|i| const_strings(by_name, i, 0))
                .flatten()
                .collect()
        };
        let mut node = TfNode {
            graph: g.label.clone(),
            name: n.name.clone(),
            op: op.to_string(),
            args: Vec::new(),
            token: None,
            memory_region: None,
            urls: Vec::new(),
            output_stream: None,
        };
        if PYFUNC.contains(&op) {
            node.token = attr_str(n, "token");
        } else if FILE_IO.contains(&op) || READERS.contains(&op) {
            node.args = path_args(&[0]);
        } else if let Some((_, idx, _)) = CHECKPOINT.iter().find(|(o, _, _)| *o == op) {
            node.args = path_args(idx);
        } else if op == "ImmutableConst" {
            node.memory_region = attr_str(n, "memory_region_name");
        } else if op.starts_with("Debug") {
            node.urls = attr_strs(n, "debug_urls")
                .into_iter()
                .chain(attr_str(n, "dump_root"))
                .filter(|u| !u.is_empty())
                .collect();
        } else if op == "PrintV2" {
            node.output_stream = attr_str(n, "output_stream");
        } else if suspicious_word(op).is_some() {
            node.args = n
                .input
                .iter()
                .filter_map(|i| input_node(i))
                .filter_map(|i| const_strings(by_name, i, 0))
                .flatten()
                .take(8)
                .collect();
        } else {
            return;
        }
        self.nodes.push(node);
    }
}

/// A `.pb` that decodes as no graph but is a well-formed protobuf: an ONNX `TensorProto`
/// (dims or a data type set), whose external-data locations become ONNX facts, or another
/// message. Returns its format name.
fn data_message(data: &[u8], out: &mut Outcome) -> Option<super::FormatId> {
    use super::onnx::pb::TensorProto;
    if let Ok(t) = TensorProto::decode(data)
        && (t.data_type.is_some() || !t.dims.is_empty())
    {
        let mut facts = super::onnx::OnnxFacts::default();
        for kv in &t.external_data {
            if kv.key.as_deref() != Some(b"location".as_slice()) {
                continue;
            }
            let loc = String::from_utf8_lossy(kv.value.as_deref().unwrap_or_default()).into_owned();
            facts.external_location(None, loc);
        }
        if !facts.external_data.is_empty() {
            out.facts.push(facts.into());
        }
        return Some(super::FormatId::OnnxTensor);
    }
    super::is_protobuf_message(data).then_some(super::FormatId::Protobuf)
}

fn problem(out: &mut Outcome, fatal: bool, message: String) {
    out.problems.push(Problem {
        fatal,
        message,
        offset: None,
    });
}

/// Analyse `src` as tensorflow.
pub fn analyze(src: &dyn ReadAt, ctx: &FormatCtx<'_>) -> Outcome {
    let mut out = Outcome::new(super::FormatId::Tensorflow);
    let data = match super::read_whole(
        src,
        ctx.limits.max_protobuf_bytes,
        "TensorFlow graph",
        "max_protobuf_bytes",
    ) {
        Ok(d) => d,
        Err(p) => {
            out.problems.push(p);
            return out;
        }
    };
    let lower = ctx.name.to_ascii_lowercase();
    if lower.ends_with(".pbtxt") {
        out.format = super::FormatId::TensorflowText;
        pbtxt(&String::from_utf8_lossy(&data), &mut out);
        return out;
    }
    if lower.ends_with("fingerprint.pb") {
        out.format = super::FormatId::TensorflowFingerprint;
        if let Err(e) = pb::FingerprintDef::decode(data.as_slice()) {
            problem(&mut out, true, format!("not a SavedModel fingerprint: {e}"));
        }
        return out;
    }
    // Decode every way the bytes can be read: a SavedModel and a GraphDef share no magic,
    // and a file valid as both is analysed as both.
    let saved = pb::SavedModel::decode(data.as_slice())
        .ok()
        .filter(|s| s.meta_graphs.iter().any(|m| m.graph_def.is_some()));
    let graph = pb::GraphDef::decode(data.as_slice())
        .ok()
        .filter(|g| !g.node.is_empty() || g.library.is_some());
    let mut facts = TfFacts::default();
    let mut defs: Vec<(String, &pb::GraphDef)> = Vec::new();
    if let Some(s) = &saved {
        out.format = super::FormatId::TensorflowSavedmodel;
        for (i, m) in s.meta_graphs.iter().enumerate() {
            if let Some(g) = &m.graph_def {
                let tags = m
                    .meta_info_def
                    .as_ref()
                    .map(|i| i.tags.join(","))
                    .unwrap_or_default();
                defs.push((format!("meta graph {i} [{tags}]"), g));
            }
            facts
                .assets
                .extend(m.asset_file_def.iter().map(|a| TfAsset {
                    meta_graph: i,
                    filename: a.filename.clone(),
                }));
        }
    }
    if let Some(g) = &graph {
        if saved.is_none() {
            out.format = super::FormatId::TensorflowGraphdef;
        }
        defs.push(("graph".into(), g));
    }
    if defs.is_empty() {
        // Not a graph, but a valid protobuf is data: ONNX test data (`input_0.pb`, a
        // TensorProto as onnx's backend tests store it), or any other message. It carries no
        // ops; only a TensorProto's external-data path matters (numpy_helper.to_array reads it).
        if let Some(format) = data_message(&data, &mut out) {
            out.format = format;
            return out;
        }
        problem(
            &mut out,
            true,
            "not a TensorFlow SavedModel or GraphDef (no graph decoded)".into(),
        );
        return out;
    }
    for (label, g) in &defs {
        facts.graph(&Graph {
            label: label.clone(),
            nodes: &g.node,
        });
        for f in g.library.iter().flat_map(|l| l.function.iter()) {
            let name = f.signature.as_ref().map(|s| s.name.as_str()).unwrap_or("?");
            facts.graph(&Graph {
                label: format!("function {name}"),
                nodes: &f.node_def,
            });
        }
    }
    if facts != TfFacts::default() {
        out.facts.push(facts.into());
    }
    out
}

/// Text-format graphs (`.pbtxt`): op names found lexically (`op: "ReadFile"`). Constant
/// arguments are not resolved, so the analysis is reported incomplete.
fn pbtxt(text: &str, out: &mut Outcome) {
    let mut nodes = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("op:") {
        rest = rest.get(i + 3..).unwrap_or_default();
        let t = rest.trim_start();
        if let Some(q) = t.strip_prefix('"')
            && let Some(end) = q.find('"')
        {
            nodes.push(pb::NodeDef {
                name: format!("#{}", nodes.len()),
                op: q.get(..end).unwrap_or_default().to_string(),
                ..Default::default()
            });
        }
        if nodes.len() > 1_000_000 {
            break;
        }
    }
    let mut facts = TfFacts::default();
    facts.graph(&Graph {
        label: "text graph".into(),
        nodes: &nodes,
    });
    if facts != TfFacts::default() {
        out.facts.push(facts.into());
    }
    problem(
        out,
        false,
        "text-format graph analysed lexically (op names only)".into(),
    );
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::report::Severity;
    use crate::source::Bytes;

    fn node(name: &str, op: &str, inputs: &[&str]) -> pb::NodeDef {
        pb::NodeDef {
            name: name.into(),
            op: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn konst(name: &str, s: &str) -> pb::NodeDef {
        let mut n = node(name, "Const", &[]);
        n.attr.insert(
            "value".into(),
            pb::AttrValue {
                value: Some(pb::attr_value::Value::Tensor(pb::TensorProto {
                    dtype: 7,
                    string_val: vec![s.as_bytes().to_vec()],
                    ..Default::default()
                })),
            },
        );
        n
    }

    fn run_named(data: &[u8], name: &str) -> Outcome {
        let limits = Limits::default();
        let ctx = FormatCtx {
            limits: &limits,
            name,
        };
        crate::facts::judged(analyze(&Bytes(data), &ctx))
    }

    fn saved(nodes: Vec<pb::NodeDef>, functions: Vec<pb::FunctionDef>) -> Vec<u8> {
        pb::SavedModel {
            saved_model_schema_version: 1,
            meta_graphs: vec![pb::MetaGraphDef {
                meta_info_def: None,
                asset_file_def: vec![],
                graph_def: Some(pb::GraphDef {
                    node: nodes,
                    library: Some(pb::FunctionDefLibrary {
                        function: functions,
                    }),
                }),
            }],
        }
        .encode_to_vec()
    }

    #[test]
    fn asset_outside_assets_dir_is_high() {
        let data = pb::SavedModel {
            saved_model_schema_version: 1,
            meta_graphs: vec![pb::MetaGraphDef {
                meta_info_def: None,
                graph_def: Some(pb::GraphDef::default()),
                asset_file_def: vec![
                    pb::AssetFileDef {
                        filename: "vocab.txt".into(),
                    },
                    pb::AssetFileDef {
                        filename: "../../../etc/passwd".into(),
                    },
                ],
            }],
        }
        .encode_to_vec();
        let out = run_named(&data, "saved_model.pb");
        assert_eq!(out.findings.len(), 1, "{:?}", out.findings);
        assert_eq!(out.findings[0].severity, Severity::High);
    }

    fn func(name: &str, nodes: Vec<pb::NodeDef>) -> pb::FunctionDef {
        pb::FunctionDef {
            signature: Some(pb::OpDef { name: name.into() }),
            node_def: nodes,
        }
    }

    #[test]
    fn read_file_in_function_with_resolved_path() {
        let data = saved(
            vec![node("x", "Placeholder", &[])],
            vec![func(
                "__inference_f_12",
                vec![
                    konst("Const", "../../etc/passwd"),
                    node("ident", "Identity", &["Const:output:0"]),
                    node("ReadFile", "ReadFile", &["ident:output:0"]),
                ],
            )],
        );
        let out = run_named(&data, "saved_model.pb");
        assert_eq!(out.format, "tensorflow-savedmodel");
        let f = &out.findings[0];
        assert_eq!(f.rule, "MG-TF-FILE-OP");
        assert_eq!(f.severity, Severity::High);
        assert!(f.message.contains("../../etc/passwd") && f.message.contains("__inference_f_12"));
    }

    #[test]
    fn write_outside_is_critical_and_pyfunc_high() {
        let data = pb::GraphDef {
            node: vec![
                konst("a", "/tmp"),
                konst("b", "modelguard-test"),
                {
                    let mut j = node("join", "StringJoin", &["a", "b:0"]);
                    j.attr.insert(
                        "separator".into(),
                        pb::AttrValue {
                            value: Some(pb::attr_value::Value::S(b"/".to_vec())),
                        },
                    );
                    j
                },
                node("w", "WriteFile", &["join", "b"]),
                node("p", "EagerPyFunc", &["b"]),
            ],
            library: None,
        }
        .encode_to_vec();
        let out = run_named(&data, "frozen.pb");
        assert_eq!(out.format, "tensorflow-graphdef");
        let w = out
            .findings
            .iter()
            .find(|f| f.rule == "MG-TF-FILE-OP")
            .unwrap();
        assert_eq!(w.severity, Severity::Critical);
        assert!(w.message.contains("/tmp/modelguard-test"));
        assert!(
            out.findings
                .iter()
                .any(|f| f.rule == "MG-TF-PYFUNC" && f.severity == Severity::High)
        );
    }

    #[test]
    fn ordinary_saver_graph_is_clean() {
        // saver_filename placeholder → StringJoin with "_temp/part" → ShardedFilename → SaveV2.
        let data = saved(
            vec![
                node("saver_filename", "Placeholder", &[]),
                konst("c", "_temp/part"),
                node("j", "StringJoin", &["saver_filename", "c"]),
                node("s", "ShardedFilename", &["j", "n", "m"]),
                node("save", "SaveV2", &["s", "names", "slices", "t"]),
                node("r", "RestoreV2", &["saver_filename", "names", "slices"]),
                konst("vocab", "assets/vocab.txt"),
                node("init", "InitializeTableFromTextFileV2", &["table", "vocab"]),
                node("add", "AddV2", &["x", "y"]),
            ],
            vec![],
        );
        let out = run_named(&data, "saved_model.pb");
        assert!(out.problems.is_empty());
        assert!(
            out.findings.iter().all(|f| f.severity == Severity::Info),
            "{:?}",
            out.findings
        );
        // Constant checkpoint path outside the model: reported.
        let data = saved(
            vec![
                konst("p", "/etc/cron.d/x"),
                node("save", "SaveV2", &["p", "names", "slices", "t"]),
            ],
            vec![],
        );
        let out = run_named(&data, "saved_model.pb");
        assert_eq!(out.findings[0].severity, Severity::Critical);
    }

    #[test]
    fn suspicious_names_debug_urls_and_text_format() {
        let mut dbg = node("d", "DebugIdentity", &["x"]);
        dbg.attr.insert(
            "debug_urls".into(),
            pb::AttrValue {
                value: Some(pb::attr_value::Value::List(pb::attr_value::ListValue {
                    s: vec![b"file:///tmp/dump".to_vec()],
                    ..Default::default()
                })),
            },
        );
        let data = pb::GraphDef {
            node: vec![dbg, node("s", "MySocketSend", &[])],
            library: None,
        }
        .encode_to_vec();
        let out = run_named(&data, "g.pb");
        assert_eq!(out.findings.len(), 2, "{:?}", out.findings);
        let out = run_named(b"node {\n name: \"r\"\n op: \"ReadFile\"\n}\n", "g.pbtxt");
        assert_eq!(out.findings[0].rule, "MG-TF-FILE-OP");
        assert!(!out.problems[0].fatal);
    }

    #[test]
    fn malformed_is_an_error() {
        assert!(run_named(b"\xff\xff\xff\xff", "x.pb").problems[0].fatal);
        assert!(
            run_named(b"\x0f\x01", "x.pb").problems[0].fatal,
            "wire type 7"
        );
        // A valid protobuf that is no graph is data: an ONNX TensorProto (dims [1]) or any
        // other well-formed message.
        let out = run_named(b"\x08\x01", "input_0.pb");
        assert!(out.problems.is_empty() && out.findings.is_empty());
        assert_eq!(out.format, "onnx-tensor");
        let out = run_named(b"\x1a\x02hi", "x.pb");
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        let fp = pb::FingerprintDef {
            saved_model_checksum: 1,
            ..Default::default()
        }
        .encode_to_vec();
        let out = run_named(&fp, "fingerprint.pb");
        assert!(out.problems.is_empty() && out.findings.is_empty());
        let limits = Limits {
            max_protobuf_bytes: 1,
            ..Limits::default()
        };
        let ctx = FormatCtx {
            limits: &limits,
            name: "x.pb",
        };
        assert!(!analyze(&Bytes(b"\x08\x01"), &ctx).problems[0].fatal);
    }
}
