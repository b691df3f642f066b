//! Progress bar for multi-file scans: files done/total, bytes, rate and ETA, drawn on
//! standard error. Shown only when both standard output and standard error are terminals
//! (piped or redirected output never carries escape codes), for more than one file, and
//! not with `--quiet` or `--no-progress`.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar, or nothing when progress is off.
pub struct Progress {
    bar: Option<ProgressBar>,
    files: usize,
    done: AtomicUsize,
}

/// Whether to draw: a terminal on both streams, several files, not turned off.
pub fn wanted(files: usize, quiet: bool, no_progress: bool) -> bool {
    files > 1
        && !quiet
        && !no_progress
        && std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal()
}

impl Progress {
    /// A bar over `files` (their sizes make the byte total), drawn when `show`.
    pub fn new<'p>(files: impl ExactSizeIterator<Item = &'p Path>, show: bool) -> Progress {
        let count = files.len();
        let bar = show.then(|| {
            let total: u64 = files
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum();
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} scanning [{elapsed_precise}] {wide_bar} {msg} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(format!("files 0/{count}"));
            // First draw now: a short scan still shows where it stands.
            bar.tick();
            bar
        });
        Progress {
            bar,
            files: count,
            done: AtomicUsize::new(0),
        }
    }

    /// One file finished; `bytes` is its size.
    pub fn file_done(&self, bytes: u64) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(b) = &self.bar {
            b.set_message(format!("files {done}/{}", self.files));
            b.inc(bytes);
        }
    }

    /// Remove the bar before the report is printed.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
