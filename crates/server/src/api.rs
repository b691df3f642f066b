//! HTTP endpoints.
//!
//! | route | what |
//! |---|---|
//! | `POST /webhooks/huggingface` | HF webhook (`X-Webhook-Secret` or `?secret=`), `repo.content` |
//! | `POST /webhooks/gitea` | Gitea/Forgejo push (`X-Gitea-Signature`/`X-Forgejo-Signature`) |
//! | `POST /v1/scans` | admin: `{repo, revision}`, `{urls: [...]}` or a raw body (`?name=`) |
//! | `POST /v1/rescans` | admin: rescan blobs without a result under the current policy |
//! | `POST /v1/crawls`, `GET /v1/crawls[/{id}]` | admin: crawl a hub's repositories; crawl state |
//! | `GET /v1/repos/{repo}` | revisions of a repository |
//! | `GET /v1/repos/{repo}/revisions/{rev}` | files and statuses (`?format=sarif`) |
//! | `GET /v1/repos/{repo}/revisions/{rev}/files/{path}` | one file with its full report |
//! | `GET /v1/blobs/sha256/{hex}` | results for a content hash, and where it occurs |
//! | `GET /repos/{repo}` | the per-repository page (`?rev=`) |
//! | `GET /healthz`, `/readyz`, `/metrics` | liveness, database readiness, Prometheus |
//!
//! Webhooks and submissions store the event and its jobs in one transaction and answer `202`
//! at once. Webhook secrets and sizes are checked before a body is read.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use hmac::{KeyInit, Mac};
use modelguard::report::FileReport;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fetch::HubKind;
use crate::html::{self, FileView};
use crate::status;
use crate::store::files::{EventIn, Lookup, RevisionIn};
use crate::store::{FileRow, Lane, NewJob, RevisionRow, now_ms};
use crate::worker::{CrawlTask, FileSource, ListTask, ScanTask, sha256_hex};
use crate::{Ctx, Error, Role};

type St = State<Arc<Ctx>>;

/// The router for a process of the configured role (a worker serves only health and
/// metrics).
pub fn router(ctx: Arc<Ctx>) -> Router {
    let limit = ctx.cfg.max_body_bytes;
    let r = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_page));
    let r = if ctx.cfg.role == Role::Worker {
        r
    } else {
        r.route("/webhooks/huggingface", post(hf_webhook))
            .route("/webhooks/gitea", post(gitea_webhook))
            .route("/v1/scans", post(submit))
            .route("/v1/rescans", post(rescan))
            .route("/v1/crawls", post(start_crawl).get(list_crawls))
            .route("/v1/crawls/{id}", get(get_crawl))
            .route("/v1/blobs/sha256/{hex}", get(blob))
            .route("/v1/repos/{*rest}", get(repo_api))
            .route("/repos/{*rest}", get(repo_page))
    };
    r.layer(DefaultBodyLimit::max(limit)).with_state(ctx)
}

fn err(code: StatusCode, msg: impl Into<String>) -> Response {
    (code, axum::Json(json!({"error": msg.into()}))).into_response()
}

fn internal(e: Error) -> Response {
    tracing::error!(error = %e, "request failed");
    metrics::counter!("modelguard_errors_total", "kind" => "api").increment(1);
    err(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// Constant-time equality (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Verify a hex HMAC-SHA256 signature of `body` (Gitea/Forgejo), in constant time.
pub fn verify_hmac(secret: &[u8], body: &[u8], sig_hex: &str) -> bool {
    let Some(sig) = decode_hex(sig_hex) else {
        return false;
    };
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

async fn readyz(State(ctx): St) -> Response {
    match ctx.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => err(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

async fn metrics_page(State(ctx): St) -> Response {
    // Queue gauges are read from the database at scrape time, so every process (API or
    // worker) reports the shared queue.
    if let Ok(stats) = ctx.store.queue_stats().await {
        let now = now_ms();
        for lane in Lane::ALL {
            for st in crate::store::COUNTED {
                let row = stats.iter().find(|r| r.0 == lane as i64 && r.1 == st);
                metrics::gauge!("modelguard_queue_depth", "lane" => lane.name(), "status" => st)
                    .set(row.map_or(0.0, |r| r.2 as f64));
                if st == "queued" {
                    let age = row.map_or(0.0, |r| (now - r.3).max(0) as f64 / 1000.0);
                    metrics::gauge!("modelguard_oldest_job_age_seconds", "lane" => lane.name())
                        .set(age);
                }
            }
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        ctx.metrics.render(),
    )
        .into_response()
}

#[derive(Deserialize)]
struct HfPayload {
    event: HfEvent,
    repo: HfRepo,
    #[serde(default, rename = "updatedRefs")]
    updated_refs: Vec<HfRef>,
}

#[derive(Deserialize)]
struct HfEvent {
    scope: String,
}

#[derive(Deserialize)]
struct HfRepo {
    #[serde(rename = "type", default = "model")]
    kind: String,
    name: String,
}

fn model() -> String {
    "model".into()
}

#[derive(Deserialize)]
struct HfRef {
    #[serde(rename = "ref")]
    name: String,
    #[serde(rename = "newSha")]
    new_sha: Option<String>,
}

/// A repository or revision name must be harmless as a URL path (it becomes one).
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && !s.split('/').any(|p| p.is_empty() || p == "." || p == "..")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
}

fn repo_key(kind: &str, name: &str) -> Option<String> {
    match kind {
        "model" => Some(name.to_string()),
        "dataset" => Some(format!("datasets/{name}")),
        "space" => Some(format!("spaces/{name}")),
        _ => None,
    }
}

/// The list jobs of an event's revisions: the first `push_quota` in `lane`, the rest in the
/// backlog lane, spread out in order (fairness within the lane).
fn list_jobs(
    ctx: &Ctx,
    hub: HubKind,
    repo: &str,
    revs: &[String],
    lane: Lane,
    push_quota: usize,
) -> Result<Vec<NewJob>, Error> {
    revs.iter()
        .enumerate()
        .map(|(i, rev)| {
            let lane = if i < push_quota { lane } else { Lane::Backlog };
            let task = ListTask {
                hub,
                repo: repo.to_string(),
                revision: rev.clone(),
                lane,
            };
            Ok(NewJob {
                kind: "list",
                lane,
                payload: serde_json::to_string(&task).map_err(|e| Error::Payload(e.to_string()))?,
                unique_key: Some(format!("list:{repo}@{rev}")),
                max_attempts: ctx.cfg.max_attempts,
                vt_offset_ms: i64::try_from(i)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(ctx.cfg.fair_spread_ms),
            })
        })
        .collect()
}

/// Read a request body of at most `max` bytes: `None` when it is larger (a
/// `Content-Length` over the limit is refused before anything is read).
async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Option<Bytes> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|l| l > max as u64) {
        return None;
    }
    axum::body::to_bytes(body, max).await.ok()
}

fn too_large(max: usize) -> Response {
    err(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("body larger than {max} bytes"),
    )
}

async fn hf_webhook(
    State(ctx): St,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(secret) = &ctx.cfg.hf_webhook_secret else {
        return err(StatusCode::FORBIDDEN, "webhook secret not configured");
    };
    // The secret travels in a header (or the query): checked before a byte of the body is
    // read, so unauthenticated posts cost no memory.
    let given = headers
        .get("x-webhook-secret")
        .and_then(|v| v.to_str().ok())
        .or(q.get("secret").map(String::as_str))
        .unwrap_or("");
    if !ct_eq(given.as_bytes(), secret.as_bytes()) {
        metrics::counter!("modelguard_webhooks_total", "source" => "huggingface", "outcome" => "unauthorized").increment(1);
        return err(StatusCode::UNAUTHORIZED, "bad webhook secret");
    }
    let max = ctx.cfg.max_webhook_body_bytes.min(ctx.cfg.max_body_bytes);
    let Some(body) = read_body(&headers, body, max).await else {
        return too_large(max);
    };
    let p: HfPayload = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return err(StatusCode::BAD_REQUEST, format!("payload: {e}")),
    };
    // Narrower unknown scopes (`repo.content.x`) count as content updates.
    if p.event.scope != "repo.content" && !p.event.scope.starts_with("repo.content.") {
        return (
            StatusCode::OK,
            axum::Json(json!({"ignored": p.event.scope})),
        )
            .into_response();
    }
    let Some(repo) = repo_key(&p.repo.kind, &p.repo.name).filter(|_| valid_name(&p.repo.name))
    else {
        return err(
            StatusCode::BAD_REQUEST,
            "unsupported repository type or name",
        );
    };
    // Branches before tags, `main` first: when an event carries more refs than the cap, the
    // ones people load from are kept.
    let mut refs: Vec<&HfRef> = p.updated_refs.iter().collect();
    refs.sort_by_key(|r| {
        (
            r.name != "refs/heads/main",
            !r.name.starts_with("refs/heads/"),
        )
    });
    let truncated = refs.len() > ctx.cfg.max_refs_per_event;
    refs.truncate(ctx.cfg.max_refs_per_event);
    let mut revs: Vec<RevisionIn> = Vec::new();
    let mut moved: Vec<(String, Option<String>)> = Vec::new();
    for r in refs {
        // Git allows ref names this service will not put in a URL: such a ref is not
        // recorded (its commit is still scanned).
        let nameable = valid_name(&r.name);
        let Some(sha) = &r.new_sha else {
            if nameable {
                moved.push((r.name.clone(), None));
            }
            continue;
        };
        if !valid_name(sha) {
            return err(StatusCode::BAD_REQUEST, "bad newSha");
        }
        if nameable {
            moved.push((r.name.clone(), Some(sha.clone())));
        }
        match revs.iter_mut().find(|x| &x.revision == sha) {
            Some(x) => {
                x.refs.push(',');
                x.refs.push_str(&r.name);
            }
            None => revs.push(RevisionIn {
                revision: sha.clone(),
                refs: r.name.clone(),
            }),
        }
    }
    if truncated {
        tracing::warn!(repo = %repo, kept = ctx.cfg.max_refs_per_event, "webhook refs truncated");
        metrics::counter!("modelguard_webhook_refs_truncated_total").increment(1);
    }
    let shas: Vec<String> = revs.iter().map(|r| r.revision.clone()).collect();
    let jobs = match list_jobs(
        &ctx,
        HubKind::Hf,
        &repo,
        &shas,
        Lane::Push,
        ctx.cfg.max_push_refs_per_event,
    ) {
        Ok(j) => j,
        Err(e) => return internal(e),
    };
    let key = format!("hf:{}", sha256_hex(&body));
    let text = String::from_utf8_lossy(&body);
    let event = EventIn {
        source: "huggingface",
        key: &key,
        body: &text,
    };
    match ctx.store.ingest(&event, &repo, &revs, &moved, &jobs).await {
        Ok(true) => {}
        Ok(false) => {
            metrics::counter!("modelguard_webhooks_total", "source" => "huggingface", "outcome" => "duplicate").increment(1);
            return (StatusCode::ACCEPTED, axum::Json(json!({"duplicate": true}))).into_response();
        }
        // Nothing stored: the hub's redelivery tries again.
        Err(e) => return internal(e),
    }
    metrics::counter!("modelguard_webhooks_total", "source" => "huggingface", "outcome" => "accepted").increment(1);
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"repo": repo, "revisions": shas, "truncated": truncated})),
    )
        .into_response()
}

#[derive(Deserialize)]
struct GiteaPush {
    #[serde(rename = "ref", default)]
    git_ref: String,
    after: String,
    repository: GiteaRepo,
}

#[derive(Deserialize)]
struct GiteaRepo {
    full_name: String,
}

async fn gitea_webhook(State(ctx): St, headers: HeaderMap, body: Body) -> Response {
    let Some(secret) = &ctx.cfg.gitea_webhook_secret else {
        return err(StatusCode::FORBIDDEN, "webhook secret not configured");
    };
    let sig = headers
        .get("x-gitea-signature")
        .or_else(|| headers.get("x-forgejo-signature"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // The HMAC covers the body, so it must be read; a request without a well-formed
    // signature is refused before that, and the body is capped.
    if sig.len() != 64 || !sig.bytes().all(|b| b.is_ascii_hexdigit()) {
        metrics::counter!("modelguard_webhooks_total", "source" => "gitea", "outcome" => "unauthorized").increment(1);
        return err(StatusCode::UNAUTHORIZED, "bad signature");
    }
    let max = ctx.cfg.max_webhook_body_bytes.min(ctx.cfg.max_body_bytes);
    let Some(body) = read_body(&headers, body, max).await else {
        return too_large(max);
    };
    if !verify_hmac(secret.as_bytes(), &body, sig) {
        metrics::counter!("modelguard_webhooks_total", "source" => "gitea", "outcome" => "unauthorized").increment(1);
        return err(StatusCode::UNAUTHORIZED, "bad signature");
    }
    let event = headers
        .get("x-gitea-event")
        .or_else(|| headers.get("x-forgejo-event"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("push");
    if event != "push" {
        return (StatusCode::OK, axum::Json(json!({"ignored": event}))).into_response();
    }
    let p: GiteaPush = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return err(StatusCode::BAD_REQUEST, format!("payload: {e}")),
    };
    if !valid_name(&p.repository.full_name)
        || !valid_name(&p.after)
        || (!p.git_ref.is_empty() && !valid_name(&p.git_ref))
    {
        return err(StatusCode::BAD_REQUEST, "bad repository, ref or commit");
    }
    let delivery = headers
        .get("x-gitea-delivery")
        .or_else(|| headers.get("x-forgejo-delivery"))
        .and_then(|v| v.to_str().ok())
        .map(|d| format!("gitea:{d}"))
        .unwrap_or_else(|| format!("gitea:{}", sha256_hex(&body)));
    let repo = format!("gitea/{}", p.repository.full_name);
    // A deleted branch has an all-zero `after`: nothing to scan, the ref is gone.
    let deleted = p.after.bytes().all(|b| b == b'0');
    let (revs, moved, jobs) = if deleted {
        (vec![], vec![(p.git_ref.clone(), None)], vec![])
    } else {
        let jobs = match list_jobs(
            &ctx,
            HubKind::Gitea,
            &repo,
            std::slice::from_ref(&p.after),
            Lane::Push,
            1,
        ) {
            Ok(j) => j,
            Err(e) => return internal(e),
        };
        (
            vec![RevisionIn {
                revision: p.after.clone(),
                refs: p.git_ref.clone(),
            }],
            vec![(p.git_ref.clone(), Some(p.after.clone()))],
            jobs,
        )
    };
    let text = String::from_utf8_lossy(&body);
    let ev = EventIn {
        source: "gitea",
        key: &delivery,
        body: &text,
    };
    let moved: Vec<(String, Option<String>)> =
        moved.into_iter().filter(|(r, _)| !r.is_empty()).collect();
    match ctx.store.ingest(&ev, &repo, &revs, &moved, &jobs).await {
        Ok(true) => {}
        Ok(false) => {
            return (StatusCode::ACCEPTED, axum::Json(json!({"duplicate": true}))).into_response();
        }
        Err(e) => return internal(e),
    }
    if deleted {
        return (
            StatusCode::ACCEPTED,
            axum::Json(json!({"deleted": p.git_ref})),
        )
            .into_response();
    }
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"repo": repo, "revisions": [p.after]})),
    )
        .into_response()
}

/// `None` when the request carries the admin token; otherwise the refusal.
fn admin_denied(ctx: &Ctx, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = &ctx.cfg.admin_token else {
        return Some(err(StatusCode::FORBIDDEN, "admin token not configured"));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if ct_eq(given.as_bytes(), token.as_bytes()) {
        None
    } else {
        Some(err(StatusCode::UNAUTHORIZED, "bad admin token"))
    }
}

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

async fn submit(
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
async fn start_crawl(State(ctx): St, headers: HeaderMap, body: Bytes) -> Response {
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
async fn get_crawl(State(ctx): St, Path(id): Path<String>) -> Response {
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
async fn list_crawls(State(ctx): St) -> Response {
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
async fn rescan(State(ctx): St, headers: HeaderMap) -> Response {
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

fn accepted(repo: &str, rev: &str) -> Response {
    let u = html::url_path(repo);
    let r = html::url_path(rev);
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({
            "repo": repo,
            "revision": rev,
            "links": {
                "results": format!("/v1/repos/{u}/revisions/{r}"),
                "page": format!("/repos/{u}?rev={r}"),
            }
        })),
    )
        .into_response()
}

async fn blob(State(ctx): St, Path(hex): Path<String>) -> Response {
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
    let counts = ctx.store.status_counts(repo, &current.revision).await?;
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

async fn repo_api(
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

async fn repo_page(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_signatures() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        let sig = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";
        let msg = b"The quick brown fox jumps over the lazy dog";
        assert!(verify_hmac(b"key", msg, sig));
        assert!(!verify_hmac(b"key2", msg, sig));
        assert!(!verify_hmac(b"key", msg, "zz"));
        assert!(valid_name("org/model-1.0"));
        assert!(!valid_name("../x"));
        assert!(!valid_name("a//b"));
        assert!(!valid_name("a b"));
    }
}
