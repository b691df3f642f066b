//! The report writers of `--format`, as strings, for shells that build a [`Report`]
//! themselves (the Python package): the same bytes `modelguard scan` writes.
//!
//! Must not: change the bytes a writer produces (the CLI's own output uses the same writers).

use modelguard::report::Report;

/// `--format json` (pretty, newline-terminated).
pub fn json(report: &Report) -> anyhow::Result<String> {
    let mut out = Vec::new();
    modelguard_report::json::write(report, None, &mut out)?;
    Ok(String::from_utf8(out)?)
}

/// `--format sarif`; `walk_errors` become tool notifications.
pub fn sarif(report: &Report, walk_errors: &[String]) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(
        &modelguard_report::sarif::log(report, walk_errors),
    )?)
}

/// `--format hf`.
pub fn hf(report: &Report) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(
        &modelguard_report::hub::document(report),
    )?)
}

/// `--format text` without colour; `quiet` leaves clean files out.
pub fn text(report: &Report, quiet: bool) -> anyhow::Result<String> {
    let mut out = Vec::new();
    modelguard_report::text::write(report, quiet, false, &mut out)?;
    Ok(String::from_utf8(out)?)
}
