//! The store: events, jobs (the queue), results and repository files, on SQLite or
//! PostgreSQL through sqlx's `Any` driver. The queries are the same on both databases except
//! the job claim (PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite a single `UPDATE … RETURNING`,
//! which SQLite's single writer makes atomic) and the DDL types.
//!
//! Times are Unix milliseconds (`BIGINT`): the `Any` driver has no portable timestamp type.
//! Query parameters appear in ascending `$N` order and are never reused, because SQLite
//! numbers `$N` parameters by first appearance.

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::Error;

/// Which SQL dialect the pool speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (WAL).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Job lanes, highest priority first (lower number runs first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lane {
    /// Fresh pushes (webhooks).
    Push = 1,
    /// API submissions.
    Api = 2,
    /// Rescans (ruleset or analyser change).
    Rescan = 3,
    /// Backlog crawl.
    Backlog = 4,
}

impl Lane {
    /// All lanes, in priority order.
    pub const ALL: [Lane; 4] = [Lane::Push, Lane::Api, Lane::Rescan, Lane::Backlog];

    /// The lane a worker prefers on its `n`-th claim: push 70 %, api 15 %, rescan 10 %,
    /// backlog 5 % of claims, so a flood of pushes never starves the other lanes; a share
    /// its lane does not use flows to the others in priority order.
    pub fn share(n: u64) -> Lane {
        match n % 20 {
            0..=13 => Lane::Push,
            14..=16 => Lane::Api,
            17 | 18 => Lane::Rescan,
            _ => Lane::Backlog,
        }
    }

    /// Lowercase name (metrics label).
    pub fn name(self) -> &'static str {
        match self {
            Lane::Push => "push",
            Lane::Api => "api",
            Lane::Rescan => "rescan",
            Lane::Backlog => "backlog",
        }
    }
}

/// Current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Schema versions, applied in order on start. One DDL text for both databases: `{ID}` and
/// `{BLOB}` stand for the two column types the dialects spell differently (see
/// [`Dialect::migrations`]). Hand-rolled rather than `sqlx::migrate!` because the `Any` migrator runs
/// one script set for every backend.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE IF NOT EXISTS events (
  id {ID},
  source TEXT NOT NULL,
  delivery_key TEXT NOT NULL UNIQUE,
  received_at BIGINT NOT NULL,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
  id {ID},
  kind TEXT NOT NULL,
  lane BIGINT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  max_attempts BIGINT NOT NULL,
  run_at BIGINT NOT NULL,
  lease_until BIGINT,
  worker TEXT,
  last_error TEXT,
  created_at BIGINT NOT NULL,
  unique_key TEXT
);
CREATE INDEX IF NOT EXISTS jobs_claim ON jobs (status, lane, run_at, id);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_active_key ON jobs (unique_key)
  WHERE status IN ('queued', 'running');
CREATE TABLE IF NOT EXISTS results (
  sha256 TEXT NOT NULL,
  analyser TEXT NOT NULL,
  policy TEXT NOT NULL,
  status TEXT NOT NULL,
  report TEXT NOT NULL,
  scanned_at BIGINT NOT NULL,
  PRIMARY KEY (sha256, analyser, policy)
);
CREATE TABLE IF NOT EXISTS revisions (
  repo TEXT NOT NULL,
  revision TEXT NOT NULL,
  refs TEXT NOT NULL,
  state TEXT NOT NULL,
  error TEXT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (repo, revision)
);
CREATE TABLE IF NOT EXISTS repo_files (
  repo TEXT NOT NULL,
  revision TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT,
  size BIGINT NOT NULL,
  status TEXT NOT NULL,
  error TEXT,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (repo, revision, path)
);
CREATE INDEX IF NOT EXISTS repo_files_sha ON repo_files (sha256);
CREATE TABLE IF NOT EXISTS uploads (
  id {ID},
  data {BLOB} NOT NULL,
  created_at BIGINT NOT NULL
);
"#];

impl Dialect {
    /// Every migration's DDL in this dialect (built once: queries borrow it for `'static`).
    fn migrations(self) -> &'static [String] {
        static SQLITE: LazyLock<Vec<String>> =
            LazyLock::new(|| spell(("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB")));
        static POSTGRES: LazyLock<Vec<String>> =
            LazyLock::new(|| spell(("BIGSERIAL PRIMARY KEY", "BYTEA")));
        match self {
            Dialect::Sqlite => &SQLITE,
            Dialect::Postgres => &POSTGRES,
        }
    }
}

/// The migrations with `{ID}` and `{BLOB}` spelt `(id, blob)`.
fn spell((id, blob): (&str, &str)) -> Vec<String> {
    MIGRATIONS
        .iter()
        .map(|t| t.replace("{ID}", id).replace("{BLOB}", blob))
        .collect()
}

/// The claim statement, with the dialect's row-locking clause spliced in.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET status = 'running', lease_until = $1, worker = $2, ",
            "attempts = attempts + 1 WHERE id = (SELECT id FROM jobs WHERE ",
            "(status = 'queued' AND run_at <= $3) OR (status = 'running' AND lease_until < $4) ",
            "ORDER BY CASE WHEN lane = $5 THEN 0 ELSE 1 END, lane, run_at, id LIMIT 1",
            $lock,
            ") RETURNING id, kind, payload, attempts, max_attempts"
        )
    };
}

/// The claim: queued and due, or running with an expired lease; the preferred lane first
/// (`$5`, see [`Lane::share`]), then by lane priority, then age.
const CLAIM_SQLITE: &str = claim_sql!("");
/// The same on PostgreSQL, skipping rows other workers are claiming.
const CLAIM_PG: &str = claim_sql!(" FOR UPDATE SKIP LOCKED");

/// A claimed job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Row id.
    pub id: i64,
    /// `list` or `scan`.
    pub kind: String,
    /// JSON payload.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
}

/// A file of a repository revision, with its status.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileRow {
    /// Path inside the repository.
    pub path: String,
    /// Content hash, when known.
    pub sha256: Option<String>,
    /// Size in bytes.
    pub size: i64,
    /// Hub status: queued, safe, caution, suspicious, unsafe, error.
    pub status: String,
    /// Why the file is `error`, when it is.
    pub error: Option<String>,
}

/// A stored revision.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RevisionRow {
    /// Commit (or scan id for URL/upload scans).
    pub revision: String,
    /// Refs that pointed at it when it was pushed, comma-separated.
    pub refs: String,
    /// `listing`, `listed` or `error`.
    pub state: String,
    /// Listing error.
    pub error: Option<String>,
    /// When first seen (Unix ms).
    pub created_at: i64,
}

/// A stored scan result.
#[derive(Debug, Clone)]
pub struct ResultRow {
    /// Content hash.
    pub sha256: String,
    /// Analyser version.
    pub analyser: String,
    /// Policy digest.
    pub policy: String,
    /// Hub status.
    pub status: String,
    /// The `FileReport` JSON.
    pub report: String,
    /// When (Unix ms).
    pub scanned_at: i64,
}

/// The database handle. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
}

fn s(row: &AnyRow, i: usize) -> Result<String, sqlx::Error> {
    row.try_get::<String, _>(i)
}
fn os(row: &AnyRow, i: usize) -> Result<Option<String>, sqlx::Error> {
    row.try_get::<Option<String>, _>(i)
}
fn n(row: &AnyRow, i: usize) -> Result<i64, sqlx::Error> {
    row.try_get::<i64, _>(i)
}

impl Store {
    /// Connect and run migrations. SQLite databases are created when missing and switched to
    /// WAL so readers do not block the writer.
    pub async fn connect(url: &str) -> Result<Store, Error> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(Error::Config(format!(
                "unsupported database URL (sqlite:// or postgres://): {url}"
            )));
        };
        let url = if dialect == Dialect::Sqlite && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_string()
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if dialect == Dialect::Sqlite { 4 } else { 8 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // Wait for the single writer instead of failing with SQLITE_BUSY.
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let store = Store { pool, dialect };
        store.migrate().await?;
        Ok(store)
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The pool (tests, readiness).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn migrate(&self) -> Result<(), Error> {
        if self.dialect == Dialect::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&self.pool)
                .await?;
        }
        sqlx::query("CREATE TABLE IF NOT EXISTS mg_schema (version BIGINT NOT NULL)")
            .execute(&self.pool)
            .await?;
        let mut tx = self.pool.begin().await?;
        if self.dialect == Dialect::Postgres {
            // Several processes may start at once: one migrates, the others wait.
            sqlx::query("SELECT pg_advisory_xact_lock(727274)")
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM mg_schema")
            .fetch_one(&mut *tx)
            .await?;
        let have = n(&row, 0)?;
        for (i, ddl) in self.dialect.migrations().iter().enumerate() {
            let version = i64::try_from(i).unwrap_or(i64::MAX) + 1;
            if version <= have {
                continue;
            }
            for stmt in ddl.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                sqlx::query(stmt).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO mg_schema (version) VALUES ($1)")
                .bind(version)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Store an event unless one with the same delivery key exists. Returns false for a
    /// duplicate delivery (the caller then enqueues nothing).
    pub async fn insert_event(&self, source: &str, key: &str, body: &str) -> Result<bool, Error> {
        let r = sqlx::query(
            "INSERT INTO events (source, delivery_key, received_at, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (delivery_key) DO NOTHING",
        )
        .bind(source)
        .bind(key)
        .bind(now_ms())
        .bind(body)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Forget an event whose jobs could not be enqueued, so a redelivery is processed.
    pub async fn delete_event(&self, key: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM events WHERE delivery_key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Enqueue a job; a job with the same `unique_key` already queued or running absorbs it
    /// (returns false).
    pub async fn enqueue(
        &self,
        kind: &str,
        lane: Lane,
        payload: &str,
        unique_key: Option<&str>,
        max_attempts: i64,
    ) -> Result<bool, Error> {
        let now = now_ms();
        let r = sqlx::query(
            "INSERT INTO jobs (kind, lane, payload, status, attempts, max_attempts, run_at, \
             created_at, unique_key) VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $7) \
             ON CONFLICT (unique_key) WHERE status IN ('queued', 'running') DO NOTHING",
        )
        .bind(kind)
        .bind(lane as i64)
        .bind(payload)
        .bind(max_attempts)
        .bind(now)
        .bind(now)
        .bind(unique_key)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Claim the next runnable job: queued and due, or running with an expired lease (its
    /// worker died), highest-priority lane first, oldest first.
    pub async fn claim(&self, worker: &str, lease_ms: i64) -> Result<Option<Job>, Error> {
        self.claim_preferring(worker, lease_ms, Lane::Push).await
    }

    /// [`Store::claim`], taking a job of `prefer` first when there is one (lane shares).
    pub async fn claim_preferring(
        &self,
        worker: &str,
        lease_ms: i64,
        prefer: Lane,
    ) -> Result<Option<Job>, Error> {
        let now = now_ms();
        let sql = match self.dialect {
            Dialect::Postgres => CLAIM_PG,
            Dialect::Sqlite => CLAIM_SQLITE,
        };
        let row = sqlx::query(sql)
            .bind(now + lease_ms)
            .bind(worker)
            .bind(now)
            .bind(now)
            .bind(prefer as i64)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Job {
            id: n(&row, 0)?,
            kind: s(&row, 1)?,
            payload: s(&row, 2)?,
            attempts: n(&row, 3)?,
            max_attempts: n(&row, 4)?,
        }))
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

    /// Mark a job done.
    pub async fn complete(&self, id: i64, worker: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE jobs SET status = 'done', lease_until = NULL WHERE id = $1 AND worker = $2 \
             AND status = 'running'",
        )
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
             attempts = attempts - 1 WHERE id = $1 AND worker = $2 AND status = 'running'",
        )
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
        let status = if quarantine { "quarantined" } else { "queued" };
        sqlx::query(
            "UPDATE jobs SET status = $1, lease_until = NULL, run_at = $2, last_error = $3 \
             WHERE id = $4 AND worker = $5 AND status = 'running'",
        )
        .bind(status)
        .bind(now_ms() + backoff)
        .bind(error)
        .bind(job.id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(quarantine)
    }

    /// Quarantine a job that used up its attempts by dying (expired leases).
    pub async fn quarantine(&self, id: i64, error: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE jobs SET status = 'quarantined', lease_until = NULL, last_error = $1 \
             WHERE id = $2",
        )
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Job counts by (lane, status) and the age of the oldest queued job per lane (ms).
    pub async fn queue_stats(&self) -> Result<Vec<(i64, String, i64, i64)>, Error> {
        let rows = sqlx::query(
            "SELECT lane, status, COUNT(*), COALESCE(MIN(created_at), 0) FROM jobs \
             WHERE status IN ('queued', 'running', 'quarantined') GROUP BY lane, status",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((n(r, 0)?, s(r, 1)?, n(r, 2)?, n(r, 3)?)))
            .collect()
    }

    /// Jobs by status (tests, admin).
    pub async fn job_status_counts(&self) -> Result<Vec<(String, i64)>, Error> {
        let rows = sqlx::query("SELECT status, COUNT(*) FROM jobs GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((s(r, 0)?, n(r, 1)?))).collect()
    }

    /// Record a revision (idempotent); refs are merged.
    pub async fn upsert_revision(&self, repo: &str, rev: &str, refs: &str) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO revisions (repo, revision, refs, state, created_at) \
             VALUES ($1, $2, $3, 'listing', $4) ON CONFLICT (repo, revision) DO UPDATE SET \
             refs = excluded.refs",
        )
        .bind(repo)
        .bind(rev)
        .bind(refs)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Set a revision's listing state.
    pub async fn set_revision_state(
        &self,
        repo: &str,
        rev: &str,
        state: &str,
        error: Option<&str>,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE revisions SET state = $1, error = $2 WHERE repo = $3 AND revision = $4",
        )
        .bind(state)
        .bind(error)
        .bind(repo)
        .bind(rev)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A repository's revisions, newest first.
    pub async fn revisions(&self, repo: &str) -> Result<Vec<RevisionRow>, Error> {
        let rows = sqlx::query(
            "SELECT revision, refs, state, error, created_at FROM revisions WHERE repo = $1 \
             ORDER BY created_at DESC, revision",
        )
        .bind(repo)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RevisionRow {
                    revision: s(r, 0)?,
                    refs: s(r, 1)?,
                    state: s(r, 2)?,
                    error: os(r, 3)?,
                    created_at: n(r, 4)?,
                })
            })
            .collect()
    }

    /// Insert (or refresh) a file occurrence with a status.
    pub async fn upsert_file(
        &self,
        repo: &str,
        rev: &str,
        path: &str,
        sha256: Option<&str>,
        size: i64,
        status: &str,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO repo_files (repo, revision, path, sha256, size, status, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (repo, revision, path) DO UPDATE \
             SET sha256 = excluded.sha256, size = excluded.size, status = excluded.status, \
             updated_at = excluded.updated_at",
        )
        .bind(repo)
        .bind(rev)
        .bind(path)
        .bind(sha256)
        .bind(size)
        .bind(status)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Set one occurrence's status (and its hash once known).
    pub async fn set_file_status(
        &self,
        repo: &str,
        rev: &str,
        path: &str,
        sha256: Option<&str>,
        status: &str,
        error: Option<&str>,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE repo_files SET sha256 = COALESCE($1, sha256), status = $2, error = $3, \
             updated_at = $4 WHERE repo = $5 AND revision = $6 AND path = $7",
        )
        .bind(sha256)
        .bind(status)
        .bind(error)
        .bind(now_ms())
        .bind(repo)
        .bind(rev)
        .bind(path)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Propagate a blob's status to every occurrence of it (waiting ones, and after a rescan
    /// the ones showing a verdict of an older analyser or policy).
    pub async fn set_status_by_sha(
        &self,
        sha256: &str,
        status: &str,
        error: Option<&str>,
    ) -> Result<u64, Error> {
        let r = sqlx::query(
            "UPDATE repo_files SET status = $1, error = $2, updated_at = $3 WHERE sha256 = $4",
        )
        .bind(status)
        .bind(error)
        .bind(now_ms())
        .bind(sha256)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// Files of a revision, by path.
    pub async fn files(&self, repo: &str, rev: &str) -> Result<Vec<FileRow>, Error> {
        let rows = sqlx::query(
            "SELECT path, sha256, size, status, error FROM repo_files WHERE repo = $1 AND \
             revision = $2 ORDER BY path",
        )
        .bind(repo)
        .bind(rev)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FileRow {
                    path: s(r, 0)?,
                    sha256: os(r, 1)?,
                    size: n(r, 2)?,
                    status: s(r, 3)?,
                    error: os(r, 4)?,
                })
            })
            .collect()
    }

    /// Where a blob occurs (repo, revision, path), at most `limit`.
    pub async fn occurrences(
        &self,
        sha256: &str,
        limit: i64,
    ) -> Result<Vec<(String, String, String)>, Error> {
        let rows = sqlx::query(
            "SELECT repo, revision, path FROM repo_files WHERE sha256 = $1 \
             ORDER BY repo, revision, path LIMIT $2",
        )
        .bind(sha256)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((s(r, 0)?, s(r, 1)?, s(r, 2)?)))
            .collect()
    }

    /// The cached result for a blob under the current analyser and policy.
    pub async fn result(
        &self,
        sha256: &str,
        analyser: &str,
        policy: &str,
    ) -> Result<Option<ResultRow>, Error> {
        let row = sqlx::query(
            "SELECT sha256, analyser, policy, status, report, scanned_at FROM results \
             WHERE sha256 = $1 AND analyser = $2 AND policy = $3",
        )
        .bind(sha256)
        .bind(analyser)
        .bind(policy)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| result_row(&r)).transpose()
    }

    /// Every stored result for a blob (all analyser versions and policies), newest first.
    pub async fn results_for(&self, sha256: &str) -> Result<Vec<ResultRow>, Error> {
        let rows = sqlx::query(
            "SELECT sha256, analyser, policy, status, report, scanned_at FROM results \
             WHERE sha256 = $1 ORDER BY scanned_at DESC",
        )
        .bind(sha256)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(result_row).collect()
    }

    /// Store a result (idempotent: the first writer wins, later identical scans are dropped).
    pub async fn put_result(&self, r: &ResultRow) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO results (sha256, analyser, policy, status, report, scanned_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256, analyser, policy) DO NOTHING",
        )
        .bind(&r.sha256)
        .bind(&r.analyser)
        .bind(&r.policy)
        .bind(&r.status)
        .bind(&r.report)
        .bind(r.scanned_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One occurrence (repo, revision, path, sha256, size) of every blob that has no result
    /// under the current analyser and policy: what a rescan must fetch again.
    pub async fn stale_blobs(
        &self,
        analyser: &str,
        policy: &str,
    ) -> Result<Vec<(String, String, String, String, i64)>, Error> {
        let rows = sqlx::query(
            "SELECT f.repo, f.revision, f.path, f.sha256, f.size FROM repo_files f \
             WHERE f.sha256 IS NOT NULL AND f.status <> 'queued' AND NOT EXISTS \
             (SELECT 1 FROM results r WHERE r.sha256 = f.sha256 AND r.analyser = $1 \
             AND r.policy = $2) ORDER BY f.sha256, f.repo, f.revision, f.path",
        )
        .bind(analyser)
        .bind(policy)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<(String, String, String, String, i64)> = Vec::new();
        for r in &rows {
            let sha = s(r, 3)?;
            if out.last().is_some_and(|l| l.3 == sha) {
                continue;
            }
            out.push((s(r, 0)?, s(r, 1)?, s(r, 2)?, sha, n(r, 4)?));
        }
        Ok(out)
    }

    /// Keep an uploaded file until its scan job runs; returns its id.
    pub async fn put_upload(&self, data: &[u8]) -> Result<i64, Error> {
        let row =
            sqlx::query("INSERT INTO uploads (data, created_at) VALUES ($1, $2) RETURNING id")
                .bind(data.to_vec())
                .bind(now_ms())
                .fetch_one(&self.pool)
                .await?;
        Ok(n(&row, 0)?)
    }

    /// An uploaded file.
    pub async fn upload(&self, id: i64) -> Result<Option<Vec<u8>>, Error> {
        let row = sqlx::query("SELECT data FROM uploads WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get::<Vec<u8>, _>(0)).transpose()?)
    }

    /// Drop an uploaded file once scanned (the result keeps the report).
    pub async fn delete_upload(&self, id: i64) -> Result<(), Error> {
        sqlx::query("DELETE FROM uploads WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Readiness: the database answers.
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    /// Close the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn result_row(r: &AnyRow) -> Result<ResultRow, Error> {
    Ok(ResultRow {
        sha256: s(r, 0)?,
        analyser: s(r, 1)?,
        policy: s(r, 2)?,
        status: s(r, 3)?,
        report: s(r, 4)?,
        scanned_at: n(r, 5)?,
    })
}
