//! Rules for TFLite flatbuffers (custom ops, Flex delegate ops).

#[allow(unused_imports)]
use crate::rule;
use super::Rule;

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[];
