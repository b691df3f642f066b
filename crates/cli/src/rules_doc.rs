//! `modelguard rules --format markdown`: the rule catalog as Markdown, committed as
//! `docs/rules.md` (a test fails when the file is stale).

use std::fmt::Write;

use modelguard::rules::{Fires, RULES};

fn fires(f: Fires) -> &'static str {
    match f {
        Fires::Load => "load",
        Fires::Query => "query",
        Fires::Other => "other",
    }
}

fn formats(f: &[&str]) -> String {
    if f == ["*"] {
        "any".to_string()
    } else {
        f.iter()
            .map(|x| format!("`{x}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The whole document.
pub fn markdown() -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Rule catalog\n");
    let _ = writeln!(
        s,
        "<!-- Generated from modelguard::rules::RULES by `modelguard rules --format markdown`. \
         Do not edit: change the rule's doc comment in crates/core/src/rules.rs and run \
         `UPDATE_DOCS=1 cargo test -p modelguard-cli docs`. -->\n"
    );
    let _ = writeln!(
        s,
        "Every finding names one of these rules. `modelguard explain ID` prints a rule's \
         documentation; `modelguard.toml` can disable a rule, change its severity or ignore it \
         for some paths (see [policy.md](policy.md)). Severities are defaults: some rules \
         report another severity when the evidence says so (see each rule's \
         \"How the verdict is decided\").\n"
    );
    let _ = writeln!(
        s,
        "*Fires* says when the threat takes effect: `load` (loading the file runs it), `query` \
         (using the loaded model runs it), `other` (a structural fact or a scanner \
         limitation).\n"
    );
    let _ = writeln!(s, "| ID | Name | Severity | Fires | Formats |");
    let _ = writeln!(s, "| --- | --- | --- | --- | --- |");
    for r in RULES.iter() {
        let _ = writeln!(
            s,
            "| [{id}](#{anchor}) | {name} | {sev} | {fires} | {formats} |",
            id = r.id,
            anchor = r.id.to_ascii_lowercase(),
            name = r.name,
            sev = r.severity,
            fires = fires(r.fires),
            formats = formats(r.formats),
        );
    }
    for r in RULES.iter() {
        let _ = writeln!(s, "\n## {}\n", r.id);
        let _ = writeln!(
            s,
            "**{}** · default severity **{}** · fires on **{}** · formats: {}\n",
            r.name,
            r.severity,
            fires(r.fires),
            formats(r.formats)
        );
        for line in r.doc_text().lines() {
            if line.starts_with('#') {
                let _ = writeln!(s, "#{line}");
            } else {
                let _ = writeln!(s, "{line}");
            }
        }
    }
    s
}
