//! Workers: claim a job, keep its lease alive, run it, record the outcome.
//!
//! Two job kinds:
//! - `list`: list a repository revision, record every file as `queued`, link files whose
//!   content hash already has a result (cache hit), enqueue a `scan` job for the rest
//!   (one job per distinct blob: the active-job unique key is the hash);
//! - `scan`: fetch one file (whole or by ranges), scan it on a blocking thread, store the
//!   result under (sha256, analyser version, policy digest) and propagate its status to
//!   every occurrence of that content.

use std::sync::Arc;
use std::time::Duration;

use modelguard::source::ReadAt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::fetch::{HubKind, Opened};
use crate::status;
use crate::store::{Job, Lane, ResultRow, now_ms};
use crate::{Ctx, Error};

/// Payload of a `list` job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListTask {
    /// Hub API.
    pub hub: HubKind,
    /// Repository (`owner/name`, `datasets/owner/name`…).
    pub repo: String,
    /// Commit (or ref name for API submissions).
    pub revision: String,
    /// Lane of the scan jobs it creates.
    pub lane: Lane,
}

/// Where a scan job's bytes come from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FileSource {
    /// A file of a hub repository.
    Hub {
        /// Hub API.
        hub: HubKind,
    },
    /// A user-submitted URL (SSRF-guarded at fetch time).
    Url {
        /// The URL.
        url: String,
    },
    /// An uploaded body kept in the `uploads` table.
    Upload {
        /// Upload row id.
        id: i64,
    },
}

/// Payload of a `scan` job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanTask {
    /// Source of the bytes.
    pub source: FileSource,
    /// Repository of the occurrence that asked for the scan.
    pub repo: String,
    /// Its revision.
    pub revision: String,
    /// Its path.
    pub path: String,
    /// Content hash, when announced before download (`lfs.oid`).
    pub sha256: Option<String>,
    /// Size, when announced.
    pub size: Option<u64>,
}

/// Run a worker until `shutdown` turns true. In-flight jobs get `shutdown_grace_secs` to
/// finish; then their leases are released for another worker.
pub async fn run(ctx: Arc<Ctx>, name: String, mut shutdown: watch::Receiver<bool>) {
    let lease_ms = i64::try_from(ctx.cfg.lease_secs.saturating_mul(1000)).unwrap_or(60_000);
    let mut claims = 0u64;
    loop {
        if *shutdown.borrow() {
            break;
        }
        claims = claims.wrapping_add(1);
        let prefer = Lane::share(claims);
        let job = match ctx.store.claim_preferring(&name, lease_ms, prefer).await {
            Ok(Some(job)) => job,
            Ok(None) => {
                tokio::select! {
                    _ = tokio::time::sleep(ctx.poll) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(worker = %name, error = %e, "claim failed");
                metrics::counter!("modelguard_errors_total", "kind" => "claim").increment(1);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if job.attempts > job.max_attempts {
            // Its earlier workers died holding it (lease expired each time): poison.
            let msg = "attempts used up by workers that did not finish (lease expired)";
            tracing::warn!(job = job.id, "quarantined: {msg}");
            let _ = ctx.store.quarantine(job.id, msg).await;
            mark_failed(&ctx, &job, msg).await;
            continue;
        }
        run_one(&ctx, &name, job, lease_ms, &mut shutdown).await;
    }
    tracing::info!(worker = %name, "worker stopped");
}

async fn run_one(
    ctx: &Arc<Ctx>,
    name: &str,
    job: Job,
    lease_ms: i64,
    shutdown: &mut watch::Receiver<bool>,
) {
    let span = tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);
    let _enter = span.enter();
    // Renew the lease at a third of its length while the job runs.
    let renew = {
        let ctx = ctx.clone();
        let name = name.to_string();
        let id = job.id;
        tokio::spawn(async move {
            let every = Duration::from_millis(u64::try_from(lease_ms / 3).unwrap_or(1000).max(100));
            loop {
                tokio::time::sleep(every).await;
                match ctx.store.renew(id, &name, lease_ms).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => tracing::warn!(error = %e, "lease renewal failed"),
                }
            }
        })
    };
    let started = std::time::Instant::now();
    let work = process(ctx, &job);
    tokio::pin!(work);
    let grace = Duration::from_secs(ctx.cfg.shutdown_grace_secs);
    let outcome = tokio::select! {
        r = &mut work => Some(r),
        _ = async {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() { break; }
            }
            tokio::time::sleep(grace).await;
        } => None,
    };
    renew.abort();
    metrics::histogram!("modelguard_job_seconds", "kind" => job.kind.clone())
        .record(started.elapsed().as_secs_f64());
    match outcome {
        None => {
            tracing::info!("shutdown: releasing lease");
            let _ = ctx.store.release(job.id, name).await;
        }
        Some(Ok(())) => {
            if let Err(e) = ctx.store.complete(job.id, name).await {
                tracing::warn!(error = %e, "could not mark job done");
            }
        }
        Some(Err(e)) => {
            let msg = e.to_string();
            tracing::warn!(error = %msg, "job failed");
            metrics::counter!("modelguard_errors_total", "kind" => job.kind.clone()).increment(1);
            // A permanent error (too large, forbidden URL, bad payload) is not retried.
            let permanent = matches!(
                e,
                Error::TooLarge(_) | Error::Forbidden(_) | Error::Payload(_)
            );
            let quarantined = if permanent {
                let _ = ctx.store.quarantine(job.id, &msg).await;
                true
            } else {
                ctx.store.fail(&job, name, &msg).await.unwrap_or(false)
            };
            if quarantined {
                mark_failed(ctx, &job, &msg).await;
            }
        }
    }
}

/// A job gave up: its files become `error` (never left `queued`, never shown as safe).
async fn mark_failed(ctx: &Ctx, job: &Job, msg: &str) {
    match job.kind.as_str() {
        "scan" => {
            if let Ok(t) = serde_json::from_str::<ScanTask>(&job.payload) {
                let _ = ctx
                    .store
                    .set_file_status(
                        &t.repo,
                        &t.revision,
                        &t.path,
                        None,
                        status::ERROR,
                        Some(msg),
                    )
                    .await;
                if let Some(sha) = &t.sha256 {
                    let _ = ctx
                        .store
                        .set_status_by_sha(sha, status::ERROR, Some(msg))
                        .await;
                }
            }
        }
        "list" => {
            if let Ok(t) = serde_json::from_str::<ListTask>(&job.payload) {
                let _ = ctx
                    .store
                    .set_revision_state(&t.repo, &t.revision, "error", Some(msg))
                    .await;
            }
        }
        _ => {}
    }
}

async fn process(ctx: &Arc<Ctx>, job: &Job) -> Result<(), Error> {
    match job.kind.as_str() {
        "list" => {
            let t: ListTask =
                serde_json::from_str(&job.payload).map_err(|e| Error::Payload(e.to_string()))?;
            list(ctx, &t).await
        }
        "scan" => {
            let t: ScanTask =
                serde_json::from_str(&job.payload).map_err(|e| Error::Payload(e.to_string()))?;
            scan(ctx, &t).await
        }
        other => Err(Error::Payload(format!("unknown job kind {other}"))),
    }
}

async fn list(ctx: &Arc<Ctx>, t: &ListTask) -> Result<(), Error> {
    let files = ctx.fetcher.list_tree(t.hub, &t.repo, &t.revision).await?;
    let (analyser, policy) = ctx.cache_key();
    for f in &files {
        let size = i64::try_from(f.size).unwrap_or(i64::MAX);
        ctx.store
            .upsert_file(
                &t.repo,
                &t.revision,
                &f.path,
                f.sha256.as_deref(),
                size,
                status::QUEUED,
            )
            .await?;
        // Checked after the row exists: a scan finishing in between either sees the row
        // (and updates it) or stored its result before this lookup.
        if let Some(sha) = &f.sha256
            && let Some(hit) = ctx.store.result(sha, &analyser, &policy).await?
        {
            metrics::counter!("modelguard_cache_hits_total").increment(1);
            ctx.store
                .set_file_status(&t.repo, &t.revision, &f.path, None, &hit.status, None)
                .await?;
            continue;
        }
        let task = ScanTask {
            source: FileSource::Hub { hub: t.hub },
            repo: t.repo.clone(),
            revision: t.revision.clone(),
            path: f.path.clone(),
            sha256: f.sha256.clone(),
            size: Some(f.size),
        };
        let key = match &f.sha256 {
            Some(sha) => format!("blob:{sha}"),
            None => format!("file:{}@{}:{}", t.repo, t.revision, f.path),
        };
        let payload = serde_json::to_string(&task).map_err(|e| Error::Payload(e.to_string()))?;
        ctx.store
            .enqueue("scan", t.lane, &payload, Some(&key), ctx.cfg.max_attempts)
            .await?;
    }
    ctx.store
        .set_revision_state(&t.repo, &t.revision, "listed", None)
        .await?;
    tracing::info!(repo = %t.repo, revision = %t.revision, files = files.len(), "listed");
    Ok(())
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(data: &[u8]) -> String {
    modelguard::report::hex(&Sha256::digest(data))
}

async fn scan(ctx: &Arc<Ctx>, t: &ScanTask) -> Result<(), Error> {
    let (analyser, policy) = ctx.cache_key();
    if let Some(sha) = &t.sha256
        && let Some(hit) = ctx.store.result(sha, &analyser, &policy).await?
    {
        metrics::counter!("modelguard_cache_hits_total").increment(1);
        return finish(ctx, t, sha, &hit.status).await;
    }
    let opened = match &t.source {
        FileSource::Hub { hub } => {
            let url = ctx.fetcher.file_url(*hub, &t.repo, &t.revision, &t.path)?;
            ctx.fetcher.open(None, &url, t.size).await?
        }
        FileSource::Url { url } => {
            let client = ctx.fetcher.guard_url(url).await?;
            ctx.fetcher.open(Some(&client), url, None).await?
        }
        FileSource::Upload { id } => Opened::Whole(
            ctx.store
                .upload(*id)
                .await?
                .ok_or_else(|| Error::Payload(format!("upload {id} is gone")))?,
        ),
    };
    let (src, sha): (Box<dyn ReadAt>, String) = match opened {
        Opened::Whole(data) => {
            let sha = sha256_hex(&data);
            if let Some(expected) = &t.sha256
                && !expected.eq_ignore_ascii_case(&sha)
            {
                return Err(Error::Fetch(format!(
                    "content hash {sha} does not match the announced {expected}"
                )));
            }
            (Box::new(data), sha)
        }
        Opened::Range(src) => {
            // Range reads never see every byte, so the announced hash is the key. Without
            // one (a large file at a URL), the key names this occurrence only, so the result
            // is stored but never reused for other content behind the same name.
            let sha = t.sha256.clone().unwrap_or_else(|| {
                let id = format!("{}\n{}\n{}", t.repo, t.revision, t.path);
                format!("unhashed-{}", sha256_hex(id.as_bytes()))
            });
            (src, sha)
        }
    };
    if t.sha256.is_none()
        && let Some(hit) = ctx.store.result(&sha, &analyser, &policy).await?
    {
        metrics::counter!("modelguard_cache_hits_total").increment(1);
        return finish(ctx, t, &sha, &hit.status).await;
    }
    metrics::counter!("modelguard_cache_misses_total").increment(1);
    let scanner = ctx.scanner.clone();
    let name = t.path.clone();
    let mut report = tokio::task::spawn_blocking(move || scanner.scan_source(&name, &*src))
        .await
        .map_err(|e| Error::Scan(e.to_string()))?;
    report.sha256 = Some(sha.clone());
    let st = status::of_report(&report);
    metrics::counter!("modelguard_scans_total", "status" => st).increment(1);
    let row = ResultRow {
        sha256: sha.clone(),
        analyser,
        policy,
        status: st.to_string(),
        report: serde_json::to_string(&report).map_err(|e| Error::Scan(e.to_string()))?,
        scanned_at: now_ms(),
    };
    ctx.store.put_result(&row).await?;
    if let FileSource::Upload { id } = &t.source {
        let _ = ctx.store.delete_upload(*id).await;
    }
    tracing::info!(path = %t.path, sha256 = %sha, status = st, "scanned");
    finish(ctx, t, &sha, st).await
}

async fn finish(ctx: &Ctx, t: &ScanTask, sha: &str, st: &str) -> Result<(), Error> {
    ctx.store
        .set_file_status(&t.repo, &t.revision, &t.path, Some(sha), st, None)
        .await?;
    ctx.store.set_status_by_sha(sha, st, None).await?;
    Ok(())
}
