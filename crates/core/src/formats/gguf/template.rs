//! Chat templates as facts: each template (a GGUF metadata value, or a Hugging Face
//! `tokenizer_config.json`, `chat_template.json`, `*.jinja` file) with where it was found
//! and what [`jinja`](super::jinja)'s analysis found in it ([`TemplateFacts`]).
//!
//! Must not: judge (no `rules`, no severities); `rules/gguf.rs` reads these facts.

use serde::{Deserialize, Serialize};

use super::jinja;
use crate::formats::{FormatCtx, FormatId, Outcome, Problem};
use crate::limits::Limits;
use crate::source::ReadAt;

/// One chat template and what its analysis found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateFacts {
    /// Where it was found: the GGUF metadata key (`tokenizer.chat_template`,
    /// `tokenizer.chat_template.<name>`…), `chat_template` or `chat_template.<name>` in a
    /// JSON file, `(file)` for a Jinja file.
    pub name: String,
    /// Byte offset of the template's value in the file, when known (GGUF).
    pub offset: Option<u64>,
    /// Set when the template could not be (wholly) analysed.
    pub unparsed: Option<Unparsed>,
    /// Constructs of sandbox escapes found, in the order found, each once.
    pub escapes: Vec<jinja::Escape>,
}

/// Why a template could not be analysed, and how it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unparsed {
    /// The parse error or the limit crossed.
    pub reason: String,
    /// The template's first 200 bytes (`…` when cut).
    pub head: String,
}

/// Whether a (lowercase) file name is a Hugging Face chat-template carrier:
/// `tokenizer_config.json`, `chat_template.json` (processors), `*.jinja` / `*.jinja2`
/// (`chat_template.jinja`, written by Transformers since 4.43).
pub fn is_chat_template_file(lower: &str) -> bool {
    lower.ends_with("tokenizer_config.json")
        || lower.ends_with("chat_template.json")
        || lower.ends_with(".jinja")
        || lower.ends_with(".jinja2")
}

/// Analyse a chat-template file outside GGUF: a Jinja file, or a JSON object whose
/// `chat_template` is a string or a list of `{"name", "template"}` (Transformers' named
/// templates). The same rules apply as to GGUF templates.
pub fn analyze_chat_template_file(src: &dyn ReadAt, ctx: &FormatCtx<'_>) -> Outcome {
    let mut out = Outcome::new(FormatId::ChatTemplate);
    let data = match crate::formats::read_whole(
        src,
        ctx.limits.max_chat_template_file_bytes,
        "chat template file",
        "max_chat_template_file_bytes",
    ) {
        Ok(d) => d,
        Err(p) => {
            out.problems.push(p);
            return out;
        }
    };
    let lower = ctx.name.to_ascii_lowercase();
    if lower.ends_with(".jinja") || lower.ends_with(".jinja2") {
        analyze_template(
            &mut out,
            "(file)",
            &String::from_utf8_lossy(&data),
            None,
            ctx.limits,
        );
        return out;
    }
    let v: serde_json::Value = match serde_json::from_slice(&data) {
        Ok(v) => v,
        Err(e) => {
            out.problems.push(Problem {
                fatal: true,
                message: format!("not valid JSON: {e}"),
                offset: None,
            });
            return out;
        }
    };
    out.format = FormatId::TokenizerConfig;
    match v.get("chat_template") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(t)) => {
            analyze_template(&mut out, "chat_template", t, None, ctx.limits);
        }
        Some(serde_json::Value::Array(list)) => {
            for item in list {
                let name = item.get("name").and_then(|n| n.as_str()).unwrap_or("?");
                match item.get("template").and_then(|t| t.as_str()) {
                    Some(t) => analyze_template(
                        &mut out,
                        &format!("chat_template.{name}"),
                        t,
                        None,
                        ctx.limits,
                    ),
                    None => out.problems.push(Problem {
                        fatal: false,
                        message: format!("chat template {name:?} is not a string"),
                        offset: None,
                    }),
                }
            }
        }
        Some(_) => out.problems.push(Problem {
            fatal: false,
            message: "chat_template is neither a string nor a list".into(),
            offset: None,
        }),
    }
    out
}

/// Analyse one template: its facts go to `out`, and a template not wholly analysed is also
/// a problem (the file is `incomplete`, never `safe`).
pub(super) fn analyze_template(
    out: &mut Outcome,
    name: &str,
    text: &str,
    offset: Option<u64>,
    limits: &Limits,
) {
    let rep = jinja::analyze(text, limits);
    let unparsed = rep.unparsed.map(|reason| {
        out.problems.push(Problem {
            fatal: false,
            message: format!("template {name} not analysed: {reason}"),
            offset,
        });
        Unparsed {
            reason,
            head: jinja::excerpt(text, 0, 200),
        }
    });
    out.facts.push(
        TemplateFacts {
            name: name.to_string(),
            offset,
            unparsed,
            escapes: rep.escapes,
        }
        .into(),
    );
}
