//! Rules about the scan's own configuration.

use super::Rule;
use crate::rule;

rule! {
    /// ## What it detects
    /// A policy file (`modelguard.toml`) inside the content being scanned that is not the
    /// policy in force. modelguard takes its policy only from the person running the scan:
    /// `--config FILE`, or the `modelguard.toml` found upward from the current working
    /// directory. A policy file inside a scanned directory is reported and never obeyed.
    ///
    /// ## Why is this dangerous?
    /// A downloaded model folder could ship `[rules] disable = ["*"]` or
    /// `[allow] globals = ["os.*"]` next to a malicious pickle: a scanner that obeys policy
    /// files found beside the scanned files lets the content judge itself.
    ///
    /// ## How the verdict is decided
    /// `low`: the file is not applied, so it changes no other verdict; it is reported because
    /// a model repository has no reason to carry a scanner policy.
    ///
    /// ## False positives
    /// A project's own policy file when the scan is started from outside the project (for
    /// example `modelguard scan repo/` from its parent directory).
    ///
    /// ## How to fix
    /// Run the scan from the project directory or pass `--config repo/modelguard.toml`;
    /// remove policy files from model repositories you publish.
    POLICY_IN_CONTENT { id: "MG-POLICY-IN-CONTENT", name: "policy-file-in-scanned-content", severity: Low, formats: any, fires: Other }
}

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[&POLICY_IN_CONTENT];
