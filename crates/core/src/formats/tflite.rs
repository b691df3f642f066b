//! TFLite flatbuffers: operator codes (custom and Flex ops) and their use by operators.
//!
//! A small hand-written flatbuffer table reader over [`ReadAt`] instead of generated code:
//! only five fields of the schema matter here (`Model.operator_codes`, `Model.subgraphs`,
//! `OperatorCode.custom_code` / `builtin_code` / `deprecated_builtin_code`,
//! `SubGraph.operators[].opcode_index`), generated planus code for the whole schema is about
//! 85k lines, and reading through `ReadAt` never loads the (possibly gigabytes of) weight
//! buffers. Every offset is bounds-checked against the file size; vectors are bounded by
//! `max_tflite_entries`.

use super::{FormatCtx, Outcome, Problem};
use crate::source::{ReadAt, read_range};

/// A TFLite model's operator codes: the facts the rules judge (see [`crate::facts`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TfliteFacts {
    /// Every `OperatorCode`, in the model's order.
    pub op_codes: Vec<TfliteOpCode>,
}

/// One TFLite `OperatorCode`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TfliteOpCode {
    /// The builtin operator (the larger of `builtin_code` and `deprecated_builtin_code`).
    pub builtin: i32,
    /// `custom_code`, if any (`Flex…` names a TensorFlow op).
    pub custom: Option<String>,
    /// How many operators use it.
    pub uses: u64,
    /// TensorFlow ops of interest named by the `NodeDef`s in the custom options of the
    /// operators using this (Flex) code, sorted.
    pub nodedef_ops: Vec<String>,
}

/// `BuiltinOperator.CUSTOM`.
pub const BUILTIN_CUSTOM: i32 = 32;

/// Flex ops that call back into Python.
pub const FLEX_PYTHON: &[&str] = &["PyFunc", "PyFuncStateless", "EagerPyFunc"];

/// Flex ops that write files.
pub const FLEX_WRITE: &[&str] = &[
    "WriteFile",
    "Save",
    "SaveV2",
    "SaveSlices",
    "MergeV2Checkpoints",
    "SaveDataset",
    "SaveDatasetV2",
    "DatasetToTFRecord",
    "CreateSummaryFileWriter",
    "WriteSummary",
    "WriteScalarSummary",
    "WriteRawProtoSummary",
];

/// Flex ops that read files or list directories.
pub const FLEX_READ: &[&str] = &[
    "ReadFile",
    "MatchingFiles",
    "MatchingFilesDataset",
    "Restore",
    "RestoreV2",
    "RestoreSlice",
    "TFRecordDataset",
    "TFRecordDatasetV2",
    "TextLineDataset",
    "FixedLengthRecordDataset",
    "FixedLengthRecordDatasetV2",
    "WholeFileReader",
    "WholeFileReaderV2",
    "TextLineReader",
    "TextLineReaderV2",
    "TFRecordReader",
    "TFRecordReaderV2",
    "FixedLengthRecordReader",
    "FixedLengthRecordReaderV2",
    "ReaderRead",
    "ReaderReadV2",
    "ReaderReadUpTo",
    "ReaderReadUpToV2",
    "LoadDataset",
    "ImmutableConst",
    "InitializeTableFromTextFile",
    "InitializeTableFromTextFileV2",
    "LoadAndRemapMatrix",
];

/// Most custom op names listed in one finding.
pub const MAX_LISTED: usize = 64;

/// A malformed structure or a crossed limit.
struct Bad(Problem);

fn bad(message: impl Into<String>, offset: u64) -> Bad {
    Bad(Problem {
        fatal: true,
        message: format!("tflite: {}", message.into()),
        offset: Some(offset),
    })
}

/// Bounds-checked flatbuffer access through [`ReadAt`].
struct Fb<'a> {
    src: &'a dyn ReadAt,
    size: u64,
    max_entries: u64,
}

impl Fb<'_> {
    fn read(&self, at: u64, n: u64) -> Result<Vec<u8>, Bad> {
        if at.checked_add(n).is_none_or(|e| e > self.size) {
            // `at` may be a forged position far past the end: it goes in the message, and
            // the location stays within the file.
            return Err(bad(
                format!("{n} bytes at offset {at}, outside the file"),
                at.min(self.size),
            ));
        }
        let b = read_range(self.src, at, n).map_err(|e| bad(e.to_string(), at))?;
        if (b.len() as u64) < n {
            return Err(bad("truncated", at));
        }
        Ok(b)
    }

    fn u32(&self, at: u64) -> Result<u32, Bad> {
        let b: [u8; 4] = self
            .read(at, 4)?
            .try_into()
            .map_err(|_| bad("truncated", at))?;
        Ok(u32::from_le_bytes(b))
    }

    fn u16(&self, at: u64) -> Result<u16, Bad> {
        let b: [u8; 2] = self
            .read(at, 2)?
            .try_into()
            .map_err(|_| bad("truncated", at))?;
        Ok(u16::from_le_bytes(b))
    }

    /// Follow the uoffset stored at `at`.
    fn deref(&self, at: u64) -> Result<u64, Bad> {
        let off = u64::from(self.u32(at)?);
        let target = at + off;
        if target >= self.size {
            return Err(bad("offset outside the file", at));
        }
        Ok(target)
    }

    /// Position of field `index` of the table at `table`, if present.
    fn field(&self, table: u64, index: u64) -> Result<Option<u64>, Bad> {
        let soff = i64::from(self.u32(table)? as i32);
        let vtable = u64::try_from(i64::try_from(table).unwrap_or(i64::MAX) - soff)
            .map_err(|_| bad("vtable outside the file", table))?;
        let vsize = u64::from(self.u16(vtable)?);
        let slot = 4 + 2 * index;
        if slot + 2 > vsize {
            return Ok(None);
        }
        let off = self.u16(vtable + slot)?;
        Ok((off != 0).then_some(table + u64::from(off)))
    }

    /// The vector referenced by field `index` of `table`: (element start, length).
    fn vector(&self, table: u64, index: u64) -> Result<Option<(u64, u64)>, Bad> {
        let Some(at) = self.field(table, index)? else {
            return Ok(None);
        };
        let v = self.deref(at)?;
        let len = u64::from(self.u32(v)?);
        if len > self.max_entries {
            return Err(Bad(Problem {
                fatal: false,
                message: format!(
                    "tflite: vector of {len} entries exceeds max_tflite_entries ({})",
                    self.max_entries
                ),
                offset: Some(v),
            }));
        }
        Ok(Some((v + 4, len)))
    }

    /// The `i`-th table of a vector of tables starting at `start`.
    fn table_at(&self, start: u64, i: u64) -> Result<u64, Bad> {
        self.deref(start + 4 * i)
    }

    fn string(&self, table: u64, index: u64) -> Result<Option<String>, Bad> {
        let Some(at) = self.field(table, index)? else {
            return Ok(None);
        };
        let s = self.deref(at)?;
        let len = u64::from(self.u32(s)?).min(4096);
        let b = self.read(s + 4, len)?;
        Ok(Some(String::from_utf8_lossy(&b).into_owned()))
    }

    fn i32_field(&self, table: u64, index: u64, width: u64) -> Result<i32, Bad> {
        Ok(match self.field(table, index)? {
            None => 0,
            Some(at) if width == 1 => self.read(at, 1)?.first().map_or(0, |b| i32::from(*b as i8)),
            Some(at) => self.u32(at)? as i32,
        })
    }
}

/// What one operator code is.
struct OpCode {
    builtin: i32,
    custom: Option<String>,
    uses: u64,
    /// TensorFlow ops named by the `NodeDef`s in the custom options of the operators using
    /// this (Flex) code: the Flex delegate runs the `NodeDef`'s op, whatever `custom_code` says.
    nodedef_ops: std::collections::BTreeSet<&'static str>,
}

/// Bytes of one operator's custom options searched for a `NodeDef`.
const MAX_OPTIONS_BYTES: u64 = 64 << 10;

/// The dangerous TensorFlow ops named as a `NodeDef.op` (protobuf field 2, `0x12 len name`)
/// in `options` (the flexbuffer `[op_name, serialized NodeDef]` of a Flex operator).
fn nodedef_ops(options: &[u8]) -> Vec<&'static str> {
    FLEX_PYTHON
        .iter()
        .chain(FLEX_WRITE)
        .chain(FLEX_READ)
        .copied()
        .filter(|name| {
            let mut pat = vec![0x12, name.len() as u8];
            pat.extend_from_slice(name.as_bytes());
            options.windows(pat.len()).any(|w| w == pat.as_slice())
        })
        .collect()
}

/// Analyse `src` as a TFLite model.
pub fn analyze(src: &dyn ReadAt, ctx: &FormatCtx<'_>) -> Outcome {
    let mut out = Outcome::new(super::FormatId::Tflite);
    let fb = Fb {
        src,
        size: src.size(),
        max_entries: ctx.limits.max_tflite_entries,
    };
    match read_model(&fb) {
        Ok(codes) => out.facts.push(facts(codes).into()),
        Err(Bad(p)) => out.problems.push(p),
    }
    out
}

fn read_model(fb: &Fb<'_>) -> Result<Vec<OpCode>, Bad> {
    let root = fb.deref(0)?;
    let mut codes = Vec::new();
    if let Some((start, n)) = fb.vector(root, 1)? {
        for i in 0..n {
            let t = fb.table_at(start, i)?;
            let deprecated = fb.i32_field(t, 0, 1)?;
            let builtin = fb.i32_field(t, 3, 4)?;
            codes.push(OpCode {
                // The schema's rule: the larger of the two fields is the operator.
                builtin: deprecated.max(builtin),
                custom: fb.string(t, 1)?,
                uses: 0,
                nodedef_ops: Default::default(),
            });
        }
    }
    let mut walked = 0u64;
    if let Some((start, n)) = fb.vector(root, 2)? {
        for i in 0..n {
            let sg = fb.table_at(start, i)?;
            let Some((ops, m)) = fb.vector(sg, 3)? else {
                continue;
            };
            walked += m;
            if walked > fb.max_entries {
                return Err(Bad(Problem {
                    fatal: false,
                    message: format!(
                        "tflite: more than max_tflite_entries ({}) operators",
                        fb.max_entries
                    ),
                    offset: Some(ops),
                }));
            }
            for j in 0..m {
                let op = fb.table_at(ops, j)?;
                let idx = match fb.field(op, 0)? {
                    Some(at) => u64::from(fb.u32(at)?),
                    None => 0,
                };
                let Some(c) = usize::try_from(idx).ok().and_then(|k| codes.get_mut(k)) else {
                    return Err(bad(format!("operator uses opcode {idx}, not listed"), op));
                };
                c.uses += 1;
                if c.custom.as_deref().is_some_and(|n| n.starts_with("Flex"))
                    && let Some(at) = fb.field(op, 5)?
                {
                    // Operator.custom_options: [ubyte].
                    let v = fb.deref(at)?;
                    let len = u64::from(fb.u32(v)?).min(MAX_OPTIONS_BYTES);
                    let options = fb.read(v + 4, len)?;
                    c.nodedef_ops.extend(nodedef_ops(&options));
                }
            }
        }
    }
    Ok(codes)
}

/// The facts of the operator codes read.
fn facts(codes: Vec<OpCode>) -> TfliteFacts {
    TfliteFacts {
        op_codes: codes
            .into_iter()
            .map(|c| TfliteOpCode {
                builtin: c.builtin,
                custom: c.custom,
                uses: c.uses,
                nodedef_ops: c.nodedef_ops.into_iter().map(str::to_string).collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::policy::Policy;
    use crate::report::Severity;
    use crate::source::Bytes;

    /// A minimal TFLite-shaped flatbuffer: one operator code with `custom` as custom_code
    /// (builtin CUSTOM) and one subgraph with `uses` operators referring to it.
    pub(crate) fn model(custom: &str, uses: u32) -> Vec<u8> {
        let mut b = vec![0u8; 8];
        b[4..8].copy_from_slice(b"TFL3");
        let push32 = |b: &mut Vec<u8>, v: u32| b.extend_from_slice(&v.to_le_bytes());
        let push16 = |b: &mut Vec<u8>, v: u16| b.extend_from_slice(&v.to_le_bytes());
        // Model vtable: fields 0..=2, table size 12: version @4, operator_codes @8, subgraphs @12.
        let model_vt = b.len() as u32;
        push16(&mut b, 10);
        push16(&mut b, 16);
        push16(&mut b, 4);
        push16(&mut b, 8);
        push16(&mut b, 12);
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        let model = b.len() as u32;
        b[0..4].copy_from_slice(&model.to_le_bytes());
        push32(&mut b, model - model_vt); // soffset
        push32(&mut b, 3); // version
        let codes_ref = b.len();
        push32(&mut b, 0);
        let subgraphs_ref = b.len();
        push32(&mut b, 0);
        // operator_codes vector: 1 entry.
        let codes_vec = b.len() as u32;
        let v = codes_ref as u32;
        b[codes_ref..codes_ref + 4].copy_from_slice(&(codes_vec - v).to_le_bytes());
        push32(&mut b, 1);
        let code_elem = b.len();
        push32(&mut b, 0);
        // OperatorCode vtable: fields 0..=3: deprecated @4 (byte), custom_code @8, version @12, builtin @16.
        let oc_vt = b.len() as u32;
        push16(&mut b, 12);
        push16(&mut b, 20);
        push16(&mut b, 4);
        push16(&mut b, 8);
        push16(&mut b, 12);
        push16(&mut b, 16);
        let oc = b.len() as u32;
        b[code_elem..code_elem + 4].copy_from_slice(&(oc - code_elem as u32).to_le_bytes());
        push32(&mut b, oc - oc_vt);
        push32(&mut b, 32); // deprecated_builtin_code (byte) + padding
        let cc_ref = b.len();
        push32(&mut b, 0);
        push32(&mut b, 1);
        push32(&mut b, 32);
        let s = b.len() as u32;
        b[cc_ref..cc_ref + 4].copy_from_slice(&(s - cc_ref as u32).to_le_bytes());
        push32(&mut b, custom.len() as u32);
        b.extend_from_slice(custom.as_bytes());
        b.push(0);
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        // subgraphs vector: 1 entry.
        let sg_vec = b.len() as u32;
        b[subgraphs_ref..subgraphs_ref + 4]
            .copy_from_slice(&(sg_vec - subgraphs_ref as u32).to_le_bytes());
        push32(&mut b, 1);
        let sg_elem = b.len();
        push32(&mut b, 0);
        // SubGraph vtable: fields 0..=3, operators (3) @4.
        let sg_vt = b.len() as u32;
        push16(&mut b, 12);
        push16(&mut b, 8);
        push16(&mut b, 0);
        push16(&mut b, 0);
        push16(&mut b, 0);
        push16(&mut b, 4);
        let sg = b.len() as u32;
        b[sg_elem..sg_elem + 4].copy_from_slice(&(sg - sg_elem as u32).to_le_bytes());
        push32(&mut b, sg - sg_vt);
        let ops_ref = b.len();
        push32(&mut b, 0);
        let ops_vec = b.len() as u32;
        b[ops_ref..ops_ref + 4].copy_from_slice(&(ops_vec - ops_ref as u32).to_le_bytes());
        push32(&mut b, uses);
        let first_elem = b.len();
        for _ in 0..uses {
            push32(&mut b, 0);
        }
        // Operator vtable: field 0 opcode_index @4; all operators share one table.
        let op_vt = b.len() as u32;
        push16(&mut b, 6);
        push16(&mut b, 8);
        push16(&mut b, 4);
        push16(&mut b, 0);
        let op = b.len() as u32;
        push32(&mut b, op - op_vt);
        push32(&mut b, 0);
        for i in 0..uses as usize {
            let at = first_elem + 4 * i;
            b[at..at + 4].copy_from_slice(&(op - at as u32).to_le_bytes());
        }
        b
    }

    fn run(data: &[u8]) -> Outcome {
        let limits = Limits::default();
        let policy = Policy::default();
        let ctx = FormatCtx {
            limits: &limits,
            name: "m.tflite",
        };
        // The reader gives facts; the rules' checks turn them into findings.
        let mut out = analyze(&Bytes(data), &ctx);
        for f in &out.facts {
            out.findings.extend(crate::rules::judge(f, &policy).0);
        }
        out
    }

    #[test]
    fn flex_ops() {
        let o = run(&model("FlexWriteFile", 2));
        assert!(o.problems.is_empty(), "{:?}", o.problems);
        assert_eq!(o.findings[0].rule, "MG-TFLITE-FLEX");
        assert_eq!(o.findings[0].severity, Severity::High);
        assert!(
            o.findings[0]
                .evidence
                .as_deref()
                .unwrap()
                .contains("2 operator")
        );
        let o = run(&model("FlexPyFunc", 1));
        assert_eq!(o.findings[0].severity, Severity::Critical);
        let o = run(&model("MyCustomOp", 1));
        assert_eq!(o.findings.len(), 1);
        assert_eq!(o.findings[0].severity, Severity::Info);
        assert!(
            o.findings[0]
                .evidence
                .as_deref()
                .unwrap()
                .contains("MyCustomOp")
        );
    }

    #[test]
    fn nodedef_op_names() {
        let opts = b"\x0aWriteFile\x00\x0a\x01w\x12\x09WriteFile\x1a\x01x";
        assert_eq!(nodedef_ops(opts), vec!["WriteFile"]);
        assert!(nodedef_ops(b"WriteFile").is_empty());
    }

    #[test]
    fn malformed_is_fatal() {
        let m = model("FlexWriteFile", 1);
        for cut in [3, 8, 20, 40, m.len() / 2, m.len() - 3] {
            let o = run(&m[..cut]);
            assert!(
                o.problems.iter().any(|p| p.fatal),
                "cut at {cut}: {:?}",
                o.findings
            );
        }
        let mut m2 = m.clone();
        m2[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(run(&m2).problems[0].fatal);
    }

    /// A forged position past the end is named in the message; the problem's location stays
    /// inside the file (found by the scan_file fuzzer: a vtable 1,000 bytes past the end).
    #[test]
    fn forged_offsets_stay_inside_the_file() {
        let mut m = vec![8, 0, 0, 0, b'T', b'F', b'L', b'3'];
        m.extend((-1000i32).to_le_bytes()); // the root table's soffset: vtable at 1008
        m.extend([0; 4]);
        let o = run(&m);
        let p = o.problems.iter().find(|p| p.fatal).unwrap();
        assert!(p.message.contains("offset 1008"), "{}", p.message);
        assert!(p.offset.is_some_and(|at| at <= m.len() as u64), "{p:?}");
    }

    #[test]
    fn entry_limit() {
        let limits = Limits {
            max_tflite_entries: 1,
            ..Limits::default()
        };
        let ctx = FormatCtx {
            limits: &limits,
            name: "m.tflite",
        };
        let o = analyze(&Bytes(&model("X", 3)), &ctx);
        assert!(
            o.problems
                .iter()
                .any(|p| !p.fatal && p.message.contains("max_tflite_entries"))
        );
    }
}
