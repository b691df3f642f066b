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
//!
//! This module holds the object model and the entry points; the byte-level reader is
//! `reader.rs`. Must not: interpret code objects (the bytecode analyser does).

mod reader;

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
    reader::load(data, layout, version, limits)
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
