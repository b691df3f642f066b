//! Rules for TFLite flatbuffers (custom ops, Flex delegate ops).

use super::Rule;
use crate::facts::{Emitter, Facts};
use crate::formats::tflite::{BUILTIN_CUSTOM, FLEX_PYTHON, FLEX_READ, FLEX_WRITE, MAX_LISTED};
use crate::policy::Policy;
use crate::report::{Finding, Severity};
use crate::rule;

rule! {
    /// ## What it detects
    /// TFLite operator codes that are not builtin operators: custom ops (`custom_code`), listed
    /// by name.
    ///
    /// ## Why is this dangerous?
    /// A custom op runs native code that the application registers with the interpreter; the
    /// model file only names it. The list tells what the model needs and which ops to review.
    ///
    /// ## How the verdict is decided
    /// `info`: by itself a custom op name runs nothing. Flex (TensorFlow) ops that reach files
    /// or Python are reported by `MG-TFLITE-FLEX`.
    ///
    /// ## False positives
    /// Not a risk finding.
    ///
    /// ## How to fix
    /// Nothing to fix; make sure the op implementations you register are trusted.
    TFLITE_CUSTOM_OP { id: "MG-TFLITE-CUSTOM-OP", name: "tflite-custom-op", severity: Info, formats: [Tflite], fires: Query }
}

/// [`TFLITE_CUSTOM_OP`]: every custom (or Flex) operator code, listed once per model.
pub fn check_custom_op(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::Tflite(t) = facts else {
        return;
    };
    let mut custom: Vec<String> = t
        .op_codes
        .iter()
        .filter_map(|c| {
            let name = c.custom.as_deref()?;
            (c.builtin == BUILTIN_CUSTOM || name.starts_with("Flex"))
                .then(|| format!("{name} (used {}×)", c.uses))
        })
        .collect();
    if custom.is_empty() {
        return;
    }
    let n = custom.len();
    custom.truncate(MAX_LISTED);
    out.emit(
        Finding::new(
            &TFLITE_CUSTOM_OP,
            Severity::Info,
            format!("{n} custom operator code(s)"),
        )
        .evidence(custom.join(", ")),
    );
}

rule! {
    /// ## What it detects
    /// TFLite custom ops run by the Flex delegate (`custom_code` starting with `Flex`, i.e. a
    /// full TensorFlow op) whose TensorFlow op reads or writes files or calls back into
    /// Python: `FlexReadFile`, `FlexWriteFile`, `FlexMatchingFiles`, `FlexSave(V2)`,
    /// `FlexRestore(V2)`, `FlexPyFunc`, `FlexEagerPyFunc`, dataset readers… The delegate runs
    /// the op of the `NodeDef` serialised in each operator's custom options, not the op the
    /// `custom_code` names, so those `NodeDef`s are read too (`FlexAdd` whose `NodeDef` says
    /// `WriteFile` is reported as `WriteFile`).
    ///
    /// ## Why is this dangerous?
    /// With the Flex delegate linked in (the `tensorflow` pip package's interpreter, or
    /// `tensorflow-lite-select-tf-ops`), these ops run with the application's rights when the
    /// model is invoked: reading secrets, overwriting files, or running Python callbacks.
    ///
    /// ## How the verdict is decided
    /// `critical` for Python callbacks (`PyFunc`, `PyFuncStateless`, `EagerPyFunc`); `high`
    /// for file writes and reads. Other Flex ops are listed by `MG-TFLITE-CUSTOM-OP`.
    ///
    /// ## False positives
    /// Models that legitimately read a vocabulary file through a Flex op (rare: converters
    /// bake assets into the model).
    ///
    /// ## How to fix
    /// Do not run the model with the Flex delegate; re-convert it with builtin ops only.
    TFLITE_FLEX { id: "MG-TFLITE-FLEX", name: "tflite-flex-dangerous-op", severity: High, formats: [Tflite], fires: Query }
}

/// [`TFLITE_FLEX`]: Flex codes (and the ops their `NodeDef`s name) that call back into
/// Python (`critical`), write or read files (`high`).
pub fn check_flex(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::Tflite(t) = facts else {
        return;
    };
    for c in &t.op_codes {
        let Some(name) = c.custom.as_deref() else {
            continue;
        };
        let Some(named) = name.strip_prefix("Flex") else {
            continue;
        };
        let mut tf_ops: Vec<&str> = vec![named];
        tf_ops.extend(
            c.nodedef_ops
                .iter()
                .map(String::as_str)
                .filter(|o| *o != named),
        );
        for tf_op in tf_ops {
            let (sev, what) = if FLEX_PYTHON.contains(&tf_op) {
                (Severity::Critical, "calls back into Python")
            } else if FLEX_WRITE.contains(&tf_op) {
                (Severity::High, "writes files")
            } else if FLEX_READ.contains(&tf_op) {
                (Severity::High, "reads files")
            } else {
                continue;
            };
            let (message, evidence) = if tf_op == named {
                (
                    format!("Flex op {name} {what} when the model runs with the Flex delegate"),
                    format!("custom_code {name}, used by {} operator(s)", c.uses),
                )
            } else {
                (
                    format!(
                        "Flex op {name} runs TensorFlow op {tf_op} (from its NodeDef), which {what}"
                    ),
                    format!("custom_code {name}, NodeDef op {tf_op}"),
                )
            };
            out.emit(Finding::new(&TFLITE_FLEX, sev, message).evidence(evidence));
        }
    }
}

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[&TFLITE_CUSTOM_OP, &TFLITE_FLEX];

/// This area's checks, in reporting order (see [`super::CHECKS`]).
pub static CHECKS: &[super::Check] = &[
    super::Check::on(&[crate::facts::FactsKind::Tflite], check_flex),
    super::Check::on(&[crate::facts::FactsKind::Tflite], check_custom_op),
];
