//! Constants the pickle builds: bytes and strings, code objects (marshal), decoder and codec
//! calls reproduced, `functools.partial` state, EXT codes and BUILD-planted attributes.

use super::*;

impl Judge<'_> {
    /// Convert a value to a marshal object for the bytecode analyser (constants only).
    pub(super) fn to_object(&self, id: ValueId, depth: usize) -> Object {
        if depth > self.ctx.max_depth {
            return Object::None;
        }
        match self.a.value(id) {
            Some(Value::Str { value, .. }) => Object::Str(value.clone()),
            Some(Value::Bytes { value, .. }) => Object::Bytes(value.clone()),
            Some(Value::Call(_)) if self.const_bytes(id).is_some() => {
                Object::Bytes(self.const_bytes(id).unwrap_or_default())
            }
            Some(Value::Int(i)) => Object::Int(*i),
            Some(Value::Bool(b)) => Object::Bool(*b),
            Some(Value::Float(f)) => Object::Float(*f),
            Some(Value::Tuple(items)) | Some(Value::List(items)) => Object::Tuple(
                items
                    .iter()
                    .map(|&i| self.to_object(i, depth + 1))
                    .collect(),
            ),
            Some(Value::Call(ci)) => {
                // A nested code object built by another CodeType call.
                match self
                    .a
                    .calls
                    .get(*ci as usize)
                    .map(|c| self.code_from_args(&c.args))
                {
                    Some(Some(code)) => Object::Code(Box::new(code)),
                    _ => Object::None,
                }
            }
            _ => Object::None,
        }
    }

    /// A constant bytes value: BINBYTES, or protocol 2's `_codecs.encode(text, 'latin1')`.
    pub(super) fn const_bytes(&self, id: ValueId) -> Option<Vec<u8>> {
        match self.a.value(id)? {
            Value::Bytes { value, .. } => Some(value.clone()),
            Value::Call(ci) => {
                let call = self.a.calls.get(*ci as usize)?;
                let Some(Value::Global { module, name }) = self.a.value(call.func) else {
                    return None;
                };
                if !(matches!(module.as_str(), "_codecs" | "codecs") && name == "encode") {
                    return None;
                }
                let text = self.a.str_value(*call.args.first()?)?;
                let enc = call
                    .args
                    .get(1)
                    .and_then(|&e| self.a.str_value(e))
                    .unwrap_or("utf-8");
                if !matches!(enc, "latin1" | "latin-1" | "iso-8859-1") {
                    return None;
                }
                text.chars()
                    .map(|c| u8::try_from(u32::from(c)).ok())
                    .collect()
            }
            _ => None,
        }
    }

    pub(super) fn strings(&self, id: ValueId) -> Option<Vec<String>> {
        match self.a.value(id) {
            Some(Value::Tuple(items)) => items
                .iter()
                .map(|&i| self.a.str_value(i).map(str::to_string))
                .collect(),
            _ => None,
        }
    }

    /// Rebuild a code object from `CodeType(...)`-style arguments: the bytecode is the first
    /// bytes argument, then come the constants tuple, the names and the local names.
    pub(super) fn code_from_args(&self, args: &[ValueId]) -> Option<marshal::Code> {
        // The bytecode is the last bytes argument before the constants tuple (dill puts a
        // line table first; CodeType puts the bytecode right before the constants).
        let first_tuple = args
            .iter()
            .position(|&a| matches!(self.a.value(a), Some(Value::Tuple(_))))
            .unwrap_or(args.len());
        let code_pos = args
            .get(..first_tuple)
            .unwrap_or_default()
            .iter()
            .rposition(|&a| self.const_bytes(a).is_some())?;
        let code = self.const_bytes(*args.get(code_pos)?)?;
        let rest = args.get(code_pos + 1..).unwrap_or_default();
        let consts_id = rest
            .iter()
            .copied()
            .find(|&a| matches!(self.a.value(a), Some(Value::Tuple(_))))?;
        let consts = match self.to_object(consts_id, 0) {
            Object::Tuple(v) => v,
            _ => Vec::new(),
        };
        let after: Vec<ValueId> = rest
            .iter()
            .copied()
            .skip_while(|&a| a != consts_id)
            .skip(1)
            .collect();
        let mut tuples = after.iter().filter_map(|&a| self.strings(a));
        let names = tuples.next().unwrap_or_default();
        let varnames = tuples.next().unwrap_or_default();
        let strs: Vec<String> = after
            .iter()
            .filter_map(|&a| self.a.str_value(a).map(str::to_string))
            .collect();
        Some(marshal::Code {
            layout: marshal::Layout::Py311,
            version: None,
            argcount: 0,
            posonlyargcount: 0,
            kwonlyargcount: 0,
            nlocals: None,
            stacksize: 0,
            flags: 0,
            code,
            consts,
            names,
            varnames,
            localspluskinds: Vec::new(),
            freevars: Vec::new(),
            cellvars: Vec::new(),
            filename: strs.first().cloned().unwrap_or_default(),
            name: strs.get(1).cloned().unwrap_or_default(),
            qualname: strs.get(2).cloned().unwrap_or_default(),
            firstlineno: 0,
            linetable: Vec::new(),
            exceptiontable: Vec::new(),
        })
    }

    /// Analyse every code object the pickle builds (`types.CodeType`, cloudpickle's
    /// `_builtin_type('CodeType')`, dill's `_create_code`) with the bytecode analyser, and let
    /// what the code reaches decide the severity of the function-building calls.
    pub(super) fn judge_code_objects(&mut self) {
        let a = self.a;
        for call in &a.calls {
            let callee = self.eval(call.func, 0);
            let Sym::Name { module, qualname } = callee else {
                continue;
            };
            let is_code = matches!(
                (module.as_str(), qualname.as_str()),
                ("types", "CodeType") | ("dill._dill", "_create_code") | ("code", "__new__")
            );
            if !is_code {
                continue;
            }
            let Some(code) = self.code_from_args(&call.args) else {
                continue;
            };
            let facts = modelguard_pycode::analyze_code(&code, &self.ctx.code_limits);
            let loc = self.loc(call.at);
            let label = if code.qualname.is_empty() {
                code.name.clone()
            } else {
                code.qualname.clone()
            };
            // A function carried as data is a practicality (cloudpickle, dill): judged by what
            // its code reaches. Calls to names modelguard cannot judge are not evidence; code
            // that could not be analysed is.
            for h in &facts.hits {
                let chain = if h.chain.is_empty() {
                    String::new()
                } else {
                    format!(" (via {})", h.chain.join(" → "))
                };
                self.event(
                    PickleEvent::CodeHit {
                        capability: h.capability,
                        message: format!(
                            "pickled code object {label} reaches {} , which {}{chain}",
                            h.target,
                            h.capability.describe()
                        ),
                    },
                    h.evidence.clone(),
                    loc.clone(),
                );
            }
            if facts.hits.is_empty() {
                let what = if !facts.complete {
                    format!("could not be fully analysed: {}", facts.errors.join("; "))
                } else if facts.unknown_calls.is_empty() {
                    "only computes on its inputs".to_string()
                } else {
                    format!(
                        "reaches no capability (it also calls {})",
                        facts.unknown_calls.join(", ")
                    )
                };
                self.event(
                    PickleEvent::CodeObject {
                        message: format!("pickled code object {label} {what}"),
                        complete: facts.complete,
                    },
                    format!("names {:?}", code.names),
                    loc,
                );
            }
            self.code_objects_analysed = true;
        }
    }

    /// The symbolic value of a codec call's result: Python raising stops the load there; a
    /// codec modelguard cannot reproduce makes the value unknown and the file incomplete.
    pub(super) fn codec_result(
        &mut self,
        out: Result<PyValue, decode::CodecError>,
        what: &str,
    ) -> Sym {
        match out {
            Ok(PyValue::Bytes(b)) => Sym::Bytes(b),
            Ok(PyValue::Str(s)) => match s.as_str() {
                Some(t) => Sym::Str(t.to_string()),
                None => {
                    self.out.facts.incomplete.push(format!(
                        "{what} gives a string with lone surrogates, not analysed"
                    ));
                    Sym::Opaque
                }
            },
            Err(e) if e.is_unanalysable() => {
                self.out
                    .facts
                    .incomplete
                    .push(format!("{what} could not be reproduced: {e}"));
                Sym::Opaque
            }
            Err(_) => Sym::Fails,
        }
    }

    /// A call of a decoder from the shared table (`modelguard_pycode::knowledge`): decoded
    /// exactly as Python decodes where reproduced, by the lenient layer decoders otherwise.
    pub(super) fn decoder_call(
        &mut self,
        module: &str,
        qualname: &str,
        args: &[ValueId],
        depth: usize,
    ) -> Sym {
        let Some(enc) = knowledge::decoder_of(module, qualname) else {
            return Sym::Opaque;
        };
        let name = format!("{module}.{qualname}");
        if decode::function_decode(&name, &PyValue::Bytes(Vec::new()), &self.ctx.code_limits)
            .is_none()
        {
            return self.decode_arg(args, enc, depth);
        }

        let Some(obj) = args.first().map(|&a| self.eval(a, depth)) else {
            return Sym::Opaque;
        };
        let value = match obj {
            Sym::Str(s) => PyValue::Str(PyStr::from(s.as_str())),
            Sym::Bytes(b) => PyValue::Bytes(b),
            _ => return Sym::Opaque,
        };
        if args.len() > 1 {
            // altchars, validate, wbits…: not reproduced.
            self.out.facts.incomplete.push(format!(
                "{module}.{qualname} called with options modelguard does not reproduce"
            ));
            return Sym::Opaque;
        }
        match decode::function_decode(&name, &value, &self.ctx.code_limits) {
            Some(r) => self.codec_result(r.map(PyValue::Bytes), &name),
            None => Sym::Opaque,
        }
    }

    /// Decode a constant first argument (bounded by the code-analysis limits).
    pub(super) fn decode_arg(&mut self, args: &[ValueId], enc: Encoding, depth: usize) -> Sym {
        let data = match args.first().map(|&a| self.eval(a, depth)) {
            Some(Sym::Bytes(b)) => b,
            Some(Sym::Str(s)) => s.into_bytes(),
            _ => return Sym::Opaque,
        };
        match modelguard_pycode::decode::decode(enc, &data, &self.ctx.code_limits) {
            Ok(out) => Sym::Bytes(out),
            Err(_) => Sym::Opaque,
        }
    }

    /// The `(func, args)` a BUILD gives a `functools.partial` object, if any.
    pub(super) fn partial_state(&self, target: ValueId) -> Option<(ValueId, Vec<ValueId>)> {
        let b = self.a.builds.get(*self.last_build.get(&target)?)?;
        let Some(Value::Tuple(parts)) = self.a.value(b.state) else {
            return None;
        };
        let f = *parts.first()?;
        let args = match parts.get(1).and_then(|&a| self.a.value(a)) {
            Some(Value::Tuple(a)) => a.clone(),
            _ => Vec::new(),
        };
        Some((f, args))
    }

    /// Record `copyreg.add_extension(module, name, code)` calls with constant arguments.
    pub(super) fn collect_extensions(&mut self) {
        let a = self.a;
        for call in &a.calls {
            let Some(Value::Global { module, name }) = a.value(call.func) else {
                continue;
            };
            if (module.as_str(), name.as_str()) != ("copyreg", "add_extension") {
                continue;
            }
            let arg = |i: usize| call.args.get(i).and_then(|&v| a.value(v));
            if let (
                Some(Value::Str { value: m, .. }),
                Some(Value::Str { value: n, .. }),
                Some(Value::Int(code)),
            ) = (arg(0), arg(1), arg(2))
            {
                self.extensions.insert(*code, (m.clone(), n.clone()));
            }
        }
    }

    /// Record attributes BUILD sets on imported objects (the state dict, or both halves of a
    /// `(dict, slotstate)` tuple).
    pub(super) fn collect_planted(&mut self) {
        let a = self.a;
        for b in &a.builds {
            let Some(Value::Global { module, name }) = a.value(b.target) else {
                continue;
            };
            let mut dicts = Vec::new();
            match a.value(b.state) {
                Some(Value::Dict(items)) => dicts.push(items.clone()),
                Some(Value::Tuple(parts)) => {
                    for p in parts {
                        if let Some(Value::Dict(items)) = a.value(*p) {
                            dicts.push(items.clone());
                        }
                    }
                }
                _ => {}
            }
            for items in dicts {
                for (k, v) in items {
                    if let Some(key) = a.str_value(k) {
                        self.planted
                            .insert((module.clone(), name.clone(), key.to_string()), v);
                        self.planted_on
                            .entry((module.clone(), name.clone()))
                            .or_default()
                            .push(v);
                    }
                }
            }
        }
    }
}
