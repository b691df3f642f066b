//! Hub events: Hugging Face `repo.content` webhooks and Gitea/Forgejo pushes, verified
//! (secret or HMAC) before the body is used, stored with their list jobs in one transaction.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

use super::{
    St, ct_eq, err, internal, list_jobs, model, read_body, repo_key, too_large, valid_name,
    verify_hmac,
};
use crate::fetch::HubKind;
use crate::store::Lane;
use crate::store::files::{EventIn, RevisionIn};
use crate::worker::sha256_hex;

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

#[derive(Deserialize)]
struct HfRef {
    #[serde(rename = "ref")]
    name: String,
    #[serde(rename = "newSha")]
    new_sha: Option<String>,
}

pub(super) async fn hf_webhook(
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

pub(super) async fn gitea_webhook(State(ctx): St, headers: HeaderMap, body: Body) -> Response {
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
