//! The `modelguard` command: arguments, walking paths, policy files, parallelism, output
//! formats, baselines and exit codes. No analysis happens here; everything is
//! [`modelguard::Scanner`]; report writers are `modelguard-report`.
//!
//! A library so that every shell runs the same command: the binary (`src/main.rs`) and the
//! Python package's `modelguard` console script both call [`run`]. [`render`] exposes the
//! report writers (JSON, SARIF, text, hf) and [`collect`] the directory walk, for shells that
//! build reports themselves. This crate must not contain analysis logic.
//!
//! Exit codes of `scan`: 0 nothing at or above `--fail-on`; 1 an unsuppressed finding at or
//! above `--fail-on`; 2 usage, policy-file or I/O error, or a file that could not be fully
//! analysed (unless 1 applies: an error never hides a finding).

mod baseline;
mod clamd;
mod open;
mod progress;
#[cfg(feature = "hub")]
pub mod remote;
mod rules_doc;

/// The report writers of `--format`, as strings, for shells that build a [`Report`]
/// themselves (the Python package): the same bytes `modelguard scan` writes.
pub mod render {
    use modelguard::report::Report;

    /// `--format json` (pretty, newline-terminated).
    pub fn json(report: &Report) -> anyhow::Result<String> {
        let mut out = Vec::new();
        modelguard_report::json::write(report, None, &mut out)?;
        Ok(String::from_utf8(out)?)
    }

    /// `--format sarif`; `walk_errors` become tool notifications.
    pub fn sarif(report: &Report, walk_errors: &[String]) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(
            &modelguard_report::sarif::log(report, walk_errors),
        )?)
    }

    /// `--format hf`.
    pub fn hf(report: &Report) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(
            &modelguard_report::hub::document(report),
        )?)
    }

    /// `--format text` without colour; `quiet` leaves clean files out.
    pub fn text(report: &Report, quiet: bool) -> anyhow::Result<String> {
        let mut out = Vec::new();
        modelguard_report::text::write(report, quiet, false, &mut out)?;
        Ok(String::from_utf8(out)?)
    }
}

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use modelguard::config::Config;
use modelguard::policy::{GlobalPattern, PathGlob};
use modelguard::report::{Report, ScannerInfo, Severity};
use modelguard::{HashMode, Limits, Policy, Scanner, rules};
use modelguard_report::{hub, json, sarif};
use rayon::prelude::*;
use serde_json::Value;

/// Security scanner for machine-learning model files: finds code that runs when a model is
/// loaded (pickle, PyTorch, NumPy, joblib…) and tells harmless from harmful.
#[derive(Parser, Debug)]
#[command(name = "modelguard", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
enum Command {
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
struct ScanArgs {
    /// Files or directories to scan. Directories are walked recursively, without following
    /// symbolic links and skipping .git, .hg and .svn. `hf://org/name[@revision]` (also
    /// `hf://datasets/org/name`) scans a Hugging Face Hub repository by range reads, without
    /// downloading whole files ($HF_ENDPOINT, $HF_TOKEN).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Skip files and directories whose path matches GLOB; repeatable. `*` stays within a
    /// path segment, `**` crosses segments, a pattern without `/` matches a name at any depth.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(
        long,
        short = 'j',
        value_name = "N",
        help_heading = "Performance and limits"
    )]
    jobs: Option<usize>,

    /// Output format: text for people, json for the full report (docs/report.md), sarif for
    /// code-scanning tools, hf for Hugging Face Hub-style per-file status.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Text, help_heading = "Output")]
    format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE", help_heading = "Output")]
    output: Option<PathBuf>,
    /// Text output: do not list clean files. Also turns the progress bar off.
    #[arg(long, short = 'q', help_heading = "Output")]
    quiet: bool,
    /// No progress bar (it is drawn on standard error only when both standard output and
    /// standard error are terminals and several files are scanned).
    #[arg(long, help_heading = "Output")]
    no_progress: bool,

    /// Lowest severity that makes the exit code 1: info, low, medium, high or critical.
    #[arg(long, default_value = "high", value_parser = parse_severity, value_name = "SEVERITY", help_heading = "Policy")]
    fail_on: Severity,
    /// Policy file for every scanned path, instead of the working directory's modelguard.toml.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "no_config",
        help_heading = "Policy"
    )]
    config: Option<PathBuf>,
    /// Ignore modelguard.toml files.
    #[arg(long, help_heading = "Policy")]
    no_config: bool,
    /// Treat unknown globals as suspicious (medium) however they are used.
    #[arg(long, help_heading = "Policy")]
    strict: bool,
    /// Allow an extra global (`module:qualname`, `module:*`, `package.*`); repeatable.
    #[arg(long = "allow", value_name = "PATTERN", help_heading = "Policy")]
    allow: Vec<String>,

    /// Also match the YARA rules in DIR (every *.yar / *.yara file; a rule file may be given
    /// directly); repeatable. Bundled rules always run. A rule's `severity` meta sets the
    /// finding's severity (default high). A compile error stops the scan (exit code 2).
    #[arg(long = "yara-rules", value_name = "DIR", help_heading = "Signatures")]
    yara_rules: Vec<PathBuf>,
    /// Also scan every file with ClamAV: a running clamd at ADDR, a unix socket path or
    /// HOST:PORT (e.g. 127.0.0.1:3310). A clamd error leaves the file incomplete, never clean.
    #[arg(long, value_name = "ADDR", help_heading = "Signatures")]
    clamd: Option<String>,
    /// Seconds to wait for clamd on each connect, read or write.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60,
        requires = "clamd",
        help_heading = "Signatures"
    )]
    clamd_timeout: u64,

    /// Suppress findings recorded in FILE (reason "baseline"): only new findings count.
    #[arg(long, value_name = "FILE", help_heading = "Baseline")]
    baseline: Option<PathBuf>,
    /// Record the current unsuppressed findings in FILE, then report them as baselined.
    #[arg(long, value_name = "FILE", help_heading = "Baseline")]
    write_baseline: Option<PathBuf>,

    /// When to hash files (auto: files up to 256 MiB; hashing reads every byte).
    #[arg(long, value_enum, default_value_t = HashArg::Auto, help_heading = "Performance and limits")]
    hash: HashArg,
    /// Limits as JSON (fields of modelguard::Limits), e.g. '{"max_depth": 4}'; overrides
    /// the policy file's [limits].
    #[arg(long, value_name = "JSON", help_heading = "Performance and limits")]
    limits: Option<String>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Sarif,
    Hf,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum ListFormat {
    Text,
    Json,
    Markdown,
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

/// Run the `modelguard` command with `args` (the first item is the program name, as in
/// `std::env::args_os`) and return its exit code. Prints to standard output and error like
/// the binary; usage errors print clap's message and return 2, `--help` and `--version`
/// return 0.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap's own rendering (coloured on a terminal), as `Cli::parse` would print it.
            let _ = e.print();
            return u8::try_from(e.exit_code()).unwrap_or(2);
        }
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("modelguard: {e:#}");
            2
        }
    }
}

fn dispatch(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Scan(args) => scan(*args),
        #[cfg(feature = "serve")]
        Command::Serve(args) => {
            modelguard_server::serve(&args)?;
            Ok(0)
        }
        Command::Rules { format } => {
            match format {
                ListFormat::Json => println!("{}", serde_json::to_string_pretty(&*rules::RULES)?),
                ListFormat::Markdown => print!("{}", rules_doc::markdown()),
                ListFormat::Text => {
                    for r in rules::RULES.iter() {
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
            Ok(0)
        }
        Command::Formats { format } => {
            let list = modelguard::formats::FORMATS;
            match format {
                ListFormat::Json => println!("{}", serde_json::to_string_pretty(list)?),
                ListFormat::Markdown => {
                    println!("| format | detected by | checks |\n|---|---|---|");
                    for f in list {
                        println!("| {} | {} | {} |", f.name, f.detected_by, f.checks);
                    }
                }
                ListFormat::Text => {
                    for f in list {
                        println!(
                            "{}\n  detected by: {}\n  checks:      {}",
                            f.name, f.detected_by, f.checks
                        );
                    }
                }
            }
            Ok(0)
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
                Ok(0)
            }
            None => {
                eprintln!("modelguard: no rule {id:?}; `modelguard rules` lists them");
                Ok(2)
            }
        },
    }
}

/// `path` as a `/`-separated string without leading `./` or `/`, for glob matching.
fn glob_path(p: &Path) -> String {
    baseline::normalize_path(&p.to_string_lossy())
        .trim_start_matches('/')
        .to_string()
}

fn excluded(path: &Path, root: Option<&Path>, excludes: &[PathGlob]) -> bool {
    if excludes.is_empty() {
        return false;
    }
    let mut candidates = vec![glob_path(path)];
    if let Some(rel) = root.and_then(|r| path.strip_prefix(r).ok()) {
        candidates.push(glob_path(rel));
    }
    excludes
        .iter()
        .any(|g| candidates.iter().any(|c| !c.is_empty() && g.is_match(c)))
}

/// Version-control directories, skipped when walking (their objects duplicate the working
/// tree in compressed form); a path naming one explicitly is still scanned.
const VCS_DIRS: &[&str] = &[".git", ".hg", ".svn"];

fn is_vcs_dir(e: &walkdir::DirEntry) -> bool {
    e.file_type().is_dir()
        && e.file_name()
            .to_str()
            .is_some_and(|n| VCS_DIRS.contains(&n))
}

/// Expand directories into their files (symlinks not followed, version-control directories
/// skipped), minus exclusions: `found(root, file)` is called for each file in the order the
/// walk meets it, `root` being the index of the path argument it came from. Returns the walk
/// errors.
fn walk_files(
    paths: &[PathBuf],
    excludes: &[PathGlob],
    found: &mut dyn FnMut(usize, PathBuf),
) -> Vec<String> {
    let mut errors = Vec::new();
    for (root, p) in paths.iter().enumerate() {
        if excluded(p, None, excludes) {
            continue;
        }
        if p.is_dir() {
            let walk = walkdir::WalkDir::new(p)
                .follow_links(false)
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0 || !(is_vcs_dir(e) || excluded(e.path(), Some(p), excludes))
                });
            for entry in walk {
                match entry {
                    Ok(e) if e.file_type().is_file() => found(root, e.into_path()),
                    Ok(_) => {}
                    Err(e) => errors.push(format!("{}: {e}", p.display())),
                }
            }
        } else if p.exists() {
            found(root, p.clone());
        } else {
            errors.push(format!("{}: no such file or directory", p.display()));
        }
    }
    errors
}

/// Report order: by path argument, then by the path's raw bytes (sorting once by bytes:
/// walkdir's per-directory `sort_by_file_name` compares through `Path::file_name` and cost
/// a third of a 5,000-file scan).
fn report_order(a: &(usize, PathBuf), b: &(usize, PathBuf)) -> std::cmp::Ordering {
    a.0.cmp(&b.0).then_with(|| {
        a.1.as_os_str()
            .as_encoded_bytes()
            .cmp(b.1.as_os_str().as_encoded_bytes())
    })
}

/// The scan results, put in report order by their keys. The sort moves only indices, and
/// the results are then moved into place in the same vector: sorting the results themselves
/// (a report and its JSON entry each) was a tenth of the main thread's work on 5,000 files,
/// and moving them into a second vector grew the peak memory by a quarter.
fn in_report_order<T>(mut done: Vec<((usize, PathBuf), T)>) -> Vec<T> {
    let mut order: Vec<usize> = (0..done.len()).collect();
    order.sort_unstable_by(|&a, &b| match (done.get(a), done.get(b)) {
        (Some(x), Some(y)) => report_order(&x.0, &y.0),
        _ => std::cmp::Ordering::Equal,
    });
    // `done[order[k]]` belongs at `k`: follow each cycle of the permutation, one swap per
    // misplaced result. A handled slot is marked by `order[k] = k`.
    for start in 0..order.len() {
        let mut k = start;
        while let Some(src) = order.get_mut(k).map(|o| std::mem::replace(o, k)) {
            if src == start {
                break;
            }
            done.swap(k, src);
            k = src;
        }
    }
    done.into_iter().map(|(_, r)| r).collect()
}

/// All files of [`walk_files`], in report order, and the walk errors: directories expanded
/// (symbolic links not followed, `.git`/`.hg`/`.svn` skipped), minus `excludes`.
pub fn collect(paths: &[PathBuf], excludes: &[PathGlob]) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let errors = walk_files(paths, excludes, &mut |root, f| files.push((root, f)));
    files.sort_unstable_by(report_order);
    (files.into_iter().map(|(_, f)| f).collect(), errors)
}

/// Files handed to the pool together while walking: one task (and one worker wake-up) per
/// batch instead of per file.
const WALK_BATCH: usize = 64;

/// Merge JSON objects: fields of `patch` replace those of `base`, recursively.
fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

/// Builds one scanner per policy file, from the policy file plus the command line.
struct Scanners<'a> {
    args: &'a ScanArgs,
    hash: HashMode,
    built: Vec<Arc<Scanner>>,
    /// The last directory asked about and its scanner: files come grouped by directory.
    last: Option<(PathBuf, Arc<Scanner>)>,
    /// YARA rules (bundled plus --yara-rules), compiled once and shared by every scanner.
    signatures: modelguard::signatures::Signatures,
    by_config: HashMap<Option<PathBuf>, usize>,
    /// The working directory's policy file, looked up once.
    cwd_config: Option<Option<PathBuf>>,
}

impl<'a> Scanners<'a> {
    fn new(args: &'a ScanArgs) -> Self {
        Scanners {
            args,
            hash: match args.hash {
                HashArg::Auto => HashMode::Auto,
                HashArg::Always => HashMode::Always,
                HashArg::Never => HashMode::Never,
            },
            built: Vec::new(),
            last: None,
            signatures: modelguard::signatures::Signatures::bundled(),
            by_config: HashMap::new(),
            cwd_config: None,
        }
    }

    /// The policy file that applies to every file: `--config`, else the nearest
    /// `modelguard.toml` upward from the working directory. Never one found from the scanned
    /// paths: a policy file shipped inside scanned content must not judge that content (a
    /// model folder with `[rules] disable = ["*"]`); such files are reported instead
    /// (`MG-POLICY-IN-CONTENT`, see `Scanner::policy_file`).
    fn config_for(&mut self, _file: &Path) -> Option<PathBuf> {
        if let Some(c) = &self.args.config {
            return Some(c.clone());
        }
        if self.args.no_config {
            return None;
        }
        self.cwd_config
            .get_or_insert_with(|| {
                std::env::current_dir()
                    .ok()
                    .and_then(|d| Config::discover(&d))
            })
            .clone()
    }

    /// The scanner for `file`, building it on first use.
    fn for_file(&mut self, file: &Path) -> Result<Arc<Scanner>> {
        self.for_file_in(file.parent().unwrap_or(Path::new("")), file)
    }

    /// [`Scanners::for_file`] with the file's directory already known (`Path::parent`
    /// re-parses the path, and the walk needs it twice per file).
    fn for_file_in(&mut self, dir: &Path, file: &Path) -> Result<Arc<Scanner>> {
        // Compared as bytes: `Path` equality re-parses both into components.
        if let Some((d, s)) = &self.last
            && d.as_os_str() == dir.as_os_str()
        {
            return Ok(s.clone());
        }
        let config = self.config_for(file);
        let s = self.get(config)?;
        self.last = Some((dir.to_path_buf(), s.clone()));
        Ok(s)
    }

    fn get(&mut self, config: Option<PathBuf>) -> Result<Arc<Scanner>> {
        if let Some(s) = self.by_config.get(&config).and_then(|&i| self.built.get(i)) {
            return Ok(s.clone());
        }
        let s = Arc::new(self.build(config.as_deref())?);
        self.by_config.insert(config, self.built.len());
        self.built.push(s.clone());
        Ok(s)
    }

    fn build(&self, config: Option<&Path>) -> Result<Scanner> {
        let (mut policy, mut limits) = match config {
            Some(path) => {
                let c = Config::load(path)?;
                let root = std::path::absolute(path)
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf));
                (c.policy(root.as_deref()), c.limits)
            }
            None => (Policy::default(), Limits::default()),
        };
        if let Some(j) = &self.args.limits {
            let patch: Value = serde_json::from_str(j).context("--limits: not JSON")?;
            let mut v = serde_json::to_value(&limits)?;
            merge(&mut v, patch);
            limits = serde_json::from_value(v).context("--limits")?;
        }
        policy
            .allow_globals
            .extend(self.args.allow.iter().cloned().map(GlobalPattern));
        policy.strict |= self.args.strict;
        let mut s = Scanner::new(limits, policy);
        s.policy_file = config.and_then(|p| std::fs::canonicalize(p).ok());
        s.hash = self.hash;
        s.signatures = self.signatures.clone();
        Ok(s)
    }

    /// Identity for the report: the scanner's, or a digest over every policy in force.
    fn info(&mut self) -> Result<ScannerInfo> {
        if self.built.is_empty() {
            let config = self.args.config.clone();
            self.get(config)?;
        }
        if let [one] = self.built.as_slice() {
            return Ok(one.info());
        }
        let mut extra = Vec::new();
        for s in &self.built {
            extra.extend(s.policy.digest_bytes());
            extra.extend(serde_json::to_vec(&s.limits).unwrap_or_default());
        }
        extra.extend(self.signatures.digest().into_bytes());
        Ok(ScannerInfo {
            name: "modelguard".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            ruleset: rules::ruleset_digest(&extra),
        })
    }
}

fn scan(mut args: ScanArgs) -> Result<u8> {
    // `hf://` targets are scanned after the local paths, by the same scanner rules.
    let remote: Vec<PathBuf> = args
        .paths
        .extract_if(.., |p| p.to_str().is_some_and(|s| s.starts_with("hf://")))
        .collect();
    let excludes = args
        .exclude
        .iter()
        .map(|g| PathGlob::new(g).with_context(|| format!("--exclude {g:?}")))
        .collect::<Result<Vec<_>>>()?;
    // Read the baseline first: a wrong path should fail before a long scan.
    let mut known = match &args.baseline {
        Some(p) => baseline::read(p)?,
        None => BTreeSet::new(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .context("thread pool")?;
    // A worker sets up the bundled signature set (rule digest, literal prefilter) while this
    // thread walks; the first use below waits for it.
    if args.yara_rules.is_empty() {
        pool.spawn(|| drop(modelguard::signatures::Signatures::bundled()));
    }
    let mut scanners = Scanners::new(&args);
    if !args.yara_rules.is_empty() {
        scanners.signatures = modelguard::signatures::Signatures::with_rule_dirs(&args.yara_rules)
            .context("--yara-rules")?;
    }
    let clamd = match &args.clamd {
        Some(a) => {
            let c = clamd::Clamd {
                addr: clamd::Addr::parse(a),
                timeout: std::time::Duration::from_secs(args.clamd_timeout.max(1)),
            };
            // A wrong address fails here, not as one error per file.
            c.ping().map_err(anyhow::Error::msg).context("--clamd")?;
            Some(c)
        }
        None => None,
    };
    // Without --write-baseline every suppression is known before the scan, so each worker
    // finishes its file: baseline applied and, for JSON, the report entry written.
    let finish_in_worker = args.write_baseline.is_none();
    let entries_in_worker = finish_in_worker && args.format == Format::Json;
    let scan_one =
        |s: &Scanner, dir: Option<&open::DirHandle>, f: &Path, bar: &progress::Progress| {
            let mut r = s.scan_file(open::open(dir, f), f);
            if let Some(c) = &clamd {
                c.amend(&mut r, f, &s.policy);
            }
            if finish_in_worker && !known.is_empty() {
                baseline::apply(std::slice::from_mut(&mut r), &known);
            }
            bar.file_done(r.size);
            let entry = entries_in_worker.then(|| json::entry(&r));
            (r, entry)
        };
    let mut dirs = open::Dirs::default();
    let (bar, walk_errors, results) = if progress::wanted(2, args.quiet, args.no_progress) {
        // A progress bar needs the total first: walk, then scan.
        let (files, walk_errors) = collect(&args.paths, &excludes);
        let jobs = files
            .into_iter()
            .map(|f| Ok((scanners.for_file(&f)?, dirs.handle(&f), f)))
            .collect::<Result<Vec<_>>>()?;
        let bar = progress::Progress::new(
            jobs.iter().map(|(_, _, f)| f.as_path()),
            progress::wanted(jobs.len(), args.quiet, args.no_progress),
        );
        let results: Vec<_> = pool.install(|| {
            jobs.par_iter()
                .map(|(s, dir, f)| scan_one(s, dir.as_ref(), f, &bar))
                .collect()
        });
        (bar, walk_errors, results)
    } else {
        // Otherwise the pool scans batches of files while this thread is still walking, and
        // the results are put in report order at the end.
        let bar = progress::Progress::new(std::iter::empty(), false);
        let done = std::sync::Mutex::new(Vec::new());
        let mut failed = None;
        let mut walk_errors = Vec::new();
        pool.in_place_scope(|scope| {
            let mut batch = Vec::with_capacity(WALK_BATCH);
            let (done, scan_one, bar) = (&done, &scan_one, &bar);
            let send = |batch: Vec<(usize, PathBuf, Arc<Scanner>, Option<open::DirHandle>)>| {
                scope.spawn(move |_| {
                    let results: Vec<_> = batch
                        .into_iter()
                        .map(|(root, f, s, dir)| {
                            let r = scan_one(&s, dir.as_ref(), &f, bar);
                            ((root, f), r)
                        })
                        .collect();
                    // Whole batches: one vector of all results grown as they come would
                    // be copied at every doubling.
                    done.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(results);
                });
            };
            walk_errors = walk_files(&args.paths, &excludes, &mut |root, f| {
                if failed.is_some() {
                    return;
                }
                let dir = f.parent().unwrap_or(Path::new(""));
                match scanners.for_file_in(dir, &f) {
                    Ok(s) => {
                        let dir = dirs.handle_in(dir);
                        batch.push((root, f, s, dir));
                        if batch.len() == WALK_BATCH {
                            send(std::mem::replace(
                                &mut batch,
                                Vec::with_capacity(WALK_BATCH),
                            ));
                        }
                    }
                    Err(e) => failed = Some(e),
                }
            });
            if !batch.is_empty() {
                send(batch);
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let batches = done
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut all = Vec::with_capacity(batches.iter().map(Vec::len).sum());
        for b in batches {
            all.extend(b);
        }
        (bar, walk_errors, in_report_order(all))
    };
    let info = scanners.info()?;
    let (mut reports, entries): (Vec<_>, Vec<_>) = results.into_iter().unzip();
    bar.finish();
    let mut walk_errors = walk_errors;
    if !remote.is_empty() {
        let config = scanners.config_for(Path::new(""));
        let scanner = scanners.get(config)?;
        let mut extra = pool.install(|| scan_remote(&remote, &scanner, &mut walk_errors));
        if finish_in_worker && !known.is_empty() {
            baseline::apply(&mut extra, &known);
        }
        reports.extend(extra);
    }
    let entries = entries.into_iter().collect::<Option<Vec<_>>>();
    if let Some(p) = &args.write_baseline {
        let doc = baseline::build(&reports);
        baseline::write(p, &doc)?;
        if let Some(items) = doc.get("findings").and_then(Value::as_array) {
            known.extend(
                items
                    .iter()
                    .filter_map(|i| i.get("fingerprint").and_then(Value::as_str))
                    .map(str::to_string),
            );
        }
    }
    if !finish_in_worker && !known.is_empty() {
        baseline::apply(&mut reports, &known);
    }
    let report = Report::new(info, reports);
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let color = args.output.is_none() && color_stdout();
    match args.format {
        Format::Json => json::write(&report, entries, &mut out)?,
        Format::Sarif => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&sarif::log(&report, &walk_errors))?
        )?,
        Format::Hf => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&hub::document(&report))?
        )?,
        Format::Text => modelguard_report::text::write(&report, args.quiet, color, &mut out)?,
    }
    out.flush()?;
    for e in &walk_errors {
        eprintln!("modelguard: {e}");
    }
    let code = exit_code(&report, args.fail_on, !walk_errors.is_empty());
    // The process ends next: freeing thousands of reports one by one is wasted work.
    std::mem::forget(report);
    Ok(code)
}

/// Scan `hf://` targets; a repository that cannot be listed is an error like a missing path.
#[cfg(feature = "hub")]
fn scan_remote(
    urls: &[PathBuf],
    scanner: &Scanner,
    errors: &mut Vec<String>,
) -> Vec<modelguard::report::FileReport> {
    let hub = match remote::Hub::new(None, None) {
        Ok(h) => h,
        Err(e) => {
            errors.push(format!("hf://: {e}"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for u in urls {
        let u = u.to_string_lossy();
        let scanned = remote::RepoSpec::parse_url(&u)
            .unwrap_or_else(|| Err(remote::RemoteError::Spec("not an hf:// URL".into())))
            .and_then(|spec| Ok((hub.scan(&spec, scanner)?, spec)));
        match scanned {
            Ok((files, spec)) => out.extend(files.into_iter().map(|f| {
                let mut r = f.report;
                r.path = format!("{}/{}", spec.url(), r.path);
                r
            })),
            Err(e) => errors.push(format!("{u}: {e}")),
        }
    }
    out
}

/// Without the `hub` feature an `hf://` target is an error.
#[cfg(not(feature = "hub"))]
fn scan_remote(
    urls: &[PathBuf],
    _scanner: &Scanner,
    errors: &mut Vec<String>,
) -> Vec<modelguard::report::FileReport> {
    errors.extend(urls.iter().map(|u| {
        format!(
            "{}: this modelguard was built without the `hub` feature",
            u.display()
        )
    }));
    Vec::new()
}

/// Whether text written to standard output should be coloured.
fn color_stdout() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// 1 when an unsuppressed finding reaches the threshold (wins over errors), else 2 on any
/// error or incomplete file, else 0.
pub fn exit_code(report: &Report, fail_on: Severity, walk_error: bool) -> u8 {
    let hit = report
        .files
        .iter()
        .any(|f| f.max_severity().is_some_and(|s| s >= fail_on));
    if hit {
        1
    } else if walk_error || report.summary.incomplete > 0 {
        2
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_by_argument_then_path_bytes() {
        let key = |root: usize, p: &str| (root, PathBuf::from(p));
        let done = vec![
            (key(1, "a/x"), "1:a/x"),
            (key(0, "b/b"), "0:b/b"),
            (key(0, "b/a"), "0:b/a"),
            (key(0, "B/z"), "0:B/z"),
            (key(1, "a/w"), "1:a/w"),
        ];
        assert_eq!(
            in_report_order(done),
            ["0:B/z", "0:b/a", "0:b/b", "1:a/w", "1:a/x"]
        );
        assert!(in_report_order(Vec::<((usize, PathBuf), ())>::new()).is_empty());
    }

    #[test]
    fn any_permutation_comes_back_sorted() {
        // A fixed pseudo-random shuffle with cycles of every length, plus sorted and
        // reversed inputs.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut shuffled: Vec<usize> = (0..500).collect();
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let sorted: Vec<usize> = (0..500).collect();
        let reversed: Vec<usize> = (0..500).rev().collect();
        for input in [shuffled, sorted, reversed] {
            let done: Vec<_> = input
                .iter()
                .map(|&n| ((n % 3, PathBuf::from(format!("d/{n:04}"))), n))
                .collect();
            let mut want = input.clone();
            want.sort_by_key(|&n| (n % 3, n));
            assert_eq!(in_report_order(done), want);
        }
    }
}
