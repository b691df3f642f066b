//! What the worker and the job handlers (`crawl.rs`, the worker's own `list` and `scan`) share:
//! each job kind's payload, the outcome a handler returns, and the per-hub API rate slot. Kept
//! apart so a handler in another module needs nothing from the worker, which calls it.
//!
//! Must not: claim, run or record jobs (the worker does).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::fetch::HubKind;
use crate::store::Lane;
use crate::{Ctx, Error};

/// Payload of a `list` job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListTask {
    /// Hub API.
    pub hub: HubKind,
    /// Repository (`owner/name`, `datasets/owner/name`…).
    pub repo: String,
    /// Commit, or a ref name (API submissions) resolved to its commit when the job runs.
    pub revision: String,
    /// Lane of the scan jobs it creates.
    pub lane: Lane,
}

/// Payload of a `crawl` job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrawlTask {
    /// The crawl row.
    pub crawl: i64,
    /// Hub API.
    pub hub: HubKind,
    /// `model`, `dataset` or `space`.
    pub repo_type: String,
}

/// Where a scan job's bytes come from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FileSource {
    /// A file of a hub repository.
    Hub {
        /// Hub API.
        hub: HubKind,
    },
    /// A user-submitted URL (SSRF-guarded at fetch time).
    Url {
        /// The URL.
        url: String,
    },
    /// An uploaded body kept in the `uploads` table.
    Upload {
        /// Upload row id.
        id: i64,
    },
}

/// Payload of a `scan` job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanTask {
    /// Source of the bytes.
    pub source: FileSource,
    /// Repository of the occurrence that asked for the scan.
    pub repo: String,
    /// Its revision.
    pub revision: String,
    /// Its path.
    pub path: String,
    /// Content hash, when announced before download (`lfs.oid`).
    pub sha256: Option<String>,
    /// Size, when announced.
    pub size: Option<u64>,
}

/// What a job asks for when it ends without an error.
pub(crate) enum Outcome {
    /// Done.
    Done,
    /// Run again later with this payload (a crawl's next pages; the scan of a blob moving to
    /// another occurrence), with a fresh attempt count.
    Continue {
        /// The new payload.
        payload: String,
        /// Delay before it may run (ms).
        delay_ms: i64,
    },
}

/// Wait for this process's turn to send a request to a hub's API (the rate is shared by
/// every process on the database).
pub async fn api_slot(ctx: &Ctx, hub: HubKind) -> Result<(), Error> {
    let rps = ctx.cfg.hub_api_requests_per_sec;
    if rps <= 0.0 {
        return Ok(());
    }
    let interval = (1000.0 / rps).round().max(0.0) as i64;
    if interval == 0 {
        return Ok(());
    }
    let key = match hub {
        HubKind::Hf => "hf",
        HubKind::Gitea => "gitea",
    };
    let wait = ctx.store.rate_slot(key, interval).await?;
    if wait > 0 {
        tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0))).await;
    }
    Ok(())
}
