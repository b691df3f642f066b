//! Workers: claim jobs, keep their leases alive, run them, record the outcome.
//!
//! Three job kinds:
//! - `crawl`: read a few pages of a hub's repository listing and enqueue a `list` job per
//!   repository whose head commit is not recorded yet; the cursor and the page's jobs are
//!   written in one transaction, then the job yields and continues as a later claim;
//! - `list`: resolve a ref to its commit when given a name, list the revision, record every
//!   file (in batches), link files whose content already has a result (cache hit), and
//!   enqueue a `scan` job for the rest (one job per distinct blob: the active-job unique
//!   key is the hash), spread out so one repository cannot hold the lane;
//! - `scan`: fetch one occurrence of a blob (whole or by ranges), scan it on a blocking
//!   thread, store the result under (sha256, analyser version, policy digest) and give its
//!   status to every occurrence of that content.
//!
//! Failures belong to the occurrence that met them: a file that cannot be fetched from its
//! repository (401/403/404) shows its own error, and the blob is fetched from another
//! occurrence still waiting; a rate limit puts the job off (without using an attempt); a
//! failure never replaces a verdict already shown.

use std::sync::Arc;
use std::time::Duration;

use modelguard::source::ReadAt;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::fetch::{HubKind, Opened};
use crate::jobs::Outcome;
pub use crate::jobs::{CrawlTask, FileSource, ListTask, ScanTask, api_slot};
use crate::status;
use crate::store::files::FileIn;
use crate::store::{Job, Lane, NewJob, ResultRow, now_ms};
use crate::{Ctx, Error};

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
        let jobs = match ctx
            .store
            .claim_batch(&name, lease_ms, prefer, ctx.cfg.claim_batch)
            .await
        {
            Ok(jobs) if !jobs.is_empty() => jobs,
            Ok(_) => {
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
        // One renewal task for every job this worker holds (one statement per renewal).
        let renew = {
            let ctx = ctx.clone();
            let name = name.clone();
            tokio::spawn(async move {
                let every =
                    Duration::from_millis(u64::try_from(lease_ms / 3).unwrap_or(1000).max(100));
                loop {
                    tokio::time::sleep(every).await;
                    if let Err(e) = ctx.store.renew_all(&name, lease_ms).await {
                        tracing::warn!(error = %e, "lease renewal failed");
                    }
                }
            })
        };
        let mut jobs = jobs.into_iter();
        while let Some(job) = jobs.next() {
            if *shutdown.borrow() {
                // Claimed but not started: give it back at once.
                let _ = ctx.store.release(job.id, &name).await;
                for rest in jobs.by_ref() {
                    let _ = ctx.store.release(rest.id, &name).await;
                }
                break;
            }
            if job.attempts > job.max_attempts {
                // Its earlier workers died holding it (lease expired each time): poison.
                let msg = "attempts used up by workers that did not finish (lease expired)";
                tracing::warn!(job = job.id, "quarantined: {msg}");
                let _ = ctx.store.quarantine(job.id, msg).await;
                mark_failed(&ctx, &job, msg).await;
                continue;
            }
            run_one(&ctx, &name, job, &mut shutdown).await;
        }
        renew.abort();
    }
    tracing::info!(worker = %name, "worker stopped");
}

async fn run_one(ctx: &Arc<Ctx>, name: &str, job: Job, shutdown: &mut watch::Receiver<bool>) {
    let span = tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);
    let _enter = span.enter();
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
    metrics::histogram!("modelguard_job_seconds", "kind" => job.kind.clone())
        .record(started.elapsed().as_secs_f64());
    match outcome {
        None => {
            tracing::info!("shutdown: releasing lease");
            let _ = ctx.store.release(job.id, name).await;
        }
        Some(Ok(Outcome::Done)) => {
            if let Err(e) = ctx.store.complete(job.id, name).await {
                tracing::warn!(error = %e, "could not mark job done");
            }
        }
        Some(Ok(Outcome::Continue { payload, delay_ms })) => {
            if let Err(e) = ctx.store.requeue(job.id, name, &payload, delay_ms).await {
                tracing::warn!(error = %e, "could not requeue job");
            }
        }
        Some(Err(e)) => failed(ctx, name, &job, e).await,
    }
}

/// A job ended with an error: put it off (rate limit), retry it, or give up.
async fn failed(ctx: &Ctx, name: &str, job: &Job, e: Error) {
    let msg = e.to_string();
    tracing::warn!(error = %msg, "job failed");
    metrics::counter!("modelguard_errors_total", "kind" => job.kind.clone()).increment(1);
    if let Error::RetryLater { retry_after, .. } = &e {
        // The hub asked us to wait: put the job off, doubling each time, without using an
        // attempt; every process holds back its API requests meanwhile.
        let base = ctx.cfg.defer_base_secs.max(1);
        let backoff = base.saturating_mul(1u64 << job.deferrals.clamp(0, 20));
        let secs = backoff
            .max(retry_after.map_or(0, |d| d.as_secs()))
            .min(ctx.cfg.defer_max_secs.max(1));
        let delay_ms = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let _ = ctx
            .store
            .rate_pause(hub_key(job), now_ms().saturating_add(delay_ms.min(60_000)))
            .await;
        match ctx
            .store
            .defer(job, name, delay_ms, ctx.cfg.max_deferrals, &msg)
            .await
        {
            Ok(true) => {
                metrics::counter!("modelguard_deferrals_total", "kind" => job.kind.clone())
                    .increment(1);
                return;
            }
            Ok(false) => {}
            Err(err) => {
                tracing::warn!(error = %err, "could not defer job");
                return;
            }
        }
        let _ = ctx.store.quarantine(job.id, &msg).await;
        mark_failed(ctx, job, &msg).await;
        return;
    }
    // A permanent error (too large, forbidden URL, bad payload, unavailable here) is not
    // retried.
    let permanent = matches!(
        e,
        Error::TooLarge(_) | Error::Forbidden(_) | Error::Payload(_) | Error::Unavailable { .. }
    );
    let quarantined = if permanent {
        let _ = ctx.store.quarantine(job.id, &msg).await;
        true
    } else {
        ctx.store.fail(job, name, &msg).await.unwrap_or(false)
    };
    if quarantined {
        mark_failed(ctx, job, &msg).await;
    }
}

/// The rate-limit key of a job's hub.
fn hub_key(job: &Job) -> &'static str {
    if job.payload.contains("\"hub\":\"gitea\"") {
        "gitea"
    } else {
        "hf"
    }
}

/// A job gave up. A scan: this occurrence shows the error (a file showing an earlier verdict
/// keeps it), and the blob is fetched from another occurrence still waiting, if any. A
/// listing: the revision is `error`. A crawl: `failed`.
async fn mark_failed(ctx: &Ctx, job: &Job, msg: &str) {
    match job.kind.as_str() {
        "scan" => {
            if let Ok(t) = serde_json::from_str::<ScanTask>(&job.payload) {
                let _ = ctx
                    .store
                    .occurrence_failed(&t.repo, &t.revision, &t.path, msg)
                    .await;
                if let Some(sha) = &t.sha256 {
                    move_to_other_occurrence(ctx, job, &t, sha).await;
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
        "crawl" => {
            if let Ok(t) = serde_json::from_str::<CrawlTask>(&job.payload) {
                let _ = ctx.store.fail_crawl(t.crawl, msg).await;
            }
        }
        _ => {}
    }
}

/// Scan the blob from another occurrence still waiting for its verdict: a new job (the
/// failed one is quarantined, so the blob's unique key is free).
async fn move_to_other_occurrence(ctx: &Ctx, job: &Job, t: &ScanTask, sha: &str) {
    let Ok(Some((repo, revision, path, size))) = ctx
        .store
        .other_occurrence(sha, (&t.repo, &t.revision, &t.path))
        .await
    else {
        return;
    };
    let hub = match &t.source {
        FileSource::Hub { hub } => *hub,
        _ if repo.starts_with("gitea/") => HubKind::Gitea,
        _ => HubKind::Hf,
    };
    let next = ScanTask {
        source: FileSource::Hub { hub },
        repo,
        revision,
        path,
        sha256: Some(sha.to_string()),
        size: u64::try_from(size).ok(),
    };
    let Ok(payload) = serde_json::to_string(&next) else {
        return;
    };
    let lane = match job.lane {
        1 => Lane::Push,
        2 => Lane::Api,
        3 => Lane::Rescan,
        _ => Lane::Backlog,
    };
    tracing::info!(sha256 = %sha, repo = %next.repo, "fetching the blob from another occurrence");
    let _ = ctx
        .store
        .enqueue(
            "scan",
            lane,
            &payload,
            Some(&format!("blob:{sha}")),
            ctx.cfg.max_attempts,
        )
        .await;
}

async fn process(ctx: &Arc<Ctx>, job: &Job) -> Result<Outcome, Error> {
    match job.kind.as_str() {
        "list" => {
            let t: ListTask =
                serde_json::from_str(&job.payload).map_err(|e| Error::Payload(e.to_string()))?;
            list(ctx, &t).await.map(|()| Outcome::Done)
        }
        "scan" => {
            let t: ScanTask =
                serde_json::from_str(&job.payload).map_err(|e| Error::Payload(e.to_string()))?;
            scan(ctx, &t).await
        }
        "crawl" => {
            let t: CrawlTask =
                serde_json::from_str(&job.payload).map_err(|e| Error::Payload(e.to_string()))?;
            crate::crawl::run(ctx, &t, &job.payload).await
        }
        other => Err(Error::Payload(format!("unknown job kind {other}"))),
    }
}

async fn list(ctx: &Arc<Ctx>, t: &ListTask) -> Result<(), Error> {
    // A ref name (an API submission's `main`) names different content over time: resolve it
    // to its commit now, and list that.
    let revision = if crate::fetch::is_commit(&t.revision) {
        t.revision.to_ascii_lowercase()
    } else {
        api_slot(ctx, t.hub).await?;
        let sha = ctx
            .fetcher
            .resolve_revision(t.hub, &t.repo, &t.revision)
            .await?;
        ctx.store
            .upsert_revision(&t.repo, &sha, &t.revision)
            .await?;
        ctx.store.set_ref(&t.repo, &t.revision, &sha, false).await?;
        sha
    };
    api_slot(ctx, t.hub).await?;
    let files = ctx.fetcher.list_tree(t.hub, &t.repo, &revision).await?;
    let (analyser, policy) = ctx.cache_key();
    let rows: Vec<FileIn> = files
        .iter()
        .map(|f| FileIn {
            path: f.path.clone(),
            sha256: f.sha256.clone(),
            size: i64::try_from(f.size).unwrap_or(i64::MAX),
        })
        .collect();
    // The rows exist before the result lookup: a scan finishing in between either sees them
    // (and updates them) or stored its result before the lookup.
    ctx.store.upsert_files(&t.repo, &revision, &rows).await?;
    let mut shas: Vec<&str> = files.iter().filter_map(|f| f.sha256.as_deref()).collect();
    shas.sort_unstable();
    shas.dedup();
    let hits = ctx.store.cached_statuses(&shas, &analyser, &policy).await?;
    if !hits.is_empty() {
        metrics::counter!("modelguard_cache_hits_total").increment(hits.len() as u64);
        let by_sha: Vec<(&str, &str)> =
            hits.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        ctx.store
            .set_statuses_in_revision(&t.repo, &revision, &by_sha)
            .await?;
    }
    let mut jobs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for f in &files {
        if f.sha256.as_ref().is_some_and(|s| hits.contains_key(s)) {
            continue;
        }
        let key = match &f.sha256 {
            Some(sha) => format!("blob:{sha}"),
            None => format!("file:{}@{}:{}", t.repo, revision, f.path),
        };
        if !seen.insert(key.clone()) {
            continue;
        }
        let task = ScanTask {
            source: FileSource::Hub { hub: t.hub },
            repo: t.repo.clone(),
            revision: revision.clone(),
            path: f.path.clone(),
            sha256: f.sha256.clone(),
            size: Some(f.size),
        };
        let payload = serde_json::to_string(&task).map_err(|e| Error::Payload(e.to_string()))?;
        let spread = i64::try_from(jobs.len())
            .unwrap_or(i64::MAX)
            .saturating_mul(ctx.cfg.fair_spread_ms);
        jobs.push(NewJob {
            kind: "scan",
            lane: t.lane,
            payload,
            unique_key: Some(key),
            max_attempts: ctx.cfg.max_attempts,
            vt_offset_ms: spread,
        });
    }
    ctx.store.enqueue_many(&jobs).await?;
    ctx.store
        .set_revision_state(&t.repo, &revision, "listed", None)
        .await?;
    tracing::info!(repo = %t.repo, revision = %revision, files = files.len(), "listed");
    Ok(())
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(data: &[u8]) -> String {
    modelguard::report::hex(&Sha256::digest(data))
}

async fn scan(ctx: &Arc<Ctx>, t: &ScanTask) -> Result<Outcome, Error> {
    let (analyser, policy) = ctx.cache_key();
    if let Some(sha) = &t.sha256 {
        if let Some(hit) = ctx.store.result(sha, &analyser, &policy).await? {
            metrics::counter!("modelguard_cache_hits_total").increment(1);
            return finish(ctx, t, sha, &hit.status).await;
        }
        if let Some(st) = rejudge(ctx, sha).await? {
            return finish(ctx, t, sha, &st).await;
        }
    }
    let opened = match &t.source {
        FileSource::Hub { hub } => {
            let url = ctx.fetcher.file_url(*hub, &t.repo, &t.revision, &t.path)?;
            ctx.fetcher.open(None, &url, t.size).await
        }
        FileSource::Url { url } => {
            let client = ctx.fetcher.guard_url(url).await?;
            ctx.fetcher.open(Some(&client), url, None).await
        }
        FileSource::Upload { id } => {
            Ok(Opened::Whole(ctx.store.upload(*id).await?.ok_or_else(
                || Error::Payload(format!("upload {id} is gone")),
            )?))
        }
    };
    let opened = match opened {
        Ok(o) => o,
        // This occurrence cannot be fetched (gated, deleted): its own error; the blob is
        // fetched from another occurrence still waiting, if there is one.
        Err(crate::fetch::Error::Status { url: _, status })
            if matches!(status, 401 | 403 | 404 | 410 | 451) =>
        {
            return unavailable_here(ctx, t, status).await;
        }
        Err(e) => return Err(e.into()),
    };
    let (src, sha, ranged): (
        Box<dyn ReadAt>,
        String,
        Option<Arc<crate::fetch::HttpSource>>,
    ) = match opened {
        Opened::Whole(data) => {
            let sha = sha256_hex(&data);
            if let Some(expected) = &t.sha256
                && !expected.eq_ignore_ascii_case(&sha)
            {
                return Err(Error::Fetch(format!(
                    "content hash {sha} does not match the announced {expected}"
                )));
            }
            (Box::new(data), sha, None)
        }
        Opened::Range(src) => {
            // Range reads never see every byte, so the announced hash is the key.
            // Without one (a large file at a URL), the key names this occurrence only, so
            // the result is stored but never reused for other content behind the name.
            let sha = t.sha256.clone().unwrap_or_else(|| {
                let id = format!("{}\n{}\n{}", t.repo, t.revision, t.path);
                format!("unhashed-{}", sha256_hex(id.as_bytes()))
            });
            let src: Arc<crate::fetch::HttpSource> = Arc::from(src);
            (Box::new(Shared(src.clone())), sha, Some(src))
        }
    };
    if t.sha256.is_none() {
        if let Some(hit) = ctx.store.result(&sha, &analyser, &policy).await? {
            metrics::counter!("modelguard_cache_hits_total").increment(1);
            return finish(ctx, t, &sha, &hit.status).await;
        }
        if let Some(st) = rejudge(ctx, &sha).await? {
            return finish(ctx, t, &sha, &st).await;
        }
    }
    metrics::counter!("modelguard_cache_misses_total").increment(1);
    let scanner = ctx.scanner.clone();
    let name = t.path.clone();
    let mut analysis = tokio::task::spawn_blocking(move || scanner.analyze_source(&name, &*src))
        .await
        .map_err(|e| Error::Scan(e.to_string()))?;
    // A range read that failed mid-scan (a rate limit, a dropped connection) left the
    // analysers short of bytes: retry the job rather than store that as the verdict.
    if let Some(failure) = ranged.as_ref().and_then(|s| s.failure()) {
        return Err(if failure.contains("429") || failure.contains("HTTP 5") {
            Error::RetryLater {
                message: format!("range read failed: {failure}"),
                retry_after: None,
            }
        } else {
            Error::Fetch(format!("range read failed: {failure}"))
        });
    }
    analysis.sha256 = Some(sha.clone());
    // The analysis is stored before it is judged: a later policy or rule change re-judges it
    // without the bytes.
    let stored = serde_json::to_vec(&analysis).map_err(|e| Error::Scan(e.to_string()))?;
    ctx.store
        .put_analysis(&sha, &ctx.extractor, &stored)
        .await?;
    let report = crate::judge(&ctx.policy, analysis);
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

/// Largest stored analysis inflated (a report is a few KB; this bounds a damaged row).
const MAX_ANALYSIS_BYTES: u64 = 256 << 20;

/// The verdict of a blob from its stored analysis under the current extractor, stored as
/// its current result: `None` when there is no such analysis (the bytes are needed).
pub async fn rejudge(ctx: &Ctx, sha: &str) -> Result<Option<String>, Error> {
    let Some(json) = ctx
        .store
        .analysis(sha, &ctx.extractor, MAX_ANALYSIS_BYTES)
        .await?
    else {
        return Ok(None);
    };
    let policy = ctx.policy.clone();
    let judged = tokio::task::spawn_blocking(move || {
        serde_json::from_slice::<modelguard::scan::FileAnalysis>(&json)
            .ok()
            .map(|a| crate::judge(&policy, a))
            .and_then(|r| Some((status::of_report(&r), serde_json::to_string(&r).ok()?)))
    })
    .await
    .map_err(|e| Error::Scan(e.to_string()))?;
    let Some((st, report)) = judged else {
        // An analysis this version cannot read: scan again.
        return Ok(None);
    };
    let (analyser, policy) = ctx.cache_key();
    ctx.store
        .put_result(&ResultRow {
            sha256: sha.to_string(),
            analyser,
            policy,
            status: st.to_string(),
            report,
            scanned_at: now_ms(),
        })
        .await?;
    metrics::counter!("modelguard_rejudged_total").increment(1);
    Ok(Some(st.to_string()))
}

/// [`ReadAt`] over a shared [`crate::fetch::HttpSource`], so the worker can ask it after the
/// scan whether a read failed.
struct Shared(Arc<crate::fetch::HttpSource>);

impl ReadAt for Shared {
    fn size(&self) -> u64 {
        self.0.size()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read_at(offset, buf)
    }
}

/// This occurrence answered 401/403/404…: it shows its own error (naming only its own
/// status), and the scan moves to another occurrence of the blob still waiting.
async fn unavailable_here(ctx: &Ctx, t: &ScanTask, status: u16) -> Result<Outcome, Error> {
    let msg = match &t.source {
        FileSource::Url { .. } => format!("cannot fetch the URL: HTTP {status}"),
        _ => format!("cannot fetch this file from its repository: HTTP {status}"),
    };
    ctx.store
        .occurrence_failed(&t.repo, &t.revision, &t.path, &msg)
        .await?;
    metrics::counter!("modelguard_unavailable_occurrences_total").increment(1);
    let Some(sha) = &t.sha256 else {
        return Ok(Outcome::Done);
    };
    let Some((repo, revision, path, size)) = ctx
        .store
        .other_occurrence(sha, (&t.repo, &t.revision, &t.path))
        .await?
    else {
        return Ok(Outcome::Done);
    };
    tracing::info!(sha256 = %sha, from = %t.repo, to = %repo, "occurrence unavailable; trying another");
    let hub = if repo.starts_with("gitea/") {
        HubKind::Gitea
    } else {
        HubKind::Hf
    };
    let next = ScanTask {
        source: FileSource::Hub { hub },
        repo,
        revision,
        path,
        sha256: Some(sha.clone()),
        size: u64::try_from(size).ok(),
    };
    let payload = serde_json::to_string(&next).map_err(|e| Error::Payload(e.to_string()))?;
    Ok(Outcome::Continue {
        payload,
        delay_ms: 0,
    })
}

async fn finish(ctx: &Ctx, t: &ScanTask, sha: &str, st: &str) -> Result<Outcome, Error> {
    ctx.store
        .set_file_status(&t.repo, &t.revision, &t.path, Some(sha), st, None)
        .await?;
    ctx.store.set_status_by_sha(sha, st).await?;
    Ok(Outcome::Done)
}
