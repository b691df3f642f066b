//! Rules for signature matches (YARA, ClamAV, EICAR).

use super::Rule;
use crate::rule;

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
