//! A file's analysis as data: what the walk recorded, in order — each reader's facts with its
//! member, what the driver observed itself (malformed input, trailing data, a polyglot), the
//! errors, and the scope of each source's signature matches — and how that becomes a report
//! under a policy ([`FileAnalysis::judge`]).
//!
//! The walk never decides a finding's severity: it records. The report of a scan is
//! `analysis.judge(&policy)`, so the same stored analysis judged later under another policy,
//! rule set or severity gives exactly the report a new scan of the bytes would, as long as the
//! extractor ([`crate::facts::EXTRACTOR_VERSION`], limits, signatures) is the same
//! ([`crate::Scanner::extractor`]).
//!
//! Must not: read bytes (the walk does) or keep any policy.

use serde::{Deserialize, Serialize};

use crate::facts::Facts;
use crate::policy::Policy;
use crate::report::{
    FileReport, Finding, ImportInfo, ImportSafety, Location, Member, ScanError, Status, Verdict,
};
use crate::rules;

/// One thing the walk recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "kebab-case")]
pub enum Entry {
    /// A reader's facts about `member` (the file itself when absent), judged by the rules.
    Facts {
        /// `!`-separated member path.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member: Option<String>,
        /// The facts.
        facts: Facts,
    },
    /// A finding the driver made itself (its rule's fixed verdict; policy overrides apply).
    Finding {
        /// The finding, located.
        finding: Finding,
    },
    /// Something that stopped analysis of a part: `fatal` makes the file `error`, otherwise
    /// `incomplete`.
    Error {
        /// The error, located.
        error: ScanError,
        /// Whether it is fatal.
        fatal: bool,
    },
    /// The signature matches of one source start.
    SignaturesBegin,
    /// They end: the findings since the matching begin are that source's own matches.
    SignaturesEnd,
    /// That source is analysed: its own matches that one of its members also matches are
    /// reported on the member only.
    SignaturesDone,
}

/// What a scan of one file found, before any policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileAnalysis {
    /// Path as given (or display name).
    pub path: String,
    /// SHA-256 of the whole file, when hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// Detected format.
    pub format: String,
    /// Members analysed inside containers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    /// Globals the pickles import, `(module, name)`, sorted.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub imports: std::collections::BTreeSet<(String, String)>,
    /// What the walk recorded, in order.
    pub journal: Vec<Entry>,
}

/// Findings and errors rebuilt from a journal.
#[derive(Default)]
struct Replay {
    findings: Vec<Finding>,
    errors: Vec<ScanError>,
    incomplete: bool,
    failed: bool,
    /// Start of each open signature scope.
    open: Vec<usize>,
    /// Ranges of closed scopes whose source is still being analysed.
    closed: Vec<std::ops::Range<usize>>,
}

impl Replay {
    fn apply(&mut self, e: Entry, policy: &Policy) {
        match e {
            Entry::Facts { member, facts } => {
                let (findings, undecided) = crate::rules::judge(&facts, policy);
                for mut f in findings {
                    f.location.member = join_member(member.as_deref(), f.location.member.take());
                    self.findings.push(f);
                }
                for u in undecided {
                    let location = u.location(member.as_deref());
                    self.error(u.kind.to_string(), u.message, location, false);
                }
            }
            Entry::Finding { finding } => self.findings.push(finding),
            Entry::Error { error, fatal } => {
                self.error(error.kind, error.message, error.location, fatal);
            }
            Entry::SignaturesBegin => self.open.push(self.findings.len()),
            Entry::SignaturesEnd => {
                let start = self.open.pop().unwrap_or(self.findings.len());
                self.closed.push(start..self.findings.len());
            }
            Entry::SignaturesDone => {
                if let Some(own) = self.closed.pop()
                    && !own.is_empty()
                {
                    rules::drop_container_duplicates(&mut self.findings, own);
                }
            }
        }
    }

    fn error(&mut self, kind: String, message: String, location: Location, fatal: bool) {
        if fatal {
            self.failed = true;
        } else {
            self.incomplete = true;
        }
        self.errors.push(ScanError {
            kind,
            message,
            location,
        });
    }
}

/// `member` (the facts' file) joined with a location inside it.
pub(crate) fn join_member(member: Option<&str>, inner: Option<String>) -> Option<String> {
    match (member, inner) {
        (Some(m), Some(inner)) => Some(super::join(Some(m), &inner)),
        (Some(m), None) => Some(m.to_string()),
        (None, inner) => inner,
    }
}

impl FileAnalysis {
    /// The report under `policy`: every fact judged by the rules, the driver's findings and
    /// errors in the order recorded, then the policy's switches, overrides and ignores.
    pub fn judge(&self, policy: &Policy) -> FileReport {
        self.clone().into_report(policy)
    }

    /// [`FileAnalysis::judge`], consuming the analysis (what a scan does: nothing is copied).
    pub fn into_report(self, policy: &Policy) -> FileReport {
        let mut r = Replay::default();
        for e in self.journal {
            r.apply(e, policy);
        }
        let status = if r.failed {
            Status::Error
        } else if r.incomplete {
            Status::Incomplete
        } else {
            Status::Complete
        };
        let mut report = FileReport {
            path: self.path,
            sha256: self.sha256,
            size: self.size,
            format: self.format,
            status,
            verdict: Verdict::Unknown,
            findings: r.findings,
            errors: r.errors,
            members: self.members,
            imports: self
                .imports
                .into_iter()
                .map(|(m, n)| ImportInfo {
                    safety: if modelguard_pycode::catalog::classify(&m, &n).is_some() {
                        ImportSafety::Dangerous
                    } else if policy.allowed(&m, &n).is_some() {
                        ImportSafety::Innocuous
                    } else {
                        ImportSafety::Suspicious
                    },
                    module: m,
                    name: n,
                })
                .collect(),
        };
        dedup_findings(&mut report.findings);
        policy.apply(&mut report);
        report.finalize();
        report
    }

    /// The facts the readers recorded, with their members (for goldens and tools).
    pub fn facts(&self) -> impl Iterator<Item = (Option<&str>, &Facts)> {
        self.journal.iter().filter_map(|e| match e {
            Entry::Facts { member, facts } => Some((member.as_deref(), facts)),
            _ => None,
        })
    }
}

/// Remove exact duplicates (the same fact seen through two views of one archive).
fn dedup_findings(f: &mut Vec<Finding>) {
    if f.len() < 2 {
        return;
    }
    let mut seen = std::collections::HashSet::new();
    f.retain(|x| {
        seen.insert((
            x.rule.clone(),
            x.message.clone(),
            x.evidence.clone(),
            x.location.member.clone(),
            x.location.offset,
        ))
    });
}
