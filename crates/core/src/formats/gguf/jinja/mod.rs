//! Chat templates (Jinja2) parsed with minijinja's parser and analysed for sandbox escapes,
//! without rendering anything.
//!
//! Jinja's sandbox is the only thing between a template and the Python process that renders
//! it (llama-cpp-python rendered GGUF templates without one: CVE-2024-34359). Escapes walk
//! Python object internals: `().__class__.__base__.__subclasses__()`,
//! `cycler.__init__.__globals__.os.popen(...)`, usually with the names hidden from string
//! searches (`|attr('_'*2 ~ 'class' ~ '_'*2)`, `|join`, `|reverse`, `|format`, slicing).
//!
//! The analysis is an abstract interpretation of the render (`jinja2.compiler`'s semantics):
//! statements run in order over abstract values (`Abs`: known strings, strings of which
//! only the ends are known, numbers, lists, dicts, the objects the template can reach —
//! `lipsum`, `cycler`, `joiner`, `namespace`, `range`, `dict`, `self`, `loop`, macros,
//! functions — or unknown template input). Blocks, macros and `caller()` give their rendered
//! text, so names built by `{% set %}…{% endset %}`, `{% filter %}`, macro return values,
//! `(lipsum|string)[i]`, `|tojson`, `|pprint`, `groupby`, `|join`, or loops accumulating in
//! a namespace are known when the template is. Jinja's subscript falls back to the
//! attribute and `getattr` to the item: both are one access. Every name accessed is
//! checked; a name that cannot be computed, used on one of those objects, is reported
//! (fail closed).
//!
//! What is found is plain data ([`Escape`]: which construct, the internal names crossed,
//! the evidence, its line and column), judged by the rules in `rules/gguf.rs`. The data
//! flow: [`analyze`] → `interp` (statements) → `expr` (expressions, name access) →
//! `filters` / `calls`, over `value` (the value model) with `strings` (Python string
//! semantics) and `catalogue` (names and kinds); `lexical` when the template does not parse.
//!
//! Must not: render anything for real, or decide severities (no `rules`).

use std::collections::HashSet;

use minijinja::syntax::SyntaxConfig;

use serde::{Deserialize, Serialize};

use crate::limits::Limits;

mod calls;
mod catalogue;
mod expr;
mod filters;
mod interp;
mod lexical;
mod strings;
#[cfg(test)]
mod tests;
mod value;

pub use catalogue::EscapeKind;
use interp::{An, MAX_STEPS};
use lexical::lexical;
use value::State;

/// Tokens in one `{{ }}` or `{% %}` block: bounds the depth of the AST (minijinja builds
/// operator chains as left-deep trees, and dropping or walking them recurses).
const MAX_BLOCK_TOKENS: usize = 1000;

/// One construct of a sandbox escape found in a template: a fact for the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escape {
    /// Which construct.
    pub kind: EscapeKind,
    /// What was reached, e.g. `attribute __globals__`, `popen reached through __globals__.os`.
    pub what: String,
    /// The template source of the (outermost) expression, at most 240 bytes.
    pub evidence: String,
    /// Internal names crossed before the construct (`__init__`, `__globals__`, `os`),
    /// outermost first; empty when it is not reached through internals.
    pub path: Vec<String>,
    /// Line of the evidence's start in the template (1-based).
    pub line: u32,
    /// Column of the evidence's start, in characters (1-based).
    pub column: u32,
}

/// A construct as the analysis finds it, before its offset becomes a line and column.
#[derive(Debug, Clone)]
struct Hit {
    kind: EscapeKind,
    what: String,
    evidence: String,
    path: Vec<String>,
    /// Byte offset of the evidence in the template.
    at: u32,
}

/// What makes two hits the same construct (loop passes and macro calls evaluate an
/// expression again; the first position is kept).
type HitKey = (EscapeKind, String, String);

impl Hit {
    fn key(&self) -> HitKey {
        (self.kind, self.what.clone(), self.evidence.clone())
    }
}

/// At most this many constructs are kept per template.
const MAX_ESCAPES: usize = 256;

/// Result of analysing one template.
#[derive(Debug, Default)]
pub struct TemplateReport {
    /// Constructs of sandbox escapes, in the order found, each once.
    pub escapes: Vec<Escape>,
    /// Set when the template could not be analysed (parse error, limit): never clean then.
    pub unparsed: Option<String>,
}

/// Remove the tags Transformers adds to Jinja (`{% generation %}`, `{% endgeneration %}`),
/// which minijinja rejects, keeping every other byte offset unchanged (tags become spaces).
pub fn strip_extension_tags(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(i) = rest.find("{%") {
        let (before, tail) = rest.split_at(i);
        out.push_str(before);
        let Some(end) = tail.find("%}") else {
            out.push_str(tail);
            return out;
        };
        let tag = tail.get(..end + 2).unwrap_or(tail);
        let inner = tag
            .get(2..tag.len().saturating_sub(2))
            .unwrap_or_default()
            .trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
        if inner == "generation" || inner == "endgeneration" {
            out.extend(std::iter::repeat_n(' ', tag.len()));
        } else {
            out.push_str(tag);
        }
        rest = tail.get(end + 2..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// Up to `max` bytes of `s` from `start`, on char boundaries, `…` when cut.
pub fn excerpt(s: &str, start: usize, max: usize) -> String {
    let mut a = start.min(s.len());
    while !s.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = a.saturating_add(max).min(s.len());
    while !s.is_char_boundary(b) {
        b -= 1;
    }
    let t = s.get(a..b).unwrap_or_default();
    if b < s.len() {
        format!("{t}…")
    } else {
        t.to_string()
    }
}

/// Analyse a template source.
pub fn analyze(src: &str, limits: &Limits) -> TemplateReport {
    let mut rep = TemplateReport::default();
    if src.len() as u64 > limits.max_template_bytes {
        rep.unparsed = Some(format!(
            "template of {} bytes above max_template_bytes ({})",
            src.len(),
            limits.max_template_bytes
        ));
        return rep;
    }
    let text = strip_extension_tags(src);
    if let Err(e) = check_block_sizes(&text) {
        rep.unparsed = Some(e);
        return rep;
    }
    // minijinja builds operator and postfix chains as left-deep trees; parsing, walking and
    // dropping them recurse once per level. A dedicated thread with a large stack makes the
    // depth the token limit allows safe on any caller's thread (rayon workers, test threads).
    let run = || analyze_parsed(&text);
    let joined = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("modelguard-jinja".into())
            .stack_size(ANALYSIS_STACK)
            .spawn_scoped(s, run)
            .map(|h| h.join())
    });
    match joined {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => TemplateReport {
            escapes: vec![],
            unparsed: Some("template analysis failed".into()),
        },
        Err(e) => TemplateReport {
            escapes: vec![],
            unparsed: Some(format!("template analysis could not start: {e}")),
        },
    }
}

/// Stack of the template analysis thread.
const ANALYSIS_STACK: usize = 64 << 20;

fn analyze_parsed(text: &str) -> TemplateReport {
    let mut rep = TemplateReport::default();
    let ast = match minijinja::machinery::parse(text, "chat_template", SyntaxConfig::default()) {
        Ok(a) => a,
        Err(e) => {
            rep.unparsed = Some(format!("Jinja parse error: {e}"));
            // Jinja2 accepts syntax minijinja does not (a call after a filter:
            // `x|attr(n)()`): the tokens still tell what names the template builds.
            rep.escapes = escapes(text, lexical(text));
            return rep;
        }
    };
    let run = |mutable: bool, trim: bool| {
        let mut an = An::new(text, mutable, trim);
        let mut st = State::default();
        an.stmt(&ast, &mut st);
        an
    };
    let mut an = run(false, false);
    let mutable = an.saw_mutator;
    if mutable {
        // The template may change lists and dicts in place (`x.append(…)`): evaluate again
        // with no list or dict content taken as known.
        an = run(true, false);
    }
    let mut all = std::mem::take(&mut an.hits);
    let mut cut = an.steps > MAX_STEPS;
    if an.trim_matters {
        // Text between tags differs with `trim_blocks`/`lstrip_blocks` (Transformers and
        // llama-cpp-python set both): render that way too.
        let mut b = run(mutable, true);
        all.append(&mut b.hits);
        cut |= b.steps > MAX_STEPS;
    }
    if cut {
        // The cheap mode past the budget is still sound, but say the evaluation was cut.
        rep.unparsed = Some(format!(
            "template evaluation stopped after {MAX_STEPS} steps (loops and macro calls no longer expanded)"
        ));
    }
    rep.escapes = escapes(text, all);
    rep
}

/// The hits as facts: each construct once (the first found), at most [`MAX_ESCAPES`], with
/// the line and column of its evidence.
fn escapes(text: &str, hits: Vec<Hit>) -> Vec<Escape> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut seen: HashSet<HitKey> = HashSet::new();
    let mut out = Vec::new();
    for h in hits {
        if out.len() >= MAX_ESCAPES {
            break;
        }
        if !seen.insert(h.key()) {
            continue;
        }
        let at = (h.at as usize).min(text.len());
        // The last line start at or before `at` (the first is 0, so there is one).
        let line = line_starts.partition_point(|s| *s <= at).max(1);
        let start = line_starts.get(line - 1).copied().unwrap_or(0);
        let column = text.get(start..at).map_or(0, |t| t.chars().count()) + 1;
        out.push(Escape {
            kind: h.kind,
            what: h.what,
            evidence: h.evidence,
            path: h.path,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        });
    }
    out
}

/// Reject blocks with more tokens than [`MAX_BLOCK_TOKENS`] before building the AST.
fn check_block_sizes(text: &str) -> Result<(), String> {
    use minijinja::machinery::Token;
    let mut n = 0usize;
    for t in minijinja::machinery::tokenize(text, false, SyntaxConfig::default()) {
        match t {
            Ok((Token::VariableStart | Token::BlockStart, _)) => n = 0,
            Ok(_) => {
                n += 1;
                if n > MAX_BLOCK_TOKENS {
                    return Err(format!(
                        "a template block has more than {MAX_BLOCK_TOKENS} tokens"
                    ));
                }
            }
            Err(e) => return Err(format!("Jinja syntax error: {e}")),
        }
    }
    Ok(())
}
