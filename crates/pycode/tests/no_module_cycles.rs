//! Architecture test: no import cycle between the modules of any workspace crate.
//!
//! It reads the sources of every crate under `crates/*/src` (a token scan, nothing compiled),
//! follows the `mod` declarations from each crate root to map every file and inline `mod` to
//! its module path, and collects every reference one module makes to another module of the
//! same crate: `use crate::…`, `use super::…`, `self::…`, such paths in expressions and types,
//! bare paths through a child module, and, in a child that globs its parent (`use super::*`),
//! bare names of a sibling's items that the parent imports (`use value::{Val, Site}`).
//! The graph is built where two modules diverge: between two top-level modules of a crate, and
//! between two sibling submodules of one module. A child using its parent (`super::`) or a
//! parent using its child (`mod x;`, `x::f()`) is not an edge.
//!
//! Any cycle fails the test (printed as `a → b → a`, with the line behind each edge) unless it
//! is listed in [`KNOWN_CYCLES`]; a listed cycle that no longer exists fails it too, so the list
//! only shrinks.
//!
//! Test code (`#[cfg(test)]` items and the files of `#[cfg(test)] mod x;`) is not part of the
//! graph: a reader's unit test may judge its output with the rules above it.
//!
//! What a token scan cannot see (and this test therefore does not check): method calls
//! (`self.expr(…)` on a type whose `impl` blocks are spread over sibling modules: keep the
//! shared methods in the parent, which each child may call), names a glob brings in from
//! anywhere but the parent's imports, and what a macro's expansion refers to (`$crate::…`
//! paths are skipped, as they belong to the call site).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Cycles that exist today in crates being reworked elsewhere, each the sorted member list of
/// one strongly connected component (`crate::module` names). Remove an entry when its cycle is
/// broken (the test says when); never add one to get a new cycle through.
const KNOWN_CYCLES: &[&[&str]] = &[];

/// A module path inside one crate (`["engine", "calls"]`); the root is empty.
type ModPath = Vec<String>;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// A string literal's text (escapes kept as written; only `#[path]` reads it).
    Str(String),
    /// `::`
    Sep,
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: u32,
}

/// Splits Rust source into identifiers, string literals, `::` and punctuation; comments,
/// numbers, char literals and lifetimes are dropped.
fn tokenize(src: &str) -> Vec<Token> {
    let c: Vec<char> = src.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1u32;
    // Reads a "…" string whose opening quote is at `i - 1`; returns its text.
    let quoted = |i: &mut usize, line: &mut u32| {
        let mut s = String::new();
        while *i < c.len() && c[*i] != '"' {
            if c[*i] == '\\' {
                s.push(c[*i]);
                *i += 1;
            }
            if at(*i) == '\n' {
                *line += 1;
            }
            if *i < c.len() {
                s.push(c[*i]);
            }
            *i += 1;
        }
        *i += 1;
        s
    };
    // Reads r#"…"# from its first `#` or `"` at `i`.
    let raw = |i: &mut usize, line: &mut u32| {
        let mut hashes = 0;
        while at(*i) == '#' {
            hashes += 1;
            *i += 1;
        }
        *i += 1; // the opening quote
        let mut s = String::new();
        while *i < c.len() {
            if c[*i] == '"' && (1..=hashes).all(|k| at(*i + k) == '#') {
                *i += 1 + hashes;
                break;
            }
            if c[*i] == '\n' {
                *line += 1;
            }
            s.push(c[*i]);
            *i += 1;
        }
        s
    };
    while i < c.len() {
        let ch = c[i];
        let start_line = line;
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if ch == '"' {
            i += 1;
            let s = quoted(&mut i, &mut line);
            out.push(Token {
                tok: Tok::Str(s),
                line: start_line,
            });
        } else if ch == '\'' {
            if at(i + 1) == '\\' {
                // '\n', '\'', '\u{…}'
                i += 3;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                // a lifetime or label
                i += 1;
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let begin = i;
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
            let word: String = c[begin..i].iter().collect();
            let raw_prefix = matches!(word.as_str(), "r" | "br" | "cr");
            if raw_prefix && (at(i) == '"' || (at(i) == '#' && matches!(at(i + 1), '"' | '#'))) {
                let s = raw(&mut i, &mut line);
                out.push(Token {
                    tok: Tok::Str(s),
                    line: start_line,
                });
            } else if word == "r" && at(i) == '#' {
                // a raw identifier, r#type
                i += 1;
                let begin = i;
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Ident(c[begin..i].iter().collect()),
                    line: start_line,
                });
            } else if matches!(word.as_str(), "b" | "c") && at(i) == '"' {
                i += 1;
                let s = quoted(&mut i, &mut line);
                out.push(Token {
                    tok: Tok::Str(s),
                    line: start_line,
                });
            } else if word == "b" && at(i) == '\'' {
                // b'x', b'\n': the char-literal branch reads it on the next turn
            } else {
                out.push(Token {
                    tok: Tok::Ident(word),
                    line: start_line,
                });
            }
        } else if ch.is_ascii_digit() {
            while at(i).is_alphanumeric()
                || at(i) == '_'
                || (at(i) == '.' && at(i + 1).is_ascii_digit())
            {
                i += 1;
            }
        } else if ch == ':' && at(i + 1) == ':' {
            out.push(Token {
                tok: Tok::Sep,
                line,
            });
            i += 2;
        } else {
            out.push(Token {
                tok: Tok::Punct(ch),
                line,
            });
            i += 1;
        }
    }
    out
}

/// A `mod name;` declaration, inside the inline modules `within` of its file.
#[derive(Debug)]
struct ModDecl {
    within: ModPath,
    name: String,
    path_attr: Option<String>,
    /// Declared under `#[cfg(test)]`: its file is test code (reached, not scanned).
    test: bool,
}

/// A path written in a file, inside the inline modules `within` of its file.
#[derive(Debug)]
struct RawRef {
    within: ModPath,
    path: Vec<String>,
    line: u32,
}

#[derive(Debug, Default)]
struct FileScan {
    decls: Vec<ModDecl>,
    inline: Vec<ModPath>,
    refs: Vec<RawRef>,
    /// Inline module paths (relative to the file) that `use super::*`.
    glob_super: BTreeSet<ModPath>,
    /// Items defined at module level (`fn`, `struct`, `const`…), by inline module path.
    items: Vec<(ModPath, String)>,
    /// Identifiers used bare (not after `.` or `::`), which a glob import may bring in.
    bare: Vec<RawRef>,
}

/// Keywords that introduce a named item.
const ITEM_KEYWORDS: &[&str] = &[
    "fn", "struct", "enum", "union", "trait", "type", "const", "static",
];

fn ident(toks: &[Token], j: usize) -> Option<&str> {
    match toks.get(j).map(|t| &t.tok) {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

fn is(toks: &[Token], j: usize, want: &Tok) -> bool {
    toks.get(j).is_some_and(|t| &t.tok == want)
}

/// Reads one use tree at `*j` below `prefix`, pushing every leaf path (`*` and `self` kept).
fn use_tree(toks: &[Token], j: &mut usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    loop {
        match toks.get(*j).map(|t| &t.tok) {
            Some(Tok::Sep) => {
                // a leading `::` names an extern crate
                prefix.push("::".into());
                *j += 1;
            }
            Some(Tok::Ident(s)) => {
                prefix.push(s.clone());
                *j += 1;
                if is(toks, *j, &Tok::Sep) {
                    *j += 1;
                    continue;
                }
                if ident(toks, *j) == Some("as") {
                    *j += 2;
                }
                out.push(prefix);
                return;
            }
            Some(Tok::Punct('*')) => {
                prefix.push("*".into());
                out.push(prefix);
                *j += 1;
                return;
            }
            Some(Tok::Punct('{')) => {
                *j += 1;
                while *j < toks.len() {
                    if is(toks, *j, &Tok::Punct('}')) {
                        *j += 1;
                        break;
                    }
                    let before = *j;
                    use_tree(toks, j, prefix.clone(), out);
                    if is(toks, *j, &Tok::Punct(',')) {
                        *j += 1;
                    } else if *j == before {
                        *j += 1; // not a use tree: never loop on it
                    }
                }
                return;
            }
            _ => return,
        }
    }
}

/// The index after the bracketed group opening at `j` (`[…]`, `(…)` or `{…}`, nested).
fn skip_group(toks: &[Token], j: usize) -> usize {
    let mut level = 0usize;
    let mut k = j;
    while k < toks.len() {
        match toks[k].tok {
            Tok::Punct('[' | '(' | '{') => level += 1,
            Tok::Punct(']' | ')' | '}') => {
                level = level.saturating_sub(1);
                if level == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
        k += 1;
    }
    k
}

/// The index after the item starting at `j`: through its `;`, or its first top-level `{…}`.
fn skip_item(toks: &[Token], j: usize) -> usize {
    let mut k = j;
    while k < toks.len() {
        match toks[k].tok {
            Tok::Punct(';') => return k + 1,
            Tok::Punct('{') => return skip_group(toks, k),
            Tok::Punct('[' | '(') => k = skip_group(toks, k),
            _ => k += 1,
        }
    }
    k
}

/// Finds the module declarations, inline modules and paths of one file.
fn scan_file(src: &str) -> FileScan {
    let toks = tokenize(src);
    let mut scan = FileScan::default();
    // open inline modules: (name, brace depth inside them)
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut path_attr: Option<String> = None;
    let within = |open: &[(String, usize)]| open.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    // `#[cfg(test)]` seen: the next item is test code, skipped (tests may reach up to judge
    // what a module produces; they are not part of the module graph).
    let mut test_item = false;
    let mut j = 0;
    while j < toks.len() {
        match &toks[j].tok {
            Tok::Punct('#')
                if is(&toks, j + 1, &Tok::Punct('['))
                    && ident(&toks, j + 2) == Some("cfg")
                    && is(&toks, j + 3, &Tok::Punct('('))
                    && ident(&toks, j + 4) == Some("test")
                    && is(&toks, j + 5, &Tok::Punct(')'))
                    && is(&toks, j + 6, &Tok::Punct(']')) =>
            {
                test_item = true;
                j += 7;
                continue;
            }
            Tok::Punct('#') if test_item && is(&toks, j + 1, &Tok::Punct('[')) => {
                j = skip_group(&toks, j + 1);
                continue;
            }
            Tok::Ident(kw) if test_item => {
                test_item = false;
                if kw == "mod"
                    && let Some(name) = ident(&toks, j + 1)
                    && is(&toks, j + 2, &Tok::Punct(';'))
                {
                    scan.decls.push(ModDecl {
                        within: within(&open),
                        name: name.to_string(),
                        path_attr: path_attr.take(),
                        test: true,
                    });
                    j += 3;
                    continue;
                }
                j = skip_item(&toks, j);
                continue;
            }
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if open.last().is_some_and(|(_, d)| *d == depth) {
                    open.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Punct('#')
                if is(&toks, j + 1, &Tok::Punct('['))
                    && ident(&toks, j + 2) == Some("path")
                    && is(&toks, j + 3, &Tok::Punct('=')) =>
            {
                if let Some(Tok::Str(s)) = toks.get(j + 4).map(|t| &t.tok) {
                    path_attr = Some(s.clone());
                }
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let Some(name) = ident(&toks, j + 1) {
                    if is(&toks, j + 2, &Tok::Punct(';')) {
                        scan.decls.push(ModDecl {
                            within: within(&open),
                            name: name.to_string(),
                            path_attr: path_attr.take(),
                            test: false,
                        });
                        j += 3;
                        continue;
                    }
                    if is(&toks, j + 2, &Tok::Punct('{')) {
                        depth += 1;
                        open.push((name.to_string(), depth));
                        scan.inline.push(within(&open));
                        path_attr = None;
                        j += 3;
                        continue;
                    }
                }
            }
            Tok::Ident(kw)
                if kw == "use"
                    && matches!(
                        toks.get(j + 1).map(|t| &t.tok),
                        Some(Tok::Ident(_) | Tok::Sep | Tok::Punct('{'))
                    ) =>
            {
                let line = toks[j].line;
                let mut k = j + 1;
                let mut leaves = Vec::new();
                use_tree(&toks, &mut k, Vec::new(), &mut leaves);
                let here = within(&open);
                for path in leaves {
                    if path == ["super", "*"] {
                        scan.glob_super.insert(here.clone());
                    }
                    scan.refs.push(RawRef {
                        within: here.clone(),
                        path,
                        line,
                    });
                }
                j = k;
                continue;
            }
            Tok::Ident(kw)
                if ITEM_KEYWORDS.contains(&kw.as_str())
                    && depth == open.last().map_or(0, |(_, d)| *d) =>
            {
                if let Some(name) = ident(&toks, j + 1)
                    && !matches!(name, "fn" | "unsafe" | "async" | "extern")
                {
                    scan.items.push((within(&open), name.to_string()));
                    j += 2;
                    continue;
                }
            }
            Tok::Ident(name) if !is(&toks, j + 1, &Tok::Sep) => {
                let prev = j.checked_sub(1).map(|p| &toks[p].tok);
                if !matches!(prev, Some(Tok::Sep | Tok::Punct('.' | '$'))) {
                    scan.bare.push(RawRef {
                        within: within(&open),
                        path: vec![name.clone()],
                        line: toks[j].line,
                    });
                }
            }
            Tok::Ident(first) if is(&toks, j + 1, &Tok::Sep) => {
                let prev = j.checked_sub(1).map(|p| &toks[p].tok);
                let continues = matches!(prev, Some(Tok::Sep | Tok::Punct('$')));
                // `pub(in crate::x)` is a visibility, not a use
                let visibility = j >= 3
                    && ident(&toks, j - 1) == Some("in")
                    && is(&toks, j - 2, &Tok::Punct('('))
                    && ident(&toks, j - 3) == Some("pub");
                let line = toks[j].line;
                let mut path = vec![first.clone()];
                let mut k = j + 1;
                while is(&toks, k, &Tok::Sep) {
                    match ident(&toks, k + 1) {
                        Some(s) => {
                            path.push(s.to_string());
                            k += 2;
                        }
                        None => break,
                    }
                }
                if !continues && !visibility {
                    scan.bare.push(RawRef {
                        within: within(&open),
                        path: vec![first.clone()],
                        line,
                    });
                    scan.refs.push(RawRef {
                        within: within(&open),
                        path,
                        line,
                    });
                }
                j = k;
                continue;
            }
            _ => {}
        }
        j += 1;
    }
    scan
}

/// One compilation unit (a library or a binary) as found on disk.
#[derive(Debug)]
struct Unit {
    /// `pycode`, `cli/main`, `server/bin/modelguard-server`.
    name: String,
    /// The crate's directory under `crates/`.
    krate: String,
    modules: BTreeSet<ModPath>,
    /// Each file reached: its path under `src/`, its module path and what it contains.
    files: Vec<(String, ModPath, FileScan)>,
}

/// Builds one unit's module tree from its root file, following `mod` declarations through
/// `files` (path relative to the crate's `src/` → text). Panics when a declared module has
/// no file: the test would otherwise check less than it claims.
fn load_unit(krate: &str, name: &str, root: &str, files: &BTreeMap<String, String>) -> Unit {
    let mut unit = Unit {
        name: name.to_string(),
        krate: krate.to_string(),
        modules: BTreeSet::new(),
        files: Vec::new(),
    };
    // (file, module path, directory its `mod x;` children live in)
    let root_dir = parent_dir(root);
    let mut todo = vec![(root.to_string(), ModPath::new(), root_dir)];
    while let Some((file, modpath, child_dir)) = todo.pop() {
        let src = files
            .get(&file)
            .unwrap_or_else(|| panic!("{name}: module {modpath:?} has no file {file}"));
        let scan = scan_file(src);
        unit.modules.insert(modpath.clone());
        for inline in &scan.inline {
            unit.modules
                .insert([modpath.clone(), inline.clone()].concat());
        }
        for d in &scan.decls {
            let child: ModPath = [modpath.clone(), d.within.clone(), vec![d.name.clone()]].concat();
            let base = join(&child_dir, &d.within.join("/"));
            let (file, dir) = if let Some(p) = &d.path_attr {
                let f = join(&parent_dir(&file), p);
                let dir = f.trim_end_matches(".rs").to_string();
                (f, dir)
            } else {
                let flat = join(&base, &format!("{}.rs", d.name));
                let nested = join(&base, &format!("{}/mod.rs", d.name));
                let f = if files.contains_key(&flat) {
                    flat
                } else {
                    nested
                };
                (f, join(&base, &d.name))
            };
            if d.test {
                // Test code: the file is accounted for, its references are not edges.
                unit.files.push((file, child, FileScan::default()));
            } else {
                todo.push((file, child, dir));
            }
        }
        unit.files.push((file, modpath, scan));
    }
    unit
}

fn parent_dir(file: &str) -> String {
    file.rsplit_once('/')
        .map_or(String::new(), |(d, _)| d.to_string())
}

fn join(dir: &str, rest: &str) -> String {
    match (dir.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (_, true) => dir.to_string(),
        _ => format!("{dir}/{rest}"),
    }
}

/// Where a reference made in `from` leads, as a module of the unit, or `None` when it leaves
/// the unit (std, another crate, a local type or variable).
fn resolve(unit: &Unit, from: &ModPath, glob_super: bool, path: &[String]) -> Option<ModPath> {
    let first = path.first()?;
    let (mut base, mut rest): (ModPath, &[String]) = match first.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" | "super" => (from.clone(), path),
        _ => {
            let child: ModPath = [from.clone(), vec![first.clone()]].concat();
            let parent = &from[..from.len().saturating_sub(1)];
            let sibling: ModPath = [parent.to_vec(), vec![first.clone()]].concat();
            if unit.modules.contains(&child) {
                (from.clone(), path)
            } else if glob_super && !from.is_empty() && unit.modules.contains(&sibling) {
                (parent.to_vec(), path)
            } else {
                return None;
            }
        }
    };
    while let Some(seg) = rest.first() {
        match seg.as_str() {
            "self" => {}
            "super" => {
                base.pop()?;
            }
            _ => break,
        }
        rest = &rest[1..];
    }
    // the longest prefix that is a module: the rest names items
    for seg in rest {
        let mut next = base.clone();
        next.push(seg.clone());
        if !unit.modules.contains(&next) {
            break;
        }
        base = next;
    }
    Some(base)
}

/// An edge of the module graph and the first line that makes it.
type Edges = BTreeMap<(String, String), String>;

/// The edge a reference from module `a` to module `b` makes: between the children of their
/// longest common prefix where they diverge; none when one contains the other.
fn divergence(a: &ModPath, b: &ModPath) -> Option<(ModPath, ModPath)> {
    let k = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if k < a.len() && k < b.len() {
        Some((a[..=k].to_vec(), b[..=k].to_vec()))
    } else {
        None
    }
}

fn node(unit: &str, m: &ModPath) -> String {
    std::iter::once(unit.to_string())
        .chain(m.iter().cloned())
        .collect::<Vec<_>>()
        .join("::")
}

fn unit_edges(unit: &Unit, edges: &mut Edges) {
    let mut add = |from: &ModPath, to: &ModPath, file: &str, line: u32, what: String| {
        if let Some((a, b)) = divergence(from, to) {
            edges
                .entry((node(&unit.name, &a), node(&unit.name, &b)))
                .or_insert_with(|| format!("crates/{}/src/{file}:{line} {what}", unit.krate));
        }
    };
    // module → the items it defines
    let mut items: BTreeMap<ModPath, BTreeSet<&str>> = BTreeMap::new();
    for (_, filemod, scan) in &unit.files {
        for (within, name) in &scan.items {
            let m = [filemod.clone(), within.clone()].concat();
            items.entry(m).or_default().insert(name);
        }
    }
    // module → names it imports from its own descendants (what `use super::*` hands on)
    let mut handed: BTreeMap<ModPath, BTreeMap<String, ModPath>> = BTreeMap::new();
    for (file, filemod, scan) in &unit.files {
        for r in &scan.refs {
            let from: ModPath = [filemod.clone(), r.within.clone()].concat();
            let glob = scan.glob_super.contains(&r.within);
            let Some(to) = resolve(unit, &from, glob, &r.path) else {
                continue;
            };
            add(&from, &to, file, r.line, format!("`{}`", r.path.join("::")));
            if to.len() > from.len() && to.starts_with(&from) {
                let names = handed.entry(from).or_default();
                match r.path.last().map(String::as_str) {
                    Some("*") => {
                        for n in items.get(&to).into_iter().flatten() {
                            names.insert(n.to_string(), to.clone());
                        }
                    }
                    Some("self") | None => {}
                    Some(n) => {
                        names.insert(n.to_string(), to.clone());
                    }
                }
            }
        }
    }
    // a child that globs its parent's names uses a sibling's item through them
    for (file, filemod, scan) in &unit.files {
        for r in &scan.bare {
            if !scan.glob_super.contains(&r.within) {
                continue;
            }
            let from: ModPath = [filemod.clone(), r.within.clone()].concat();
            let (Some(parent), Some(name)) = (from.split_last().map(|(_, p)| p), r.path.first())
            else {
                continue;
            };
            let own = items.get(&from).is_some_and(|i| i.contains(name.as_str()));
            if let Some(to) = handed.get(parent).and_then(|h| h.get(name))
                && !own
            {
                add(
                    &from,
                    to,
                    file,
                    r.line,
                    format!("`{name}` through `use super::*`"),
                );
            }
        }
    }
}

/// Strongly connected components with more than one node (Tarjan), each sorted, in order.
fn cycles(edges: &Edges) -> Vec<Vec<String>> {
    let mut adj: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        adj.entry(a).or_default().push(b);
        adj.entry(b).or_default();
    }
    struct State<'a> {
        adj: &'a BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on.insert(v);
        for &w in &s.adj[v] {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        adj: &adj,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for &v in adj.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out.sort();
    s.out
}

/// A shortest cycle through the first node of `comp`, as `a → b → a`, with each edge's line.
fn describe(comp: &[String], edges: &Edges) -> String {
    let inside: BTreeSet<&str> = comp.iter().map(String::as_str).collect();
    let start = comp[0].as_str();
    // breadth-first from start back to start, inside the component
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut last = None;
    'bfs: while let Some(v) = queue.pop_front() {
        for (a, b) in edges.keys() {
            if a != v || !inside.contains(b.as_str()) {
                continue;
            }
            if b == start {
                last = Some(v);
                break 'bfs;
            }
            if !prev.contains_key(b.as_str()) {
                prev.insert(b, v);
                queue.push_back(b);
            }
        }
    }
    let mut path = vec![start];
    let mut v = last.expect("a component has a cycle through each node");
    while v != start {
        path.push(v);
        v = prev[v];
    }
    path.push(start);
    let n = path.len();
    path[1..n - 1].reverse();
    let mut text = path.join(" → ");
    for w in path.windows(2) {
        let why = &edges[&(w[0].to_string(), w[1].to_string())];
        let _ = write!(text, "\n    {} → {}: {why}", w[0], w[1]);
    }
    if comp.len() > 2 {
        // a larger component has many cycles: show every edge that keeps it together
        let _ = write!(text, "\n  every edge inside {{{}}}:", comp.join(", "));
        for ((a, b), why) in edges {
            if inside.contains(a.as_str()) && inside.contains(b.as_str()) {
                let _ = write!(text, "\n    {a} → {b}: {why}");
            }
        }
    }
    text
}

/// Every `.rs` file under `dir`, keyed by its path relative to `dir`.
fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        for entry in std::fs::read_dir(dir.join(&rel)).unwrap() {
            let entry = entry.unwrap();
            let rel = rel.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                todo.push(rel);
            } else if rel.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(entry.path()).unwrap();
                out.insert(rel.to_string_lossy().replace('\\', "/"), text);
            }
        }
    }
    out
}

/// The units of one crate: its library, `main.rs` and `bin/*.rs`.
fn crate_units(name: &str, files: &BTreeMap<String, String>) -> Vec<Unit> {
    let mut units = Vec::new();
    if files.contains_key("lib.rs") {
        units.push(load_unit(name, name, "lib.rs", files));
    }
    if files.contains_key("main.rs") {
        units.push(load_unit(name, &format!("{name}/main"), "main.rs", files));
    }
    for f in files.keys() {
        if let Some(bin) = f.strip_prefix("bin/").and_then(|b| b.strip_suffix(".rs"))
            && !bin.contains('/')
        {
            units.push(load_unit(name, &format!("{name}/bin/{bin}"), f, files));
        }
    }
    units
}

#[test]
fn no_module_cycles() {
    let crates_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut names: Vec<String> = std::fs::read_dir(&crates_dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("src").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.len() >= 8,
        "expected every workspace crate, found {names:?}"
    );

    let mut edges = Edges::new();
    let mut unreached = Vec::new();
    for name in &names {
        let files = read_tree(&crates_dir.join(name).join("src"));
        let units = crate_units(name, &files);
        let seen: BTreeSet<&str> = units
            .iter()
            .flat_map(|u| u.files.iter().map(|(f, _, _)| f.as_str()))
            .collect();
        unreached.extend(
            files
                .keys()
                .filter(|f| !seen.contains(f.as_str()))
                .map(|f| format!("{name}/src/{f}")),
        );
        for unit in &units {
            unit_edges(unit, &mut edges);
        }
    }
    assert!(
        unreached.is_empty(),
        "files no `mod` declaration reaches (the scan would miss them): {unreached:?}"
    );

    let found = cycles(&edges);
    let known: BTreeSet<Vec<String>> = KNOWN_CYCLES
        .iter()
        .map(|c| {
            let mut c: Vec<String> = c.iter().map(|s| s.to_string()).collect();
            c.sort();
            c
        })
        .collect();
    let mut report = String::new();
    for comp in &found {
        if !known.contains(comp) {
            let _ = writeln!(report, "import cycle: {}", describe(comp, &edges));
        }
    }
    for gone in known.iter().filter(|k| !found.contains(k)) {
        // What is left of it (a broken cycle may leave smaller ones): the entries to write.
        let left: Vec<&Vec<String>> = found
            .iter()
            .filter(|c| c.iter().any(|n| gone.contains(n)))
            .collect();
        let _ = writeln!(
            report,
            "KNOWN_CYCLES lists {gone:?}, which is no longer a cycle as listed; \
             what is left of it: {left:?} (update the entry, or remove it if nothing is left)"
        );
    }
    assert!(report.is_empty(), "\n{report}");
}

fn graph(list: &[(&str, &str)]) -> Edges {
    list.iter()
        .map(|(a, b)| ((a.to_string(), b.to_string()), format!("{a}.rs:1")))
        .collect()
}

#[test]
fn cycle_finder_finds_cycles_and_only_cycles() {
    let dag = graph(&[("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")]);
    assert!(cycles(&dag).is_empty());

    let g = graph(&[
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
        ("c", "d"),
        ("d", "e"),
        ("e", "d"),
        ("e", "f"),
    ]);
    let found = cycles(&g);
    assert_eq!(found, vec![vec!["a", "b", "c"], vec!["d", "e"]]);
    let text = describe(&found[0], &g);
    assert!(text.starts_with("a → b → c → a"), "{text}");
    assert!(text.contains("c → a: c.rs:1"), "{text}");
    assert_eq!(describe(&found[1], &g).lines().next(), Some("d → e → d"));
}

fn synthetic(files: &[(&str, &str)]) -> Edges {
    let files: BTreeMap<String, String> = files
        .iter()
        .map(|(p, s)| (p.to_string(), s.to_string()))
        .collect();
    let mut edges = Edges::new();
    for unit in crate_units("x", &files) {
        unit_edges(&unit, &mut edges);
    }
    edges
}

#[test]
fn scanner_sees_each_kind_of_reference() {
    let edges = synthetic(&[
        ("lib.rs", "mod a; mod b; pub mod d; fn f() { a::g(); }"),
        // a use tree with groups, aliases and `self`
        ("a.rs", "use crate::{b::{self, X as Y}, d};"),
        // a path in an expression through `super`, inside an inline module; test code
        // (`#[cfg(test)]` items) is not part of the graph
        (
            "b.rs",
            "/* crate::d::nope */ fn f() { let s = \"crate::d\"; }\n\
             mod inner { fn t() { super::super::a::g(); } }\n\
             #[cfg(test)] #[allow(x)] mod tests { fn t() { crate::d::g(); } }\n\
             #[cfg(test)] use crate::d::g;",
        ),
        // siblings inside a directory module, one seen through a glob import
        (
            "d/mod.rs",
            "mod e; mod f; mod w; use self::e::Z; pub fn g() {}",
        ),
        (
            "d/e.rs",
            "use super::*; pub struct Z; fn h() { f::k(); crate::d::g(); }",
        ),
        // an item of a sibling handed on by the parent's import, used bare
        (
            "d/w.rs",
            "use super::*; struct W; impl W { fn z(&self) -> Z { Z } fn f(&self) {} }",
        ),
        (
            "d/f.rs",
            "pub(in crate::d) fn k() { let x = 'a'; let y: &'static str = r#\"e::\"#; }",
        ),
    ]);
    let got: Vec<(&str, &str)> = edges
        .keys()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("x::a", "x::b"),
            ("x::a", "x::d"),
            ("x::b", "x::a"),
            ("x::d::e", "x::d::f"),
            ("x::d::w", "x::d::e"),
        ]
    );
    assert_eq!(
        cycles(&edges),
        vec![vec!["x::a".to_string(), "x::b".to_string()]]
    );
}
