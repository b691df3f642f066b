//! Rules for TensorFlow graphs (SavedModel, GraphDef, TFLite).

use super::Rule;
use crate::rule;

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

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[&TF_FILE_OP, &TF_PYFUNC, &TF_UNUSUAL_OP];
