//! `modelguard-server`: the service as a standalone binary (the same as `modelguard serve`,
//! without building the CLI). The multi-process tests run it as separate worker processes.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

/// Scan every push: webhooks, queue, workers, results API and pages (docs/service.md).
#[derive(Parser, Debug)]
#[command(name = "modelguard-server", version)]
struct Cli {
    #[command(flatten)]
    args: modelguard_server::ServeArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match modelguard_server::serve(&cli.args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("modelguard-server: {e}");
            ExitCode::from(2)
        }
    }
}
