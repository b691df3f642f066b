//! Rules for Flax/msgpack checkpoints (ext types, embedded pickles).

#[allow(unused_imports)]
use crate::rule;
use super::Rule;

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[];
