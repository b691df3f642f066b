//! Keras: HDF5 `.h5` model configs, `.keras` zip configs, SavedModel `keras_metadata.pb`; Lambda layers (marshalled bytecode) and function references.

use super::{FormatCtx, Outcome};
use crate::source::ReadAt;

/// Analyse `src` as keras.
pub fn analyze(_src: &dyn ReadAt, _ctx: &FormatCtx<'_>) -> Outcome {
    Outcome::unsupported("keras")
}
