//! Rules for ONNX models.

use modelguard_pycode::catalog::Capability;

use super::Rule;
use crate::facts::{Emitter, Facts};
use crate::formats::onnx::{MAX_TENSORS_LISTED, location_problem};
use crate::policy::Policy;
use crate::report::{Finding, Severity};
use crate::rule;

/// Severity of code in a custom node's attribute reaching `cap`: the runtime's registered
/// implementation runs it, so every reach is at least `high`.
fn code_severity(cap: Capability) -> Severity {
    match cap {
        Capability::ProcessExec
        | Capability::DynamicCode
        | Capability::CodeObject
        | Capability::NativeCode
        | Capability::Deserialize
        | Capability::ImportMachinery => Severity::Critical,
        Capability::FileWrite
        | Capability::FileRead
        | Capability::Network
        | Capability::Introspection
        | Capability::ProcessControl => Severity::High,
    }
}

/// Evidence shortened to 200 characters.
fn clip(s: &str) -> String {
    if s.chars().count() <= 200 {
        s.to_string()
    } else {
        let cut: String = s.chars().take(200).collect();
        format!("{cut}…")
    }
}

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

/// [`ONNX_EXTDATA`]: each distinct external-data location that leaves the model directory.
pub fn check_onnx_extdata(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::Onnx(o) = facts else {
        return;
    };
    for e in &o.external_data {
        let loc = &e.location;
        let Some(why) = location_problem(loc) else {
            continue;
        };
        let message = match &e.tensor {
            Some(tensor) => format!("external data location of tensor {tensor} {why}: {loc:?}"),
            None => format!("external data location of the tensor {why}: {loc:?}"),
        };
        out.emit(Finding::new(&ONNX_EXTDATA, Severity::High, message).evidence(loc.clone()));
    }
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

/// [`ONNX_CUSTOM_OP`]: code and command lines in custom nodes' attributes (by what they
/// reach), then the custom domains' operators and the model-local functions (`info`).
pub fn check_onnx_custom_op(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::Onnx(o) = facts else {
        return;
    };
    for c in &o.code {
        let at = format!(
            "node {} ({}:{}) attribute {}",
            c.node, c.domain, c.op, c.attribute
        );
        for h in &c.hits {
            let chain = if h.chain.is_empty() {
                String::new()
            } else {
                format!(" (through {})", h.chain.join(" → "))
            };
            out.emit(
                Finding::new(
                    &ONNX_CUSTOM_OP,
                    code_severity(h.capability),
                    format!(
                        "{at} holds Python code that {}: {}{chain}",
                        h.capability.describe(),
                        h.target
                    ),
                )
                .evidence(clip(&h.evidence)),
            );
        }
        if let Some(command) = &c.command {
            out.emit(
                Finding::new(
                    &ONNX_CUSTOM_OP,
                    Severity::High,
                    format!("{at} holds a shell command line"),
                )
                .evidence(clip(command)),
            );
        }
    }
    if !o.custom_ops.is_empty() {
        let list: Vec<String> = o
            .custom_ops
            .iter()
            .map(|(d, ops)| {
                format!(
                    "{d}: {}",
                    ops.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        out.emit(Finding::new(
            &ONNX_CUSTOM_OP,
            Severity::Info,
            format!("operators from custom domains: {}", list.join("; ")),
        ));
    }
    if !o.functions.is_empty() {
        let list: Vec<String> = o
            .functions
            .iter()
            .map(|f| {
                if f.domain.is_empty() {
                    f.name.clone()
                } else {
                    format!("{}.{}", f.domain, f.name)
                }
            })
            .collect();
        out.emit(Finding::new(
            &ONNX_CUSTOM_OP,
            Severity::Info,
            format!("model-local functions: {}", list.join(", ")),
        ));
    }
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

/// [`ONNX_TENSOR`]: one finding listing the inconsistent tensors.
pub fn check_onnx_tensor(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::Onnx(o) = facts else {
        return;
    };
    let n = o.inconsistent_count;
    if n == 0 {
        return;
    }
    let shown: Vec<&str> = o
        .inconsistent_tensors
        .iter()
        .take(MAX_TENSORS_LISTED)
        .map(String::as_str)
        .collect();
    out.emit(Finding::new(
        &ONNX_TENSOR,
        Severity::Medium,
        format!(
            "{n} inconsistent tensor{}: {}{}",
            if n == 1 { "" } else { "s" },
            shown.join("; "),
            if n > MAX_TENSORS_LISTED { "; …" } else { "" }
        ),
    ));
}

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[&ONNX_EXTDATA, &ONNX_CUSTOM_OP, &ONNX_TENSOR];

/// This area's checks, in reporting order (see [`super::CHECKS`]).
pub static CHECKS: &[super::Check] = &[
    super::Check::on(&[crate::facts::FactsKind::Onnx], check_onnx_custom_op),
    super::Check::on(&[crate::facts::FactsKind::Onnx], check_onnx_extdata),
    super::Check::on(&[crate::facts::FactsKind::Onnx], check_onnx_tensor),
];
