//! Scopes as the walker sees them: frames of bound names, how a name is looked up through
//! them (class frames, star imports, builtins), and how the bindings of alternative paths
//! merge. Plain data: no walking.

use std::collections::{HashMap, HashSet};

use crate::engine::{Engine, Site, Val};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FrameKind {
    Module,
    Function,
    Class,
}

pub(super) struct Frame {
    pub(super) kind: FrameKind,
    pub(super) vars: HashMap<String, Val>,
    /// Modules imported with `from m import *`, in order.
    pub(super) star: Vec<String>,
    /// Names declared `global` in this frame.
    pub(super) globals: HashSet<String>,
    /// Values returned by this function.
    pub(super) returns: Vec<Val>,
}

impl Frame {
    pub(super) fn new(kind: FrameKind) -> Self {
        Frame {
            kind,
            vars: HashMap::new(),
            star: Vec::new(),
            globals: HashSet::new(),
            returns: Vec::new(),
        }
    }
}

/// Resolve a name through the frames (class frames only when innermost), star imports and
/// builtins.
pub(super) fn lookup_in(
    outer: &[Frame],
    cur: &Frame,
    eng: &mut Engine<'_>,
    site: &Site,
    name: &str,
    line: Option<u32>,
) -> Val {
    if let Some(v) = cur.vars.get(name) {
        return v.clone();
    }
    for f in outer.iter().rev() {
        if f.kind == FrameKind::Class {
            continue;
        }
        if let Some(v) = f.vars.get(name) {
            return v.clone();
        }
    }
    for f in std::iter::once(cur).chain(outer.iter().rev()) {
        if let Some(module) = f.star.last() {
            let candidate = format!("{module}.{name}");
            let builtin = eng.unbound_name(site, name, line);
            // A star import shadows a builtin only when the module has that name; we know it
            // does when the catalog lists it.
            return match builtin {
                Val::Global(ref p) if p.starts_with("builtins.") => {
                    if crate::engine::classify_path(&candidate).is_some() {
                        Val::Global(candidate)
                    } else {
                        builtin
                    }
                }
                _ => Val::Global(candidate),
            };
        }
    }
    eng.unbound_name(site, name, line)
}

pub(super) fn merge_vals(a: &Val, b: &Val) -> Val {
    if a == b {
        a.clone()
    } else if matches!(a, Val::Data | Val::Param(_)) && matches!(b, Val::Data | Val::Param(_)) {
        Val::Data
    } else {
        Val::Unknown
    }
}

/// Merge the variable maps of alternative paths: names bound identically keep their value,
/// names bound on some paths only keep the bound value, conflicting names become unknown.
pub(super) fn merge_maps(maps: Vec<HashMap<String, Val>>) -> HashMap<String, Val> {
    let mut it = maps.into_iter();
    let Some(mut acc) = it.next() else {
        return HashMap::new();
    };
    for m in it {
        for (k, v) in m {
            match acc.get_mut(&k) {
                Some(cur) => {
                    if *cur != v {
                        *cur = merge_vals(cur, &v);
                    }
                }
                None => {
                    acc.insert(k, v);
                }
            }
        }
    }
    acc
}

pub(super) fn join_returns(rets: Vec<Val>) -> Val {
    let mut it = rets.into_iter();
    let Some(first) = it.next() else {
        return Val::NoneV;
    };
    it.fold(first, |a, b| merge_vals(&a, &b))
}
