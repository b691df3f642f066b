//! Events, revisions and refs, repository files, results and uploads.
//!
//! Files: this one holds the shared input types and events, revisions and refs;
//! `repo_files.rs` each revision's files and their statuses, `results.rs` results, stored
//! analyses and uploads.
//!
//! Must not: decide verdicts or fetch anything (the worker does); it reads and writes rows.

mod repo_files;
mod results;

use sqlx::AnyConnection;

use super::queue::enqueue_on;
use super::{NewJob, RevisionRow, Store, n, now_ms, os, s};
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
}
