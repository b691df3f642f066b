//! TensorFlow SavedModel / frozen GraphDef: ops of every graph and function library.

use super::{FormatCtx, Outcome};
use crate::source::ReadAt;

/// Analyse `src` as tensorflow.
pub fn analyze(_src: &dyn ReadAt, _ctx: &FormatCtx<'_>) -> Outcome {
    Outcome::unsupported("tensorflow")
}
