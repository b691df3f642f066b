//! Rules for ONNX models.

use super::Rule;
use crate::rule;

rule! {
    /// ## What it detects
    /// A tensor whose `external_data` location leaves the model directory: an absolute path,
    /// a `..` component, a Windows drive letter or UNC path, a backslash root, a URL scheme
    /// (`file://`, `http://`), a home-directory `~`, a NUL byte or an empty location. Every
    /// graph is checked: the main graph, subgraphs of `If`/`Loop`/`Scan`, training graphs and
    /// model-local functions.
    ///
    /// ## Why is this dangerous?
    /// ONNX loaders (`onnx.load`, onnxruntime) open external data relative to the model's
    /// directory. A location like `../../../etc/passwd` or `/home/user/.ssh/id_rsa` makes the
    /// loader read that file into a tensor, which the model can then return or a service can
    /// leak (CVE-2024-27318, CVE-2024-5187 for the writing side in `onnx.save`/`load`).
    ///
    /// ## How the verdict is decided
    /// `high` for each distinct location. Locations that stay inside the model directory
    /// (`weights.bin`, `data/w.bin`) are not reported.
    ///
    /// ## False positives
    /// Models exported with an absolute path by a careless script: they do not work on
    /// another machine either.
    ///
    /// ## How to fix
    /// Re-save with `onnx.save_model(m, path, save_as_external_data=True, location="x.data")`
    /// so that every location is a plain file name next to the model.
    ONNX_EXTDATA { id: "MG-ONNX-EXTDATA", name: "onnx-external-data-path", severity: High, formats: [Onnx], fires: Load }
}

rule! {
    /// ## What it detects
    /// Operators from domains other than the ONNX standard and onnxruntime's built-in ones
    /// (`""`, `ai.onnx`, `ai.onnx.ml`, `ai.onnx.training`, `ai.onnx.preview.training`,
    /// `com.microsoft*`), and functions defined inside the model. The finding lists them.
    ///
    /// ## Why is this dangerous?
    /// A custom operator runs native code from a library the application registers
    /// (`SessionOptions.register_custom_ops_library`, onnxruntime-extensions). The model
    /// cannot load that library itself, but it tells you which native code the deployment
    /// will run, and a model that needs an unknown library is worth a look.
    ///
    /// ## How the verdict is decided
    /// `info`: a fact, not a verdict.
    ///
    /// ## False positives
    /// Models built for onnxruntime-extensions (tokenizers, `ai.onnx.contrib`) or vendor
    /// runtimes.
    ///
    /// ## How to fix
    /// Nothing to fix; check that the library providing the domain is one you trust.
    ONNX_CUSTOM_OP { id: "MG-ONNX-CUSTOM-OP", name: "onnx-custom-operator", severity: Info, formats: [Onnx], fires: Load }
}

rule! {
    /// ## What it detects
    /// Tensors whose declared shape and data disagree: `raw_data` length different from
    /// dims × element size, typed data fields with the wrong number of values, negative
    /// dimensions, dimension products that overflow, declared sizes above 1 TiB, `raw_data`
    /// for string types, external data without a location or with a `length` that
    /// contradicts the shape.
    ///
    /// ## Why is this dangerous?
    /// Readers that trust the declared shape read past the data they were given: crashes,
    /// memory disclosure in native runtimes, or huge allocations (denial of service). A
    /// model produced by a real exporter never has these.
    ///
    /// ## How the verdict is decided
    /// `medium`, one finding listing the first ten tensors.
    ///
    /// ## False positives
    /// Hand-edited models.
    ///
    /// ## How to fix
    /// Re-export the model; run `onnx.checker.check_model(m, full_check=True)`.
    ONNX_TENSOR { id: "MG-ONNX-TENSOR", name: "onnx-inconsistent-tensor", severity: Medium, formats: [Onnx], fires: Load }
}

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[&ONNX_EXTDATA, &ONNX_CUSTOM_OP, &ONNX_TENSOR];
