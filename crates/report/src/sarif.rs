//! SARIF 2.1.0 output (`--format sarif`), shaped for GitHub code scanning.
//!
//! Choices, and why:
//! - every result's `physicalLocation.artifactLocation.uri` is the scanned file itself (a
//!   relative URI reference when the path is relative, a `file://` URI otherwise). GitHub
//!   resolves that URI against the repository checkout; a URI naming an archive member
//!   (`model.zip#archive/data.pkl`, or SARIF's nested `artifacts[]` with `parentIndex`) does not
//!   resolve to a file in the repository, so the alert would lose its file. The member goes
//!   into `logicalLocations[]` (`kind: "resource"`, `fullyQualifiedName` = the `!`-separated
//!   member path) and into the message text, which GitHub does show;
//! - every location has a `region` with `startLine: 1`: GitHub's ingestion ignores
//!   `byteOffset`-only regions, and model files have no meaningful lines. When the finding's
//!   byte offset is an offset into the file itself (no member), `byteOffset` is added too;
//! - `partialFingerprints["modelguardFinding/v1"]` is the baseline fingerprint
//!   ([`crate::fingerprint::fingerprint`]), so alerts survive reruns and line-less files;
//! - suppressed findings are kept, with `suppressions[]` (`kind: "external"`: the policy file
//!   or baseline lives outside the model file) and the reason as `justification`;
//! - file errors and incomplete analyses become `toolExecutionNotifications`;
//!   `executionSuccessful` is false when a path could not be walked or a file could not be
//!   read (I/O errors); malformed content is a finding, not a failed execution.

use modelguard::report::{FileReport, Finding, Report, Severity, Status};
use modelguard::rules::{self, Rule};
use serde_json::{Map, Value, json};

use crate::fingerprint;

/// `$schema` written into the log.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// GitHub's `security-severity` (CVSS-like, 0–10) for a severity.
pub fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// SARIF `level` for a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The whole SARIF log for a report; `walk_errors` are paths that could not be walked.
pub fn log(report: &Report, walk_errors: &[String]) -> Value {
    let driver_rules: Vec<Value> = rules::RULES.iter().map(|r| rule(r)).collect();
    let mut results = Vec::new();
    for f in &report.files {
        for x in &f.findings {
            results.push(result(f, x));
        }
    }
    let mut notifications: Vec<Value> = walk_errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": {"text": e},
                "descriptor": {"id": "walk"},
            })
        })
        .collect();
    let mut failed = !walk_errors.is_empty();
    for f in &report.files {
        // Malformed content is a finding (MG-MALFORMED), not a failure of the tool; being
        // unable to read a file is.
        if f.errors.iter().any(|e| e.kind == "io") {
            failed = true;
        }
        for e in &f.errors {
            let level = if f.status == Status::Error {
                "error"
            } else {
                "warning"
            };
            let mut text = format!("{}: {}", f.path, e.message);
            if let Some(m) = &e.location.member {
                text.push_str(&format!(" (member {m})"));
            }
            notifications.push(json!({
                "level": level,
                "message": {"text": text},
                "descriptor": {"id": e.kind},
                "locations": [location(f, e.location.member.as_deref(), e.location.offset)],
            }));
        }
        if f.status == Status::Incomplete && f.errors.is_empty() {
            notifications.push(json!({
                "level": "warning",
                "message": {"text": format!("{}: analysis incomplete", f.path)},
                "descriptor": {"id": "incomplete"},
                "locations": [location(f, None, None)],
            }));
        }
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "modelguard",
                    "version": report.scanner.version,
                    "semanticVersion": report.scanner.version,
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": driver_rules,
                    "properties": {"ruleset": report.scanner.ruleset},
                }
            },
            "invocations": [{
                "executionSuccessful": !failed,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "columnKind": "unicodeCodePoints",
            "properties": {"reportSchema": report.schema},
        }]
    })
}

fn rule(r: &Rule) -> Value {
    let doc = r.doc_text();
    let detects = section(&doc, "What it detects");
    let fires = match r.fires {
        rules::Fires::Load => "fires-on-load",
        rules::Fires::Query => "fires-on-use",
        rules::Fires::Other => "structural",
    };
    let mut tags = vec![
        "security".to_string(),
        "ml-model".to_string(),
        fires.to_string(),
    ];
    tags.extend(
        r.formats
            .iter()
            .filter(|f| **f != "*")
            .map(|f| f.to_string()),
    );
    json!({
        "id": r.id,
        "name": r.name,
        "shortDescription": {"text": short_description(r, &detects)},
        "fullDescription": {"text": plain(&detects)},
        "help": {"text": plain(&doc), "markdown": doc},
        "defaultConfiguration": {"level": level(r.severity)},
        "properties": {
            "security-severity": security_severity(r.severity),
            "problem.severity": match level(r.severity) {
                "error" => "error",
                "warning" => "warning",
                _ => "recommendation",
            },
            "tags": tags,
        },
    })
}

/// The body of a `## Title` section of a rule doc.
fn section(doc: &str, title: &str) -> String {
    let mut out = Vec::new();
    let mut inside = false;
    for line in doc.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            if inside {
                break;
            }
            inside = h.trim() == title;
            continue;
        }
        if inside {
            out.push(line);
        }
    }
    out.join("\n").trim().to_string()
}

/// The first sentence (or the clause before a list) of the "What it detects" section, without
/// parenthesised asides; the rule's name when that is empty or long.
fn short_description(r: &Rule, detects: &str) -> String {
    let text = plain(detects).replace('\n', " ");
    let mut out = String::new();
    let mut depth = 0usize;
    let mut prev = ' ';
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ':' | '.' if depth == 0 && chars.peek().is_none_or(|n| *n == ' ') => {
                let abbreviation =
                    c == '.' && (prev == '.' || out.ends_with("e.g") || out.ends_with("i.e"));
                if !abbreviation {
                    break;
                }
                out.push(c);
            }
            _ if depth == 0 => out.push(c),
            _ => {}
        }
        prev = c;
    }
    let short = out
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" ,", ",");
    if short.is_empty() || short.len() > 120 {
        r.name.replace('-', " ")
    } else {
        short
    }
}

/// Markdown without backticks (for SARIF `text` fields).
fn plain(md: &str) -> String {
    md.replace('`', "")
}

fn result(f: &FileReport, x: &Finding) -> Value {
    let mut text = x.message.clone();
    if let Some(m) = &x.location.member {
        text.push_str(&format!(" [in {m}]"));
    }
    if let Some(e) = &x.evidence {
        text.push_str(&format!("\nEvidence: {e}"));
    }
    let mut props = Map::new();
    props.insert("severity".into(), json!(x.severity.as_str()));
    props.insert(
        "security-severity".into(),
        json!(security_severity(x.severity)),
    );
    props.insert("verdict".into(), json!(f.verdict));
    props.insert("format".into(), json!(f.format));
    if let Some(o) = x.location.opcode {
        props.insert("opcode".into(), json!(o));
    }
    if let (Some(o), Some(_)) = (x.location.offset, &x.location.member) {
        props.insert("memberOffset".into(), json!(o));
    }
    let mut r = Map::new();
    r.insert("ruleId".into(), json!(x.rule));
    if let Some(i) = rules::RULES.iter().position(|r| r.id == x.rule) {
        r.insert("ruleIndex".into(), json!(i));
    }
    r.insert("level".into(), json!(level(x.severity)));
    r.insert("message".into(), json!({"text": text}));
    r.insert(
        "locations".into(),
        json!([location(f, x.location.member.as_deref(), x.location.offset)]),
    );
    r.insert(
        "partialFingerprints".into(),
        json!({"modelguardFinding/v1": fingerprint::fingerprint(&f.path, x)}),
    );
    if let Some(reason) = &x.suppressed {
        r.insert(
            "suppressions".into(),
            json!([{
                "kind": "external",
                "status": "accepted",
                "justification": reason,
            }]),
        );
    }
    r.insert("properties".into(), Value::Object(props));
    Value::Object(r)
}

fn location(f: &FileReport, member: Option<&str>, offset: Option<u64>) -> Value {
    let region = match (offset, member) {
        (Some(o), None) => json!({"startLine": 1, "byteOffset": o}),
        _ => json!({"startLine": 1}),
    };
    let physical = json!({
        "artifactLocation": {"uri": uri(&f.path)},
        "region": region,
    });
    match member {
        Some(m) => json!({
            "physicalLocation": physical,
            "logicalLocations": [{
                "name": m.rsplit('!').next().unwrap_or(m),
                "fullyQualifiedName": m,
                "kind": "resource",
            }],
        }),
        None => json!({"physicalLocation": physical}),
    }
}

/// A URI reference for a path: relative paths stay relative (GitHub resolves them against
/// the checkout), absolute paths become `file://` URIs. Everything outside RFC 3986's
/// unreserved set and `/` is percent-encoded.
pub fn uri(path: &str) -> String {
    let p = crate::fingerprint::normalize_path(path);
    let (prefix, rest) = if p.starts_with('/') {
        ("file://", p.as_str())
    } else if p.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && p.as_bytes().get(1..3) == Some(b":/")
    {
        ("file:///", p.as_str()) // Windows drive letter
    } else {
        ("", p.as_str())
    };
    let mut out = String::from(prefix);
    for b in rest.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) || (b == b':' && !prefix.is_empty()) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(uri("./models/a b.pt"), "models/a%20b.pt");
        assert_eq!(uri("/abs/x#1.pkl"), "file:///abs/x%231.pkl");
        assert_eq!(uri("C:\\m\\x.pt"), "file:///C:/m/x.pt");
        assert_eq!(uri("dir/naïve.pt"), "dir/na%C3%AFve.pt");
        assert_eq!(
            uri("a:b.pt"),
            "a%3Ab.pt",
            "a colon in a relative path is not a scheme"
        );
    }

    #[test]
    fn short_descriptions() {
        for r in rules::RULES.iter() {
            let d = short_description(r, &section(&r.doc_text(), "What it detects"));
            assert!(!d.is_empty() && d.len() <= 120, "{}: {d:?}", r.id);
        }
        let d = short_description(
            &rules::PKL_PROCESS,
            &section(&rules::PKL_PROCESS.doc_text(), "What it detects"),
        );
        assert_eq!(d, "A pickle that calls a callable that starts a process");
        let d = short_description(
            &rules::PKL_UNKNOWN_GLOBAL,
            &section(&rules::PKL_UNKNOWN_GLOBAL.doc_text(), "What it detects"),
        );
        assert!(!d.contains("e.g"), "asides are dropped: {d}");
    }
}
