//! Service configuration: a TOML file, overridden by environment variables, overridden by
//! command-line flags (`modelguard serve --help`).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::Error;

/// Which parts of the service this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// HTTP API (webhooks, results, pages) and workers.
    #[default]
    All,
    /// HTTP API only: stores events and enqueues jobs.
    Api,
    /// Workers only: claim jobs, fetch, scan, store results (plus `/healthz` and `/metrics`).
    Worker,
}

/// Everything the service needs. Every field has a default, so an empty file is valid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Database URL: `sqlite://path.db` (created on first start) or `postgres://…`.
    pub db: String,
    /// Roles run by this process.
    pub role: Role,
    /// Number of concurrent scan workers in this process.
    pub workers: usize,
    /// Bearer token for write endpoints other than webhooks (`POST /v1/scans`). When absent,
    /// those endpoints answer 403: they are never open by default.
    pub admin_token: Option<String>,
    /// Shared secret of the Hugging Face webhook (`X-Webhook-Secret`). When absent, the
    /// webhook endpoint answers 403.
    pub hf_webhook_secret: Option<String>,
    /// HMAC secret of the Gitea/Forgejo webhook. When absent, the endpoint answers 403.
    pub gitea_webhook_secret: Option<String>,
    /// Hub endpoint (`HF_ENDPOINT`), without a trailing slash.
    pub hf_endpoint: String,
    /// Hub token (`HF_TOKEN`), sent as a bearer token to the hub endpoint only.
    pub hf_token: Option<String>,
    /// Gitea/Forgejo base URL, for push webhooks.
    pub gitea_endpoint: Option<String>,
    /// Allow user-submitted URLs that resolve to loopback, private or link-local addresses
    /// (off by default: server-side request forgery guard).
    pub allow_private_urls: bool,
    /// Seconds a claimed job stays leased without renewal before another worker may take it.
    pub lease_secs: u64,
    /// Attempts before a job is quarantined.
    pub max_attempts: i64,
    /// Largest file the service will scan (bytes, as announced by the hub or the server).
    pub max_file_bytes: u64,
    /// Files up to this size are downloaded whole (and hashed); larger ones are read with
    /// HTTP range requests.
    pub whole_download_max_bytes: u64,
    /// When a server ignores range requests, download files up to this size instead; above
    /// it the file is an error (never silently safe).
    pub fallback_download_max_bytes: u64,
    /// Block size of the range-read cache.
    pub range_block_bytes: u64,
    /// Blocks kept per file by the range-read cache.
    pub range_cache_blocks: usize,
    /// Timeout of one HTTP request, in seconds.
    pub http_timeout_secs: u64,
    /// Retries of one HTTP request on 429/5xx/connection errors.
    pub http_retries: u32,
    /// Largest accepted request body (webhooks, uploads).
    pub max_body_bytes: usize,
    /// Seconds a graceful shutdown waits for running jobs before releasing their leases.
    pub shutdown_grace_secs: u64,
    /// Cap on files per revision.
    pub max_files_per_revision: usize,
    /// Jobs a worker claims at once (one claim statement for several jobs; they run one
    /// after another under one lease renewal).
    pub claim_batch: i64,
    /// Fairness within a lane: the jobs one listing or event enqueues are ordered this many
    /// milliseconds apart, so a repository with 10,000 files interleaves with later
    /// arrivals instead of holding the lane until it drains.
    pub fair_spread_ms: i64,
    /// Commits of one webhook event scanned in the push lane; the rest go to the backlog
    /// lane (a push of 10,000 tags never delays other pushes).
    pub max_push_refs_per_event: usize,
    /// Refs of one webhook event recorded at all; beyond it the event is refused (413).
    pub max_refs_per_event: usize,
    /// How often a job may be put off because the hub answered 429 (or 5xx through every
    /// in-place retry) before it fails. Put-offs do not count as attempts.
    pub max_deferrals: i64,
    /// First put-off delay (seconds); doubles each time up to `defer_max_secs`, or the
    /// hub's `Retry-After` when longer.
    pub defer_base_secs: u64,
    /// Longest put-off (seconds).
    pub defer_max_secs: u64,
    /// Requests per second to a hub's API (repository and tree listings), shared by every
    /// process on the database; 0 = unlimited.
    pub hub_api_requests_per_sec: f64,
    /// Listing pages a crawl job reads before it yields its worker (it continues as a new
    /// claim, so a crawl never holds a worker for hours).
    pub crawl_pages_per_job: u32,
    /// Repositories per listing page asked of the hub.
    pub crawl_page_size: u32,
    /// Finished (done) jobs are deleted after this many hours.
    pub retention_jobs_hours: u64,
    /// Events (webhook bodies) are deleted after this many hours.
    pub retention_events_hours: u64,
    /// Seconds between pruning passes (workers only; 0 = never prune).
    pub prune_interval_secs: u64,
    /// Largest webhook body; checked before the body is read (the Hub's secret is checked
    /// before it too).
    pub max_webhook_body_bytes: usize,
    /// Files per page of the revision API and page (`?limit=` up to 10 times this).
    pub page_size: i64,
    /// The scanner's limits (`[limits]` table, same keys as the policy file's). They are part
    /// of the policy digest, so changing them re-scans instead of reusing cached results.
    pub limits: modelguard::Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db: "sqlite://modelguard.db".into(),
            role: Role::All,
            workers: 2,
            admin_token: None,
            hf_webhook_secret: None,
            gitea_webhook_secret: None,
            hf_endpoint: "https://huggingface.co".into(),
            hf_token: None,
            gitea_endpoint: None,
            allow_private_urls: false,
            lease_secs: 60,
            max_attempts: 3,
            max_file_bytes: 64 << 30,
            whole_download_max_bytes: 16 << 20,
            fallback_download_max_bytes: 512 << 20,
            range_block_bytes: 256 << 10,
            range_cache_blocks: 64,
            http_timeout_secs: 60,
            http_retries: 3,
            max_body_bytes: 64 << 20,
            shutdown_grace_secs: 20,
            max_files_per_revision: 100_000,
            claim_batch: 1,
            fair_spread_ms: 20,
            max_push_refs_per_event: 16,
            max_refs_per_event: 1000,
            max_deferrals: 48,
            defer_base_secs: 30,
            defer_max_secs: 3600,
            hub_api_requests_per_sec: 10.0,
            crawl_pages_per_job: 10,
            crawl_page_size: 1000,
            retention_jobs_hours: 168,
            retention_events_hours: 720,
            prune_interval_secs: 300,
            max_webhook_body_bytes: 4 << 20,
            page_size: 500,
            limits: modelguard::Limits::default(),
        }
    }
}

/// `modelguard serve` flags. Each overrides the config file and the environment.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// TOML config file (keys as in docs/service.md).
    #[arg(long, short = 'c', env = "MODELGUARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Listen address, e.g. 0.0.0.0:8080.
    #[arg(long, env = "MODELGUARD_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Database: sqlite://modelguard.db (default) or postgres://user@host/db.
    #[arg(long, env = "MODELGUARD_DB")]
    pub db: Option<String>,
    /// Roles run by this process.
    #[arg(long, value_enum)]
    pub role: Option<Role>,
    /// Concurrent scan workers in this process.
    #[arg(long)]
    pub workers: Option<usize>,
    /// Allow user-submitted URLs to loopback/private/link-local addresses.
    #[arg(long)]
    pub allow_private_urls: bool,
}

impl Config {
    /// Load: defaults, then the file, then environment variables (`MODELGUARD_ADMIN_TOKEN`,
    /// `MODELGUARD_HF_WEBHOOK_SECRET`, `MODELGUARD_GITEA_WEBHOOK_SECRET`, `HF_ENDPOINT`,
    /// `HF_TOKEN`), then the flags.
    pub fn load(args: &ServeArgs) -> Result<Config, Error> {
        let mut c = match &args.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| Error::Config(format!("{}: {e}", p.display())))?;
                toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", p.display())))?
            }
            None => Config::default(),
        };
        c.apply_env(|k| std::env::var(k).ok());
        if let Some(v) = args.listen {
            c.listen = v;
        }
        if let Some(v) = &args.db {
            c.db.clone_from(v);
        }
        if let Some(v) = args.role {
            c.role = v;
        }
        if let Some(v) = args.workers {
            c.workers = v;
        }
        if args.allow_private_urls {
            c.allow_private_urls = true;
        }
        c.validate()?;
        Ok(c)
    }

    /// Apply environment variables through `get` (a function, so tests need not touch the
    /// process environment).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) {
        if let Some(v) = get("MODELGUARD_ADMIN_TOKEN") {
            self.admin_token = Some(v);
        }
        if let Some(v) = get("MODELGUARD_HF_WEBHOOK_SECRET") {
            self.hf_webhook_secret = Some(v);
        }
        if let Some(v) = get("MODELGUARD_GITEA_WEBHOOK_SECRET") {
            self.gitea_webhook_secret = Some(v);
        }
        if let Some(v) = get("HF_ENDPOINT") {
            self.hf_endpoint = v;
        }
        if let Some(v) = get("HF_TOKEN") {
            self.hf_token = Some(v);
        }
    }

    /// The hub client's share of the settings.
    pub fn hub(&self) -> modelguard_hub::HubConfig {
        modelguard_hub::HubConfig {
            hf_endpoint: self.hf_endpoint.clone(),
            hf_token: self.hf_token.clone(),
            gitea_endpoint: self.gitea_endpoint.clone(),
            allow_private_urls: self.allow_private_urls,
            max_file_bytes: self.max_file_bytes,
            whole_download_max_bytes: self.whole_download_max_bytes,
            fallback_download_max_bytes: self.fallback_download_max_bytes,
            range_block_bytes: self.range_block_bytes,
            range_cache_blocks: self.range_cache_blocks,
            http_timeout_secs: self.http_timeout_secs,
            http_retries: self.http_retries,
            max_files_per_revision: self.max_files_per_revision,
            user_agent: concat!("modelguard-server/", env!("CARGO_PKG_VERSION")).into(),
        }
    }

    /// Reject settings that cannot work.
    pub fn validate(&mut self) -> Result<(), Error> {
        self.hf_endpoint = self.hf_endpoint.trim_end_matches('/').to_string();
        if self.range_block_bytes == 0 || self.range_cache_blocks == 0 {
            return Err(Error::Config("range cache needs blocks > 0".into()));
        }
        if self.max_attempts < 1 {
            return Err(Error::Config("max_attempts must be at least 1".into()));
        }
        if self.claim_batch < 1 || self.page_size < 1 || self.crawl_page_size == 0 {
            return Err(Error::Config(
                "claim_batch, page_size and crawl_page_size must be at least 1".into(),
            ));
        }
        // NaN fails too.
        if self.hub_api_requests_per_sec.is_nan() || self.hub_api_requests_per_sec < 0.0 {
            return Err(Error::Config(
                "hub_api_requests_per_sec must be >= 0".into(),
            ));
        }
        if self.lease_secs < 2 {
            return Err(Error::Config("lease_secs must be at least 2".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn file_env_and_defaults() {
        let mut c: Config = toml::from_str("workers = 5\nhf_endpoint = \"http://x/\"").unwrap();
        c.apply_env(|k| (k == "HF_TOKEN").then(|| "t".to_string()));
        c.validate().unwrap();
        assert_eq!(c.workers, 5);
        assert_eq!(c.hf_endpoint, "http://x");
        assert_eq!(c.hf_token.as_deref(), Some("t"));
        assert_eq!(c.db, "sqlite://modelguard.db");
        assert!(toml::from_str::<Config>("nope = 1").is_err());
    }
}
