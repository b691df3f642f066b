//! Flax/msgpack checkpoints: a streaming, bounded msgpack walker.
//!
//! Hand-written rather than `rmpv`: a checkpoint is mostly tensor bytes, and a value-tree
//! decoder would copy every tensor into memory. This walker reads markers and lengths through
//! [`ReadAt`], skips blob contents it does not need, and only reads a blob whose first bytes
//! look like a pickle (or an unknown extension type's payload), which it hands to the driver
//! as a nested file. Nesting (maps/arrays) is tracked with an explicit stack bounded by
//! `max_msgpack_depth`; the number of values walked by `max_msgpack_items`.
//!
//! Flax (`flax.serialization.msgpack_serialize`) writes ext code 1 for ndarrays, 2 for native
//! complex numbers and 3 for numpy scalars; any other code is reported.

use super::{FormatCtx, Kind, Outcome, Problem, sniff};
use crate::source::{ReadAt, read_range};

/// Ext codes written by `flax.serialization`: ndarray, native complex, numpy scalar.
const FLAX_EXT: &[i8] = &[1, 2, 3];

/// Bytes looked at to decide whether a blob is worth reading.
const PEEK: u64 = 16;

/// Most findings of one kind reported per file (the rest are counted in the last message).
const MAX_REPORTED: usize = 32;

/// One open map or array.
struct Frame {
    /// Values still to read (maps count keys and values).
    remaining: u64,
    /// A map: values at even positions are keys.
    map: bool,
    /// The last key read in this map (for the field path in evidence).
    key: Option<String>,
}

/// What was read at one position.
enum Item {
    /// A scalar (or a skipped blob).
    Scalar,
    /// A string short enough to be a map key.
    Text(String),
    /// A container holding `n` values.
    Container(u64, bool),
}

struct Walker<'a> {
    src: &'a dyn ReadAt,
    ctx: &'a FormatCtx<'a>,
    pos: u64,
    size: u64,
    out: Outcome,
    stack: Vec<Frame>,
    ext_reported: usize,
    pickles: usize,
    nested_bytes: u64,
    facts: MsgpackFacts,
}

/// Stop the walk: malformed or over a limit.
struct Stop(Problem);

fn fatal(message: String, offset: u64) -> Stop {
    Stop(Problem {
        fatal: true,
        message,
        offset: Some(offset),
    })
}

fn limit(message: String, offset: u64) -> Stop {
    Stop(Problem {
        fatal: false,
        message,
        offset: Some(offset),
    })
}

/// What a msgpack file holds that a loader may act on, for the rules (see [`crate::facts`]);
/// each list bounded by `MAX_REPORTED`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MsgpackFacts {
    /// Ext values of types Flax does not write, in stream order.
    pub unknown_ext: Vec<MsgpackBlob>,
    /// Values that are pickle streams, in stream order.
    pub pickles: Vec<MsgpackBlob>,
}

/// One str, bin or ext payload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MsgpackBlob {
    /// The field path (`params/Dense_0/kernel`).
    pub path: String,
    /// The ext type code, for an ext value.
    pub ext: Option<i8>,
    /// Payload length.
    pub len: u64,
    /// Payload offset.
    pub offset: u64,
}

/// Analyse `src` as a msgpack file (Flax checkpoint).
pub fn analyze(src: &dyn ReadAt, ctx: &FormatCtx<'_>) -> Outcome {
    let mut w = Walker {
        src,
        ctx,
        pos: 0,
        size: src.size(),
        out: Outcome::new(super::FormatId::Msgpack),
        stack: Vec::new(),
        ext_reported: 0,
        pickles: 0,
        nested_bytes: 0,
        facts: MsgpackFacts::default(),
    };
    if w.size == 0 {
        w.out.problems.push(Problem {
            fatal: true,
            message: "empty msgpack file".into(),
            offset: Some(0),
        });
        return w.out;
    }
    if let Err(Stop(p)) = w.run() {
        w.out.problems.push(p);
    }
    let facts = std::mem::take(&mut w.facts);
    w.out.facts.push(facts.into());
    w.out
}

impl Walker<'_> {
    fn bytes(&self, at: u64, n: u64) -> Result<Vec<u8>, Stop> {
        let b = read_range(self.src, at, n).map_err(|e| fatal(format!("msgpack: {e}"), at))?;
        if (b.len() as u64) < n {
            return Err(fatal("truncated msgpack value".into(), at));
        }
        Ok(b)
    }

    /// Read a big-endian unsigned integer of `n` bytes (1, 2, 4 or 8).
    fn uint(&mut self, n: u64) -> Result<u64, Stop> {
        let b = self.bytes(self.pos, n)?;
        self.pos += n;
        Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    fn skip(&mut self, n: u64) -> Result<(), Stop> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.size)
            .ok_or_else(|| fatal("truncated msgpack value".into(), self.pos))?;
        self.pos = end;
        Ok(())
    }

    /// The field path of the value being read, e.g. `params/Dense_0/kernel`.
    fn path(&self) -> String {
        let keys: Vec<&str> = self.stack.iter().filter_map(|f| f.key.as_deref()).collect();
        if keys.is_empty() {
            "<root>".into()
        } else {
            keys.join("/")
        }
    }

    fn run(&mut self) -> Result<(), Stop> {
        let mut items = 0u64;
        // Several top-level values are walked like msgpack.Unpacker would read them.
        while self.pos < self.size || !self.stack.is_empty() {
            items += 1;
            if items > self.ctx.limits.max_msgpack_items {
                return Err(limit(
                    format!(
                        "more than max_msgpack_items ({}) values",
                        self.ctx.limits.max_msgpack_items
                    ),
                    self.pos,
                ));
            }
            let is_key = self
                .stack
                .last()
                .is_some_and(|f| f.map && f.remaining % 2 == 0);
            let item = self.item()?;
            if let Some(f) = self.stack.last_mut() {
                f.remaining = f.remaining.saturating_sub(1);
                if is_key {
                    f.key = match &item {
                        Item::Text(s) => Some(s.clone()),
                        _ => Some("?".into()),
                    };
                }
            }
            if let Item::Container(n, map) = item {
                if self.stack.len() >= self.ctx.limits.max_msgpack_depth {
                    return Err(limit(
                        format!(
                            "msgpack nesting deeper than max_msgpack_depth ({})",
                            self.ctx.limits.max_msgpack_depth
                        ),
                        self.pos,
                    ));
                }
                self.stack.push(Frame {
                    remaining: if map { n.saturating_mul(2) } else { n },
                    map,
                    key: None,
                });
            }
            while self.stack.last().is_some_and(|f| f.remaining == 0) {
                self.stack.pop();
            }
        }
        Ok(())
    }

    /// Read one marker and its payload (containers: only the header).
    fn item(&mut self) -> Result<Item, Stop> {
        let at = self.pos;
        let m = self.uint(1)? as u8;
        Ok(match m {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => Item::Scalar,
            0x80..=0x8f => Item::Container(u64::from(m & 0x0f), true),
            0x90..=0x9f => Item::Container(u64::from(m & 0x0f), false),
            0xa0..=0xbf => self.blob(u64::from(m & 0x1f), true, None)?,
            0xc1 => return Err(fatal("invalid msgpack marker 0xc1".into(), at)),
            0xc4 => {
                let n = self.uint(1)?;
                self.blob(n, false, None)?
            }
            0xc5 => {
                let n = self.uint(2)?;
                self.blob(n, false, None)?
            }
            0xc6 => {
                let n = self.uint(4)?;
                self.blob(n, false, None)?
            }
            0xc7..=0xc9 => {
                let n = self.uint(1u64 << (m - 0xc7))?;
                let code = self.uint(1)? as u8 as i8;
                self.blob(n, false, Some(code))?
            }
            0xca | 0xce | 0xd2 => self.skip(4).map(|_| Item::Scalar)?,
            0xcb | 0xcf | 0xd3 => self.skip(8).map(|_| Item::Scalar)?,
            0xcc | 0xd0 => self.skip(1).map(|_| Item::Scalar)?,
            0xcd | 0xd1 => self.skip(2).map(|_| Item::Scalar)?,
            0xd4..=0xd8 => {
                let code = self.uint(1)? as u8 as i8;
                self.blob(1u64 << (m - 0xd4), false, Some(code))?
            }
            0xd9 => {
                let n = self.uint(1)?;
                self.blob(n, true, None)?
            }
            0xda => {
                let n = self.uint(2)?;
                self.blob(n, true, None)?
            }
            0xdb => {
                let n = self.uint(4)?;
                self.blob(n, true, None)?
            }
            0xdc => Item::Container(self.uint(2)?, false),
            0xdd => Item::Container(self.uint(4)?, false),
            0xde => Item::Container(self.uint(2)?, true),
            0xdf => Item::Container(self.uint(4)?, true),
        })
    }

    /// A str, bin or ext payload of `n` bytes at the current position.
    fn blob(&mut self, n: u64, text: bool, ext: Option<i8>) -> Result<Item, Stop> {
        let start = self.pos;
        if start.checked_add(n).is_none_or(|e| e > self.size) {
            return Err(fatal("truncated msgpack value".into(), start));
        }
        let head = self.bytes(start, n.min(PEEK))?;
        let unknown_ext = ext.filter(|c| !FLAX_EXT.contains(c));
        if let Some(code) = unknown_ext {
            self.ext_reported += 1;
            if self.ext_reported <= MAX_REPORTED {
                let path = self.path();
                self.facts.unknown_ext.push(MsgpackBlob {
                    path,
                    ext: Some(code),
                    len: n,
                    offset: start,
                });
            }
        }
        let pickle = sniff(&head) == Kind::PickleProto
            && n >= 3
            && self.bytes(start + n - 1, 1)?.first() == Some(&b'.');
        if pickle || unknown_ext.is_some() {
            self.nest(start, n, pickle)?;
        }
        let item = if text && n <= 256 && !pickle {
            let b = self.bytes(start, n)?;
            Item::Text(String::from_utf8_lossy(&b).into_owned())
        } else {
            Item::Scalar
        };
        self.skip(n)?;
        Ok(item)
    }

    /// Hand the blob at `start..start+n` to the driver as a nested file.
    fn nest(&mut self, start: u64, n: u64, pickle: bool) -> Result<(), Stop> {
        let limits = self.ctx.limits;
        let cap = limits.max_pickle_bytes.min(limits.max_member_bytes);
        if n > cap || self.nested_bytes.saturating_add(n) > limits.max_decompressed_bytes {
            self.out.problems.push(Problem {
                fatal: false,
                message: format!(
                    "embedded blob of {n} bytes at {} not analysed (max_pickle_bytes / max_decompressed_bytes)",
                    self.path()
                ),
                offset: Some(start),
            });
            return Ok(());
        }
        self.nested_bytes += n;
        let data = self.bytes(start, n)?;
        let path = self.path();
        if pickle {
            self.pickles += 1;
            if self.pickles <= MAX_REPORTED {
                self.facts.pickles.push(MsgpackBlob {
                    path: path.clone(),
                    ext: None,
                    len: n,
                    offset: start,
                });
            }
        }
        self.out.nested.push((path, data));
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::policy::Policy;
    use crate::report::Severity;
    use crate::source::Bytes;

    fn run_with(data: &[u8], limits: &Limits) -> Outcome {
        let policy = Policy::default();
        let ctx = FormatCtx {
            limits,
            name: "x.msgpack",
        };
        // The reader gives facts; the rules' checks turn them into findings.
        let mut out = analyze(&Bytes(data), &ctx);
        for f in &out.facts {
            out.findings.extend(crate::rules::judge(f, &policy).0);
        }
        out
    }

    fn run(data: &[u8]) -> Outcome {
        run_with(data, &Limits::default())
    }

    #[test]
    fn plain_map_is_clean() {
        // {"params": {"w": bin(4)}, "step": 3}
        let mut d = vec![0x82, 0xa6];
        d.extend_from_slice(b"params");
        d.extend_from_slice(&[0x81, 0xa1, b'w', 0xc4, 4, 1, 2, 3, 4]);
        d.extend_from_slice(&[0xa4]);
        d.extend_from_slice(b"step");
        d.push(3);
        let o = run(&d);
        assert!(o.problems.is_empty(), "{:?}", o.problems);
        assert!(o.findings.is_empty());
    }

    #[test]
    fn embedded_pickle_is_nested_with_its_path() {
        let pkl = b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.";
        let mut d = vec![0x81, 0xa3];
        d.extend_from_slice(b"opt");
        d.extend_from_slice(&[0xc4, pkl.len() as u8]);
        d.extend_from_slice(pkl);
        let o = run(&d);
        assert_eq!(o.nested.len(), 1);
        assert_eq!(o.nested[0].0, "opt");
        assert_eq!(o.nested[0].1, pkl);
        assert_eq!(o.findings[0].rule, "MG-MSGPACK-EMBEDDED");
    }

    #[test]
    fn unknown_ext_is_medium_flax_ext_is_not() {
        let o = run(&[0xd4, 0x01, 0x00]);
        assert!(o.findings.is_empty());
        let o = run(&[0xd5, 0x63, 0x00, 0x00]);
        assert_eq!(o.findings[0].severity, Severity::Medium);
        assert_eq!(o.nested.len(), 1);
    }

    #[test]
    fn malformed_and_limits() {
        assert!(run(&[0xc1]).problems[0].fatal);
        assert!(run(&[0xc4, 0x10, 0x00]).problems[0].fatal);
        assert!(
            run(&[0x92, 0x01]).problems[0].fatal,
            "array missing an element"
        );
        assert!(run(&[]).problems[0].fatal);
        let deep = vec![0x91; 100];
        let o = run(&deep);
        assert!(!o.problems[0].fatal && o.problems[0].message.contains("max_msgpack_depth"));
        let limits = Limits {
            max_msgpack_items: 3,
            ..Limits::default()
        };
        let o = run_with(&[0x94, 1, 2, 3, 4], &limits);
        assert!(o.problems[0].message.contains("max_msgpack_items"));
        // A declared length of 2^32-1 elements over a tiny file ends at the data's end.
        let o = run(&[0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert!(o.problems[0].fatal);
    }
}
