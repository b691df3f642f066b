//! Rules for signature matches (YARA, ClamAV, EICAR).

use super::Rule;
#[allow(unused_imports)]
use crate::rule;

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[];
