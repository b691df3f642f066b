//! CPython `marshal` format: objects and code objects of CPython 3.6 through 3.14.
//!
//! The reader follows `Python/marshal.c` (`r_object`): one type byte (with `FLAG_REF` 0x80
//! asking the reader to remember the object for later `TYPE_REF`s), then the payload. Container
//! slots are reserved *before* their children, as CPython does, so reference indices match.
//!
//! The layout of `TYPE_CODE` changed across versions:
//! - 3.0–3.7: argcount, kwonlyargcount, nlocals, stacksize, flags, code, consts, names,
//!   varnames, freevars, cellvars, filename, name, firstlineno, lnotab;
//! - 3.8–3.10: as above with posonlyargcount after argcount (3.10 calls lnotab "linetable");
//! - 3.11–3.14: argcount, posonlyargcount, kwonlyargcount, stacksize, flags, code, consts,
//!   names, localsplusnames, localspluskinds, filename, name, qualname, firstlineno,
//!   linetable, exceptiontable.
//!
//! [`loads`] with no version tries the layouts newest first and keeps the first that decodes
//! the whole input. A `.pyc` header is recognised by [`strip_pyc_header`].
//!
//! Hostile input: every length is checked against the remaining bytes before allocating,
//! nesting is bounded by [`Limits::max_marshal_depth`] and the number of materialised objects
//! (a reference counts the full size of what it copies) by [`Limits::max_marshal_objects`].

use serde::Serialize;

use crate::Limits;

/// A decoded marshal object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "kebab-case")]
pub enum Object {
    /// `None`.
    None,
    /// `StopIteration` (the type, used as a sentinel).
    StopIteration,
    /// `...`.
    Ellipsis,
    /// `True` / `False`.
    Bool(bool),
    /// An int that fits in 64 bits (`TYPE_INT`, `TYPE_INT64`, small `TYPE_LONG`).
    Int(i64),
    /// A big int (`TYPE_LONG`): sign and base-2**15 digits, least significant first.
    Long {
        /// True for negative values.
        negative: bool,
        /// 15-bit digits, least significant first.
        digits: Vec<u16>,
    },
    /// A float (text or binary form).
    Float(f64),
    /// A complex number (real, imaginary).
    Complex(f64, f64),
    /// `bytes` (`TYPE_STRING`).
    Bytes(Vec<u8>),
    /// `str` (unicode, ASCII, short ASCII, interned or not). Lone surrogates become U+FFFD.
    Str(String),
    /// A tuple (`TYPE_TUPLE`, `TYPE_SMALL_TUPLE`).
    Tuple(Vec<Object>),
    /// A list.
    List(Vec<Object>),
    /// A dict, as key/value pairs in stream order.
    Dict(Vec<(Object, Object)>),
    /// A set.
    Set(Vec<Object>),
    /// A frozenset.
    FrozenSet(Vec<Object>),
    /// A slice (`TYPE_SLICE`, CPython 3.14): start, stop, step.
    Slice(Box<(Object, Object, Object)>),
    /// A code object.
    Code(Box<Code>),
}

impl Object {
    /// The string value, for `Str` objects.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Object::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The code object, for `Code` objects.
    pub fn as_code(&self) -> Option<&Code> {
        match self {
            Object::Code(c) => Some(c),
            _ => None,
        }
    }

    /// Every code object in this object, depth-first, including nested ones in constants.
    pub fn codes(&self) -> Vec<&Code> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(o) = stack.pop() {
            match o {
                Object::Code(c) => {
                    out.push(&**c);
                    stack.extend(c.consts.iter().rev());
                }
                Object::Tuple(v) | Object::List(v) | Object::Set(v) | Object::FrozenSet(v) => {
                    stack.extend(v.iter().rev())
                }
                Object::Dict(kv) => {
                    for (k, v) in kv.iter().rev() {
                        stack.push(v);
                        stack.push(k);
                    }
                }
                Object::Slice(s) => {
                    stack.push(&s.2);
                    stack.push(&s.1);
                    stack.push(&s.0);
                }
                _ => {}
            }
        }
        out
    }
}

/// Which `TYPE_CODE` field layout a code object was read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Layout {
    /// CPython 3.0–3.7.
    Py36,
    /// CPython 3.8–3.10 (adds posonlyargcount).
    Py38,
    /// CPython 3.11–3.14 (localsplus, qualname, exception table).
    Py311,
}

impl Layout {
    /// The layout a CPython version uses; `None` for versions before 3.0.
    pub fn for_version(version: (u8, u8)) -> Option<Layout> {
        match version {
            (3, 0..=7) => Some(Layout::Py36),
            (3, 8..=10) => Some(Layout::Py38),
            (3, _) => Some(Layout::Py311),
            _ => None,
        }
    }
}

/// A code object (`types.CodeType`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Code {
    /// Field layout this object was decoded with.
    pub layout: Layout,
    /// The exact version, when known (given by the caller or read from a `.pyc` header).
    pub version: Option<(u8, u8)>,
    /// `co_argcount`.
    pub argcount: u32,
    /// `co_posonlyargcount` (0 before 3.8).
    pub posonlyargcount: u32,
    /// `co_kwonlyargcount`.
    pub kwonlyargcount: u32,
    /// `co_nlocals` (not stored from 3.11 on: `None`).
    pub nlocals: Option<u32>,
    /// `co_stacksize`.
    pub stacksize: u32,
    /// `co_flags`.
    pub flags: u32,
    /// The bytecode (`co_code`).
    pub code: Vec<u8>,
    /// `co_consts`; nested functions, lambdas and comprehensions are `Object::Code` here.
    pub consts: Vec<Object>,
    /// `co_names`: globals, attributes and imported names used by the bytecode.
    pub names: Vec<String>,
    /// `co_varnames` (before 3.11) or `co_localsplusnames` (3.11+: locals, cells and frees).
    pub varnames: Vec<String>,
    /// `co_localspluskinds` (3.11+; empty before).
    pub localspluskinds: Vec<u8>,
    /// `co_freevars` (derived from the kinds for 3.11+).
    pub freevars: Vec<String>,
    /// `co_cellvars` (derived from the kinds for 3.11+).
    pub cellvars: Vec<String>,
    /// `co_filename`.
    pub filename: String,
    /// `co_name`.
    pub name: String,
    /// `co_qualname` (3.11+; equal to `name` before).
    pub qualname: String,
    /// `co_firstlineno`.
    pub firstlineno: u32,
    /// `co_lnotab` / `co_linetable` (raw).
    pub linetable: Vec<u8>,
    /// `co_exceptiontable` (3.11+; empty before).
    pub exceptiontable: Vec<u8>,
}

impl Code {
    /// Code objects nested in this one's constants (direct children only).
    pub fn children(&self) -> impl Iterator<Item = &Code> {
        self.consts.iter().filter_map(Object::as_code)
    }
}

/// Why marshal data could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MarshalError {
    /// The data ended inside an object.
    #[error("marshal data truncated at offset {0}")]
    Truncated(usize),
    /// An unknown or unsupported type byte.
    #[error("bad marshal type byte {byte:#04x} at offset {at}")]
    BadType {
        /// The type byte (without FLAG_REF).
        byte: u8,
        /// Its offset.
        at: usize,
    },
    /// Structurally invalid data (bad length, bad reference, wrong field type…).
    #[error("bad marshal data at offset {at}: {reason}")]
    Invalid {
        /// Offset where the problem was seen.
        at: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// A limit was crossed.
    #[error("marshal limit exceeded: {0}")]
    Limit(&'static str),
    /// Bytes remain after the top-level object.
    #[error("{0} trailing bytes after the marshal object")]
    Trailing(usize),
    /// The requested version is not supported.
    #[error("unsupported Python version {0}.{1}")]
    Version(u8, u8),
}

/// Decode one marshal object that spans all of `data`.
///
/// `version` picks the code-object layout (`(3, 11)` → 3.11 layout); `None` tries the 3.11+,
/// 3.8–3.10 and 3.6–3.7 layouts in that order and keeps the first that decodes every byte.
pub fn loads(
    data: &[u8],
    version: Option<(u8, u8)>,
    limits: &Limits,
) -> Result<Object, MarshalError> {
    match version {
        Some(v) => {
            let layout = Layout::for_version(v).ok_or(MarshalError::Version(v.0, v.1))?;
            load_with(data, layout, Some(v), limits)
        }
        None => {
            let mut first_err = None;
            for layout in [Layout::Py311, Layout::Py38, Layout::Py36] {
                match load_with(data, layout, None, limits) {
                    Ok(o) => return Ok(o),
                    // A limit is not a layout mismatch: stop at once.
                    Err(e @ MarshalError::Limit(_)) => return Err(e),
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
            Err(first_err.unwrap_or(MarshalError::Truncated(0)))
        }
    }
}

/// Decode with one given layout; the whole input must be consumed.
pub fn load_with(
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

/// If `data` starts with a `.pyc` header, return the CPython version its magic number names
/// and the marshal data after the header.
pub fn strip_pyc_header(data: &[u8]) -> Option<((u8, u8), &[u8])> {
    let magic = u16::from_le_bytes([*data.first()?, *data.get(1)?]);
    if data.get(2..4)? != b"\r\n" {
        return None;
    }
    let minor = match magic {
        3360..=3379 => 6,
        3390..=3399 => 7,
        3400..=3419 => 8,
        3420..=3429 => 9,
        3430..=3449 => 10,
        3450..=3499 => 11,
        3500..=3549 => 12,
        3550..=3599 => 13,
        3600..=3699 => 14,
        _ => return None,
    };
    let header = if minor >= 7 { 16 } else { 12 };
    Some(((3, minor), data.get(header..)?))
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits::default()
    }

    #[test]
    fn scalars() {
        assert_eq!(loads(b"N", None, &lim()), Ok(Object::None));
        assert_eq!(loads(b"T", None, &lim()), Ok(Object::Bool(true)));
        assert_eq!(loads(b"F", None, &lim()), Ok(Object::Bool(false)));
        assert_eq!(loads(b"S", None, &lim()), Ok(Object::StopIteration));
        assert_eq!(loads(b".", None, &lim()), Ok(Object::Ellipsis));
        assert_eq!(
            loads(b"i\xff\xff\xff\xff", None, &lim()),
            Ok(Object::Int(-1))
        );
        assert_eq!(
            loads(b"I\x00\x00\x00\x00\x01\x00\x00\x00", None, &lim()),
            Ok(Object::Int(1 << 32))
        );
        // 2**30 = digits [0, 0, 1]
        assert_eq!(
            loads(b"l\x03\x00\x00\x00\x00\x00\x00\x00\x01\x00", None, &lim()),
            Ok(Object::Int(1 << 30))
        );
        assert_eq!(
            loads(b"l\xfd\xff\xff\xff\x00\x00\x00\x00\x01\x00", None, &lim()),
            Ok(Object::Int(-(1 << 30)))
        );
        assert_eq!(loads(b"f\x031.5", None, &lim()), Ok(Object::Float(1.5)));
        assert_eq!(
            loads(b"g\x00\x00\x00\x00\x00\x00\xf8\x3f", None, &lim()),
            Ok(Object::Float(1.5))
        );
        assert_eq!(
            loads(b"x\x011\x012", None, &lim()),
            Ok(Object::Complex(1.0, 2.0))
        );
        assert_eq!(
            loads(b"s\x02\x00\x00\x00hi", None, &lim()),
            Ok(Object::Bytes(b"hi".to_vec()))
        );
        assert_eq!(
            loads(b"u\x02\x00\x00\x00\xc3\xa9", None, &lim()),
            Ok(Object::Str("é".into()))
        );
        assert_eq!(
            loads(b"a\x02\x00\x00\x00hi", None, &lim()),
            Ok(Object::Str("hi".into()))
        );
        assert_eq!(
            loads(b"z\x02hi", None, &lim()),
            Ok(Object::Str("hi".into()))
        );
        assert_eq!(
            loads(b"Z\x02hi", None, &lim()),
            Ok(Object::Str("hi".into()))
        );
        assert_eq!(
            loads(b"t\x02\x00\x00\x00hi", None, &lim()),
            Ok(Object::Str("hi".into()))
        );
    }

    #[test]
    fn containers_and_refs() {
        // A small tuple of a remembered short string and a reference to it.
        let data = [b')', 2, b'Z' | 0x80, 2, b'h', b'i', b'r', 0, 0, 0, 0];
        assert_eq!(
            loads(&data, None, &lim()),
            Ok(Object::Tuple(vec![
                Object::Str("hi".into()),
                Object::Str("hi".into())
            ]))
        );
        // A referenced tuple reserves its slot before its children.
        let data = [b'(' | 0x80, 1, 0, 0, 0, b'N' | 0x80, b'r', 1, 0, 0, 0];
        // Outer tuple is ref 0, None is ref 1; trailing ref is a second top-level object.
        assert_eq!(loads(&data, None, &lim()), Err(MarshalError::Trailing(5)));
        assert_eq!(
            loads(b"[\x01\x00\x00\x00N", None, &lim()),
            Ok(Object::List(vec![Object::None]))
        );
        assert_eq!(
            loads(b"{z\x01aN0", None, &lim()),
            Ok(Object::Dict(vec![(Object::Str("a".into()), Object::None)]))
        );
        assert_eq!(
            loads(b"<\x01\x00\x00\x00T", None, &lim()),
            Ok(Object::Set(vec![Object::Bool(true)]))
        );
        assert_eq!(
            loads(b">\x01\x00\x00\x00T", None, &lim()),
            Ok(Object::FrozenSet(vec![Object::Bool(true)]))
        );
        assert_eq!(
            loads(b":NNN", None, &lim()),
            Ok(Object::Slice(Box::new((
                Object::None,
                Object::None,
                Object::None
            ))))
        );
        // Reference to the tuple being built.
        let data = [b'(' | 0x80, 1, 0, 0, 0, b'r', 0, 0, 0, 0];
        assert!(matches!(
            loads(&data, None, &lim()),
            Err(MarshalError::Invalid { .. })
        ));
        assert!(matches!(
            loads(b"r\x05\x00\x00\x00", None, &lim()),
            Err(MarshalError::Invalid { .. })
        ));
    }

    #[test]
    fn garbage_is_an_error() {
        for data in [
            &b""[..],
            b"\x00",
            b"?",
            b"0",
            b"(\xff\xff\xff\xff",
            b"(\xff\xff\xff\x7f",
            b"s\x10\x00\x00\x00ab",
            b"l\xff\xff\xff\x7f",
            b"l\x01\x00\x00\x00\xff\xff",
            b"f\x05abc",
            b"f\x03x.y",
            b"c\x00\x00",
            b"NN",
        ] {
            assert!(loads(data, None, &lim()).is_err(), "{data:?}");
        }
    }

    #[test]
    fn limits() {
        let deep: Vec<u8> = std::iter::repeat_n([b')', 1], 300)
            .flatten()
            .chain([b'N'])
            .collect();
        assert_eq!(
            loads(&deep, None, &lim()),
            Err(MarshalError::Limit("max_marshal_depth"))
        );
        let few = Limits {
            max_marshal_objects: 3,
            ..lim()
        };
        assert_eq!(
            loads(b")\x04NNNN", None, &few),
            Err(MarshalError::Limit("max_marshal_objects"))
        );
        // References count the size of what they copy: doubling via refs is bounded.
        let mut data = vec![b')' | 0x80, 2, b'N', b'N'];
        for i in 0..40u32 {
            data.extend([b')' | 0x80, 2, b'r']);
            data.extend(i.to_le_bytes());
            data.push(b'r');
            data.extend(i.to_le_bytes());
        }
        let mut wrapped = vec![b')', 41];
        wrapped.extend(data);
        let r = loads(&wrapped, None, &lim());
        assert_eq!(r, Err(MarshalError::Limit("max_marshal_objects")));
    }

    #[test]
    fn pyc_header() {
        let mut pyc = vec![0xa7, 0x0d, b'\r', b'\n'];
        pyc.extend([0u8; 12]);
        pyc.push(b'N');
        let (v, rest) = strip_pyc_header(&pyc).expect("3.11 header");
        assert_eq!(v, (3, 11));
        assert_eq!(rest, b"N");
        assert_eq!(strip_pyc_header(b"N"), None);
    }
}
