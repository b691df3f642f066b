//! What is stored, read back: results by content hash, a repository's revisions, a
//! revision's files (JSON or SARIF), one file's report, and the HTML page.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use modelguard::report::FileReport;
use serde_json::{Value, json};
use std::collections::HashMap;

use super::{St, err, internal};
use crate::html::{self, FileView};
use crate::status;
use crate::store::files::Lookup;
use crate::store::{FileRow, RevisionRow};
use crate::{Ctx, Error};

pub(super) async fn blob(State(ctx): St, Path(hex): Path<String>) -> Response {
    let hex = hex.to_ascii_lowercase();
    if !crate::fetch::is_sha256(&hex) {
        return err(StatusCode::BAD_REQUEST, "expected 64 hex digits");
    }
    let (results, occ) = match (
        ctx.store.results_for(&hex).await,
        ctx.store.occurrences(&hex, 100).await,
    ) {
        (Ok(r), Ok(o)) => (r, o),
        (Err(e), _) | (_, Err(e)) => return internal(e),
    };
    if results.is_empty() && occ.is_empty() {
        return err(StatusCode::NOT_FOUND, "unknown blob");
    }
    let (analyser, policy) = ctx.cache_key();
    let results: Vec<Value> = results
        .iter()
        .map(|r| {
            json!({
                "analyserVersion": r.analyser,
                "policyDigest": r.policy,
                "current": r.analyser == analyser && r.policy == policy,
                "status": r.status,
                "scannedAt": r.scanned_at,
                "report": serde_json::from_str::<Value>(&r.report).unwrap_or(Value::Null),
            })
        })
        .collect();
    let occ: Vec<Value> = occ
        .iter()
        .map(|(repo, rev, path)| json!({"repo": repo, "revision": rev, "path": path}))
        .collect();
    axum::Json(json!({"sha256": hex, "results": results, "occurrences": occ})).into_response()
}

/// A revision with one page of its files and their reports, and a summary of all files.
struct Loaded {
    revisions: Vec<RevisionRow>,
    current: RevisionRow,
    /// Each file of the page with its report and whether that report is stale (an older
    /// analyser or policy).
    files: Vec<(FileRow, Option<FileReport>, bool)>,
    /// Files of the whole revision by status.
    counts: Vec<(String, i64)>,
    /// The path to continue after, when there are more files.
    next: Option<String>,
}

impl Loaded {
    fn scans_done(&self) -> bool {
        self.current.state != "listing"
            && !self
                .counts
                .iter()
                .any(|(st, n)| st == status::QUEUED && *n > 0)
    }

    fn count(&self, st: &str) -> i64 {
        self.counts
            .iter()
            .find(|(s, _)| s == st)
            .map_or(0, |(_, n)| *n)
    }
}

/// Which revision `rev` names: a ref the latest push (or resolution) pointed at it, else a
/// commit; without `rev`, what `main` points at, else the newest revision.
async fn pick_revision(
    ctx: &Ctx,
    repo: &str,
    revisions: &[RevisionRow],
    rev: Option<&str>,
) -> Result<Option<RevisionRow>, Error> {
    let by_ref = ctx.store.resolve_ref(repo, rev.unwrap_or("main")).await?;
    if let Some(sha) = by_ref
        && let Some(r) = revisions.iter().find(|x| x.revision == sha)
    {
        return Ok(Some(r.clone()));
    }
    Ok(match rev {
        None => revisions.first().cloned(),
        Some(r) => revisions
            .iter()
            .find(|x| x.revision == r)
            .or_else(|| {
                revisions.iter().find(|x| {
                    x.refs
                        .split(',')
                        .any(|n| n == r || n.rsplit('/').next() == Some(r))
                })
            })
            .cloned(),
    })
}

async fn load(
    ctx: &Ctx,
    repo: &str,
    rev: Option<&str>,
    files: Lookup<'_>,
    limit: i64,
) -> Result<Option<Loaded>, Error> {
    let revisions = ctx.store.revisions(repo).await?;
    let Some(current) = pick_revision(ctx, repo, &revisions, rev).await? else {
        return Ok(None);
    };
    let (analyser, policy) = ctx.cache_key();
    // Counts before the page: a file's status only moves on from `queued`, so a revision
    // counted without queued files never shows a queued file on the page read after (read the
    // other way round, `scansDone` could be true beside a file still shown `queued`).
    let counts = ctx.store.status_counts(repo, &current.revision).await?;
    // One more than the page, to know whether another page follows.
    let mut rows = ctx
        .store
        .files_page(
            repo,
            &current.revision,
            files,
            limit.saturating_add(1),
            &analyser,
            &policy,
        )
        .await?;
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = more
        .then(|| rows.last().map(|(f, _, _)| f.path.clone()))
        .flatten();
    let files = rows
        .into_iter()
        .map(|(f, report, stale)| {
            let r = report.and_then(|r| serde_json::from_str::<FileReport>(&r).ok());
            (f, r, stale)
        })
        .collect();
    Ok(Some(Loaded {
        revisions,
        current,
        files,
        counts,
        next,
    }))
}

/// `?limit=` (default `page_size`, at most ten times it) and `?after=` (a path).
fn page_params(ctx: &Ctx, q: &HashMap<String, String>) -> (String, i64) {
    let max = ctx.cfg.page_size.saturating_mul(10);
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<i64>().ok())
        .unwrap_or(ctx.cfg.page_size)
        .clamp(1, max);
    (q.get("after").cloned().unwrap_or_default(), limit)
}

pub(super) async fn repo_api(
    State(ctx): St,
    Path(rest): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (repo, rev) = match rest.split_once("/revisions/") {
        Some((repo, rev)) => (repo.to_string(), Some(rev.to_string())),
        None => (rest.trim_end_matches('/').to_string(), None),
    };
    let Some(rev) = rev else {
        return match ctx.store.revisions(&repo).await {
            Ok(r) if r.is_empty() => err(StatusCode::NOT_FOUND, "unknown repository"),
            Ok(r) => axum::Json(json!({"repo": repo, "revisions": r})).into_response(),
            Err(e) => internal(e),
        };
    };
    // `…/revisions/{rev}/files/{path}`: one file with its full report.
    let (rev, file) = match rev.split_once("/files/") {
        Some((r, p)) => (r.to_string(), Some(p.to_string())),
        None => (rev, None),
    };
    let version = ctx.scanner.info().version;
    if let Some(path) = file {
        let loaded = match load(&ctx, &repo, Some(&rev), Lookup::Exact(&path), 1).await {
            Ok(Some(l)) => l,
            Ok(None) => return err(StatusCode::NOT_FOUND, "unknown repository or revision"),
            Err(e) => return internal(e),
        };
        let Some((f, r, stale)) = loaded.files.iter().find(|(f, _, _)| f.path == path) else {
            return err(StatusCode::NOT_FOUND, "no such file in the revision");
        };
        return axum::Json(json!({
            "repo": repo,
            "revision": loaded.current.revision,
            "path": f.path,
            "size": f.size,
            "sha256": f.sha256,
            "status": f.status,
            "error": f.error,
            "stale": stale,
            "securityFileStatus": status::security_file_status(&f.status, r.as_ref(), &version),
            "report": r,
        }))
        .into_response();
    }
    if q.get("format").map(String::as_str) == Some("sarif") {
        // Every file (SARIF has no pagination), read with one query per page.
        let limit = i64::try_from(ctx.cfg.max_files_per_revision).unwrap_or(i64::MAX);
        let loaded = match load(&ctx, &repo, Some(&rev), Lookup::After(""), limit).await {
            Ok(Some(l)) => l,
            Ok(None) => return err(StatusCode::NOT_FOUND, "unknown repository or revision"),
            Err(e) => return internal(e),
        };
        let files: Vec<_> = loaded
            .files
            .iter()
            .map(|(f, r, _)| (f.path.clone(), f.status.clone(), r.clone()))
            .collect();
        return axum::Json(status::sarif(&version, &files)).into_response();
    }
    let (after, limit) = page_params(&ctx, &q);
    let loaded = match load(&ctx, &repo, Some(&rev), Lookup::After(&after), limit).await {
        Ok(Some(l)) => l,
        Ok(None) => return err(StatusCode::NOT_FOUND, "unknown repository or revision"),
        Err(e) => return internal(e),
    };
    let scans_done = loaded.scans_done();
    let issue_statuses: Vec<&str> = status::ORDER
        .into_iter()
        .filter(|s| status::is_issue(s))
        .collect();
    let issues: Vec<Value> = match ctx
        .store
        .files_with_status(&repo, &loaded.current.revision, &issue_statuses, 1000)
        .await
    {
        Ok(v) => v
            .into_iter()
            .map(|(path, level)| json!({"path": path, "level": level}))
            .collect(),
        Err(e) => return internal(e),
    };
    let overall = loaded
        .counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, _)| s.as_str())
        .min_by_key(|s| status::rank(s))
        .unwrap_or(if scans_done { "safe" } else { status::QUEUED });
    let files: Vec<Value> = loaded
        .files
        .iter()
        .map(|(f, r, stale)| {
            json!({
                "path": f.path,
                "stale": stale,
                "size": f.size,
                "sha256": f.sha256,
                "status": f.status,
                "error": f.error,
                "securityFileStatus": status::security_file_status(&f.status, r.as_ref(), &version),
                "findings": r.as_ref().map(|r| r.findings.clone()).unwrap_or_default(),
                "format": r.as_ref().map(|r| r.format.clone()),
            })
        })
        .collect();
    let counts: serde_json::Map<String, Value> = loaded
        .counts
        .iter()
        .map(|(s, n)| (s.clone(), json!(n)))
        .collect();
    let next = loaded.next.as_ref().map(|p| {
        format!(
            "/v1/repos/{}/revisions/{}?limit={limit}&after={}",
            html::url_path(&repo),
            html::url_path(&loaded.current.revision),
            html::url_path(p)
        )
    });
    axum::Json(json!({
        "repo": repo,
        "revision": loaded.current.revision,
        "refs": loaded.current.refs,
        "state": loaded.current.state,
        "error": loaded.current.error,
        "status": if loaded.current.state == "error" { status::ERROR } else { overall },
        "scansDone": scans_done,
        "counts": counts,
        "filesWithIssues": issues,
        "securityRepoStatus": {"scansDone": scans_done, "filesWithIssues": issues},
        "files": files,
        "links": {"next": next},
    }))
    .into_response()
}

pub(super) async fn repo_page(
    State(ctx): St,
    Path(repo): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let repo = repo.trim_end_matches('/').to_string();
    let (after, limit) = page_params(&ctx, &q);
    match load(
        &ctx,
        &repo,
        q.get("rev").map(String::as_str),
        Lookup::After(&after),
        limit,
    )
    .await
    {
        Ok(Some(l)) => {
            let views: Vec<FileView<'_>> = l
                .files
                .iter()
                .map(|(row, report, stale)| FileView {
                    row,
                    report: report.as_ref(),
                    stale: *stale,
                })
                .collect();
            Html(html::repo_page(
                &repo,
                &l.revisions,
                &l.current,
                &views,
                l.scans_done(),
                l.count("unsafe"),
                l.next.as_deref(),
            ))
            .into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, Html(html::not_found(&repo))).into_response(),
        Err(e) => internal(e),
    }
}
