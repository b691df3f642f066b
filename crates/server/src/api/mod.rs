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
//!
//! Files: this one routes and holds what every endpoint shares (errors, secrets, names,
//! bodies, list jobs); `webhooks.rs` the hub events, `admin.rs` submissions, crawls and
//! rescans, `results.rs` what is stored (blobs, revisions, files, pages).
//!
//! Must not: scan or fetch (workers do).

mod admin;
mod results;
mod webhooks;

use admin::{get_crawl, list_crawls, rescan, start_crawl, submit};
use results::{blob, repo_api, repo_page};
use webhooks::{gitea_webhook, hf_webhook};

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hmac::{KeyInit, Mac};
use serde_json::json;

use crate::fetch::HubKind;
use crate::html;
use crate::store::{Lane, NewJob, now_ms};
use crate::worker::ListTask;
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

fn model() -> String {
    "model".into()
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
