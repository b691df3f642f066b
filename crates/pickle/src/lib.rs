//! Symbolic pickle virtual machine for modelguard.
//!
//! This crate owns one job: turn the bytes of a pickle stream (protocols 0–5, several pickles
//! back to back, trailing garbage) into a graph of symbolic values — imports, calls with their
//! arguments, `BUILD`/`__setstate__` steps, persistent ids — and render any value as Python-like
//! source for evidence. It never executes, imports or allocates without bound: every piece of
//! work driven by the input is capped by [`Limits`].
//!
//! It must not know about files, containers, policy, rules or severities; those live in the
//! `modelguard` core crate, which judges what this crate reports.
//!
//! ```
//! let data = b"cos\nsystem\n(Vecho hi\ntR.";
//! let a = modelguard_pickle::analyze(data, &modelguard_pickle::Limits::default());
//! assert!(a.error.is_none());
//! let call = &a.calls[0];
//! assert_eq!(a.render(call.result), "os.system('echo hi')");
//! ```
#![forbid(unsafe_code)]

mod types;
pub use types::*;
