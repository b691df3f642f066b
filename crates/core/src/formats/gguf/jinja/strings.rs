//! Python string semantics the render relies on to build names: `%` and `str.format`
//! formatting, Jinja2's string-literal decoding (`unicode-escape`, `\\N{…}`), slicing and
//! indexing (also of strings of which only the ends are known), `title`, `capitalize`,
//! HTML escaping.
//!
//! Must not: know about abstract values beyond constants (`K`) or report anything.

use super::value::{K, MAX_FOLD, norm_str, py_repr};

/// Python `%` formatting, enough for `%s`/`%c`-style name building.
pub(super) fn percent_format(fmt: &str, args: &[K]) -> Option<String> {
    let mut out = String::new();
    let mut it = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '%' => out.push('%'),
            's' | 'd' | 'i' => match it.next()?.text()? {
                K::Str(s) => out.push_str(&s),
                _ => return None,
            },
            'r' => out.push_str(&py_repr(it.next()?)?),
            'c' => match it.next()? {
                K::Int(i) => out.push(char::from_u32(u32::try_from(*i).ok()?)?),
                K::Str(s) => out.push_str(s),
                _ => return None,
            },
            _ => return None,
        }
        if out.len() > MAX_FOLD {
            return None;
        }
    }
    Some(out)
}

/// Jinja2's decoding of a string literal's body (`jinja2.lexer.Lexer.wrap`): newlines
/// normalised, non-ASCII characters `backslashreplace`d, then Python's `unicode-escape`
/// codec. `None` when the codec would fail or a `\N{…}` name is not in the small table.
pub(super) fn jinja_unescape(body: &str) -> Option<String> {
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let mut ascii = String::with_capacity(body.len());
    for c in body.chars() {
        match c as u32 {
            0..=0x7f => ascii.push(c),
            n @ 0x80..=0xff => ascii.push_str(&format!("\\x{n:02x}")),
            n @ 0x100..=0xffff => ascii.push_str(&format!("\\u{n:04x}")),
            n => ascii.push_str(&format!("\\U{n:08x}")),
        }
    }
    let mut out = String::new();
    let mut it = ascii.chars().peekable();
    let hex = |it: &mut std::iter::Peekable<std::str::Chars<'_>>, n: usize| -> Option<char> {
        let mut v = 0u32;
        for _ in 0..n {
            v = v * 16 + it.next()?.to_digit(16)?;
        }
        char::from_u32(v)
    };
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next()? {
            '\n' => {}
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            d @ '0'..='7' => {
                let mut v = d.to_digit(8)?;
                for _ in 0..2 {
                    match it.peek().and_then(|c| c.to_digit(8)) {
                        Some(x) => {
                            v = v * 8 + x;
                            it.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v)?);
            }
            'x' => out.push(hex(&mut it, 2)?),
            'u' => out.push(hex(&mut it, 4)?),
            'U' => out.push(hex(&mut it, 8)?),
            'N' => {
                if it.next()? != '{' {
                    return None;
                }
                let name: String = it.by_ref().take_while(|c| *c != '}').collect();
                out.push(unicode_name(&name)?);
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
        if out.len() > MAX_FOLD {
            return None;
        }
    }
    Some(out)
}

/// The characters of attribute names by Unicode name (`\N{LOW LINE}`): ASCII letters,
/// digits, `_`, `.`, space.
pub(super) fn unicode_name(name: &str) -> Option<char> {
    let n = name.to_ascii_uppercase();
    let n = n.trim();
    let simple = [
        ("LOW LINE", '_'),
        ("FULL STOP", '.'),
        ("SPACE", ' '),
        ("SOLIDUS", '/'),
        ("HYPHEN-MINUS", '-'),
    ];
    if let Some((_, c)) = simple.iter().find(|(k, _)| *k == n) {
        return Some(*c);
    }
    let digits = [
        "ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE",
    ];
    if let Some(d) = n.strip_prefix("DIGIT ") {
        return digits
            .iter()
            .position(|x| *x == d)
            .and_then(|i| char::from_digit(i as u32, 10));
    }
    let letter = |rest: &str| -> Option<char> {
        let mut cs = rest.chars();
        match (cs.next(), cs.next()) {
            (Some(c), None) if c.is_ascii_uppercase() => Some(c),
            _ => None,
        }
    };
    if let Some(r) = n.strip_prefix("LATIN SMALL LETTER ") {
        return letter(r).map(|c| c.to_ascii_lowercase());
    }
    if let Some(r) = n.strip_prefix("LATIN CAPITAL LETTER ") {
        return letter(r);
    }
    None
}

/// `str.format` with plain fields (`{}`, `{0}`, `{name}`, `{{`, `}}`); `None` for anything
/// else (conversions, format specs, attribute fields).
pub(super) fn str_format(fmt: &str, pos: &[K], named: &[(String, K)]) -> Option<String> {
    use modelguard_pycode::strfmt::{Field, brace_format};
    brace_format(fmt, MAX_FOLD, |field| match field {
        Field::Auto(i) | Field::Index(i) => pos.get(i)?.plain(),
        Field::Name(n) => named.iter().find(|(k, _)| k == n)?.1.plain(),
    })
}

/// Python slicing of a sequence of `n` items: the indices taken.
pub(super) fn slice_indices(
    n: usize,
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
) -> Vec<usize> {
    let n = n as i64;
    let step = step.unwrap_or(1);
    if step == 0 {
        return vec![];
    }
    let norm = |v: i64, lo: i64, hi: i64| {
        let v = if v < 0 { v.saturating_add(n) } else { v };
        v.clamp(lo, hi)
    };
    let mut out = Vec::new();
    if step > 0 {
        let a = start.map_or(0, |s| norm(s, 0, n));
        let b = stop.map_or(n, |s| norm(s, 0, n));
        let mut i = a;
        while i < b {
            out.push(i as usize);
            i = i.saturating_add(step);
        }
    } else {
        let a = start.map_or(n - 1, |s| norm(s, -1, n - 1));
        let b = stop.map_or(-1, |s| norm(s, -1, n - 1));
        let mut i = a;
        while i > b {
            out.push(i as usize);
            i = i.saturating_add(step);
        }
    }
    out
}

/// A slice of a string of which only the ends are known: known when it falls inside the
/// prefix (non-negative bounds) or inside the suffix (negative bounds).
pub(super) fn slice_pat(
    pre: &str,
    suf: &str,
    a: Option<i64>,
    b: Option<i64>,
    step: Option<i64>,
) -> K {
    let step = step.unwrap_or(1);
    let unknown = K::Pat(String::new(), String::new());
    if step <= 0 {
        return unknown;
    }
    let take = |chars: &[char], lo: i64, hi: i64| -> K {
        let (Ok(lo), Ok(hi)) = (usize::try_from(lo), usize::try_from(hi)) else {
            return K::Pat(String::new(), String::new());
        };
        K::Str(
            (lo..hi.min(chars.len()))
                .step_by(usize::try_from(step).unwrap_or(1))
                .filter_map(|i| chars.get(i))
                .collect(),
        )
    };
    let p: Vec<char> = pre.chars().collect();
    let s: Vec<char> = suf.chars().collect();
    let (pl, sl) = (p.len() as i64, s.len() as i64);
    match (a.unwrap_or(0), b) {
        (a, Some(b)) if a >= 0 && b >= 0 && b <= pl => take(&p, a, b.max(a)),
        (a, Some(b)) if a < 0 && b < 0 && -a <= sl => take(&s, sl + a, (sl + b).max(sl + a)),
        (a, None) if a < 0 && -a <= sl => take(&s, sl + a, sl),
        _ => unknown,
    }
}

/// The character at index `i` of a string of which only the ends are known.
pub(super) fn index_pat(pre: &str, suf: &str, i: i64) -> K {
    let c = if i >= 0 {
        usize::try_from(i).ok().and_then(|i| pre.chars().nth(i))
    } else {
        usize::try_from(-i - 1)
            .ok()
            .and_then(|j| suf.chars().rev().nth(j))
    };
    c.map_or(K::Pat(String::new(), String::new()), |c| {
        K::Str(c.to_string())
    })
}

/// Python `str.title()`.
pub(super) fn py_title(s: &str) -> String {
    let mut out = String::new();
    let mut prev_cased = false;
    for c in s.chars() {
        if prev_cased {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        prev_cased = c.is_alphabetic();
    }
    out
}

/// Python `str.capitalize()`.
pub(super) fn py_capitalize(s: &str) -> String {
    let mut it = s.chars();
    match it.next() {
        Some(c) => c
            .to_uppercase()
            .chain(it.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// `markupsafe.escape` of a string.
pub(super) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// One string literal or several adjacent ones (`'a' "b"`, which Jinja2 concatenates),
/// decoded as Jinja2 does.
pub(super) fn literal_run(text: &str) -> Option<K> {
    let mut out = String::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let q = rest.chars().next()?;
        if q != '\'' && q != '"' {
            return None;
        }
        let body = rest.get(1..)?;
        let mut end = None;
        let mut esc = false;
        for (i, c) in body.char_indices() {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == q {
                end = Some(i);
                break;
            }
        }
        let end = end?;
        match jinja_unescape(body.get(..end)?) {
            Some(v) => out.push_str(&v),
            // An escape the analysis cannot decode: the string is unknown.
            None => return Some(K::Pat(String::new(), String::new())),
        }
        rest = body.get(end + 1..)?.trim_start();
    }
    Some(norm_str(out))
}
