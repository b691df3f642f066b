//! The server-rendered per-repository page: plain HTML, no JavaScript, every name escaped
//! through [`esc`] (file paths, repository names, findings and imports come from uploaders).

use std::fmt::Write as _;

use modelguard::report::{FileReport, ImportSafety};

use crate::status;
use crate::store::{FileRow, RevisionRow};

/// Escape text for HTML element content and double- or single-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escape a path component for a URL (RFC 3986 unreserved characters and `/` kept).
pub fn url_path(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;\
text-align:left;vertical-align:top}code{font-size:.85em}.badge{padding:.1rem .5rem;\
border-radius:.8rem;font-weight:600;font-size:.85em}.badge.safe{background:#d1fae5;color:#065f46}\
.badge.caution{background:#fef9c3;color:#854d0e}.badge.suspicious{background:#ffedd5;color:#9a3412}\
.badge.unsafe{background:#fee2e2;color:#991b1b}.badge.error{background:#e5e7eb;color:#111}\
.badge.queued{background:#e0e7ff;color:#3730a3}.banner{padding:1rem;margin:1rem 0;\
border-radius:.4rem;font-weight:600}.banner.unsafe{background:#fee2e2;color:#991b1b;\
border:1px solid #991b1b}.imp.innocuous{color:#065f46}.imp.suspicious{color:#9a3412}\
.imp.dangerous{color:#991b1b;font-weight:700}.sev-critical,.sev-high{color:#991b1b}\
.sev-medium{color:#9a3412}";

/// One file as shown on the page.
pub struct FileView<'a> {
    /// The occurrence.
    pub row: &'a FileRow,
    /// Its report, when scanned.
    pub report: Option<&'a FileReport>,
    /// The report comes from an older analyser or policy (a rescan is due).
    pub stale: bool,
}

/// A page for a repository with no revisions yet.
pub fn not_found(repo: &str) -> String {
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>modelguard: {r}</title>\
         <style>{STYLE}</style></head><body><h1>{r}</h1><p id=empty>No scanned revision of this \
         repository.</p></body></html>",
        r = esc(repo)
    )
}

/// The per-repository page for one revision.
pub fn repo_page(
    repo: &str,
    revisions: &[RevisionRow],
    current: &RevisionRow,
    files: &[FileView<'_>],
    scans_done: bool,
    unsafe_n: i64,
    next_after: Option<&str>,
) -> String {
    let mut h = String::new();
    let r = esc(repo);
    let _ = write!(
        h,
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width\"><title>modelguard: {r}</title>\
         <style>{STYLE}</style></head><body><h1 id=repo>{r}</h1>"
    );
    // Revision picker: a GET form, so it works without JavaScript.
    let _ = write!(
        h,
        "<form method=get id=revision-picker><label>Revision <select name=rev>"
    );
    for rev in revisions {
        let refs = if rev.refs.is_empty() {
            String::new()
        } else {
            format!(" ({})", rev.refs)
        };
        let sel = if rev.revision == current.revision {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            h,
            "<option value=\"{v}\"{sel}>{v}{refs}</option>",
            v = esc(&rev.revision),
            refs = esc(&refs)
        );
    }
    let _ = write!(
        h,
        "</select></label> <button type=submit>Show</button></form>"
    );
    // Counted over the whole revision, not this page of files.
    if unsafe_n > 0 {
        let _ = write!(
            h,
            "<div class=\"banner unsafe\" id=unsafe-banner role=alert>{unsafe_n} file(s) in this \
             revision are unsafe: do not load them.</div>"
        );
    }
    let state = match (current.state.as_str(), scans_done) {
        ("error", _) => format!(
            "listing failed: {}",
            current.error.as_deref().unwrap_or("unknown error")
        ),
        (_, true) => "all files scanned".to_string(),
        _ => "scans in progress".to_string(),
    };
    let _ = write!(
        h,
        "<p>Revision <code id=revision>{}</code> &middot; <span id=scans-done data-done={scans_done}>{}</span> \
         &middot; <a href=\"/v1/repos/{u}/revisions/{rv}\">JSON</a> &middot; \
         <a href=\"/v1/repos/{u}/revisions/{rv}?format=sarif\">SARIF</a></p>",
        esc(&current.revision),
        esc(&state),
        u = esc(&url_path(repo)),
        rv = esc(&url_path(&current.revision)),
    );
    let _ = write!(
        h,
        "<table id=files><thead><tr><th>File</th><th>Size</th><th>SHA-256</th><th>Status</th>\
         <th>Details</th></tr></thead><tbody>"
    );
    for f in files {
        let st = esc(&f.row.status);
        let sha = f.row.sha256.as_deref().unwrap_or("");
        let short = sha.get(..12).unwrap_or(sha);
        let _ = write!(
            h,
            "<tr class=file data-path=\"{p}\" data-status=\"{st}\"><td class=path>{p}</td>\
             <td>{size}</td><td><code title=\"{sha}\">{short}</code></td>\
             <td><span class=\"badge {st}\">{st}</span>{stale}</td><td>",
            stale = if f.stale {
                " <small class=stale>stale</small>"
            } else {
                ""
            },
            p = esc(&f.row.path),
            size = f.row.size,
            sha = esc(sha),
            short = esc(short),
        );
        if let Some(e) = &f.row.error {
            let _ = write!(h, "<p class=error>{}</p>", esc(e));
        }
        if let Some(rep) = f.report {
            let live: Vec<_> = rep
                .findings
                .iter()
                .filter(|x| x.suppressed.is_none())
                .collect();
            let _ = write!(
                h,
                "<details{open}><summary>{} finding(s), {} import(s), format {}</summary>",
                live.len(),
                rep.imports.len(),
                esc(&rep.format),
                open = if status::is_issue(&f.row.status) {
                    " open"
                } else {
                    ""
                },
            );
            if !live.is_empty() {
                h.push_str("<ul class=findings>");
                for x in live {
                    let member = x
                        .location
                        .member
                        .as_deref()
                        .map(|m| format!(" in {m}"))
                        .unwrap_or_default();
                    let _ = write!(
                        h,
                        "<li class=sev-{s}><b>{s}</b> <code>{rule}</code> {msg}{member}</li>",
                        s = x.severity.as_str(),
                        rule = esc(&x.rule),
                        msg = esc(&x.message),
                        member = esc(&member),
                    );
                }
                h.push_str("</ul>");
            }
            if !rep.imports.is_empty() {
                h.push_str("<ul class=imports>");
                for i in &rep.imports {
                    let level = match i.safety {
                        ImportSafety::Innocuous => "innocuous",
                        ImportSafety::Suspicious => "suspicious",
                        ImportSafety::Dangerous => "dangerous",
                    };
                    let _ = write!(
                        h,
                        "<li class=\"imp {level}\" title={level}>{}.{} <small>({level})</small></li>",
                        esc(&i.module),
                        esc(&i.name)
                    );
                }
                h.push_str("</ul>");
            }
            h.push_str("</details>");
        }
        h.push_str("</td></tr>");
    }
    h.push_str("</tbody></table>");
    if let Some(after) = next_after {
        let _ = write!(
            h,
            "<p><a id=next-page href=\"/repos/{u}?rev={rv}&amp;after={a}\">Next files</a></p>",
            u = esc(&url_path(repo)),
            rv = esc(&url_path(&current.revision)),
            a = esc(&url_path(after)),
        );
    }
    h.push_str("</body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_names() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        assert_eq!(url_path("o/n a?"), "o/n%20a%3F");
        let row = FileRow {
            path: "<script>alert(1)</script>.pkl".into(),
            sha256: None,
            size: 1,
            status: "unsafe".into(),
            error: None,
        };
        let rev = RevisionRow {
            revision: "r\"1".into(),
            refs: String::new(),
            state: "listed".into(),
            error: None,
            created_at: 0,
        };
        let page = repo_page(
            "o/<n>",
            std::slice::from_ref(&rev),
            &rev,
            &[FileView {
                row: &row,
                report: None,
                stale: false,
            }],
            true,
            1,
            Some("<b>"),
        );
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("unsafe-banner"));
        assert!(page.contains("after=%3Cb%3E") || page.contains("after=&lt;b&gt;"));
    }
}
