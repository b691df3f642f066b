//! Python-like source text for symbolic values, used as evidence in findings.
//!
//! The value graph may be cyclic (a list appended to itself) or a DAG with huge fan-out (memo
//! GETs of the same list), so every rendering is bounded twice: by nesting depth
//! (`Limits::max_depth`, deeper parts become `…`) and by output length
//! (`Limits::max_render_chars`, the text then ends in `…`). Since every visited value emits at
//! least one character, the work is bounded by the output length too.

use std::fmt::Write as _;

use crate::{Analysis, CallKind, Limits, Value, ValueId};

/// Depth cap regardless of `Limits::max_depth`: renders recurse on the native stack.
const HARD_MAX_DEPTH: usize = 256;

/// The limits renders need, kept in [`Analysis`] from the run's [`Limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RenderLimits {
    pub(crate) max_depth: usize,
    pub(crate) max_chars: usize,
}

impl Default for RenderLimits {
    fn default() -> Self {
        Self::from(&Limits::default())
    }
}

impl From<&Limits> for RenderLimits {
    fn from(l: &Limits) -> Self {
        Self {
            max_depth: l.max_depth.min(HARD_MAX_DEPTH),
            max_chars: l.max_render_chars,
        }
    }
}

/// Bounded output buffer: at most `max` chars, the last being `…` when cut.
struct Out {
    s: String,
    chars: usize,
    max: usize,
    full: bool,
}

impl Out {
    fn new(max: usize) -> Self {
        Self {
            s: String::new(),
            chars: 0,
            max,
            full: false,
        }
    }

    fn push(&mut self, t: &str) {
        if self.full {
            return;
        }
        let n = t.chars().count();
        if self.chars + n <= self.max {
            self.s.push_str(t);
            self.chars += n;
            return;
        }
        self.full = true;
        if self.max == 0 {
            return;
        }
        if self.chars == self.max {
            self.s.pop();
            self.chars -= 1;
        }
        let room = self.max - 1 - self.chars;
        self.s.extend(t.chars().take(room));
        self.s.push('…');
        self.chars = self.max;
    }
}

/// Renders values of one [`Analysis`].
pub(crate) struct Renderer<'a> {
    a: &'a Analysis,
    out: Out,
    max_depth: usize,
}

impl<'a> Renderer<'a> {
    pub(crate) fn new(a: &'a Analysis) -> Self {
        let l = a.render_limits;
        Self {
            a,
            out: Out::new(l.max_chars),
            max_depth: l.max_depth,
        }
    }

    pub(crate) fn finish(self) -> String {
        self.out.s
    }

    fn push(&mut self, t: &str) {
        self.out.push(t);
    }

    pub(crate) fn value(&mut self, id: ValueId, depth: usize) {
        if self.out.full {
            return;
        }
        if depth > self.max_depth {
            self.push("…");
            return;
        }
        let Some(v) = self.a.values.get(id as usize) else {
            self.push("<invalid>");
            return;
        };
        match v {
            Value::None => self.push("None"),
            Value::Bool(true) => self.push("True"),
            Value::Bool(false) => self.push("False"),
            Value::Int(i) => self.push(&i.to_string()),
            Value::BigInt(s) => self.push(s),
            Value::Float(f) => self.push(&py_float(*f)),
            Value::Str { value, truncated } => {
                self.str_repr(value);
                if *truncated {
                    self.push("…");
                }
            }
            Value::Bytes { value, truncated } => {
                self.bytes_repr(value);
                if *truncated {
                    self.push("…");
                }
            }
            Value::ByteArray { value, truncated } => {
                self.push("bytearray(");
                self.bytes_repr(value);
                if *truncated {
                    self.push("…");
                }
                self.push(")");
            }
            Value::Tuple(items) => {
                self.push("(");
                self.seq(items, depth);
                if items.len() == 1 {
                    self.push(",");
                }
                self.push(")");
            }
            Value::List(items) => {
                self.push("[");
                self.seq(items, depth);
                self.push("]");
            }
            Value::Dict(pairs) => {
                self.push("{");
                self.pairs(pairs, depth);
                self.push("}");
            }
            Value::Set(items) if items.is_empty() => self.push("set()"),
            Value::Set(items) => {
                self.push("{");
                self.seq(items, depth);
                self.push("}");
            }
            Value::FrozenSet(items) if items.is_empty() => self.push("frozenset()"),
            Value::FrozenSet(items) => {
                self.push("frozenset({");
                self.seq(items, depth);
                self.push("})");
            }
            Value::Global { module, name } => {
                self.push(module);
                self.push(".");
                self.push(name);
            }
            Value::DynamicGlobal { module, name } => {
                self.push("getattr(__import__(");
                self.value(*module, depth + 1);
                self.push("), ");
                self.value(*name, depth + 1);
                self.push(")");
            }
            Value::Call(i) => self.call(*i as usize, depth),
            Value::PersistentId(pid) => {
                self.push("persistent_load(");
                self.value(*pid, depth + 1);
                self.push(")");
            }
            Value::Extension(code) => {
                self.push("find_class(*copyreg._inverted_registry[");
                self.push(&code.to_string());
                self.push("])");
            }
            Value::Buffer { readonly: false } => self.push("next_buffer()"),
            Value::Buffer { readonly: true } => self.push("next_buffer().toreadonly()"),
            Value::Unknown => self.push("<unknown>"),
        }
    }

    fn seq(&mut self, items: &[ValueId], depth: usize) {
        for (i, id) in items.iter().enumerate() {
            if self.out.full {
                return;
            }
            if i > 0 {
                self.push(", ");
            }
            self.value(*id, depth + 1);
        }
    }

    fn pairs(&mut self, pairs: &[(ValueId, ValueId)], depth: usize) {
        for (i, (k, v)) in pairs.iter().enumerate() {
            if self.out.full {
                return;
            }
            if i > 0 {
                self.push(", ");
            }
            self.value(*k, depth + 1);
            self.push(": ");
            self.value(*v, depth + 1);
        }
    }

    /// Keyword arguments; keys that are not identifiers (or an unknown `**mapping`, whose
    /// key is `Unknown`) use the `**{…}` form.
    fn kwargs(&mut self, kwargs: &[(ValueId, ValueId)], depth: usize, mut first: bool) {
        for (k, v) in kwargs {
            if self.out.full {
                return;
            }
            if !first {
                self.push(", ");
            }
            first = false;
            match self.a.values.get(*k as usize) {
                Some(Value::Str {
                    value,
                    truncated: false,
                }) if is_identifier(value) => {
                    self.push(value);
                    self.push("=");
                    self.value(*v, depth + 1);
                }
                Some(Value::Unknown) => {
                    self.push("**");
                    self.value(*v, depth + 1);
                }
                _ => {
                    self.push("**{");
                    self.value(*k, depth + 1);
                    self.push(": ");
                    self.value(*v, depth + 1);
                    self.push("}");
                }
            }
        }
    }

    pub(crate) fn call(&mut self, index: usize, depth: usize) {
        if depth > self.max_depth {
            self.push("…");
            return;
        }
        let Some(c) = self.a.calls.get(index) else {
            self.push("<invalid>");
            return;
        };
        let d = depth + 1;
        match c.kind {
            CallKind::Reduce | CallKind::Obj | CallKind::Inst => {
                self.value(c.func, d);
                self.push("(");
                self.seq(&c.args, depth);
                self.kwargs(&c.kwargs, depth, c.args.is_empty());
                self.push(")");
            }
            CallKind::NewObj | CallKind::NewObjEx => {
                self.value(c.func, d);
                self.push(".__new__(");
                self.value(c.func, d);
                for a in &c.args {
                    if self.out.full {
                        return;
                    }
                    self.push(", ");
                    self.value(*a, d);
                }
                self.kwargs(&c.kwargs, depth, false);
                self.push(")");
            }
            CallKind::Append => {
                self.value(c.func, d);
                if let [one] = c.args.as_slice() {
                    self.push(".append(");
                    self.value(*one, d);
                    self.push(")");
                } else {
                    self.push(".extend([");
                    self.seq(&c.args, depth);
                    self.push("])");
                }
            }
            CallKind::SetItem => {
                self.value(c.func, d);
                match c.args.as_slice() {
                    [k, v] => {
                        self.push(".__setitem__(");
                        self.value(*k, d);
                        self.push(", ");
                        self.value(*v, d);
                        self.push(")");
                    }
                    args => {
                        self.push(".update({");
                        for (i, p) in args.chunks(2).enumerate() {
                            if self.out.full {
                                return;
                            }
                            if i > 0 {
                                self.push(", ");
                            }
                            if let Some(k) = p.first() {
                                self.value(*k, d);
                            }
                            self.push(": ");
                            match p.get(1) {
                                Some(v) => self.value(*v, d),
                                None => self.push("<missing>"),
                            }
                        }
                        self.push("})");
                    }
                }
            }
            CallKind::AddItems => {
                self.value(c.func, d);
                if let [one] = c.args.as_slice() {
                    self.push(".add(");
                    self.value(*one, d);
                    self.push(")");
                } else {
                    self.push(".update({");
                    self.seq(&c.args, depth);
                    self.push("})");
                }
            }
        }
    }

    pub(crate) fn build(&mut self, index: usize) {
        let Some(b) = self.a.builds.get(index) else {
            self.push("<invalid>");
            return;
        };
        self.value(b.target, 1);
        self.push(".__setstate__(");
        self.value(b.state, 1);
        self.push(")");
    }

    /// `repr(str)`: single quotes unless the text has `'` and no `"`.
    fn str_repr(&mut self, s: &str) {
        let q = if s.contains('\'') && !s.contains('"') {
            '"'
        } else {
            '\''
        };
        let mut buf = String::with_capacity(s.len().min(self.out.max) + 2);
        buf.push(q);
        for ch in s.chars() {
            // The buffer only needs to reach the output limit.
            if buf.len() > self.out.max.saturating_mul(4).saturating_add(8) {
                break;
            }
            match ch {
                '\\' => buf.push_str("\\\\"),
                '\n' => buf.push_str("\\n"),
                '\r' => buf.push_str("\\r"),
                '\t' => buf.push_str("\\t"),
                c if c == q => {
                    buf.push('\\');
                    buf.push(c);
                }
                c if !py_printable(c) => {
                    let u = c as u32;
                    let _ = match u {
                        0..=0xff => write!(buf, "\\x{u:02x}"),
                        0x100..=0xffff => write!(buf, "\\u{u:04x}"),
                        _ => write!(buf, "\\U{u:08x}"),
                    };
                }
                c => buf.push(c),
            }
        }
        buf.push(q);
        self.push(&buf);
    }

    /// `repr(bytes)`.
    fn bytes_repr(&mut self, b: &[u8]) {
        let q = if b.contains(&b'\'') && !b.contains(&b'"') {
            b'"'
        } else {
            b'\''
        };
        let mut buf = String::with_capacity(b.len().min(self.out.max) + 3);
        buf.push('b');
        buf.push(char::from(q));
        for &c in b {
            if buf.len() > self.out.max.saturating_add(8) {
                break;
            }
            match c {
                b'\\' => buf.push_str("\\\\"),
                b'\n' => buf.push_str("\\n"),
                b'\r' => buf.push_str("\\r"),
                b'\t' => buf.push_str("\\t"),
                c if c == q => {
                    buf.push('\\');
                    buf.push(char::from(c));
                }
                0x20..=0x7e => buf.push(char::from(c)),
                c => {
                    let _ = write!(buf, "\\x{c:02x}");
                }
            }
        }
        buf.push(char::from(q));
        self.push(&buf);
    }
}

/// Approximates `str.isprintable()` as `repr` uses it: escapes controls, separators other
/// than space, and the invisible format characters (bidi overrides, zero-width) that could
/// hide text in evidence.
fn py_printable(c: char) -> bool {
    let u = c as u32;
    !(c.is_control()
        || u == 0xa0
        || u == 0xad
        || (0x2000..=0x200f).contains(&u)
        || (0x2028..=0x202f).contains(&u)
        || (0x205f..=0x206f).contains(&u)
        || u == 0x3000
        || u == 0xfeff
        || (0xfff9..=0xfffb).contains(&u)
        || (0xd800..=0xdfff).contains(&u)
        || (0xe000..=0xf8ff).contains(&u)
        || u >= 0xf0000)
}

fn is_identifier(s: &str) -> bool {
    let mut it = s.chars();
    it.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && it.all(|c| c == '_' || c.is_alphanumeric())
}

/// `repr(float)`: shortest round-trip digits, scientific notation outside `1e-4 <= |x| < 1e16`.
pub(crate) fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // `{:e}` gives the shortest round-trip mantissa, e.g. `1.2345e-5`.
    let e = format!("{f:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = (exp + 1) as usize;
            if digits.len() <= int_len {
                s.push_str(&digits);
                s.extend(std::iter::repeat_n('0', int_len - digits.len()));
                s.push_str(".0");
            } else {
                let (a, b) = digits.split_at(int_len);
                s.push_str(a);
                s.push('.');
                s.push_str(b);
            }
        } else {
            s.push_str("0.");
            s.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            s.push_str(&digits);
        }
    } else {
        let (a, b) = digits.split_at(1.min(digits.len()));
        s.push_str(a);
        if !b.is_empty() {
            s.push('.');
            s.push_str(b);
        }
        let _ = write!(s, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456.789, "123456.789"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e100, "1e+100"),
            (-0.0, "-0.0"),
            (f64::INFINITY, "inf"),
            (f64::NAN, "nan"),
            (5e-324, "5e-324"),
        ];
        for (f, want) in cases {
            assert_eq!(py_float(f), want, "{f:e}");
        }
    }

    #[test]
    fn out_is_bounded() {
        let mut o = Out::new(5);
        o.push("abc");
        o.push("de");
        assert!(!o.full);
        o.push("f");
        assert_eq!(o.s, "abcd…");
        assert_eq!(o.s.chars().count(), 5);
        let mut o = Out::new(3);
        o.push("héllo");
        assert_eq!(o.s, "hé…");
        let mut o = Out::new(0);
        o.push("x");
        assert_eq!(o.s, "");
    }
}
