//! `modelguard serve`: scan every push automatically and show per-file results.
//!
//! - [`api`]: HTTP endpoints (webhooks, `POST /v1/scans`, results JSON/SARIF, the
//!   per-repository page, health and metrics);
//! - [`store`]: events, the job queue with lanes and leases, results keyed by content hash,
//!   repository files — on SQLite (default) or PostgreSQL;
//! - [`fetch`] (the `modelguard-hub` crate): hub tree listing and downloads, range reads,
//!   the SSRF guard;
//! - [`worker`]: claims jobs and runs the core [`modelguard::Scanner`] on blocking threads;
//! - [`jobs`]: job payloads and outcomes, shared by the worker and the job handlers;
//! - [`status`]: Hub-style statuses, `securityFileStatus`, SARIF;
//! - [`html`]: the server-rendered page.
//!
//! The service is a library so the CLI stays thin (`modelguard serve` builds a runtime and
//! calls [`run`]) and tests start it in-process ([`start`]).
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod crawl;
/// The hub client lives in its own crate (the Python package uses it too).
pub use modelguard_hub as fetch;
pub mod html;
pub mod jobs;
pub mod status;
pub mod store;
pub mod worker;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use config::{Config, Role, ServeArgs};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Errors of the service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// Database error.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Fetching failed (retryable).
    #[error("fetch: {0}")]
    Fetch(String),
    /// The file is larger than `max_file_bytes` (permanent).
    #[error("file too large to scan ({0} bytes)")]
    TooLarge(u64),
    /// A URL the SSRF guard refuses (permanent).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The hub answered a status that retrying now will not change (401/403/404/410…): this
    /// occurrence cannot be fetched.
    #[error("fetch: {url}: HTTP {status}")]
    Unavailable {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The hub kept answering 429/5xx: try again later (after `retry_after` when given).
    #[error("{message}")]
    RetryLater {
        /// What happened.
        message: String,
        /// The server's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// A job payload that cannot be processed (permanent).
    #[error("bad job payload: {0}")]
    Payload(String),
    /// The scanner thread failed.
    #[error("scan: {0}")]
    Scan(String),
    /// I/O (listening socket).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl From<fetch::Error> for Error {
    fn from(e: fetch::Error) -> Self {
        match e {
            fetch::Error::Config(m) => Error::Config(m),
            fetch::Error::Fetch(m) => Error::Fetch(m),
            fetch::Error::TooLarge(n) => Error::TooLarge(n),
            fetch::Error::Forbidden(m) => Error::Forbidden(m),
            fetch::Error::Status { url, status } => Error::Unavailable { url, status },
            fetch::Error::RetryLater {
                url,
                status,
                retry_after,
            } => Error::RetryLater {
                message: format!("fetch: {url}: HTTP {status} (rate limited, retry later)"),
                retry_after,
            },
        }
    }
}

/// Shared state of one service process.
pub struct Ctx {
    /// Configuration.
    pub cfg: Config,
    /// Database.
    pub store: store::Store,
    /// HTTP client.
    pub fetcher: fetch::Fetcher,
    /// The scanner: limits and signatures. Its analyses (what the readers found, before any
    /// policy: `modelguard::scan::FileAnalysis`) are stored per blob.
    pub scanner: modelguard::Scanner,
    /// The whole policy; [`judge`] judges a stored analysis under it.
    pub policy: modelguard::Policy,
    /// Key of a stored analysis besides the hash ([`modelguard::Scanner::extractor`]: the
    /// extractor version, limits and signatures). Rules, severities and the policy are not
    /// part of it: only a change of it needs the bytes again.
    pub extractor: String,
    /// Key of a verdict besides the hash: (analyser version, digest of everything including
    /// the whole policy).
    pub verdict_key: (String, String),
    /// Prometheus handle (`/metrics`).
    pub metrics: PrometheusHandle,
    /// Idle poll interval of workers.
    pub poll: Duration,
}

impl Ctx {
    /// The result cache key besides the hash: (analyser version, policy digest).
    pub fn cache_key(&self) -> (String, String) {
        self.verdict_key.clone()
    }
}

/// A report from a stored analysis: every fact judged by the current rules under `policy`
/// (allowlist, `strict`, rule switches, severity overrides, path ignores), exactly what the
/// CLI's scanner reports for the same bytes under that policy.
pub fn judge(
    policy: &modelguard::Policy,
    analysis: modelguard::scan::FileAnalysis,
) -> modelguard::report::FileReport {
    analysis.into_report(policy)
}

/// The policy of `cfg.policy` (default: none).
fn load_policy(cfg: &Config) -> Result<modelguard::Policy, Error> {
    match &cfg.policy {
        None => Ok(modelguard::Policy::default()),
        Some(path) => {
            let file = modelguard::config::Config::load(path)
                .map_err(|e| Error::Config(format!("policy: {e}")))?;
            Ok(file.policy(path.parent()))
        }
    }
}

/// The process-wide Prometheus recorder (installed once; tests start several services in
/// one process).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed by an embedding program: then our
            // counters go there and /metrics shows only the gauges rendered here.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// A running service.
pub struct Running {
    /// The address the HTTP server listens on (port 0 resolved).
    pub addr: std::net::SocketAddr,
    /// Shared state.
    pub ctx: Arc<Ctx>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Graceful shutdown: stop accepting and claiming, let running jobs finish (or release
    /// their leases after the grace period), then close the database.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.ctx.store.close().await;
    }

    /// Stop at once without releasing leases: what a killed process leaves behind (tests).
    pub fn abort(self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Start the service in the current runtime: connect (and migrate) the database, bind the
/// listener, spawn the HTTP server and workers as the role says.
pub async fn start(cfg: Config) -> Result<Running, Error> {
    start_with_poll(cfg, Duration::from_millis(250)).await
}

/// [`start`] with a worker idle poll interval (tests use a short one).
pub async fn start_with_poll(cfg: Config, poll: Duration) -> Result<Running, Error> {
    let store = store::Store::connect(&cfg.db).await?;
    let fetcher = fetch::Fetcher::new(&cfg.hub())?;
    let policy = load_policy(&cfg)?;
    // The analysis does not depend on the policy: it is stored, and judged under the
    // policy, so a policy or rule change re-judges it without the bytes.
    let scanner = modelguard::Scanner {
        // The service hashes what it downloads itself and keys range reads by the hub's
        // announced hash: hashing inside the scanner would read every byte.
        hash: modelguard::HashMode::Never,
        ..modelguard::Scanner::new(cfg.limits.clone(), policy.clone())
    };
    let whole = scanner.info();
    let ctx = Arc::new(Ctx {
        fetcher,
        store,
        extractor: scanner.extractor(),
        verdict_key: (whole.version, whole.ruleset),
        policy,
        scanner,
        metrics: metrics_handle(),
        poll,
        cfg,
    });
    let (tx, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let listener = tokio::net::TcpListener::bind(ctx.cfg.listen).await?;
    let addr = listener.local_addr()?;
    let app = api::router(ctx.clone());
    {
        let mut rx = rx.clone();
        tasks.push(tokio::spawn(async move {
            let stop = async move {
                while !*rx.borrow() {
                    if rx.changed().await.is_err() {
                        break;
                    }
                }
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::error!(error = %e, "http server failed");
            }
        }));
    }
    if ctx.cfg.role != Role::Api && ctx.cfg.prune_interval_secs > 0 {
        tasks.push(tokio::spawn(prune(ctx.clone(), rx.clone())));
    }
    if ctx.cfg.role != Role::Api {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        for i in 0..ctx.cfg.workers.max(1) {
            let name = format!("{host}:{}:{}:{i}", std::process::id(), store::now_ms());
            tasks.push(tokio::spawn(worker::run(ctx.clone(), name, rx.clone())));
        }
    }
    tracing::info!(%addr, role = ?ctx.cfg.role, db = %redact(&ctx.cfg.db), "modelguard serve started");
    Ok(Running {
        addr,
        ctx,
        shutdown: tx,
        tasks,
    })
}

/// Delete finished jobs and old events past their retention, in bounded batches, every
/// `prune_interval_secs` (every worker process does it; the deletes are idempotent).
async fn prune(ctx: Arc<Ctx>, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_secs(ctx.cfg.prune_interval_secs.max(1));
    let hour = 3_600_000i64;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        let now = store::now_ms();
        let jobs_before = now.saturating_sub(
            i64::try_from(ctx.cfg.retention_jobs_hours).unwrap_or(i64::MAX / hour) * hour,
        );
        let events_before = now.saturating_sub(
            i64::try_from(ctx.cfg.retention_events_hours).unwrap_or(i64::MAX / hour) * hour,
        );
        // Batches of 10,000 until a pass deletes less: short statements, no long locks.
        loop {
            match ctx.store.prune(jobs_before, events_before, 10_000).await {
                Ok((j, e)) => {
                    metrics::counter!("modelguard_pruned_total", "table" => "jobs").increment(j);
                    metrics::counter!("modelguard_pruned_total", "table" => "events").increment(e);
                    if j < 10_000 && e < 10_000 {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "pruning failed");
                    break;
                }
            }
        }
    }
}

/// A database URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = url.get(s + 3..at).unwrap_or("");
            match creds.split_once(':') {
                Some((user, _)) => format!(
                    "{}{user}:***{}",
                    url.get(..s + 3).unwrap_or(""),
                    url.get(at..).unwrap_or("")
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Run until SIGTERM or Ctrl-C: what `modelguard serve` calls from inside its runtime.
pub async fn run(cfg: Config) -> Result<(), Error> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MODELGUARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Structured (one JSON object per line) for log collectors, text for people.
    let _ = if std::env::var("MODELGUARD_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init()
    };
    let running = start(cfg).await?;
    wait_for_signal().await;
    tracing::info!("shutting down: no new jobs; finishing or releasing running ones");
    running.shutdown().await;
    Ok(())
}

/// `modelguard serve`: load the configuration (file, environment, flags), build a
/// multi-threaded runtime and [`run`] until SIGTERM/Ctrl-C. The CLI calls only this, so it
/// needs no async runtime of its own.
pub fn serve(args: &ServeArgs) -> Result<(), Error> {
    let cfg = Config::load(args)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("modelguard-serve")
        .build()?
        .block_on(run(cfg))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("sqlite://x.db"), "sqlite://x.db");
    }
}
