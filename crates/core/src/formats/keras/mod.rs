//! Keras: HDF5 `.h5` model configs, `.keras` zip configs, SavedModel `keras_metadata.pb`;
//! Lambda layers (marshalled bytecode) and references to Python callables.
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

use std::sync::{Arc, Mutex, mpsc};

use modelguard_pycode::catalog;

use super::varint;
use modelguard_pycode::decode::{Encoding, decode};
use serde_json::{Map, Value};

use super::{FormatCtx, Outcome, Problem};
use crate::report::{Finding, Severity};
use crate::rules::{self, Rule};
use crate::source::{ReadAt, read_range};

/// Modules whose objects Keras itself provides: references into them are not reported.
const KERAS_MODULES: &[&str] = &[
    "keras",
    "tensorflow",
    "tf_keras",
    "keras_nlp",
    "keras_cv",
    "keras_hub",
];

/// Functions inside Keras/TensorFlow that a config can call and that reach outside the model
/// (module prefix, function name, severity, what it does). Keras' own `safe_mode` allowed them
/// (CVE-2025-8747: `keras.utils.get_file` downloads and overwrites files; CVE-2025-9906:
/// `keras.config.enable_unsafe_deserialization` turns safe mode off mid-load).
const KERAS_GADGETS: &[(&str, &str, Severity, &str)] = &[
    (
        "keras",
        "enable_unsafe_deserialization",
        Severity::Critical,
        "turns Keras safe mode off",
    ),
    (
        "keras",
        "get_file",
        Severity::High,
        "downloads a URL and writes the file",
    ),
    (
        "keras",
        "load_model",
        Severity::High,
        "loads another model file",
    ),
    (
        "keras",
        "load_weights",
        Severity::High,
        "reads another file",
    ),
    (
        "tensorflow",
        "py_function",
        Severity::High,
        "calls a Python function",
    ),
    (
        "tensorflow",
        "numpy_function",
        Severity::High,
        "calls a Python function",
    ),
    (
        "tensorflow",
        "py_func",
        Severity::High,
        "calls a Python function",
    ),
    ("tensorflow", "write_file", Severity::High, "writes a file"),
    ("tensorflow", "read_file", Severity::High, "reads a file"),
    (
        "tensorflow",
        "gfile",
        Severity::High,
        "reads or writes files",
    ),
    (
        "tensorflow",
        "load_library",
        Severity::Critical,
        "loads native code",
    ),
    (
        "tensorflow",
        "load_op_library",
        Severity::Critical,
        "loads native code",
    ),
];

/// HDF5 signature.
const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Most findings reported per Lambda (one per capability reached).
const MAX_HITS_PER_LAMBDA: usize = 16;

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
    w.out
}

/// Whether `bytes` look like a Keras model config: a JSON object with a `class_name`.
/// (Used for a zip's `config.json` when nothing else says the zip is a `.keras`.)
pub fn looks_like_config(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .is_some_and(|v| v.get("class_name").is_some_and(Value::is_string))
}

/// Walks configs and collects findings.
struct Walker<'a> {
    ctx: &'a FormatCtx<'a>,
    out: Outcome,
}

fn problem(fatal: bool, message: String) -> Problem {
    Problem {
        fatal,
        message,
        offset: None,
    }
}

fn is_keras_module(module: &str) -> bool {
    KERAS_MODULES
        .iter()
        .any(|p| module == *p || module.strip_prefix(p).is_some_and(|r| r.starts_with('.')))
}

/// Shorten long evidence (configs may carry megabytes in one string).
fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", s.get(..end).unwrap_or_default())
}

impl<'a> Walker<'a> {
    fn new(ctx: &'a FormatCtx<'a>, format: super::FormatId) -> Self {
        Walker {
            ctx,
            out: Outcome::new(format),
        }
    }

    fn finding(&mut self, rule: &Rule, severity: Severity, message: String, evidence: String) {
        self.out
            .findings
            .push(Finding::new(rule, severity, message).evidence(clip(&evidence, 400)));
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
                    self.tf_op(f, &name);
                }
            }
            _ => {}
        }
        if let (Some(module), Some(class_name)) =
            (map.get("module").and_then(Value::as_str), class_name)
        {
            if class_name == "function" {
                let fname = config.and_then(Value::as_str).unwrap_or_default();
                self.reference(module, fname, &name, true);
            } else if class_name != "__lambda__" {
                self.reference(module, class_name, &name, false);
            }
        } else if let Some(reg) = map.get("registered_name").and_then(Value::as_str)
            && map.get("module").and_then(Value::as_str).is_none()
            && reg.contains('>')
        {
            let (pkg, obj) = reg.split_once('>').unwrap_or((reg, ""));
            if !is_keras_module(pkg) && self.ctx.policy.allowed(pkg, obj).is_none() {
                self.finding(
                    &rules::KERAS_CUSTOM,
                    Severity::Info,
                    format!("{name}: registered custom object {reg} must be provided at load"),
                    format!("{name}: registered_name {reg}"),
                );
            }
        }
        for v in map.values() {
            self.value(v, Some(&name));
        }
    }

    /// A reference to `module.name` (a function when `function`, else a class).
    fn reference(&mut self, module: &str, name: &str, layer: &str, function: bool) {
        if is_keras_module(module) {
            let dotted = format!("{module}.{name}");
            let hit = KERAS_GADGETS.iter().find(|(m, f, _, _)| {
                let family = if *m == "keras" && module.starts_with("tf_keras") {
                    "tf_keras"
                } else {
                    m
                };
                (module == family || module.starts_with(&format!("{family}.")))
                    && dotted.split('.').any(|part| part == *f)
            });
            if let Some((_, _, sev, what)) = hit {
                self.finding(
                    &rules::KERAS_FUNC_REF,
                    *sev,
                    format!("{layer}: config references {dotted}, which {what}"),
                    format!("{layer}: {dotted}"),
                );
            }
            return;
        }
        if module.is_empty() {
            return;
        }
        // Keras 3 records functions and objects it serialises by name under `builtins`
        // (`Lambda(keras.activations.relu)` is `builtins.relu`, a captured module is
        // `builtins.module`): a name Python's builtins do not have is resolved among Keras's
        // own objects at load, not imported.
        if module == "builtins"
            && modelguard_pycode::ecosystem::record("builtins", name).is_none()
            && catalog::classify(module, name).is_none()
        {
            return;
        }
        let full = if name.is_empty() {
            module.to_string()
        } else {
            format!("{module}.{name}")
        };
        if let Some(e) = catalog::classify(module, name) {
            self.finding(
                &rules::KERAS_FUNC_REF,
                crate::severity::of(
                    e.capability,
                    if e.indirect {
                        crate::severity::Reach::Indirect
                    } else {
                        // Keras calls what a config names: a function as an activation or
                        // loss, a class with the layer's config.
                        crate::severity::Reach::Called
                    },
                ),
                format!(
                    "{layer}: config references {full}, which {} ({})",
                    e.capability.describe(),
                    e.capability.as_str()
                ),
                format!("{layer}: {full}"),
            );
            return;
        }
        if self.ctx.policy.allowed(module, name).is_some() {
            return;
        }
        let (sev, what) = if function {
            (Severity::Medium, "function")
        } else {
            (Severity::Info, "custom class")
        };
        self.finding(
            &rules::KERAS_CUSTOM,
            sev,
            format!("{layer}: config references {what} {full} from a module outside Keras"),
            format!("{layer}: {full}"),
        );
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
                    // Looked up in the named module's namespace (or the loader's globals).
                    let module = c.get("module").and_then(Value::as_str).unwrap_or_default();
                    if catalog::classify(module, fname).is_some()
                        || catalog::classify("builtins", fname).is_some()
                    {
                        let module = if module.is_empty() {
                            "builtins"
                        } else {
                            module
                        };
                        self.reference(module, fname, layer, true);
                    } else if !module.is_empty() && module != "__main__" {
                        self.reference(module, fname, layer, true);
                    }
                }
                _ => {}
            }
        }
    }

    fn unreadable_lambda(&mut self, layer: &str, why: &str) {
        self.finding(
            &rules::KERAS_LAMBDA,
            Severity::Medium,
            format!("Lambda layer {layer} could not be analysed: {why}"),
            format!("Lambda layer {layer}"),
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
        let facts = modelguard_pycode::analyze_marshal(&bytes, None, limits);
        for (i, p) in facts.payloads.iter().enumerate() {
            self.out
                .nested
                .push((format!("Lambda {layer} payload[{i}]"), p.data.clone()));
        }
        if !facts.hits.is_empty() {
            for h in facts.hits.iter().take(MAX_HITS_PER_LAMBDA) {
                let chain = if h.chain.is_empty() {
                    String::new()
                } else {
                    format!(" (through {})", h.chain.join(" → "))
                };
                self.finding(
                    &rules::KERAS_LAMBDA,
                    crate::severity::in_code(h.capability),
                    format!(
                        "Lambda layer {layer} code {}: {}{chain}",
                        h.capability.describe(),
                        h.target
                    ),
                    format!("Lambda layer {layer}: {}", h.evidence),
                );
            }
        } else if !facts.complete {
            let why = facts
                .errors
                .first()
                .cloned()
                .unwrap_or_else(|| "analysis stopped".into());
            self.unreadable_lambda(layer, &why);
        } else if !facts.unknown_calls.is_empty() {
            // Unknown names (`tf.reduce_mean` with `tf` bound at load) are not evidence: the
            // Lambda is judged by what its code reaches.
            let calls = facts.unknown_calls.join(", ");
            self.finding(
                &rules::KERAS_LAMBDA,
                Severity::Info,
                format!("Lambda layer {layer} calls names resolved only at load time: {calls}"),
                format!("Lambda layer {layer}: {calls}"),
            );
        } else {
            self.finding(
                &rules::KERAS_LAMBDA,
                Severity::Info,
                format!("harmless Lambda layer {layer}: inert code"),
                format!(
                    "Lambda layer {layer}: arithmetic, tensor methods and framework calls only"
                ),
            );
        }
    }

    /// `TFOpLambda`: the op is a `tf.*` API name; file and Python-callback ops are reported.
    fn tf_op(&mut self, f: &str, layer: &str) {
        let lower = f.to_ascii_lowercase();
        const RISKY: &[&str] = &[
            "io.write_file",
            "io.read_file",
            "io.matching_files",
            "io.gfile",
            "py_function",
            "py_func",
            "numpy_function",
            "read_file",
            "write_file",
            "print",
        ];
        if RISKY
            .iter()
            .any(|r| lower.ends_with(r) || lower.contains(&format!("{r}.")))
        {
            self.finding(
                &rules::KERAS_FUNC_REF,
                Severity::High,
                format!("{layer}: TFOpLambda calls {f}, which reads/writes files or runs Python"),
                format!("{layer}: {f}"),
            );
        }
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
    w.out
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
    w.out
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests;
