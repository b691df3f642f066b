//! Crawl state (resumable: the cursor and the list jobs of a page are written in one
//! transaction) and the shared per-hub request rate.

use super::files::{RevisionIn, upsert_revision_on};
use super::queue::enqueue_on;
use super::{NewJob, Store, n, now_ms, os, s};
use crate::Error;

/// A crawl, as `GET /v1/crawls/<id>` shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CrawlRow {
    /// Id.
    pub id: i64,
    /// `hf` or `gitea`.
    pub hub: String,
    /// `model`, `dataset` or `space`.
    pub repo_type: String,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// Where the next page starts (`None` before the first page).
    #[serde(skip)]
    pub cursor: Option<String>,
    /// Listing pages read.
    pub pages: i64,
    /// Repositories listed by the hub.
    pub repos_listed: i64,
    /// Repositories whose head commit was enqueued for listing.
    pub repos_enqueued: i64,
    /// Repositories skipped: their head commit is already recorded.
    pub repos_skipped: i64,
    /// Why it failed.
    pub error: Option<String>,
    /// Unix ms.
    pub started_at: i64,
    /// Unix ms.
    pub finished_at: Option<i64>,
}

const CRAWL_COLS: &str = "id, hub, repo_type, state, cursor, pages, repos_listed, \
     repos_enqueued, repos_skipped, error, started_at, finished_at";

fn crawl_row(r: &sqlx::any::AnyRow) -> Result<CrawlRow, Error> {
    use sqlx::Row;
    Ok(CrawlRow {
        id: n(r, 0)?,
        hub: s(r, 1)?,
        repo_type: s(r, 2)?,
        state: s(r, 3)?,
        cursor: os(r, 4)?,
        pages: n(r, 5)?,
        repos_listed: n(r, 6)?,
        repos_enqueued: n(r, 7)?,
        repos_skipped: n(r, 8)?,
        error: os(r, 9)?,
        started_at: n(r, 10)?,
        finished_at: r.try_get::<Option<i64>, _>(11)?,
    })
}

/// What one listing page adds to a crawl.
#[derive(Debug, Clone, Default)]
pub struct PageOutcome {
    /// Where the next page starts; `None` when this was the last page.
    pub next: Option<String>,
    /// Repositories on the page.
    pub listed: i64,
    /// Repositories skipped (head commit already recorded).
    pub skipped: i64,
    /// (repo, head revision, ref) of each repository to list.
    pub revisions: Vec<(String, RevisionIn, String)>,
    /// Their list jobs.
    pub jobs: Vec<NewJob>,
}

impl Store {
    /// Start a crawl; its job is enqueued by the caller with the returned id.
    pub async fn create_crawl(
        &self,
        hub: &str,
        repo_type: &str,
        job: impl FnOnce(i64) -> NewJob,
    ) -> Result<i64, Error> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO crawls (hub, repo_type, state, started_at) VALUES ($1, $2, 'running', $3) \
             RETURNING id",
        )
        .bind(hub)
        .bind(repo_type)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?;
        let id = n(&row, 0)?;
        enqueue_on(&mut tx, &[job(id)]).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// One crawl.
    pub async fn crawl(&self, id: i64) -> Result<Option<CrawlRow>, Error> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CRAWL_COLS} FROM crawls WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(crawl_row).transpose()
    }

    /// Crawls, newest first (at most `limit`).
    pub async fn crawls(&self, limit: i64) -> Result<Vec<CrawlRow>, Error> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CRAWL_COLS} FROM crawls ORDER BY id DESC LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(crawl_row).collect()
    }

    /// Record one listing page: its revisions, refs (unless a push already set them) and
    /// list jobs, the new cursor and counters, in one transaction. `expected` is the cursor
    /// the page was read from: when another worker advanced the crawl meanwhile (a lease
    /// that expired under a slow page), nothing is written and false is returned.
    pub async fn crawl_page(
        &self,
        id: i64,
        expected: Option<&str>,
        page: &PageOutcome,
    ) -> Result<bool, Error> {
        let mut tx = self.pool.begin().await?;
        let done = page.next.is_none();
        let r = sqlx::query(
            "UPDATE crawls SET cursor = $1, pages = pages + 1, repos_listed = repos_listed + $2, \
             repos_enqueued = repos_enqueued + $3, repos_skipped = repos_skipped + $4, \
             state = $5, finished_at = $6 WHERE id = $7 AND state = 'running' AND \
             COALESCE(cursor, '') = $8",
        )
        .bind(page.next.clone())
        .bind(page.listed)
        .bind(i64::try_from(page.jobs.len()).unwrap_or(i64::MAX))
        .bind(page.skipped)
        .bind(if done { "done" } else { "running" })
        .bind(done.then(now_ms))
        .bind(id)
        .bind(expected.unwrap_or(""))
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        for (repo, rev, ref_name) in &page.revisions {
            upsert_revision_on(&mut tx, repo, &rev.revision, &rev.refs).await?;
            sqlx::query(
                "INSERT INTO repo_refs (repo, ref, revision, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (repo, ref) DO NOTHING",
            )
            .bind(repo.as_str())
            .bind(ref_name.as_str())
            .bind(rev.revision.as_str())
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        enqueue_on(&mut tx, &page.jobs).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// End a crawl as failed.
    pub async fn fail_crawl(&self, id: i64, error: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE crawls SET state = 'failed', error = $1, finished_at = $2 WHERE id = $3 \
             AND state = 'running'",
        )
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Take the next request slot of `hub` at `interval_ms` between requests, shared by every
    /// process on this database. Returns how long to wait before sending (ms).
    pub async fn rate_slot(&self, hub: &str, interval_ms: i64) -> Result<i64, Error> {
        let now = now_ms();
        let row = sqlx::query(
            "INSERT INTO hub_rate (hub, next_at) VALUES ($1, $2) ON CONFLICT (hub) DO UPDATE \
             SET next_at = (CASE WHEN hub_rate.next_at > $3 THEN hub_rate.next_at ELSE $4 END) \
             + $5 RETURNING next_at",
        )
        .bind(hub)
        .bind(now + interval_ms)
        .bind(now)
        .bind(now)
        .bind(interval_ms)
        .fetch_one(&self.pool)
        .await?;
        let next_at = n(&row, 0)?;
        Ok((next_at - interval_ms - now).max(0))
    }

    /// The hub asked us to wait: no process sends it a request before `until` (Unix ms).
    pub async fn rate_pause(&self, hub: &str, until: i64) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO hub_rate (hub, next_at) VALUES ($1, $2) ON CONFLICT (hub) DO UPDATE \
             SET next_at = CASE WHEN hub_rate.next_at > $3 THEN hub_rate.next_at ELSE $4 END",
        )
        .bind(hub)
        .bind(until)
        .bind(until)
        .bind(until)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
