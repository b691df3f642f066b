//! End-to-end tests of the `modelguard` binary: policy files, baselines, exclusions, output
//! formats (validated against their schemas) and the generated rule catalog.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// `os.system('echo hi')`, protocol 0.
const MALICIOUS: &[u8] = b"cos\nsystem\n(S'echo hi'\ntR.";
/// `mypkg.models.Net` restored with NEWOBJ + BUILD: an unknown but inert class (low).
const CUSTOM_CLASS: &[u8] = b"\x80\x02cmypkg.models\nNet\nq\x00)\x81q\x01}q\x02b.";
/// `{}`.
const CLEAN: &[u8] = b"\x80\x02}q\x00.";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

fn run_in(dir: &Path, args: &[&str]) -> Out {
    let o = Command::new(env!("CARGO_BIN_EXE_modelguard"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run modelguard");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn write(dir: &Path, rel: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, data).unwrap();
    p
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The report entry for a file whose path ends with `suffix`.
fn file<'a>(report: &'a Value, suffix: &str) -> &'a Value {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no file {suffix} in {report:#}"))
}

fn findings<'a>(f: &'a Value, rule: &str) -> Vec<&'a Value> {
    f["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["rule"] == rule)
        .collect()
}

/// The official SARIF 2.1.0 schema writes the `language` pattern (two places) as
/// `^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`: the stray `]` makes it an invalid regex for
/// validators that check patterns against the meta-schema's `format: regex`. The vendored
/// file is kept byte for byte; the intended pattern is substituted here.
const SARIF_LANGUAGE_PATTERN_ERRATUM: (&str, &str) = (
    "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
    "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$",
);

fn validator(schema_path: &Path) -> jsonschema::Validator {
    let (bad, good) = SARIF_LANGUAGE_PATTERN_ERRATUM;
    let text = std::fs::read_to_string(schema_path)
        .unwrap()
        .replace(bad, good);
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn validate(schema_path: &Path, instance: &Value) {
    let validator = validator(schema_path);
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} does not validate against {}:\n{}",
        serde_json::to_string_pretty(instance).unwrap(),
        schema_path.display(),
        errors.join("\n")
    );
}

// ---------------------------------------------------------------- policy file

#[test]
fn policy_allowlist_suppresses_custom_class() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "model.pkl", CUSTOM_CLASS);

    let o = run_in(
        dir.path(),
        &["scan", "model.pkl", "-f", "json", "--fail-on", "info"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r = o.json();
    let f = file(&r, "model.pkl");
    let unknown = findings(f, "MG-PKL-UNKNOWN");
    assert_eq!(unknown.len(), 1, "{f:#}");
    // Unknown is an inventory item, not evidence (docs/severity.md).
    assert_eq!(unknown[0]["severity"], "info");
    assert!(unknown[0].get("suppressed").is_none());
    assert_eq!(f["verdict"], "safe");

    write(
        dir.path(),
        "modelguard.toml",
        b"[allow]\nglobals = [\"mypkg.*\"]\n",
    );
    let o = run_in(
        dir.path(),
        &["scan", "model.pkl", "-f", "json", "--fail-on", "info"],
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let r = o.json();
    let f = file(&r, "model.pkl");
    let unknown = findings(f, "MG-PKL-UNKNOWN");
    assert_eq!(
        unknown.len(),
        1,
        "suppressed findings stay in the report: {f:#}"
    );
    let reason = unknown[0]["suppressed"].as_str().unwrap();
    assert!(reason.contains("mypkg.*"), "{reason}");

    // The text output lists the suppression.
    let o = run_in(dir.path(), &["scan", "model.pkl"]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains("[suppressed:"), "{}", o.stdout);
    assert!(o.stdout.contains("1 findings suppressed"), "{}", o.stdout);

    // --no-config ignores it.
    let o = run_in(
        dir.path(),
        &["scan", "model.pkl", "--no-config", "--fail-on", "info"],
    );
    assert_eq!(o.code, 1);
}

#[test]
fn policy_severity_override_changes_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "model.pkl", CUSTOM_CLASS);
    let o = run_in(dir.path(), &["scan", "model.pkl"]);
    assert_eq!(o.code, 0, "low is below the default --fail-on high");

    write(
        dir.path(),
        "modelguard.toml",
        b"[rules.severity]\n\"mg-pkl-unknown\" = \"high\"\n",
    );
    let o = run_in(dir.path(), &["scan", "model.pkl", "-f", "json"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r = o.json();
    let f = file(&r, "model.pkl");
    assert_eq!(findings(f, "MG-PKL-UNKNOWN")[0]["severity"], "high");
    assert_eq!(f["verdict"], "malicious");
}

#[test]
fn policy_disable_rule() {
    let dir = tempfile::tempdir().unwrap();
    // A pickle named like a format that cannot carry code: MG-EXT-MISMATCH (medium).
    write(dir.path(), "weights.safetensors", CLEAN);
    let o = run_in(
        dir.path(),
        &[
            "scan",
            "weights.safetensors",
            "-f",
            "json",
            "--fail-on",
            "medium",
        ],
    );
    assert_eq!(o.code, 1, "{}", o.stdout);
    write(
        dir.path(),
        "modelguard.toml",
        b"[rules]\ndisable = [\"MG-EXT-MISMATCH\"]\n",
    );
    let o = run_in(
        dir.path(),
        &[
            "scan",
            "weights.safetensors",
            "-f",
            "json",
            "--fail-on",
            "medium",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
    let r = o.json();
    let f = file(&r, "weights.safetensors");
    assert_eq!(
        findings(f, "MG-EXT-MISMATCH")[0]["suppressed"],
        "rule disabled by policy"
    );
    assert_eq!(f["verdict"], "safe");
}

#[test]
fn policy_per_path_ignore() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    write(&repo, "tests/fixtures/evil.pkl", MALICIOUS);
    write(&repo, "models/evil.pkl", MALICIOUS);
    write(
        &repo,
        "modelguard.toml",
        b"[[ignore]]\npath = \"tests/**\"\nrules = [\"MG-PKL-*\"]\nreason = \"malicious on purpose\"\n",
    );

    let o = run_in(&repo, &["scan", ".", "-f", "json"]);
    assert_eq!(o.code, 1, "models/evil.pkl is not ignored");
    let r = o.json();
    let t = file(&r, "tests/fixtures/evil.pkl");
    assert_eq!(t["verdict"], "safe", "{t:#}");
    let proc_ = findings(t, "MG-PKL-PROC");
    assert_eq!(proc_.len(), 1);
    assert_eq!(
        proc_[0]["suppressed"],
        "ignored by policy (tests/**): malicious on purpose"
    );
    assert_eq!(file(&r, "models/evil.pkl")["verdict"], "malicious");

    // Only the ignored directory: exit 0. From another directory the repository's policy
    // file is inside the scanned content and not applied (reported instead); --config
    // applies it, with globs relative to its own directory, not to the current one.
    let o = run_in(&repo, &["scan", "tests"]);
    assert_eq!(o.code, 0, "{}", o.stdout);
    let abs = repo.join("tests").display().to_string();
    let cfg = repo.join("modelguard.toml").display().to_string();
    let o = run_in(dir.path(), &["scan", &abs, "--config", &cfg]);
    assert_eq!(o.code, 0, "{}", o.stdout);
    let o = run_in(
        dir.path(),
        &["scan", "repo/tests", "--config", "repo/modelguard.toml"],
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
    let o = run_in(dir.path(), &["scan", "repo", "-f", "json"]);
    assert_eq!(
        o.code, 1,
        "repo/modelguard.toml is content here: {}",
        o.stdout
    );
    let r = o.json();
    assert_eq!(file(&r, "tests/fixtures/evil.pkl")["verdict"], "malicious");
    let p = file(&r, "repo/modelguard.toml");
    assert_eq!(findings(p, "MG-POLICY-IN-CONTENT").len(), 1, "{p:#}");
}

/// A policy file shipped inside scanned content (a downloaded model folder that disables
/// every rule) changes nothing and is reported; the same file given with --config applies.
#[test]
fn policy_inside_scanned_content_is_not_obeyed() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("downloaded-model");
    write(&model, "model.pkl", MALICIOUS);
    write(
        &model,
        "modelguard.toml",
        b"[rules]\ndisable = [\"*\"]\n\n[allow]\nglobals = [\"os.*\"]\n",
    );
    write(
        &model,
        "sub/modelguard.toml",
        b"[rules]\ndisable = [\"*\"]\n",
    );
    write(&model, "sub/evil.pkl", MALICIOUS);
    for target in ["downloaded-model", "downloaded-model/model.pkl"] {
        let o = run_in(dir.path(), &["scan", target, "-f", "json"]);
        assert_eq!(o.code, 1, "{target}: {}{}", o.stdout, o.stderr);
        let r = o.json();
        let f = file(&r, "model.pkl");
        assert_eq!(f["verdict"], "malicious", "{f:#}");
        let proc_ = findings(f, "MG-PKL-PROC");
        assert_eq!(proc_.len(), 1, "{f:#}");
        assert!(proc_[0].get("suppressed").is_none(), "{f:#}");
        assert!(proc_[0]["evidence"].as_str().unwrap().contains("echo hi"));
    }
    let o = run_in(dir.path(), &["scan", "downloaded-model", "-f", "json"]);
    let r = o.json();
    assert_eq!(file(&r, "sub/evil.pkl")["verdict"], "malicious");
    for p in ["downloaded-model/modelguard.toml", "sub/modelguard.toml"] {
        let f = file(&r, p);
        let hits = findings(f, "MG-POLICY-IN-CONTENT");
        assert_eq!(hits.len(), 1, "{f:#}");
        assert_eq!(hits[0]["severity"], "low");
    }
    // The person running the scan may choose it explicitly: then it is the policy in force
    // and not reported.
    let o = run_in(
        dir.path(),
        &[
            "scan",
            "downloaded-model/model.pkl",
            "downloaded-model/modelguard.toml",
            "--config",
            "downloaded-model/modelguard.toml",
            "-f",
            "json",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
    let r = o.json();
    assert!(
        findings(
            file(&r, "downloaded-model/modelguard.toml"),
            "MG-POLICY-IN-CONTENT"
        )
        .is_empty()
    );
}

#[test]
fn policy_strict_mode() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "model.pkl", CUSTOM_CLASS);
    let o = run_in(dir.path(), &["scan", "model.pkl", "-f", "json", "--strict"]);
    let r = o.json();
    let f = file(&r, "model.pkl");
    assert_eq!(findings(f, "MG-PKL-UNKNOWN")[0]["severity"], "medium");
    assert_eq!(f["verdict"], "suspicious");

    write(dir.path(), "modelguard.toml", b"strict = true\n");
    let o = run_in(
        dir.path(),
        &["scan", "model.pkl", "-f", "json", "--fail-on", "medium"],
    );
    assert_eq!(o.code, 1);
    let r = o.json();
    assert_eq!(
        findings(file(&r, "model.pkl"), "MG-PKL-UNKNOWN")[0]["severity"],
        "medium"
    );
}

#[test]
fn policy_explicit_config_and_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a/model.pkl", CUSTOM_CLASS);
    write(dir.path(), "b/model.pkl", CUSTOM_CLASS);
    write(
        dir.path(),
        "modelguard.toml",
        b"[rules.severity]\n\"MG-PKL-UNKNOWN\" = \"critical\"\n",
    );
    write(dir.path(), "b/modelguard.toml", b"");
    let o = run_in(dir.path(), &["scan", ".", "-f", "json"]);
    let r = o.json();
    assert_eq!(file(&r, "a/model.pkl")["verdict"], "malicious");
    assert_eq!(
        file(&r, "b/model.pkl")["verdict"],
        "malicious",
        "b/modelguard.toml is scanned content, the working directory's policy applies"
    );
    assert_eq!(
        findings(file(&r, "b/modelguard.toml"), "MG-POLICY-IN-CONTENT").len(),
        1
    );
    assert!(
        findings(file(&r, "./modelguard.toml"), "MG-POLICY-IN-CONTENT").is_empty(),
        "the policy in force is not reported"
    );
    assert_eq!(o.code, 1);
    // From a subdirectory the policy is still found upward from the working directory.
    let o = run_in(&dir.path().join("a"), &["scan", "model.pkl"]);
    assert_eq!(o.code, 1, "{}", o.stdout);

    let elsewhere = tempfile::tempdir().unwrap();
    let cfg = write(
        elsewhere.path(),
        "policy.toml",
        b"[allow]\nglobals = [\"mypkg.models:Net\"]\n",
    );
    let o = run_in(
        dir.path(),
        &[
            "scan",
            ".",
            "--config",
            cfg.to_str().unwrap(),
            "--fail-on",
            "low",
            // The policy files beside the models are content now (MG-POLICY-IN-CONTENT, low).
            "--exclude",
            "modelguard.toml",
        ],
    );
    assert_eq!(o.code, 0, "--config replaces discovery: {}", o.stdout);
}

#[test]
fn policy_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "model.pkl", CLEAN);
    for (toml, needle) in [
        ("[allow]\nglobal = [\"x.*\"]\n", "unknown field `global`"),
        ("[rules]\ndisable = [\"MG-NOPE\"]\n", "unknown rule ID"),
        ("[limits]\nmax_dept = 1\n", "unknown field `max_dept`"),
        ("strict = \"yes\"\n", "invalid type"),
    ] {
        write(dir.path(), "modelguard.toml", toml.as_bytes());
        let o = run_in(dir.path(), &["scan", "model.pkl"]);
        assert_eq!(o.code, 2, "{toml}: {}", o.stdout);
        assert!(o.stderr.contains(needle), "{toml}: {}", o.stderr);
        assert!(
            o.stderr.contains("modelguard.toml"),
            "names the file: {}",
            o.stderr
        );
    }
    std::fs::remove_file(dir.path().join("modelguard.toml")).unwrap();
    let o = run_in(
        dir.path(),
        &["scan", "model.pkl", "--config", "missing.toml"],
    );
    assert_eq!(o.code, 2);
    let o = run_in(
        dir.path(),
        &["scan", "model.pkl", "--limits", "{\"max_dept\": 1}"],
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("max_dept"), "{}", o.stderr);
}

// ---------------------------------------------------------------- baseline, exclude

#[test]
fn baseline_only_new_findings_count() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "models/old.pkl", MALICIOUS);
    let o = run_in(dir.path(), &["scan", "models"]);
    assert_eq!(o.code, 1);

    let o = run_in(
        dir.path(),
        &["scan", "models", "--write-baseline", "base.json"],
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("base.json")).unwrap())
            .unwrap();
    assert_eq!(b["schema"], "modelguard.baseline/1");
    assert_eq!(b["findings"].as_array().unwrap().len(), 1, "{b:#}");
    assert_eq!(b["findings"][0]["rule"], "MG-PKL-PROC");

    let o = run_in(
        dir.path(),
        &["scan", "models", "--baseline", "base.json", "-f", "json"],
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
    let r = o.json();
    assert_eq!(
        findings(file(&r, "old.pkl"), "MG-PKL-PROC")[0]["suppressed"],
        "baseline"
    );

    // The fingerprint is the SARIF partialFingerprint.
    let o = run_in(dir.path(), &["scan", "models", "-f", "sarif"]);
    let s = o.json();
    assert_eq!(
        s["runs"][0]["results"][0]["partialFingerprints"]["modelguardFinding/v1"],
        b["findings"][0]["fingerprint"]
    );

    write(dir.path(), "models/new.pkl", MALICIOUS);
    let o = run_in(
        dir.path(),
        &["scan", "models", "--baseline", "base.json", "-f", "json"],
    );
    assert_eq!(o.code, 1, "a new malicious file is not in the baseline");
    let r = o.json();
    assert!(
        findings(file(&r, "new.pkl"), "MG-PKL-PROC")[0]
            .get("suppressed")
            .is_none()
    );

    let o = run_in(dir.path(), &["scan", "models", "--baseline", "nope.json"]);
    assert_eq!(o.code, 2);
    std::fs::write(dir.path().join("bad.json"), "{\"findings\": []}").unwrap();
    let o = run_in(dir.path(), &["scan", "models", "--baseline", "bad.json"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("not a modelguard baseline"),
        "{}",
        o.stderr
    );
}

#[test]
fn exclude_globs() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/tests/evil.pkl", MALICIOUS);
    write(dir.path(), "m/keep/clean.pkl", CLEAN);
    write(dir.path(), "m/keep/evil.bin", MALICIOUS);
    write(dir.path(), "m/.git/objects/evil.pkl", MALICIOUS);

    let names = |o: &Out| -> Vec<String> {
        o.json()["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().replace('\\', "/"))
            .collect()
    };
    let o = run_in(
        dir.path(),
        &["scan", "m", "-f", "json", "--exclude", "tests"],
    );
    assert_eq!(
        names(&o),
        ["m/keep/clean.pkl", "m/keep/evil.bin"],
        "version-control directories are skipped when walking"
    );
    let o = run_in(dir.path(), &["scan", "m/.git", "-f", "json"]);
    assert_eq!(names(&o), ["m/.git/objects/evil.pkl"], "unless named");
    let o = run_in(
        dir.path(),
        &[
            "scan",
            "m",
            "-f",
            "json",
            "--exclude",
            "tests/**",
            "--exclude",
            "*.bin",
        ],
    );
    assert_eq!(
        names(&o),
        ["m/keep/clean.pkl"],
        "globs relative to the walked root"
    );
    assert_eq!(o.code, 0);
    let o = run_in(
        dir.path(),
        &["scan", "m", "-f", "json", "--exclude", "m/keep/*"],
    );
    assert_eq!(names(&o), ["m/tests/evil.pkl"]);
    let o = run_in(
        dir.path(),
        &["scan", "m/tests/evil.pkl", "--exclude", "tests"],
    );
    assert_eq!(o.code, 0, "explicit paths are excluded too: {}", o.stdout);
    let o = run_in(dir.path(), &["scan", "m", "--exclude", "a["]);
    assert_eq!(o.code, 2);
}

// ---------------------------------------------------------------- output formats

/// A directory with a bit of everything: malicious, suppressed, zip member, low finding,
/// incomplete file, clean file.
fn zoo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "evil.pkl", MALICIOUS);
    write(dir.path(), "custom.pkl", CUSTOM_CLASS);
    write(dir.path(), "clean.pkl", CLEAN);
    // Recognised but not analysed (a GGUF version this build does not know): incomplete,
    // verdict unknown.
    write(
        dir.path(),
        "dir with space/m.gguf",
        b"GGUF\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    );
    let zip = std::fs::read(repo_root().join("examples/malicious_in_zip.zip")).unwrap();
    write(dir.path(), "in_zip.zip", &zip);
    write(dir.path(), "ignored/evil.pkl", MALICIOUS);
    write(
        dir.path(),
        "modelguard.toml",
        b"[[ignore]]\npath = \"ignored\"\nreason = \"fixture\"\n",
    );
    dir
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let dir = zoo();
    let o = run_in(
        dir.path(),
        &["scan", ".", "-f", "sarif", "--fail-on", "low"],
    );
    assert_eq!(o.code, 1);
    let s = o.json();
    validate(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json"),
        &s,
    );
    // The validator does reject what SARIF forbids.
    let v = validator(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json"),
    );
    let mut bad = s.clone();
    bad["runs"][0]["results"][0]["level"] = Value::from("critical");
    assert!(!v.is_valid(&bad));
    let mut bad = s.clone();
    bad["runs"][0]["results"][0]["suppressions"] = serde_json::json!([{"kind": "policy"}]);
    assert!(!v.is_valid(&bad));
    assert_eq!(s["version"], "2.1.0");
    let run = &s["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), modelguard::rules::RULES.len());
    for r in rules {
        let sev = r["properties"]["security-severity"].as_str().unwrap();
        assert!(["9.5", "8.0", "5.5", "3.0", "0.0"].contains(&sev));
        assert!(
            r["help"]["markdown"]
                .as_str()
                .unwrap()
                .contains("## What it detects")
        );
    }
    let results = run["results"].as_array().unwrap();
    for res in results {
        let i = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            rules[i]["id"], res["ruleId"],
            "ruleIndex points at the rule"
        );
        let loc = &res["locations"][0]["physicalLocation"];
        assert_eq!(loc["region"]["startLine"], 1);
        assert!(!loc["artifactLocation"]["uri"].as_str().unwrap().is_empty());
        assert_eq!(
            res["partialFingerprints"]["modelguardFinding/v1"]
                .as_str()
                .unwrap()
                .len(),
            32
        );
    }
    let find = |uri: &str, rule: &str| {
        results
            .iter()
            .find(|r| {
                r["ruleId"] == rule
                    && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri
            })
            .unwrap_or_else(|| panic!("no {rule} result for {uri}"))
    };
    let evil = find("evil.pkl", "MG-PKL-PROC");
    assert_eq!(evil["level"], "error");
    assert!(evil.get("suppressions").is_none());
    assert!(
        evil["message"]["text"]
            .as_str()
            .unwrap()
            .contains("Evidence:")
    );
    assert_eq!(find("custom.pkl", "MG-PKL-UNKNOWN")["level"], "note");
    let ignored = find("ignored/evil.pkl", "MG-PKL-PROC");
    assert_eq!(ignored["suppressions"][0]["kind"], "external");
    assert_eq!(
        ignored["suppressions"][0]["justification"],
        "ignored by policy (ignored): fixture"
    );
    let member = find("in_zip.zip", "MG-PKL-PROC");
    let logical = &member["locations"][0]["logicalLocations"][0];
    assert_eq!(logical["kind"], "resource");
    assert!(
        logical["fullyQualifiedName"]
            .as_str()
            .unwrap()
            .ends_with(".pkl")
    );
    // The incomplete file is a notification with its percent-encoded URI.
    let inv = &run["invocations"][0];
    let notes = inv["toolExecutionNotifications"].as_array().unwrap();
    assert!(
        notes.iter().any(
            |n| n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "dir%20with%20space/m.gguf"
        ),
        "{notes:#?}"
    );
}

#[test]
fn sarif_reports_walk_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "clean.pkl", CLEAN);
    let o = run_in(
        dir.path(),
        &["scan", "clean.pkl", "missing.pkl", "-f", "sarif"],
    );
    assert_eq!(o.code, 2);
    let s = o.json();
    validate(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json"),
        &s,
    );
    let inv = &s["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert!(
        inv["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("missing.pkl")
    );
}

#[test]
fn json_report_validates_against_docs_schema() {
    let schema = repo_root().join("docs/report.schema.json");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "evil.pkl", MALICIOUS);
    let o = run_in(dir.path(), &["scan", "evil.pkl", "-f", "json"]);
    assert_eq!(o.code, 1);
    let r = o.json();
    assert_eq!(file(&r, "evil.pkl")["verdict"], "malicious");
    validate(&schema, &r);

    let dir = zoo();
    let o = run_in(dir.path(), &["scan", ".", "-f", "json", "--hash", "always"]);
    let r = o.json();
    validate(&schema, &r);
    // The schema is strict: an undocumented field fails validation.
    let mut extra = r.clone();
    extra["files"][0]["surprise"] = Value::Bool(true);
    let v = validator(&schema);
    assert!(!v.is_valid(&extra));
    // …and the fail-closed rule: an incomplete file cannot be safe.
    let mut unsafe_safe = r.clone();
    let i = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .position(|f| f["status"] != "complete")
        .unwrap();
    unsafe_safe["files"][i]["verdict"] = Value::from("safe");
    assert!(!v.is_valid(&unsafe_safe));
}

#[test]
fn hf_format_statuses() {
    let dir = zoo();
    let o = run_in(dir.path(), &["scan", ".", "-f", "hf"]);
    assert_eq!(o.code, 1);
    let r = o.json();
    let status = |p: &str| file(&r, p)["status"].as_str().unwrap().to_string();
    assert_eq!(status("/evil.pkl"), "unsafe");
    // An unknown class restored as an object is an inventory item (info): safe.
    assert_eq!(status("custom.pkl"), "safe");
    assert_eq!(status("clean.pkl"), "safe");
    assert_eq!(status("m.gguf"), "error");
    assert_eq!(status("ignored/evil.pkl"), "safe");
    for f in r["files"].as_array().unwrap() {
        assert!(f["pickleImports"].is_array(), "{f}");
    }
}

#[test]
fn output_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "evil.pkl", MALICIOUS);
    let o = run_in(
        dir.path(),
        &["scan", "evil.pkl", "-f", "sarif", "-o", "out.sarif"],
    );
    assert_eq!(o.code, 1);
    assert!(o.stdout.is_empty());
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.sarif")).unwrap())
            .unwrap();
    assert_eq!(s["runs"][0]["results"][0]["ruleId"], "MG-PKL-PROC");
}

// ---------------------------------------------------------------- docs

#[test]
fn docs_rules_md_is_up_to_date() {
    let o = run_in(&repo_root(), &["rules", "--format", "markdown"]);
    assert_eq!(o.code, 0);
    let path = repo_root().join("docs/rules.md");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &o.stdout).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == o.stdout,
        "docs/rules.md is out of date with modelguard::rules::RULES; regenerate it with\n\
         \n    UPDATE_DOCS=1 cargo test -p modelguard-cli docs\n"
    );
    for r in modelguard::rules::RULES.iter() {
        assert!(current.contains(&format!("\n## {}\n", r.id)), "{}", r.id);
    }
}

#[test]
fn help_mentions_exit_codes_and_policy() {
    let o = run_in(&repo_root(), &["scan", "--help"]);
    assert_eq!(o.code, 0);
    for needle in [
        "Exit codes:",
        "modelguard.toml",
        "--baseline",
        "--exclude",
        "sarif",
    ] {
        assert!(o.stdout.contains(needle), "{needle}:\n{}", o.stdout);
    }
}
