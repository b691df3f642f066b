//! The progress bar: drawn on a terminal (a pseudo-terminal from util-linux `script`), never
//! when output is piped, and not with `--no-progress` or `--quiet`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A directory with a few small files to scan.
fn corpus(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mg-progress-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    for i in 0..5 {
        std::fs::write(d.join(format!("f{i}.pkl")), b"\x80\x02}q\x00.").unwrap();
    }
    d
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_modelguard")
}

#[test]
fn piped_output_has_no_progress() {
    let d = corpus("pipe");
    let o = Command::new(bin())
        .args(["scan", "--no-config"])
        .arg(&d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    for (name, s) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        assert!(!s.contains(&0x1b), "{name} has escape codes");
        assert!(!s.contains(&b'\r'), "{name} has carriage returns");
    }
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::remove_dir_all(&d).unwrap();
}

/// Runs `modelguard scan <extra> DIR` under a pseudo-terminal; `None` when `script` is absent.
fn under_pty(dir: &Path, extra: &str) -> Option<String> {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| Path::new(p).is_file())?;
    let cmd = format!("{} scan --no-config {extra} {}", bin(), dir.display());
    let o = Command::new(script)
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env("TERM", "xterm-256color")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn terminal_shows_progress_unless_turned_off() {
    let d = corpus("tty");
    let Some(t) = under_pty(&d, "") else {
        eprintln!("SKIPPED: util-linux `script` not installed; no pseudo-terminal test");
        return;
    };
    assert!(
        t.contains("scanning"),
        "no progress bar on a terminal:\n{t:?}"
    );
    assert!(t.contains("files "), "{t:?}");
    assert!(t.contains('\u{1b}'), "{t:?}");
    for off in ["--no-progress", "--quiet"] {
        let t = under_pty(&d, off).unwrap();
        assert!(!t.contains("scanning"), "{off}: {t:?}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}
