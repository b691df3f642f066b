//! The command line: `clap` definitions of every subcommand and its arguments.
//!
//! Must not: act on the arguments (`lib.rs` dispatches, `scan.rs` scans).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use modelguard::report::Severity;

/// Security scanner for machine-learning model files: finds code that runs when a model is
/// loaded (pickle, PyTorch, NumPy, joblib…) and tells harmless from harmful.
#[derive(Parser, Debug)]
#[command(name = "modelguard", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

const SCAN_AFTER_HELP: &str = "\
Policy files:
  Unless --config or --no-config is given, the policy is the nearest modelguard.toml
  found in the working directory or a parent of it. Policy files inside the scanned
  paths are never applied (they are reported as MG-POLICY-IN-CONTENT).
  See docs/policy.md. --strict and --allow add to the policy file; --limits overrides
  the fields it names.

Exit codes:
  0  no unsuppressed finding at or above --fail-on
  1  an unsuppressed finding at or above --fail-on (wins over 2: errors never hide findings)
  2  usage, policy-file or I/O error, or a file that could not be fully analysed

Examples:
  modelguard scan model.pt
  modelguard scan models/ --exclude 'tests/**' --format sarif -o modelguard.sarif
  modelguard scan . --write-baseline .modelguard-baseline.json
  modelguard scan . --baseline .modelguard-baseline.json --fail-on medium
  modelguard scan models/ --yara-rules ./yara --clamd /run/clamav/clamd.ctl

Signatures (bundled YARA rules, --yara-rules, --clamd): see docs/signatures.md.";

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Scan files and directories (recursively; every file is identified by content).
    #[command(after_help = SCAN_AFTER_HELP)]
    Scan(Box<ScanArgs>),
    /// List every rule: ID, default severity, when it fires, name.
    Rules {
        /// Output format (markdown is docs/rules.md).
        #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Print the documentation of a rule.
    Explain {
        /// Rule ID, e.g. MG-PKL-PROC.
        id: String,
    },
    /// List every supported model format: how it is recognised and what is checked.
    Formats {
        /// Output format (text table or JSON).
        #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Run the hub service: webhooks, queue, workers, results API and pages
    /// (docs/service.md).
    #[cfg(feature = "serve")]
    Serve(Box<modelguard_server::ServeArgs>),
}

#[derive(clap::Args, Debug)]
pub(crate) struct ScanArgs {
    /// Files or directories to scan. Directories are walked recursively, without following
    /// symbolic links and skipping .git, .hg and .svn. `hf://org/name[@revision]` (also
    /// `hf://datasets/org/name`) scans a Hugging Face Hub repository by range reads, without
    /// downloading whole files ($HF_ENDPOINT, $HF_TOKEN).
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
    /// Skip files and directories whose path matches GLOB; repeatable. `*` stays within a
    /// path segment, `**` crosses segments, a pattern without `/` matches a name at any depth.
    #[arg(long, value_name = "GLOB")]
    pub(crate) exclude: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(
        long,
        short = 'j',
        value_name = "N",
        help_heading = "Performance and limits"
    )]
    pub(crate) jobs: Option<usize>,

    /// Output format: text for people, json for the full report (docs/report.md), sarif for
    /// code-scanning tools, hf for Hugging Face Hub-style per-file status.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Text, help_heading = "Output")]
    pub(crate) format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE", help_heading = "Output")]
    pub(crate) output: Option<PathBuf>,
    /// Text output: do not list clean files. Also turns the progress bar off.
    #[arg(long, short = 'q', help_heading = "Output")]
    pub(crate) quiet: bool,
    /// No progress bar (it is drawn on standard error only when both standard output and
    /// standard error are terminals and several files are scanned).
    #[arg(long, help_heading = "Output")]
    pub(crate) no_progress: bool,

    /// Lowest severity that makes the exit code 1: info, low, medium, high or critical.
    #[arg(long, default_value = "high", value_parser = parse_severity, value_name = "SEVERITY", help_heading = "Policy")]
    pub(crate) fail_on: Severity,
    /// Policy file for every scanned path, instead of the working directory's modelguard.toml.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "no_config",
        help_heading = "Policy"
    )]
    pub(crate) config: Option<PathBuf>,
    /// Ignore modelguard.toml files.
    #[arg(long, help_heading = "Policy")]
    pub(crate) no_config: bool,
    /// Treat unknown globals as suspicious (medium) however they are used.
    #[arg(long, help_heading = "Policy")]
    pub(crate) strict: bool,
    /// Allow an extra global (`module:qualname`, `module:*`, `package.*`); repeatable.
    #[arg(long = "allow", value_name = "PATTERN", help_heading = "Policy")]
    pub(crate) allow: Vec<String>,

    /// Also match the YARA rules in DIR (every *.yar / *.yara file; a rule file may be given
    /// directly); repeatable. Bundled rules always run. A rule's `severity` meta sets the
    /// finding's severity (default high). A compile error stops the scan (exit code 2).
    #[arg(long = "yara-rules", value_name = "DIR", help_heading = "Signatures")]
    pub(crate) yara_rules: Vec<PathBuf>,
    /// Also scan every file with ClamAV: a running clamd at ADDR, a unix socket path or
    /// HOST:PORT (e.g. 127.0.0.1:3310). A clamd error leaves the file incomplete, never clean.
    #[arg(long, value_name = "ADDR", help_heading = "Signatures")]
    pub(crate) clamd: Option<String>,
    /// Seconds to wait for clamd on each connect, read or write.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60,
        requires = "clamd",
        help_heading = "Signatures"
    )]
    pub(crate) clamd_timeout: u64,

    /// Suppress findings recorded in FILE (reason "baseline"): only new findings count.
    #[arg(long, value_name = "FILE", help_heading = "Baseline")]
    pub(crate) baseline: Option<PathBuf>,
    /// Record the current unsuppressed findings in FILE, then report them as baselined.
    #[arg(long, value_name = "FILE", help_heading = "Baseline")]
    pub(crate) write_baseline: Option<PathBuf>,

    /// When to hash files (auto: files up to 256 MiB; hashing reads every byte).
    #[arg(long, value_enum, default_value_t = HashArg::Auto, help_heading = "Performance and limits")]
    pub(crate) hash: HashArg,
    /// Limits as JSON (fields of modelguard::Limits), e.g. '{"max_depth": 4}'; overrides
    /// the policy file's [limits].
    #[arg(long, value_name = "JSON", help_heading = "Performance and limits")]
    pub(crate) limits: Option<String>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
    Sarif,
    Hf,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub(crate) enum ListFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub(crate) enum HashArg {
    Auto,
    Always,
    Never,
}

pub(crate) fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("unknown severity {s:?} (info, low, medium, high, critical)"))
}
