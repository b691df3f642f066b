//! A bounded evaluator of the Python literals `ast.literal_eval` accepts (CPython 3.11), for
//! the `.npy` header, which numpy evaluates with `ast.literal_eval`
//! (`numpy.lib.format._read_array_header`).
//!
//! Followed: the CPython tokenizer (string prefixes, escapes, implicit concatenation, number
//! syntax, comments, line continuation, indentation of the first line) and
//! `ast.literal_eval` (constants, tuples, lists, sets, dicts, `set()`, unary `+`/`-` on a
//! number, `real ± complex`). Anything else is an error: the caller fails closed. `\N{...}`
//! escapes and lone surrogates are reported as unanalysable rather than guessed.

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
    fn hashable(&self) -> bool {
        match self {
            Value::List(_) | Value::Set(_) | Value::Dict(_) => false,
            Value::Tuple(items) => items.iter().all(Value::hashable),
            _ => true,
        }
    }

    /// Python equality for hashable values, where it is certain; `None` when unsure
    /// (floats and complex numbers, whose values are not kept).
    fn py_eq(&self, other: &Value) -> Option<bool> {
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

/// Nesting deeper than this is refused (CPython's own limit is 200 brackets).
const MAX_DEPTH: usize = 100;

/// What the AST node behind a value was: `literal_eval` treats them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    /// A number `Constant`.
    Num,
    /// `UnaryOp(+/-, Constant)`.
    Signed,
    /// Anything else (strings, containers, `BinOp`, `True`...).
    Other,
}

struct Parser<'a> {
    s: &'a [char],
    pos: usize,
    /// Bracket nesting: newlines are insignificant inside brackets.
    brackets: usize,
    depth: usize,
    /// numpy's `_filter_header` retry: drop a name `L` right after a number.
    long_suffix: bool,
}

type R<T> = Result<T, String>;

/// Evaluate `text` as `ast.literal_eval(text)` would. `long_suffix` also drops a Python 2
/// `L` after a number, as numpy's `_filter_header` does before its second attempt.
pub fn literal_eval(text: &str, long_suffix: bool) -> R<Value> {
    if text.contains('\0') {
        return Err("null byte in the header".into());
    }
    // The tokenizer translates \r\n and \r to \n for string input.
    let norm = text.replace("\r\n", "\n").replace('\r', "\n");
    // literal_eval strips leading spaces and tabs.
    let chars: Vec<char> = norm.trim_start_matches([' ', '\t']).chars().collect();
    let mut p = Parser {
        s: &chars,
        pos: 0,
        brackets: 0,
        depth: 0,
        long_suffix,
    };
    p.leading()?;
    let (v, _) = p.expr()?;
    p.trailing()?;
    Ok(v)
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.pos).copied()
    }
    fn peek_at(&self, n: usize) -> Option<char> {
        self.s.get(self.pos + n).copied()
    }
    fn err<T>(&self, what: &str) -> R<T> {
        Err(format!("{what} at character {}", self.pos))
    }

    /// Blank and comment lines before the expression; its first line must not be indented.
    fn leading(&mut self) -> R<()> {
        loop {
            let mut col = 0usize;
            while let Some(c) = self.peek() {
                match c {
                    ' ' | '\t' => col += 1,
                    '\x0c' => col = 0,
                    _ => break,
                }
                self.pos += 1;
            }
            match self.peek() {
                Some('#') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                Some('\n') => self.pos += 1,
                _ if col > 0 => return self.err("unexpected indent"),
                _ => return Ok(()),
            }
        }
    }

    /// After the expression: only whitespace, comments and blank lines.
    fn trailing(&mut self) -> R<()> {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\x0c' | '\n' => self.pos += 1,
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                _ => return self.err("unexpected text after the literal"),
            }
        }
        Ok(())
    }

    /// Skip insignificant whitespace, comments and line continuations.
    fn ws(&mut self) -> R<()> {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\x0c' => self.pos += 1,
                '\\' => {
                    if self.peek_at(1) == Some('\n') {
                        self.pos += 2;
                        if self.peek().is_none() {
                            return self.err("unexpected end after line continuation");
                        }
                    } else {
                        return self.err("unexpected character after line continuation");
                    }
                }
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                '\n' if self.brackets > 0 => self.pos += 1,
                _ => break,
            }
        }
        Ok(())
    }

    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        Ok(())
    }

    /// An expression `literal_eval` accepts, with the kind of node it came from.
    fn expr(&mut self) -> R<(Value, Node)> {
        self.ws()?;
        let (v, node) = match self.peek() {
            Some(op @ ('+' | '-')) => {
                self.pos += 1;
                self.ws()?;
                let (v, node) = self.atom()?;
                if node != Node::Num {
                    return self.err("unary operator on a non-number");
                }
                let v = match (op, v) {
                    ('-', Value::Int(Some(i))) => Value::Int(i.checked_neg()),
                    (_, v) => v,
                };
                (v, Node::Signed)
            }
            _ => self.atom()?,
        };
        self.ws()?;
        if matches!(self.peek(), Some('+' | '-')) {
            // BinOp: left a (signed) int or float, right a complex constant.
            let left_ok = matches!(node, Node::Num | Node::Signed)
                && matches!(v, Value::Int(_) | Value::Float);
            if !left_ok {
                return self.err("operator on a non-number");
            }
            self.pos += 1;
            self.ws()?;
            let (right, rnode) = self.atom()?;
            if rnode != Node::Num || right != Value::Complex {
                return self.err("right operand is not a complex constant");
            }
            self.ws()?;
            return Ok((Value::Complex, Node::Other));
        }
        Ok((v, node))
    }

    fn atom(&mut self) -> R<(Value, Node)> {
        let Some(c) = self.peek() else {
            return self.err("unexpected end");
        };
        match c {
            '(' => {
                self.enter()?;
                self.pos += 1;
                self.brackets += 1;
                self.ws()?;
                let out = if self.peek() == Some(')') {
                    (Value::Tuple(Vec::new()), Node::Other)
                } else {
                    let (first, node) = self.expr()?;
                    if self.peek() == Some(',') {
                        let mut items = vec![first];
                        self.pos += 1;
                        self.items(')', &mut items)?;
                        (Value::Tuple(items), Node::Other)
                    } else {
                        (first, node) // parentheses make no node
                    }
                };
                self.close(')')?;
                Ok(out)
            }
            '[' => {
                self.enter()?;
                self.pos += 1;
                self.brackets += 1;
                let mut items = Vec::new();
                self.items(']', &mut items)?;
                self.close(']')?;
                Ok((Value::List(items), Node::Other))
            }
            '{' => {
                self.enter()?;
                self.pos += 1;
                self.brackets += 1;
                self.ws()?;
                let v = if self.peek() == Some('}') {
                    Value::Dict(Vec::new())
                } else {
                    if self.peek() == Some('*') {
                        return self.err("unpacking in a display");
                    }
                    let (first, _) = self.expr()?;
                    if self.peek() == Some(':') {
                        self.dict(first)?
                    } else {
                        let mut items = vec![first];
                        if self.peek() == Some(',') {
                            self.pos += 1;
                            self.items('}', &mut items)?;
                        }
                        if !items.iter().all(Value::hashable) {
                            return self.err("unhashable set element");
                        }
                        Value::Set(items)
                    }
                };
                self.close('}')?;
                Ok((v, Node::Other))
            }
            '\'' | '"' => Ok((self.strings()?, Node::Other)),
            '0'..='9' => Ok((self.number()?, Node::Num)),
            '.' if self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => {
                Ok((self.number()?, Node::Num))
            }
            c if is_ident_char(c) => {
                let start = self.pos;
                while self.peek().is_some_and(is_ident_char) {
                    self.pos += 1;
                }
                let word: String = self
                    .s
                    .get(start..self.pos)
                    .unwrap_or_default()
                    .iter()
                    .collect();
                if matches!(self.peek(), Some('\'' | '"')) {
                    self.pos = start;
                    return Ok((self.strings()?, Node::Other));
                }
                match word.as_str() {
                    "True" => Ok((Value::Bool(true), Node::Other)),
                    "False" => Ok((Value::Bool(false), Node::Other)),
                    "None" => Ok((Value::None, Node::Other)),
                    "set" => {
                        // `set()` is the one call literal_eval accepts.
                        self.ws()?;
                        if self.peek() != Some('(') {
                            return self.err("name in a literal");
                        }
                        self.pos += 1;
                        self.brackets += 1;
                        self.ws()?;
                        self.close(')')?;
                        Ok((Value::Set(Vec::new()), Node::Other))
                    }
                    _ => self.err("name in a literal"),
                }
            }
            _ => self.err("unexpected character"),
        }
    }

    fn close(&mut self, want: char) -> R<()> {
        self.ws()?;
        if self.peek() != Some(want) {
            return self.err("unclosed bracket");
        }
        self.pos += 1;
        self.brackets = self.brackets.saturating_sub(1);
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }

    /// Comma-separated expressions up to (not including) `end`, trailing comma allowed.
    fn items(&mut self, end: char, items: &mut Vec<Value>) -> R<()> {
        loop {
            self.ws()?;
            if self.peek() == Some(end) {
                return Ok(());
            }
            if self.peek() == Some('*') {
                return self.err("unpacking in a display");
            }
            let (v, _) = self.expr()?;
            items.push(v);
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(c) if c == end => return Ok(()),
                _ => return self.err("expected a comma"),
            }
        }
    }

    fn dict(&mut self, first_key: Value) -> R<Value> {
        let mut pairs: Vec<(Value, Value)> = Vec::new();
        let mut key = first_key;
        loop {
            // At ':'.
            self.pos += 1;
            let (val, _) = self.expr()?;
            if !key.hashable() {
                return self.err("unhashable dict key");
            }
            let mut slot = None;
            for (i, (k, _)) in pairs.iter().enumerate() {
                match k.py_eq(&key) {
                    Some(true) => slot = Some(i),
                    Some(false) => {}
                    None => return self.err("dict keys whose equality is not decided"),
                }
            }
            match slot.and_then(|i| pairs.get_mut(i)) {
                // Python keeps the first key object and the last value.
                Some(pair) => pair.1 = val,
                None => pairs.push((key, val)),
            }
            self.ws()?;
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    self.ws()?;
                    if self.peek() == Some('}') {
                        return Ok(Value::Dict(pairs));
                    }
                    if self.peek() == Some('*') {
                        return self.err("unpacking in a display");
                    }
                    let (k, _) = self.expr()?;
                    if self.peek() != Some(':') {
                        return self.err("expected ':'");
                    }
                    key = k;
                }
                Some('}') => return Ok(Value::Dict(pairs)),
                _ => return self.err("expected a comma"),
            }
        }
    }

    /// One or more adjacent string literals (implicit concatenation).
    fn strings(&mut self) -> R<Value> {
        let mut text = String::new();
        let mut bytes: Vec<u8> = Vec::new();
        let mut is_bytes: Option<bool> = None;
        loop {
            let start = self.pos;
            while self.peek().is_some_and(is_ident_char) {
                self.pos += 1;
            }
            let prefix: String = self
                .s
                .get(start..self.pos)
                .unwrap_or_default()
                .iter()
                .collect::<String>()
                .to_ascii_lowercase();
            let (raw, b) = match prefix.as_str() {
                "" | "u" => (false, false),
                "r" => (true, false),
                "b" => (false, true),
                "br" | "rb" => (true, true),
                "f" | "fr" | "rf" => return self.err("f-string"),
                _ => return self.err("bad string prefix"),
            };
            if is_bytes.is_some_and(|x| x != b) {
                return self.err("cannot mix bytes and nonbytes literals");
            }
            is_bytes = Some(b);
            self.one_string(raw, b, &mut text, &mut bytes)?;
            self.ws()?;
            // Another literal follows?
            let save = self.pos;
            while self.peek().is_some_and(is_ident_char) {
                self.pos += 1;
            }
            let next_is_string = matches!(self.peek(), Some('\'' | '"'));
            self.pos = save;
            if !next_is_string {
                break;
            }
        }
        Ok(if is_bytes == Some(true) {
            Value::Bytes(bytes)
        } else {
            Value::Str(text)
        })
    }

    fn one_string(&mut self, raw: bool, b: bool, text: &mut String, bytes: &mut Vec<u8>) -> R<()> {
        let Some(q) = self.peek() else {
            return self.err("unexpected end");
        };
        let triple = self.peek_at(1) == Some(q) && self.peek_at(2) == Some(q);
        self.pos += if triple { 3 } else { 1 };
        let put = |c: char, text: &mut String, bytes: &mut Vec<u8>, at: usize| -> R<()> {
            if b {
                if !c.is_ascii() {
                    return Err(format!(
                        "bytes can only contain ASCII literal characters at character {at}"
                    ));
                }
                bytes.push(c as u8);
            } else {
                text.push(c);
            }
            Ok(())
        };
        loop {
            let Some(c) = self.peek() else {
                return self.err("unterminated string literal");
            };
            if c == q && (!triple || (self.peek_at(1) == Some(q) && self.peek_at(2) == Some(q))) {
                self.pos += if triple { 3 } else { 1 };
                return Ok(());
            }
            if c == '\n' && !triple {
                return self.err("unterminated string literal");
            }
            if c != '\\' {
                put(c, text, bytes, self.pos)?;
                self.pos += 1;
                continue;
            }
            let Some(e) = self.peek_at(1) else {
                return self.err("unterminated string literal");
            };
            if raw {
                // The backslash stays; it only stops the next character ending the literal.
                put('\\', text, bytes, self.pos)?;
                put(e, text, bytes, self.pos)?;
                self.pos += 2;
                continue;
            }
            self.pos += 2;
            let simple = match e {
                '\n' => continue,
                '\\' => Some('\\'),
                '\'' => Some('\''),
                '"' => Some('"'),
                'a' => Some('\x07'),
                'b' => Some('\x08'),
                'f' => Some('\x0c'),
                'n' => Some('\n'),
                'r' => Some('\r'),
                't' => Some('\t'),
                'v' => Some('\x0b'),
                _ => None,
            };
            if let Some(ch) = simple {
                put(ch, text, bytes, self.pos)?;
                continue;
            }
            match e {
                '0'..='7' => {
                    let mut v = e.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match self.peek().and_then(|d| d.to_digit(8)) {
                            Some(d) => {
                                v = v * 8 + d;
                                self.pos += 1;
                            }
                            None => break,
                        }
                    }
                    if b {
                        bytes.push((v & 0xFF) as u8);
                    } else {
                        text.push(char::from_u32(v).ok_or("bad octal escape")?);
                    }
                }
                'x' => {
                    let v = self.hex(2)?;
                    if b {
                        bytes.push((v & 0xFF) as u8);
                    } else {
                        text.push(char::from_u32(v).ok_or("bad \\x escape")?);
                    }
                }
                'u' | 'U' if !b => {
                    let v = self.hex(if e == 'u' { 4 } else { 8 })?;
                    match char::from_u32(v) {
                        Some(ch) => text.push(ch),
                        // Lone surrogates and values past U+10FFFF: not representable here.
                        None => return self.err("unanalysable \\u escape"),
                    }
                }
                'N' if !b => return self.err("\\N{...} escape not analysed"),
                other => {
                    // Unknown escapes keep the backslash.
                    put('\\', text, bytes, self.pos)?;
                    put(other, text, bytes, self.pos)?;
                }
            }
        }
    }

    fn hex(&mut self, n: usize) -> R<u32> {
        let mut v: u32 = 0;
        for _ in 0..n {
            let Some(d) = self.peek().and_then(|c| c.to_digit(16)) else {
                return self.err("truncated escape");
            };
            v = v.wrapping_mul(16).wrapping_add(d);
            self.pos += 1;
        }
        Ok(v)
    }

    /// Digits with single underscores between them (`digitpart`); returns them.
    fn digits(&mut self, radix: u32) -> R<String> {
        let mut out = String::new();
        loop {
            match self.peek() {
                Some(c) if c.is_digit(radix) => {
                    out.push(c);
                    self.pos += 1;
                }
                Some('_') if !out.is_empty() => {
                    if self.peek_at(1).is_some_and(|c| c.is_digit(radix)) {
                        self.pos += 1;
                    } else {
                        return self.err("invalid number literal");
                    }
                }
                _ => break,
            }
        }
        Ok(out)
    }

    fn number(&mut self) -> R<Value> {
        let v = self.number_token()?;
        // A name right after a number is a syntax error, except numpy's Python 2 `L`.
        if self.long_suffix {
            let save = self.pos;
            while matches!(self.peek(), Some(' ' | '\t' | '\x0c')) {
                self.pos += 1;
            }
            if self.peek() == Some('L') && !self.peek_at(1).is_some_and(is_ident_char) {
                self.pos += 1;
            } else {
                self.pos = save;
            }
        }
        if self.peek().is_some_and(is_ident_char) {
            return self.err("invalid number literal");
        }
        Ok(v)
    }

    fn number_token(&mut self) -> R<Value> {
        if self.peek() == Some('0') {
            let radix = match self.peek_at(1) {
                Some('x' | 'X') => 16,
                Some('o' | 'O') => 8,
                Some('b' | 'B') => 2,
                _ => 10,
            };
            if radix != 10 {
                self.pos += 2;
                if self.peek() == Some('_') {
                    self.pos += 1; // `0x_1` is valid
                }
                let d = self.digits(radix)?;
                if d.is_empty() {
                    return self.err("invalid number literal");
                }
                return Ok(Value::Int(i128::from_str_radix(&d, radix).ok()));
            }
        }
        let int_part = if self.peek() == Some('.') {
            String::new()
        } else {
            self.digits(10)?
        };
        let mut float = false;
        if self.peek() == Some('.') {
            float = true;
            self.pos += 1;
            let frac = self.digits(10)?;
            if int_part.is_empty() && frac.is_empty() {
                return self.err("invalid number literal");
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let save = self.pos;
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            if self.digits(10)?.is_empty() {
                self.pos = save;
                return self.err("invalid number literal");
            }
            float = true;
        }
        if matches!(self.peek(), Some('j' | 'J')) {
            self.pos += 1;
            return Ok(Value::Complex);
        }
        if float {
            return Ok(Value::Float);
        }
        // Leading zeros are allowed only in zero itself.
        if int_part.len() > 1 && int_part.starts_with('0') && int_part.chars().any(|c| c != '0') {
            return self.err("leading zeros in a decimal integer");
        }
        Ok(Value::Int(int_part.parse::<i128>().ok()))
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn ev(s: &str) -> R<Value> {
        literal_eval(s, false)
    }

    #[test]
    fn python_literals() {
        assert_eq!(ev("'|' 'O'"), Ok(Value::Str("|O".into())));
        assert_eq!(ev("'|\\x4f'"), Ok(Value::Str("|O".into())));
        assert_eq!(ev("'\\117'"), Ok(Value::Str("O".into())));
        assert_eq!(ev("u'\\u004f'"), Ok(Value::Str("O".into())));
        assert_eq!(ev("r'\\x4f'"), Ok(Value::Str("\\x4f".into())));
        assert_eq!(ev("'a\\\nb'"), Ok(Value::Str("ab".into())));
        assert_eq!(ev("'''a\nb'''"), Ok(Value::Str("a\nb".into())));
        assert!(ev("'\\N{LATIN CAPITAL LETTER O}'").is_err());
        assert!(ev("'a' b'b'").is_err());
        assert!(ev("f'O'").is_err());
        assert!(ev("'\\x4'").is_err());
        assert_eq!(ev("(1)+2j"), Ok(Value::Complex));
        assert!(ev("1+2").is_err());
        assert!(ev("--1").is_err());
        assert_eq!(ev("-(1)"), Ok(Value::Int(Some(-1))));
        assert!(ev("01").is_err());
        assert_eq!(ev("0_0"), Ok(Value::Int(Some(0))));
        assert_eq!(ev("0x_1f"), Ok(Value::Int(Some(31))));
        assert_eq!(ev("1.e5"), Ok(Value::Float));
        assert!(ev("1_").is_err());
        assert_eq!(ev("set( )"), Ok(Value::Set(vec![])));
        assert!(ev("{[1]: 2}").is_err());
        assert!(ev("{*()}").is_err());
        assert_eq!(
            ev("\n#c\n(1,)\n  # x\n"),
            Ok(Value::Tuple(vec![Value::Int(Some(1))]))
        );
        assert!(ev("\n  1").is_err());
        assert!(ev("1\n2").is_err());
        assert!(ev("1\\\n").is_err());
        assert!(ev("(3L,)").is_err());
        assert_eq!(
            literal_eval("(3L,)", true),
            Ok(Value::Tuple(vec![Value::Int(Some(3))]))
        );
    }

    #[test]
    fn dict_keys_last_value_wins() {
        let v = ev("{'descr': '<f8', 'descr': '|O', 1: 2, True: 3}");
        let Ok(Value::Dict(d)) = v else {
            panic!("{v:?}")
        };
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].1, Value::Str("|O".into()));
        assert_eq!(d[1], (Value::Int(Some(1)), Value::Int(Some(3))));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let s = format!("{}1{}", "(".repeat(500), ")".repeat(500));
        assert!(ev(&s).is_err());
    }
}
