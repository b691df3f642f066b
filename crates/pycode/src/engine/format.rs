//! Python's arithmetic, `str()`, slicing, `int()` parsing and `%`/`str.format` formatting on
//! folded constants (`repr` and truncation are in `text.rs`).

use super::*;
pub(super) fn int_op(op: BinOp, a: i128, b: i128) -> Option<i128> {
    match op {
        BinOp::Add => a.checked_add(b),
        BinOp::Sub => a.checked_sub(b),
        BinOp::Mul => a.checked_mul(b),
        BinOp::FloorDiv => {
            (b != 0).then(|| a.div_euclid(b) - i128::from(b < 0 && a.rem_euclid(b) != 0))
        }
        BinOp::Mod => (b != 0).then(|| {
            let r = a.rem_euclid(b);
            if b < 0 && r != 0 { r + b } else { r }
        }),
        BinOp::Pow => u32::try_from(b)
            .ok()
            .filter(|e| *e <= 127)
            .and_then(|e| a.checked_pow(e)),
        BinOp::LShift => u32::try_from(b)
            .ok()
            .filter(|s| *s < 127)
            .and_then(|s| a.checked_shl(s).filter(|r| r >> s == a)),
        BinOp::RShift => u32::try_from(b).ok().map(|s| a >> s.min(127)),
        BinOp::BitOr => Some(a | b),
        BinOp::BitXor => Some(a ^ b),
        BinOp::BitAnd => Some(a & b),
        BinOp::Div | BinOp::MatMul => None,
    }
}

pub(super) fn float_op(op: BinOp, l: &Val, r: &Val) -> Val {
    let f = |v: &Val| match v {
        Val::Float(f) => Some(*f),
        Val::Int(i) => Some(*i as f64),
        _ => None,
    };
    match (f(l), f(r)) {
        (Some(a), Some(b)) => match op {
            BinOp::Add => Val::Float(a + b),
            BinOp::Sub => Val::Float(a - b),
            BinOp::Mul => Val::Float(a * b),
            BinOp::Div if b != 0.0 => Val::Float(a / b),
            _ => Val::Unknown,
        },
        _ => Val::Unknown,
    }
}

/// Python's `str()` of a constant.
pub(super) fn to_str(v: &Val) -> Option<String> {
    match v {
        Val::Str(s, _) => Some(s.to_string()),
        Val::Int(i) => Some(i.to_string()),
        Val::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        Val::NoneV => Some("None".to_string()),
        Val::Bytes(b, _) => Some(py_repr_bytes(b, usize::MAX)),
        Val::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 => {
            Some(format!("{f:.1}"))
        }
        _ => None,
    }
}

pub(super) fn parse_int(s: &str, base: i128) -> Option<i128> {
    let t: String = s.trim().chars().filter(|&c| c != '_').collect();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r.to_string()),
        None => (false, t.strip_prefix('+').unwrap_or(&t).to_string()),
    };
    let (radix, digits) = match base {
        0 => {
            let lower = t.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("0x") {
                (16, r.to_string())
            } else if let Some(r) = lower.strip_prefix("0o") {
                (8, r.to_string())
            } else if let Some(r) = lower.strip_prefix("0b") {
                (2, r.to_string())
            } else {
                (10, lower)
            }
        }
        2..=36 => {
            let lower = t.to_ascii_lowercase();
            let stripped = match base {
                16 => lower.strip_prefix("0x"),
                8 => lower.strip_prefix("0o"),
                2 => lower.strip_prefix("0b"),
                _ => None,
            };
            (
                u32::try_from(base).ok()?,
                stripped.map(str::to_string).unwrap_or(lower),
            )
        }
        _ => return None,
    };
    let v = i128::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

pub(super) fn py_radix(i: i128, radix: u32, prefix: &str) -> String {
    let (neg, mut n) = (i < 0, i.unsigned_abs());
    let mut digits = Vec::new();
    loop {
        let d = (n % u128::from(radix)) as u32;
        digits.push(char::from_digit(d, radix).unwrap_or('0'));
        n /= u128::from(radix);
        if n == 0 {
            break;
        }
    }
    let body: String = digits.iter().rev().collect();
    format!("{}{prefix}{body}", if neg { "-" } else { "" })
}

pub(super) fn py_index(len: usize, i: i128) -> Option<usize> {
    let len = i128::try_from(len).ok()?;
    let k = if i < 0 { i + len } else { i };
    (0..len)
        .contains(&k)
        .then(|| usize::try_from(k).ok())
        .flatten()
}

/// Indices selected by `[start:stop:step]` on a sequence of `len` items (Python semantics).
pub(crate) fn py_slice(
    len: usize,
    start: Option<i128>,
    stop: Option<i128>,
    step: Option<i128>,
) -> Option<Vec<usize>> {
    let n = i128::try_from(len).ok()?;
    let step = step.unwrap_or(1);
    if step == 0 {
        return None;
    }
    let clamp = |v: i128, lo: i128, hi: i128| v.max(lo).min(hi);
    let norm = |v: i128| if v < 0 { v + n } else { v };
    let mut out = Vec::new();
    if step > 0 {
        let s = clamp(start.map(norm).unwrap_or(0), 0, n);
        let e = clamp(stop.map(norm).unwrap_or(n), 0, n);
        let mut i = s;
        while i < e {
            out.push(usize::try_from(i).ok()?);
            i += step;
        }
    } else {
        let s = clamp(start.map(norm).unwrap_or(n - 1), -1, n - 1);
        let e = clamp(stop.map(norm).unwrap_or(-1), -1, n - 1);
        let mut i = s;
        while i > e {
            out.push(usize::try_from(i).ok()?);
            i += step;
        }
    }
    Some(out)
}

pub(super) fn py_range(start: i128, stop: i128, step: i128, max: usize) -> Option<Vec<i128>> {
    if step == 0 {
        return None;
    }
    let count = if step > 0 {
        (stop - start + step - 1).div_euclid(step)
    } else {
        (start - stop - step - 1).div_euclid(-step)
    }
    .max(0);
    if count > max as i128 {
        return None;
    }
    Some((0..count).map(|k| start + k * step).collect())
}

/// `fmt % args` for the common conversions (`%s %d %i %c %x %o %r %%`) without flags.
pub(super) fn percent_format(fmt: &str, args: &Val) -> Option<String> {
    let args: Vec<Val> = match args {
        Val::Seq(v) => v.to_vec(),
        other => vec![other.clone()],
    };
    let mut it = args.iter();
    let mut out = String::with_capacity(fmt.len());
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let conv = chars.next()?;
        match conv {
            '%' => out.push('%'),
            's' => out.push_str(&to_str(it.next()?)?),
            'r' => match it.next()? {
                Val::Str(s, _) => out.push_str(&py_repr_str(&s[..], usize::MAX)),
                other => out.push_str(&to_str(other)?),
            },
            'd' | 'i' | 'u' => out.push_str(&it.next()?.as_int()?.to_string()),
            'c' => match it.next()? {
                Val::Str(s, _) if s.chars().count() == 1 => out.push_str(&s[..]),
                v => out.push(char::from_u32(u32::try_from(v.as_int()?).ok()?)?),
            },
            'x' => out.push_str(&format!("{:x}", it.next()?.as_int()?)),
            'X' => out.push_str(&format!("{:X}", it.next()?.as_int()?)),
            'o' => out.push_str(&format!("{:o}", it.next()?.as_int()?)),
            _ => return None,
        }
    }
    if it.next().is_some() {
        return None;
    }
    Some(out)
}

/// `fmt.format(*args, **kwargs)` for plain `{}`, `{0}` and `{name}` fields.
pub(super) fn brace_format(fmt: &str, args: &[Val], kwargs: &[(String, Val)]) -> Option<String> {
    crate::strfmt::brace_format(fmt, usize::MAX, |field| match field {
        crate::strfmt::Field::Auto(i) | crate::strfmt::Field::Index(i) => to_str(args.get(i)?),
        crate::strfmt::Field::Name(n) => to_str(&kwargs.iter().find(|(k, _)| k == n)?.1),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn slices_follow_python() {
        assert_eq!(py_slice(5, None, None, Some(-1)), Some(vec![4, 3, 2, 1, 0]));
        assert_eq!(py_slice(5, Some(1), Some(3), None), Some(vec![1, 2]));
        assert_eq!(py_slice(5, Some(-2), None, None), Some(vec![3, 4]));
        assert_eq!(py_slice(5, None, None, Some(2)), Some(vec![0, 2, 4]));
        assert_eq!(py_slice(5, Some(10), None, Some(-2)), Some(vec![4, 2, 0]));
        assert_eq!(py_slice(3, None, None, Some(0)), None);
        assert_eq!(py_slice(0, None, None, Some(-1)), Some(vec![]));
    }

    #[test]
    fn ints() {
        assert_eq!(int_op(BinOp::FloorDiv, -7, 2), Some(-4));
        assert_eq!(int_op(BinOp::Mod, -7, 2), Some(1));
        assert_eq!(int_op(BinOp::Mod, 7, -2), Some(-1));
        assert_eq!(int_op(BinOp::Pow, 2, 200), None);
        assert_eq!(int_op(BinOp::LShift, 1, 200), None);
        assert_eq!(parse_int("0x1f", 0), Some(31));
        assert_eq!(parse_int("ff", 16), Some(255));
        assert_eq!(py_radix(255, 16, "0x"), "0xff");
        assert_eq!(py_radix(-8, 8, "0o"), "-0o10");
        assert_eq!(py_range(0, 10, 3, 100), Some(vec![0, 3, 6, 9]));
        assert_eq!(py_range(5, 0, -2, 100), Some(vec![5, 3, 1]));
        assert_eq!(py_range(0, 1000, 1, 10), None);
    }

    #[test]
    fn formatting() {
        let s = |x: &str| Val::Str(x.into(), vec![]);
        assert_eq!(
            percent_format("%s%s", &Val::Seq(vec![s("o"), s("s")].into())),
            Some("os".into())
        );
        assert_eq!(
            percent_format("%c%c", &Val::Seq(vec![Val::Int(111), Val::Int(115)].into())),
            Some("os".into())
        );
        assert_eq!(percent_format("%d%%", &Val::Int(5)), Some("5%".into()));
        assert_eq!(percent_format("%5s", &s("x")), None);
        assert_eq!(
            brace_format("{}{}", &[s("o"), s("s")], &[]),
            Some("os".into())
        );
        assert_eq!(
            brace_format("{1}{0}", &[s("s"), s("o")], &[]),
            Some("os".into())
        );
        assert_eq!(
            brace_format("{a}", &[], &[("a".into(), s("x"))]),
            Some("x".into())
        );
        assert_eq!(brace_format("{0.x}", &[s("s")], &[]), None);
        assert_eq!(py_repr_str("it's", 100), "\"it's\"");
        assert_eq!(py_repr_bytes(b"a\x00'", 100), "b\"a\\x00'\"");
    }
}
