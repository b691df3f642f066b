//! Finding fingerprints: SHA-256 over the rule ID, the file path (`/`-separated, without a
//! leading `./`), the member path and the evidence, truncated to 128 bits. Severity and
//! message are left out so that rewording a message or overriding a severity does not make an
//! accepted finding new. Baselines (CLI) and SARIF's `partialFingerprints` share it.

use modelguard::report::Finding;
use sha2::{Digest, Sha256};

/// The path as it enters fingerprints: `/`-separated, no leading `./`.
pub fn normalize_path(path: &str) -> String {
    let p = path.replace('\\', "/");
    let mut s = p.as_str();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s.to_string()
}

/// The stable fingerprint of a finding in the file at `path`.
pub fn fingerprint(path: &str, f: &Finding) -> String {
    let mut h = Sha256::new();
    for part in [
        "modelguardFinding/v1",
        f.rule.as_str(),
        &normalize_path(path),
        f.location.member.as_deref().unwrap_or(""),
        f.evidence.as_deref().unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    modelguard::report::hex(h.finalize().get(..16).unwrap_or_default())
}
