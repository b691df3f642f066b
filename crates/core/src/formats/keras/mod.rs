//! Keras: HDF5 `.h5` model configs, `.keras` zip configs, SavedModel `keras_metadata.pb`;
//! Lambda layers (marshalled bytecode) and references to Python callables, read into
//! [`KerasFacts`] for the rules' checks (`rules/keras.rs`).
//!
//! All three containers hold the same thing, a JSON model config:
//! - `.h5` (Keras 2, tf-keras, Keras 3 legacy save): root attributes `model_config`,
//!   `training_config`, `keras_version`, `backend`, read with `hdf5-reader` (pure Rust,
//!   bounded);
//! - `.keras` (Keras 3 zip): `config.json` next to `metadata.json`; the driver (scan.rs) reads
//!   the member and calls [`analyze_config_json`];
//! - SavedModel `keras_metadata.pb`: a protobuf `SavedMetadata { repeated SavedObject nodes = 1 }`
//!   whose `SavedObject.metadata` (field 5) is a JSON layer config; a dozen lines of
//!   protobuf wire reading cover it, so no generated code is needed.
//!
//! The config is walked as a whole (any object with a `class_name`, at any depth), so nested
//! models, wrappers (`TimeDistributed`, `Bidirectional`), losses and metrics in
//! `training_config` are all seen without knowing each layer's schema.
//!
//! Must not: decide what a reference or a Lambda is worth (severities, allowlists, Keras's own
//! modules): the checks in `rules/keras.rs` do, so stored facts can be judged again.

use std::sync::{Arc, Mutex, mpsc};

use super::varint;
use modelguard_pycode::decode::{Encoding, decode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{FormatCtx, Outcome, Problem};
use crate::source::{ReadAt, read_range};

/// What a Keras model config names or carries that the loader acts on: the facts the rules
/// judge (see [`crate::facts`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KerasFacts {
    /// Every callable reference and Lambda of the file's configs, in walk order (document
    /// order, depth first, each object's own entry before those nested in it; `model_config`
    /// before `training_config`, `keras_metadata.pb` nodes in file order).
    pub entries: Vec<KerasEntry>,
}

/// One thing in a Keras config that names or carries code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KerasEntry {
    /// Name of the innermost named object around it (its `config.name` or `name`), `?` when
    /// none: the location a finding names.
    pub layer: String,
    /// What it is.
    pub item: KerasItem,
}

/// What a [`KerasEntry`] is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum KerasItem {
    /// `{"module": module, "class_name": class_name}` with any class name but `function` and
    /// `__lambda__`: a class Keras imports from `module` and instantiates with the config.
    Class {
        /// The `module` string as stored.
        module: String,
        /// The `class_name` string as stored.
        class_name: String,
    },
    /// `{"module": module, "class_name": "function", "config": name}` (Keras 3): a function
    /// Keras imports from `module` and calls (an activation, a loss, a Lambda's function).
    Function {
        /// The `module` string as stored.
        module: String,
        /// The function name (`config`), empty when `config` is not a string.
        name: String,
    },
    /// A Keras 2 `Lambda` whose `function` (or `output_shape`) has `*_type: "function"`: a
    /// name looked up in `module`'s namespace, or in the loader's globals when there is none.
    LambdaFunction {
        /// The layer config's `module`, empty when absent.
        module: String,
        /// The function name.
        name: String,
    },
    /// A `registered_name` `package>Object` of an object without `module`: a custom object
    /// the loader must provide.
    Registered {
        /// The `registered_name` as stored.
        name: String,
    },
    /// A `TFOpLambda` / `SlicingOpLambda` layer's `function`: a `tf.*` API name.
    TfOp {
        /// The op as stored (`io.write_file`, `math.add`).
        function: String,
    },
    /// A Lambda's marshalled code (Keras 2 `function_type: "lambda"`, Keras 3 `__lambda__`),
    /// decoded as Keras's `func_load` does and analysed. Payloads it hands back are walked as
    /// nested files (`Lambda <layer> payload[i]`); their bytes are not kept here.
    Lambda {
        /// What the code reaches, by modelguard-pycode.
        code: modelguard_pycode::CodeFacts,
    },
    /// A Lambda whose code could not be decoded (no code string, base64 error, empty code).
    UnreadableLambda {
        /// Why.
        why: String,
    },
}

/// HDF5 signature.
const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Analyse `src` as a Keras file: HDF5 (`.h5`) by its signature, otherwise a SavedModel
/// `keras_metadata.pb` (the driver dispatches that name here).
pub fn analyze(src: &dyn ReadAt, ctx: &FormatCtx<'_>) -> Outcome {
    let head = read_range(src, 0, 8).unwrap_or_default();
    if head.starts_with(HDF5_MAGIC) {
        analyze_h5(src, ctx)
    } else {
        analyze_metadata_pb(src, ctx)
    }
}

/// Analyse a Keras JSON model config (`config.json` of a `.keras` zip, or any bare config).
pub fn analyze_config_json(bytes: &[u8], ctx: &FormatCtx<'_>) -> Outcome {
    let mut w = Walker::new(ctx, super::FormatId::Keras);
    w.json(bytes, "config.json");
    w.finish()
}

/// Whether `bytes` look like a Keras model config: a JSON object with a `class_name`.
/// (Used for a zip's `config.json` when nothing else says the zip is a `.keras`.)
pub fn looks_like_config(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .is_some_and(|v| v.get("class_name").is_some_and(Value::is_string))
}

/// Walks configs and collects their entries.
struct Walker<'a> {
    ctx: &'a FormatCtx<'a>,
    out: Outcome,
    entries: Vec<KerasEntry>,
}

fn problem(fatal: bool, message: String) -> Problem {
    Problem {
        fatal,
        message,
        offset: None,
    }
}

impl<'a> Walker<'a> {
    fn new(ctx: &'a FormatCtx<'a>, format: super::FormatId) -> Self {
        Walker {
            ctx,
            out: Outcome::new(format),
            entries: Vec::new(),
        }
    }

    /// The outcome, with the facts when the configs named anything.
    fn finish(mut self) -> Outcome {
        if !self.entries.is_empty() {
            self.out.facts.push(
                KerasFacts {
                    entries: self.entries,
                }
                .into(),
            );
        }
        self.out
    }

    fn entry(&mut self, layer: &str, item: KerasItem) {
        self.entries.push(KerasEntry {
            layer: layer.to_string(),
            item,
        });
    }

    /// Parse `bytes` as a JSON config named `what` and walk it.
    fn json(&mut self, bytes: &[u8], what: &str) {
        if bytes.len() as u64 > self.ctx.limits.max_config_bytes {
            self.out.problems.push(problem(
                false,
                format!(
                    "{what} larger than max_config_bytes ({})",
                    self.ctx.limits.max_config_bytes
                ),
            ));
            return;
        }
        // serde_json refuses nesting deeper than 128: the walk below recurses no deeper.
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => self.value(&v, None),
            Err(e) => self
                .out
                .problems
                .push(problem(true, format!("{what} is not valid JSON: {e}"))),
        }
    }

    /// Walk any JSON value; `layer` is the name of the innermost named object around it.
    fn value(&mut self, v: &Value, layer: Option<&str>) {
        match v {
            Value::Object(map) => self.object(map, layer),
            Value::Array(items) => {
                for item in items {
                    self.value(item, layer);
                }
            }
            _ => {}
        }
    }

    fn object(&mut self, map: &Map<String, Value>, layer: Option<&str>) {
        let config = map.get("config");
        let own_name = config
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
            .or_else(|| map.get("name").and_then(Value::as_str));
        let name = own_name.or(layer).unwrap_or("?").to_string();
        let class_name = map.get("class_name").and_then(Value::as_str);
        match class_name {
            Some("Lambda") => {
                if let Some(Value::Object(c)) = config {
                    self.lambda_layer(c, &name);
                }
            }
            Some("__lambda__") => {
                // Keras 3: {"code": b64, "defaults", "closure"} or {"value": [b64, …]}.
                let code = config.and_then(|c| {
                    c.get("code").and_then(Value::as_str).or_else(|| {
                        c.get("value")
                            .and_then(|v| v.get(0))
                            .and_then(Value::as_str)
                    })
                });
                match code {
                    Some(code) => self.lambda_code(code, &name),
                    None => self.unreadable_lambda(&name, "its __lambda__ entry has no code"),
                }
            }
            Some("TFOpLambda" | "SlicingOpLambda") => {
                if let Some(f) = config
                    .and_then(|c| c.get("function"))
                    .and_then(Value::as_str)
                {
                    let function = f.to_string();
                    self.entry(&name, KerasItem::TfOp { function });
                }
            }
            _ => {}
        }
        if let (Some(module), Some(class_name)) =
            (map.get("module").and_then(Value::as_str), class_name)
        {
            let module = module.to_string();
            if class_name == "function" {
                let fname = config.and_then(Value::as_str).unwrap_or_default();
                let item = KerasItem::Function {
                    module,
                    name: fname.to_string(),
                };
                self.entry(&name, item);
            } else if class_name != "__lambda__" {
                let class_name = class_name.to_string();
                self.entry(&name, KerasItem::Class { module, class_name });
            }
        } else if let Some(reg) = map.get("registered_name").and_then(Value::as_str)
            && map.get("module").and_then(Value::as_str).is_none()
            && reg.contains('>')
        {
            let reg = reg.to_string();
            self.entry(&name, KerasItem::Registered { name: reg });
        }
        for v in map.values() {
            self.value(v, Some(&name));
        }
    }

    /// A Keras 2 Lambda layer config: `function` (+ `output_shape`) by `*_type`.
    fn lambda_layer(&mut self, c: &Map<String, Value>, layer: &str) {
        for key in ["function", "output_shape"] {
            let Some(v) = c.get(key) else { continue };
            let kind = c
                .get(&format!("{key}_type"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            match (kind, v) {
                ("lambda", Value::Array(parts)) => match parts.first().and_then(Value::as_str) {
                    Some(code) => self.lambda_code(code, layer),
                    None => self.unreadable_lambda(layer, "its function has no code string"),
                },
                // Keras 1 stored the code string alone.
                ("lambda", Value::String(code)) => self.lambda_code(code, layer),
                ("function", Value::String(fname)) => {
                    let module = c.get("module").and_then(Value::as_str).unwrap_or_default();
                    let item = KerasItem::LambdaFunction {
                        module: module.to_string(),
                        name: fname.clone(),
                    };
                    self.entry(layer, item);
                }
                _ => {}
            }
        }
    }

    fn unreadable_lambda(&mut self, layer: &str, why: &str) {
        self.entry(
            layer,
            KerasItem::UnreadableLambda {
                why: why.to_string(),
            },
        );
        self.out
            .problems
            .push(problem(false, format!("Lambda layer {layer}: {why}")));
    }

    /// Decode and analyse a marshalled code object as Keras `func_load` does
    /// (keras/src/utils/python_utils.py): `codecs.decode(code.encode("ascii"), "base64")`,
    /// and when that raises (UnicodeEncodeError for any non-ASCII character, as in the
    /// latin-1 text older `func_dump`s stored), `code.encode("raw_unicode_escape")`.
    fn lambda_code(&mut self, b64: &str, layer: &str) {
        let limits = &self.ctx.limits.code;
        let bytes = if b64.is_ascii() {
            match decode(Encoding::Base64, b64.as_bytes(), limits) {
                Ok(b) if !b.is_empty() => b,
                Ok(_) => return self.unreadable_lambda(layer, "empty code"),
                Err(e) => return self.unreadable_lambda(layer, &format!("base64: {e}")),
            }
        } else {
            raw_unicode_escape_encode(b64)
        };
        // Keras records no Python version: the decoder recognises the code-object layout.
        let code = modelguard_pycode::analyze_marshal(&bytes, None, limits);
        for (i, p) in code.payloads.iter().enumerate() {
            self.out
                .nested
                .push((format!("Lambda {layer} payload[{i}]"), p.data.clone()));
        }
        // An analysis that stopped leaves the file incomplete, unless what it reached already
        // decides the Lambda (then the capabilities are the finding).
        if code.hits.is_empty() && !code.complete {
            let why = code
                .errors
                .first()
                .map_or("analysis stopped", String::as_str);
            self.out
                .problems
                .push(problem(false, format!("Lambda layer {layer}: {why}")));
        }
        self.entry(layer, KerasItem::Lambda { code });
    }
}

/// Python's `str.encode("raw_unicode_escape")`: characters below U+0100 as one byte (latin-1),
/// others as `\uXXXX` / `\UXXXXXXXX`.
fn raw_unicode_escape_encode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        let n = u32::from(c);
        if n < 0x100 {
            out.push(u8::try_from(n).unwrap_or(b'?'));
        } else if n < 0x10000 {
            out.extend(format!("\\u{n:04x}").bytes());
        } else {
            out.extend(format!("\\U{n:08x}").bytes());
        }
    }
    out
}

/// A read request from the HDF5 parser thread: offset, length, where to send the bytes.
type ReadRequest = (u64, usize, mpsc::Sender<Result<Vec<u8>, String>>);

/// A [`hdf5_reader::Storage`] whose reads are served by the scanning thread from the borrowed
/// [`ReadAt`]: `hdf5-reader` wants a `'static` storage, the source is borrowed, so the parser
/// runs on a scoped thread and asks for each range it needs. Only the ranges the root
/// attributes need are read (never the weights), whatever the file size.
struct Remote {
    len: u64,
    tx: Mutex<mpsc::Sender<ReadRequest>>,
}

impl hdf5_reader::Storage for Remote {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_range(
        &self,
        offset: u64,
        len: usize,
    ) -> hdf5_reader::error::Result<hdf5_reader::StorageBuffer> {
        let eof = |available: u64| hdf5_reader::error::Error::UnexpectedEof {
            offset,
            needed: len as u64,
            available,
        };
        let (reply, answer) = mpsc::channel();
        let sent = self
            .tx
            .lock()
            .map_err(|_| eof(0))
            .and_then(|tx| tx.send((offset, len, reply)).map_err(|_| eof(0)));
        sent?;
        match answer.recv() {
            Ok(Ok(bytes)) if bytes.len() == len => Ok(hdf5_reader::StorageBuffer::from_vec(bytes)),
            Ok(Ok(bytes)) => Err(eof(bytes.len() as u64)),
            Ok(Err(e)) => Err(hdf5_reader::error::Error::InvalidData(e)),
            Err(_) => Err(eof(0)),
        }
    }
}

/// The string value of an attribute (vlen or fixed-length, scalar or one-element array).
fn attr_string(a: &hdf5_reader::Attribute) -> Option<String> {
    if let Some(s) = &a.decoded_strings {
        return Some(s.concat());
    }
    if let Ok(s) = a.read_string() {
        return Some(s);
    }
    if let Ok(v) = a.read_strings() {
        return Some(v.concat());
    }
    std::str::from_utf8(&a.raw_data)
        .ok()
        .map(|s| s.trim_end_matches('\0').to_string())
}

/// What the parser thread extracts: (attribute name, string value or why there is none).
type RootAttrs = Vec<(String, Option<String>)>;

/// Parse the HDF5 structure on a scoped thread (see [`Remote`]) and return the root
/// attributes that hold JSON configs. A panic inside the parser becomes an error. The error
/// is a [`Problem`]: fatal for malformed files, not fatal when the read budget ran out.
fn h5_root_attrs(src: &dyn ReadAt, ctx: &FormatCtx<'_>) -> Result<RootAttrs, Problem> {
    let size = src.size();
    let budget = ctx.limits.max_hdf5_bytes;
    let max_read = usize::try_from(ctx.limits.max_config_bytes).unwrap_or(usize::MAX);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<ReadRequest>();
        let worker = scope.spawn(move || -> Result<RootAttrs, String> {
            let storage = Remote {
                len: size,
                tx: Mutex::new(tx),
            };
            let opts = hdf5_reader::OpenOptions::default()
                .with_max_read_bytes(max_read)
                .with_max_object_header_bytes(max_read.min(16 << 20))
                .with_max_chunk_bytes(max_read);
            let file = hdf5_reader::Hdf5File::from_storage_with_options(Arc::new(storage), opts)
                .map_err(|e| format!("hdf5: {e}"))?;
            let attrs = file
                .root_group()
                .and_then(|g| g.attributes())
                .map_err(|e| format!("hdf5 root attributes: {e}"))?;
            Ok(attrs
                .iter()
                .filter(|a| matches!(a.name.as_str(), "model_config" | "training_config"))
                .map(|a| (a.name.clone(), attr_string(a)))
                .collect())
        });
        // Serve reads until the parser drops its storage (all senders gone).
        let mut read = 0u64;
        for (offset, len, reply) in rx {
            read = read.saturating_add(len as u64);
            let answer = if read > budget {
                Err(format!("read more than max_hdf5_bytes ({budget})"))
            } else {
                read_range(src, offset, len as u64).map_err(|e| e.to_string())
            };
            // The parser may have given up waiting; nothing to do then.
            let _ = reply.send(answer);
        }
        let over = read > budget;
        match worker.join() {
            Ok(Ok(attrs)) => Ok(attrs),
            Ok(Err(e)) if over => Err(problem(
                false,
                format!("{e} (read more than max_hdf5_bytes, {budget})"),
            )),
            Ok(Err(e)) => Err(problem(true, e)),
            Err(_) => Err(problem(
                true,
                "hdf5 parser failed (panic) on this file".into(),
            )),
        }
    })
}

/// Analyse an HDF5 file (superblock at 0 or after a user block: `hdf5-reader` searches
/// 512, 1024, … as libhdf5 does) as Keras `.h5`.
pub fn analyze_h5(src: &dyn ReadAt, ctx: &FormatCtx<'_>) -> Outcome {
    let mut w = Walker::new(ctx, super::FormatId::Hdf5);
    let attrs = match h5_root_attrs(src, ctx) {
        Ok(a) => a,
        Err(p) => {
            w.out.problems.push(p);
            return w.out;
        }
    };
    for (name, value) in attrs {
        w.out.format = super::FormatId::KerasH5;
        match value {
            Some(s) => w.json(s.as_bytes(), &name),
            None => w.out.problems.push(problem(
                true,
                format!("hdf5 attribute {name} is not a string"),
            )),
        }
    }
    w.finish()
}

/// Protobuf fields of one message: (field number, wire type, payload for LEN fields).
/// `None` when the message is malformed.
fn fields(b: &[u8]) -> Option<Vec<(u64, u8, &[u8])>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < b.len() {
        let key = varint(b, &mut pos)?;
        let (field, wire) = (key >> 3, (key & 7) as u8);
        if field == 0 {
            return None;
        }
        match wire {
            0 => {
                varint(b, &mut pos)?;
                out.push((field, wire, &[][..]));
            }
            1 => pos = pos.checked_add(8).filter(|p| *p <= b.len())?,
            5 => pos = pos.checked_add(4).filter(|p| *p <= b.len())?,
            2 => {
                let len = usize::try_from(varint(b, &mut pos)?).ok()?;
                let end = pos.checked_add(len).filter(|e| *e <= b.len())?;
                out.push((field, wire, b.get(pos..end)?));
                pos = end;
            }
            _ => return None,
        }
    }
    Some(out)
}

fn analyze_metadata_pb(src: &dyn ReadAt, ctx: &FormatCtx<'_>) -> Outcome {
    let mut w = Walker::new(ctx, super::FormatId::KerasMetadata);
    let data = match super::read_whole(
        src,
        ctx.limits.max_config_bytes,
        "keras_metadata.pb",
        "max_config_bytes",
    ) {
        Ok(d) => d,
        Err(p) => {
            w.out.problems.push(p);
            return w.out;
        }
    };
    let Some(top) = fields(&data) else {
        w.out.problems.push(problem(
            true,
            "keras_metadata.pb is not a valid SavedMetadata protobuf".into(),
        ));
        return w.out;
    };
    for (field, wire, node) in top {
        // SavedMetadata.nodes = 1 (SavedObject).
        if field != 1 || wire != 2 {
            continue;
        }
        let Some(obj) = fields(node) else {
            w.out.problems.push(problem(
                true,
                "keras_metadata.pb: malformed SavedObject".into(),
            ));
            continue;
        };
        // SavedObject: node_path = 3, identifier = 4, metadata = 5 (JSON).
        let path = obj
            .iter()
            .find(|(f, t, _)| *f == 3 && *t == 2)
            .map(|(_, _, b)| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        for (f, t, b) in &obj {
            if *f == 5 && *t == 2 && !b.is_empty() {
                w.json(b, &format!("metadata of {path}"));
            }
        }
    }
    w.finish()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests;
