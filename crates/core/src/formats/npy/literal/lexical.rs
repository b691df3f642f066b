//! Tokens as the CPython tokenizer reads them: string literals (prefixes, escapes, implicit
//! concatenation) and numbers (underscores, radix prefixes, floats, imaginary).

use super::{Parser, R, Value, is_ident_char};

impl Parser<'_> {
    /// One or more adjacent string literals (implicit concatenation).
    pub(super) fn strings(&mut self) -> R<Value> {
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

    pub(super) fn number(&mut self) -> R<Value> {
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
