//! modelguard-hub: a client for model hubs. The Hugging Face Hub's API shape (tree listing
//! with `Link` pagination, `resolve` downloads), Gitea's tree API, user-submitted URLs behind
//! an SSRF guard, and [`HttpSource`]: modelguard's
//! [`ReadAt`](modelguard::source::ReadAt) over HTTP range requests with a
//! small block cache, so the scanner fetches only the bytes its analysers read.
//!
//! It owns HTTP and the hubs' wire formats only: no database, no job queue, no scanning
//! (the service and the Python package drive it and hand its sources to the core scanner).
//!
//! Files: this one holds the configuration and the [`Fetcher`]'s retrying HTTP; `wire.rs`
//! parses the hubs' answers, `listing.rs` lists trees and repositories, `guard.rs` checks
//! user-submitted URLs, `source.rs` reads files (whole or by range).

#![forbid(unsafe_code)]

mod guard;
mod listing;
mod source;
mod wire;

pub use guard::is_private;
pub use source::{HttpSource, Opened};
pub use wire::{
    ListedRepo, RepoPage, TreeFile, is_commit, is_sha256, next_link, parse_hf_repos, parse_hf_tree,
    retry_after, retry_after_uncapped,
};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Client, Response, StatusCode, header};

/// Errors of the hub client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad configuration (an endpoint that is not set or not a base URL).
    #[error("configuration: {0}")]
    Config(String),
    /// Transport failure or an unusable answer (retryable).
    #[error("fetch: {0}")]
    Fetch(String),
    /// The server answered with an error status that retrying now will not change
    /// (401/403/404/410…): the URL is unavailable to us.
    #[error("fetch: {url}: HTTP {status}")]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The server kept answering 429 (or 5xx) through every retry: try again later, after
    /// `retry_after` when the server said.
    #[error("fetch: {url}: HTTP {status} (rate limited or unavailable, retry later)")]
    RetryLater {
        /// The URL requested.
        url: String,
        /// The last HTTP status.
        status: u16,
        /// The server's `Retry-After`, uncapped.
        retry_after: Option<Duration>,
    },
    /// The file is larger than `max_file_bytes` (permanent).
    #[error("file too large to scan ({0} bytes)")]
    TooLarge(u64),
    /// A URL the SSRF guard refuses (permanent).
    #[error("forbidden: {0}")]
    Forbidden(String),
}

/// What the hub client needs to know. Every field has a default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubConfig {
    /// Hub endpoint (`HF_ENDPOINT`), without a trailing slash.
    pub hf_endpoint: String,
    /// Hub token (`HF_TOKEN`), sent as a bearer token to the hub endpoint only.
    pub hf_token: Option<String>,
    /// Gitea/Forgejo base URL.
    pub gitea_endpoint: Option<String>,
    /// Allow user-submitted URLs that resolve to loopback, private or link-local addresses.
    pub allow_private_urls: bool,
    /// Largest file to open (bytes).
    pub max_file_bytes: u64,
    /// Files up to this size are downloaded whole; larger ones are read by ranges.
    pub whole_download_max_bytes: u64,
    /// When a server ignores range requests, download files up to this size instead.
    pub fallback_download_max_bytes: u64,
    /// Block size of the range-read cache.
    pub range_block_bytes: u64,
    /// Blocks kept per file by the range-read cache.
    pub range_cache_blocks: usize,
    /// Timeout of one HTTP request, in seconds.
    pub http_timeout_secs: u64,
    /// Retries of one HTTP request on 429/5xx/connection errors.
    pub http_retries: u32,
    /// Cap on files per listed revision.
    pub max_files_per_revision: usize,
    /// `User-Agent` of every request.
    pub user_agent: String,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            hf_endpoint: "https://huggingface.co".into(),
            hf_token: None,
            gitea_endpoint: None,
            allow_private_urls: false,
            max_file_bytes: 64 << 30,
            whole_download_max_bytes: 16 << 20,
            fallback_download_max_bytes: 512 << 20,
            range_block_bytes: 256 << 10,
            range_cache_blocks: 64,
            http_timeout_secs: 60,
            http_retries: 3,
            max_files_per_revision: 100_000,
            user_agent: concat!("modelguard/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// Which hub API a repository lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HubKind {
    /// Hugging Face Hub-shaped API (`HF_ENDPOINT`).
    Hf,
    /// Gitea / Forgejo.
    Gitea,
}

/// Shared HTTP client, limits and counters.
#[derive(Debug)]
pub struct Fetcher {
    client: Client,
    cfg: HubConfig,
    /// Bytes downloaded since start.
    pub bytes: AtomicU64,
}

impl Fetcher {
    /// A fetcher for the configuration.
    pub fn new(cfg: &HubConfig) -> Result<Fetcher, Error> {
        let client = Client::builder()
            .timeout(Duration::from_secs(cfg.http_timeout_secs))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(cfg.user_agent.clone())
            .build()
            .map_err(|e| Error::Fetch(e.to_string()))?;
        Ok(Fetcher {
            client,
            cfg: cfg.clone(),
            bytes: AtomicU64::new(0),
        })
    }

    fn count(&self, n: usize) {
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        metrics::counter!("modelguard_bytes_fetched_total").increment(n as u64);
    }

    /// Send with retries: 429 and 5xx answers and connection errors are retried with
    /// exponential backoff (honouring a short `Retry-After`).
    async fn send(
        &self,
        client: &Client,
        url: &str,
        range: Option<(u64, u64)>,
        auth: bool,
    ) -> Result<Response, Error> {
        let mut attempt = 0u32;
        loop {
            let mut req = client.get(url);
            if let Some((a, b)) = range {
                req = req.header(header::RANGE, format!("bytes={a}-{b}"));
            }
            if auth && let Some(t) = &self.cfg.hf_token {
                req = req.bearer_auth(t);
            }
            let retry_after = match req.send().await {
                Ok(resp) => {
                    let st = resp.status();
                    if st == StatusCode::TOO_MANY_REQUESTS || st.is_server_error() {
                        metrics::counter!("modelguard_upstream_retries_total", "status" => st.as_u16().to_string()).increment(1);
                        let wait = retry_after_uncapped(resp.headers());
                        if attempt >= self.cfg.http_retries {
                            return Err(Error::RetryLater {
                                url: url.to_string(),
                                status: st.as_u16(),
                                retry_after: wait,
                            });
                        }
                        // Sleep at most a minute in place: longer waits are the caller's
                        // to schedule (a worker should not hold a lease asleep).
                        wait.unwrap_or(Duration::ZERO).min(Duration::from_secs(60))
                    } else if !st.is_success() {
                        return Err(Error::Status {
                            url: url.to_string(),
                            status: st.as_u16(),
                        });
                    } else {
                        return Ok(resp);
                    }
                }
                Err(e) if attempt < self.cfg.http_retries && !e.is_builder() => Duration::ZERO,
                Err(e) => return Err(Error::Fetch(format!("{url}: {e}"))),
            };
            let backoff = Duration::from_millis(200u64 << attempt.min(8));
            tokio::time::sleep(retry_after.max(backoff)).await;
            attempt += 1;
        }
    }

    /// Read a response body, failing once it exceeds `max` bytes.
    async fn body(&self, mut resp: Response, max: u64) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| Error::Fetch(e.to_string()))?
        {
            self.count(chunk.len());
            if out.len() as u64 + chunk.len() as u64 > max {
                return Err(Error::Fetch(format!("body larger than {max} bytes")));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    fn is_hub(&self, url: &str) -> bool {
        url.starts_with(&format!("{}/", self.cfg.hf_endpoint))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests;
