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
//! checked; a name that cannot be computed, used on one of those objects, is a finding
//! (fail closed).

use std::collections::{HashMap, HashSet};

use minijinja::syntax::SyntaxConfig;

use crate::limits::Limits;
use crate::report::Severity;

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

use interp::{An, MAX_STEPS};
use lexical::lexical;
use value::State;

/// Tokens in one `{{ }}` or `{% %}` block: bounds the depth of the AST (minijinja builds
/// operator chains as left-deep trees, and dropping or walking them recurses).
const MAX_BLOCK_TOKENS: usize = 1000;

/// One suspicious construct.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hit {
    /// How bad.
    pub severity: Severity,
    /// What was reached, e.g. `attribute __globals__`.
    pub what: String,
    /// The template source of the expression.
    pub evidence: String,
}

/// Result of analysing one template.
#[derive(Debug, Default)]
pub struct TemplateReport {
    /// Suspicious constructs.
    pub hits: Vec<Hit>,
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
            hits: vec![],
            unparsed: Some("template analysis failed".into()),
        },
        Err(e) => TemplateReport {
            hits: vec![],
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
            rep.hits = lexical(text);
            return rep;
        }
    };
    let run = |mutable: bool, trim: bool| {
        let mut an = An {
            src: text,
            hits: Vec::new(),
            outer: None,
            pending: Vec::new(),
            seen: HashSet::new(),
            macros: Vec::new(),
            macro_ids: HashMap::new(),
            depth: 0,
            steps: 0,
            memo: HashMap::new(),
            active: Vec::new(),
            loops: Vec::new(),
            mutable,
            saw_mutator: false,
            trim,
            trim_matters: false,
        };
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
    let mut hits: Vec<Hit> = Vec::new();
    for h in all {
        if !hits.contains(&h) && hits.len() < 256 {
            hits.push(h);
        }
    }
    rep.hits = hits;
    rep
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
