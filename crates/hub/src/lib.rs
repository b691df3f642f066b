//! modelguard-hub: a client for model hubs. The Hugging Face Hub's API shape (tree listing
//! with `Link` pagination, `resolve` downloads), Gitea's tree API, user-submitted URLs behind
//! an SSRF guard, and [`HttpSource`]: modelguard's [`ReadAt`] over HTTP range requests with a
//! small block cache, so the scanner fetches only the bytes its analysers read.
//!
//! It owns HTTP and the hubs' wire formats only: no database, no job queue, no scanning
//! (the service and the Python package drive it and hand its sources to the core scanner).
#![forbid(unsafe_code)]

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use modelguard::source::ReadAt;
use reqwest::{Client, Response, StatusCode, Url, header};
use serde::Deserialize;

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
struct HfEntry {
    #[serde(rename = "type")]
    kind: String,
    path: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    lfs: Option<HfLfs>,
}

#[derive(Deserialize)]
struct HfLfs {
    oid: String,
}

#[derive(Deserialize)]
struct GiteaTree {
    #[serde(default)]
    tree: Vec<GiteaEntry>,
    #[serde(default)]
    truncated: bool,
}

#[derive(Deserialize)]
struct GiteaEntry {
    path: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    size: u64,
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
struct HfRepoEntry {
    id: String,
    #[serde(default)]
    sha: Option<String>,
}

#[derive(Deserialize)]
struct GiteaSearch {
    #[serde(default)]
    data: Vec<GiteaRepoEntry>,
}

#[derive(Deserialize)]
struct GiteaRepoEntry {
    full_name: String,
    #[serde(default)]
    default_branch: Option<String>,
    #[serde(default)]
    empty: bool,
}

#[derive(Deserialize)]
struct WithSha {
    sha: String,
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

/// Whether an address is loopback, private, link-local or otherwise not a public host.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let seg0 = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg0 & 0xfe00) == 0xfc00
                || (seg0 & 0xffc0) == 0xfe80
        }
    }
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

    /// List every file of a repository revision (all pages).
    pub async fn list_tree(
        &self,
        hub: HubKind,
        repo: &str,
        rev: &str,
    ) -> Result<Vec<TreeFile>, Error> {
        match hub {
            HubKind::Hf => self.list_hf(repo, rev).await,
            HubKind::Gitea => self.list_gitea(repo, rev).await,
        }
    }

    async fn list_hf(&self, repo: &str, rev: &str) -> Result<Vec<TreeFile>, Error> {
        let mut url = self.hf_api_url(repo, &["tree", rev])?;
        url.set_query(Some("recursive=true"));
        let mut next = Some(url.to_string());
        let mut files = Vec::new();
        let mut pages = 0;
        while let Some(u) = next.take() {
            pages += 1;
            if pages > 10_000 {
                return Err(Error::Fetch("too many tree pages".into()));
            }
            // Follow pagination only on the hub itself: a `Link` elsewhere would leak the token.
            if !self.is_hub(&u) {
                return Err(Error::Fetch(format!("tree pagination left the hub: {u}")));
            }
            let resp = self.send(&self.client, &u, None, true).await?;
            next = resp
                .headers()
                .get(header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let body = self.body(resp, 64 << 20).await?;
            files.extend(parse_hf_tree(&body)?);
            if files.len() > self.cfg.max_files_per_revision {
                return Err(Error::Fetch(format!(
                    "more than {} files in the revision",
                    self.cfg.max_files_per_revision
                )));
            }
        }
        Ok(files)
    }

    async fn list_gitea(&self, repo: &str, rev: &str) -> Result<Vec<TreeFile>, Error> {
        let repo = gitea_name(repo);
        let base = self
            .cfg
            .gitea_endpoint
            .as_deref()
            .ok_or_else(|| Error::Config("gitea_endpoint is not set".into()))?
            .trim_end_matches('/');
        let mut files = Vec::new();
        for page in 1..=1000u32 {
            let url = format!(
                "{base}/api/v1/repos/{repo}/git/trees/{rev}?recursive=true&per_page=1000&page={page}"
            );
            let resp = self.send(&self.client, &url, None, false).await?;
            let body = self.body(resp, 64 << 20).await?;
            let t: GiteaTree = serde_json::from_slice(&body)
                .map_err(|e| Error::Fetch(format!("gitea tree: {e}")))?;
            let empty = t.tree.is_empty();
            files.extend(
                t.tree
                    .into_iter()
                    .filter(|e| e.kind == "blob")
                    .map(|e| TreeFile {
                        path: e.path,
                        size: e.size,
                        sha256: None,
                    }),
            );
            if !t.truncated || empty {
                return Ok(files);
            }
        }
        Err(Error::Fetch("too many tree pages".into()))
    }

    /// The first page of a hub's repository listing (a cursor for
    /// [`Fetcher::list_repos_page`]). `repo_type`: `model`, `dataset` or `space`.
    pub fn repos_first_page(
        &self,
        hub: HubKind,
        repo_type: &str,
        page_size: u32,
    ) -> Result<String, Error> {
        match hub {
            HubKind::Hf => {
                let kind = match repo_type {
                    "model" => "models",
                    "dataset" => "datasets",
                    "space" => "spaces",
                    other => return Err(Error::Config(format!("unknown repo type {other}"))),
                };
                let mut url =
                    Url::parse(&self.cfg.hf_endpoint).map_err(|e| Error::Fetch(e.to_string()))?;
                url.path_segments_mut()
                    .map_err(|_| Error::Fetch("endpoint cannot be a base".into()))?
                    .pop_if_empty()
                    .push("api")
                    .push(kind);
                url.query_pairs_mut()
                    .append_pair("limit", &page_size.to_string())
                    .append_pair("expand[]", "sha")
                    .append_pair("expand[]", "lastModified");
                Ok(url.to_string())
            }
            // Gitea pages by number: the cursor is `page:<n>`.
            HubKind::Gitea => Ok("page:1".into()),
        }
    }

    /// One page of a hub's repository listing: the repositories (with their head commit when
    /// the hub tells it) and the cursor of the next page (`None` at the end). Hugging Face
    /// pages through the `Link: <…>; rel="next"` header; Gitea through page numbers, with
    /// one branch request per repository for its head commit.
    pub async fn list_repos_page(
        &self,
        hub: HubKind,
        repo_type: &str,
        cursor: &str,
        page_size: u32,
    ) -> Result<RepoPage, Error> {
        match hub {
            HubKind::Hf => {
                // Follow only the hub's own links: a `Link` elsewhere would leak the token.
                if !self.is_hub(cursor) {
                    return Err(Error::Fetch(format!(
                        "listing cursor left the hub: {cursor}"
                    )));
                }
                let resp = self.send(&self.client, cursor, None, true).await?;
                let next = resp
                    .headers()
                    .get(header::LINK)
                    .and_then(|v| v.to_str().ok())
                    .and_then(next_link);
                let body = self.body(resp, 64 << 20).await?;
                let prefix = match repo_type {
                    "dataset" => "datasets/",
                    "space" => "spaces/",
                    _ => "",
                };
                Ok(RepoPage {
                    repos: parse_hf_repos(&body, prefix)?,
                    next,
                })
            }
            HubKind::Gitea => {
                let page: u32 = cursor
                    .strip_prefix("page:")
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| Error::Fetch(format!("bad gitea cursor {cursor}")))?;
                let base = self.gitea_base()?;
                let url = format!(
                    "{base}/api/v1/repos/search?limit={page_size}&page={page}&sort=id&order=asc"
                );
                let resp = self.send(&self.client, &url, None, false).await?;
                let body = self.body(resp, 64 << 20).await?;
                let found: GiteaSearch = serde_json::from_slice(&body)
                    .map_err(|e| Error::Fetch(format!("gitea repository search: {e}")))?;
                // Gitea caps `limit` (50 by default), so a short page is not the end: the
                // listing ends at the first empty page.
                let more = !found.data.is_empty();
                let mut repos = Vec::with_capacity(found.data.len());
                for r in found.data {
                    // An empty repository has no commit and nothing to scan.
                    if r.empty {
                        continue;
                    }
                    let branch = r.default_branch.clone().unwrap_or_else(|| "main".into());
                    let sha = match self
                        .resolve_revision(HubKind::Gitea, &r.full_name, &branch)
                        .await
                    {
                        Ok(sha) => Some(sha),
                        // This repository's branch cannot be resolved (deleted, private): its
                        // list job resolves it again and fails on its own, not the page.
                        Err(Error::Status { .. }) => None,
                        Err(e) => return Err(e),
                    };
                    repos.push(ListedRepo {
                        repo: format!("gitea/{}", r.full_name),
                        sha,
                        default_ref: branch,
                    });
                }
                Ok(RepoPage {
                    repos,
                    next: more.then(|| format!("page:{}", page + 1)),
                })
            }
        }
    }

    /// The commit a ref (branch, tag) of a repository points at now.
    pub async fn resolve_revision(
        &self,
        hub: HubKind,
        repo: &str,
        rev: &str,
    ) -> Result<String, Error> {
        let url = match hub {
            HubKind::Hf => self.hf_api_url(repo, &["revision", rev])?.to_string(),
            HubKind::Gitea => {
                let mut url =
                    Url::parse(self.gitea_base()?).map_err(|e| Error::Fetch(e.to_string()))?;
                url.path_segments_mut()
                    .map_err(|_| Error::Fetch("endpoint cannot be a base".into()))?
                    .pop_if_empty()
                    .extend(["api", "v1", "repos"])
                    .extend(gitea_name(repo).split('/'))
                    .extend(["git", "commits"])
                    .push(rev);
                url.to_string()
            }
        };
        let auth = hub == HubKind::Hf;
        let resp = self.send(&self.client, &url, None, auth).await?;
        let body = self.body(resp, 16 << 20).await?;
        let c: WithSha = serde_json::from_slice(&body)
            .map_err(|e| Error::Fetch(format!("revision answer: {e}")))?;
        if !is_commit(&c.sha) {
            return Err(Error::Fetch(format!(
                "revision answer: not a commit: {}",
                c.sha
            )));
        }
        Ok(c.sha.to_ascii_lowercase())
    }

    /// `{endpoint}/api/{models|datasets|spaces}/{owner}/{name}/{tail…}`, each part a path
    /// segment (escaped).
    fn hf_api_url(&self, repo: &str, tail: &[&str]) -> Result<Url, Error> {
        let (kind, name) = split_repo(repo);
        let mut url = Url::parse(&self.cfg.hf_endpoint).map_err(|e| Error::Fetch(e.to_string()))?;
        url.path_segments_mut()
            .map_err(|_| Error::Fetch("endpoint cannot be a base".into()))?
            .pop_if_empty()
            .push("api")
            .push(kind)
            .extend(name.split('/'))
            .extend(tail);
        Ok(url)
    }

    fn gitea_base(&self) -> Result<&str, Error> {
        Ok(self
            .cfg
            .gitea_endpoint
            .as_deref()
            .ok_or_else(|| Error::Config("gitea_endpoint is not set".into()))?
            .trim_end_matches('/'))
    }

    /// The download URL of a file.
    pub fn file_url(
        &self,
        hub: HubKind,
        repo: &str,
        rev: &str,
        path: &str,
    ) -> Result<String, Error> {
        match hub {
            HubKind::Hf => {
                let mut url =
                    Url::parse(&self.cfg.hf_endpoint).map_err(|e| Error::Fetch(e.to_string()))?;
                let (kind, name) = split_repo(repo);
                {
                    let mut segs = url
                        .path_segments_mut()
                        .map_err(|_| Error::Fetch("endpoint cannot be a base".into()))?;
                    segs.pop_if_empty();
                    if kind != "models" {
                        segs.push(kind);
                    }
                    segs.extend(name.split('/'))
                        .push("resolve")
                        .push(rev)
                        .extend(path.split('/'));
                }
                Ok(url.to_string())
            }
            HubKind::Gitea => {
                let base = self
                    .cfg
                    .gitea_endpoint
                    .as_deref()
                    .ok_or_else(|| Error::Config("gitea_endpoint is not set".into()))?
                    .trim_end_matches('/');
                let mut url = Url::parse(base).map_err(|e| Error::Fetch(e.to_string()))?;
                url.path_segments_mut()
                    .map_err(|_| Error::Fetch("endpoint cannot be a base".into()))?
                    .pop_if_empty()
                    .extend(["api", "v1", "repos"])
                    .extend(gitea_name(repo).split('/'))
                    .push("media")
                    .extend(path.split('/'));
                url.query_pairs_mut().append_pair("ref", rev);
                Ok(url.to_string())
            }
        }
    }

    /// Check a user-submitted URL: http(s) only, and unless private URLs are allowed, every
    /// address it resolves to must be public. Returns a client pinned to the checked
    /// addresses (no second DNS lookup to rebind) that follows no redirects.
    pub async fn guard_url(&self, raw: &str) -> Result<Client, Error> {
        let url = Url::parse(raw).map_err(|e| Error::Forbidden(format!("bad URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::Forbidden("only http and https URLs".into()));
        }
        let host = url
            .host_str()
            .ok_or_else(|| Error::Forbidden("URL without a host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| Error::Fetch(format!("{host}: {e}")))?
            .collect();
        if addrs.is_empty() {
            return Err(Error::Fetch(format!("{host}: no address")));
        }
        if !self.cfg.allow_private_urls
            && let Some(a) = addrs.iter().find(|a| is_private(a.ip()))
        {
            return Err(Error::Forbidden(format!(
                "{host} resolves to a non-public address ({})",
                a.ip()
            )));
        }
        let mut b = Client::builder()
            .timeout(Duration::from_secs(self.cfg.http_timeout_secs))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none());
        if host.parse::<IpAddr>().is_err() {
            b = b.resolve_to_addrs(&host, &addrs);
        }
        b.build().map_err(|e| Error::Fetch(e.to_string()))
    }

    /// Open a file for reading. Small files (and servers that ignore ranges, up to a limit)
    /// are downloaded whole; larger ones become an [`HttpSource`].
    pub async fn open(
        &self,
        client: Option<&Client>,
        url: &str,
        size_hint: Option<u64>,
    ) -> Result<Opened, Error> {
        let auth = client.is_none() && self.is_hub(url);
        let client = client.unwrap_or(&self.client);
        let block = self.cfg.range_block_bytes;
        let whole_max = self.cfg.whole_download_max_bytes;
        if size_hint.is_some_and(|s| s > self.cfg.max_file_bytes) {
            return Err(Error::TooLarge(size_hint.unwrap_or(0)));
        }
        if let Some(s) = size_hint
            && s <= whole_max
        {
            let resp = self.send(client, url, None, auth).await?;
            return Ok(Opened::Whole(self.body(resp, whole_max).await?));
        }
        let resp = self.send(client, url, Some((0, block - 1)), auth).await?;
        if resp.status() == StatusCode::PARTIAL_CONTENT {
            let total = resp
                .headers()
                .get(header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit('/').next())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| Error::Fetch("206 without a usable Content-Range".into()))?;
            if total > self.cfg.max_file_bytes {
                return Err(Error::TooLarge(total));
            }
            let first = self.body(resp, block).await?;
            if total <= whole_max {
                // Small after all: fetch the rest in one request and hash it.
                if (first.len() as u64) < total {
                    let rest = self
                        .send(client, url, Some((first.len() as u64, total - 1)), auth)
                        .await?;
                    let mut all = first;
                    if rest.status() != StatusCode::PARTIAL_CONTENT {
                        return Err(Error::Fetch("range request answered without 206".into()));
                    }
                    all.extend(self.body(rest, total).await?);
                    return Ok(Opened::Whole(all));
                }
                return Ok(Opened::Whole(first));
            }
            let src = HttpSource {
                handle: tokio::runtime::Handle::current(),
                client: client.clone(),
                url: url.to_string(),
                token: if auth {
                    self.cfg.hf_token.clone()
                } else {
                    None
                },
                size: total,
                block,
                cap: self.cfg.range_cache_blocks,
                cache: Mutex::new(Cache::default()),
                fetched: AtomicU64::new(first.len() as u64),
                failure: Mutex::new(None),
            };
            src.put(0, first);
            return Ok(Opened::Range(Box::new(src)));
        }
        // The server ignored the range: fall back to a bounded whole download.
        let limit = self.cfg.fallback_download_max_bytes;
        if resp.content_length().is_some_and(|l| l > limit) {
            return Err(Error::TooLarge(resp.content_length().unwrap_or(0)));
        }
        Ok(Opened::Whole(self.body(resp, limit).await?))
    }
}

/// What [`Fetcher::open`] returns.
pub enum Opened {
    /// The whole file in memory.
    Whole(Vec<u8>),
    /// Read on demand with range requests.
    Range(Box<HttpSource>),
}

/// Gitea repositories are stored as `gitea/owner/name`; the API wants `owner/name`.
fn gitea_name(repo: &str) -> &str {
    repo.strip_prefix("gitea/").unwrap_or(repo)
}

/// `models/owner/name` style split: (`models`|`datasets`|`spaces`, rest).
fn split_repo(repo: &str) -> (&'static str, &str) {
    if let Some(r) = repo.strip_prefix("datasets/") {
        ("datasets", r)
    } else if let Some(r) = repo.strip_prefix("spaces/") {
        ("spaces", r)
    } else {
        ("models", repo)
    }
}

#[derive(Default)]
struct Cache {
    blocks: HashMap<u64, Vec<u8>>,
    order: VecDeque<u64>,
}

/// [`ReadAt`] over HTTP range requests. Reads are served from fixed-size blocks; missing
/// consecutive blocks are fetched in one request; at most `cap` blocks are kept (oldest
/// first out). Must be used from a blocking thread (`spawn_blocking`): each miss blocks on
/// the async client.
pub struct HttpSource {
    handle: tokio::runtime::Handle,
    client: Client,
    url: String,
    token: Option<String>,
    size: u64,
    block: u64,
    cap: usize,
    cache: Mutex<Cache>,
    /// Bytes fetched so far (tests check that a big file was not downloaded whole).
    pub fetched: AtomicU64,
    /// The last transport failure: a scan that met one read less than the file holds, so
    /// its result must not be stored as the file's verdict.
    failure: Mutex<Option<String>>,
}

impl HttpSource {
    /// The last range request that failed (after its retries), if any.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    fn put(&self, idx: u64, data: Vec<u8>) {
        let Ok(mut c) = self.cache.lock() else { return };
        if c.blocks.insert(idx, data).is_none() {
            c.order.push_back(idx);
        }
        while c.order.len() > self.cap {
            if let Some(old) = c.order.pop_front() {
                c.blocks.remove(&old);
            }
        }
    }

    fn get(&self, idx: u64) -> Option<Vec<u8>> {
        self.cache.lock().ok()?.blocks.get(&idx).cloned()
    }

    fn fetch(&self, first: u64, last: u64) -> io::Result<()> {
        let start = first * self.block;
        let end = ((last + 1) * self.block).min(self.size) - 1;
        let mut req = self
            .client
            .get(&self.url)
            .header(header::RANGE, format!("bytes={start}-{end}"));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let want = end - start + 1;
        let data = self.handle.block_on(async {
            let mut last_err = String::new();
            for attempt in 0..3u32 {
                match req.try_clone().map(|r| r.send()) {
                    Some(fut) => match fut.await {
                        Ok(resp) if resp.status() == StatusCode::PARTIAL_CONTENT => {
                            match resp.bytes().await {
                                Ok(b) if b.len() as u64 == want => return Ok(b.to_vec()),
                                Ok(b) => last_err = format!("short range: {} of {want}", b.len()),
                                Err(e) => last_err = e.to_string(),
                            }
                        }
                        Ok(resp) if resp.status().is_server_error() || resp.status() == 429 => {
                            last_err = format!("HTTP {}", resp.status());
                        }
                        Ok(resp) => {
                            return Err(format!("range read answered HTTP {}", resp.status()));
                        }
                        Err(e) => last_err = e.to_string(),
                    },
                    None => return Err("request cannot be retried".to_string()),
                }
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            Err(last_err)
        });
        let data = data.map_err(|e| {
            if let Ok(mut f) = self.failure.lock() {
                *f = Some(e.clone());
            }
            io::Error::other(e)
        })?;
        self.fetched.fetch_add(want, Ordering::Relaxed);
        metrics::counter!("modelguard_bytes_fetched_total").increment(want);
        for (i, chunk) in data
            .chunks(usize::try_from(self.block).unwrap_or(usize::MAX))
            .enumerate()
        {
            self.put(first + i as u64, chunk.to_vec());
        }
        Ok(())
    }
}

impl ReadAt for HttpSource {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let end = (offset + buf.len() as u64).min(self.size);
        let first = offset / self.block;
        let last = (end - 1) / self.block;
        // Fetch runs of missing blocks, one request per run.
        let mut idx = first;
        while idx <= last {
            if self.get(idx).is_some() {
                idx += 1;
                continue;
            }
            let mut run_end = idx;
            while run_end < last && self.get(run_end + 1).is_none() {
                run_end += 1;
            }
            self.fetch(idx, run_end)?;
            idx = run_end + 1;
        }
        let mut done = 0usize;
        let mut pos = offset;
        while pos < end {
            let idx = pos / self.block;
            let Some(data) = self.get(idx) else {
                // Evicted by a concurrent reader between fetch and copy: fetch it again.
                self.fetch(idx, idx)?;
                continue;
            };
            let within = usize::try_from(pos - idx * self.block).unwrap_or(usize::MAX);
            let Some(src) = data.get(within..) else {
                return Err(io::Error::other("range block shorter than expected"));
            };
            let n = src
                .len()
                .min(usize::try_from(end - pos).unwrap_or(usize::MAX));
            let (Some(dst), Some(src)) = (buf.get_mut(done..done + n), src.get(..n)) else {
                break;
            };
            dst.copy_from_slice(src);
            done += n;
            pos += n as u64;
            if n == 0 {
                break;
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn links_and_trees() {
        assert_eq!(
            next_link("<http://h/api?cursor=2>; rel=\"next\", <http://h/x>; rel=\"prev\""),
            Some("http://h/api?cursor=2".into())
        );
        assert_eq!(next_link("<http://h/x>; rel=\"prev\""), None);
        let t = parse_hf_tree(
            br#"[{"type":"directory","path":"d","oid":"x","size":0},
                 {"type":"file","path":"a.bin","size":5,"oid":"1","lfs":{"oid":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","size":5,"pointerSize":133}},
                 {"type":"file","path":"b.txt","size":3,"oid":"2"}]"#,
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].sha256.as_deref(), Some(&*"a".repeat(64)));
        assert_eq!(t[1].sha256, None);
        assert!(parse_hf_tree(b"{}").is_err());
    }

    /// Arbitrary bytes never panic the parsers of untrusted hub answers (a small in-test
    /// fuzz loop; these parsers are serde_json and string splitting).
    #[test]
    fn parsers_survive_garbage() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let seeds: [&[u8]; 4] = [
            br#"[{"type":"file","path":"a","size":1,"lfs":{"oid":"ab"}}]"#,
            b"<http://h/x?c=1>; rel=\"next\"",
            b"\"api\";r=0;t=5",
            b"",
        ];
        for i in 0..20_000u32 {
            let seed = seeds[i as usize % seeds.len()];
            let mut data = seed.to_vec();
            for _ in 0..(i % 7) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let b = (x >> 24) as u8;
                let pos = (x as usize) % (data.len() + 1);
                match x % 3 {
                    0 => data.insert(pos, b),
                    1 if !data.is_empty() => {
                        data.remove(pos.min(data.len() - 1));
                    }
                    _ => {
                        if let Some(v) = data.get_mut(pos) {
                            *v = b;
                        }
                    }
                }
            }
            let _ = parse_hf_tree(&data);
            let _ = parse_hf_repos(&data, "");
            let text = String::from_utf8_lossy(&data);
            let _ = next_link(&text);
            if let Ok(v) = header::HeaderValue::from_bytes(&data) {
                let mut h = header::HeaderMap::new();
                h.insert("ratelimit", v);
                let _ = retry_after(&h);
            }
        }
    }

    #[test]
    fn repo_listing() {
        let sha = "a".repeat(40);
        let page = format!(
            r#"[{{"_id":"1","id":"o/m","sha":"{sha}","lastModified":"2026-01-01T00:00:00.000Z"}},
               {{"id":"o/../x","sha":"{sha}"}},
               {{"id":"o/nosha"}},
               {{"id":"o/badsha","sha":"zz"}}]"#
        );
        let r = parse_hf_repos(page.as_bytes(), "datasets/").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].repo, "datasets/o/m");
        assert_eq!(r[0].sha.as_deref(), Some(&*sha));
        assert_eq!(r[1].sha, None);
        assert_eq!(r[2].sha, None);
        assert!(parse_hf_repos(b"{}", "").is_err());
        assert!(is_commit(&"0".repeat(64)) && !is_commit("main"));
    }

    #[test]
    fn retry_after_headers() {
        let mut h = header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("ratelimit", "\"api\";r=0;t=55".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(55)));
        h.insert(header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(header::RETRY_AFTER, "99999".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(60)));
    }

    #[test]
    fn private_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn ssrf_guard_rejects_loopback_unless_allowed() {
        let f = Fetcher::new(&HubConfig::default()).unwrap();
        assert!(matches!(
            f.guard_url("http://127.0.0.1:9/x").await,
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            f.guard_url("file:///etc/passwd").await,
            Err(Error::Forbidden(_))
        ));
        let f = Fetcher::new(&HubConfig {
            allow_private_urls: true,
            ..HubConfig::default()
        })
        .unwrap();
        assert!(f.guard_url("http://127.0.0.1:9/x").await.is_ok());
    }

    #[test]
    fn urls() {
        let f = Fetcher::new(&HubConfig {
            hf_endpoint: "http://hub.test".into(),
            ..HubConfig::default()
        })
        .unwrap();
        assert_eq!(
            f.file_url(HubKind::Hf, "o/n", "abc", "dir/a b.bin")
                .unwrap(),
            "http://hub.test/o/n/resolve/abc/dir/a%20b.bin"
        );
        assert_eq!(
            f.file_url(HubKind::Hf, "datasets/o/n", "abc", "x").unwrap(),
            "http://hub.test/datasets/o/n/resolve/abc/x"
        );
    }
}
