//! Results (a blob's verdict under a ruleset), stored analyses (a blob's facts under an
//! extractor), the blobs whose results are stale, and raw uploads.

use sqlx::Row;

use crate::Error;
use crate::store::{ResultRow, Store, n, now_ms, result_row, s};

impl Store {
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
