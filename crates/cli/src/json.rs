//! The JSON report writer: the same text as `serde_json::to_string_pretty(&report)`, built
//! from each file's entry serialised straight into its final indentation, by the worker that
//! scanned the file ([`entry`]) or in parallel at the end.
//!
//! For thousands of small files the report is megabytes; pretty-printing it on one thread
//! and re-indenting the pieces cost as much as scanning them.

use std::io::{self, Write};

use modelguard::report::{FileReport, Report};
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
pub fn entry(f: &FileReport) -> serde_json::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(512);
    buf.extend_from_slice(b"\n    ");
    pretty_at(&mut buf, f, 2)?;
    // Entries are kept until the whole report is written: keep only what they use.
    buf.shrink_to_fit();
    Ok(buf)
}

/// Write `report` as pretty JSON followed by a newline. `entries`, when given, are the files'
/// [`entry`] texts in report order (made while scanning).
pub fn write(
    report: &Report,
    entries: Option<Vec<Vec<u8>>>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let files = match entries {
        Some(e) if e.len() == report.files.len() => e,
        _ => report
            .files
            .par_iter()
            .map(entry)
            .collect::<serde_json::Result<Vec<Vec<u8>>>>()?,
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
            let made: Vec<_> = report.files.iter().map(|f| entry(f).unwrap()).collect();
            let mut ours = Vec::new();
            write(&report, Some(made), &mut ours).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), theirs);
        }
    }
}
