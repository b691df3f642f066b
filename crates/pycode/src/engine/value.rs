//! The value model: abstract Python values ([`Val`]), operators, call sites and call
//! arguments as the walkers present them. No evaluation here.

use std::rc::Rc;

use super::*;
/// An abstract Python value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    /// Nothing is known.
    Unknown,
    /// A value derived from the inputs (parameters) by data operations.
    Data,
    /// A function parameter.
    Param(String),
    /// An unresolved name or attribute chain (rendered), e.g. `foo` or `x.bar`.
    Free(String),
    /// A constant string, with the decoding steps that produced it. Shared: clones are cheap.
    Str(Rc<str>, Vec<String>),
    /// Constant bytes, with the decoding steps that produced them.
    Bytes(Rc<[u8]>, Vec<String>),
    /// A constant int.
    Int(i128),
    /// A constant float.
    Float(f64),
    /// A constant bool.
    Bool(bool),
    /// `None`.
    NoneV,
    /// A tuple, list or set of values.
    Seq(Rc<[Val]>),
    /// A dict literal.
    Dict(Rc<[(Val, Val)]>),
    /// A slice object (bytecode `BUILD_SLICE`).
    Slice(Option<i128>, Option<i128>, Option<i128>),
    /// An importable object by dotted path (modules included): `os`, `os.system`,
    /// `builtins.eval`.
    Global(String),
    /// The builtins namespace (`__builtins__`, as module or dict).
    Builtins,
    /// `globals()`/`locals()`/`vars()` of the running code.
    Globals,
    /// The attribute dict of a value (`x.__dict__`, `vars(x)`).
    AttrDict(Box<Val>),
    /// An object reached through an introspection escape (rendered chain).
    Introspect(String),
    /// A method of a constant, awaiting its call (for folding).
    Method(Box<Val>, String),
    /// A user-defined function, lambda or class, with what calling it returns.
    Func(Box<Val>),
    /// A code object already analysed (result of `compile()` or `marshal.loads` on constants).
    CodeDone,
    /// The result of calling something that is not a data operation (rendered).
    Opaque(String),
    /// The bytecode NULL marker.
    Null,
    /// `__build_class__` pushed by `LOAD_BUILD_CLASS`.
    BuildClass,
}

impl Val {
    /// Short human rendering.
    pub(crate) fn render(&self) -> String {
        let s = match self {
            Val::Unknown => "…".to_string(),
            Val::Data => "<data>".to_string(),
            Val::Param(n) | Val::Free(n) | Val::Introspect(n) | Val::Opaque(n) => n.clone(),
            Val::Str(s, _) => py_repr_str(s, 60),
            Val::Bytes(b, _) => py_repr_bytes(b, 60),
            Val::Int(i) => i.to_string(),
            Val::Float(f) => f.to_string(),
            Val::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            Val::NoneV => "None".to_string(),
            Val::Seq(v) => {
                let inner: Vec<String> = v.iter().take(8).map(Val::render).collect();
                let more = if v.len() > 8 { ", …" } else { "" };
                format!("[{}{more}]", inner.join(", "))
            }
            Val::Dict(_) => "{…}".to_string(),
            Val::Slice(..) => "slice(…)".to_string(),
            Val::Global(p) => p.strip_prefix("builtins.").unwrap_or(p).to_string(),
            Val::Builtins => "__builtins__".to_string(),
            Val::Globals => "globals()".to_string(),
            Val::AttrDict(v) => format!("{}.__dict__", v.render()),
            Val::Method(v, m) => format!("{}.{m}", v.render()),
            Val::Func(_) => "<function>".to_string(),
            Val::CodeDone => "<code>".to_string(),
            Val::Null => "NULL".to_string(),
            Val::BuildClass => "__build_class__".to_string(),
        };
        truncate(&s, EVIDENCE_MAX)
    }

    pub(super) fn is_data(&self) -> bool {
        matches!(self, Val::Data | Val::Param(_))
    }

    /// Provenance (decoding steps) of a constant.
    pub(super) fn prov(&self) -> &[String] {
        match self {
            Val::Str(_, p) | Val::Bytes(_, p) => p,
            _ => &[],
        }
    }

    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s, _) => Some(s),
            _ => None,
        }
    }

    pub(super) fn as_int(&self) -> Option<i128> {
        match self {
            Val::Int(i) => Some(*i),
            Val::Bool(b) => Some(i128::from(*b)),
            _ => None,
        }
    }

    /// Python truthiness of a constant.
    pub(crate) fn truthy(&self) -> Option<bool> {
        match self {
            Val::Str(s, _) => Some(!s.is_empty()),
            Val::Bytes(b, _) => Some(!b.is_empty()),
            Val::Int(i) => Some(*i != 0),
            Val::Float(f) => Some(*f != 0.0),
            Val::Bool(b) => Some(*b),
            Val::NoneV => Some(false),
            Val::Seq(v) => Some(!v.is_empty()),
            Val::Dict(v) => Some(!v.is_empty()),
            Val::Global(_) | Val::Func(_) | Val::Builtins => Some(true),
            _ => None,
        }
    }

    /// Elements of an iterable constant (str → chars, bytes → ints), if there are at most
    /// `max` of them.
    pub(crate) fn elements(&self, max: usize) -> Option<Vec<Val>> {
        match self {
            Val::Seq(v) if v.len() <= max => Some(v.to_vec()),
            Val::Str(s, _) if s.len() <= max.saturating_mul(4) && s.chars().count() <= max => Some(
                s.chars()
                    .map(|c| Val::Str(c.to_string().into(), Vec::new()))
                    .collect(),
            ),
            Val::Bytes(b, _) if b.len() <= max => {
                Some(b.iter().map(|&x| Val::Int(i128::from(x))).collect())
            }
            Val::Dict(kv) if kv.len() <= max => Some(kv.iter().map(|(k, _)| k.clone()).collect()),
            _ => None,
        }
    }

    /// Memory a folded value newly allocates, in fold units: bytes of text, or 16 per
    /// sequence slot (elements themselves are shared).
    pub(super) fn fold_size(&self) -> usize {
        match self {
            Val::Str(s, _) => s.len(),
            Val::Bytes(b, _) => b.len(),
            Val::Seq(v) => v.len().saturating_mul(16),
            Val::Dict(v) => v.len().saturating_mul(32),
            _ => 0,
        }
    }
}

/// Operators the walkers hand to [`Engine::binop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    MatMul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    LShift,
    RShift,
    BitOr,
    BitXor,
    BitAnd,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnOp {
    Neg,
    Pos,
    Invert,
    Not,
}

/// Where code being analysed came from: the decoding/evaluation path and the outer line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Site {
    pub chain: Vec<String>,
    /// Line of the outermost call site, when this code was reached through a layer.
    pub line: Option<u32>,
}

impl Site {
    pub(crate) fn root() -> Site {
        Site::default()
    }

    pub(super) fn nested(&self, steps: &[String], step: &str, line: Option<u32>) -> Site {
        let mut chain = self.chain.clone();
        chain.extend(steps.iter().cloned());
        chain.push(step.to_string());
        Site {
            chain,
            line: self.line.or(line),
        }
    }
}

/// A call as the walkers present it.
pub(crate) struct CallArgs<'a> {
    pub args: &'a [Val],
    pub kwargs: &'a [(String, Val)],
    /// Evidence rendering of the call.
    pub evidence: &'a str,
    pub line: Option<u32>,
}

impl CallArgs<'_> {
    pub(super) fn arg(&self, pos: usize, kw: &str) -> Option<&Val> {
        self.kwargs
            .iter()
            .find(|(k, _)| k == kw)
            .map(|(_, v)| v)
            .or_else(|| self.args.get(pos))
    }
}
