//! modelguard report writers: a finished [`Report`](modelguard::report::Report) in, text out.
//! One implementation for the CLI and the service, so the shapes cannot drift.
//!
//! - [`json`]: the full report (`--format json`), serde_json's pretty layout, per-file
//!   entries writable in parallel;
//! - [`sarif`]: SARIF 2.1.0 for code-scanning dashboards (GitHub);
//! - [`hub`]: the Hugging Face Hub shape: per-file statuses, `--format hf`, the service's
//!   `securityFileStatus` object and per-revision SARIF;
//! - [`text`]: the terminal report;
//! - [`fingerprint`]: stable finding fingerprints (baselines, SARIF).
//!
//! Must not: scan, walk files, read policy or decide exit codes.
//!
//! ```
//! use modelguard::{Scanner, report::Report};
//! let s = Scanner::default();
//! let r = Report::new(s.info(), vec![s.scan_bytes("x.pkl", b"cos\nsystem\n(S'echo hi'\ntR.")]);
//! assert_eq!(modelguard_report::hub::status(&r.files[0]), "unsafe");
//! let mut out = Vec::new();
//! modelguard_report::text::write(&r, false, false, &mut out).unwrap();
//! assert!(String::from_utf8_lossy(&out).starts_with("MALICIOUS x.pkl"));
//! ```
#![forbid(unsafe_code)]

pub mod fingerprint;
pub mod hub;
pub mod json;
pub mod sarif;
pub mod text;
