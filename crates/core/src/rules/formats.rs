//! Rules for structural checks of data-only formats (safetensors, msgpack, npy headers).

use super::Rule;
use crate::facts::{Emitter, Facts};
use crate::policy::Policy;
use crate::report::{Finding, Severity};
use crate::rule;

rule! {
    /// ## What it detects
    /// A safetensors header that breaks the format: a repeated key, a `__metadata__` that is
    /// not a map of strings, a tensor entry with an unknown dtype, a shape that is not a list
    /// of non-negative integers, `data_offsets` whose length differs from shape × dtype size
    /// (overflow-checked), spans beyond the data area, overlapping spans, or gaps between
    /// them. Bytes after the last tensor are reported as `info`.
    ///
    /// ## Why is this dangerous?
    /// safetensors carries no code, but a header readers interpret differently is how data is
    /// smuggled past reviews: JSON parsers keep the first or the last copy of a repeated key,
    /// overlapping spans make two tensors share bytes, gaps and trailing bytes hold data no
    /// tensor accounts for (a second payload for a custom loader), and overflowing sizes
    /// crash or confuse readers that do not check them.
    ///
    /// ## How the verdict is decided
    /// The checks mirror the reference implementation's validation. Any violation: `medium`,
    /// one finding listing them. A header that is not a JSON object, or a header length beyond
    /// the file, makes the status `error`.
    ///
    /// ## False positives
    /// Files written by non-standard tools that pad or align the data area.
    ///
    /// ## How to fix
    /// Re-save the tensors with the `safetensors` library (`save_file`).
    ST_HEADER { id: "MG-ST-HEADER", name: "safetensors-header", severity: Medium, formats: [Safetensors], fires: Load }
}

/// [`ST_HEADER`]: a header that breaks the format (`medium`, every violation listed up to ten);
/// bytes after the last tensor (`info`).
pub fn check_st_header(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::Safetensors(st) = facts else {
        return;
    };
    let bad = &st.violations;
    if !bad.is_empty() {
        let shown: Vec<&str> = bad.iter().take(10).map(String::as_str).collect();
        out.emit(
            Finding::new(
                &ST_HEADER,
                Severity::Medium,
                format!(
                    "safetensors header violates the format ({} problem{}): {}{}",
                    bad.len(),
                    if bad.len() == 1 { "" } else { "s" },
                    shown.join("; "),
                    if bad.len() > 10 { "; …" } else { "" }
                ),
            )
            .evidence(st.header_excerpt.clone())
            .offset(Some(8)),
        );
    }
    if st.trailing > 0 {
        out.emit(
            Finding::new(
                &ST_HEADER,
                Severity::Info,
                format!(
                    "{} bytes after the last tensor belong to no tensor",
                    st.trailing
                ),
            )
            .offset(Some(st.trailing_offset)),
        );
    }
}

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[&ST_HEADER];

/// This area's checks, in reporting order (see [`super::CHECKS`]).
pub static CHECKS: &[super::Check] = &[super::Check::on(
    &[crate::facts::FactsKind::Safetensors],
    check_st_header,
)];
