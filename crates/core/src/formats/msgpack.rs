//! Flax / msgpack checkpoints: ext types and nested pickles.

use super::{FormatCtx, Outcome};
use crate::source::ReadAt;

/// Analyse `src` as msgpack.
pub fn analyze(_src: &dyn ReadAt, _ctx: &FormatCtx<'_>) -> Outcome {
    Outcome::unsupported("msgpack")
}
