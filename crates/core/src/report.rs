//! The report model: what a scan says about each file. Stable and versioned
//! ([`SCHEMA`]); documented in `docs/report.md`. Changing a field's meaning needs a new schema
//! version; adding optional fields does not.

use serde::{Deserialize, Serialize};

/// Schema identifier written into every report.
pub const SCHEMA: &str = "modelguard.report/1";

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A fact worth knowing, no risk by itself (e.g. inert code in a Lambda).
    #[default]
    Info,
    /// Unknown but inert constructs.
    Low,
    /// Structural anomalies or capabilities that need a look.
    Medium,
    /// A dangerous capability or a deliberate evasion.
    High,
    /// Code execution on load.
    Critical,
}

impl Severity {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parse a lowercase name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Whether the file could be analysed completely. Fail-closed: only `Complete` can be `Safe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every part of the file that can run code was analysed.
    Complete,
    /// Part of the file was analysed; a limit or an unsupported part stopped the rest.
    Incomplete,
    /// The file could not be analysed (I/O error, malformed structure).
    Error,
}

impl Status {
    /// Lowercase name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Complete => "complete",
            Status::Incomplete => "incomplete",
            Status::Error => "error",
        }
    }
}

/// The conclusion for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// A finding of severity `high` or `critical`.
    Malicious,
    /// A finding of severity `medium`.
    Suspicious,
    /// Complete analysis and nothing above `low`.
    Safe,
    /// Analysis was not complete and found nothing `high` or above: not known to be safe.
    Unknown,
}

impl Verdict {
    /// Lowercase name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Malicious => "malicious",
            Verdict::Suspicious => "suspicious",
            Verdict::Safe => "safe",
            Verdict::Unknown => "unknown",
        }
    }
}

/// Where a finding was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Location {
    /// Path of the member inside the file's containers, `!`-separated for nesting
    /// (`archive/data.pkl`, `inner.zip!archive/data.pkl`); absent for the file itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Byte offset inside the member (or file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Opcode index inside a pickle stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opcode: Option<u64>,
}

// Rule metadata lives here, below everything that reports: findings name their rule, and
// `rules` (which imports readers, facts and policy) re-exports it.

/// When the threat takes effect (JFrog's "time of infection").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fires {
    /// When the model file is loaded.
    Load,
    /// When the loaded model is used (inference, template rendering).
    Query,
    /// Neither: a structural fact or a scanner limitation.
    Other,
}

/// Metadata and documentation of one rule.
#[derive(Debug, Serialize)]
pub struct Rule {
    /// Stable ID, e.g. `MG-PKL-PROC`.
    pub id: &'static str,
    /// Short kebab-case name.
    pub name: &'static str,
    /// Default severity (findings may carry another when the evidence says so; see the doc).
    pub severity: Severity,
    /// Report names of the formats the rule applies to (registered `FormatId`s), or `["*"]`.
    pub formats: &'static [&'static str],
    /// When the threat fires.
    pub fires: Fires,
    /// The rule's documentation (its doc comment).
    pub doc: &'static str,
}

impl Rule {
    /// The documentation with rustdoc's leading space removed from each line.
    pub fn doc_text(&self) -> String {
        self.doc
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_string()
    }
}

/// One thing a rule found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule ID (`MG-PKL-PROC`); `modelguard explain ID` documents it.
    pub rule: String,
    /// Severity (after policy overrides).
    pub severity: Severity,
    /// One-line statement of what was found.
    pub message: String,
    /// What was seen: the decompiled call, the member name, the template expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Where.
    #[serde(default)]
    pub location: Location,
    /// Set when the policy suppressed this finding: the reason. Suppressed findings are
    /// reported but do not count towards the verdict or exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
}

impl Finding {
    /// A finding of `rule` at `severity`: the one way findings are made (no evidence, no
    /// location, not suppressed; add them with the methods below).
    pub fn new(rule: &Rule, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            rule: rule.id.to_string(),
            severity,
            message: message.into(),
            evidence: None,
            location: Location::default(),
            suppressed: None,
        }
    }

    /// With evidence.
    pub fn evidence(mut self, evidence: impl Into<String>) -> Self {
        self.evidence = Some(evidence.into());
        self
    }

    /// With evidence when there is some.
    pub fn evidence_opt(mut self, evidence: Option<String>) -> Self {
        self.evidence = evidence;
        self
    }

    /// At `location`.
    pub fn at(mut self, location: Location) -> Self {
        self.location = location;
        self
    }

    /// In `member` (a member path relative to the file), when there is one.
    pub fn member(mut self, member: Option<&str>) -> Self {
        self.location.member = member.map(str::to_string);
        self
    }

    /// Suppressed (reported, not counted) for `reason`.
    pub fn suppressed(mut self, reason: impl Into<String>) -> Self {
        self.suppressed = Some(reason.into());
        self
    }

    /// At byte `offset`, when known.
    pub fn offset(mut self, offset: Option<u64>) -> Self {
        self.location.offset = offset;
        self
    }
}

/// Something that stopped analysis of (part of) a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanError {
    /// Short machine-readable kind (`io`, `parse`, `limit`, `unsupported`).
    pub kind: String,
    /// Human-readable detail.
    pub message: String,
    /// Where.
    #[serde(default)]
    pub location: Location,
}

/// A member analysed inside a container file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// `!`-separated member path.
    pub path: String,
    /// Detected format.
    pub format: String,
    /// Size in bytes (uncompressed).
    pub size: u64,
}

/// How an imported global is judged, in the vocabulary of the Hugging Face Hub's pickle
/// import scan (`innocuous`, `suspicious`, `dangerous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportSafety {
    /// On the allowlist of what frameworks emit (built-in or the user's policy).
    Innocuous,
    /// Neither allowlisted nor in the catalog of dangerous callables (`MG-PKL-UNKNOWN`), or a
    /// resolver/introspection capability.
    Suspicious,
    /// In the catalog of dangerous callables (process, code, native, file, network…).
    Dangerous,
}

impl ImportSafety {
    /// Lowercase name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportSafety::Innocuous => "innocuous",
            ImportSafety::Suspicious => "suspicious",
            ImportSafety::Dangerous => "dangerous",
        }
    }
}

/// A global imported by a pickle in the file (`GLOBAL`/`STACK_GLOBAL`, or a name resolved
/// through `getattr`/`__import__` data flow).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportInfo {
    /// Module, e.g. `torch._utils`.
    pub module: String,
    /// Qualified name inside the module, e.g. `_rebuild_tensor_v2`.
    pub name: String,
    /// Judgement.
    pub safety: ImportSafety,
}

/// Result for one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    /// Path as given (or display name).
    pub path: String,
    /// SHA-256 of the whole file, hex; absent when hashing was skipped (`--hash never`, or a
    /// file above the `auto` threshold: hashing reads every byte, analysis does not need to).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// Detected format (by content).
    pub format: String,
    /// Completeness of the analysis.
    pub status: Status,
    /// Conclusion.
    pub verdict: Verdict,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Errors that stopped (part of) the analysis.
    pub errors: Vec<ScanError>,
    /// Members analysed inside containers (empty for plain files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    /// Distinct globals imported by the file's pickles (all members, nested pickles
    /// included), sorted by module then name; empty for files without pickles.
    // Safety: dangerous when the catalog matches, innocuous when allowlisted, suspicious
    // otherwise; `--format hf` prints it as `pickleImports`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<ImportInfo>,
}

impl FileReport {
    /// Highest severity among findings that are not suppressed.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings
            .iter()
            .filter(|f| f.suppressed.is_none())
            .map(|f| f.severity)
            .max()
    }

    /// Recompute `status`-independent ordering and the verdict from findings and status.
    pub fn finalize(&mut self) {
        self.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.location.member.cmp(&b.location.member))
                .then_with(|| a.location.offset.cmp(&b.location.offset))
                .then_with(|| a.rule.cmp(&b.rule))
        });
        self.verdict = verdict_for(self.status, self.max_severity());
    }
}

/// The verdict rule, in one place: high or critical → malicious whatever the status; medium →
/// suspicious; otherwise safe only when the analysis is complete.
pub fn verdict_for(status: Status, max: Option<Severity>) -> Verdict {
    match max {
        Some(Severity::Critical | Severity::High) => Verdict::Malicious,
        Some(Severity::Medium) => Verdict::Suspicious,
        _ if status == Status::Complete => Verdict::Safe,
        _ => Verdict::Unknown,
    }
}

/// Scanner identity written into reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScannerInfo {
    /// `modelguard`.
    pub name: String,
    /// Crate version.
    pub version: String,
    /// Digest of the rule set and policy in force (`sha256:…`), so results can be compared.
    pub ruleset: String,
}

/// Counts over all files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Files scanned.
    pub files: usize,
    /// Files with verdict malicious.
    pub malicious: usize,
    /// Files with verdict suspicious.
    pub suspicious: usize,
    /// Files with verdict safe.
    pub safe: usize,
    /// Files with verdict unknown.
    pub unknown: usize,
    /// Files whose status is not complete.
    pub incomplete: usize,
    /// Files with at least one error.
    pub errors: usize,
}

/// A whole scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: String,
    /// Who produced it.
    pub scanner: ScannerInfo,
    /// One entry per file, in input order.
    pub files: Vec<FileReport>,
    /// Totals.
    pub summary: Summary,
}

impl Report {
    /// Build a report from file results, computing the summary.
    pub fn new(scanner: ScannerInfo, files: Vec<FileReport>) -> Self {
        let mut summary = Summary {
            files: files.len(),
            ..Summary::default()
        };
        for f in &files {
            match f.verdict {
                Verdict::Malicious => summary.malicious += 1,
                Verdict::Suspicious => summary.suspicious += 1,
                Verdict::Safe => summary.safe += 1,
                Verdict::Unknown => summary.unknown += 1,
            }
            if f.status != Status::Complete {
                summary.incomplete += 1;
            }
            if !f.errors.is_empty() {
                summary.errors += 1;
            }
        }
        Report {
            schema: SCHEMA.to_string(),
            scanner,
            files,
            summary,
        }
    }
}

/// Lowercase hex of bytes.
///
/// By table, not `write!("{:02x}")`: every scanned file's sha256 goes through here, and the
/// formatting machinery was a tenth of a 5,000-small-file scan's instructions.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = Vec::with_capacity(bytes.len() * 2);
    for &b in bytes {
        // A nibble is below 16, so the lookups always succeed.
        s.push(DIGITS.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
        s.push(DIGITS.get(usize::from(b & 0xf)).copied().unwrap_or(b'0'));
    }
    String::from_utf8(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(super::hex(&[]), "");
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa5, 0xff, 0x10]), "000fa5ff10");
        let all: Vec<u8> = (0..=255).collect();
        let want: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(super::hex(&all), want);
    }

    /// `as_str` is the serialised name (writers that bypass serde rely on it).
    #[test]
    fn enum_names_match_serde() {
        use super::*;
        fn serde_name<T: Serialize>(v: T) -> String {
            serde_json::to_value(v)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        }
        for v in [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ] {
            assert_eq!(serde_name(v), v.as_str());
        }
        for v in [Status::Complete, Status::Incomplete, Status::Error] {
            assert_eq!(serde_name(v), v.as_str());
        }
        for v in [
            Verdict::Malicious,
            Verdict::Suspicious,
            Verdict::Safe,
            Verdict::Unknown,
        ] {
            assert_eq!(serde_name(v), v.as_str());
        }
        for v in [
            ImportSafety::Innocuous,
            ImportSafety::Suspicious,
            ImportSafety::Dangerous,
        ] {
            assert_eq!(serde_name(v), v.as_str());
        }
    }
}
