//! The reader proper: `r_object` of `Python/marshal.c`, with reference slots reserved before
//! children, every length checked against the remaining bytes and the limits counted.

use super::{Code, Layout, MarshalError, Object};
use crate::Limits;

/// Decode one object with `layout`; the whole input must be consumed.
pub(super) fn load(
    data: &[u8],
    layout: Layout,
    version: Option<(u8, u8)>,
    limits: &Limits,
) -> Result<Object, MarshalError> {
    let mut r = Reader {
        data,
        pos: 0,
        refs: Vec::new(),
        layout,
        version,
        objects: 0,
        depth: 0,
        limits,
    };
    let obj = r.object()?;
    let rest = data.len().saturating_sub(r.pos);
    if rest != 0 {
        return Err(MarshalError::Trailing(rest));
    }
    Ok(obj)
}

const FLAG_REF: u8 = 0x80;

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Referenceable objects with their weight (object count); `None` = reserved, not filled.
    refs: Vec<Option<(Object, usize)>>,
    layout: Layout,
    version: Option<(u8, u8)>,
    objects: usize,
    depth: usize,
    limits: &'a Limits,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], MarshalError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(MarshalError::Truncated(self.pos))?;
        let s = self
            .data
            .get(self.pos..end)
            .ok_or(MarshalError::Truncated(self.pos))?;
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, MarshalError> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or(MarshalError::Truncated(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn long(&mut self) -> Result<i32, MarshalError> {
        let b = self.take(4)?;
        let arr: [u8; 4] = b
            .try_into()
            .map_err(|_| MarshalError::Truncated(self.pos))?;
        Ok(i32::from_le_bytes(arr))
    }

    /// A non-negative 32-bit length that fits in the remaining input (at `min_item` bytes each).
    fn len(&mut self, min_item: usize) -> Result<usize, MarshalError> {
        let at = self.pos;
        let n = self.long()?;
        let n = usize::try_from(n).map_err(|_| MarshalError::Invalid {
            at,
            reason: "negative length",
        })?;
        let remaining = self.data.len().saturating_sub(self.pos);
        if n.saturating_mul(min_item.max(1)) > remaining && min_item > 0 {
            return Err(MarshalError::Truncated(self.pos));
        }
        Ok(n)
    }

    fn count(&mut self, n: usize) -> Result<(), MarshalError> {
        self.objects = self.objects.saturating_add(n);
        if self.objects > self.limits.max_marshal_objects {
            return Err(MarshalError::Limit("max_marshal_objects"));
        }
        Ok(())
    }

    fn reserve(&mut self, flag: bool) -> Option<usize> {
        flag.then(|| {
            self.refs.push(None);
            self.refs.len() - 1
        })
    }

    fn fill(&mut self, idx: Option<usize>, obj: &Object, weight: usize) {
        if let Some(slot) = idx.and_then(|i| self.refs.get_mut(i)) {
            *slot = Some((obj.clone(), weight));
        }
    }

    fn object(&mut self) -> Result<Object, MarshalError> {
        self.depth += 1;
        if self.depth > self.limits.max_marshal_depth {
            return Err(MarshalError::Limit("max_marshal_depth"));
        }
        let r = self.object_inner();
        self.depth -= 1;
        r
    }

    fn object_inner(&mut self) -> Result<Object, MarshalError> {
        let at = self.pos;
        let code = self.byte()?;
        let flag = code & FLAG_REF != 0;
        let ty = code & !FLAG_REF;
        self.count(1)?;
        let before = self.objects;
        // Containers reserve their reference slot before reading children.
        let simple = |this: &mut Self, obj: Object| -> Result<Object, MarshalError> {
            if flag {
                this.refs.push(Some((obj.clone(), 1)));
            }
            Ok(obj)
        };
        match ty {
            b'N' => simple(self, Object::None),
            b'F' => simple(self, Object::Bool(false)),
            b'T' => simple(self, Object::Bool(true)),
            b'S' => simple(self, Object::StopIteration),
            b'.' => simple(self, Object::Ellipsis),
            b'i' => {
                let v = self.long()?;
                simple(self, Object::Int(i64::from(v)))
            }
            b'I' => {
                let b = self.take(8)?;
                let arr: [u8; 8] = b.try_into().map_err(|_| MarshalError::Truncated(at))?;
                simple(self, Object::Int(i64::from_le_bytes(arr)))
            }
            b'l' => {
                let n = self.long()?;
                let negative = n < 0;
                let count = usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX);
                if count.saturating_mul(2) > self.data.len().saturating_sub(self.pos) {
                    return Err(MarshalError::Truncated(self.pos));
                }
                let raw = self.take(count * 2)?;
                let mut digits = Vec::with_capacity(count);
                for pair in raw.chunks_exact(2) {
                    let d = u16::from_le_bytes([
                        pair.first().copied().unwrap_or(0),
                        pair.get(1).copied().unwrap_or(0),
                    ]);
                    if d >= 1 << 15 {
                        return Err(MarshalError::Invalid {
                            at,
                            reason: "long digit out of range",
                        });
                    }
                    digits.push(d);
                }
                let obj = long_to_object(negative, digits);
                simple(self, obj)
            }
            b'f' => {
                let v = self.text_float()?;
                simple(self, Object::Float(v))
            }
            b'g' => {
                let v = self.binary_float()?;
                simple(self, Object::Float(v))
            }
            b'x' => {
                let re = self.text_float()?;
                let im = self.text_float()?;
                simple(self, Object::Complex(re, im))
            }
            b'y' => {
                let re = self.binary_float()?;
                let im = self.binary_float()?;
                simple(self, Object::Complex(re, im))
            }
            b's' => {
                let n = self.len(1)?;
                let b = self.take(n)?.to_vec();
                simple(self, Object::Bytes(b))
            }
            b't' | b'u' => {
                let n = self.len(1)?;
                let b = self.take(n)?;
                simple(self, Object::Str(String::from_utf8_lossy(b).into_owned()))
            }
            b'a' | b'A' => {
                let n = self.len(1)?;
                let b = self.take(n)?;
                simple(
                    self,
                    Object::Str(b.iter().map(|&c| char::from(c)).collect()),
                )
            }
            b'z' | b'Z' => {
                let n = usize::from(self.byte()?);
                let b = self.take(n)?;
                simple(
                    self,
                    Object::Str(b.iter().map(|&c| char::from(c)).collect()),
                )
            }
            b'r' => {
                let n = self.long()?;
                let idx = usize::try_from(n).map_err(|_| MarshalError::Invalid {
                    at,
                    reason: "negative reference",
                })?;
                let (obj, weight) = match self.refs.get(idx) {
                    Some(Some((o, w))) => (o.clone(), *w),
                    Some(None) => {
                        return Err(MarshalError::Invalid {
                            at,
                            reason: "reference to an unfinished object",
                        });
                    }
                    None => {
                        return Err(MarshalError::Invalid {
                            at,
                            reason: "invalid reference",
                        });
                    }
                };
                self.count(weight)?;
                Ok(obj)
            }
            b'(' | b')' | b'[' | b'<' | b'>' => {
                let n = if ty == b')' {
                    usize::from(self.byte()?)
                } else {
                    self.len(1)?
                };
                let idx = self.reserve(flag);
                let mut items = Vec::with_capacity(n.min(4096));
                for _ in 0..n {
                    items.push(self.object()?);
                }
                let obj = match ty {
                    b'(' | b')' => Object::Tuple(items),
                    b'[' => Object::List(items),
                    b'<' => Object::Set(items),
                    _ => Object::FrozenSet(items),
                };
                self.fill(idx, &obj, self.objects - before + 1);
                Ok(obj)
            }
            b'{' => {
                let idx = self.reserve(flag);
                let mut pairs = Vec::new();
                loop {
                    if self.data.get(self.pos) == Some(&b'0') {
                        self.pos += 1;
                        break;
                    }
                    let k = self.object()?;
                    let v = self.object()?;
                    pairs.push((k, v));
                }
                let obj = Object::Dict(pairs);
                self.fill(idx, &obj, self.objects - before + 1);
                Ok(obj)
            }
            b':' => {
                let idx = self.reserve(flag);
                let a = self.object()?;
                let b = self.object()?;
                let c = self.object()?;
                let obj = Object::Slice(Box::new((a, b, c)));
                self.fill(idx, &obj, self.objects - before + 1);
                Ok(obj)
            }
            b'c' => {
                let idx = self.reserve(flag);
                let code = self.code(at)?;
                let obj = Object::Code(Box::new(code));
                self.fill(idx, &obj, self.objects - before + 1);
                Ok(obj)
            }
            b'0' => Err(MarshalError::Invalid {
                at,
                reason: "NULL object",
            }),
            other => Err(MarshalError::BadType { byte: other, at }),
        }
    }

    fn text_float(&mut self) -> Result<f64, MarshalError> {
        let at = self.pos;
        let n = usize::from(self.byte()?);
        let b = self.take(n)?;
        std::str::from_utf8(b)
            .ok()
            .and_then(|s| parse_py_float(s.trim()))
            .ok_or(MarshalError::Invalid {
                at,
                reason: "bad float text",
            })
    }

    fn binary_float(&mut self) -> Result<f64, MarshalError> {
        let at = self.pos;
        let b = self.take(8)?;
        let arr: [u8; 8] = b.try_into().map_err(|_| MarshalError::Truncated(at))?;
        Ok(f64::from_le_bytes(arr))
    }

    fn u32_field(&mut self, reason: &'static str) -> Result<u32, MarshalError> {
        let at = self.pos;
        let v = self.long()?;
        u32::try_from(v).map_err(|_| MarshalError::Invalid { at, reason })
    }

    fn bytes_field(&mut self, reason: &'static str) -> Result<Vec<u8>, MarshalError> {
        let at = self.pos;
        match self.object()? {
            Object::Bytes(b) => Ok(b),
            _ => Err(MarshalError::Invalid { at, reason }),
        }
    }

    fn str_field(&mut self, reason: &'static str) -> Result<String, MarshalError> {
        let at = self.pos;
        match self.object()? {
            Object::Str(s) => Ok(s),
            _ => Err(MarshalError::Invalid { at, reason }),
        }
    }

    fn tuple_field(&mut self, reason: &'static str) -> Result<Vec<Object>, MarshalError> {
        let at = self.pos;
        match self.object()? {
            Object::Tuple(v) => Ok(v),
            _ => Err(MarshalError::Invalid { at, reason }),
        }
    }

    fn names_field(&mut self, reason: &'static str) -> Result<Vec<String>, MarshalError> {
        let at = self.pos;
        self.tuple_field(reason)?
            .into_iter()
            .map(|o| match o {
                Object::Str(s) => Ok(s),
                _ => Err(MarshalError::Invalid { at, reason }),
            })
            .collect()
    }

    fn code(&mut self, _at: usize) -> Result<Code, MarshalError> {
        let layout = self.layout;
        let argcount = self.u32_field("bad co_argcount")?;
        let posonlyargcount = if layout == Layout::Py36 {
            0
        } else {
            self.u32_field("bad co_posonlyargcount")?
        };
        let kwonlyargcount = self.u32_field("bad co_kwonlyargcount")?;
        let nlocals = if layout == Layout::Py311 {
            None
        } else {
            Some(self.u32_field("bad co_nlocals")?)
        };
        let stacksize = self.u32_field("bad co_stacksize")?;
        let flags = self.u32_field("bad co_flags")?;
        let code = self.bytes_field("co_code is not bytes")?;
        let consts = self.tuple_field("co_consts is not a tuple")?;
        let names = self.names_field("co_names is not a tuple of str")?;
        let mut out = Code {
            layout,
            version: self.version,
            argcount,
            posonlyargcount,
            kwonlyargcount,
            nlocals,
            stacksize,
            flags,
            code,
            consts,
            names,
            varnames: Vec::new(),
            localspluskinds: Vec::new(),
            freevars: Vec::new(),
            cellvars: Vec::new(),
            filename: String::new(),
            name: String::new(),
            qualname: String::new(),
            firstlineno: 0,
            linetable: Vec::new(),
            exceptiontable: Vec::new(),
        };
        if layout == Layout::Py311 {
            out.varnames = self.names_field("co_localsplusnames is not a tuple of str")?;
            out.localspluskinds = self.bytes_field("co_localspluskinds is not bytes")?;
            if out.localspluskinds.len() != out.varnames.len() {
                return Err(MarshalError::Invalid {
                    at: self.pos,
                    reason: "localsplusnames and localspluskinds differ in length",
                });
            }
            for (name, kind) in out.varnames.iter().zip(&out.localspluskinds) {
                // CO_FAST_CELL = 0x40, CO_FAST_FREE = 0x80.
                if kind & 0x80 != 0 {
                    out.freevars.push(name.clone());
                } else if kind & 0x40 != 0 {
                    out.cellvars.push(name.clone());
                }
            }
            out.filename = self.str_field("co_filename is not str")?;
            out.name = self.str_field("co_name is not str")?;
            out.qualname = self.str_field("co_qualname is not str")?;
            out.firstlineno = self.u32_field("bad co_firstlineno")?;
            out.linetable = self.bytes_field("co_linetable is not bytes")?;
            out.exceptiontable = self.bytes_field("co_exceptiontable is not bytes")?;
        } else {
            out.varnames = self.names_field("co_varnames is not a tuple of str")?;
            out.freevars = self.names_field("co_freevars is not a tuple of str")?;
            out.cellvars = self.names_field("co_cellvars is not a tuple of str")?;
            out.filename = self.str_field("co_filename is not str")?;
            out.name = self.str_field("co_name is not str")?;
            out.qualname = out.name.clone();
            out.firstlineno = self.u32_field("bad co_firstlineno")?;
            out.linetable = self.bytes_field("co_lnotab is not bytes")?;
        }
        Ok(out)
    }
}

fn long_to_object(negative: bool, digits: Vec<u16>) -> Object {
    if digits.len() <= 4 {
        let mut v: i64 = 0;
        for (i, d) in digits.iter().enumerate() {
            v |= i64::from(*d) << (15 * i);
        }
        return Object::Int(if negative { -v } else { v });
    }
    Object::Long { negative, digits }
}

/// Parse a float as `repr(float)` writes it (`inf`, `nan`, exponent forms).
fn parse_py_float(s: &str) -> Option<f64> {
    match s {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}
