//! Imports and calls: GLOBAL, STACK_GLOBAL, INST, OBJ, REDUCE, NEWOBJ(_EX), BUILD, persistent
//! ids, extension codes and out-of-band buffers.

use super::{Ctx, R, Step, Vm, bad, stack_err};
use crate::compat::map_python2_name;
use crate::opcodes as op;
use crate::reader::Reader;
use crate::{Build, CallKind, ErrorKind, Import, ImportKind, Location, Value, ValueId};

impl<'a> Vm<'a> {
    /// The opcodes of this module (see [`Vm::exec_other`]).
    #[inline(always)]
    pub(super) fn exec_object(&mut self, code: u8, c: &mut Ctx<'a>, at: Location) -> R<Step> {
        let r = &mut c.r;
        let f = &mut c.frame;
        let pushed = match code {
            op::GLOBAL => {
                let (module, name, eof) = self.name_pair(r)?;
                let g =
                    self.global(f.maps_python2_names(), module, name, ImportKind::Global, at)?;
                if eof {
                    return Err(ErrorKind::Truncated);
                }
                g
            }
            op::STACK_GLOBAL => {
                let name = Self::pop(f)?;
                let module = Self::pop(f)?;
                match (self.value(module), self.value(name)) {
                    (
                        Some(Value::Str {
                            value: m,
                            truncated: false,
                        }),
                        Some(Value::Str {
                            value: n,
                            truncated: false,
                        }),
                    ) => {
                        let (m, n) = (m.clone(), n.clone());
                        self.global(f.maps_python2_names(), m, n, ImportKind::StackGlobal, at)?
                    }
                    _ => {
                        let value = self.new_value(Value::DynamicGlobal { module, name })?;
                        self.out.imports.push(Import {
                            module: None,
                            name: None,
                            raw_module: None,
                            raw_name: None,
                            kind: ImportKind::StackGlobal,
                            value,
                            at,
                        });
                        value
                    }
                }
            }
            op::INST => {
                let (module, name, eof) = self.name_pair(r)?;
                // pickle.py imports before looking for the MARK: the import happens even if
                // the call then fails.
                let cls =
                    self.global(f.maps_python2_names(), module, name, ImportKind::Inst, at)?;
                let args = Self::pop_mark(f)?;
                let v = self.call(cls, args, Vec::new(), CallKind::Inst, at)?;
                if eof {
                    return Err(ErrorKind::Truncated);
                }
                v
            }
            op::OBJ => {
                let mut items = Self::pop_mark(f)?;
                if items.is_empty() {
                    return Err(stack_err("OBJ without class"));
                }
                let cls = items.remove(0);
                self.call(cls, items, Vec::new(), CallKind::Obj, at)?
            }
            op::REDUCE => {
                let args = Self::pop(f)?;
                let func = Self::pop(f)?;
                let args = self.args_of(args)?;
                self.call(func, args, Vec::new(), CallKind::Reduce, at)?
            }
            op::NEWOBJ => {
                let args = Self::pop(f)?;
                let cls = Self::pop(f)?;
                let args = self.args_of(args)?;
                self.call(cls, args, Vec::new(), CallKind::NewObj, at)?
            }
            op::NEWOBJ_EX => {
                let kwargs = Self::pop(f)?;
                let args = Self::pop(f)?;
                let cls = Self::pop(f)?;
                let args = self.args_of(args)?;
                let kwargs = self.kwargs_of(kwargs)?;
                self.call(cls, args, kwargs, CallKind::NewObjEx, at)?
            }
            op::BUILD => {
                let state = Self::pop(f)?;
                let target = Self::top(f)?;
                self.out.builds.push(Build { target, state, at });
                if c.joblib {
                    self.build_state.insert(target, state);
                }
                return Ok(Step::Built { target, state });
            }
            op::PERSID => {
                let line = r.line()?;
                if !line.is_ascii() {
                    return Err(bad("persistent IDs in protocol 0 must be ASCII strings"));
                }
                let pid = self.new_utf8(line)?;
                self.out.persistent_ids.push((pid, at));
                self.new_value(Value::PersistentId(pid))?
            }
            op::BINPERSID => {
                let pid = Self::pop(f)?;
                self.out.persistent_ids.push((pid, at));
                self.new_value(Value::PersistentId(pid))?
            }
            op::EXT1 | op::EXT2 | op::EXT4 => {
                let code = match code {
                    op::EXT1 => i64::from(r.u8()?),
                    op::EXT2 => i64::from(r.u16_le()?),
                    _ => i64::from(r.i32_le()?),
                };
                if code <= 0 {
                    return Err(bad("EXT specifies code <= 0"));
                }
                self.new_value(Value::Extension(code))?
            }
            op::NEXT_BUFFER => self.new_value(Value::Buffer { readonly: false })?,
            op::READONLY_BUFFER => {
                let top = Self::top(f)?;
                // `memoryview(buf).toreadonly()` is a new object; a memoised original stays.
                if matches!(self.value(top), Some(Value::Buffer { readonly: false })) {
                    let v = self.new_value(Value::Buffer { readonly: true })?;
                    Self::set_top(f, v)?;
                }
                return Ok(Step::Continue);
            }
            other => return Err(ErrorKind::UnknownOpcode(other)),
        };
        self.push(f, pushed)?;
        Ok(Step::Continue)
    }

    /// A protocol-0 text operand line, bounded like any other string operand.
    ///
    /// At the end of the data, `pickle._Unpickler` still calls `find_class` with what
    /// `readline()[:-1]` gave (importing the module!) before failing on the next read; so the
    /// partial line is returned with a flag and the caller records the import, then fails.
    fn name_line(&mut self, r: &mut Reader<'_>) -> R<(String, bool)> {
        let (line, eof) = r.line_or_rest();
        if line.len() > self.limits.max_string_bytes {
            return Err(ErrorKind::Limit("max_string_bytes"));
        }
        self.charge_strings(line.len())?;
        let text = match std::str::from_utf8(line) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(line).into_owned(),
        };
        Ok((text, eof))
    }

    /// The `module\nname\n` operands of GLOBAL/INST (see [`Vm::name_line`] for the flag).
    fn name_pair(&mut self, r: &mut Reader<'_>) -> R<(String, String, bool)> {
        let (module, eof) = self.name_line(r)?;
        if eof {
            return Ok((module, String::new(), true));
        }
        let (name, eof) = self.name_line(r)?;
        Ok((module, name, eof))
    }

    fn global(
        &mut self,
        map_names: bool,
        raw_module: String,
        raw_name: String,
        kind: ImportKind,
        at: Location,
    ) -> R<ValueId> {
        let (module, name) = if map_names {
            map_python2_name(&raw_module, &raw_name)
        } else {
            (raw_module.clone(), raw_name.clone())
        };
        let value = self.new_value(Value::Global {
            module: module.clone(),
            name: name.clone(),
        })?;
        self.out.imports.push(Import {
            module: Some(module),
            name: Some(name),
            raw_module: Some(raw_module),
            raw_name: Some(raw_name),
            kind,
            value,
            at,
        });
        Ok(value)
    }

    /// The positional arguments an `args` operand stands for: the items of a known tuple (or
    /// list: the pure-Python unpickler accepts `func(*list)`), else the operand itself.
    fn args_of(&mut self, id: ValueId) -> R<Vec<ValueId>> {
        let items = match self.value(id) {
            Some(Value::Tuple(v) | Value::List(v)) => v.clone(),
            _ => return Ok(vec![id]),
        };
        self.charge_copies(items.len())?;
        Ok(items)
    }

    /// Keyword arguments of NEWOBJ_EX: a known dict's items, else `(Unknown, operand)`, which
    /// renders as `**operand`.
    fn kwargs_of(&mut self, id: ValueId) -> R<Vec<(ValueId, ValueId)>> {
        let items = match self.value(id) {
            Some(Value::Dict(v)) => v.clone(),
            _ => {
                let k = self.new_value(Value::Unknown)?;
                return Ok(vec![(k, id)]);
            }
        };
        self.charge_copies(items.len().saturating_mul(2))?;
        Ok(items)
    }
}
