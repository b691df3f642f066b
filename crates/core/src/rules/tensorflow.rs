//! Rules for TensorFlow graphs (SavedModel, GraphDef, TFLite).

use std::collections::BTreeMap;

use super::Rule;
use crate::facts::{Emitter, Facts};
use crate::formats::tensorflow::{
    CHECKPOINT, FILE_IO, PYFUNC, READERS, TfNode, path_escapes, suspicious_word,
};
use crate::policy::Policy;
use crate::report::{Finding, Severity};
use crate::rule;

/// The nodes of TensorFlow facts (none for other facts).
fn nodes(facts: &Facts) -> &[TfNode] {
    match facts {
        Facts::Tensorflow(t) => &t.nodes,
        _ => &[],
    }
}

/// What a node of a file-reading pipeline op (a [`READERS`] op, `ImmutableConst`) is: `None`
/// when it is ordinary (listed by `MG-TF-OPS`), else the [`TF_FILE_OP`] finding.
fn reader_escape(n: &TfNode, at: &str) -> Option<Option<Finding>> {
    if READERS.contains(&n.op.as_str()) {
        let bad: Vec<&String> = n.args.iter().filter(|p| path_escapes(p)).collect();
        return Some((!bad.is_empty()).then(|| {
            Finding::new(
                &TF_FILE_OP,
                Severity::High,
                format!("{at} reads files outside the model directory: {bad:?}"),
            )
            .evidence(format!("{at}: {bad:?}"))
        }));
    }
    if n.op == "ImmutableConst" {
        let region = n.memory_region.clone().unwrap_or_default();
        return Some((!region.starts_with("memmapped_package://")).then(|| {
            Finding::new(
                &TF_FILE_OP,
                Severity::High,
                format!("{at} maps the file {region:?} into memory"),
            )
            .evidence(format!("{at}: {region:?}"))
        }));
    }
    None
}

/// The [`TF_FILE_OP`] finding of one node, if it has one.
fn file_op(n: &TfNode) -> Option<Finding> {
    let op = n.op.as_str();
    let at = format!("node {} ({op}) in {}", n.name, n.graph);
    let finding = |sev, message: String, evidence: String| {
        Some(Finding::new(&TF_FILE_OP, sev, message).evidence(evidence))
    };
    if PYFUNC.contains(&op) {
        return None;
    }
    if FILE_IO.contains(&op) {
        let paths = &n.args;
        let outside = paths.iter().any(|p| path_escapes(p));
        let sev = if op == "WriteFile" && outside {
            Severity::Critical
        } else {
            Severity::High
        };
        let what = match op {
            "ReadFile" => "reads the file",
            "WriteFile" => "writes the file",
            _ => "lists files matching",
        };
        let target = if paths.is_empty() {
            "named at run time".to_string()
        } else {
            format!("{paths:?}")
        };
        return finding(
            sev,
            format!("{at} {what} {target}"),
            format!("{at}: {target}"),
        );
    }
    if let Some((_, _, writes)) = CHECKPOINT.iter().find(|(o, _, _)| *o == op) {
        let bad: Vec<&String> = n.args.iter().filter(|p| path_escapes(p)).collect();
        if bad.is_empty() {
            return None;
        }
        let sev = if *writes {
            Severity::Critical
        } else {
            Severity::High
        };
        let verb = if *writes { "writes" } else { "reads" };
        return finding(
            sev,
            format!("{at} {verb} checkpoint files outside the model directory: {bad:?}"),
            format!("{at}: {bad:?}"),
        );
    }
    if let Some(escape) = reader_escape(n, &at) {
        return escape;
    }
    if op.starts_with("Debug") {
        let urls = &n.urls;
        if urls.is_empty() {
            return None;
        }
        return finding(
            Severity::High,
            format!("{at} sends tensors to {urls:?}"),
            format!("{at}: {urls:?}"),
        );
    }
    if op == "PrintV2" {
        let stream = n.output_stream.clone().unwrap_or_default();
        if !stream.starts_with("file://") {
            return None;
        }
        return finding(
            Severity::High,
            format!("{at} prints to the file {stream:?}"),
            format!("{at}: {stream:?}"),
        );
    }
    let w = suspicious_word(op)?;
    let args = &n.args;
    finding(
        Severity::High,
        format!("{at}: the op name suggests {w} access; constant arguments {args:?}"),
        format!("{at}: {args:?}"),
    )
}

rule! {
    /// ## What it detects
    /// TensorFlow ops that touch files or send data out, in any graph of a SavedModel or
    /// frozen GraphDef and in every function of its library (`tf.function` bodies):
    /// `ReadFile`, `WriteFile`, `MatchingFiles`; checkpoint ops (`Save`, `SaveV2`,
    /// `SaveSlices`, `MergeV2Checkpoints`, `Restore*`, `ShardedFilename`) and file readers
    /// (datasets, vocabulary tables, summary writers) whose constant path leaves the model
    /// directory; `ImmutableConst` mapping a file; debug ops with `debug_urls`/`dump_root`;
    /// `PrintV2` to a `file://` stream; any op whose name suggests file, socket, process or
    /// URL access; SavedModel assets (`asset_file_def`) whose file name leaves the `assets/`
    /// directory. Constant paths are resolved through `Const`, `Identity` and `StringJoin`
    /// nodes and shown.
    ///
    /// ## Why is this dangerous?
    /// A SavedModel runs its graph on every call: `tf.io.read_file('/etc/passwd')` returns a
    /// local file to whoever queries the model, `tf.io.write_file` plants files (cron jobs,
    /// shell profiles, `authorized_keys`) on the serving machine. Loading the model is
    /// enough for TensorFlow Serving to run its signatures.
    ///
    /// ## How the verdict is decided
    /// `critical` for `WriteFile` or checkpoint writes to a constant path outside the model
    /// directory (absolute, `..`, `~`, drive letters, URLs); `high` for every other
    /// `ReadFile`/`WriteFile`/`MatchingFiles`, for reads outside the model directory, debug
    /// URLs, file-mapped constants, assets outside `assets/` and suspiciously named ops.
    /// Checkpoint ops fed by the saver's placeholder (every SavedModel has them) are not
    /// reported.
    ///
    /// ## False positives
    /// Preprocessing graphs that read their own input files (`tf.io.read_file` on a
    /// filename fed at run time); custom ops whose names contain `File`.
    ///
    /// ## How to fix
    /// Do not serve the model. Re-export it without file I/O in the serving signatures.
    TF_FILE_OP { id: "MG-TF-FILE-OP", name: "tf-file-op", severity: High, formats: [TensorflowSavedmodel, TensorflowGraphdef], fires: Query }
}

/// [`TF_FILE_OP`]: assets outside the assets directory, then each node that reads or writes
/// files (`critical` for writes outside the model directory), maps memory, sends tensors
/// away or whose name suggests such access.
pub fn check_tf_file_op(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::Tensorflow(t) = facts else {
        return;
    };
    for a in t.assets.iter().filter(|a| path_escapes(&a.filename)) {
        out.emit(
            Finding::new(
                &TF_FILE_OP,
                Severity::High,
                format!(
                    "asset of meta graph {} points outside the assets directory: {:?}",
                    a.meta_graph, a.filename
                ),
            )
            .evidence(a.filename.clone()),
        );
    }
    for n in &t.nodes {
        if let Some(f) = file_op(n) {
            out.emit(f);
        }
    }
}

rule! {
    /// ## What it detects
    /// `PyFunc`, `PyFuncStateless` and `EagerPyFunc` nodes (`tf.py_function`,
    /// `tf.numpy_function`) in any graph or function.
    ///
    /// ## Why is this dangerous?
    /// These ops call a Python function of the process running the graph. The function itself
    /// is not stored in the SavedModel (it must be registered under the same token when the
    /// model is loaded), so the model alone cannot run it; but a model that expects one is
    /// made for an environment that supplies arbitrary Python, and loaders that register
    /// callbacks by token can be steered to them.
    ///
    /// ## How the verdict is decided
    /// `high` for each node, with its function token.
    ///
    /// ## False positives
    /// Research code that wraps NumPy preprocessing in `tf.py_function`.
    ///
    /// ## How to fix
    /// Replace the Python callback by TensorFlow ops before exporting.
    TF_PYFUNC { id: "MG-TF-PYFUNC", name: "tf-python-callback", severity: High, formats: [TensorflowSavedmodel, TensorflowGraphdef], fires: Query }
}

/// [`TF_PYFUNC`]: each Python-callback op.
pub fn check_tf_pyfunc(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    for n in nodes(facts)
        .iter()
        .filter(|n| PYFUNC.contains(&n.op.as_str()))
    {
        let at = format!("node {} ({}) in {}", n.name, n.op, n.graph);
        let token = n.token.clone().unwrap_or_default();
        out.emit(
            Finding::new(
                &TF_PYFUNC,
                Severity::High,
                format!("{at} calls back into Python (function token {token:?})"),
            )
            .evidence(at),
        );
    }
}

rule! {
    /// ## What it detects
    /// Ops that read files as part of ordinary pipelines, with paths inside the model
    /// directory or fed at run time: vocabulary tables from text files, dataset and reader
    /// ops, summary writers, `ImmutableConst` from a memmapped package. Listed with counts.
    ///
    /// ## Why is this dangerous?
    /// By themselves they are not: a text-vectorization layer reads its vocabulary asset.
    /// The list tells which files the model will open.
    ///
    /// ## How the verdict is decided
    /// `info`.
    ///
    /// ## False positives
    /// Not applicable: informational.
    ///
    /// ## How to fix
    /// Nothing to fix.
    TF_UNUSUAL_OP { id: "MG-TF-OPS", name: "tf-file-reading-ops", severity: Info, formats: [TensorflowSavedmodel, TensorflowGraphdef], fires: Query }
}

/// [`TF_UNUSUAL_OP`]: file-reading pipeline ops whose paths stay in the model directory (and
/// memory-mapped constants of the package), counted by op.
pub fn check_tf_unusual_op(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let mut unusual: BTreeMap<&str, usize> = BTreeMap::new();
    for n in nodes(facts) {
        if let Some(None) = reader_escape(n, "") {
            *unusual.entry(n.op.as_str()).or_default() += 1;
        }
    }
    if unusual.is_empty() {
        return;
    }
    let list: Vec<String> = unusual.iter().map(|(op, n)| format!("{op} ×{n}")).collect();
    out.emit(Finding::new(
        &TF_UNUSUAL_OP,
        Severity::Info,
        format!("ops that read files or map memory: {}", list.join(", ")),
    ));
}

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[&TF_FILE_OP, &TF_PYFUNC, &TF_UNUSUAL_OP];

/// This area's checks, in reporting order (see [`super::CHECKS`]).
pub static CHECKS: &[super::Check] = &[
    super::Check::on(&[crate::facts::FactsKind::Tensorflow], check_tf_file_op),
    super::Check::on(&[crate::facts::FactsKind::Tensorflow], check_tf_pyfunc),
    super::Check::on(&[crate::facts::FactsKind::Tensorflow], check_tf_unusual_op),
];
