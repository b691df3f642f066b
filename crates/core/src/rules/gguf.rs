//! Rules for GGUF files and chat templates: each rule's metadata and its check over
//! [`GgufFacts`](crate::formats::gguf::GgufFacts) and
//! [`TemplateFacts`](crate::formats::gguf::TemplateFacts).

use super::Rule;
use crate::facts::{Emitter, Facts};
use crate::formats::gguf::jinja::EscapeKind;
use crate::policy::Policy;
use crate::report::{Finding, Location, Severity};
use crate::rule;

rule! {
    /// ## What it detects
    /// A chat template (GGUF `tokenizer.chat_template`, `tokenizer.chat_template.<name>` or
    /// any other metadata key naming a template; Hugging Face `tokenizer_config.json`,
    /// `chat_template.json`, `chat_template.jinja`) whose Jinja code walks Python internals:
    /// attribute or item access to `__class__`, `__base__`, `__mro__`, `__subclasses__`,
    /// `__init__`, `__globals__`, `__builtins__`, `__import__`, frame and code attributes;
    /// calls of `popen`, `system`, `eval`, `exec`, `__import__`; the same names hidden by
    /// `|attr(...)`, subscripts (Jinja's subscript falls back to the attribute),
    /// `map(attribute=...)`, `groupby`, `str.format` fields, or built at render time
    /// (`'_'*2 ~ 'class' ~ '_'*2`, `|join`, `|reverse`, `|replace`, `|format`, `|lower`,
    /// slicing, `{% set %}…{% endset %}` and `{% filter %}` blocks, macro return values,
    /// characters sliced out of `(lipsum|string)`, `|tojson` or `|pprint`, loops building a
    /// string in a namespace); an attribute or item name that cannot be known before
    /// rendering used on `lipsum`, `cycler`, `joiner`, `namespace`, `range`, `dict`, `self`,
    /// `loop`, a macro or function; `{% include %}`, `{% import %}` and `{% extends %}`.
    ///
    /// ## Why is this dangerous?
    /// The template is rendered on every chat request. Rendered without Jinja's sandbox (as
    /// llama-cpp-python did, CVE-2024-34359) such an expression runs any command on the
    /// inference server; with the sandbox (Transformers) it still shows a deliberately
    /// hostile template, one sandbox bug away from code execution.
    ///
    /// ## How the verdict is decided
    /// The template is parsed with minijinja's parser and rendered abstractly (nothing is
    /// executed): statements run in order with Jinja2's scoping, over values that are known
    /// strings (or their known start and end), numbers, lists, dicts, the objects above, or
    /// unknown template input; blocks, macros and `caller()` give their rendered text; loops
    /// over known lists are unrolled, other loops iterate until namespace values settle.
    /// `critical` when a name that leads to arbitrary code is reached (`__globals__`,
    /// `__builtins__`, `__subclasses__`, `__import__`, frames, `func_globals`…) or a command
    /// function is called through such a chain; `high` for other dunder attributes,
    /// `|attr` with a name computed at render time, a name that cannot be computed used on
    /// one of the objects above (fail closed), calls of `popen`/`system`/`eval` on ordinary
    /// values and template loading tags; `medium` for private (`_name`) attributes. One
    /// finding per template lists every construct, with the worst expression as evidence.
    ///
    /// ## False positives
    /// Chat templates of real models (ChatML, Llama 3/3.1, Mistral, Gemma, Qwen 2.5/3,
    /// DeepSeek R1/V3, Phi-3/4, Command-R and Hermes tool use) use none of these constructs;
    /// names computed from template data (`message[key]`) are not reported. A template that merely prints such a name inside a
    /// longer string is not reported.
    ///
    /// ## How to fix
    /// Do not render the template. Replace it with the template of the base model, and
    /// render templates only in a sandboxed Jinja environment.
    TEMPLATE_SSTI { id: "MG-TEMPLATE-SSTI", name: "chat-template-sandbox-escape", severity: Critical, formats: [Gguf, TokenizerConfig, ChatTemplate], fires: Query }
}

/// What a construct of [`TEMPLATE_SSTI`] is worth: `critical` when it reaches a name that
/// leads to code or a command function through internals, `high` for the other constructs
/// of escapes, `medium` for private attributes.
pub fn escape_severity(kind: EscapeKind) -> Severity {
    match kind {
        EscapeKind::CodeName | EscapeKind::CommandThroughInternals => Severity::Critical,
        EscapeKind::Dunder
        | EscapeKind::CommandCall
        | EscapeKind::DynamicName
        | EscapeKind::TemplateLoad => Severity::High,
        EscapeKind::Private => Severity::Medium,
    }
}

/// The location of a template's findings: its offset in the file, when known.
fn template_location(offset: Option<u64>) -> Location {
    Location {
        member: None,
        offset,
        opcode: None,
    }
}

/// [`TEMPLATE_SSTI`]: one finding per template, at the worst construct's severity, listing
/// every construct, with the longest evidence of the worst as evidence.
pub fn check_template_ssti(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::ChatTemplate(t) = facts else {
        return;
    };
    let Some(sev) = t.escapes.iter().map(|e| escape_severity(e.kind)).max() else {
        return;
    };
    let mut names: Vec<&str> = t.escapes.iter().map(|e| e.what.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    // `max_by_key` keeps the last of equals: the evidence reported since templates were
    // first checked.
    let worst = t
        .escapes
        .iter()
        .filter(|e| escape_severity(e.kind) == sev)
        .max_by_key(|e| e.evidence.len());
    out.emit(
        Finding::new(
            &TEMPLATE_SSTI,
            sev,
            format!(
                "chat template {} {}: {}",
                t.name,
                if sev >= Severity::Critical {
                    "reaches Python internals (sandbox escape)"
                } else {
                    "uses constructs of template sandbox escapes"
                },
                names.join("; ")
            ),
        )
        .evidence_opt(worst.map(|e| e.evidence.clone()))
        .at(template_location(t.offset)),
    );
}

rule! {
    /// ## What it detects
    /// A chat template modelguard could not analyse: Jinja syntax minijinja does not accept
    /// (extensions other than Transformers' `{% generation %}`, which is stripped), a block
    /// with more than 1000 tokens, a template above `max_template_bytes`, or one whose
    /// abstract render stopped expanding loops and macro calls at its step budget.
    ///
    /// ## Why is this dangerous?
    /// The template is code that runs on every request; an escape hidden in what the scanner
    /// cannot read would go unseen. Unusual syntax is also a way to make scanners skip it.
    ///
    /// ## How the verdict is decided
    /// `medium`, and the file's status becomes `incomplete`: it is never reported safe.
    ///
    /// ## False positives
    /// Templates written for a Jinja dialect with extensions minijinja lacks.
    ///
    /// ## How to fix
    /// Read the template (the evidence shows its start); if it is benign, allow the finding
    /// by rule and file hash in the policy.
    TEMPLATE_PARSE { id: "MG-TEMPLATE-PARSE", name: "chat-template-unparsed", severity: Medium, formats: [Gguf, TokenizerConfig, ChatTemplate], fires: Query }
}

/// [`TEMPLATE_PARSE`]: a template not wholly analysed, with its start as evidence.
pub fn check_template_parse(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::ChatTemplate(t) = facts else {
        return;
    };
    let Some(u) = &t.unparsed else {
        return;
    };
    out.emit(
        Finding::new(
            &TEMPLATE_PARSE,
            Severity::Medium,
            format!(
                "chat template {} could not be analysed: {}",
                t.name, u.reason
            ),
        )
        .evidence(u.head.clone())
        .at(template_location(t.offset)),
    );
}

rule! {
    /// ## What it detects
    /// GGUF metadata that readers disagree on: the same key stored more than once.
    ///
    /// ## Why is this dangerous?
    /// llama.cpp refuses such a file, while other readers keep the first or the last value:
    /// a scanner or reviewer may see a different chat template than the runtime renders.
    ///
    /// ## How the verdict is decided
    /// `medium`. Every copy of a template key is analysed.
    ///
    /// ## False positives
    /// Files written by buggy converters.
    ///
    /// ## How to fix
    /// Re-export the file with the `gguf` package or llama.cpp's converters.
    GGUF_HEADER { id: "MG-GGUF-HEADER", name: "gguf-ambiguous-metadata", severity: Medium, formats: [Gguf], fires: Other }
}

/// [`GGUF_HEADER`]: metadata keys stored more than once, listed in one finding.
pub fn check_gguf_header(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::Gguf(g) = facts else {
        return;
    };
    if g.duplicate_keys.is_empty() {
        return;
    }
    out.emit(Finding::new(
        &GGUF_HEADER,
        Severity::Medium,
        format!(
            "metadata keys appear more than once (llama.cpp refuses the file, other readers keep one of them): {}",
            g.duplicate_keys.join(", ")
        ),
    ));
}

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[&TEMPLATE_SSTI, &TEMPLATE_PARSE, &GGUF_HEADER];

/// This area's checks, in reporting order (see [`super::CHECKS`]): a template not analysed
/// is reported before its escapes.
pub static CHECKS: &[super::Check] = &[
    super::Check::on(&[crate::facts::FactsKind::Gguf], check_gguf_header),
    super::Check::on(
        &[crate::facts::FactsKind::ChatTemplate],
        check_template_parse,
    ),
    super::Check::on(
        &[crate::facts::FactsKind::ChatTemplate],
        check_template_ssti,
    ),
];
