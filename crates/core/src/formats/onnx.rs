//! ONNX `ModelProto`: external data paths, custom domains and functions, tensor consistency.

use super::{FormatCtx, Outcome};
use crate::source::ReadAt;

/// Analyse `src` as onnx.
pub fn analyze(_src: &dyn ReadAt, _ctx: &FormatCtx<'_>) -> Outcome {
    Outcome::unsupported("onnx")
}
