//! Rules for code found inside model files (Python source, bytecode, TorchScript).

use super::Rule;
use crate::facts::{Emitter, Facts};
use crate::policy::Policy;
use crate::report::Finding;
use crate::rule;

rule! {
    /// ## What it detects
    /// TorchScript source (the `code/` folder of a `torch.jit.save` archive) that reaches a
    /// dangerous capability: process execution, `eval`/`exec`, native library loading
    /// (`torch.ops.load_library`), file or network access.
    ///
    /// ## Why is this dangerous?
    /// `torch.jit.load` compiles and runs this code. TorchScript is a restricted subset of
    /// Python, so a reach outside tensor operations is deliberate.
    ///
    /// ## How the verdict is decided
    /// Each `code/**.py` member is parsed with a real Python parser; imports, aliases, attribute
    /// chains and constant-folded names are resolved and matched against the capability catalog.
    /// Process/dynamic-code/native reaches are `critical`, others `high`. Ordinary TorchScript
    /// (aten ops, `__torch__` classes) raises nothing.
    ///
    /// ## False positives
    /// Custom operator libraries registered by your own package. Check the evidence.
    ///
    /// ## How to fix
    /// Export the weights (state_dict → safetensors) and rebuild the module from trusted code.
    TORCHSCRIPT_CODE { id: "MG-CODE-TORCHSCRIPT", name: "torchscript-code-capability", severity: Critical, formats: [Torchscript], fires: Load }
}

/// [`TORCHSCRIPT_CODE`]: each capability the source reaches, by the table for code that runs.
pub fn check_torchscript_code(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::TorchscriptCode(t) = facts else {
        return;
    };
    for h in &t.code.hits {
        out.emit(
            Finding::new(
                &TORCHSCRIPT_CODE,
                crate::severity::in_code(h.capability),
                format!(
                    "TorchScript code reaches {}, which {}",
                    h.target,
                    h.capability.describe()
                ),
            )
            .evidence(h.evidence.clone()),
        );
    }
}

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[&TORCHSCRIPT_CODE];

/// This area's checks, in reporting order (see [`super::CHECKS`]).
pub static CHECKS: &[super::Check] = &[super::Check::on(
    &[crate::facts::FactsKind::TorchscriptCode],
    check_torchscript_code,
)];
