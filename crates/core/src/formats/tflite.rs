//! TFLite flatbuffers: custom ops and Flex delegate ops.

use super::{FormatCtx, Outcome};
use crate::source::ReadAt;

/// Analyse `src` as tflite.
pub fn analyze(_src: &dyn ReadAt, _ctx: &FormatCtx<'_>) -> Outcome {
    Outcome::unsupported("tflite")
}
