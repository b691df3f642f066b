//! `--clamd` against a real clamd (Debian's `clamav-daemon`), started here with an offline,
//! one-signature database written by the test (a custom `.ndb` for EICAR): no network, no
//! freshclam. Skipped, with a message, only when no clamd binary is installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn clamd_binary() -> Option<PathBuf> {
    ["/usr/sbin/clamd", "/usr/bin/clamd", "/usr/local/sbin/clamd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/signatures")
        .join(name)
}

/// A clamd running on a unix socket in a temporary directory; killed on drop.
struct Daemon {
    child: Child,
    dir: PathBuf,
    socket: PathBuf,
}

impl Daemon {
    fn start(tag: &str, extra_conf: &str) -> Option<Daemon> {
        let Some(bin) = clamd_binary() else {
            eprintln!(
                "SKIPPED: clamd not installed (apt-get install clamav-daemon); the --clamd path is untested here"
            );
            return None;
        };
        let dir = std::env::temp_dir().join(format!("mg-clamd-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("db")).unwrap();
        let eicar = std::fs::read(fixture("danger.dat")).unwrap();
        let hex: String = eicar.iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(
            dir.join("db/test.ndb"),
            format!("Eicar-Test-Signature-MG:0:*:{hex}\n"),
        )
        .unwrap();
        let socket = dir.join("clamd.sock");
        let conf = dir.join("clamd.conf");
        std::fs::write(
            &conf,
            format!(
                "DatabaseDirectory {d}/db\nLocalSocket {s}\nForeground yes\nLogFile {d}/clamd.log\n\
                 TemporaryDirectory {d}\nBytecode no\n{extra_conf}",
                d = dir.display(),
                s = socket.display()
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start clamd");
        let d = Daemon { child, dir, socket };
        let start = Instant::now();
        while !d.socket.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "clamd did not create its socket; log:\n{}",
                std::fs::read_to_string(d.dir.join("clamd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(d)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn scan(args: &[&str]) -> (i32, Value, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_modelguard"))
        .args(["scan", "--no-config", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let v = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        o.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn rules_of(file: &Value) -> Vec<String> {
    file["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn clamd_finds_eicar_and_passes_clean_files() {
    let Some(d) = Daemon::start("main", "") else {
        return;
    };
    let sock = d.socket.to_str().unwrap();
    let (code, r, err) = scan(&[
        "--clamd",
        sock,
        fixture("danger.dat").to_str().unwrap(),
        fixture("install_notes.md").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    let files = r["files"].as_array().unwrap();
    let danger = files
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("danger.dat"))
        .unwrap();
    let clam: Vec<&Value> = danger["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "MG-CLAMAV")
        .collect();
    assert_eq!(clam.len(), 1, "{danger}");
    assert_eq!(clam[0]["severity"], "critical");
    assert!(
        clam[0]["evidence"]
            .as_str()
            .unwrap()
            .starts_with("Eicar-Test-Signature-MG"),
        "{clam:?}"
    );
    assert!(rules_of(danger).contains(&"MG-YARA".to_string()));

    let clean = files
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("install_notes.md"))
        .unwrap();
    assert!(rules_of(clean).is_empty(), "{clean}");
    assert_eq!(clean["status"], "complete");
    assert_eq!(clean["verdict"], "safe");
}

/// A file larger than clamd's StreamMaxLength: clamd answers with an error, the file is
/// incomplete (exit 2), never clean.
#[test]
fn clamd_error_makes_the_file_incomplete() {
    let Some(d) = Daemon::start("limit", "StreamMaxLength 1K\n") else {
        return;
    };
    let big = d.dir.join("big.md");
    std::fs::write(&big, "plain text\n".repeat(1000)).unwrap();
    let (code, r, err) = scan(&["--clamd", d.socket.to_str().unwrap(), big.to_str().unwrap()]);
    assert_eq!(code, 2, "{err} {r}");
    let f = &r["files"][0];
    assert_eq!(f["status"], "incomplete", "{f}");
    assert_ne!(f["verdict"], "safe");
    assert!(
        f["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "clamd"),
        "{f}"
    );
}

/// No daemon at the address: the scan stops before reading any file (exit 2).
#[test]
fn clamd_unreachable_is_a_usage_error() {
    let (code, _, err) = scan(&[
        "--clamd",
        "/nonexistent/modelguard/clamd.sock",
        fixture("danger.dat").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--clamd"), "{err}");
}
