//! The fallback for templates minijinja's parser rejects (Jinja2 accepts a call after a
//! filter, `x|attr(n)()`): the tokens alone, with runs of constants folded, still tell which
//! internal names the template builds.
//!
//! Must not: build an AST or evaluate expressions (the interpreter does, when the template
//! parses).

use minijinja::machinery::Span;
use minijinja::syntax::SyntaxConfig;

use std::collections::HashSet;

use super::catalogue::{ESCAPE, EXEC_STRONG, EscapeKind};
use super::value::{K, MAX_FOLD};
use super::{Hit, HitKey, MAX_ESCAPES, excerpt};

/// Fallback for templates the parser rejects: fold runs of constants (`'_'*2 ~ 'class'`)
/// within each block and check every identifier and string against the internal names.
pub(super) fn lexical(text: &str) -> Vec<Hit> {
    use minijinja::machinery::Token;
    let mut hits: Vec<Hit> = Vec::new();
    let mut seen: HashSet<HitKey> = HashSet::new();
    let mut add = |kind: EscapeKind, what: String, span: Span| {
        let start = span.start_offset as usize;
        let len = (span.end_offset as usize).saturating_sub(start);
        let h = Hit {
            kind,
            what,
            evidence: if len > 240 {
                excerpt(text, start, 240)
            } else {
                text.get(start..start + len).unwrap_or_default().to_string()
            },
            path: vec![],
            at: span.start_offset,
        };
        if hits.len() < MAX_ESCAPES && seen.insert(h.key()) {
            hits.push(h);
        }
    };
    let check = |name: &str| -> Option<EscapeKind> {
        if ESCAPE.contains(&name) {
            Some(EscapeKind::CodeName)
        } else if name.len() > 4 && name.starts_with("__") && name.ends_with("__") {
            Some(EscapeKind::Dunder)
        } else {
            None
        }
    };
    // Operands and operators of the current run of constants: `+`/`~` join, `*` repeats.
    let mut run: Vec<K> = Vec::new();
    let mut ops: Vec<char> = Vec::new();
    let mut run_span: Option<Span> = None;
    let mut prev_pipe = false;
    let mut prev_dot = false;
    let flush = |run: &mut Vec<K>,
                 ops: &mut Vec<char>,
                 span: Option<Span>,
                 add: &mut dyn FnMut(EscapeKind, String, Span)| {
        if run.len() > 1 && ops.len() + 1 == run.len() {
            // `*` binds tighter than `+` and `~`.
            let mut terms: Vec<K> = vec![];
            let mut cur = run.first().cloned();
            for (op, k) in ops.iter().zip(run.iter().skip(1)) {
                if *op == '*' {
                    let rep = |s: &str, n: i64| {
                        usize::try_from(n)
                            .ok()
                            .filter(|n| s.len().saturating_mul(*n) <= MAX_FOLD)
                            .map(|n| K::Str(s.repeat(n)))
                    };
                    cur = match (cur, k) {
                        (Some(K::Str(s)), K::Int(n)) => rep(&s, *n),
                        (Some(K::Int(n)), K::Str(s)) => rep(s, n),
                        _ => None,
                    };
                } else {
                    terms.extend(cur.take());
                    cur = Some(k.clone());
                }
            }
            terms.extend(cur);
            let joined: String = terms.iter().filter_map(K::plain).collect();
            if let (Some(kind), Some(span)) = (check(&joined), span) {
                add(kind, format!("string {joined} built"), span);
            }
        }
        run.clear();
        ops.clear();
    };
    for t in minijinja::machinery::tokenize(text, false, SyntaxConfig::default()) {
        let Ok((tok, span)) = t else { break };
        let konst = match &tok {
            Token::Str(s) => Some(K::Str((*s).to_string())),
            Token::String(s) => Some(K::Str(s.to_string())),
            Token::Int(i) => i64::try_from(*i).ok().map(K::Int),
            _ => None,
        };
        if let Some(k) = konst {
            if let K::Str(s) = &k
                && let Some(kind) = check(s)
            {
                add(kind, format!("string {s}"), span);
            }
            if run.len() > ops.len() {
                // Adjacent string literals concatenate ('__glo' 'bals__').
                if matches!((run.last(), &k), (Some(K::Str(_)), K::Str(_))) {
                    ops.push('+');
                } else {
                    flush(&mut run, &mut ops, run_span, &mut add);
                }
            }
            if run.is_empty() {
                run_span = Some(span);
            }
            if let Some(r) = run_span.as_mut() {
                r.end_offset = span.end_offset;
            }
            run.push(k);
        } else {
            match tok {
                Token::Plus | Token::Tilde if !run.is_empty() => ops.push('+'),
                Token::Mul if !run.is_empty() => ops.push('*'),
                _ => flush(&mut run, &mut ops, run_span, &mut add),
            }
        }
        if let Token::Ident(id) = tok {
            if let Some(kind) = check(id) {
                add(kind, format!("attribute {id}"), span);
            } else if prev_pipe && id == "attr" {
                add(EscapeKind::DynamicName, "attr filter".into(), span);
            } else if prev_dot && EXEC_STRONG.contains(&id) {
                add(EscapeKind::CommandCall, format!("name {id}"), span);
            }
        }
        prev_pipe = matches!(tok, Token::Pipe);
        prev_dot = matches!(tok, Token::Dot);
    }
    flush(&mut run, &mut ops, run_span, &mut add);
    hits
}
