//! The job queue: batched enqueue, claims by index, leases, retries and deferrals,
//! counters, pruning.
//!
//! A claim reads one lane at a time: `status = 'queued' AND lane = ?` through the partial
//! index `jobs_runnable (lane, vt, id)`, so its cost does not grow with the backlog (10M
//! queued jobs: an index scan that stops at the first row). Every queued job may run now: a
//! job put off (retry backoff, rate limit) is `waiting` and becomes `queued` when due. Expired
//! leases and due waiting jobs are turned back into queued jobs by separate statements on
//! the small `jobs_leased` and `jobs_waiting` indexes, instead of an `OR` or a filter in the
//! claim that no index can serve.

use std::sync::atomic::Ordering;

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use super::{COUNTED, Dialect, Job, Lane, NewJob, Store, n, now_ms, s};
use crate::Error;

/// Rows per multi-row `INSERT` (8 parameters each; SQLite allows 32,766 per statement).
const INSERT_CHUNK: usize = 500;

/// The claim statement of one lane, with the dialect's row-locking clause spliced in.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET status = 'running', lease_until = $1, worker = $2, ",
            "attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs WHERE ",
            "status = 'queued' AND lane = $3 ORDER BY vt, id LIMIT $4",
            $lock,
            ") RETURNING id, kind, payload, attempts, max_attempts, lane, deferrals"
        )
    };
}
const CLAIM_SQLITE: &str = claim_sql!("");
const CLAIM_PG: &str = claim_sql!(" FOR UPDATE SKIP LOCKED");

fn job_row(row: &AnyRow) -> Result<Job, sqlx::Error> {
    Ok(Job {
        id: n(row, 0)?,
        kind: s(row, 1)?,
        payload: s(row, 2)?,
        attempts: n(row, 3)?,
        max_attempts: n(row, 4)?,
        lane: n(row, 5)?,
        deferrals: n(row, 6)?,
    })
}

/// Insert jobs on a connection (a transaction's or a pooled one), in multi-row statements.
/// A job whose `unique_key` is held by a queued or running job is absorbed. Returns how many
/// were inserted.
pub(crate) async fn enqueue_on(conn: &mut AnyConnection, jobs: &[NewJob]) -> Result<u64, Error> {
    let now = now_ms();
    let mut inserted = 0;
    for chunk in jobs.chunks(INSERT_CHUNK) {
        inserted += insert_chunk(conn, chunk, now).await?;
    }
    Ok(inserted)
}

/// One multi-row `INSERT` (8 placeholders per row, in order: SQLite numbers them by first
/// appearance, so none is reused).
async fn insert_chunk(conn: &mut AnyConnection, chunk: &[NewJob], now: i64) -> Result<u64, Error> {
    let mut sql = String::from(
        "INSERT INTO jobs (kind, lane, payload, status, attempts, max_attempts, run_at, vt, \
         created_at, unique_key) VALUES ",
    );
    for i in 0..chunk.len() {
        let b = i * 8;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, 'queued', 0, ${}, ${}, ${}, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8
        ));
    }
    sql.push_str(
        " ON CONFLICT (unique_key) WHERE status IN ('queued', 'waiting', 'running') DO NOTHING",
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for j in chunk {
        q = q
            .bind(j.kind)
            .bind(j.lane as i64)
            .bind(j.payload.clone())
            .bind(j.max_attempts)
            .bind(now)
            .bind(now.saturating_add(j.vt_offset_ms))
            .bind(now)
            .bind(j.unique_key.clone());
    }
    Ok(q.execute(&mut *conn).await?.rows_affected())
}

impl Store {
    /// Enqueue a job; a job with the same `unique_key` already queued or running absorbs it
    /// (returns false).
    pub async fn enqueue(
        &self,
        kind: &'static str,
        lane: Lane,
        payload: &str,
        unique_key: Option<&str>,
        max_attempts: i64,
    ) -> Result<bool, Error> {
        let job = NewJob {
            kind,
            lane,
            payload: payload.to_string(),
            unique_key: unique_key.map(String::from),
            max_attempts,
            vt_offset_ms: 0,
        };
        Ok(self.enqueue_many(std::slice::from_ref(&job)).await? > 0)
    }

    /// Enqueue jobs in batches; returns how many were inserted (the rest were absorbed).
    pub async fn enqueue_many(&self, jobs: &[NewJob]) -> Result<u64, Error> {
        let mut conn = self.pool.acquire().await?;
        enqueue_on(&mut conn, jobs).await
    }

    /// Claim the next runnable job, push lane first.
    pub async fn claim(&self, worker: &str, lease_ms: i64) -> Result<Option<Job>, Error> {
        Ok(self
            .claim_batch(worker, lease_ms, Lane::Push, 1)
            .await?
            .into_iter()
            .next())
    }

    /// [`Store::claim`], taking a job of `prefer` first when there is one (lane shares).
    pub async fn claim_preferring(
        &self,
        worker: &str,
        lease_ms: i64,
        prefer: Lane,
    ) -> Result<Option<Job>, Error> {
        Ok(self
            .claim_batch(worker, lease_ms, prefer, 1)
            .await?
            .into_iter()
            .next())
    }

    /// Claim up to `limit` runnable jobs of one lane: `prefer` when it has any, else the
    /// first lane in priority order that has. Jobs whose lease expired (their worker died)
    /// are first put back in their lane.
    pub async fn claim_batch(
        &self,
        worker: &str,
        lease_ms: i64,
        prefer: Lane,
        limit: i64,
    ) -> Result<Vec<Job>, Error> {
        let now = now_ms();
        if now - self.last_reap.load(Ordering::Relaxed) >= 500 {
            self.last_reap.store(now, Ordering::Relaxed);
            self.requeue_expired(now).await?;
        }
        let sql = match self.dialect {
            Dialect::Postgres => CLAIM_PG,
            Dialect::Sqlite => CLAIM_SQLITE,
        };
        let order = std::iter::once(prefer).chain(Lane::ALL.into_iter().filter(|l| *l != prefer));
        for lane in order {
            let rows = sqlx::query(sql)
                .bind(now + lease_ms)
                .bind(worker)
                .bind(lane as i64)
                .bind(limit.max(1))
                .fetch_all(&self.pool)
                .await?;
            if !rows.is_empty() {
                let mut jobs = rows.iter().map(job_row).collect::<Result<Vec<_>, _>>()?;
                jobs.sort_by_key(|j| j.id);
                return Ok(jobs);
            }
        }
        Ok(Vec::new())
    }

    /// Put jobs whose lease expired back in their lane (the attempt stays counted), and make
    /// waiting jobs that are due runnable.
    pub async fn requeue_expired(&self, now: i64) -> Result<u64, Error> {
        sqlx::query("UPDATE jobs SET status = 'queued' WHERE status = 'waiting' AND run_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let r = sqlx::query(
            "UPDATE jobs SET status = 'queued', lease_until = NULL, worker = NULL, vt = $1 \
             WHERE status = 'running' AND lease_until < $2",
        )
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() > 0 {
            tracing::warn!(
                jobs = r.rows_affected(),
                "re-queued jobs whose lease expired"
            );
        }
        Ok(r.rows_affected())
    }

    /// Extend a lease; false when the job is no longer ours (lease lost).
    pub async fn renew(&self, id: i64, worker: &str, lease_ms: i64) -> Result<bool, Error> {
        let r = sqlx::query(
            "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND worker = $3 AND status = 'running'",
        )
        .bind(now_ms() + lease_ms)
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Extend the lease of every job `worker` holds (one statement however many it holds).
    pub async fn renew_all(&self, worker: &str, lease_ms: i64) -> Result<u64, Error> {
        let r = sqlx::query(
            "UPDATE jobs SET lease_until = $1 WHERE worker = $2 AND status = 'running'",
        )
        .bind(now_ms() + lease_ms)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// Mark a job done.
    pub async fn complete(&self, id: i64, worker: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE jobs SET status = 'done', lease_until = NULL, finished_at = $1 \
             WHERE id = $2 AND worker = $3 AND status = 'running'",
        )
        .bind(now_ms())
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Give a job back without counting the attempt (graceful shutdown).
    pub async fn release(&self, id: i64, worker: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE jobs SET status = 'queued', lease_until = NULL, worker = NULL, \
             attempts = attempts - 1, vt = $1 WHERE id = $2 AND worker = $3 AND status = 'running'",
        )
        .bind(now_ms())
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Record a failed attempt: retry later with exponential backoff, or quarantine when the
    /// attempts are used up. Returns true when quarantined.
    pub async fn fail(&self, job: &Job, worker: &str, error: &str) -> Result<bool, Error> {
        let quarantine = job.attempts >= job.max_attempts;
        let backoff = 500i64.saturating_mul(1i64 << job.attempts.clamp(0, 16));
        let status = if quarantine { "quarantined" } else { "waiting" };
        let at = now_ms() + backoff;
        sqlx::query(
            "UPDATE jobs SET status = $1, lease_until = NULL, run_at = $2, vt = $3, \
             last_error = $4 WHERE id = $5 AND worker = $6 AND status = 'running'",
        )
        .bind(status)
        .bind(at)
        .bind(at)
        .bind(error)
        .bind(job.id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(quarantine)
    }

    /// Put a job off until `delay_ms` from now without counting the attempt: the hub asked
    /// us to wait (429, or 5xx through every in-place retry). Returns false, changing
    /// nothing, once it was put off `max_deferrals` times (the caller then fails it).
    pub async fn defer(
        &self,
        job: &Job,
        worker: &str,
        delay_ms: i64,
        max_deferrals: i64,
        error: &str,
    ) -> Result<bool, Error> {
        if job.deferrals >= max_deferrals {
            return Ok(false);
        }
        let at = now_ms().saturating_add(delay_ms.max(0));
        let r = sqlx::query(
            "UPDATE jobs SET status = 'waiting', lease_until = NULL, worker = NULL, \
             attempts = attempts - 1, deferrals = deferrals + 1, run_at = $1, vt = $2, \
             last_error = $3 WHERE id = $4 AND worker = $5 AND status = 'running'",
        )
        .bind(at)
        .bind(at)
        .bind(error)
        .bind(job.id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Run a job again later with a fresh attempt count and a new payload (a crawl's next
    /// pages; a scan moving to another occurrence of the same content).
    pub async fn requeue(
        &self,
        id: i64,
        worker: &str,
        payload: &str,
        delay_ms: i64,
    ) -> Result<bool, Error> {
        let at = now_ms().saturating_add(delay_ms.max(0));
        let r = sqlx::query(
            "UPDATE jobs SET status = $1, lease_until = NULL, worker = NULL, \
             attempts = 0, deferrals = 0, payload = $2, run_at = $3, vt = $4 \
             WHERE id = $5 AND worker = $6 AND status = 'running'",
        )
        .bind(if delay_ms > 0 { "waiting" } else { "queued" })
        .bind(payload)
        .bind(at)
        .bind(at)
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Quarantine a job (permanent failure, or attempts used up by dying workers).
    pub async fn quarantine(&self, id: i64, error: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE jobs SET status = 'quarantined', lease_until = NULL, last_error = $1, \
             finished_at = $2 WHERE id = $3",
        )
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Queue depth per (lane, status) from the maintained counters, and the age of the job
    /// at the head of each lane (ms since it was enqueued; 0 when the lane is empty).
    pub async fn queue_stats(&self) -> Result<Vec<(i64, String, i64, i64)>, Error> {
        let rows = sqlx::query(
            "SELECT lane, status, CAST(SUM(n) AS BIGINT) FROM job_counts GROUP BY lane, status",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        let now = now_ms();
        for r in &rows {
            let (lane, status, count) = (n(r, 0)?, s(r, 1)?, n(r, 2)?);
            let mut oldest = 0;
            if status == "queued" && count > 0 {
                let head = sqlx::query(
                    "SELECT created_at FROM jobs WHERE status = 'queued' AND lane = $1 \
                     ORDER BY vt, id LIMIT 1",
                )
                .bind(lane)
                .fetch_optional(&self.pool)
                .await?;
                oldest = match head {
                    Some(h) => n(&h, 0)?,
                    None => now,
                };
            }
            out.push((lane, status, count, oldest));
        }
        Ok(out)
    }

    /// Jobs by status, counted (tests, admin; scans the table).
    pub async fn job_status_counts(&self) -> Result<Vec<(String, i64)>, Error> {
        let rows = sqlx::query("SELECT status, COUNT(*) FROM jobs GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((s(r, 0)?, n(r, 1)?))).collect()
    }

    /// The maintained counters by status (summed over lanes).
    pub async fn counted(&self) -> Result<Vec<(String, i64)>, Error> {
        let rows =
            sqlx::query("SELECT status, CAST(SUM(n) AS BIGINT) FROM job_counts GROUP BY status")
                .fetch_all(&self.pool)
                .await?;
        let mut out: Vec<(String, i64)> = rows
            .iter()
            .map(|r| Ok((s(r, 0)?, n(r, 1)?)))
            .collect::<Result<_, Error>>()?;
        out.retain(|(st, _)| COUNTED.contains(&st.as_str()));
        Ok(out)
    }

    /// Delete, at most `limit` each, done jobs finished before `jobs_before` and events
    /// received before `events_before` (Unix ms). Returns (jobs, events) deleted.
    pub async fn prune(
        &self,
        jobs_before: i64,
        events_before: i64,
        limit: i64,
    ) -> Result<(u64, u64), Error> {
        let jobs = sqlx::query(
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status = 'done' \
             AND finished_at < $1 LIMIT $2)",
        )
        .bind(jobs_before)
        .bind(limit)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let events = sqlx::query(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_at < $1 \
             LIMIT $2)",
        )
        .bind(events_before)
        .bind(limit)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok((jobs, events))
    }
}
