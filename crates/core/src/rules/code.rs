//! Rules for code found inside model files (Python source, bytecode, TorchScript).

use super::Rule;
#[allow(unused_imports)]
use crate::rule;

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[];
