//! The `modelguard` binary: arguments, walking paths, parallelism, output formats and exit
//! codes. No analysis happens here; everything is [`modelguard::Scanner`].

mod output;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use modelguard::report::{Report, Severity};
use modelguard::{HashMode, Limits, Policy, Scanner, rules};
use rayon::prelude::*;

/// Security scanner for machine-learning model files: finds code that runs when a model is
/// loaded (pickle, PyTorch, NumPy, joblib…) and tells harmless from harmful.
#[derive(Parser, Debug)]
#[command(name = "modelguard", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scan files and directories (recursively; every file is identified by content).
    ///
    /// Exit codes: 0 nothing at or above --fail-on; 1 findings at or above --fail-on;
    /// 2 usage or I/O error, or a file that could not be fully analysed (unless 1 applies:
    /// an error never hides a finding).
    Scan(ScanArgs),
    /// List every rule: ID, default severity, when it fires, name.
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Print the documentation of a rule.
    Explain {
        /// Rule ID, e.g. MG-PKL-PROC.
        id: String,
    },
}

#[derive(clap::Args, Debug)]
struct ScanArgs {
    /// Files or directories to scan.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, default_value = "high", value_parser = parse_severity)]
    fail_on: Severity,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// When to hash files (auto: files up to 256 MiB; hashing reads every byte).
    #[arg(long, value_enum, default_value_t = HashArg::Auto)]
    hash: HashArg,
    /// Treat unknown globals as suspicious however they are used.
    #[arg(long)]
    strict: bool,
    /// Allow an extra global (`module:qualname`, `package.*`); repeatable.
    #[arg(long = "allow", value_name = "PATTERN")]
    allow: Vec<String>,
    /// Limits as JSON (fields of modelguard::Limits), e.g. '{"max_depth": 4}'.
    #[arg(long, value_name = "JSON")]
    limits: Option<String>,
    /// Text output: do not list clean files.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum HashArg {
    Auto,
    Always,
    Never,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("unknown severity {s:?} (info, low, medium, high, critical)"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("modelguard: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan(args),
        Command::Rules { format } => {
            match format {
                ListFormat::Json => println!("{}", serde_json::to_string_pretty(rules::RULES)?),
                ListFormat::Text => {
                    for r in rules::RULES {
                        println!(
                            "{:<20} {:<9} {:<6} {}",
                            r.id,
                            r.severity,
                            format!("{:?}", r.fires).to_lowercase(),
                            r.name
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { id } => match rules::find(&id) {
            Some(r) => {
                println!(
                    "{} ({}) — default severity {}, fires on {}\n",
                    r.id,
                    r.name,
                    r.severity,
                    format!("{:?}", r.fires).to_lowercase()
                );
                println!("{}", r.doc_text());
                Ok(ExitCode::SUCCESS)
            }
            None => {
                eprintln!("modelguard: no rule {id:?}; `modelguard rules` lists them");
                Ok(ExitCode::from(2))
            }
        },
    }
}

/// Expand directories into their files (sorted, symlinks not followed).
fn collect(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_dir() {
            for entry in walkdir::WalkDir::new(p)
                .follow_links(false)
                .sort_by_file_name()
            {
                match entry {
                    Ok(e) if e.file_type().is_file() => files.push(e.into_path()),
                    Ok(_) => {}
                    Err(e) => errors.push(format!("{}: {e}", p.display())),
                }
            }
        } else if p.exists() {
            files.push(p.clone());
        } else {
            errors.push(format!("{}: no such file or directory", p.display()));
        }
    }
    (files, errors)
}

fn scan(args: ScanArgs) -> Result<ExitCode> {
    let limits: Limits = match &args.limits {
        Some(j) => serde_json::from_str(j).context("--limits")?,
        None => Limits::default(),
    };
    let policy = Policy {
        allow_globals: args
            .allow
            .iter()
            .cloned()
            .map(modelguard::policy::GlobalPattern)
            .collect(),
        strict: args.strict,
    };
    let mut scanner = Scanner::new(limits, policy);
    scanner.hash = match args.hash {
        HashArg::Auto => HashMode::Auto,
        HashArg::Always => HashMode::Always,
        HashArg::Never => HashMode::Never,
    };
    let (files, walk_errors) = collect(&args.paths);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .context("thread pool")?;
    let reports = pool.install(|| {
        files
            .par_iter()
            .map(|f| scanner.scan_path(Path::new(f)))
            .collect::<Vec<_>>()
    });
    let report = Report::new(scanner.info(), reports);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => output::text(&report, args.quiet, &mut std::io::stdout().lock())?,
    }
    for e in &walk_errors {
        eprintln!("modelguard: {e}");
    }
    Ok(exit_code(&report, args.fail_on, !walk_errors.is_empty()))
}

/// 1 when a finding reaches the threshold (wins over errors), else 2 on any error or
/// incomplete file, else 0.
fn exit_code(report: &Report, fail_on: Severity, walk_error: bool) -> ExitCode {
    let hit = report
        .files
        .iter()
        .any(|f| f.max_severity().is_some_and(|s| s >= fail_on));
    if hit {
        ExitCode::from(1)
    } else if walk_error || report.summary.incomplete > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
