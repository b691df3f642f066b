//! Constant folding of builtin calls (`chr`, `''.join`, `bytes`, `int`, …), bounded by
//! `max_fold_len`.

use super::*;
impl<'l> Engine<'l> {
    /// Constant folding of builtins; `None` when the call is not folded here.
    pub(super) fn fold_builtin(&mut self, name: &str, call: &CallArgs<'_>) -> Option<Val> {
        let a0 = call.args.first();
        let v = match (name, a0) {
            ("chr" | "unichr", Some(v)) => match v.as_int() {
                Some(i) => u32::try_from(i)
                    .ok()
                    .and_then(char::from_u32)
                    .map(|c| Val::Str(c.to_string().into(), Vec::new()))
                    .unwrap_or(Val::Unknown),
                None if v.is_data() => Val::Data,
                None => Val::Unknown,
            },
            ("ord", Some(Val::Str(s, _))) => {
                let mut it = s.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) => Val::Int(i128::from(u32::from(c))),
                    _ => Val::Unknown,
                }
            }
            ("ord", Some(Val::Bytes(b, _))) if b.len() == 1 => {
                Val::Int(i128::from(b.first().copied().unwrap_or(0)))
            }
            ("str" | "unicode", Some(v)) => match to_str(v) {
                Some(s) => Val::Str(s.into(), v.prov().to_vec()),
                None if v.is_data() => Val::Data,
                None => Val::Unknown,
            },
            ("str", None) => Val::Str(String::new().into(), Vec::new()),
            ("repr", Some(Val::Str(s, p))) => {
                Val::Str(py_repr_str(s, usize::MAX).into(), p.clone())
            }
            ("int" | "long", Some(v)) => {
                let base = call.arg(1, "base").and_then(Val::as_int);
                match (v, base) {
                    (Val::Str(s, _), b) => parse_int(s, b.unwrap_or(10))
                        .map(Val::Int)
                        .unwrap_or(Val::Unknown),
                    (Val::Int(i), None) => Val::Int(*i),
                    (Val::Bool(b), None) => Val::Int(i128::from(*b)),
                    (Val::Float(f), None) if f.is_finite() && f.abs() < 1e30 => {
                        Val::Int(f.trunc() as i128)
                    }
                    (v, _) if v.is_data() => Val::Data,
                    _ => Val::Unknown,
                }
            }
            ("hex", Some(Val::Int(i))) => Val::Str(py_radix(*i, 16, "0x").into(), Vec::new()),
            ("oct", Some(Val::Int(i))) => Val::Str(py_radix(*i, 8, "0o").into(), Vec::new()),
            ("bin", Some(Val::Int(i))) => Val::Str(py_radix(*i, 2, "0b").into(), Vec::new()),
            ("len", Some(v)) => match v {
                Val::Str(s, _) => Val::Int(s.chars().count() as i128),
                Val::Bytes(b, _) => Val::Int(b.len() as i128),
                Val::Seq(s) => Val::Int(s.len() as i128),
                _ => Val::Data,
            },
            ("bytes" | "bytearray", Some(v)) => match v {
                Val::Bytes(..) => v.clone(),
                Val::Str(s, p) => Val::Bytes(s.as_bytes().to_vec().into(), p.clone()),
                Val::Seq(items) => {
                    let bytes: Option<Vec<u8>> = items
                        .iter()
                        .map(|x| x.as_int().and_then(|i| u8::try_from(i).ok()))
                        .collect();
                    bytes
                        .map(|b| Val::Bytes(b.into(), Vec::new()))
                        .unwrap_or(Val::Unknown)
                }
                Val::Int(n) if *n >= 0 && *n <= self.limits.max_fold_len as i128 => {
                    Val::Bytes(vec![0; usize::try_from(*n).unwrap_or(0)].into(), Vec::new())
                }
                v if v.is_data() => Val::Data,
                _ => Val::Unknown,
            },
            ("list" | "tuple" | "set" | "frozenset" | "sorted", Some(v)) => {
                match v.elements(self.max_items()) {
                    Some(mut els) => {
                        if name == "sorted" {
                            if els.iter().all(|e| e.as_int().is_some()) {
                                els.sort_by_key(|e| e.as_int().unwrap_or(0));
                            } else if els.iter().all(|e| e.as_str().is_some()) {
                                els.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
                            } else {
                                return Some(Val::Unknown);
                            }
                        }
                        Val::Seq(els.into())
                    }
                    None if v.is_data() => Val::Data,
                    None => Val::Unknown,
                }
            }
            ("list" | "tuple" | "set", None) => Val::Seq(Vec::new().into()),
            ("reversed", Some(v)) => match v.elements(self.max_items()) {
                Some(mut els) => {
                    els.reverse();
                    Val::Seq(els.into())
                }
                None if v.is_data() => Val::Data,
                None => Val::Unknown,
            },
            ("range" | "xrange", Some(_)) => {
                let ints: Option<Vec<i128>> = call.args.iter().map(Val::as_int).collect();
                match ints.as_deref() {
                    Some([stop]) => py_range(0, *stop, 1, self.max_items()),
                    Some([start, stop]) => py_range(*start, *stop, 1, self.max_items()),
                    Some([start, stop, step]) => py_range(*start, *stop, *step, self.max_items()),
                    _ => None,
                }
                .map(|v| Val::Seq(v.into_iter().map(Val::Int).collect()))
                .unwrap_or(Val::Data)
            }
            ("map", Some(f)) => {
                let Some(seq) = call.args.get(1).and_then(|v| v.elements(self.max_items())) else {
                    self.escape_args(&Site::root(), call);
                    return Some(Val::Data);
                };
                let out: Option<Vec<Val>> = match f {
                    Val::Global(g) => seq
                        .iter()
                        .map(|x| {
                            let inner = CallArgs {
                                args: std::slice::from_ref(x),
                                kwargs: &[],
                                evidence: call.evidence,
                                line: call.line,
                            };
                            match g.strip_prefix("builtins.") {
                                Some(n @ ("chr" | "ord" | "str" | "int" | "hex")) => {
                                    self.fold_builtin(n, &inner)
                                }
                                _ => None,
                            }
                        })
                        .collect(),
                    _ => None,
                };
                match out {
                    Some(v) => Val::Seq(v.into()),
                    None => return None,
                }
            }
            ("bool", Some(v)) => v.truthy().map(Val::Bool).unwrap_or(Val::Data),
            ("abs", Some(Val::Int(i))) => i.checked_abs().map(Val::Int).unwrap_or(Val::Unknown),
            ("sum", Some(Val::Seq(items))) => {
                let ints: Option<Vec<i128>> = items.iter().map(Val::as_int).collect();
                ints.and_then(|v| v.into_iter().try_fold(0i128, |a, b| a.checked_add(b)))
                    .map(Val::Int)
                    .unwrap_or(Val::Data)
            }
            ("getattr" | "setattr" | "delattr" | "eval" | "exec" | "compile" | "open", _) => {
                return None;
            }
            _ => return None,
        };
        if SAFE_BUILTINS.contains(&name) {
            self.escape_args(&Site::root(), call);
        }
        Some(self.fold(v))
    }
}

impl<'l> Engine<'l> {
    /// `fold` for the oversize marker: record the limit and return Unknown.
    pub(super) fn fold_oversize(&mut self) -> Val {
        self.incomplete("limit max_fold_len reached: constant not folded");
        Val::Unknown
    }

    /// An oversize fold: text that cannot be folded makes the analysis incomplete; an oversize
    /// sequence only becomes unknown (unknown values reaching a sink are reported anyway).
    pub(super) fn fold_oversize_val(&mut self, v: &Val) -> Val {
        match v {
            Val::Seq(_) | Val::Dict(_) => {
                self.error("limit max_fold_len: sequence too long to fold, treated as unknown");
                Val::Unknown
            }
            _ => self.fold_oversize(),
        }
    }
}
