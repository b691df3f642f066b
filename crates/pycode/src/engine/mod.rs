//! The symbolic evaluator shared by the source (AST) and bytecode analysers.
//!
//! Values are abstract ([`Val`]): constants that can be folded (strings, bytes, ints, tuples),
//! importable names (`Global("os.system")`), the builtins namespace, data flowing from
//! function parameters, objects reached through introspection, and "unknown". The walkers
//! (`source.rs`, `bytecode.rs`) resolve names and control flow; this module gives meaning to
//! attribute access, subscripts, calls and operators, records [`Hit`]s, unknown calls and
//! payloads, and follows constant code into `exec`/`eval`/`compile`/`marshal.loads`.
//!
//! - `value.rs`: the value model; `names.rs`: names, attributes and operators; `calls.rs`:
//!   calls and code runners; `builtins.rs` and `methods.rs`: constant folding; `layers.rs`:
//!   decoding layers; `format.rs`: Python's formatting and arithmetic; `text.rs`: `repr` and
//!   truncation (below the value model, which renders with them).
//!
//! Nested code (source or marshalled bytecode found in constants) goes back to the walkers
//! through [`Runners`], so this module does not import them (no module cycle).
//!
//! Must not: walk an AST or bytecode itself, or decide severities.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::rc::Rc;

use crate::catalog::{self, Capability};
use crate::decode::{self, Encoding, PyStr, PyValue};
use crate::knowledge::*;
use crate::{CodeFacts, Hit, Limits, Payload, PayloadKind};

/// Longest rendering kept in evidence strings.
const EVIDENCE_MAX: usize = 200;
/// Longest dotted path tracked before giving up on a name.
const PATH_MAX: usize = 512;
/// Caps on collected facts (memory bounds; crossing one makes the analysis incomplete).
const MAX_HITS: usize = 1000;
const MAX_UNKNOWN: usize = 200;
const MAX_PAYLOADS: usize = 64;
const MAX_ERRORS: usize = 32;
/// Total folded data across one analysis, as a multiple of `max_fold_len`.
const FOLD_TOTAL_FACTOR: usize = 16;

mod builtins;
mod calls;
mod format;
mod layers;
mod methods;
mod names;
mod text;
mod value;

pub(crate) use format::py_slice;
use format::*;
use layers::CodecOp;
use names::is_safe_path;
pub(crate) use names::{canonical, classify_path};
use text::*;
pub(crate) use value::{BinOp, CallArgs, Site, UnOp, Val};

/// Analyse Python source found in a constant.
pub(crate) type SourceRunner = for<'a, 'l> fn(&'a mut Engine<'l>, &'a str, &'a Site);
/// Analyse marshalled code found in a constant, with the Python version if known.
pub(crate) type MarshalRunner =
    for<'a, 'l> fn(&'a mut Engine<'l>, &'a [u8], Option<(u8, u8)>, &'a Site);

/// How the engine analyses nested code it finds in constants: the walkers' entry points,
/// given by the crate root (the walkers depend on the engine, not the other way round).
#[derive(Clone, Copy)]
pub(crate) struct Runners {
    /// Python source (`exec("…")`, `compile`).
    pub source: SourceRunner,
    /// Marshalled code (`marshal.loads(b"…")`), with the Python version if known.
    pub marshal: MarshalRunner,
}

/// A decoded blob waiting to be examined at the end of the analysis.
struct Pending {
    data: Rc<[u8]>,
    prov: Vec<String>,
    site: Site,
    line: Option<u32>,
}

fn blob_hash(data: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    data.hash(&mut h);
    h.finish()
}

/// Accumulates facts and budgets across one analysis (nested layers included).
pub(crate) struct Engine<'l> {
    pub limits: &'l Limits,
    /// Where nested code goes.
    runners: Runners,
    hits: Vec<Hit>,
    hit_set: HashSet<Hit>,
    unknown: Vec<String>,
    unknown_set: HashSet<String>,
    payloads: Vec<Payload>,
    errors: Vec<String>,
    complete: bool,
    decoded: usize,
    /// Decoded blobs not (yet) consumed by a decoder, evaluator or loader.
    pending: Vec<Pending>,
    /// Hashes of blobs that were consumed (or already examined).
    consumed: HashSet<u64>,
    folded: usize,
    nodes: usize,
    /// Current recursion depth of the walkers (shared across nested layers).
    pub depth: usize,
}

impl<'l> Engine<'l> {
    pub(crate) fn new(limits: &'l Limits, runners: Runners) -> Self {
        Engine {
            limits,
            runners,
            hits: Vec::new(),
            hit_set: HashSet::new(),
            unknown: Vec::new(),
            unknown_set: HashSet::new(),
            payloads: Vec::new(),
            errors: Vec::new(),
            complete: true,
            decoded: 0,
            pending: Vec::new(),
            consumed: HashSet::new(),
            folded: 0,
            nodes: 0,
            depth: 0,
        }
    }

    pub(crate) fn finish(self) -> CodeFacts {
        let inert = self.complete
            && self.hits.is_empty()
            && self.unknown.is_empty()
            && self.payloads.is_empty();
        CodeFacts {
            hits: self.hits,
            unknown_calls: self.unknown,
            payloads: self.payloads,
            inert,
            errors: self.errors,
            complete: self.complete,
        }
    }

    fn consume(&mut self, data: &[u8]) {
        self.consumed.insert(blob_hash(data));
    }

    /// Examine decoded blobs that no evaluator, decoder or loader consumed: a pickle is
    /// handed back as a payload, marshalled code and Python source are analysed (chain step
    /// `decoded`), compressed data is decompressed and examined in turn. Speculative: a blob
    /// that only looks like one of these adds no error.
    pub(crate) fn drain_pending(&mut self) {
        let mut rounds = 0;
        while !self.pending.is_empty() && rounds <= self.limits.max_decode_layers {
            rounds += 1;
            for p in std::mem::take(&mut self.pending) {
                if self.exhausted() || !self.consumed.insert(blob_hash(&p.data)) {
                    continue;
                }
                let nested = p.site.nested(&p.prov, "decoded", p.line);
                if nested.chain.len() > self.limits.max_decode_layers {
                    continue;
                }
                match decode::sniff_payload(&p.data) {
                    Some(PayloadKind::Pickle) => {
                        self.payload(
                            &p.site,
                            PayloadKind::Pickle,
                            p.data.to_vec(),
                            &p.prov,
                            "decoded",
                        );
                    }
                    Some(PayloadKind::Marshal)
                        if crate::marshal::loads(&p.data, None, self.limits).is_ok() =>
                    {
                        (self.runners.marshal)(self, &p.data, None, &nested);
                    }
                    Some(PayloadKind::Source) => {
                        if let Ok(text) = std::str::from_utf8(&p.data) {
                            (self.runners.source)(self, text, &nested);
                        }
                    }
                    Some(PayloadKind::Compressed(enc)) => {
                        let remaining = self.limits.max_decoded_bytes.saturating_sub(self.decoded);
                        let budget = Limits {
                            max_decoded_bytes: remaining,
                            ..self.limits.clone()
                        };
                        if let Ok(out) = decode::decode(enc, &p.data, &budget) {
                            self.decoded = self.decoded.saturating_add(out.len());
                            let mut prov = p.prov.clone();
                            prov.push(enc.as_str().to_string());
                            self.pending.push(Pending {
                                data: out.into(),
                                prov,
                                site: p.site.clone(),
                                line: p.line,
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Record a problem that makes the analysis incomplete.
    pub(crate) fn incomplete(&mut self, msg: impl Into<String>) {
        self.complete = false;
        self.error(msg);
    }

    /// Record a problem (deduplicated, capped).
    pub(crate) fn error(&mut self, msg: impl Into<String>) {
        let msg = msg.into();
        if self.errors.len() < MAX_ERRORS && !self.errors.contains(&msg) {
            self.errors.push(msg);
        }
    }

    /// Count one visited node/instruction; false once the budget is spent.
    pub(crate) fn tick(&mut self) -> bool {
        self.nodes = self.nodes.saturating_add(1);
        if self.nodes > self.limits.max_ast_nodes {
            if self.complete || !self.errors.iter().any(|e| e.contains("max_ast_nodes")) {
                self.incomplete("limit max_ast_nodes reached: analysis stopped");
            }
            return false;
        }
        true
    }

    /// Whether the node budget is spent.
    pub(crate) fn exhausted(&self) -> bool {
        self.nodes > self.limits.max_ast_nodes
    }

    /// Enter one recursion level; false (and incomplete) past `max_depth`.
    pub(crate) fn enter(&mut self) -> bool {
        if self.depth >= self.limits.max_depth {
            if !self.errors.iter().any(|e| e.contains("max_depth")) {
                self.incomplete("limit max_depth reached: nested code not analysed");
            }
            self.complete = false;
            return false;
        }
        self.depth += 1;
        true
    }

    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    pub(crate) fn hit(
        &mut self,
        site: &Site,
        capability: Capability,
        target: &str,
        evidence: &str,
        line: Option<u32>,
    ) {
        let hit = Hit {
            capability,
            target: target.to_string(),
            evidence: truncate(&one_line(evidence), EVIDENCE_MAX),
            chain: site.chain.clone(),
            line: site.line.or(line),
        };
        if self.hit_set.contains(&hit) {
            return;
        }
        if self.hits.len() >= MAX_HITS {
            self.incomplete("too many hits: further hits dropped");
            return;
        }
        self.hit_set.insert(hit.clone());
        self.hits.push(hit);
    }

    pub(crate) fn unknown_call(&mut self, name: &str) {
        let name = truncate(&one_line(name), EVIDENCE_MAX);
        if self.unknown_set.contains(&name) {
            return;
        }
        if self.unknown.len() >= MAX_UNKNOWN {
            self.incomplete("too many unknown calls: further ones dropped");
            return;
        }
        self.unknown_set.insert(name.clone());
        self.unknown.push(name);
    }

    fn payload(
        &mut self,
        site: &Site,
        kind: PayloadKind,
        data: Vec<u8>,
        prov: &[String],
        step: &str,
    ) {
        if self.payloads.len() >= MAX_PAYLOADS {
            self.incomplete("too many payloads: further ones dropped");
            return;
        }
        let chain = site.nested(prov, step, None).chain;
        self.payloads.push(Payload { kind, data, chain });
    }

    /// Check a folded value against `max_fold_len`; oversize values become unknown.
    pub(crate) fn fold(&mut self, v: Val) -> Val {
        let size = v.fold_size();
        if size > self.limits.max_fold_len {
            return self.fold_oversize_val(&v);
        }
        // All folds of one analysis share a budget, so many folds cannot add up unbounded.
        self.folded = self.folded.saturating_add(size);
        if self.folded > self.limits.max_fold_len.saturating_mul(FOLD_TOTAL_FACTOR) {
            self.incomplete("limit max_fold_len reached: total folded data, constant not folded");
            return Val::Unknown;
        }
        v
    }

    /// Most elements a folded sequence may have.
    pub(crate) fn max_items(&self) -> usize {
        self.limits.max_fold_len / 16
    }

    // ----- names -------------------------------------------------------------------------
}
