//! The policy file, `modelguard.toml`: the user's allowlist, rule switches, severity
//! overrides, per-path ignores and limits. Documented in `docs/policy.md`.
//!
//! ```toml
//! strict = false
//!
//! [allow]
//! globals = ["mypkg.*", "othermod:Name"]
//!
//! [rules]
//! disable = ["MG-EXT-MISMATCH"]
//!
//! [rules.severity]
//! "MG-PKL-UNKNOWN" = "medium"
//!
//! [[ignore]]
//! path = "tests/**"
//! rules = ["*"]
//! reason = "test fixtures are malicious on purpose"
//!
//! [limits]
//! max_depth = 4
//! ```
//!
//! Unknown keys, unknown rule IDs and invalid globs are errors: a typo in a security policy
//! must not silently weaken or strengthen it.
//!
//! ```
//! use modelguard::config::Config;
//! let c = Config::parse("[allow]\nglobals = [\"mypkg.*\"]\n").unwrap();
//! assert!(c.policy(None).allowed("mypkg.models", "Net").is_some());
//! assert!(Config::parse("[alow]\n").is_err());
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Limits;
use crate::policy::{GlobalPattern, PathIgnore, Policy};
use crate::report::Severity;
use crate::rules;

/// Name of the policy file, looked up from the working directory upwards (never from the
/// scanned paths: see docs/policy.md).
pub const FILE_NAME: &str = "modelguard.toml";

/// `[allow]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Allow {
    /// Extra globals to treat as known-safe: `module:qualname`, `module:*`, `package.*`, or a
    /// dotted `module.qualname`. Findings they silence are reported as suppressed.
    pub globals: Vec<GlobalPattern>,
}

/// `[rules]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// Rules whose findings are suppressed everywhere (IDs, `MG-PKL-*` prefixes or `*`).
    pub disable: Vec<String>,
    /// `[rules.severity]`: the severity every finding of a rule gets.
    pub severity: BTreeMap<String, Severity>,
}

/// The contents of a `modelguard.toml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Treat unknown globals as suspicious (`medium`) however they are used.
    pub strict: bool,
    /// `[allow]`.
    pub allow: Allow,
    /// `[rules]`.
    pub rules: Rules,
    /// `[[ignore]]` entries.
    pub ignore: Vec<PathIgnore>,
    /// `[limits]`: fields of [`Limits`]; missing fields keep their defaults.
    pub limits: Limits,
}

/// A policy file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is not a valid policy file.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (with the line and column for syntax errors and unknown keys).
        message: String,
    },
}

impl Config {
    /// Parse and validate the text of a policy file. Rule IDs are canonicalised.
    pub fn parse(text: &str) -> Result<Config, String> {
        let mut c: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate()?;
        Ok(c)
    }

    /// Read, parse and validate a policy file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    /// The nearest `modelguard.toml` in `dir` or one of its ancestors (first found wins).
    pub fn discover(dir: &Path) -> Option<PathBuf> {
        dir.ancestors()
            .map(|d| d.join(FILE_NAME))
            .find(|p| p.is_file())
    }

    /// The policy this file describes; `root` is the directory `[[ignore]]` paths are
    /// relative to (the policy file's directory).
    pub fn policy(&self, root: Option<&Path>) -> Policy {
        Policy {
            allow_globals: self.allow.globals.clone(),
            strict: self.strict,
            disabled_rules: self.rules.disable.clone(),
            severity_overrides: self.rules.severity.clone(),
            ignore: self.ignore.clone(),
            root: root.map(Path::to_path_buf),
        }
    }

    fn validate(&mut self) -> Result<(), String> {
        for g in &self.allow.globals {
            let p = g.0.trim();
            if p.is_empty() || p == "*" || p == ".*" || p.starts_with(':') {
                return Err(format!(
                    "[allow] globals: {:?} is not a pattern (use module:qualname, module:*, \
                     package.* or module.qualname)",
                    g.0
                ));
            }
        }
        for s in &mut self.rules.disable {
            *s = canonical_selector(s, "[rules] disable")?;
        }
        let mut severity = BTreeMap::new();
        for (id, sev) in &self.rules.severity {
            let rule = rules::find(id).ok_or_else(|| unknown_rule(id, "[rules.severity]"))?;
            severity.insert(rule.id.to_string(), *sev);
        }
        self.rules.severity = severity;
        for (i, ig) in self.ignore.iter_mut().enumerate() {
            let at = format!("[[ignore]] #{} (path {:?}) rules", i + 1, ig.path.as_str());
            if ig.rules.is_empty() {
                return Err(format!(
                    "{at}: empty list (omit it, or use [\"*\"], for all rules)"
                ));
            }
            for s in &mut ig.rules {
                *s = canonical_selector(s, &at)?;
            }
        }
        Ok(())
    }
}

/// `*`, a prefix ending in `*` that some rule has, or a known rule ID (canonical case).
fn canonical_selector(s: &str, at: &str) -> Result<String, String> {
    let s = s.trim();
    if let Some(prefix) = s.strip_suffix('*') {
        if rules::RULES.iter().any(|r| {
            r.id.get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        }) {
            return Ok(s.to_ascii_uppercase());
        }
        return Err(format!("{at}: no rule ID starts with {prefix:?}"));
    }
    rules::find(s)
        .map(|r| r.id.to_string())
        .ok_or_else(|| unknown_rule(s, at))
}

fn unknown_rule(id: &str, at: &str) -> String {
    format!("{at}: unknown rule ID {id:?} (`modelguard rules` lists them)")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const FULL: &str = r#"
strict = true

[allow]
globals = ["mypkg.*", "mod:Name"]

[rules]
disable = ["mg-ext-mismatch", "MG-ZIP-*"]

[rules.severity]
"MG-PKL-UNKNOWN" = "medium"

[[ignore]]
path = "tests/**"
rules = ["*"]
reason = "fixtures"

[[ignore]]
path = "*.ckpt"

[limits]
max_depth = 4

[limits.pickle]
max_opcodes = 1000
"#;

    #[test]
    fn parses_every_section() {
        let c = Config::parse(FULL).unwrap();
        assert!(c.strict);
        assert_eq!(c.allow.globals.len(), 2);
        assert_eq!(c.rules.disable, ["MG-EXT-MISMATCH", "MG-ZIP-*"]);
        assert_eq!(c.rules.severity["MG-PKL-UNKNOWN"], Severity::Medium);
        assert_eq!(c.ignore.len(), 2);
        assert_eq!(c.ignore[1].rules, ["*"], "rules default to all");
        assert_eq!(c.limits.max_depth, 4);
        assert_eq!(c.limits.pickle.max_opcodes, 1000);
        assert_eq!(
            c.limits.max_members,
            Limits::default().max_members,
            "unset limits keep defaults"
        );
        let p = c.policy(Some(Path::new("/repo")));
        assert!(p.strict);
        assert_eq!(p.root.as_deref(), Some(Path::new("/repo")));
    }

    #[test]
    fn empty_file_is_the_default() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }

    #[test]
    fn rejects_mistakes() {
        for (text, needle) in [
            ("stict = true", "unknown field `stict`"),
            ("[allow]\nglobal = []", "unknown field `global`"),
            ("[rules]\ndisable = [\"MG-NOPE\"]", "unknown rule ID"),
            ("[rules.severity]\n\"MG-NOPE\" = \"low\"", "unknown rule ID"),
            (
                "[rules.severity]\n\"MG-PKL-UNKNOWN\" = \"severe\"",
                "unknown variant",
            ),
            ("[[ignore]]\npath = \"a[\"", "invalid glob"),
            ("[[ignore]]\nrules = [\"*\"]", "missing field `path`"),
            ("[[ignore]]\npath = \"x\"\nrules = []", "empty list"),
            (
                "[[ignore]]\npath = \"x\"\nrule = [\"*\"]",
                "unknown field `rule`",
            ),
            ("[limits]\nmax_dept = 3", "unknown field `max_dept`"),
            ("[allow]\nglobals = [\"*\"]", "not a pattern"),
            ("[rules]\ndisable = [\"XX-*\"]", "no rule ID starts with"),
        ] {
            let e = Config::parse(text).unwrap_err();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn discover_walks_up() {
        let base = std::env::temp_dir().join(format!("mg-config-{}", std::process::id()));
        let deep = base.join("a").join("b");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(base.join(FILE_NAME), "").unwrap();
        assert_eq!(Config::discover(&deep), Some(base.join(FILE_NAME)));
        std::fs::write(base.join("a").join(FILE_NAME), "").unwrap();
        assert_eq!(
            Config::discover(&deep),
            Some(base.join("a").join(FILE_NAME)),
            "nearest wins"
        );
        let err = Config::load(&base.join("missing.toml")).unwrap_err();
        assert!(matches!(err, ConfigError::Io { .. }));
        std::fs::remove_dir_all(&base).unwrap();
    }
}
