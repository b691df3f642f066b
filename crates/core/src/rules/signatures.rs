//! Rules for signature matches (YARA, ClamAV, EICAR): the `MG-YARA` check over
//! [`SignatureFacts`](crate::signatures::SignatureFacts), and the collector's de-duplication of
//! a container's matches that its members repeat.

use super::Rule;
use crate::facts::{Emitter, Facts};
use crate::formats::FormatId;
use crate::policy::Policy;
use crate::report::{Finding, Location, Severity};
use crate::rule;
use crate::signatures::BUNDLED_NAMESPACE;

rule! {
    /// ## What it detects
    /// Bytes matching a YARA rule: the bundled set (the EICAR anti-virus test string, reverse
    /// shells such as `bash -i >& /dev/tcp/…` and `nc -e /bin/sh`, download-and-execute
    /// command lines such as `curl … | sh` and `powershell -enc`, Python payload shapes such
    /// as `__import__('os').system(` and `exec(base64.b64decode(`, pickles importing
    /// `exec`/`eval` together with a decoder), or a rule from a directory given with
    /// `--yara-rules DIR`. Every file is matched, and so is every archive member, decompressed
    /// stream and payload decoded from a pickle, each as it would be read.
    ///
    /// ## Why is this dangerous?
    /// Malicious models found in public hubs carried exactly these payloads: a reverse shell
    /// or a downloader, passed to `os.system` by a pickle or hidden in a Lambda layer. A
    /// signature also catches known malware that is merely stored next to the weights (the
    /// EICAR string is the harmless stand-in anti-virus products use to prove they look).
    ///
    /// ## How the verdict is decided
    /// Each matching rule is one finding; the evidence is the rule name and the first matched
    /// string identifier, `location.offset` its offset within the file or member. The severity
    /// is the rule's `severity` meta (`critical|high|medium|low|info`), `high` when absent:
    /// the bundled shell and downloader rules are `critical`, EICAR and Python payload shapes
    /// `high`, the dirty-pickle shape (`exec`/`eval` imported with a decoder) `info`, since
    /// the pickle analysis decodes such payloads and judges the code itself. Sources up to `max_signature_bytes` (4 MiB) are matched whole; larger ones in
    /// their first and last halves of that budget (tensor data in the middle of a large
    /// checkpoint is not read; the format readers hand code-bearing members to the signature
    /// layer separately). A raw container match that a member's scan also finds is reported
    /// once, on the member. A match inside a safetensors file is `info`: no loader executes
    /// any of its bytes (the header's metadata is read as strings).
    ///
    /// ## False positives
    /// Documentation, notebooks or datasets that quote attack command lines (security
    /// training data, this project's own rule files). Read the evidence: a command line in a
    /// README member is not a payload in a pickle. Suppress with a per-path ignore in
    /// `modelguard.toml` or disable the rule there.
    ///
    /// ## How to fix
    /// Do not load the model. Obtain it from its original publisher, or convert the weights
    /// to a data-only format (safetensors) in an isolated environment.
    YARA { id: "MG-YARA", name: "yara-signature", severity: High, formats: any, fires: Load }
}

/// [`YARA`]: one finding per matching rule. Severity from the `severity` meta (`high` when
/// absent or unknown), text from `message` or `description`, evidence the rule and its first
/// string, located at the match's offset; `info` inside safetensors data.
pub fn check_yara(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::Signatures(s) = facts else {
        return;
    };
    for m in &s.matches {
        let severity = m
            .severity
            .as_deref()
            .and_then(Severity::parse)
            .unwrap_or(Severity::High);
        let who = if m.namespace == BUNDLED_NAMESPACE {
            String::new()
        } else {
            format!(" ({})", m.namespace)
        };
        let mut message = match m.message.as_ref().or(m.description.as_ref()) {
            Some(text) => format!("{text} (YARA rule {}{who})", m.rule),
            None => format!("YARA rule {}{who} matched", m.rule),
        };
        // No loader executes any part of a safetensors file (the header is JSON metadata read
        // as strings): text there that looks like a command is reported, not judged.
        let severity = if s.format == Some(FormatId::Safetensors) && severity > Severity::Info {
            message.push_str(" (in safetensors data, which no loader executes)");
            Severity::Info
        } else {
            severity
        };
        out.emit(
            Finding::new(&YARA, severity, message)
                .evidence(match &m.string {
                    Some(string) => format!("{} {string}", m.rule),
                    None => m.rule.clone(),
                })
                .at(Location {
                    member: None,
                    offset: m.offset,
                    opcode: None,
                }),
        );
    }
}

/// Drop [`YARA`] findings of a container (`own`, found in its raw bytes) that a member scan
/// found again (the findings after `own`): the member's finding says where the match really
/// is. Count-aware: a container with the string twice, once outside any member, keeps one
/// finding.
pub(crate) fn drop_container_duplicates(findings: &mut Vec<Finding>, own: std::ops::Range<usize>) {
    let Some(later) = findings.get(own.end..) else {
        return;
    };
    let mut inner: Vec<&Option<String>> = later
        .iter()
        .filter(|f| f.rule == YARA.id)
        .map(|f| &f.evidence)
        .collect();
    let mut drop = vec![false; own.len()];
    for (i, f) in findings
        .get(own.clone())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if let Some(pos) = inner.iter().position(|e| **e == f.evidence) {
            inner.swap_remove(pos);
            if let Some(d) = drop.get_mut(i) {
                *d = true;
            }
        }
    }
    let mut idx = 0usize;
    findings.retain(|_| {
        let keep = !(own.contains(&idx) && drop.get(idx - own.start).copied().unwrap_or(false));
        idx += 1;
        keep
    });
}

rule! {
    /// ## What it detects
    /// A file that ClamAV (a `clamd` daemon given with `--clamd ADDR`) reports as infected;
    /// the evidence is the ClamAV signature name.
    ///
    /// ## Why is this dangerous?
    /// ClamAV knows conventional malware (executables, scripts, documents) that may be shipped
    /// inside a model repository or archive; model hubs run it on every upload.
    ///
    /// ## How the verdict is decided
    /// Every file is streamed to clamd (`zINSTREAM`); a `FOUND` reply is a `critical` finding.
    /// When clamd cannot be reached, times out or answers with an error, the file's status
    /// becomes `incomplete` with the error listed: never clean.
    ///
    /// ## False positives
    /// ClamAV's own false positives, and test signatures such as EICAR. Check the signature
    /// name on ClamAV's site; suppress a known-good file with a per-path ignore.
    ///
    /// ## How to fix
    /// Remove the infected file; obtain the model from its original publisher.
    CLAMAV { id: "MG-CLAMAV", name: "clamav-signature", severity: Critical, formats: any, fires: Other }
}

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[&YARA, &CLAMAV];

/// The checks of this group (ClamAV verdicts come from clamd, in the CLI).
pub static CHECKS: &[super::Check] = &[super::Check::on(
    &[crate::facts::FactsKind::Signatures],
    check_yara,
)];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::signatures::{SignatureFacts, SignatureMatch};

    fn matched(namespace: &str, rule: &str, severity: Option<&str>) -> SignatureMatch {
        SignatureMatch {
            namespace: namespace.into(),
            rule: rule.into(),
            string: Some("$x".into()),
            offset: Some(7),
            severity: severity.map(str::to_string),
            message: None,
            description: Some("a description".into()),
        }
    }

    fn judge(facts: SignatureFacts) -> Vec<Finding> {
        crate::rules::judge(&Facts::Signatures(facts), &Policy::default()).0
    }

    #[test]
    fn severity_text_and_location_from_the_match() {
        let f = judge(SignatureFacts {
            matches: vec![
                matched(BUNDLED_NAMESPACE, "A", Some("critical")),
                matched("/rules/u.yar", "B", Some("bogus")),
                matched(BUNDLED_NAMESPACE, "C", None),
            ],
            format: None,
        });
        let got: Vec<_> = f
            .iter()
            .map(|f| (f.severity, f.message.as_str(), f.evidence.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    Severity::Critical,
                    "a description (YARA rule A)",
                    Some("A $x")
                ),
                (
                    Severity::High,
                    "a description (YARA rule B (/rules/u.yar))",
                    Some("B $x")
                ),
                (Severity::High, "a description (YARA rule C)", Some("C $x")),
            ]
        );
        assert_eq!(f[0].location.offset, Some(7));
        assert_eq!(f[0].location.member, None);
    }

    #[test]
    fn info_in_safetensors_data() {
        let mut m = matched(BUNDLED_NAMESPACE, "A", Some("critical"));
        m.message = Some("shell".into());
        let f = judge(SignatureFacts {
            matches: vec![m],
            format: Some(FormatId::Safetensors),
        });
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(
            f[0].message,
            "shell (YARA rule A) (in safetensors data, which no loader executes)"
        );
    }

    #[test]
    fn container_duplicates() {
        let f = |member: Option<&str>, ev: &str| {
            Finding::new(&YARA, Severity::High, "m")
                .evidence(ev)
                .at(Location {
                    member: member.map(str::to_string),
                    offset: Some(1),
                    opcode: None,
                })
        };
        let mut v = vec![f(None, "A"), f(None, "A"), f(None, "B"), f(Some("m"), "A")];
        drop_container_duplicates(&mut v, 0..3);
        let kept: Vec<_> = v
            .iter()
            .map(|x| (x.location.member.clone(), x.evidence.clone().unwrap()))
            .collect();
        assert_eq!(
            kept,
            vec![
                (None, "A".into()),
                (None, "B".into()),
                (Some("m".into()), "A".into())
            ]
        );
    }
}
