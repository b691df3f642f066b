//! The JSON report writer: the same text as `serde_json::to_string_pretty(&report)`, built
//! from each file's entry serialised straight into its final indentation, by the worker that
//! scanned the file ([`entry`]) or in parallel at the end.
//!
//! For thousands of small files the report is megabytes; pretty-printing it on one thread
//! and re-indenting the pieces cost as much as scanning them.

use std::io::{self, Write};

use modelguard::report::{FileReport, Finding, ImportInfo, Location, Member, Report, ScanError};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::ser::Formatter;

/// serde_json's pretty layout (two-space indent, `": "` after keys) starting `level` levels
/// deep, so a value can be written where it will sit inside an enclosing document.
/// (`serde_json::ser::PrettyFormatter` always starts at level 0.)
struct Indented {
    level: usize,
    has_value: bool,
}

impl Indented {
    fn new(level: usize) -> Self {
        Indented {
            level,
            has_value: false,
        }
    }

    fn newline<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..self.level {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level = self.level.saturating_sub(1);
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }
}

impl Formatter for Indented {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Append `value` to `buf`, pretty-printed as if `level` levels deep.
fn pretty_at<T: Serialize + ?Sized>(
    buf: &mut Vec<u8>,
    value: &T,
    level: usize,
) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(buf, Indented::new(level));
    value.serialize(&mut ser)
}

/// One file's entry of the `files` array, as [`write`] places it.
pub fn entry(f: &FileReport) -> Vec<u8> {
    let mut buf = Vec::with_capacity(512);
    buf.extend_from_slice(b"\n    ");
    Pretty::at(&mut buf, 2).file(f);
    // Entries are kept until the whole report is written: keep only what they use.
    buf.shrink_to_fit();
    buf
}

/// A [`FileReport`] written by hand in serde_json's pretty layout. serde_json's generic path
/// (a call per token, escaping byte by byte) was a tenth of a 5,000-small-file scan; the test
/// `same_text_as_serde_pretty` holds this to serde's text for every field.
struct Pretty<'a> {
    out: &'a mut Vec<u8>,
    level: usize,
    /// Nothing written yet in the innermost open object or array.
    empty: bool,
}

/// Index of the first byte JSON needs escaped: `"`, `\\` or a control character. Eight bytes
/// at a time (the bit tricks test a whole word for a byte below 0x20 or equal to a value),
/// then byte by byte from the first word that may hold one.
fn first_escape(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Nonzero exactly when some byte of `x` is below `n` (n <= 128).
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    let mut clean = 0;
    for word in s.chunks_exact(8) {
        let Ok(bytes) = <[u8; 8]>::try_from(word) else {
            break;
        };
        let x = u64::from_le_bytes(bytes);
        let quote = x ^ (ONES * u64::from(b'"'));
        let backslash = x ^ (ONES * u64::from(b'\\'));
        if below(x, 0x20) | below(quote, 1) | below(backslash, 1) != 0 {
            break;
        }
        clean += 8;
    }
    s.get(clean..)?
        .iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
        .map(|i| clean + i)
}

impl<'a> Pretty<'a> {
    fn at(out: &'a mut Vec<u8>, level: usize) -> Self {
        Pretty {
            out,
            level,
            empty: true,
        }
    }

    fn open(&mut self, bracket: u8) {
        self.out.push(bracket);
        self.level += 1;
        self.empty = true;
    }

    fn close(&mut self, bracket: u8) {
        self.level = self.level.saturating_sub(1);
        if !self.empty {
            self.newline();
        }
        self.out.push(bracket);
        // The enclosing container holds at least this one.
        self.empty = false;
    }

    fn newline(&mut self) {
        const INDENT: &[u8; 33] = b"\n                                ";
        match INDENT.get(..1 + 2 * self.level) {
            Some(s) => self.out.extend_from_slice(s),
            None => {
                self.out.push(b'\n');
                for _ in 0..self.level {
                    self.out.extend_from_slice(b"  ");
                }
            }
        }
    }

    /// Starts the next item of the open object or array.
    fn item(&mut self) {
        if !self.empty {
            self.out.push(b',');
        }
        self.newline();
        self.empty = false;
    }

    /// `k` is one of the writer's own keys: plain ASCII, never escaped.
    fn key(&mut self, k: &str) {
        self.item();
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\": ");
    }

    fn str_field(&mut self, k: &str, v: &str) {
        self.key(k);
        self.str(v);
    }

    /// A value known to need no escaping (enum names).
    fn plain_field(&mut self, k: &str, v: &str) {
        self.key(k);
        self.out.push(b'"');
        self.out.extend_from_slice(v.as_bytes());
        self.out.push(b'"');
    }

    fn u64_field(&mut self, k: &str, v: u64) {
        self.key(k);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }

    /// A JSON string, escaped as serde_json escapes: `"`, `\\` and control characters only.
    fn str(&mut self, s: &str) {
        self.out.push(b'"');
        let mut rest = s.as_bytes();
        while let Some(i) = first_escape(rest) {
            let (plain, tail) = rest.split_at(i);
            self.out.extend_from_slice(plain);
            let Some((&b, tail)) = tail.split_first() else {
                break;
            };
            match b {
                b'"' => self.out.extend_from_slice(b"\\\""),
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                0x08 => self.out.extend_from_slice(b"\\b"),
                0x0c => self.out.extend_from_slice(b"\\f"),
                b'\n' => self.out.extend_from_slice(b"\\n"),
                b'\r' => self.out.extend_from_slice(b"\\r"),
                b'\t' => self.out.extend_from_slice(b"\\t"),
                _ => {
                    let hex = modelguard::report::hex(&[b]);
                    self.out.extend_from_slice(b"\\u00");
                    self.out.extend_from_slice(hex.as_bytes());
                }
            }
            rest = tail;
        }
        self.out.extend_from_slice(rest);
        self.out.push(b'"');
    }

    fn array<T>(&mut self, k: &str, items: &[T], each: fn(&mut Self, &T)) {
        self.key(k);
        self.open(b'[');
        for x in items {
            self.item();
            each(self, x);
        }
        self.close(b']');
    }

    fn file(&mut self, f: &FileReport) {
        self.open(b'{');
        self.str_field("path", &f.path);
        if let Some(h) = &f.sha256 {
            self.str_field("sha256", h);
        }
        self.u64_field("size", f.size);
        self.str_field("format", &f.format);
        self.plain_field("status", f.status.as_str());
        self.plain_field("verdict", f.verdict.as_str());
        self.array("findings", &f.findings, Self::finding);
        self.array("errors", &f.errors, Self::error);
        if !f.members.is_empty() {
            self.array("members", &f.members, Self::member);
        }
        if !f.imports.is_empty() {
            self.array("imports", &f.imports, Self::import);
        }
        self.close(b'}');
    }

    fn finding(&mut self, x: &Finding) {
        self.open(b'{');
        self.str_field("rule", &x.rule);
        self.plain_field("severity", x.severity.as_str());
        self.str_field("message", &x.message);
        if let Some(e) = &x.evidence {
            self.str_field("evidence", e);
        }
        self.location(&x.location);
        if let Some(s) = &x.suppressed {
            self.str_field("suppressed", s);
        }
        self.close(b'}');
    }

    fn error(&mut self, x: &ScanError) {
        self.open(b'{');
        self.str_field("kind", &x.kind);
        self.str_field("message", &x.message);
        self.location(&x.location);
        self.close(b'}');
    }

    fn location(&mut self, l: &Location) {
        self.key("location");
        self.open(b'{');
        if let Some(m) = &l.member {
            self.str_field("member", m);
        }
        if let Some(o) = l.offset {
            self.u64_field("offset", o);
        }
        if let Some(o) = l.opcode {
            self.u64_field("opcode", o);
        }
        self.close(b'}');
    }

    fn member(&mut self, x: &Member) {
        self.open(b'{');
        self.str_field("path", &x.path);
        self.str_field("format", &x.format);
        self.u64_field("size", x.size);
        self.close(b'}');
    }

    fn import(&mut self, x: &ImportInfo) {
        self.open(b'{');
        self.str_field("module", &x.module);
        self.str_field("name", &x.name);
        self.plain_field("safety", x.safety.as_str());
        self.close(b'}');
    }
}

/// Write `report` as pretty JSON followed by a newline. `entries`, when given, are the files'
/// [`entry`] texts in report order (made while scanning).
pub fn write(
    report: &Report,
    entries: Option<Vec<Vec<u8>>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let files = match entries {
        Some(e) if e.len() == report.files.len() => e,
        _ => report.files.par_iter().map(entry).collect(),
    };
    // Pieces go straight to a buffered writer: no second copy of a megabytes-long report.
    let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
    let mut head = b"{\n  \"schema\": ".to_vec();
    serde_json::to_writer(&mut head, &report.schema)?;
    head.extend_from_slice(b",\n  \"scanner\": ");
    pretty_at(&mut head, &report.scanner, 1)?;
    head.extend_from_slice(b",\n  \"files\": [");
    w.write_all(&head)?;
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        w.write_all(f)?;
    }
    let mut tail = if files.is_empty() {
        b"]".to_vec()
    } else {
        b"\n  ]".to_vec()
    };
    tail.extend_from_slice(b",\n  \"summary\": ");
    pretty_at(&mut tail, &report.summary, 1)?;
    tail.extend_from_slice(b"\n}\n");
    w.write_all(&tail)?;
    w.flush()?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use modelguard::Scanner;

    /// The parallel writer must produce exactly serde_json's pretty text.
    #[test]
    fn same_text_as_serde_pretty() {
        let s = Scanner::default();
        let files = vec![
            s.scan_bytes(
                "a.pkl",
                b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.",
            ),
            s.scan_bytes("b.bin", b"just bytes"),
            s.scan_bytes("c.pkl", b"\x80\x04}\x94."),
        ];
        for files in [files.clone(), vec![]] {
            let report = Report::new(s.info(), files);
            let theirs = serde_json::to_string_pretty(&report).unwrap() + "\n";
            let mut ours = Vec::new();
            write(&report, None, &mut ours).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), theirs);
            let made: Vec<_> = report.files.iter().map(entry).collect();
            let mut ours = Vec::new();
            write(&report, Some(made), &mut ours).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), theirs);
        }
    }

    #[test]
    fn first_escape_finds_every_special_byte_at_every_position() {
        let specials: Vec<u8> = (0u8..0x20).chain([b'"', b'\\']).collect();
        // The bytes around the specials, which must not be taken for them.
        let near: Vec<u8> = [0x20, b'!', b'#', b'[', b']', 0x7f, 0xff].repeat(3);
        assert_eq!(first_escape(&near), None);
        for len in 0..20 {
            let plain = vec![b'a'; len];
            assert_eq!(first_escape(&plain), None);
            for at in 0..len {
                for &b in &specials {
                    let mut s = plain.clone();
                    if let Some(x) = s.get_mut(at) {
                        *x = b;
                    }
                    assert_eq!(first_escape(&s), Some(at), "byte {b:#x} at {at} of {len}");
                }
            }
        }
    }

    /// Every field of a report, each optional one set and unset, and every escape serde_json
    /// makes: the hand-written entries must be serde's text byte for byte. (Struct literals,
    /// so a new field fails to compile here until it is added to the test and the writer.)
    #[test]
    fn entries_match_serde_on_every_field() {
        use modelguard::report::{ImportSafety, Severity, Status, Verdict};
        let odd = "q\"b\\c\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}é✓ end";
        let loc = |member: Option<&str>, offset, opcode| Location {
            member: member.map(str::to_string),
            offset,
            opcode,
        };
        let full = FileReport {
            path: format!("dir/{odd}.pt"),
            sha256: Some("ab".repeat(32)),
            size: u64::MAX,
            format: "pytorch-zip".into(),
            status: Status::Incomplete,
            verdict: Verdict::Malicious,
            findings: vec![
                Finding {
                    rule: "MG-PKL-PROC".into(),
                    severity: Severity::Critical,
                    message: odd.into(),
                    evidence: Some(format!("posix.system('{odd}')")),
                    location: loc(Some("archive/data.pkl"), Some(0), Some(7)),
                    suppressed: Some("baseline".into()),
                },
                Finding {
                    rule: "MG-X".into(),
                    severity: Severity::Info,
                    message: String::new(),
                    evidence: None,
                    location: loc(None, None, None),
                    suppressed: None,
                },
            ],
            errors: vec![
                ScanError {
                    kind: "limit".into(),
                    message: odd.into(),
                    location: loc(Some("a!b"), None, Some(3)),
                },
                ScanError {
                    kind: "io".into(),
                    message: "x".into(),
                    location: loc(None, Some(12), None),
                },
            ],
            members: vec![Member {
                path: "archive/data.pkl".into(),
                format: "pickle".into(),
                size: 0,
            }],
            imports: vec![ImportInfo {
                module: "posix".into(),
                name: odd.into(),
                safety: ImportSafety::Dangerous,
            }],
        };
        let bare = FileReport {
            path: String::new(),
            sha256: None,
            size: 0,
            format: "unknown".into(),
            status: Status::Error,
            verdict: Verdict::Unknown,
            findings: vec![],
            errors: vec![],
            members: vec![],
            imports: vec![],
        };
        for f in [full, bare] {
            let mut theirs = b"\n    ".to_vec();
            pretty_at(&mut theirs, &f, 2).unwrap();
            assert_eq!(
                String::from_utf8(entry(&f)).unwrap(),
                String::from_utf8(theirs).unwrap()
            );
        }
    }
}
