//! modelguard core: everything between the bytes of a model file and its report.
//!
//! - [`source`]: random access to bytes (files, buffers); read only what matters;
//! - [`facts`]: what readers extract, serialisable, judged by the rules' checks;
//! - [`formats`]: content sniffing and per-format readers (zip as loaders read it, npy…);
//! - [`judge`]: turns extracted facts (pickle calls, imports) into findings;
//! - [`rules`]: the rule registry, each rule's doc comment is its documentation;
//! - [`policy`]: the allowlist of what frameworks emit, plus the user's policy;
//! - [`config`]: the policy file, `modelguard.toml`;
//! - [`limits`]: every limit on input-driven work, in one place;
//! - [`member`]: container members streamed with bounded memory (large ones spilled to disk);
//! - [`report`]: the stable report model;
//! - [`signatures`]: YARA rules (bundled and the user's) over every source the driver reads;
//! - [`scan`]: the driver, [`Scanner`]; containers (zip, tar, compressors) are walked by
//!   the private `containers` module.
//!
//! This crate does no printing, no network and no database access: the CLI and the service
//! are thin shells over [`Scanner`].
//!
//! ```
//! use modelguard::{Scanner, report::Verdict};
//! let r = Scanner::default().scan_bytes("x.pkl", b"cos\nsystem\n(S'echo hi'\ntR.");
//! assert_eq!(r.verdict, Verdict::Malicious);
//! assert_eq!(r.findings[0].rule, "MG-PKL-PROC");
//! ```
#![forbid(unsafe_code)]

pub mod config;
mod containers;
mod evidence;
pub mod facts;
pub mod formats;
pub mod judge;
pub mod limits;
pub mod member;
pub mod policy;
pub mod report;
pub mod rules;
pub mod scan;
pub mod severity;
pub mod signatures;
pub mod source;

pub use limits::Limits;
pub use policy::Policy;
pub use scan::{HashMode, Scanner};
