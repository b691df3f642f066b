//! The backlog crawler: enumerate every repository of a hub and enqueue a `list` job at each
//! repository's head commit in the backlog lane.
//!
//! A crawl is a row in `crawls` (state, cursor, counters) and one `crawl` job. The job reads
//! `crawl_pages_per_job` pages, each recorded in one transaction with its list jobs and the
//! next cursor, then yields its worker and continues as a later claim. A killed process
//! loses at most the page it was reading: the lease expires, another worker claims the job
//! and resumes from the stored cursor. Re-crawls are incremental: a repository whose head
//! commit is already recorded is skipped. Requests take slots of the per-hub API rate
//! shared by every process, and a 429 puts the crawl off (see the worker).

use crate::jobs::{CrawlTask, ListTask, Outcome, api_slot};
use crate::store::crawls::PageOutcome;
use crate::store::files::RevisionIn;
use crate::store::{Lane, NewJob};
use crate::{Ctx, Error};

/// Run a crawl job: read up to `crawl_pages_per_job` pages.
pub(crate) async fn run(ctx: &Ctx, t: &CrawlTask, payload: &str) -> Result<Outcome, Error> {
    for _ in 0..ctx.cfg.crawl_pages_per_job.max(1) {
        let Some(c) = ctx.store.crawl(t.crawl).await? else {
            return Ok(Outcome::Done);
        };
        if c.state != "running" {
            return Ok(Outcome::Done);
        }
        let cursor = match &c.cursor {
            Some(c) => c.clone(),
            None => ctx
                .fetcher
                .repos_first_page(t.hub, &t.repo_type, ctx.cfg.crawl_page_size)?,
        };
        api_slot(ctx, t.hub).await?;
        let page = ctx
            .fetcher
            .list_repos_page(t.hub, &t.repo_type, &cursor, ctx.cfg.crawl_page_size)
            .await?;
        let pairs: Vec<(String, String)> = page
            .repos
            .iter()
            .filter_map(|r| Some((r.repo.clone(), r.sha.clone()?)))
            .collect();
        let known = ctx.store.known_revisions(&pairs).await?;
        let mut out = PageOutcome {
            next: page.next.clone(),
            listed: i64::try_from(page.repos.len()).unwrap_or(i64::MAX),
            ..PageOutcome::default()
        };
        for r in &page.repos {
            let revision = match &r.sha {
                Some(sha) if known.contains(&(r.repo.clone(), sha.clone())) => {
                    out.skipped += 1;
                    continue;
                }
                Some(sha) => {
                    out.revisions.push((
                        r.repo.clone(),
                        RevisionIn {
                            revision: sha.clone(),
                            refs: r.default_ref.clone(),
                        },
                        r.default_ref.clone(),
                    ));
                    sha.clone()
                }
                // No head commit in the listing: the list job resolves the ref.
                None => r.default_ref.clone(),
            };
            let task = ListTask {
                hub: t.hub,
                repo: r.repo.clone(),
                revision: revision.clone(),
                lane: Lane::Backlog,
            };
            let spread = i64::try_from(out.jobs.len())
                .unwrap_or(i64::MAX)
                .saturating_mul(ctx.cfg.fair_spread_ms);
            out.jobs.push(NewJob {
                kind: "list",
                lane: Lane::Backlog,
                payload: serde_json::to_string(&task).map_err(|e| Error::Payload(e.to_string()))?,
                unique_key: Some(format!("list:{}@{revision}", r.repo)),
                max_attempts: ctx.cfg.max_attempts,
                vt_offset_ms: spread,
            });
        }
        metrics::counter!("modelguard_crawl_repos_total", "outcome" => "listed")
            .increment(u64::try_from(out.listed).unwrap_or(0));
        if !ctx
            .store
            .crawl_page(t.crawl, c.cursor.as_deref(), &out)
            .await?
        {
            // Another worker advanced or ended the crawl meanwhile.
            return Ok(Outcome::Done);
        }
        tracing::info!(
            crawl = t.crawl,
            listed = out.listed,
            enqueued = out.jobs.len(),
            skipped = out.skipped,
            "crawl page"
        );
        if out.next.is_none() {
            tracing::info!(crawl = t.crawl, "crawl done");
            return Ok(Outcome::Done);
        }
    }
    Ok(Outcome::Continue {
        payload: payload.to_string(),
        delay_ms: 0,
    })
}
