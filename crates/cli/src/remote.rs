//! `hf://org/name[@revision]` targets: a Hugging Face Hub repository listed through the tree
//! API and scanned file by file with HTTP range reads (modelguard-hub), so a multi-GB
//! checkpoint is judged from the few KiB its analysis reads. Shared by `modelguard scan` and
//! the Python package's `scan_repo`.

use std::sync::atomic::Ordering;

use modelguard::report::{FileReport, Location, ScanError, Status, Verdict};
use modelguard::{HashMode, Scanner};
use modelguard_hub::{Fetcher, HubConfig, HubKind, Opened, TreeFile};
use rayon::prelude::*;

/// A repository revision on the Hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSpec {
    /// `org/name`, prefixed with `datasets/` or `spaces/` for those repository types (the
    /// hub client's convention).
    pub repo: String,
    /// Branch, tag or commit.
    pub revision: String,
}

/// Why a repository could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// A malformed `hf://` URL, repository name, type or revision.
    #[error("{0}")]
    Spec(String),
    /// The hub could not be reached or listed.
    #[error("{0}")]
    Hub(#[from] modelguard_hub::Error),
    /// The async runtime could not start.
    #[error("runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Block of the range-read cache (see [`Hub::new`]).
const RANGE_BLOCK_BYTES: u64 = 16 << 10;

/// YARA budget for a file read by ranges: its first and last 256 KiB (decoded members and
/// pickles are sources of their own, under the same budget). The default budget (4 MiB) would
/// download 4 MiB of every large remote file for raw-byte signatures, while the analysis of a
/// 2 GB checkpoint needs a few KiB; a lower budget set by the policy is kept.
pub const RANGE_SIGNATURE_BYTES: u64 = 512 << 10;

/// The `hf://` scheme.
pub const SCHEME: &str = "hf://";

impl RepoSpec {
    /// `repo` (`org/name`) of type `model`, `dataset` or `space` at `revision`.
    pub fn new(repo: &str, revision: &str, repo_type: &str) -> Result<RepoSpec, RemoteError> {
        let prefix = match repo_type {
            "model" | "models" => "",
            "dataset" | "datasets" => "datasets/",
            "space" | "spaces" => "spaces/",
            _ => {
                return Err(RemoteError::Spec(format!(
                    "unknown repo_type {repo_type:?} (model, dataset, space)"
                )));
            }
        };
        let parts: Vec<&str> = repo.split('/').collect();
        let valid = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        if parts.len() > 2 || !parts.iter().all(|p| valid(p)) {
            return Err(RemoteError::Spec(format!(
                "{repo:?} is not a repository name (org/name)"
            )));
        }
        if revision.is_empty() || revision.contains("..") || revision.starts_with('/') {
            return Err(RemoteError::Spec(format!("{revision:?} is not a revision")));
        }
        Ok(RepoSpec {
            repo: format!("{prefix}{repo}"),
            revision: revision.to_string(),
        })
    }

    /// Parse `hf://[models/|datasets/|spaces/]org/name[@revision]` (revision `main` by
    /// default); `None` when `s` is not an `hf://` URL.
    pub fn parse_url(s: &str) -> Option<Result<RepoSpec, RemoteError>> {
        let rest = s.strip_prefix(SCHEME)?;
        let (name, rev) = rest.split_once('@').unwrap_or((rest, "main"));
        let name = name.trim_end_matches('/');
        let (kind, name) = match name.split_once('/') {
            Some((k @ ("models" | "datasets" | "spaces"), n)) if n.contains('/') => (k, n),
            _ => ("models", name),
        };
        Some(RepoSpec::new(name, rev, kind))
    }

    /// The `hf://` URL naming this revision (report paths are this plus `/` plus the path).
    pub fn url(&self) -> String {
        format!("{SCHEME}{}@{}", self.repo, self.revision)
    }
}

/// One scanned repository file.
#[derive(Debug, Clone)]
pub struct RemoteFile {
    /// The tree listing's entry.
    pub file: TreeFile,
    /// The report; its path is the repository path.
    pub report: FileReport,
    /// Bytes downloaded to scan it.
    pub fetched: u64,
}

/// A hub client with its own async runtime, used from synchronous code (rayon workers).
pub struct Hub {
    rt: tokio::runtime::Runtime,
    fetcher: Fetcher,
}

impl Hub {
    /// A client for `endpoint` (default `$HF_ENDPOINT`, else `https://huggingface.co`) with
    /// `token` (default `$HF_TOKEN`) sent to that endpoint only.
    pub fn new(endpoint: Option<String>, token: Option<String>) -> Result<Hub, RemoteError> {
        let mut cfg = HubConfig::default();
        if let Some(e) = endpoint.or_else(|| env_nonempty("HF_ENDPOINT")) {
            cfg.hf_endpoint = e.trim_end_matches('/').to_string();
        }
        cfg.hf_token = token.or_else(|| env_nonempty("HF_TOKEN"));
        // Small blocks: the analysers' probes are a few bytes each (zip end records, HDF5
        // superblock candidates at every power of two), and each miss costs a whole block.
        // Consecutive missing blocks are still fetched in one request.
        cfg.range_block_bytes = RANGE_BLOCK_BYTES;
        cfg.range_cache_blocks = 1024;
        // Range sources block on the runtime from rayon threads: that needs worker threads
        // driving I/O (a current-thread runtime only progresses inside its own block_on).
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        Ok(Hub {
            rt,
            fetcher: Fetcher::new(&cfg)?,
        })
    }

    /// List the revision and scan every file (in parallel), in listing order.
    pub fn scan(&self, spec: &RepoSpec, scanner: &Scanner) -> Result<Vec<RemoteFile>, RemoteError> {
        let files = self.rt.block_on(self.fetcher.list_tree(
            HubKind::Hf,
            &spec.repo,
            &spec.revision,
        ))?;
        // Range reads never see every byte: hashing would download the whole file. The
        // listing's `lfs.oid` stands for the hash instead; whole downloads are hashed.
        let mut ranged = scanner.clone();
        ranged.hash = HashMode::Never;
        ranged.limits.max_signature_bytes =
            ranged.limits.max_signature_bytes.min(RANGE_SIGNATURE_BYTES);
        let mut whole = scanner.clone();
        whole.hash = HashMode::Always;
        Ok(files
            .into_par_iter()
            .map(|f| self.scan_file(spec, f, &whole, &ranged))
            .collect())
    }

    fn scan_file(
        &self,
        spec: &RepoSpec,
        file: TreeFile,
        whole: &Scanner,
        ranged: &Scanner,
    ) -> RemoteFile {
        let opened = self
            .fetcher
            .file_url(HubKind::Hf, &spec.repo, &spec.revision, &file.path)
            .and_then(|url| {
                self.rt
                    .block_on(self.fetcher.open(None, &url, Some(file.size)))
            });
        let (mut report, fetched) = match opened {
            Ok(Opened::Whole(data)) => {
                let r = whole.scan_bytes(&file.path, &data);
                let fetched = data.len() as u64;
                match (&file.sha256, &r.sha256) {
                    (Some(want), Some(got)) if !want.eq_ignore_ascii_case(got) => (
                        error_report(
                            &file,
                            format!("content hash {got} does not match the announced {want}"),
                        ),
                        fetched,
                    ),
                    _ => (r, fetched),
                }
            }
            Ok(Opened::Range(src)) => {
                let mut r = ranged.scan_source(&file.path, &*src);
                r.sha256 = file.sha256.clone();
                (r, src.fetched.load(Ordering::Relaxed))
            }
            Err(e) => (error_report(&file, e.to_string()), 0),
        };
        report.path = file.path.clone();
        RemoteFile {
            file,
            report,
            fetched,
        }
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A file that could not be read: status error, never safe.
fn error_report(file: &TreeFile, message: String) -> FileReport {
    let mut r = FileReport {
        path: file.path.clone(),
        sha256: file.sha256.clone(),
        size: file.size,
        format: "unknown".into(),
        status: Status::Error,
        verdict: Verdict::Unknown,
        findings: vec![],
        errors: vec![ScanError {
            kind: "io".into(),
            message,
            location: Location::default(),
        }],
        members: vec![],
        imports: vec![],
    };
    r.finalize();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hf_urls() {
        let p = |s: &str| RepoSpec::parse_url(s).map(|r| r.map_err(|e| e.to_string()));
        assert_eq!(p("models/x"), None);
        assert_eq!(
            p("hf://org/name"),
            Some(Ok(RepoSpec {
                repo: "org/name".into(),
                revision: "main".into()
            }))
        );
        assert_eq!(
            p("hf://datasets/org/name@v1.0"),
            Some(Ok(RepoSpec {
                repo: "datasets/org/name".into(),
                revision: "v1.0".into()
            }))
        );
        assert_eq!(
            p("hf://gpt2@abc123").and_then(Result::ok).map(|s| s.url()),
            Some("hf://gpt2@abc123".into())
        );
        for bad in [
            "hf://",
            "hf://a/b/c",
            "hf://a b/c",
            "hf://org/../x",
            "hf://org/x@",
        ] {
            assert!(matches!(p(bad), Some(Err(_))), "{bad}");
        }
        assert!(RepoSpec::new("org/x", "main", "notebook").is_err());
    }
}
