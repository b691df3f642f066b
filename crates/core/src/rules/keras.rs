//! Rules for Keras models (HDF5, .keras, SavedModel metadata).

use modelguard_pycode::catalog;

use super::Rule;
use crate::facts::{Emitter, Facts};
use crate::formats::keras::{KerasEntry, KerasItem};
use crate::policy::Policy;
use crate::report::{Finding, Severity};
use crate::rule;
use crate::severity::{self, Reach};

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

/// `TFOpLambda` ops (suffixes of the `tf.*` name) that read or write files or run Python.
const RISKY_TF_OPS: &[&str] = &[
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

/// Most findings reported per Lambda (one per capability reached).
const MAX_HITS_PER_LAMBDA: usize = 16;

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

/// A Keras finding: evidence clipped to 400 bytes.
fn finding(rule: &Rule, severity: Severity, message: String, evidence: &str) -> Finding {
    Finding::new(rule, severity, message).evidence(clip(evidence, 400))
}

/// The entries of Keras facts (none for other facts).
fn entries(facts: &Facts) -> &[KerasEntry] {
    match facts {
        Facts::Keras(k) => &k.entries,
        _ => &[],
    }
}

/// What a reference to `module.name` (a function when `function`, else a class) from
/// `layer` is worth: [`KERAS_FUNC_REF`] for catalogued callables and Keras's own gadgets,
/// [`KERAS_CUSTOM`] for modules outside Keras, nothing for Keras's own objects and allowlisted
/// names. Shared by both rules' checks, which keep their own findings.
fn reference(
    module: &str,
    name: &str,
    layer: &str,
    function: bool,
    policy: &Policy,
) -> Option<Finding> {
    if is_keras_module(module) {
        let dotted = format!("{module}.{name}");
        let (_, _, sev, what) = KERAS_GADGETS.iter().find(|(m, f, _, _)| {
            let family = if *m == "keras" && module.starts_with("tf_keras") {
                "tf_keras"
            } else {
                m
            };
            (module == family || module.starts_with(&format!("{family}.")))
                && dotted.split('.').any(|part| part == *f)
        })?;
        return Some(finding(
            &KERAS_FUNC_REF,
            *sev,
            format!("{layer}: config references {dotted}, which {what}"),
            &format!("{layer}: {dotted}"),
        ));
    }
    if module.is_empty() {
        return None;
    }
    // Keras 3 records functions and objects it serialises by name under `builtins`
    // (`Lambda(keras.activations.relu)` is `builtins.relu`, a captured module is
    // `builtins.module`): a name Python's builtins do not have is resolved among Keras's
    // own objects at load, not imported.
    if module == "builtins"
        && modelguard_pycode::ecosystem::record("builtins", name).is_none()
        && catalog::classify(module, name).is_none()
    {
        return None;
    }
    let full = if name.is_empty() {
        module.to_string()
    } else {
        format!("{module}.{name}")
    };
    if let Some(e) = catalog::classify(module, name) {
        let reach = if e.indirect {
            Reach::Indirect
        } else {
            // Keras calls what a config names: a function as an activation or loss, a class
            // with the layer's config.
            Reach::Called
        };
        return Some(finding(
            &KERAS_FUNC_REF,
            severity::of(e.capability, reach),
            format!(
                "{layer}: config references {full}, which {} ({})",
                e.capability.describe(),
                e.capability.as_str()
            ),
            &format!("{layer}: {full}"),
        ));
    }
    if policy.allowed(module, name).is_some() {
        return None;
    }
    let (sev, what) = if function {
        (Severity::Medium, "function")
    } else {
        (Severity::Info, "custom class")
    };
    Some(finding(
        &KERAS_CUSTOM,
        sev,
        format!("{layer}: config references {what} {full} from a module outside Keras"),
        &format!("{layer}: {full}"),
    ))
}

/// The finding an entry that names something gives, of either reference rule.
fn reference_entry(e: &KerasEntry, policy: &Policy) -> Option<Finding> {
    let layer = e.layer.as_str();
    match &e.item {
        KerasItem::Class { module, class_name } => {
            reference(module, class_name, layer, false, policy)
        }
        KerasItem::Function { module, name } => reference(module, name, layer, true, policy),
        KerasItem::LambdaFunction { module, name } => {
            // Looked up in the named module's namespace (or the loader's globals).
            if catalog::classify(module, name).is_some()
                || catalog::classify("builtins", name).is_some()
            {
                let module = if module.is_empty() {
                    "builtins"
                } else {
                    module
                };
                reference(module, name, layer, true, policy)
            } else if !module.is_empty() && module != "__main__" {
                reference(module, name, layer, true, policy)
            } else {
                None
            }
        }
        KerasItem::Registered { name: reg } => {
            let (pkg, obj) = reg.split_once('>').unwrap_or((reg, ""));
            (!is_keras_module(pkg) && policy.allowed(pkg, obj).is_none()).then(|| {
                finding(
                    &KERAS_CUSTOM,
                    Severity::Info,
                    format!("{layer}: registered custom object {reg} must be provided at load"),
                    &format!("{layer}: registered_name {reg}"),
                )
            })
        }
        KerasItem::TfOp { function: f } => {
            let lower = f.to_ascii_lowercase();
            RISKY_TF_OPS
                .iter()
                .any(|r| lower.ends_with(r) || lower.contains(&format!("{r}.")))
                .then(|| {
                    finding(
                        &KERAS_FUNC_REF,
                        Severity::High,
                        format!(
                            "{layer}: TFOpLambda calls {f}, which reads/writes files or runs Python"
                        ),
                        &format!("{layer}: {f}"),
                    )
                })
        }
        KerasItem::Lambda { .. } | KerasItem::UnreadableLambda { .. } => None,
    }
}

/// Emit the reference findings of `rule` only, in walk order.
fn emit_references(facts: &Facts, policy: &Policy, out: &mut Emitter, rule: &Rule) {
    for e in entries(facts) {
        if let Some(f) = reference_entry(e, policy).filter(|f| f.rule == rule.id) {
            out.emit(f);
        }
    }
}

rule! {
    /// ## What it detects
    /// A Keras `Lambda` layer (or any `__lambda__` object in a Keras config) whose Python
    /// function is stored as marshalled bytecode: `"function": ["<base64>", defaults, closure]`
    /// with `"function_type": "lambda"` (Keras 2, `.h5` and SavedModel `keras_metadata.pb`), or
    /// `{"class_name": "__lambda__", "config": {"code": "<base64>", …}}` (Keras 3 `.keras`).
    /// The bytecode is decoded and analysed without running it: calls, imports, attribute
    /// lookups and constant-folded names (`getattr(__import__('o'+'s'), 'sys'+'tem')`),
    /// introspection escapes (`().__class__.__base__.__subclasses__()`).
    ///
    /// ## Why is this dangerous?
    /// Keras rebuilds the function with `marshal.loads` + `types.FunctionType` and calls it
    /// when the model is built or called: Keras 2 / tf-keras load it unconditionally, Keras 3
    /// when `safe_mode=False` (which tutorials tell users to pass). Whatever the code does —
    /// `os.system(...)`, opening sockets, writing files — runs with the user's rights
    /// (CVE-2024-3660).
    ///
    /// ## How the verdict is decided
    /// The severity follows what the code reaches:
    /// - what the code reaches, by the table for code that runs (docs/severity.md): `critical`
    ///   for process execution, `eval`/`exec`, native code and introspection escapes; `high`
    ///   for deserialisation, `__import__`, network access and file writes; `medium` for file
    ///   reads and process control. The evidence names the layer and the call, e.g.
    ///   `Lambda layer evil: os.system('echo modelguard-test')`;
    /// - `info` when it calls names modelguard cannot resolve and reaches nothing catalogued
    ///   (Keras resolves free names against the loading program's globals, e.g. `tf` in
    ///   `lambda x: tf.reduce_mean(x)`): unknown names are not evidence;
    /// - `medium` when the bytecode could not be decoded or analysed completely (the file is
    ///   then also `incomplete`), or when it hands back an embedded payload;
    /// - `info` for inert code (arithmetic, tensor methods, `tf.*`/`K.*` calls), e.g.
    ///   `lambda x: x * 2`.
    ///
    /// ## False positives
    /// A Lambda that legitimately reads a file or inspects objects is reported; check the
    /// evidence.
    ///
    /// ## How to fix
    /// Replace Lambda layers by registered custom layers (`@keras.saving.register_keras_serializable`)
    /// whose code ships as a reviewed Python package, and keep `safe_mode=True`.
    KERAS_LAMBDA { id: "MG-KERAS-LAMBDA", name: "keras-lambda-bytecode", severity: Critical, formats: [Keras, KerasH5, KerasMetadata], fires: Load }
}

/// [`KERAS_LAMBDA`]: each Lambda by what its code reaches (the table for code that runs);
/// undecodable or incompletely analysed code is `medium`, unresolved names and inert code
/// `info`.
pub fn check_keras_lambda(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    for e in entries(facts) {
        let layer = e.layer.as_str();
        let code = match &e.item {
            KerasItem::Lambda { code } => code,
            KerasItem::UnreadableLambda { why } => {
                out.emit(unreadable_lambda(layer, why));
                continue;
            }
            _ => continue,
        };
        if !code.hits.is_empty() {
            for h in code.hits.iter().take(MAX_HITS_PER_LAMBDA) {
                let chain = if h.chain.is_empty() {
                    String::new()
                } else {
                    format!(" (through {})", h.chain.join(" → "))
                };
                out.emit(finding(
                    &KERAS_LAMBDA,
                    severity::in_code(h.capability),
                    format!(
                        "Lambda layer {layer} code {}: {}{chain}",
                        h.capability.describe(),
                        h.target
                    ),
                    &format!("Lambda layer {layer}: {}", h.evidence),
                ));
            }
        } else if !code.complete {
            let why = code
                .errors
                .first()
                .map_or("analysis stopped", String::as_str);
            out.emit(unreadable_lambda(layer, why));
        } else if !code.unknown_calls.is_empty() {
            // Unknown names (`tf.reduce_mean` with `tf` bound at load) are not evidence: the
            // Lambda is judged by what its code reaches.
            let calls = code.unknown_calls.join(", ");
            out.emit(finding(
                &KERAS_LAMBDA,
                Severity::Info,
                format!("Lambda layer {layer} calls names resolved only at load time: {calls}"),
                &format!("Lambda layer {layer}: {calls}"),
            ));
        } else {
            out.emit(finding(
                &KERAS_LAMBDA,
                Severity::Info,
                format!("harmless Lambda layer {layer}: inert code"),
                &format!(
                    "Lambda layer {layer}: arithmetic, tensor methods and framework calls only"
                ),
            ));
        }
    }
}

/// A Lambda whose code could not be (completely) analysed.
fn unreadable_lambda(layer: &str, why: &str) -> Finding {
    finding(
        &KERAS_LAMBDA,
        Severity::Medium,
        format!("Lambda layer {layer} could not be analysed: {why}"),
        &format!("Lambda layer {layer}"),
    )
}

rule! {
    /// ## What it detects
    /// A Keras config entry that names a Python callable by module: the Keras 3 form
    /// `{"module": "os", "class_name": "function", "config": "system"}` (also as a layer's
    /// `activation`, a Lambda's `function`, a loss or metric), a Keras 2 Lambda with
    /// `"function_type": "function"` and a `module`, or a `TFOpLambda` whose op is a TensorFlow
    /// file or Python-callback op. The name is judged with the same capability catalog as
    /// pickle imports.
    ///
    /// ## Why is this dangerous?
    /// Keras imports the module and looks the name up while deserialising the config, then
    /// calls it with attacker-chosen arguments or as part of the model: a reference to
    /// `os.system`, `subprocess.Popen`, `builtins.exec` turns loading or calling the model into
    /// code execution, even with `safe_mode=True` in vulnerable versions (CVE-2025-1550,
    /// CVE-2025-8747).
    ///
    /// ## How the verdict is decided
    /// Keras calls what a config names, so the callable is judged as called, by its real
    /// target (docs/severity.md): `critical` for processes, code and native code; `high` for
    /// deserialisation, import machinery, network access and file writes; `medium` for file
    /// reads, introspection and process control. Keras, TensorFlow, tf-keras,
    /// keras-nlp/cv/hub and allowlisted modules are not reported, nor are names Keras 3
    /// records under `builtins` that Python's builtins do not have (`builtins.relu` is a Keras
    /// activation by name); other modules are reported by `MG-KERAS-CUSTOM`. `TFOpLambda` ops are
    /// `high` when they read or write files or call back into Python (`tf.io.write_file`,
    /// `tf.py_function`…), otherwise not reported.
    ///
    /// ## False positives
    /// None known for catalogued callables: frameworks never serialise them.
    ///
    /// ## How to fix
    /// Do not load the model. Rebuild it from code you trust.
    KERAS_FUNC_REF { id: "MG-KERAS-FUNC-REF", name: "keras-function-reference", severity: Critical, formats: [Keras, KerasH5, KerasMetadata], fires: Load }
}

/// [`KERAS_FUNC_REF`]: references to catalogued callables (judged as called), Keras's own
/// gadgets and risky `TFOpLambda` ops.
pub fn check_keras_func_ref(facts: &Facts, policy: &Policy, out: &mut Emitter) {
    emit_references(facts, policy, out, &KERAS_FUNC_REF);
}

rule! {
    /// ## What it detects
    /// A Keras config entry whose `module` lies outside Keras and TensorFlow (and the
    /// allowlist), or a `registered_name` of a custom object (`"mypkg>MyLayer"`): a custom
    /// layer, loss, metric or function that the model needs at load time.
    ///
    /// ## Why is this dangerous?
    /// Keras 3 imports the named module to find the object, which runs that module's top-level
    /// code; a function reference (`"class_name": "function"`) is called with the config's
    /// arguments. Whether this is harmless depends entirely on the module, which modelguard
    /// cannot see.
    ///
    /// ## How the verdict is decided
    /// `medium` for a function reference into an unknown module (the shape used by
    /// CVE-2025-1550); `info` for a custom class (layer, loss…) in an unknown module or a
    /// registered custom object, the normal shape of models with custom layers (an inventory
    /// item: unknown is not evidence). The evidence
    /// names the module and object. Catalogued callables are reported by `MG-KERAS-FUNC-REF`
    /// instead.
    ///
    /// ## False positives
    /// Every model with custom layers. Allowlist your own package (`--allow 'mypkg.*'` or the
    /// policy file) to silence it.
    ///
    /// ## How to fix
    /// Check that the module is a package you trust and install it from a trusted source;
    /// allowlist it.
    KERAS_CUSTOM { id: "MG-KERAS-CUSTOM", name: "keras-custom-object", severity: Info, formats: [Keras, KerasH5, KerasMetadata], fires: Load }
}

/// [`KERAS_CUSTOM`]: references into modules outside Keras and the allowlist, and registered
/// custom objects.
pub fn check_keras_custom(facts: &Facts, policy: &Policy, out: &mut Emitter) {
    emit_references(facts, policy, out, &KERAS_CUSTOM);
}

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[&KERAS_LAMBDA, &KERAS_FUNC_REF, &KERAS_CUSTOM];

/// This area's checks, in reporting order (see [`super::CHECKS`]).
pub static CHECKS: &[super::Check] = &[
    super::Check::on(&[crate::facts::FactsKind::Keras], check_keras_lambda),
    super::Check::on(&[crate::facts::FactsKind::Keras], check_keras_func_ref),
    super::Check::on(&[crate::facts::FactsKind::Keras], check_keras_custom),
];
