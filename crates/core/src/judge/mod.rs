//! Judges: extracted facts in, findings out.

pub mod pickle;
