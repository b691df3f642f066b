//! Rules for structural checks of data-only formats (safetensors, msgpack, npy headers).

use super::Rule;
#[allow(unused_imports)]
use crate::rule;

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[];
