//! `str.format` with plain fields, as Python evaluates it: `{}`, `{0}`, `{name}`, `{{`, `}}`.
//! Shared by the source analyser (`'{}{}'.format('o', 's')`) and the chat-template analysis
//! (Jinja's `'{}'.format(x)`), which fold the same construct.

/// The field a replacement refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<'a> {
    /// `{}`: the next positional argument (0-based index of automatic numbering).
    Auto(usize),
    /// `{N}`.
    Index(usize),
    /// `{name}`.
    Name(&'a str),
}

/// Format `fmt`, asking `value` for each field's text. `None` when the format uses anything
/// else (conversions, specs, attribute or item fields), when a field has no value, on a lone
/// `}` (Python raises), or when the output would exceed `max_len` bytes.
pub fn brace_format(
    fmt: &str,
    max_len: usize,
    mut value: impl FnMut(Field<'_>) -> Option<String>,
) -> Option<String> {
    let mut out = String::with_capacity(fmt.len().min(max_len));
    let mut auto = 0usize;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next()? {
                        '}' => break,
                        ch => field.push(ch),
                    }
                }
                let text = if field.is_empty() {
                    auto += 1;
                    value(Field::Auto(auto - 1))?
                } else if let Ok(i) = field.parse::<usize>() {
                    value(Field::Index(i))?
                } else if field.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    value(Field::Name(&field))?
                } else {
                    return None;
                };
                out.push_str(&text);
            }
            '}' => return None,
            c => out.push(c),
        }
        if out.len() > max_len {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(f: &str, pos: &[&str], named: &[(&str, &str)]) -> Option<String> {
        brace_format(f, 1 << 16, |field| match field {
            Field::Auto(i) | Field::Index(i) => pos.get(i).map(|s| s.to_string()),
            Field::Name(n) => named
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string()),
        })
    }

    #[test]
    fn plain_fields() {
        assert_eq!(fmt("{}{}", &["o", "s"], &[]).as_deref(), Some("os"));
        assert_eq!(fmt("{1}{0}", &["s", "o"], &[]).as_deref(), Some("os"));
        assert_eq!(fmt("{a}", &[], &[("a", "x")]).as_deref(), Some("x"));
        assert_eq!(fmt("{{}}", &[], &[]).as_deref(), Some("{}"));
        assert_eq!(fmt("{0.x}", &["s"], &[]), None);
        assert_eq!(fmt("a}b", &[], &[]), None);
        assert_eq!(fmt("{}", &[], &[]), None);
    }
}
