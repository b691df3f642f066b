//! Calls: dispatch on the callee (globals, methods, user functions), catalogued capabilities
//! and code runners (`exec`, `eval`, `compile`, loaders of nested payloads).

use super::*;
impl<'l> Engine<'l> {
    /// Call `func` with `call`'s arguments.
    pub(crate) fn call(&mut self, site: &Site, func: &Val, call: &CallArgs<'_>) -> Val {
        match func {
            Val::Global(p) => self.call_global(site, &canonical(p), call),
            Val::Method(recv, m) => self.call_method(site, recv, m, call),
            Val::Param(_) | Val::Data => {
                self.escape_args(site, call);
                Val::Data
            }
            Val::Func(ret) => {
                self.escape_args(site, call);
                (**ret).clone()
            }
            Val::BuildClass => Val::Func(Box::new(Val::Data)),
            Val::Introspect(s) => {
                self.escape_args(site, call);
                Val::Introspect(truncate(&format!("{s}()"), PATH_MAX))
            }
            Val::Free(n) => {
                self.escape_args(site, call);
                self.unknown_call(n);
                Val::Opaque(truncate(&format!("{n}()"), PATH_MAX))
            }
            Val::Opaque(n) => {
                self.escape_args(site, call);
                self.unknown_call(n);
                Val::Opaque(truncate(&format!("{n}()"), PATH_MAX))
            }
            Val::CodeDone | Val::Null => Val::Unknown,
            other => {
                self.escape_args(site, call);
                let name = match other {
                    Val::Unknown => call.evidence.to_string(),
                    _ => other.render(),
                };
                self.unknown_call(&name);
                Val::Unknown
            }
        }
    }

    pub(super) fn escape_args(&mut self, site: &Site, call: &CallArgs<'_>) {
        for v in call.args.iter().chain(call.kwargs.iter().map(|(_, v)| v)) {
            self.escape(site, v, call.evidence, call.line);
        }
    }

    pub(super) fn call_global(&mut self, site: &Site, path: &str, call: &CallArgs<'_>) -> Val {
        let ev = call.evidence;
        let line = call.line;
        // Import primitives with constant names resolve like `import`.
        match path {
            "builtins.__import__" | "importlib.__import__" => {
                if let Some(name) = call.arg(0, "name").and_then(Val::as_str) {
                    let fromlist = call
                        .arg(3, "fromlist")
                        .and_then(Val::truthy)
                        .unwrap_or(false);
                    let module = if fromlist {
                        name.to_string()
                    } else {
                        name.split('.').next().unwrap_or(name).to_string()
                    };
                    return Val::Global(canonical(&module));
                }
                self.hit(site, Capability::ImportMachinery, path, ev, line);
                return Val::Unknown;
            }
            "importlib.import_module" => {
                if let Some(name) = call.arg(0, "name").and_then(Val::as_str) {
                    return Val::Global(canonical(name));
                }
                self.hit(site, Capability::ImportMachinery, path, ev, line);
                return Val::Unknown;
            }
            "builtins.getattr" => {
                let obj = call.args.first().cloned().unwrap_or(Val::Unknown);
                if let Some(name) = call.args.get(1).and_then(Val::as_str) {
                    let name = name.to_string();
                    return self.attr(site, &obj, &name, line);
                }
                self.hit(site, Capability::Introspection, path, ev, line);
                return Val::Unknown;
            }
            "builtins.globals" | "builtins.locals" => return Val::Globals,
            "builtins.vars" => {
                return match call.args.first() {
                    None => Val::Globals,
                    Some(v) => Val::AttrDict(Box::new(v.clone())),
                };
            }
            "builtins.dir" => return Val::Data,
            "builtins.__build_class__" => return Val::Func(Box::new(Val::Data)),
            _ => {}
        }
        if let Some((_, slots)) = CODE_RUNNERS.iter().find(|(p, _)| *p == path) {
            let step = path.strip_prefix("builtins.").unwrap_or(path);
            let mut all_resolved = true;
            let mut seen = false;
            for (pos, kw) in slots.iter() {
                let Some(v) = call.arg(*pos, kw) else {
                    continue;
                };
                // `exec(code, globals)`: only the first slot is code for exec/eval/compile.
                seen = true;
                if !self.run_code(site, step, v, line) {
                    all_resolved = false;
                }
            }
            if !seen || !all_resolved {
                let cap = classify_path(path)
                    .map(|e| e.capability)
                    .unwrap_or(Capability::DynamicCode);
                self.hit(site, cap, path, ev, line);
                return Val::Unknown;
            }
            self.escape_args_except_first(site, call);
            return if path == "builtins.compile" {
                Val::CodeDone
            } else {
                Val::Data
            };
        }
        if path == "marshal.loads" {
            if let Some(Val::Bytes(data, prov)) = call.arg(0, "bytes") {
                self.consume(data);
                let nested = site.nested(prov, "marshal", line);
                if nested.chain.len() > self.limits.max_decode_layers {
                    self.incomplete("limit max_decode_layers reached");
                } else {
                    (self.runners.marshal)(self, data, None, &nested);
                    return Val::CodeDone;
                }
            }
            self.hit(site, Capability::Deserialize, path, ev, line);
            return Val::Unknown;
        }
        if PICKLE_LOADERS.contains(&path)
            && let Some(Val::Bytes(data, prov)) = call.args.first()
        {
            self.consume(data);
            let kind = decode::sniff_payload(data).unwrap_or(PayloadKind::Pickle);
            let step = path.to_string();
            self.payload(site, kind, data.to_vec(), prov, &step);
            return Val::Opaque(format!("{path}()"));
        }
        if let Some(enc) = crate::knowledge::decoder(path) {
            // Exactly as Python decodes where reproduced; the rest (gzip, lzma, base85…) by
            // the lenient layer decoders.
            if decode::function_decode(path, &PyValue::Bytes(Vec::new()), self.limits).is_some() {
                return self.function_call(site, line, path, enc.as_str(), call);
            }
            return self.decode_call(site, enc, call.args.first(), line);
        }
        if matches!(
            path,
            "codecs.decode" | "codecs.encode" | "_codecs.decode" | "_codecs.encode"
        ) {
            let op = if path.ends_with(".encode") {
                CodecOp::CodecsEncode
            } else {
                CodecOp::CodecsDecode
            };
            let Some(data) = call.arg(0, "obj") else {
                return Val::Unknown;
            };
            return self.codec_call(
                site,
                line,
                op,
                data,
                call.arg(1, "encoding"),
                call.arg(2, "errors"),
            );
        }
        if path == "io.BytesIO" || path == "io.StringIO" {
            return match call.args.first() {
                Some(v @ (Val::Bytes(..) | Val::Str(..))) => v.clone(),
                _ => Val::Data,
            };
        }
        // str(b, encoding[, errors]) decodes and bytes(s, encoding[, errors]) encodes, as
        // bytes.decode/str.encode do; without those arguments they are folded below.
        if matches!(
            path,
            "builtins.str" | "builtins.bytes" | "builtins.bytearray"
        ) && (call.arg(1, "encoding").is_some() || call.arg(2, "errors").is_some())
        {
            let kw = if path == "builtins.str" {
                "object"
            } else {
                "source"
            };
            let Some(obj) = call.arg(0, kw) else {
                return Val::Unknown;
            };
            let (encoding, errors) = (call.arg(1, "encoding"), call.arg(2, "errors"));
            return match (path, obj) {
                ("builtins.str", Val::Bytes(..)) => {
                    self.codec_call(site, line, CodecOp::BytesDecode, obj, encoding, errors)
                }
                ("builtins.bytes" | "builtins.bytearray", Val::Str(..)) => {
                    self.codec_call(site, line, CodecOp::StrEncode, obj, encoding, errors)
                }
                (_, v) if v.is_data() => Val::Data,
                (_, Val::Str(..) | Val::Bytes(..)) => {
                    self.error(format!(
                        "{path} with an encoding raises TypeError in Python"
                    ));
                    Val::Unknown
                }
                _ => Val::Unknown,
            };
        }
        if let Some(name) = path.strip_prefix("builtins.")
            && let Some(v) = self.fold_builtin(name, call)
        {
            return v;
        }
        self.escape_args(site, call);
        if SAFE_OP_NAMESPACES.iter().any(|ns| path.starts_with(ns)) {
            return Val::Data;
        }
        if let Some(entry) = classify_path(path) {
            self.hit(site, entry.capability, path, ev, line);
            return Val::Opaque(format!(
                "{}()",
                path.strip_prefix("builtins.").unwrap_or(path)
            ));
        }
        if is_safe_path(path) {
            return Val::Data;
        }
        self.unknown_call(path.strip_prefix("builtins.").unwrap_or(path));
        // Keep the path so methods of the result are judged by the catalog too
        // (`pathlib.Path(p).write_text` → `pathlib:*.write_text`).
        if path.len() + 2 <= PATH_MAX {
            Val::Global(format!("{path}()"))
        } else {
            Val::Unknown
        }
    }

    pub(super) fn escape_args_except_first(&mut self, site: &Site, call: &CallArgs<'_>) {
        for v in call
            .args
            .iter()
            .skip(1)
            .chain(call.kwargs.iter().map(|(_, v)| v))
        {
            self.escape(site, v, call.evidence, call.line);
        }
    }

    /// Analyse constant code handed to an evaluator. True when the code was analysed.
    pub(crate) fn run_code(&mut self, site: &Site, step: &str, v: &Val, line: Option<u32>) -> bool {
        match v {
            Val::Str(s, _) => self.consume(s.as_bytes()),
            Val::Bytes(b, _) => self.consume(b),
            _ => {}
        }
        let text = match v {
            Val::CodeDone => return true,
            Val::Str(s, _) => s.clone(),
            Val::Bytes(b, _) => (match std::str::from_utf8(b) {
                Ok(s) => s.to_string(),
                Err(_) => return false,
            })
            .into(),
            _ => return false,
        };
        let nested = site.nested(v.prov(), step, line);
        if nested.chain.len() > self.limits.max_decode_layers {
            self.incomplete("limit max_decode_layers reached: nested code not analysed");
            return false;
        }
        (self.runners.source)(self, &text, &nested);
        true
    }
}
