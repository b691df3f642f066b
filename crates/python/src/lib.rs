//! `modelguard._native`: the extension module of the Python package (PyO3, abi3).
//!
//! Owns the boundary between Python and the Rust crates: building a [`Scanner`] from a
//! Python `Policy` (validated as the `modelguard.toml` it mirrors), scanning paths and bytes
//! with the GIL released (rayon across files), rendering reports with the CLI's writers,
//! running the CLI itself for the console script (`modelguard_cli::run`) and scanning Hub
//! repositories by range reads. Reports cross the boundary as the CLI's JSON (the stable
//! report model, docs/report.md); the Python layer (`python/modelguard`) turns that into
//! typed objects.
//!
//! Must not contain analysis logic (that is `modelguard`) nor a second command-line parser
//! (that is `modelguard-cli`).

use std::ffi::OsString;
use std::path::PathBuf;

use modelguard::config::Config;
use modelguard::policy::PathGlob;
use modelguard::report::{Report, Severity};
use modelguard::{HashMode, Scanner};
use modelguard_cli::remote::{Hub, RemoteError, RepoSpec};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use rayon::prelude::*;

/// Failures reported to Python, each as one of the package's exception classes
/// (`modelguard._errors`).
#[derive(Debug, thiserror::Error)]
enum Error {
    /// An invalid policy (`PolicyError`, a `ValueError`).
    #[error("{0}")]
    Policy(String),
    /// An invalid argument (`ValueError`).
    #[error("{0}")]
    Argument(String),
    /// The hub could not be reached or listed (`HubError`, an `OSError`).
    #[error("{0}")]
    Hub(String),
    /// Anything else that stopped the call (`ModelguardError`).
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// The Python exception: the package's class when it can be imported, else `RuntimeError`
    /// (never a panic).
    fn into_py(self, py: Python<'_>) -> PyErr {
        let class = match &self {
            Error::Policy(_) => "PolicyError",
            Error::Argument(_) => "ArgumentError",
            Error::Hub(_) => "HubError",
            Error::Other(_) => "ModelguardError",
        };
        let msg = self.to_string();
        match py
            .import("modelguard._errors")
            .and_then(|m| m.getattr(class))
            .and_then(|c| c.call1((msg.clone(),)))
        {
            Ok(e) => PyErr::from_value(e),
            Err(_) => pyo3::exceptions::PyRuntimeError::new_err(msg),
        }
    }
}

impl From<RemoteError> for Error {
    fn from(e: RemoteError) -> Self {
        match e {
            RemoteError::Spec(m) => Error::Argument(m),
            other => Error::Hub(other.to_string()),
        }
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Error::Other(format!("{e:#}"))
    }
}

/// The policy file text a Python `Policy` mirrors: its JSON form (the TOML structure,
/// `null`s left out) written as TOML, so `Config::parse` validates it exactly as it
/// validates a `modelguard.toml`.
fn config_from_json(policy: &str) -> Result<Config, Error> {
    let table: toml::Table =
        serde_json::from_str(policy).map_err(|e| Error::Policy(format!("policy: {e}")))?;
    let text = toml::to_string(&table).map_err(|e| Error::Policy(format!("policy: {e}")))?;
    Config::parse(&text).map_err(|e| Error::Policy(format!("policy: {e}")))
}

fn parse_severity(s: &str) -> Result<Severity, Error> {
    Severity::parse(s).ok_or_else(|| {
        Error::Argument(format!(
            "unknown severity {s:?} (info, low, medium, high, critical)"
        ))
    })
}

fn parse_hash(s: &str) -> Result<HashMode, Error> {
    match s {
        "auto" => Ok(HashMode::Auto),
        "always" => Ok(HashMode::Always),
        "never" => Ok(HashMode::Never),
        _ => Err(Error::Argument(format!(
            "unknown hash mode {s:?} (auto, always, never)"
        ))),
    }
}

/// How to build the scanner of one call.
struct Settings {
    policy: Option<String>,
    root: Option<PathBuf>,
    source: Option<PathBuf>,
    hash: HashMode,
    fail_on: Severity,
}

impl Settings {
    fn new(
        policy: Option<String>,
        root: Option<PathBuf>,
        source: Option<PathBuf>,
        hash: &str,
        fail_on: &str,
    ) -> Result<Self, Error> {
        Ok(Settings {
            policy,
            root,
            source,
            hash: parse_hash(hash)?,
            fail_on: parse_severity(fail_on)?,
        })
    }

    /// The scanner: the policy's rules and limits, as the CLI builds it from a policy file.
    fn scanner(&self) -> Result<Scanner, Error> {
        let config = match &self.policy {
            Some(j) => config_from_json(j)?,
            None => Config::default(),
        };
        let mut s = Scanner::new(config.limits.clone(), config.policy(self.root.as_deref()));
        // The policy's own file is not reported as a policy file inside scanned content.
        s.policy_file = self
            .source
            .as_ref()
            .and_then(|p| std::fs::canonicalize(p).ok());
        s.hash = self.hash;
        Ok(s)
    }
}

/// A finished scan: the CLI's JSON report, the walk errors and the CLI's exit code.
type Outcome = (String, Vec<String>, u8);

fn finish(report: &Report, walk_errors: Vec<String>, fail_on: Severity) -> Result<Outcome, Error> {
    let json = modelguard_cli::render::json(report)?;
    let code = modelguard_cli::exit_code(report, fail_on, !walk_errors.is_empty());
    Ok((json, walk_errors, code))
}

/// Scan files and directories (walked as the CLI walks them) in parallel, GIL released.
#[pyfunction]
#[pyo3(signature = (paths, *, policy=None, root=None, source=None, exclude=Vec::new(), hash="auto", fail_on="high", jobs=None))]
#[allow(clippy::too_many_arguments)]
fn scan_paths(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    policy: Option<String>,
    root: Option<PathBuf>,
    source: Option<PathBuf>,
    exclude: Vec<String>,
    hash: &str,
    fail_on: &str,
    jobs: Option<usize>,
) -> PyResult<Outcome> {
    let run = || -> Result<Outcome, Error> {
        let settings = Settings::new(policy, root, source, hash, fail_on)?;
        let scanner = settings.scanner()?;
        let excludes = exclude
            .iter()
            .map(|g| PathGlob::new(g).map_err(|e| Error::Argument(format!("exclude {g:?}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        py.detach(|| {
            let (files, walk_errors) = modelguard_cli::collect(&paths, &excludes);
            let scan_all =
                || -> Vec<_> { files.par_iter().map(|f| scanner.scan_path(f)).collect() };
            let reports = match jobs {
                Some(n) => rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|e| Error::Other(format!("thread pool: {e}")))?
                    .install(scan_all),
                None => scan_all(),
            };
            let report = Report::new(scanner.info(), reports);
            finish(&report, walk_errors, settings.fail_on)
        })
    };
    run().map_err(|e| e.into_py(py))
}

/// Scan bytes in memory; `name` is the report's path and the extension hint.
#[pyfunction]
#[pyo3(signature = (name, data, *, policy=None, root=None, source=None, hash="auto", fail_on="high"))]
#[allow(clippy::too_many_arguments)]
fn scan_bytes(
    py: Python<'_>,
    name: String,
    data: PyBackedBytes,
    policy: Option<String>,
    root: Option<PathBuf>,
    source: Option<PathBuf>,
    hash: &str,
    fail_on: &str,
) -> PyResult<Outcome> {
    let run = || -> Result<Outcome, Error> {
        let settings = Settings::new(policy, root, source, hash, fail_on)?;
        let scanner = settings.scanner()?;
        py.detach(|| {
            let r = scanner.scan_bytes(&name, &data);
            let report = Report::new(scanner.info(), vec![r]);
            finish(&report, Vec::new(), settings.fail_on)
        })
    };
    run().map_err(|e| e.into_py(py))
}

/// Per repository file: path, size, announced SHA-256, bytes fetched.
type RepoFiles = Vec<(String, u64, Option<String>, u64)>;

/// List a Hub repository and scan every file by range reads, GIL released. Returns the
/// report (paths are repository paths), the files with the bytes fetched for each, the
/// total fetched and the exit code.
#[pyfunction]
#[pyo3(signature = (repo, *, revision="main", repo_type="model", endpoint=None, token=None, policy=None, root=None, source=None, fail_on="high"))]
#[allow(clippy::too_many_arguments)]
fn scan_repo(
    py: Python<'_>,
    repo: &str,
    revision: &str,
    repo_type: &str,
    endpoint: Option<String>,
    token: Option<String>,
    policy: Option<String>,
    root: Option<PathBuf>,
    source: Option<PathBuf>,
    fail_on: &str,
) -> PyResult<(String, RepoFiles, u64, u8)> {
    let run = || -> Result<(String, RepoFiles, u64, u8), Error> {
        let settings = Settings::new(policy, root, source, "auto", fail_on)?;
        let scanner = settings.scanner()?;
        let spec = RepoSpec::new(repo, revision, repo_type)?;
        py.detach(|| {
            let hub = Hub::new(endpoint, token)?;
            let files = hub.scan(&spec, &scanner)?;
            let total = files.iter().map(|f| f.fetched).sum();
            let list = files
                .iter()
                .map(|f| {
                    (
                        f.file.path.clone(),
                        f.file.size,
                        f.file.sha256.clone(),
                        f.fetched,
                    )
                })
                .collect();
            let report = Report::new(
                scanner.info(),
                files.into_iter().map(|f| f.report).collect(),
            );
            let (json, _, code) = finish(&report, Vec::new(), settings.fail_on)?;
            Ok((json, list, total, code))
        })
    };
    run().map_err(|e| e.into_py(py))
}

/// Render a report (the JSON of a scan) as `json`, `sarif`, `hf` or `text`.
#[pyfunction]
#[pyo3(signature = (report, format, walk_errors=Vec::new(), quiet=false))]
fn render(
    py: Python<'_>,
    report: &str,
    format: &str,
    walk_errors: Vec<String>,
    quiet: bool,
) -> PyResult<String> {
    let run = || -> Result<String, Error> {
        let r: Report = serde_json::from_str(report)
            .map_err(|e| Error::Argument(format!("not a modelguard report: {e}")))?;
        Ok(match format {
            "json" => modelguard_cli::render::json(&r)?,
            "sarif" => modelguard_cli::render::sarif(&r, &walk_errors)?,
            "hf" => modelguard_cli::render::hf(&r)?,
            "text" => modelguard_cli::render::text(&r, quiet)?,
            _ => {
                return Err(Error::Argument(format!(
                    "unknown format {format:?} (json, sarif, hf, text)"
                )));
            }
        })
    };
    run().map_err(|e| e.into_py(py))
}

/// Validate a policy (its JSON form); raises `PolicyError` with the policy file's message.
#[pyfunction]
fn check_policy(py: Python<'_>, policy: &str) -> PyResult<()> {
    config_from_json(policy)
        .map(drop)
        .map_err(|e| e.into_py(py))
}

/// Parse and validate the text of a `modelguard.toml`; returns its JSON form.
#[pyfunction]
fn policy_from_toml(py: Python<'_>, text: &str) -> PyResult<String> {
    let run = || -> Result<String, Error> {
        Config::parse(text).map_err(Error::Policy)?;
        let table: toml::Table = toml::from_str(text).map_err(|e| Error::Policy(e.to_string()))?;
        serde_json::to_string(&table).map_err(|e| Error::Other(e.to_string()))
    };
    run().map_err(|e| e.into_py(py))
}

/// Run the `modelguard` command (`argv[0]` is the program name) and return its exit code:
/// the same command as the Rust binary, GIL released while it runs.
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<OsString>) -> u8 {
    py.detach(|| modelguard_cli::run(argv))
}

/// The crate version (the wheel's).
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(scan_paths, m)?)?;
    m.add_function(wrap_pyfunction!(scan_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(scan_repo, m)?)?;
    m.add_function(wrap_pyfunction!(render, m)?)?;
    m.add_function(wrap_pyfunction!(check_policy, m)?)?;
    m.add_function(wrap_pyfunction!(policy_from_toml, m)?)?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_json_is_validated_as_the_policy_file() {
        let ok = config_from_json(
            r#"{"strict": true, "allow": {"globals": ["mypkg.*"]},
                "rules": {"severity": {"MG-PKL-UNKNOWN": "medium"}},
                "ignore": [{"path": "tests/**", "rules": ["*"]}], "limits": {"max_depth": 3}}"#,
        );
        let c = ok.map_err(|e| e.to_string());
        assert!(
            matches!(&c, Ok(c) if c.strict && c.limits.max_depth == 3),
            "{c:?}"
        );
        for (bad, why) in [
            (r#"{"rules": {"disable": ["MG-NOPE"]}}"#, "MG-NOPE"),
            (r#"{"limits": {"max_dept": 1}}"#, "max_dept"),
            (r#"{"alow": {}}"#, "alow"),
            (r#"{"allow": {"globals": ["*"]}}"#, "not a pattern"),
            ("[1, 2]", "policy"),
        ] {
            let e = config_from_json(bad).err().map(|e| e.to_string());
            assert!(
                e.as_deref().is_some_and(|m| m.contains(why)),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(parse_severity("HIGH").is_ok());
        assert!(parse_severity("severe").is_err());
        assert!(parse_hash("never").is_ok());
        assert!(parse_hash("sometimes").is_err());
    }
}
