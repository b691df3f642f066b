//! The hubs' wire formats: Hugging Face tree and repository listings, Gitea trees and
//! searches, `Link` pagination and `Retry-After` / `RateLimit` headers, parsed from bytes.
//!
//! Must not: make requests (the fetcher does).

use std::time::Duration;

use reqwest::header;
use serde::Deserialize;

use crate::Error;

/// A file listed in a repository tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// Path in the repository.
    pub path: String,
    /// Size in bytes (real size for LFS files).
    pub size: u64,
    /// SHA-256 of the content when the hub announces it (`lfs.oid`); otherwise hashed after
    /// download.
    pub sha256: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct HfEntry {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) path: String,
    #[serde(default)]
    pub(crate) size: u64,
    #[serde(default)]
    pub(crate) lfs: Option<HfLfs>,
}

#[derive(Deserialize)]
pub(crate) struct HfLfs {
    pub(crate) oid: String,
}

#[derive(Deserialize)]
pub(crate) struct GiteaTree {
    #[serde(default)]
    pub(crate) tree: Vec<GiteaEntry>,
    #[serde(default)]
    pub(crate) truncated: bool,
}

#[derive(Deserialize)]
pub(crate) struct GiteaEntry {
    pub(crate) path: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) size: u64,
}

/// A repository of a hub listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRepo {
    /// Repository key: `owner/name` (models), `datasets/owner/name`, `spaces/owner/name`,
    /// `gitea/owner/name`.
    pub repo: String,
    /// Head commit, when the listing tells it (and the repository is not empty).
    pub sha: Option<String>,
    /// The ref the head commit is on (`main` on the Hugging Face Hub).
    pub default_ref: String,
}

/// One page of a repository listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoPage {
    /// Repositories on the page.
    pub repos: Vec<ListedRepo>,
    /// Cursor of the next page.
    pub next: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct HfRepoEntry {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) sha: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct GiteaSearch {
    #[serde(default)]
    pub(crate) data: Vec<GiteaRepoEntry>,
}

#[derive(Deserialize)]
pub(crate) struct GiteaRepoEntry {
    pub(crate) full_name: String,
    #[serde(default)]
    pub(crate) default_branch: Option<String>,
    #[serde(default)]
    pub(crate) empty: bool,
}

#[derive(Deserialize)]
pub(crate) struct WithSha {
    pub(crate) sha: String,
}

/// A git commit id: 40 (SHA-1) or 64 (SHA-256) hex digits.
pub fn is_commit(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parse one page of the Hub's repository listing (`GET /api/models?expand[]=sha…`).
/// Entries with names that are not plain `owner/name` paths are dropped.
pub fn parse_hf_repos(body: &[u8], prefix: &str) -> Result<Vec<ListedRepo>, Error> {
    let entries: Vec<HfRepoEntry> = serde_json::from_slice(body)
        .map_err(|e| Error::Fetch(format!("repository listing is not the expected JSON: {e}")))?;
    Ok(entries
        .into_iter()
        .filter(|e| {
            !e.id.is_empty()
                && e.id.len() <= 200
                && !e
                    .id
                    .split('/')
                    .any(|p| p.is_empty() || p == "." || p == "..")
                && e.id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
        })
        .map(|e| ListedRepo {
            repo: format!("{prefix}{}", e.id),
            sha: e
                .sha
                .filter(|s| is_commit(s))
                .map(|s| s.to_ascii_lowercase()),
            default_ref: "main".into(),
        })
        .collect())
}

/// Parse one page of a Hub tree listing (our own structs: `lfs.oid` is the SHA-256).
pub fn parse_hf_tree(body: &[u8]) -> Result<Vec<TreeFile>, Error> {
    let entries: Vec<HfEntry> = serde_json::from_slice(body)
        .map_err(|e| Error::Fetch(format!("tree listing is not the expected JSON: {e}")))?;
    Ok(entries
        .into_iter()
        .filter(|e| e.kind == "file")
        .map(|e| TreeFile {
            path: e.path,
            size: e.size,
            sha256: e
                .lfs
                .map(|l| l.oid.to_ascii_lowercase())
                .filter(|o| is_sha256(o)),
        })
        .collect())
}

/// `true` for 64 lowercase or uppercase hex digits.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"" || p.trim() == "rel=next");
        is_next.then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

/// How long the server asks us to wait: `Retry-After: <seconds>`, or the Hub's
/// `RateLimit: "api";r=0;t=<seconds>` (capped at 60 s: a worker should not sleep longer
/// holding a lease; the job is retried with backoff instead).
pub fn retry_after(h: &header::HeaderMap) -> Option<Duration> {
    retry_after_uncapped(h).map(|d| d.min(Duration::from_secs(60)))
}

/// [`retry_after`] without the cap: what a scheduler should wait before trying again.
/// Large values are clamped to a day so a hostile header cannot park work forever.
pub fn retry_after_uncapped(h: &header::HeaderMap) -> Option<Duration> {
    let secs = h
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or_else(|| {
            h.get("ratelimit")
                .and_then(|v| v.to_str().ok())?
                .split(';')
                .find_map(|p| p.trim().strip_prefix("t=")?.trim().parse::<u64>().ok())
        })?;
    Some(Duration::from_secs(secs.min(86_400)))
}
