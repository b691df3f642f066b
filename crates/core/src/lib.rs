//! modelguard core.
#![forbid(unsafe_code)]
