//! GGUF: header, metadata of every version, and chat templates parsed as Jinja and analysed for sandbox escapes.

use super::{FormatCtx, Outcome};
use crate::source::ReadAt;

/// Analyse `src` as gguf.
pub fn analyze(_src: &dyn ReadAt, _ctx: &FormatCtx<'_>) -> Outcome {
    Outcome::unsupported("gguf")
}
