//! A revision's files (`repo_files`): listing upserts, statuses per occurrence and per
//! blob, pages of files with their latest reports, status counts.

use std::collections::HashMap;

use super::{CHUNK, FileIn, Lookup, params};
use crate::Error;
use crate::store::{FileRow, Store, n, now_ms, os, s};

impl Store {
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
}
