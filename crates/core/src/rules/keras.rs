//! Rules for Keras models (HDF5, .keras, SavedModel metadata).

use super::Rule;
use crate::rule;

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

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[&KERAS_LAMBDA, &KERAS_FUNC_REF, &KERAS_CUSTOM];
