//! The `modelguard` binary: the global allocator and the process exit code around
//! [`modelguard_cli::run`], where everything else lives (shared with the Python package's
//! console script).

use std::process::ExitCode;

// With glibc's malloc, worker threads spent a fifth of a many-small-files scan in arena
// locking and page faults (bench/README.md). Set here, not in the library: a host process
// that links the library (the Python extension) keeps its own allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ExitCode::from(modelguard_cli::run(std::env::args_os()))
}
