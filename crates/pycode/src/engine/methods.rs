//! Methods of constants (`str`, `bytes`, `list`, `dict`): folded where Python's result is
//! exactly reproduced, unknown otherwise.

use super::*;
impl<'l> Engine<'l> {
    pub(super) fn call_method(
        &mut self,
        site: &Site,
        recv: &Val,
        m: &str,
        call: &CallArgs<'_>,
    ) -> Val {
        let a0 = call.args.first();
        let v = match (recv, m) {
            (Val::Str(sep, p), "join") => match a0.and_then(|v| v.elements(self.max_items())) {
                Some(items) => {
                    let parts: Option<Vec<String>> = items
                        .iter()
                        .map(|x| x.as_str().map(str::to_string))
                        .collect();
                    let prov = a0.map(|v| v.prov().to_vec()).unwrap_or_default();
                    match parts {
                        Some(parts) => {
                            let total: usize = parts.iter().map(String::len).sum::<usize>()
                                + sep.len().saturating_mul(parts.len());
                            if total > self.limits.max_fold_len {
                                return self.fold_oversize();
                            }
                            let prov = if prov.len() >= p.len() {
                                prov
                            } else {
                                p.clone()
                            };
                            Val::Str(parts.join(sep).into(), prov)
                        }
                        None => Val::Unknown,
                    }
                }
                None => Val::Unknown,
            },
            (Val::Bytes(sep, p), "join") => match a0.and_then(|v| v.elements(self.max_items())) {
                Some(items) => {
                    let parts: Option<Vec<Vec<u8>>> = items
                        .iter()
                        .map(|x| match x {
                            Val::Bytes(b, _) => Some(b.to_vec()),
                            _ => None,
                        })
                        .collect();
                    match parts {
                        Some(parts) => {
                            let total: usize = parts.iter().map(Vec::len).sum::<usize>()
                                + sep.len().saturating_mul(parts.len());
                            if total > self.limits.max_fold_len {
                                return self.fold_oversize();
                            }
                            Val::Bytes(parts.join(&sep[..]).into(), p.clone())
                        }
                        None => Val::Unknown,
                    }
                }
                None => Val::Unknown,
            },
            (Val::Str(s, p), "replace") => match (
                a0.and_then(Val::as_str),
                call.args.get(1).and_then(Val::as_str),
            ) {
                (Some(from), Some(to)) => {
                    let count = call.args.get(2).and_then(Val::as_int);
                    let grows = to.len().saturating_sub(from.len());
                    if s.len().saturating_add(grows.saturating_mul(s.len() + 1))
                        > self.limits.max_fold_len
                        && grows > 0
                    {
                        return self.fold_oversize();
                    }
                    let out = match count {
                        Some(n) if n >= 0 => s.replacen(from, to, usize::try_from(n).unwrap_or(0)),
                        _ => s.replace(from, to),
                    };
                    Val::Str(out.into(), p.clone())
                }
                _ => Val::Unknown,
            },
            (Val::Bytes(s, p), "replace") => match (a0, call.args.get(1)) {
                (Some(Val::Bytes(from, _)), Some(Val::Bytes(to, _))) if !from.is_empty() => {
                    let mut out = Vec::with_capacity(s.len());
                    let mut i = 0;
                    while i < s.len() {
                        if s.get(i..).is_some_and(|rest| rest.starts_with(from)) {
                            out.extend_from_slice(to);
                            i += from.len();
                        } else {
                            out.extend(s.get(i).copied());
                            i += 1;
                        }
                        if out.len() > self.limits.max_fold_len {
                            return self.fold_oversize();
                        }
                    }
                    Val::Bytes(out.into(), p.clone())
                }
                _ => Val::Unknown,
            },
            (Val::Str(s, p), "lower" | "casefold") => Val::Str(s.to_lowercase().into(), p.clone()),
            (Val::Str(s, p), "upper") => Val::Str(s.to_uppercase().into(), p.clone()),
            (Val::Str(s, p), "swapcase") => Val::Str(
                s.chars()
                    .flat_map(|c| {
                        if c.is_uppercase() {
                            c.to_lowercase().collect::<Vec<_>>()
                        } else {
                            c.to_uppercase().collect::<Vec<_>>()
                        }
                    })
                    .collect::<String>()
                    .into(),
                p.clone(),
            ),
            (Val::Str(s, p), "capitalize") => {
                let mut it = s.chars();
                let out = match it.next() {
                    Some(c) => c
                        .to_uppercase()
                        .chain(it.flat_map(char::to_lowercase))
                        .collect(),
                    None => String::new(),
                };
                Val::Str(out.into(), p.clone())
            }
            (Val::Str(s, p), "strip" | "lstrip" | "rstrip") => {
                let chars: Option<Vec<char>> = match a0 {
                    None | Some(Val::NoneV) => None,
                    Some(Val::Str(c, _)) => Some(c.chars().collect()),
                    _ => return Val::Unknown,
                };
                let pred = |c: char| match &chars {
                    None => c.is_whitespace(),
                    Some(set) => set.contains(&c),
                };
                let out = match m {
                    "strip" => s.trim_matches(pred),
                    "lstrip" => s.trim_start_matches(pred),
                    _ => s.trim_end_matches(pred),
                };
                Val::Str(out.to_string().into(), p.clone())
            }
            (Val::Bytes(s, p), "strip") => {
                let start = s
                    .iter()
                    .position(|b| !b.is_ascii_whitespace())
                    .unwrap_or(s.len());
                let end = s
                    .iter()
                    .rposition(|b| !b.is_ascii_whitespace())
                    .map_or(start, |e| e + 1);
                Val::Bytes(
                    s.get(start..end).unwrap_or_default().to_vec().into(),
                    p.clone(),
                )
            }
            (Val::Bytes(s, p), "lower") => Val::Bytes(s.to_ascii_lowercase().into(), p.clone()),
            (Val::Bytes(s, p), "upper") => Val::Bytes(s.to_ascii_uppercase().into(), p.clone()),
            (Val::Str(s, p), "removeprefix") => match a0.and_then(Val::as_str) {
                Some(x) => Val::Str(s.strip_prefix(x).unwrap_or(s).to_string().into(), p.clone()),
                None => Val::Unknown,
            },
            (Val::Str(s, p), "removesuffix") => match a0.and_then(Val::as_str) {
                Some(x) => Val::Str(s.strip_suffix(x).unwrap_or(s).to_string().into(), p.clone()),
                None => Val::Unknown,
            },
            (Val::Str(s, p), "split") => {
                let parts: Vec<Val> = match a0.and_then(Val::as_str) {
                    Some(sep) if !sep.is_empty() => s
                        .split(sep)
                        .map(|x| Val::Str(x.to_string().into(), p.clone()))
                        .collect(),
                    _ => s
                        .split_whitespace()
                        .map(|x| Val::Str(x.to_string().into(), p.clone()))
                        .collect(),
                };
                Val::Seq(parts.into())
            }
            (v @ Val::Str(..), "encode") => self.codec_call(
                site,
                call.line,
                CodecOp::StrEncode,
                v,
                call.arg(0, "encoding"),
                call.arg(1, "errors"),
            ),
            (Val::Str(s, p), "decode") => {
                // Python 2 str.decode('base64'/'hex'/'zlib'/'rot13'…).
                let codec = call
                    .arg(0, "encoding")
                    .and_then(Val::as_str)
                    .unwrap_or("utf-8")
                    .to_string();
                // Python 3 has no str.decode (AttributeError): only the transforms are
                // followed, to see what such code meant; nothing is passed through.
                match decode::encoding_from_codec_name(&codec) {
                    Some(e) => self.decode_layer(site, call.line, e, s.as_bytes(), p),
                    None => Val::Unknown,
                }
            }
            (v @ Val::Bytes(..), "decode") => self.codec_call(
                site,
                call.line,
                CodecOp::BytesDecode,
                v,
                call.arg(0, "encoding"),
                call.arg(1, "errors"),
            ),
            (Val::Bytes(b, p), "hex") => {
                if b.len().saturating_mul(2) > self.limits.max_fold_len {
                    return self.fold_oversize();
                }
                Val::Str(
                    b.iter()
                        .map(|x| format!("{x:02x}"))
                        .collect::<String>()
                        .into(),
                    p.clone(),
                )
            }
            (Val::Str(s, p), "format") => {
                if s.contains('{') && s.contains("__") {
                    // Format fields can walk attributes: '{0.__globals__}'.format(f).
                    self.hit(
                        site,
                        Capability::Introspection,
                        "str.format",
                        call.evidence,
                        call.line,
                    );
                }
                match brace_format(s, call.args, call.kwargs) {
                    Some(out) if out.len() <= self.limits.max_fold_len => {
                        Val::Str(out.into(), p.clone())
                    }
                    Some(_) => return self.fold_oversize(),
                    None => Val::Unknown,
                }
            }
            (Val::Globals, "get") | (Val::AttrDict(_), "get") => {
                if let Some(Val::Str(k, _)) = a0 {
                    let k = k.clone();
                    return match recv {
                        Val::AttrDict(inner) => self.attr(site, inner, &k, call.line),
                        _ => self.unbound_name(site, &k, call.line),
                    };
                }
                Val::Unknown
            }
            (Val::Str(..) | Val::Bytes(..) | Val::Seq(_) | Val::Dict(_) | Val::Int(_), _) => {
                self.escape_args(site, call);
                Val::Data
            }
            _ => {
                self.escape_args(site, call);
                self.unknown_call(&format!("{}.{m}", recv.render()));
                Val::Unknown
            }
        };
        self.fold(v)
    }
}
