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

//!
//! Files: `args.rs` the command line, `files.rs` the paths walked, `scan.rs` the `scan`
//! subcommand, `render.rs` the writers for other shells; this file dispatches.

mod args;
mod baseline;
mod clamd;
mod files;
mod open;
mod progress;
#[cfg(feature = "hub")]
pub mod remote;
pub mod render;
mod rules_doc;
mod scan;

use anyhow::Result;
use clap::Parser;
use modelguard::report::{Report, Severity};
use modelguard::rules;

use args::{Cli, Command, ListFormat};
pub use files::collect;
use scan::scan;

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
