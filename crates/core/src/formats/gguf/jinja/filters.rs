//! Jinja filters in the abstract render: `attr` and the filters taking attribute names
//! (`map`, `selectattr`, `groupby`, …), and the text filters that build names (`join`,
//! `replace`, `reverse`, `format`, `lower`, `string`, `pprint`, `tojson`, `list`, `first`…).
//!
//! Must not: evaluate expressions other than through the interpreter (`An::expr`).

use minijinja::machinery::Span;

use super::catalogue::EscapeKind;
use super::catalogue::{ATTRIBUTE_FILTERS, NUM_FILTERS, TEXT_FILTERS};
use super::interp::An;
use super::strings::{html_escape, percent_format, py_capitalize, py_title};
use super::value::{Abs, K, State, cat, describe, norm_str, obj, py_repr, to_json};

impl<'a> An<'a> {
    #[allow(clippy::too_many_lines)]
    pub(super) fn apply_filter(
        &mut self,
        name: &str,
        base: Abs,
        pos: &[Abs],
        kw: &[(String, Abs)],
        span: Span,
        st: &mut State,
    ) -> Abs {
        let first = pos.first().cloned().unwrap_or_default();
        let kwarg = |n: &str| kw.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        // A text transformation of every known string; unknown strings stay unknown.
        let text_map = |g: &dyn Fn(&str) -> Option<String>,
                        pat_map: &dyn Fn(&str, &str) -> Option<K>|
         -> Abs {
            let mut out = Abs::bottom();
            for k in base.texts() {
                match k {
                    K::Str(s) => match g(&s) {
                        Some(r) => out.add(norm_str(r)),
                        None => out.add(K::Pat(String::new(), String::new())),
                    },
                    K::Pat(p, s) => {
                        out.add(pat_map(&p, &s).unwrap_or(K::Pat(String::new(), String::new())))
                    }
                    _ => false,
                };
            }
            if out.vals.is_empty() {
                out = Abs::text_top();
            }
            out
        };
        let no_pat = |_: &str, _: &str| None;
        match name {
            "attr" => self.subscript(&base, &first, span, true, st),
            n if ATTRIBUTE_FILTERS.contains(&n) => {
                if let Some(a) = kwarg("attribute") {
                    let r = self.attribute_path(&base, &a, span, st);
                    return if n == "map" || n == "groupby" {
                        Abs { any: true, ..r }
                    } else {
                        let mut b = base.clone();
                        b.join(&r);
                        b.vals.clear();
                        b.any = true;
                        b
                    };
                }
                match n {
                    "selectattr" | "rejectattr" | "groupby" => {
                        let r = self.attribute_path(&base, &first, span, st);
                        let mut b = base.keep_taint();
                        b.join(&r.keep_taint());
                        b
                    }
                    // `map('attr', name)` applies the attr filter to each item;
                    // `map('upper')` any other filter.
                    "map" => {
                        let fname: Vec<String> = first.strs().map(str::to_string).collect();
                        let rest: Vec<Abs> = pos.iter().skip(1).cloned().collect();
                        if first.name_unknown() && base.sensitive() {
                            let what = describe(&base);
                            self.hit(
                                EscapeKind::DynamicName,
                                format!("map with a filter computed at render time on {what}"),
                                span,
                            );
                        }
                        let mut out = Abs::bottom();
                        if first.name_unknown()
                            && let Some(second) = rest.first()
                        {
                            // The filter may be `attr`: the next argument a name.
                            let r = self.attribute_path(&base, second, span, st);
                            out.join(&r.keep_taint());
                        }
                        for f in fname {
                            if f == "attr" {
                                let second = rest.first().cloned().unwrap_or_default();
                                let r = self.attribute_path(&base, &second, span, st);
                                out.join(&r.keep_taint());
                                continue;
                            }
                            match base.single() {
                                Some(K::List(l)) => {
                                    let mapped: Option<Vec<K>> = l
                                        .clone()
                                        .into_iter()
                                        .map(|k| {
                                            self.apply_filter(
                                                &f,
                                                Abs::konst(k),
                                                &rest,
                                                &[],
                                                span,
                                                st,
                                            )
                                            .single()
                                            .cloned()
                                        })
                                        .collect();
                                    match mapped {
                                        Some(m) => out.add(K::List(m)),
                                        None => out.join(&Abs::default()),
                                    };
                                }
                                _ => {
                                    let r =
                                        self.apply_filter(&f, base.element(), &rest, &[], span, st);
                                    out.join(&r.keep_taint());
                                }
                            }
                        }
                        if out == Abs::bottom() {
                            out = base.keep_taint();
                        }
                        out
                    }
                    "sort" | "unique" | "min" | "max" => match base.single() {
                        Some(K::List(l)) if n == "sort" || n == "unique" => {
                            let mut l = l.clone();
                            if l.iter().all(|k| matches!(k, K::Str(_)))
                                || l.iter().all(|k| matches!(k, K::Int(_)))
                            {
                                l.sort_by(|a, b| match (a, b) {
                                    (K::Str(a), K::Str(b)) => a.cmp(b),
                                    (K::Int(a), K::Int(b)) => a.cmp(b),
                                    _ => std::cmp::Ordering::Equal,
                                });
                                if n == "unique" {
                                    l.dedup();
                                }
                                Abs::konst(K::List(l))
                            } else {
                                base.keep_taint()
                            }
                        }
                        _ if n == "min" || n == "max" => base.element(),
                        _ => {
                            let mut b = base.clone();
                            b.vals.clear();
                            b.any = true;
                            b
                        }
                    },
                    "sum" => Abs::num(),
                    _ => base.keep_taint(),
                }
            }
            "join" => {
                if let Some(a) = kwarg("attribute") {
                    self.attribute_path(&base, &a, span, st);
                }
                let seps: Vec<K> = if pos.is_empty() {
                    vec![K::Str(String::new())]
                } else {
                    first.texts()
                };
                let mut out = Abs::bottom();
                for v in &base.vals {
                    let parts: Vec<K> = match v {
                        K::List(l) => l.clone(),
                        K::Str(s) => s.chars().map(|c| K::Str(c.into())).collect(),
                        K::Map(m) => m.iter().map(|(k, _)| K::Str(k.clone())).collect(),
                        K::Pat(..) | K::Int(_) => {
                            out.add(K::Pat(String::new(), String::new()));
                            continue;
                        }
                    };
                    for sep in &seps {
                        let mut acc = K::Str(String::new());
                        for (i, p) in parts.iter().enumerate() {
                            let step = if i == 0 {
                                Some(acc.clone())
                            } else {
                                cat(&acc, sep)
                            };
                            acc = step
                                .and_then(|a| cat(&a, p))
                                .unwrap_or(K::Pat(String::new(), String::new()));
                        }
                        out.add(acc);
                    }
                }
                if base.any || base.objs != 0 || !base.ns.is_empty() {
                    out.add(K::Pat(String::new(), String::new()));
                }
                if out == Abs::bottom() {
                    out = Abs::text_top();
                }
                out
            }
            "replace" => {
                let (Some(old), Some(new)) = (pos.first(), pos.get(1)) else {
                    return Abs::text_top();
                };
                let mut out = Abs::bottom();
                for k in base.texts() {
                    match k {
                        K::Str(s) if !old.name_unknown() && !new.name_unknown() => {
                            for o in old.strs() {
                                for n in new.strs() {
                                    out.add(norm_str(s.replace(o, n)));
                                }
                            }
                        }
                        _ => {
                            out.add(K::Pat(String::new(), String::new()));
                        }
                    }
                }
                if out == Abs::bottom() {
                    out = Abs::text_top();
                }
                out
            }
            "reverse" => {
                let mut out = Abs::bottom();
                for k in &base.vals {
                    out.add(match k {
                        K::Str(s) => K::Str(s.chars().rev().collect()),
                        K::Pat(p, s) => {
                            K::Pat(s.chars().rev().collect(), p.chars().rev().collect())
                        }
                        K::List(l) => K::List(l.iter().rev().cloned().collect()),
                        K::Map(m) => {
                            K::List(m.iter().rev().map(|(k, _)| K::Str(k.clone())).collect())
                        }
                        K::Int(_) => continue,
                    });
                }
                if base.any || base.objs != 0 || !base.ns.is_empty() || !base.macros.is_empty() {
                    out.join(&base.keep_taint());
                    out.add(K::Pat(String::new(), String::new()));
                }
                out
            }
            "format" => {
                let args: Option<Vec<K>> = pos.iter().map(|a| a.single().cloned()).collect();
                match args {
                    Some(args) => text_map(&|s| percent_format(s, &args), &no_pat),
                    None => Abs::text_top(),
                }
            }
            "lower" => text_map(&|s| Some(s.to_lowercase()), &|p, s| {
                Some(K::Pat(p.to_lowercase(), s.to_lowercase()))
            }),
            "upper" => text_map(&|s| Some(s.to_uppercase()), &|p, s| {
                Some(K::Pat(p.to_uppercase(), s.to_uppercase()))
            }),
            "trim" => {
                if pos.is_empty() {
                    text_map(&|s| Some(s.trim().to_string()), &|p, s| {
                        Some(K::Pat(p.trim_start().to_string(), s.trim_end().to_string()))
                    })
                } else {
                    let chars: Vec<String> = first.strs().map(str::to_string).collect();
                    match chars.as_slice() {
                        [c] if !first.any => {
                            let c = c.clone();
                            text_map(
                                &|s| Some(s.trim_matches(|x| c.contains(x)).to_string()),
                                &no_pat,
                            )
                        }
                        _ => Abs::text_top(),
                    }
                }
            }
            "capitalize" => text_map(&|s| Some(py_capitalize(s)), &no_pat),
            "title" => text_map(&|s| Some(py_title(s)), &no_pat),
            "e" | "escape" | "forceescape" => text_map(&|s| Some(html_escape(s)), &no_pat),
            "string" | "safe" => base.as_text(),
            "pprint" => {
                let mut out = Abs::bottom();
                for k in &base.vals {
                    out.add(match py_repr(k) {
                        Some(s) if s.len() <= 80 => K::Str(s),
                        _ => K::Pat(String::new(), String::new()),
                    });
                }
                let rest = Abs {
                    vals: vec![],
                    ..base.clone()
                };
                out.join(&rest.as_text());
                out
            }
            "tojson" => {
                if !pos.is_empty() || !kw.is_empty() {
                    return Abs::text_top();
                }
                let mut out = Abs::bottom();
                for k in &base.vals {
                    out.add(match to_json(k) {
                        Some(s) => norm_str(s),
                        None => K::Pat(String::new(), String::new()),
                    });
                }
                if base.any || base.objs != 0 || !base.ns.is_empty() {
                    out.add(K::Pat(String::new(), String::new()));
                }
                out
            }
            "list" => {
                let mut out = Abs {
                    any: base.any,
                    ..base.keep_taint()
                };
                for k in &base.vals {
                    match k {
                        K::Str(s) => {
                            out.add(K::List(s.chars().map(|c| K::Str(c.into())).collect()));
                        }
                        K::List(l) => {
                            out.add(K::List(l.clone()));
                        }
                        K::Map(m) => {
                            out.add(K::List(m.iter().map(|(k, _)| K::Str(k.clone())).collect()));
                        }
                        K::Pat(..) | K::Int(_) => {
                            out.join(&Abs::object(obj::COMPUTED));
                            out.any = true;
                        }
                    }
                }
                if out.vals.is_empty() {
                    out.any = true;
                }
                out
            }
            "first" | "last" | "random" => {
                let mut out = base.element();
                out.vals.clear();
                for k in &base.vals {
                    let l: Vec<K> = match k {
                        K::Str(s) => s.chars().map(|c| K::Str(c.into())).collect(),
                        K::List(l) => l.clone(),
                        K::Map(m) => m.iter().map(|(k, _)| K::Str(k.clone())).collect(),
                        K::Pat(p, s) => {
                            let c = if name == "first" {
                                p.chars().next()
                            } else if name == "last" {
                                s.chars().last()
                            } else {
                                None
                            };
                            out.add(c.map_or(K::Pat(String::new(), String::new()), |c| {
                                K::Str(c.to_string())
                            }));
                            continue;
                        }
                        K::Int(_) => continue,
                    };
                    match name {
                        "first" => l.first().cloned().map(|k| out.add(k)),
                        "last" => l.last().cloned().map(|k| out.add(k)),
                        _ => Some(l.into_iter().fold(false, |_, k| out.add(k))),
                    };
                }
                out
            }
            "default" | "d" => {
                let mut out = base.clone();
                out.join(&first);
                out
            }
            "items" | "dictsort" => {
                let mut out = Abs {
                    any: base.any,
                    ..base.keep_taint()
                };
                for k in &base.vals {
                    match k {
                        K::Map(m) => {
                            let mut m = m.clone();
                            if name == "dictsort" {
                                m.sort_by_key(|a| a.0.to_lowercase());
                            }
                            out.add(K::List(
                                m.into_iter()
                                    .map(|(k, v)| K::List(vec![K::Str(k), v]))
                                    .collect(),
                            ));
                        }
                        _ => out.any = true,
                    }
                }
                out
            }
            n if NUM_FILTERS.contains(&n) => match (n, base.single()) {
                ("length" | "count", Some(K::Str(s))) => {
                    Abs::konst(K::Int(s.chars().count() as i64))
                }
                ("length" | "count", Some(K::List(l))) => Abs::konst(K::Int(l.len() as i64)),
                ("int", Some(K::Str(s))) => s
                    .trim()
                    .parse::<i64>()
                    .map_or_else(|_| Abs::num(), |i| Abs::konst(K::Int(i))),
                ("int" | "abs", Some(K::Int(i))) => {
                    Abs::konst(K::Int(if n == "abs" { i.saturating_abs() } else { *i }))
                }
                _ => Abs::num(),
            },
            n if TEXT_FILTERS.contains(&n) => Abs::text_top(),
            // `select`, `reject`, `batch`, `slice` and unknown filters: the same objects
            // may come out.
            _ => {
                let mut b = base.keep_taint();
                for v in &base.vals {
                    b.join(&Abs::konst(v.clone()).element());
                }
                b
            }
        }
    }
}
