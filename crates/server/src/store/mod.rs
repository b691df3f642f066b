//! The store: events, jobs (the queue), results, repository files and refs, crawls, on
//! SQLite or PostgreSQL through sqlx's `Any` driver. The queries are the same on both
//! databases except the row-locking clause of the claim (PostgreSQL `FOR UPDATE SKIP
//! LOCKED`; SQLite's single writer makes one `UPDATE … RETURNING` atomic), the DDL types and
//! the counting triggers.
//!
//! Times are Unix milliseconds (`BIGINT`): the `Any` driver has no portable timestamp type.
//! Query parameters appear in ascending `$N` order and are never reused, because SQLite
//! numbers `$N` parameters by first appearance.
//!
//! - [`queue`]: enqueue (batched), claim by index, leases, retries, deferrals, counters,
//!   pruning;
//! - [`files`]: events, revisions and refs, files (batched listing, keyset pages), results,
//!   uploads;
//! - [`crawls`]: crawl state and the shared per-hub request rate.

pub mod crawls;
pub mod files;
pub mod queue;

use std::sync::LazyLock;
use std::sync::atomic::AtomicI64;
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

/// Schema version 1. One DDL text for both databases: `{ID}` and `{BLOB}` stand for the
/// two column types the dialects spell differently (see [`Dialect::migrations`]).
/// Hand-rolled rather than `sqlx::migrate!` because the `Any` migrator runs one script set
/// for every backend.
const V1: &str = r#"
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
)
"#;

/// Schema version 2 (hub scale), shared part.
///
/// - The claim reads one lane's runnable jobs through the partial index `jobs_runnable` in
///   `vt` order (a virtual time: the enqueue time, spread out for the jobs of one batch so a
///   flood from one repository interleaves with later arrivals). A job that may run only
///   later (retry backoff, a rate-limit put-off) is `waiting`, outside that index, and is
///   made `queued` when due through `jobs_waiting`: a claim never reads past jobs it cannot
///   take. Expired leases are found through `jobs_leased`; finished jobs through
///   `jobs_finished` for pruning.
/// - `job_counts` holds queue depths per (lane, status), in 16 shards per pair (one per
///   database session, by backend id), maintained by triggers, so metrics never count the
///   jobs table and concurrent transitions do not queue on one counter row.
/// - `repo_refs`: where each ref of a repository points (the latest push wins).
/// - `crawls` and `hub_rate`: crawler state, and the next free request slot per hub shared
///   by every process.
const V2: &str = r#"
ALTER TABLE jobs ADD COLUMN vt BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN deferrals BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN finished_at BIGINT;
UPDATE jobs SET vt = run_at;
UPDATE jobs SET finished_at = run_at WHERE status = 'done';
DROP INDEX IF EXISTS jobs_claim;
CREATE INDEX IF NOT EXISTS jobs_runnable ON jobs (lane, vt, id) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS jobs_waiting ON jobs (run_at) WHERE status = 'waiting';
CREATE INDEX IF NOT EXISTS jobs_leased ON jobs (lease_until) WHERE status = 'running';
DROP INDEX IF EXISTS jobs_active_key;
CREATE UNIQUE INDEX IF NOT EXISTS jobs_live_key ON jobs (unique_key)
  WHERE status IN ('queued', 'waiting', 'running');
CREATE INDEX IF NOT EXISTS jobs_held ON jobs (worker) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (finished_at) WHERE status = 'done';
CREATE TABLE IF NOT EXISTS job_counts (
  lane BIGINT NOT NULL,
  status TEXT NOT NULL,
  shard BIGINT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (lane, status, shard)
);
{COUNT_ROWS};
UPDATE job_counts SET n = (SELECT COUNT(*) FROM jobs j WHERE j.lane = job_counts.lane
  AND j.status = job_counts.status) WHERE shard = 0;
CREATE INDEX IF NOT EXISTS events_received ON events (received_at);
CREATE TABLE IF NOT EXISTS repo_refs (
  repo TEXT NOT NULL,
  ref TEXT NOT NULL,
  revision TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (repo, ref)
);
CREATE TABLE IF NOT EXISTS crawls (
  id {ID},
  hub TEXT NOT NULL,
  repo_type TEXT NOT NULL,
  state TEXT NOT NULL,
  cursor TEXT,
  pages BIGINT NOT NULL DEFAULT 0,
  repos_listed BIGINT NOT NULL DEFAULT 0,
  repos_enqueued BIGINT NOT NULL DEFAULT 0,
  repos_skipped BIGINT NOT NULL DEFAULT 0,
  error TEXT,
  started_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE TABLE IF NOT EXISTS hub_rate (
  hub TEXT PRIMARY KEY,
  next_at BIGINT NOT NULL
)
"#;

/// Schema version 3: each blob's stored analysis (`modelguard::scan::FileAnalysis`, the
/// readers' facts before any policy, zlib-compressed JSON; the column keeps its first name),
/// keyed by the extractor (`Scanner::extractor`): a policy or rule change re-judges it
/// without fetching the blob.
const V3: &str = r#"
CREATE TABLE IF NOT EXISTS analyses (
  sha256 TEXT NOT NULL,
  extractor TEXT NOT NULL,
  report {BLOB} NOT NULL,
  scanned_at BIGINT NOT NULL,
  PRIMARY KEY (sha256, extractor)
)
"#;

/// The statuses `job_counts` keeps (done jobs are not counted: they only grow, and a hot
/// counter row would serialise completions).
pub const COUNTED: [&str; 4] = ["queued", "waiting", "running", "quarantined"];

/// Counter shards per (lane, status) on PostgreSQL.
const SHARDS: i64 = 16;

/// SQLite's counting triggers (one statement each; the body's `;` are not statement ends).
/// SQLite has one writer: shard 0 only.
const SQLITE_TRIGGERS: [&str; 3] = [
    "CREATE TRIGGER IF NOT EXISTS jobs_count_ins AFTER INSERT ON jobs BEGIN \
     UPDATE job_counts SET n = n + 1 WHERE lane = new.lane AND status = new.status \
     AND shard = 0; END",
    "CREATE TRIGGER IF NOT EXISTS jobs_count_upd AFTER UPDATE OF status, lane ON jobs \
     WHEN old.status <> new.status OR old.lane <> new.lane BEGIN \
     UPDATE job_counts SET n = n - 1 WHERE lane = old.lane AND status = old.status \
     AND shard = 0; \
     UPDATE job_counts SET n = n + 1 WHERE lane = new.lane AND status = new.status \
     AND shard = 0; END",
    "CREATE TRIGGER IF NOT EXISTS jobs_count_del AFTER DELETE ON jobs BEGIN \
     UPDATE job_counts SET n = n - 1 WHERE lane = old.lane AND status = old.status \
     AND shard = 0; END",
];

/// PostgreSQL's counting trigger. Each session writes its own shard (backend id mod 16), so
/// concurrent claims do not wait on one counter row; the two rows of a transition are
/// updated in a fixed order ((lane, status) ascending), so two sessions that share a shard
/// lock them in the same order and cannot deadlock.
const PG_TRIGGERS: [&str; 2] = [
    "CREATE OR REPLACE FUNCTION mg_job_count() RETURNS trigger LANGUAGE plpgsql AS $f$
     DECLARE sh BIGINT := pg_backend_pid() % 16;
     BEGIN
       IF TG_OP = 'INSERT' THEN
         UPDATE job_counts SET n = n + 1
           WHERE lane = NEW.lane AND status = NEW.status AND shard = sh;
       ELSIF TG_OP = 'DELETE' THEN
         UPDATE job_counts SET n = n - 1
           WHERE lane = OLD.lane AND status = OLD.status AND shard = sh;
       ELSIF OLD.status <> NEW.status OR OLD.lane <> NEW.lane THEN
         IF (OLD.lane, OLD.status) < (NEW.lane, NEW.status) THEN
           UPDATE job_counts SET n = n - 1
             WHERE lane = OLD.lane AND status = OLD.status AND shard = sh;
           UPDATE job_counts SET n = n + 1
             WHERE lane = NEW.lane AND status = NEW.status AND shard = sh;
         ELSE
           UPDATE job_counts SET n = n + 1
             WHERE lane = NEW.lane AND status = NEW.status AND shard = sh;
           UPDATE job_counts SET n = n - 1
             WHERE lane = OLD.lane AND status = OLD.status AND shard = sh;
         END IF;
       END IF;
       RETURN NULL;
     END $f$",
    "CREATE TRIGGER jobs_count AFTER INSERT OR UPDATE OR DELETE ON jobs \
     FOR EACH ROW EXECUTE FUNCTION mg_job_count()",
];

impl Dialect {
    /// Lowercase name (logs, benchmarks).
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    /// Every schema version's statements in this dialect (built once: queries borrow them
    /// for `'static`).
    fn migrations(self) -> &'static [Vec<String>] {
        static SQLITE: LazyLock<Vec<Vec<String>>> = LazyLock::new(|| {
            spell(
                ("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"),
                &SQLITE_TRIGGERS,
            )
        });
        static POSTGRES: LazyLock<Vec<Vec<String>>> =
            LazyLock::new(|| spell(("BIGSERIAL PRIMARY KEY", "BYTEA"), &PG_TRIGGERS));
        match self {
            Dialect::Sqlite => &SQLITE,
            Dialect::Postgres => &POSTGRES,
        }
    }
}

/// The schema versions' statements with `{ID}` and `{BLOB}` spelt `(id, blob)` and the
/// dialect's triggers appended to version 2.
fn spell((id, blob): (&str, &str), triggers: &[&str]) -> Vec<Vec<String>> {
    let count_rows: Vec<String> = Lane::ALL
        .iter()
        .flat_map(|l| COUNTED.iter().map(move |st| (*l as i64, st)))
        .flat_map(|(l, st)| {
            (0..SHARDS).map(move |sh| {
                format!(
                    "INSERT INTO job_counts (lane, status, shard, n) VALUES ({l}, '{st}', {sh}, 0)"
                )
            })
        })
        .collect();
    let split = |t: &str| -> Vec<String> {
        t.replace("{ID}", id)
            .replace("{BLOB}", blob)
            .replace("{COUNT_ROWS}", &count_rows.join(";\n"))
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    let v1 = split(V1);
    let mut v2 = split(V2);
    v2.extend(triggers.iter().map(|t| (*t).to_string()));
    vec![v1, v2, split(V3)]
}

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
    /// Lane it was queued in.
    pub lane: i64,
    /// Times it was put off because the hub asked us to wait (not counted as attempts).
    pub deferrals: i64,
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// `list`, `scan` or `crawl`.
    pub kind: &'static str,
    /// Lane.
    pub lane: Lane,
    /// JSON payload.
    pub payload: String,
    /// While a job with this key is queued or running, another one is absorbed.
    pub unique_key: Option<String>,
    /// Attempts allowed.
    pub max_attempts: i64,
    /// Added to the enqueue time to order it within its lane (fair spreading of a batch).
    pub vt_offset_ms: i64,
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
    /// When this process last re-queued expired leases (Unix ms): at most twice a second.
    last_reap: std::sync::Arc<AtomicI64>,
}

pub(crate) fn s(row: &AnyRow, i: usize) -> Result<String, sqlx::Error> {
    row.try_get::<String, _>(i)
}
pub(crate) fn os(row: &AnyRow, i: usize) -> Result<Option<String>, sqlx::Error> {
    row.try_get::<Option<String>, _>(i)
}
pub(crate) fn n(row: &AnyRow, i: usize) -> Result<i64, sqlx::Error> {
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
        let store = Store {
            pool,
            dialect,
            last_reap: std::sync::Arc::new(AtomicI64::new(0)),
        };
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
        for (i, stmts) in self.dialect.migrations().iter().enumerate() {
            let version = i64::try_from(i).unwrap_or(i64::MAX) + 1;
            if version <= have {
                continue;
            }
            for stmt in stmts {
                sqlx::query(stmt.as_str()).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO mg_schema (version) VALUES ($1)")
                .bind(version)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
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

pub(crate) fn result_row(r: &AnyRow) -> Result<ResultRow, Error> {
    Ok(ResultRow {
        sha256: s(r, 0)?,
        analyser: s(r, 1)?,
        policy: s(r, 2)?,
        status: s(r, 3)?,
        report: s(r, 4)?,
        scanned_at: n(r, 5)?,
    })
}
