//! Python knowledge for modelguard.
//!
//! This crate owns what modelguard knows about Python itself:
//! - [`catalog`]: which importable callables reach which [`catalog::Capability`]
//!   (process execution, dynamic code, filesystem, network, native code, import machinery…),
//!   shared by the pickle rules and the source/bytecode analysers so both judge a name the same way;
//! - analysis of Python source handed to evaluators and of marshalled code objects
//!   (added by the deep code analysis work).
//!
//! It must not read files, know about model formats or decide severities: it reports facts
//! (capabilities reached, with evidence); the core crate's rules turn them into findings.
#![forbid(unsafe_code)]

pub mod catalog;
