//! Rules for Keras models (HDF5, .keras, SavedModel metadata).

use super::Rule;
#[allow(unused_imports)]
use crate::rule;

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[];
