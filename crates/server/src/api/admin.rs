//! Admin endpoints (bearer token): scan submissions (a repository revision, URLs or a raw
//! body), hub crawls and their state, and rescans of stored blobs under the current policy.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

use super::{St, accepted, admin_denied, err, internal, list_jobs, model, repo_key, valid_name};
use crate::fetch::HubKind;
use crate::status;
use crate::store::files::{EventIn, RevisionIn};
use crate::store::{Lane, NewJob, now_ms};
use crate::worker::{CrawlTask, FileSource, ScanTask, sha256_hex};
use crate::{Ctx, Error};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Submission {
    #[serde(default)]
    repo: Option<String>,
    #[serde(default)]
    revision: Option<String>,
    #[serde(default, rename = "repoType")]
    repo_type: Option<String>,
    #[serde(default)]
    urls: Vec<String>,
    /// `api` (default), `rescan` or `backlog`: a crawler feeds the backlog lane this way.
    #[serde(default)]
    lane: Option<Lane>,
}

fn scan_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    format!(
        "s{}-{}-{seq}",
        now_ms(),
        sha256_hex(format!("{}:{seq}", std::process::id()).as_bytes())
            .get(..8)
            .unwrap_or("0")
    )
}

async fn enqueue_file(
    ctx: &Ctx,
    repo: &str,
    rev: &str,
    path: &str,
    src: FileSource,
) -> Result<(), Error> {
    ctx.store
        .upsert_file(repo, rev, path, None, 0, status::QUEUED)
        .await?;
    let task = ScanTask {
        source: src,
        repo: repo.to_string(),
        revision: rev.to_string(),
        path: path.to_string(),
        sha256: None,
        size: None,
    };
    let payload = serde_json::to_string(&task).map_err(|e| Error::Payload(e.to_string()))?;
    ctx.store
        .enqueue("scan", Lane::Api, &payload, None, ctx.cfg.max_attempts)
        .await?;
    Ok(())
}

pub(super) async fn submit(
    State(ctx): St,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = admin_denied(&ctx, &headers) {
        return r;
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let id = scan_id();
    if !is_json {
        // A raw upload: kept until scanned, then dropped (the result stays).
        let name = q
            .get("name")
            .cloned()
            .unwrap_or_else(|| "upload.bin".into());
        let repo = format!("uploads/{id}");
        let res = async {
            ctx.store
                .insert_event("upload", &format!("upload:{id}"), &name)
                .await?;
            ctx.store.upsert_revision(&repo, &id, "").await?;
            let up = ctx.store.put_upload(&body).await?;
            enqueue_file(&ctx, &repo, &id, &name, FileSource::Upload { id: up }).await?;
            ctx.store
                .set_revision_state(&repo, &id, "listed", None)
                .await
        }
        .await;
        return match res {
            Ok(()) => accepted(&repo, &id),
            Err(e) => internal(e),
        };
    }
    // Everything is checked before anything is stored: a refused submission leaves no event.
    let s: Submission = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return err(StatusCode::BAD_REQUEST, format!("body: {e}")),
    };
    let text = String::from_utf8_lossy(&body);
    let key = format!("api:{id}");
    let event = EventIn {
        source: "api",
        key: &key,
        body: &text,
    };
    if let Some(name) = s.repo {
        let rev = s.revision.unwrap_or_else(|| "main".into());
        let Some(repo) = repo_key(s.repo_type.as_deref().unwrap_or("model"), &name)
            .filter(|_| valid_name(&name) && valid_name(&rev))
        else {
            return err(StatusCode::BAD_REQUEST, "bad repo, repoType or revision");
        };
        // Submissions never jump ahead of pushes.
        let lane = match s.lane {
            None | Some(Lane::Push) => Lane::Api,
            Some(l) => l,
        };
        // A commit is recorded now; a ref name (`main`) is resolved to its commit by the
        // list job, which records that commit and points the ref at it.
        let revs: Vec<RevisionIn> = if crate::fetch::is_commit(&rev) {
            vec![RevisionIn {
                revision: rev.clone(),
                refs: String::new(),
            }]
        } else {
            vec![]
        };
        let jobs = match list_jobs(
            &ctx,
            HubKind::Hf,
            &repo,
            std::slice::from_ref(&rev),
            lane,
            1,
        ) {
            Ok(j) => j,
            Err(e) => return internal(e),
        };
        return match ctx.store.ingest(&event, &repo, &revs, &[], &jobs).await {
            Ok(_) => accepted(&repo, &rev),
            Err(e) => internal(e),
        };
    }
    if s.urls.is_empty() || s.urls.len() > 1000 {
        return err(
            StatusCode::BAD_REQUEST,
            "give repo, 1 to 1000 urls, or a file body",
        );
    }
    // Reject forbidden URLs now (the worker checks again when it connects).
    for u in &s.urls {
        if let Err(e) = ctx.fetcher.guard_url(u).await {
            return err(StatusCode::BAD_REQUEST, e.to_string());
        }
    }
    let repo = format!("scans/{id}");
    let res = async {
        if !ctx
            .store
            .ingest(
                &event,
                &repo,
                &[RevisionIn {
                    revision: id.clone(),
                    refs: String::new(),
                }],
                &[],
                &[],
            )
            .await?
        {
            return Ok(());
        }
        for u in &s.urls {
            enqueue_file(&ctx, &repo, &id, u, FileSource::Url { url: u.clone() }).await?;
        }
        ctx.store
            .set_revision_state(&repo, &id, "listed", None)
            .await
    }
    .await;
    match res {
        Ok(()) => accepted(&repo, &id),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CrawlRequest {
    hub: HubKind,
    #[serde(rename = "repoType", default = "model")]
    repo_type: String,
}

/// `POST /v1/crawls` (admin): crawl a hub's repositories of one type into the backlog lane.
pub(super) async fn start_crawl(State(ctx): St, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = admin_denied(&ctx, &headers) {
        return r;
    }
    let req: CrawlRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return err(StatusCode::BAD_REQUEST, format!("body: {e}")),
    };
    if !matches!(req.repo_type.as_str(), "model" | "dataset" | "space") {
        return err(StatusCode::BAD_REQUEST, "repoType: model, dataset or space");
    }
    if req.hub == HubKind::Gitea && ctx.cfg.gitea_endpoint.is_none() {
        return err(StatusCode::BAD_REQUEST, "gitea_endpoint is not configured");
    }
    let hub_name = match req.hub {
        HubKind::Hf => "hf",
        HubKind::Gitea => "gitea",
    };
    let max_attempts = ctx.cfg.max_attempts;
    let (hub, repo_type) = (req.hub, req.repo_type.clone());
    let made = ctx
        .store
        .create_crawl(hub_name, &req.repo_type, move |id| NewJob {
            kind: "crawl",
            lane: Lane::Backlog,
            payload: serde_json::to_string(&CrawlTask {
                crawl: id,
                hub,
                repo_type,
            })
            .unwrap_or_default(),
            unique_key: Some(format!("crawl:{id}")),
            max_attempts,
            vt_offset_ms: 0,
        })
        .await;
    match made {
        Ok(id) => (
            StatusCode::ACCEPTED,
            axum::Json(json!({"id": id, "links": {"self": format!("/v1/crawls/{id}")}})),
        )
            .into_response(),
        Err(e) => internal(e),
    }
}

/// `GET /v1/crawls/{id}`.
pub(super) async fn get_crawl(State(ctx): St, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return err(StatusCode::BAD_REQUEST, "crawl ids are integers");
    };
    match ctx.store.crawl(id).await {
        Ok(Some(c)) => axum::Json(c).into_response(),
        Ok(None) => err(StatusCode::NOT_FOUND, "unknown crawl"),
        Err(e) => internal(e),
    }
}

/// `GET /v1/crawls`: the latest 100.
pub(super) async fn list_crawls(State(ctx): St) -> Response {
    match ctx.store.crawls(100).await {
        Ok(c) => axum::Json(json!({"crawls": c})).into_response(),
        Err(e) => internal(e),
    }
}

/// `POST /v1/rescans` (admin): after an analyser or policy change, give every blob without a
/// current verdict a new one. A blob whose analysis is stored under the current extractor
/// (only the judging part of the policy changed: rule switches, severities, ignores) is
/// re-judged at once, without its bytes; the others are enqueued for a fetch in the rescan
/// lane, from an occurrence that did not fail. Old verdicts stay visible (marked `stale`)
/// until replaced. Answers `{"rejudged", "needFetch", "enqueued", "skipped"}`.
pub(super) async fn rescan(State(ctx): St, headers: HeaderMap) -> Response {
    if let Some(r) = admin_denied(&ctx, &headers) {
        return r;
    }
    let (analyser, policy) = ctx.cache_key();
    let mut enqueued = 0u64;
    let mut skipped = 0u64;
    let mut rejudged = 0u64;
    let mut need_fetch = 0u64;
    // Page through the stale blobs by hash: memory stays bounded however many there are.
    let mut after = String::new();
    loop {
        let stale = match ctx
            .store
            .stale_blobs(&analyser, &policy, &after, 1000)
            .await
        {
            Ok(s) => s,
            Err(e) => return internal(e),
        };
        let Some(last) = stale.last() else { break };
        after.clone_from(&last.3);
        for (repo, rev, path, sha, size) in stale {
            match crate::worker::rejudge(&ctx, &sha).await {
                Ok(Some(st)) => {
                    if let Err(e) = ctx.store.set_status_by_sha(&sha, &st).await {
                        return internal(e);
                    }
                    rejudged += 1;
                    continue;
                }
                Ok(None) => {}
                Err(e) => return internal(e),
            }
            let (source, announced) =
                if repo.starts_with("uploads/") || sha.starts_with("unhashed-") {
                    skipped += 1;
                    continue;
                } else if repo.starts_with("scans/") {
                    (FileSource::Url { url: path.clone() }, None)
                } else if repo.starts_with("gitea/") {
                    (
                        FileSource::Hub {
                            hub: HubKind::Gitea,
                        },
                        None,
                    )
                } else {
                    (FileSource::Hub { hub: HubKind::Hf }, Some(sha.clone()))
                };
            let task = ScanTask {
                source,
                repo,
                revision: rev,
                path,
                // Hub revisions are immutable, so the recorded hash (LFS oid or our own hash of
                // the earlier download) still names the content; a URL may now serve other
                // bytes, so it is hashed again.
                sha256: announced,
                size: u64::try_from(size).ok(),
            };
            let Ok(payload) = serde_json::to_string(&task) else {
                continue;
            };
            need_fetch += 1;
            match ctx
                .store
                .enqueue(
                    "scan",
                    Lane::Rescan,
                    &payload,
                    Some(&format!("blob:{sha}")),
                    ctx.cfg.max_attempts,
                )
                .await
            {
                Ok(true) => enqueued += 1,
                Ok(false) => {}
                Err(e) => return internal(e),
            }
        }
    }
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({
            "rejudged": rejudged,
            "needFetch": need_fetch,
            "enqueued": enqueued,
            "skipped": skipped,
        })),
    )
        .into_response()
}
