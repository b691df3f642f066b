//! The values a literal evaluates to, with what the parser needs of Python's semantics:
//! hashability, `==` between keys, and `repr` for messages.

/// A Python literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `str`.
    Str(String),
    /// `bytes`.
    Bytes(Vec<u8>),
    /// `int` (`None`: does not fit in an `i128`).
    Int(Option<i128>),
    /// `float` (the value is never needed).
    Float,
    /// `complex`.
    Complex,
    /// `bool`.
    Bool(bool),
    /// `None`.
    None,
    /// `tuple`.
    Tuple(Vec<Value>),
    /// `list`.
    List(Vec<Value>),
    /// `set`, in source order (Python's iteration order is hash order).
    Set(Vec<Value>),
    /// `dict`: equal keys collapsed, the last value kept at the first key's place.
    Dict(Vec<(Value, Value)>),
}

impl Value {
    /// Whether `hash()` accepts the value (dict keys and set elements must be hashable).
    pub(super) fn hashable(&self) -> bool {
        match self {
            Value::List(_) | Value::Set(_) | Value::Dict(_) => false,
            Value::Tuple(items) => items.iter().all(Value::hashable),
            _ => true,
        }
    }

    /// Python equality for hashable values, where it is certain; `None` when unsure
    /// (floats and complex numbers, whose values are not kept).
    pub(super) fn py_eq(&self, other: &Value) -> Option<bool> {
        let num = |v: &Value| match v {
            Value::Int(Some(i)) => Some(*i),
            Value::Bool(b) => Some(i128::from(*b)),
            _ => None,
        };
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => Some(a == b),
            (Value::Bytes(a), Value::Bytes(b)) => Some(a == b),
            (Value::None, Value::None) => Some(true),
            (Value::Tuple(a), Value::Tuple(b)) => {
                if a.len() != b.len() {
                    return Some(false);
                }
                let mut all = true;
                for (x, y) in a.iter().zip(b) {
                    match x.py_eq(y) {
                        Some(true) => {}
                        Some(false) => return Some(false),
                        None => all = false,
                    }
                }
                if all { Some(true) } else { None }
            }
            (Value::Float | Value::Complex | Value::Int(None), _)
            | (_, Value::Float | Value::Complex | Value::Int(None)) => None,
            _ => match (num(self), num(other)) {
                (Some(a), Some(b)) => Some(a == b),
                (None, None) => Some(std::mem::discriminant(self) == std::mem::discriminant(other)),
                _ => Some(false),
            },
        }
    }

    /// A Python-like rendering for messages.
    pub fn repr(&self) -> String {
        fn seq(items: &[Value], open: &str, close: &str, one_tuple: bool) -> String {
            let inner: Vec<String> = items.iter().map(Value::repr).collect();
            let comma = if one_tuple && items.len() == 1 {
                ","
            } else {
                ""
            };
            format!("{open}{}{comma}{close}", inner.join(", "))
        }
        match self {
            Value::Str(s) => format!("{s:?}").replace('"', "'"),
            Value::Bytes(b) => format!("b{:?}", String::from_utf8_lossy(b)),
            Value::Int(Some(i)) => i.to_string(),
            Value::Int(None) => "<big int>".into(),
            Value::Float => "<float>".into(),
            Value::Complex => "<complex>".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::None => "None".into(),
            Value::Tuple(t) => seq(t, "(", ")", true),
            Value::List(l) => seq(l, "[", "]", false),
            Value::Set(s) if s.is_empty() => "set()".into(),
            Value::Set(s) => seq(s, "{", "}", false),
            Value::Dict(d) => {
                let inner: Vec<String> = d
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.repr(), v.repr()))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }
}
