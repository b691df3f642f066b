//! `modelguard scan`: scanners built from the policy files and the command line, files
//! scanned in parallel (local paths and `hf://` targets), the report written, baselines
//! applied and the exit code computed.
//!
//! Must not: analyse bytes (the `Scanner` does) or format reports itself (the writers do).

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use modelguard::config::Config;
use modelguard::policy::{GlobalPattern, PathGlob};
use modelguard::report::{Report, ScannerInfo};
use modelguard::{HashMode, Limits, Policy, Scanner, rules};
use modelguard_report::{hub, json, sarif};
use rayon::prelude::*;
use serde_json::Value;

use crate::args::{Format, HashArg, ScanArgs};
use crate::files::{WALK_BATCH, collect, in_report_order, walk_files};
#[cfg(feature = "hub")]
use crate::remote;
use crate::{baseline, clamd, exit_code, open, progress};

/// Merge JSON objects: fields of `patch` replace those of `base`, recursively.
pub(crate) fn merge(base: &mut Value, patch: Value) {
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

pub(crate) fn scan(mut args: ScanArgs) -> Result<u8> {
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
pub(crate) fn scan_remote(
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
pub(crate) fn scan_remote(
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
pub(crate) fn color_stdout() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
