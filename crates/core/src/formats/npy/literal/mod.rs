//! A bounded evaluator of the Python literals `ast.literal_eval` accepts (CPython 3.11), for
//! the `.npy` header, which numpy evaluates with `ast.literal_eval`
//! (`numpy.lib.format._read_array_header`).
//!
//! Followed: the CPython tokenizer (string prefixes, escapes, implicit concatenation, number
//! syntax, comments, line continuation, indentation of the first line) and
//! `ast.literal_eval` (constants, tuples, lists, sets, dicts, `set()`, unary `+`/`-` on a
//! number, `real ± complex`). Anything else is an error: the caller fails closed. `\N{...}`
//! escapes and lone surrogates are reported as unanalysable rather than guessed.
//!
//! Files: `mod.rs` the parser's grammar (`literal_eval`'s expressions, containers, dict keys),
//! `lexical.rs` its string and number tokens, `value.rs` the values and their Python
//! equality.
//!
//! Must not: evaluate anything `ast.literal_eval` refuses, or guess what it cannot read.

mod lexical;
mod value;

pub use value::Value;

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
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests;
