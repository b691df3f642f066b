//! The `modelguard` binary.
fn main() {}
