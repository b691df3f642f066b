//! NumPy `.npy` header, read as numpy reads it: enough to know whether the payload is a
//! pickle (a dtype with objects) and where the data starts.
//!
//! Followed: `numpy.lib.format.read_magic` / `_check_version` (versions 1.0, 2.0, 3.0),
//! `_read_array_header` (length field, latin-1 or UTF-8 text, `ast.literal_eval`, the
//! `_filter_header` retry for Python 2 `L` suffixes, key and value checks) and
//! `descr_to_dtype` (strings, `(dtype, shape)` tuples, field lists with padding removal).
//! Whether a dtype string holds objects is decided the way `numpy.dtype(str)` does for every
//! string it accepts (`O`, `object`, `T` for StringDType, the type number `\x11`, in comma
//! strings and subarray prefixes too). Where the header cannot be read exactly the result is
//! an error, never "not object".

mod literal;

use literal::Value;

/// A NumPy header's facts for the rules (see [`crate::facts`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NpyFacts {
    /// The `descr` as Python prints it (`'<f4'`, `'|O'`).
    pub descr: String,
    /// The dtype holds Python objects: the data is a pickle.
    pub object: bool,
    /// Where the array data starts.
    pub data_offset: u64,
}

/// What the header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The `descr` entry as Python would print it, e.g. `'<f4'` or `'|O'`.
    pub descr: String,
    /// Offset of the array data.
    pub data_offset: u64,
    /// Whether the dtype holds Python objects (the data is then a pickle).
    pub object: bool,
}

/// Where the data starts according to the length field alone (for a header that cannot be
/// read exactly: its data is still worth a look).
pub fn data_offset(head: &[u8]) -> Option<u64> {
    let rest = head.strip_prefix(b"\x93NUMPY".as_slice())?;
    match rest.first()? {
        1 => Some(10 + u64::from(u16::from_le_bytes(rest.get(2..4)?.try_into().ok()?))),
        2 | 3 => Some(12 + u64::from(u32::from_le_bytes(rest.get(2..6)?.try_into().ok()?))),
        _ => None,
    }
}

/// Parse the header from the first bytes of the file (at least the header length; callers
/// pass what they have, a longer header is an error).
pub fn parse(head: &[u8]) -> Result<Header, String> {
    let rest = head
        .strip_prefix(b"\x93NUMPY".as_slice())
        .ok_or("missing NUMPY magic")?;
    let (&major, rest) = rest.split_first().ok_or("truncated header")?;
    let (&minor, rest) = rest.split_first().ok_or("truncated header")?;
    if minor != 0 || !(1..=3).contains(&major) {
        return Err(format!("unsupported npy version {major}.{minor}"));
    }
    let (len, start, rest) = if major == 1 {
        let b: [u8; 2] = rest
            .get(..2)
            .and_then(|b| b.try_into().ok())
            .ok_or("truncated header")?;
        (
            u64::from(u16::from_le_bytes(b)),
            10u64,
            rest.get(2..).unwrap_or_default(),
        )
    } else {
        let b: [u8; 4] = rest
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or("truncated header")?;
        (
            u64::from(u32::from_le_bytes(b)),
            12u64,
            rest.get(4..).unwrap_or_default(),
        )
    };
    let len_usize = usize::try_from(len).map_err(|_| "header too large")?;
    let raw = rest
        .get(..len_usize)
        .ok_or("header longer than the data read")?;
    // `_header_size_info`: latin-1 for 1.0 and 2.0, UTF-8 for 3.0.
    let text: String = if major == 3 {
        std::str::from_utf8(raw)
            .map_err(|_| "version 3 header is not UTF-8")?
            .to_string()
    } else {
        raw.iter().map(|&b| char::from(b)).collect()
    };
    let dict = match literal::literal_eval(&text, false) {
        Ok(v) => v,
        // numpy retries 1.0 and 2.0 headers once with Python 2 `L` suffixes removed.
        Err(_) if major <= 2 => literal::literal_eval(&text, true)
            .map_err(|e| format!("header is not a Python literal: {e}"))?,
        Err(e) => return Err(format!("header is not a Python literal: {e}")),
    };
    let Value::Dict(pairs) = dict else {
        return Err("header is not a dictionary".into());
    };
    let mut descr = None;
    let mut shape = None;
    let mut fortran = None;
    for (k, v) in &pairs {
        match k {
            Value::Str(s) if s == "descr" => descr = Some(v),
            Value::Str(s) if s == "shape" => shape = Some(v),
            Value::Str(s) if s == "fortran_order" => fortran = Some(v),
            _ => return Err("header does not contain the correct keys".into()),
        }
    }
    let (Some(descr), Some(shape), Some(fortran)) = (descr, shape, fortran) else {
        return Err("header does not contain the correct keys".into());
    };
    match shape {
        Value::Tuple(dims)
            if dims
                .iter()
                .all(|d| matches!(d, Value::Int(_) | Value::Bool(_))) => {}
        _ => return Err(format!("shape is not valid: {}", shape.repr())),
    }
    if !matches!(fortran, Value::Bool(_)) {
        return Err("fortran_order is not a valid bool".into());
    }
    let dt = descr_to_dtype(descr, 0)
        .map_err(|e| format!("descr {} not understood: {e}", descr.repr()))?;
    Ok(Header {
        descr: descr.repr(),
        data_offset: start + len,
        object: dt.object,
    })
}

/// What matters of a dtype: objects, and whether it is an unstructured void (a subarray or
/// `V`), which `descr_to_dtype` drops as padding when the field name is empty.
#[derive(Debug, Clone, Copy)]
struct Dt {
    object: bool,
    plain_void: bool,
}

const MAX_DTYPE_DEPTH: usize = 64;

/// Whether `numpy.dtype(s)` holds objects, for every string numpy accepts (checked against
/// numpy 2.4 over all one- and two-character strings, all code points with and without a
/// byte-order prefix, and all three-character ASCII strings).
fn str_has_object(s: &str) -> bool {
    s.contains(['O', 'T', '\x11']) || s.contains("object")
}

/// `numpy.lib.format.descr_to_dtype`.
fn descr_to_dtype(v: &Value, depth: usize) -> Result<Dt, String> {
    if depth > MAX_DTYPE_DEPTH {
        return Err("dtype nesting too deep".into());
    }
    match v {
        Value::Str(s) => {
            let object = str_has_object(s);
            // Subarray strings ('2O', '(2,)O') are void; other forms may or may not be, and
            // calling them non-void keeps an object field rather than dropping it.
            let plain_void = object && is_subarray_str(s);
            Ok(Dt { object, plain_void })
        }
        Value::Tuple(items) => {
            let (Some(base), Some(second)) = (items.first(), items.get(1)) else {
                return Err("dtype tuple shorter than two".into());
            };
            let base = descr_to_dtype(base, depth + 1)?;
            with_shape(base, second)
        }
        Value::List(items) | Value::Set(items) => fields(items, depth),
        // Iterating a dict gives its keys; iterating bytes gives ints.
        Value::Dict(pairs) => {
            let keys: Vec<Value> = pairs.iter().map(|(k, _)| k.clone()).collect();
            fields(&keys, depth)
        }
        Value::Bytes(b) if b.is_empty() => Ok(Dt {
            object: false,
            plain_void: false,
        }),
        _ => Err("not a dtype description".into()),
    }
}

fn is_subarray_str(s: &str) -> bool {
    // Only the certain cases: decimal count then the type, e.g. '2O' (numpy makes a
    // subarray of shape (2,)).
    let digits = s.trim_end_matches(|c: char| !c.is_ascii_digit());
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
        && s.get(digits.len()..) == Some("O")
}

/// `numpy.dtype((base, second))`: a subarray when `second` is a shape, else the
/// `(base_dtype, new_dtype)` form, which numpy refuses when either side holds objects.
fn with_shape(base: Dt, second: &Value) -> Result<Dt, String> {
    let int = |v: &Value| match v {
        Value::Int(Some(i)) => Some(*i),
        Value::Int(None) => Some(i128::MAX),
        _ => None,
    };
    let dims: Option<Vec<i128>> = match second {
        Value::Int(_) => int(second).map(|i| vec![i]),
        Value::Tuple(t) | Value::List(t) if t.iter().all(|d| int(d).is_some()) => {
            Some(t.iter().filter_map(int).collect())
        }
        _ => None,
    };
    match dims {
        Some(d) if d.iter().any(|&x| x < 0) => Err("negative dimension".into()),
        // An empty shape is the base type itself.
        Some(d) if d.is_empty() && !matches!(second, Value::Int(_)) => Ok(base),
        Some(_) => Ok(Dt {
            object: base.object,
            plain_void: true,
        }),
        None => {
            if matches!(second, Value::Bool(_))
                || matches!(second, Value::Tuple(t) | Value::List(t) if t.iter().any(|d| matches!(d, Value::Bool(_))))
            {
                return Err("invalid shape".into());
            }
            if base.object || any_object_str(second) {
                return Err("(old_dtype, new_dtype) form with objects".into());
            }
            Ok(Dt {
                object: false,
                plain_void: false,
            })
        }
    }
}

fn any_object_str(v: &Value) -> bool {
    match v {
        Value::Str(s) => str_has_object(s),
        Value::Tuple(t) | Value::List(t) | Value::Set(t) => t.iter().any(any_object_str),
        Value::Dict(d) => d
            .iter()
            .any(|(k, v)| any_object_str(k) || any_object_str(v)),
        _ => false,
    }
}

/// The elements `name, descr[, shape] = field` unpacks, or the orderings a set may give.
fn unpack(field: &Value) -> Result<Vec<Vec<Value>>, String> {
    Ok(match field {
        Value::Tuple(t) | Value::List(t) => vec![t.clone()],
        Value::Str(s) => vec![s.chars().map(|c| Value::Str(c.to_string())).collect()],
        Value::Bytes(b) => vec![b.iter().map(|&x| Value::Int(Some(i128::from(x)))).collect()],
        Value::Dict(d) => vec![d.iter().map(|(k, _)| k.clone()).collect()],
        // A set unpacks in hash order, which varies between runs: every ordering counts.
        Value::Set(s) => permutations(s),
        _ => return Err("field is not a sequence".into()),
    })
}

fn permutations(items: &[Value]) -> Vec<Vec<Value>> {
    if items.len() > 3 {
        return vec![items.to_vec()]; // a field of that length is an error anyway
    }
    let mut out = Vec::new();
    let idx: Vec<usize> = (0..items.len()).collect();
    let mut perms = vec![idx];
    if items.len() >= 2 {
        perms = Vec::new();
        for a in 0..items.len() {
            for b in 0..items.len() {
                for c in 0..items.len() {
                    let p: Vec<usize> = [a, b, c].into_iter().take(items.len()).collect();
                    let mut seen = p.clone();
                    seen.sort_unstable();
                    seen.dedup();
                    if seen.len() == items.len() && !perms.contains(&p) {
                        perms.push(p);
                    }
                }
            }
        }
    }
    for p in perms {
        out.push(p.iter().filter_map(|&i| items.get(i).cloned()).collect());
    }
    out
}

/// The field-list branch of `descr_to_dtype`.
fn fields(items: &[Value], depth: usize) -> Result<Dt, String> {
    let mut object = false;
    for field in items {
        for parts in unpack(field)? {
            let (name, dt) = match parts.as_slice() {
                [name, d] => (name, descr_to_dtype(d, depth + 1)?),
                [name, d, shape] => (name, with_shape(descr_to_dtype(d, depth + 1)?, shape)?),
                _ => return Err("field is not (name, dtype[, shape])".into()),
            };
            // Padding: '' names of unstructured void types are dropped.
            let is_pad = matches!(name, Value::Str(s) if s.is_empty()) && dt.plain_void;
            if is_pad {
                continue;
            }
            match name {
                Value::Str(_) => {}
                Value::Tuple(t) if t.len() == 2 && matches!(t.get(1), Some(Value::Str(_))) => {}
                _ => return Err("field names must be strings".into()),
            }
            object |= dt.object;
        }
    }
    Ok(Dt {
        object,
        plain_void: false,
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn npy(major: u8, dict: &str) -> Vec<u8> {
        let mut h = vec![0x93];
        h.extend_from_slice(b"NUMPY");
        h.push(major);
        h.push(0);
        let d = dict.as_bytes();
        if major == 1 {
            h.extend_from_slice(&(d.len() as u16).to_le_bytes());
        } else {
            h.extend_from_slice(&(d.len() as u32).to_le_bytes());
        }
        h.extend_from_slice(d);
        h
    }

    fn object(dict: &str) -> Result<bool, String> {
        parse(&npy(1, dict)).map(|h| h.object)
    }

    #[test]
    fn parses_v1() {
        let d = "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }          \n";
        let h = npy(1, d);
        let p = parse(&h).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.object);
        assert_eq!(p.descr, "'|O'");
        assert_eq!(p.data_offset, 10 + d.len() as u64);
        assert!(parse(&h[..12]).is_err());
        assert!(parse(b"\x93NUMPY\x09\x00").is_err());
        assert!(parse(b"\x93NUMPY\x01\x01\x00\x00").is_err());
    }

    #[test]
    fn object_spellings() {
        let with = |descr: &str| {
            object(&format!(
                "{{'descr': {descr}, 'fortran_order': False, 'shape': (2,), }}\n"
            ))
        };
        for d in [
            "'|O'",
            "'|' 'O'",
            "'|\\x4f'",
            "'object'",
            "'O8'",
            "'T'",
            "'i4,O'",
            "[('a', '<i4'), ('b', [('c', 'O')])]",
            "[('a', 'O', (2,))]",
            "('O', (3,))",
            "['aO']",
            "{'aO': 1}",
            "[('', 'O')]",
            "[(('title', 'n'), 'O')]",
        ] {
            assert_eq!(with(d), Ok(true), "{d}");
        }
        for d in [
            "'<f8'",
            "[('a', '<i4'), ('b', '<f8')]",
            "[('', '|O', (2,))]",
            "set()",
            "[]",
        ] {
            assert_eq!(with(d), Ok(false), "{d}");
        }
        for d in [
            "'\\N{LATIN CAPITAL LETTER O}'",
            "('O',)",
            "[(1, 'O')]",
            "b'|O'",
            "x",
        ] {
            assert!(with(d).is_err(), "{d}");
        }
        // Duplicate key: the last wins.
        assert_eq!(
            object("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'descr': '|O'}"),
            Ok(true)
        );
        assert!(object("{'descr': '<f8', 'fortran_order': False}").is_err());
        assert!(object("{'descr': '<f8', 'fortran_order': 0, 'shape': ()}").is_err());
        assert_eq!(
            object("{'descr': '<f8', 'fortran_order': False, 'shape': (2L,)}"),
            Ok(false)
        );
    }

    #[test]
    fn version_3_is_utf8() {
        let d = "{'descr': '|O', 'fortran_order': False, 'shape': (), 'é': 1}";
        assert!(parse(&npy(3, d)).is_err()); // extra key
        let d = "{'descr': '|O', 'fortran_order': False, 'shape': (), }\n";
        assert_eq!(parse(&npy(3, d)).map(|h| h.object), Ok(true));
        let mut bad = npy(3, "{'descr': '|O', 'fortran_order': False, 'shape': ()} ");
        let last = bad.len() - 1;
        bad[last] = 0xff;
        assert!(parse(&bad).is_err());
    }
}
