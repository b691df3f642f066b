//! Text output: one line per clean file, a short block per flagged file, a summary line.
//! Colour is the caller's choice (the CLI colours a terminal unless `NO_COLOR` is set).

use std::io::Write;

use modelguard::report::{FileReport, Report, Severity, Status, Verdict};

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn sev(&self, s: Severity) -> String {
        let code = match s {
            Severity::Critical | Severity::High => "1;31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.paint(code, &format!("{:<8}", s.as_str()))
    }
}

/// Write the text report; `quiet` leaves out clean files, `color` adds ANSI colours.
pub fn write(
    report: &Report,
    quiet: bool,
    color: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let style = Style { on: color };
    for f in &report.files {
        file(f, quiet, &style, out)?;
    }
    let s = &report.summary;
    let suppressed = report
        .files
        .iter()
        .flat_map(|f| &f.findings)
        .filter(|x| x.suppressed.is_some())
        .count();
    let suppressed = if suppressed > 0 {
        format!("; {suppressed} findings suppressed")
    } else {
        String::new()
    };
    writeln!(
        out,
        "{} files: {} malicious, {} suspicious, {} safe, {} unknown ({} incomplete, {} with errors){suppressed}",
        s.files, s.malicious, s.suspicious, s.safe, s.unknown, s.incomplete, s.errors
    )
}

fn file(f: &FileReport, quiet: bool, style: &Style, out: &mut dyn Write) -> std::io::Result<()> {
    let status = match f.status {
        Status::Complete => "",
        Status::Incomplete => ", incomplete",
        Status::Error => ", error",
    };
    let shown: Vec<_> = f
        .findings
        .iter()
        .filter(|x| x.severity > Severity::Info || x.suppressed.is_some())
        .collect();
    if f.verdict == Verdict::Safe && shown.is_empty() && f.errors.is_empty() {
        if !quiet {
            writeln!(
                out,
                "{} {} ({})",
                style.paint("32", "ok  "),
                f.path,
                f.format
            )?;
        }
        return Ok(());
    }
    let verdict = match f.verdict {
        Verdict::Malicious => style.paint("1;31", "MALICIOUS"),
        Verdict::Suspicious => style.paint("33", "SUSPICIOUS"),
        Verdict::Safe => style.paint("32", "safe"),
        Verdict::Unknown => style.paint("35", "UNKNOWN"),
    };
    writeln!(out, "{verdict} {} ({}{status})", f.path, f.format)?;
    for x in &shown {
        let mut loc = Vec::new();
        if let Some(m) = &x.location.member {
            loc.push(m.clone());
        }
        if let Some(o) = x.location.offset {
            loc.push(format!("offset {o}"));
        }
        if let Some(o) = x.location.opcode {
            loc.push(format!("op {o}"));
        }
        let sup = match &x.suppressed {
            Some(r) => format!(" [suppressed: {r}]"),
            None => String::new(),
        };
        writeln!(
            out,
            "  {} {:<18} {}{sup}",
            style.sev(x.severity),
            x.rule,
            x.message
        )?;
        if let Some(e) = &x.evidence {
            writeln!(out, "           {} {}", style.paint("2", "evidence:"), e)?;
        }
        if !loc.is_empty() {
            writeln!(
                out,
                "           {} {}",
                style.paint("2", "at:"),
                loc.join(", ")
            )?;
        }
    }
    for e in &f.errors {
        let at = e
            .location
            .member
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {} {}: {}{at}",
            style.paint("35", "error   "),
            e.kind,
            e.message
        )?;
    }
    Ok(())
}
