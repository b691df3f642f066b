//! safetensors: strict header validation.

use super::{FormatCtx, Outcome, Problem};
use crate::source::{ReadAt, read_range};

/// Analyse `src` as safetensors. (Minimal check: the header must be JSON within bounds.)
pub fn analyze(src: &dyn ReadAt, _ctx: &FormatCtx<'_>) -> Outcome {
    let mut out = Outcome {
        format: "safetensors",
        ..Outcome::default()
    };
    let n = read_range(src, 0, 8)
        .ok()
        .and_then(|h| <[u8; 8]>::try_from(h.as_slice()).ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0);
    let ok = match read_range(src, 8, n) {
        Ok(h) => h.len() as u64 == n && serde_json::from_slice::<serde_json::Value>(&h).is_ok(),
        Err(_) => false,
    };
    if !ok {
        out.problems.push(Problem {
            fatal: true,
            message: "safetensors header is not valid JSON".into(),
            offset: Some(8),
        });
    }
    out
}
