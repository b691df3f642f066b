//! Optional ClamAV pass (`--clamd ADDR`): each file is streamed to a running `clamd` with
//! `zINSTREAM` and the reply is folded into the file's report. Lives in the CLI because the
//! core never touches the network.
//!
//! Protocol (clamd(8)): `zINSTREAM\0`, then chunks `<u32 big-endian length><bytes>`, then a
//! zero-length chunk; the reply is one NUL-terminated line: `stream: OK`,
//! `stream: <signature> FOUND` or `<message> ERROR` (e.g. `INSTREAM size limit exceeded.`
//! when the file is larger than clamd's `StreamMaxLength`). Anything but OK/FOUND, a
//! connection failure or a timeout makes the file `incomplete`: never clean.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use modelguard::Policy;
use modelguard::report::{FileReport, Finding, Location, ScanError, Severity, Status};
use modelguard::rules;

/// Bytes per INSTREAM chunk (clamd's limit applies to the whole stream, not a chunk; small
/// chunks keep memory flat).
const CHUNK: usize = 64 * 1024;

/// Longest reply line accepted.
const MAX_REPLY: u64 = 4096;

/// Where clamd listens.
#[derive(Debug, Clone)]
pub enum Addr {
    /// `host:port` (e.g. `127.0.0.1:3310`).
    Tcp(SocketAddr),
    /// A unix socket path.
    Unix(PathBuf),
}

impl Addr {
    /// `host:port` when it parses as a socket address, else a unix socket path.
    pub fn parse(s: &str) -> Addr {
        match s.parse::<SocketAddr>() {
            Ok(a) => Addr::Tcp(a),
            Err(_) => Addr::Unix(PathBuf::from(s)),
        }
    }
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::Tcp(a) => write!(f, "{a}"),
            Addr::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A clamd client: one connection per file (clamd handles them in parallel).
#[derive(Debug, Clone)]
pub struct Clamd {
    /// Address.
    pub addr: Addr,
    /// Connect, read and write timeout (each operation).
    pub timeout: Duration,
}

/// What clamd said about one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `stream: OK`.
    Clean,
    /// `stream: <signature> FOUND`.
    Found(String),
}

trait Conn: Read + Write {}
impl<T: Read + Write> Conn for T {}

impl Clamd {
    fn connect(&self) -> std::io::Result<Box<dyn Conn>> {
        match &self.addr {
            Addr::Tcp(a) => {
                let s = TcpStream::connect_timeout(a, self.timeout)?;
                s.set_read_timeout(Some(self.timeout))?;
                s.set_write_timeout(Some(self.timeout))?;
                Ok(Box::new(s))
            }
            #[cfg(unix)]
            Addr::Unix(p) => {
                let s = UnixStream::connect(p)?;
                s.set_read_timeout(Some(self.timeout))?;
                s.set_write_timeout(Some(self.timeout))?;
                Ok(Box::new(s))
            }
            #[cfg(not(unix))]
            Addr::Unix(_) => Err(std::io::Error::other("unix sockets are not supported here")),
        }
    }

    /// `PING` → `PONG`: checks the address once before a scan.
    pub fn ping(&self) -> Result<(), String> {
        let mut c = self
            .connect()
            .map_err(|e| format!("clamd {}: {e}", self.addr))?;
        c.write_all(b"zPING\0")
            .map_err(|e| format!("clamd {}: {e}", self.addr))?;
        match read_reply(&mut c) {
            Ok(r) if r == "PONG" => Ok(()),
            Ok(r) => Err(format!(
                "clamd {}: unexpected reply to PING: {r:?}",
                self.addr
            )),
            Err(e) => Err(format!("clamd {}: {e}", self.addr)),
        }
    }

    /// Stream `data` with `zINSTREAM`.
    pub fn scan_reader(&self, data: &mut dyn Read) -> Result<Verdict, String> {
        let mut c = self.connect().map_err(|e| format!("connect: {e}"))?;
        let sent = send_stream(&mut c, data);
        // clamd stops reading and replies when the stream exceeds StreamMaxLength: a write
        // error is reported with the reply when there is one.
        let reply = read_reply(&mut c);
        match (sent, reply) {
            (_, Ok(r)) => parse_reply(&r),
            (Err(e), Err(_)) => Err(format!("sending: {e}")),
            (Ok(()), Err(e)) => Err(format!("reading reply: {e}")),
        }
    }

    /// Scan the file at `path`.
    pub fn scan_file(&self, path: &Path) -> Result<Verdict, String> {
        let mut f = std::fs::File::open(path).map_err(|e| format!("open: {e}"))?;
        self.scan_reader(&mut f)
    }

    /// Scan `report.path` and fold the result into `report`: a `MG-CLAMAV` finding, or an
    /// error that makes a complete file incomplete. The policy is re-applied (suppressions,
    /// severity overrides) and the verdict recomputed.
    pub fn amend(&self, report: &mut FileReport, path: &Path, policy: &Policy) {
        match self.scan_file(path) {
            Ok(Verdict::Clean) => {}
            Ok(Verdict::Found(sig)) => report.findings.push(Finding {
                rule: rules::CLAMAV.id.into(),
                severity: Severity::Critical,
                message: format!("ClamAV: {sig}"),
                evidence: Some(sig),
                location: Location::default(),
                suppressed: None,
            }),
            Err(e) => {
                report.errors.push(ScanError {
                    kind: "clamd".into(),
                    message: format!("clamd {}: {e}", self.addr),
                    location: Location::default(),
                });
                if report.status == Status::Complete {
                    report.status = Status::Incomplete;
                }
            }
        }
        policy.apply(report);
    }
}

fn send_stream(c: &mut dyn Conn, data: &mut dyn Read) -> std::io::Result<()> {
    c.write_all(b"zINSTREAM\0")?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = data.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let len = u32::try_from(n).map_err(std::io::Error::other)?;
        c.write_all(&len.to_be_bytes())?;
        c.write_all(buf.get(..n).unwrap_or_default())?;
    }
    c.write_all(&[0, 0, 0, 0])?;
    c.flush()
}

/// One reply, up to NUL, newline or end of stream.
fn read_reply(c: &mut dyn Conn) -> std::io::Result<String> {
    let mut out = Vec::new();
    let mut limited = c.take(MAX_REPLY);
    let mut byte = [0u8; 1];
    loop {
        match limited.read(&mut byte)? {
            0 => break,
            _ if byte[0] == 0 || byte[0] == b'\n' => break,
            _ => out.push(byte[0]),
        }
    }
    if out.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed without a reply",
        ));
    }
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

/// `stream: OK`, `stream: <sig> FOUND`, anything else is an error.
fn parse_reply(r: &str) -> Result<Verdict, String> {
    let body = r.strip_prefix("stream:").map(str::trim);
    match body {
        Some("OK") => Ok(Verdict::Clean),
        Some(b) if b.ends_with(" FOUND") => Ok(Verdict::Found(
            b.trim_end_matches(" FOUND").trim().to_string(),
        )),
        _ => Err(format!("clamd replied {r:?}")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn replies() {
        assert_eq!(parse_reply("stream: OK"), Ok(Verdict::Clean));
        assert_eq!(
            parse_reply("stream: Eicar-Test-Signature FOUND"),
            Ok(Verdict::Found("Eicar-Test-Signature".into()))
        );
        assert!(parse_reply("INSTREAM size limit exceeded. ERROR").is_err());
        assert!(parse_reply("stream: Can't allocate memory ERROR").is_err());
        assert!(parse_reply("").is_err());
    }

    #[test]
    fn addresses() {
        assert!(matches!(Addr::parse("127.0.0.1:3310"), Addr::Tcp(_)));
        assert!(matches!(Addr::parse("[::1]:3310"), Addr::Tcp(_)));
        assert!(matches!(
            Addr::parse("/run/clamav/clamd.ctl"),
            Addr::Unix(_)
        ));
    }

    /// A clamd that accepts the stream but never answers: the timeout ends the wait and the
    /// file is incomplete.
    #[test]
    fn silent_daemon_times_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            // Swallow the request, say nothing, hold the connection until the client leaves.
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        });
        let c = Clamd {
            addr: Addr::Tcp(addr),
            timeout: Duration::from_millis(300),
        };
        let start = std::time::Instant::now();
        let err = c.scan_reader(&mut &b"data"[..]).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(5), "{err}");
        assert!(err.contains("reading reply"), "{err}");
        drop(c);
        server.join().unwrap();
    }

    /// A dead address is an error (status incomplete), never clean.
    #[test]
    fn unreachable_is_incomplete() {
        let c = Clamd {
            addr: Addr::parse("/nonexistent/modelguard-clamd.sock"),
            timeout: Duration::from_secs(1),
        };
        let mut r = FileReport {
            path: "x".into(),
            sha256: None,
            size: 0,
            format: "data".into(),
            status: Status::Complete,
            verdict: modelguard::report::Verdict::Unknown,
            findings: vec![],
            errors: vec![],
            members: vec![],
            imports: vec![],
        };
        c.amend(&mut r, Path::new("Cargo.toml"), &Policy::default());
        assert_eq!(r.status, Status::Incomplete);
        assert_ne!(r.verdict, modelguard::report::Verdict::Safe);
        assert_eq!(r.errors.len(), 1);
        assert!(c.ping().is_err());
    }
}
