//! 7z archives: members analysed like any other container.

use super::{FormatCtx, Outcome};
use crate::source::ReadAt;

/// Analyse `src` as 7z.
pub fn analyze(_src: &dyn ReadAt, _ctx: &FormatCtx<'_>) -> Outcome {
    Outcome::unsupported("7z")
}
