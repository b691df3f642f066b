//! Events, revisions and refs, repository files, results and uploads.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};

use super::queue::enqueue_on;
use super::{FileRow, NewJob, ResultRow, RevisionRow, Store, n, now_ms, os, result_row, s};
use crate::Error;

/// Rows per multi-row statement of the listing (at most 5 parameters per row).
const CHUNK: usize = 400;

/// An event to store with the jobs it asks for.
#[derive(Debug, Clone)]
pub struct EventIn<'a> {
    /// `huggingface`, `gitea`, `api`…
    pub source: &'a str,
    /// Delivery key: a second event with the same key is a duplicate.
    pub key: &'a str,
    /// The body (as text).
    pub body: &'a str,
}

/// A revision an event names, with the refs that now point at it.
#[derive(Debug, Clone)]
pub struct RevisionIn {
    /// Commit.
    pub revision: String,
    /// Ref names, comma-separated (display).
    pub refs: String,
}

/// A listed file.
#[derive(Debug, Clone)]
pub struct FileIn {
    /// Path.
    pub path: String,
    /// Announced SHA-256.
    pub sha256: Option<String>,
    /// Size.
    pub size: i64,
}

/// `$a, $a+1, …` for `n` parameters (an `IN` list).
fn params(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which files of a revision a page holds.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    /// Those whose path sorts after this one (keyset pagination; `""` for the first page).
    After(&'a str),
    /// The one with this path.
    Exact(&'a str),
}

/// Where a ref name may be looked up: as given, and as a branch or tag short name.
fn ref_names(name: &str) -> [String; 3] {
    [
        name.to_string(),
        format!("refs/heads/{name}"),
        format!("refs/tags/{name}"),
    ]
}

pub(crate) async fn upsert_revision_on(
    conn: &mut AnyConnection,
    repo: &str,
    rev: &str,
    refs: &str,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO revisions (repo, revision, refs, state, created_at) \
         VALUES ($1, $2, $3, 'listing', $4) ON CONFLICT (repo, revision) DO UPDATE SET \
         refs = excluded.refs",
    )
    .bind(repo)
    .bind(rev)
    .bind(refs)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn set_ref_on(
    conn: &mut AnyConnection,
    repo: &str,
    name: &str,
    rev: Option<&str>,
    only_if_absent: bool,
) -> Result<(), Error> {
    match rev {
        None => {
            sqlx::query("DELETE FROM repo_refs WHERE repo = $1 AND ref = $2")
                .bind(repo)
                .bind(name)
                .execute(&mut *conn)
                .await?;
        }
        Some(rev) => {
            let sql = if only_if_absent {
                "INSERT INTO repo_refs (repo, ref, revision, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (repo, ref) DO NOTHING"
            } else {
                "INSERT INTO repo_refs (repo, ref, revision, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (repo, ref) DO UPDATE SET revision = excluded.revision, \
                 updated_at = excluded.updated_at"
            };
            sqlx::query(sql)
                .bind(repo)
                .bind(name)
                .bind(rev)
                .bind(now_ms())
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

impl Store {
    /// Store an event, its revisions, where its refs now point and its jobs in one
    /// transaction. Returns false, storing nothing, for a duplicate delivery.
    /// `refs` are (ref name, new commit or `None` for a deleted ref).
    pub async fn ingest(
        &self,
        event: &EventIn<'_>,
        repo: &str,
        revisions: &[RevisionIn],
        refs: &[(String, Option<String>)],
        jobs: &[NewJob],
    ) -> Result<bool, Error> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "INSERT INTO events (source, delivery_key, received_at, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (delivery_key) DO NOTHING",
        )
        .bind(event.source)
        .bind(event.key)
        .bind(now_ms())
        .bind(event.body)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        for rev in revisions {
            upsert_revision_on(&mut tx, repo, &rev.revision, &rev.refs).await?;
        }
        for (name, rev) in refs {
            set_ref_on(&mut tx, repo, name, rev.as_deref(), false).await?;
        }
        enqueue_on(&mut tx, jobs).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Point a ref at a revision (`only_if_absent`: unless the ref is already known, so a
    /// crawl's older view never overrides a push).
    pub async fn set_ref(
        &self,
        repo: &str,
        name: &str,
        rev: &str,
        only_if_absent: bool,
    ) -> Result<(), Error> {
        let mut conn = self.pool.acquire().await?;
        set_ref_on(&mut conn, repo, name, Some(rev), only_if_absent).await
    }

    /// The revision a ref name points at (`main`, `refs/heads/main`, `v1`…), latest push
    /// first.
    pub async fn resolve_ref(&self, repo: &str, name: &str) -> Result<Option<String>, Error> {
        let [a, b, c] = ref_names(name);
        let row = sqlx::query(
            "SELECT revision FROM repo_refs WHERE repo = $1 AND ref IN ($2, $3, $4) \
             ORDER BY updated_at DESC LIMIT 1",
        )
        .bind(repo)
        .bind(a)
        .bind(b)
        .bind(c)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| s(&r, 0)).transpose()?)
    }

    /// Which of `revs` (revision) of `repo`s are already recorded: (repo, revision) pairs.
    pub async fn known_revisions(
        &self,
        pairs: &[(String, String)],
    ) -> Result<std::collections::HashSet<(String, String)>, Error> {
        let mut out = std::collections::HashSet::new();
        for chunk in pairs.chunks(CHUNK) {
            let mut sql = String::from("SELECT repo, revision FROM revisions WHERE ");
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push_str(" OR ");
                }
                sql.push_str(&format!(
                    "(repo = ${} AND revision = ${})",
                    2 * i + 1,
                    2 * i + 2
                ));
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (repo, rev) in chunk {
                q = q.bind(repo.clone()).bind(rev.clone());
            }
            for r in q.fetch_all(&self.pool).await? {
                out.insert((s(&r, 0)?, s(&r, 1)?));
            }
        }
        Ok(out)
    }

    /// Record listed files as `queued` in multi-row statements (re-listing refreshes them).
    pub async fn upsert_files(&self, repo: &str, rev: &str, files: &[FileIn]) -> Result<(), Error> {
        let now = now_ms();
        for chunk in files.chunks(CHUNK) {
            let mut sql = String::from(
                "INSERT INTO repo_files (repo, revision, path, sha256, size, status, updated_at) \
                 VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 6;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, 'queued', ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6
                ));
            }
            sql.push_str(
                " ON CONFLICT (repo, revision, path) DO UPDATE SET sha256 = excluded.sha256, \
                 size = excluded.size, status = excluded.status, error = NULL, \
                 updated_at = excluded.updated_at",
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for f in chunk {
                q = q
                    .bind(repo.to_string())
                    .bind(rev.to_string())
                    .bind(f.path.clone())
                    .bind(f.sha256.clone())
                    .bind(f.size)
                    .bind(now);
            }
            q.execute(&self.pool).await?;
        }
        Ok(())
    }

    /// The statuses of the current results of `shas` (those that have one).
    pub async fn cached_statuses(
        &self,
        shas: &[&str],
        analyser: &str,
        policy: &str,
    ) -> Result<HashMap<String, String>, Error> {
        let mut out = HashMap::new();
        for chunk in shas.chunks(CHUNK) {
            let mut sql = String::from(
                "SELECT sha256, status FROM results WHERE analyser = $1 AND policy = $2 \
                 AND sha256 IN (",
            );
            sql.push_str(&params(3, chunk.len()));
            sql.push(')');
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(analyser.to_string())
                .bind(policy.to_string());
            for sha in chunk {
                q = q.bind(sha.to_string());
            }
            for r in q.fetch_all(&self.pool).await? {
                out.insert(s(&r, 0)?, s(&r, 1)?);
            }
        }
        Ok(out)
    }

    /// Give the files of one revision the statuses known for their contents (`sha → status`),
    /// in multi-row statements.
    pub async fn set_statuses_in_revision(
        &self,
        repo: &str,
        rev: &str,
        by_sha: &[(&str, &str)],
    ) -> Result<(), Error> {
        let now = now_ms();
        for chunk in by_sha.chunks(CHUNK / 2) {
            let mut sql = String::from("UPDATE repo_files SET status = CASE sha256");
            let mut p = 0;
            for _ in chunk {
                sql.push_str(&format!(" WHEN ${} THEN ${}", p + 1, p + 2));
                p += 2;
            }
            sql.push_str(&format!(
                " END, error = NULL, updated_at = ${} WHERE repo = ${} AND revision = ${} \
                 AND sha256 IN (",
                p + 1,
                p + 2,
                p + 3
            ));
            p += 3;
            sql.push_str(&params(p + 1, chunk.len()));
            sql.push(')');
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (sha, st) in chunk {
                q = q.bind(sha.to_string()).bind(st.to_string());
            }
            q = q.bind(now).bind(repo.to_string()).bind(rev.to_string());
            for (sha, _) in chunk {
                q = q.bind(sha.to_string());
            }
            q.execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Another occurrence of a blob that has not failed to fetch, one still waiting for its
    /// verdict first: (repo, revision, path, size).
    pub async fn other_occurrence(
        &self,
        sha256: &str,
        not: (&str, &str, &str),
    ) -> Result<Option<(String, String, String, i64)>, Error> {
        let row = sqlx::query(
            "SELECT repo, revision, path, size FROM repo_files WHERE sha256 = $1 \
             AND error IS NULL AND NOT (repo = $2 AND revision = $3 AND path = $4) \
             ORDER BY CASE WHEN status = 'queued' THEN 0 ELSE 1 END, updated_at, repo, path \
             LIMIT 1",
        )
        .bind(sha256)
        .bind(not.0)
        .bind(not.1)
        .bind(not.2)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((s(&r, 0)?, s(&r, 1)?, s(&r, 2)?, n(&r, 3)?)))
            .transpose()
    }

    /// One occurrence could not be fetched. A file waiting for its verdict becomes `error`;
    /// a file showing an earlier verdict keeps it (marked by the error until a new verdict
    /// replaces it): an old `unsafe` never disappears because a rescan failed.
    pub async fn occurrence_failed(
        &self,
        repo: &str,
        rev: &str,
        path: &str,
        error: &str,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE repo_files SET status = CASE WHEN status = 'queued' THEN 'error' \
             ELSE status END, error = $1, updated_at = $2 WHERE repo = $3 AND revision = $4 \
             AND path = $5",
        )
        .bind(error)
        .bind(now_ms())
        .bind(repo)
        .bind(rev)
        .bind(path)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One page of a revision's files in path order (see [`Lookup`]), each with its current
    /// result's report (JSON) and whether that report is stale (from an older analyser or
    /// policy: the newest older one is given).
    pub async fn files_page(
        &self,
        repo: &str,
        rev: &str,
        files: Lookup<'_>,
        limit: i64,
        analyser: &str,
        policy: &str,
    ) -> Result<Vec<(FileRow, Option<String>, bool)>, Error> {
        let (sql, key) = match files {
            Lookup::After(p) => (
                "SELECT f.path, f.sha256, f.size, f.status, f.error, r.report FROM repo_files f \
                 LEFT JOIN results r ON r.sha256 = f.sha256 AND r.analyser = $1 \
                 AND r.policy = $2 WHERE f.repo = $3 AND f.revision = $4 AND f.path > $5 \
                 ORDER BY f.path LIMIT $6",
                p,
            ),
            Lookup::Exact(p) => (
                "SELECT f.path, f.sha256, f.size, f.status, f.error, r.report FROM repo_files f \
                 LEFT JOIN results r ON r.sha256 = f.sha256 AND r.analyser = $1 \
                 AND r.policy = $2 WHERE f.repo = $3 AND f.revision = $4 AND f.path = $5 \
                 ORDER BY f.path LIMIT $6",
                p,
            ),
        };
        let after = key;
        let rows = sqlx::query(sql)
            .bind(analyser)
            .bind(policy)
            .bind(repo)
            .bind(rev)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut missing: Vec<String> = Vec::new();
        for r in &rows {
            let f = FileRow {
                path: s(r, 0)?,
                sha256: os(r, 1)?,
                size: n(r, 2)?,
                status: s(r, 3)?,
                error: os(r, 4)?,
            };
            let report = os(r, 5)?;
            let stale = report.is_none() && f.sha256.is_some() && f.status != "queued";
            if stale && let Some(sha) = &f.sha256 {
                missing.push(sha.clone());
            }
            out.push((f, report, stale));
        }
        if !missing.is_empty() {
            missing.sort();
            missing.dedup();
            let older = self.latest_reports(&missing).await?;
            for (f, report, stale) in &mut out {
                if *stale && let Some(sha) = &f.sha256 {
                    *report = older.get(sha).cloned();
                }
            }
        }
        Ok(out)
    }

    /// The newest stored report of each blob, whatever its analyser and policy.
    async fn latest_reports(&self, shas: &[String]) -> Result<HashMap<String, String>, Error> {
        let mut out: HashMap<String, (i64, String)> = HashMap::new();
        for chunk in shas.chunks(CHUNK) {
            let mut sql =
                String::from("SELECT sha256, scanned_at, report FROM results WHERE sha256 IN (");
            sql.push_str(&params(1, chunk.len()));
            sql.push(')');
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for sha in chunk {
                q = q.bind(sha.clone());
            }
            for r in q.fetch_all(&self.pool).await? {
                let (sha, at, report) = (s(&r, 0)?, n(&r, 1)?, s(&r, 2)?);
                if out.get(&sha).is_none_or(|(t, _)| *t < at) {
                    out.insert(sha, (at, report));
                }
            }
        }
        Ok(out.into_iter().map(|(k, (_, r))| (k, r)).collect())
    }

    /// A revision's files counted by status.
    pub async fn status_counts(&self, repo: &str, rev: &str) -> Result<Vec<(String, i64)>, Error> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) FROM repo_files WHERE repo = $1 AND revision = $2 \
             GROUP BY status",
        )
        .bind(repo)
        .bind(rev)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((s(r, 0)?, n(r, 1)?))).collect()
    }

    /// Files of a revision with one of `statuses` (at most `limit`), by path.
    pub async fn files_with_status(
        &self,
        repo: &str,
        rev: &str,
        statuses: &[&str],
        limit: i64,
    ) -> Result<Vec<(String, String)>, Error> {
        let mut sql = String::from(
            "SELECT path, status FROM repo_files WHERE repo = $1 AND revision = $2 AND status IN (",
        );
        sql.push_str(&params(3, statuses.len()));
        sql.push_str(&format!(") ORDER BY path LIMIT ${}", statuses.len() + 3));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.to_string())
            .bind(rev.to_string());
        for st in statuses {
            q = q.bind(st.to_string());
        }
        let rows = q.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((s(r, 0)?, s(r, 1)?))).collect()
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
    /// the ones showing a verdict of an older analyser or policy). An occurrence's own fetch
    /// error stays: it still could not be fetched from its repository, whatever its content.
    /// Only rows whose status changes are written (k copies of a non-LFS file, each scanned
    /// by its own job, would otherwise cost k² row writes).
    pub async fn set_status_by_sha(&self, sha256: &str, status: &str) -> Result<u64, Error> {
        let r = sqlx::query(
            "UPDATE repo_files SET status = $1, updated_at = $2 WHERE sha256 = $3 \
             AND status <> $4",
        )
        .bind(status)
        .bind(now_ms())
        .bind(sha256)
        .bind(status)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
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

    /// One occurrence (repo, revision, path, sha256, size) of each blob after `after` (by
    /// hash) that has no result under the current analyser and policy: what a rescan must
    /// re-judge or fetch again, one page of at most about `limit` rows (keyset pagination: a
    /// rescan over millions of blobs never holds them all). An occurrence that did not fail
    /// to fetch is preferred. Pass the last hash returned to get the next page; an empty page
    /// is the end.
    pub async fn stale_blobs(
        &self,
        analyser: &str,
        policy: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(String, String, String, String, i64)>, Error> {
        let rows = sqlx::query(
            "SELECT f.repo, f.revision, f.path, f.sha256, f.size FROM repo_files f \
             WHERE f.sha256 > $1 AND f.status <> 'queued' AND NOT EXISTS \
             (SELECT 1 FROM results r WHERE r.sha256 = f.sha256 AND r.analyser = $2 \
             AND r.policy = $3) \
             ORDER BY f.sha256, CASE WHEN f.error IS NULL THEN 0 ELSE 1 END, f.repo, f.revision, \
             f.path LIMIT $4",
        )
        .bind(after)
        .bind(analyser)
        .bind(policy)
        .bind(limit.max(1))
        .fetch_all(&self.pool)
        .await?;
        // Rows come best occurrence first within each hash: keep the first of each. A page
        // that ends inside a hash's rows has taken its best one already; the next page starts
        // after that hash.
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

    /// Store a blob's analysis (compressed; the first writer wins).
    pub async fn put_analysis(
        &self,
        sha256: &str,
        extractor: &str,
        report_json: &[u8],
    ) -> Result<(), Error> {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(report_json)
            .map_err(|e| Error::Scan(format!("compress: {e}")))?;
        let packed = z
            .finish()
            .map_err(|e| Error::Scan(format!("compress: {e}")))?;
        sqlx::query(
            "INSERT INTO analyses (sha256, extractor, report, scanned_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sha256, extractor) DO NOTHING",
        )
        .bind(sha256)
        .bind(extractor)
        .bind(packed)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A blob's stored analysis under `extractor` (JSON), if any. Decompression is capped at
    /// `max` bytes: a row that inflates beyond it is treated as missing.
    pub async fn analysis(
        &self,
        sha256: &str,
        extractor: &str,
        max: u64,
    ) -> Result<Option<Vec<u8>>, Error> {
        use std::io::Read;
        let row = sqlx::query("SELECT report FROM analyses WHERE sha256 = $1 AND extractor = $2")
            .bind(sha256)
            .bind(extractor)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let packed: Vec<u8> = row.try_get(0)?;
        let mut out = Vec::new();
        let read = flate2::read::ZlibDecoder::new(packed.as_slice())
            .take(max.saturating_add(1))
            .read_to_end(&mut out);
        Ok(match read {
            Ok(n) if (n as u64) <= max => Some(out),
            _ => None,
        })
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
}
