//! GGUF, safetensors, ONNX and TensorFlow fixtures (tests/fixtures/{gguf,safetensors,onnx,
//! tensorflow}, made by the real libraries): the rule and evidence each one must produce,
//! beyond the verdicts the manifests check.

#![allow(clippy::indexing_slicing, clippy::unwrap_used)]

use std::path::PathBuf;

use modelguard::Scanner;
use modelguard::report::{FileReport, Severity, Status, Verdict};

fn scan(rel: &str) -> FileReport {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(rel);
    Scanner::default().scan_path(&p)
}

fn rules(r: &FileReport) -> Vec<(&str, Severity)> {
    r.findings
        .iter()
        .map(|f| (f.rule.as_str(), f.severity))
        .collect()
}

#[test]
fn real_chat_templates_have_no_finding_at_all() {
    for t in [
        "chatml",
        "llama3",
        "llama31_tools",
        "mistral",
        "gemma",
        "qwen25_tools",
        "qwen3_namespace",
        "generation_tags",
    ] {
        let r = scan(&format!("gguf/benign_{t}.gguf"));
        assert_eq!(r.format, "gguf");
        assert_eq!(r.status, Status::Complete, "{t}: {:?}", r.errors);
        assert!(r.findings.is_empty(), "{t}: {:?}", rules(&r));
    }
}

#[test]
fn ssti_evidence_shows_the_expression() {
    let r = scan("gguf/ssti_classic.gguf");
    let f = &r.findings[0];
    assert_eq!(f.rule, "MG-TEMPLATE-SSTI");
    assert_eq!(f.severity, Severity::Critical);
    let ev = f.evidence.as_deref().unwrap();
    assert!(ev.contains("popen(\"echo modelguard-test\")"), "{ev}");
    assert!(f.message.contains("__subclasses__"));
    let r = scan("gguf/ssti_set_obfuscated.gguf");
    assert!(r.findings[0].message.contains("__globals__"));
    assert_eq!(r.status, Status::Complete);
    // Unparsable by minijinja: found lexically, never complete.
    let r = scan("gguf/ssti_attr_obfuscated.gguf");
    assert_eq!(r.verdict, Verdict::Malicious);
    assert_ne!(r.status, Status::Complete);
    assert!(rules(&r).contains(&("MG-TEMPLATE-PARSE", Severity::Medium)));
}

#[test]
fn disguised_files_are_what_they_contain() {
    for (f, fmt) in [
        ("safetensors/pickle_disguised.safetensors", "pickle"),
        ("safetensors/zip_disguised.safetensors", "pytorch-zip"),
    ] {
        let r = scan(f);
        assert_eq!(r.format, fmt);
        assert_eq!(r.verdict, Verdict::Malicious);
        assert!(
            rules(&r).contains(&("MG-EXT-MISMATCH", Severity::Medium)),
            "{f}"
        );
    }
    let r = scan("safetensors/trailing_data.safetensors");
    assert_eq!(rules(&r), vec![("MG-ST-HEADER", Severity::Info)]);
}

#[test]
fn onnx_findings() {
    let r = scan("onnx/extdata_traversal.onnx");
    assert_eq!(r.findings[0].rule, "MG-ONNX-EXTDATA");
    assert_eq!(r.findings[0].evidence.as_deref(), Some("../../etc/passwd"));
    let r = scan("onnx/custom_domain_op.onnx");
    assert_eq!(rules(&r), vec![("MG-ONNX-CUSTOM-OP", Severity::Info)]);
    assert!(
        r.findings[0]
            .message
            .contains("com.example.custom: Tokenize")
    );
    let r = scan("onnx/local_function.onnx");
    assert!(r.findings[0].message.contains("local.fns.DoubleRelu"));
    assert!(scan("onnx/benign_add_relu.onnx").findings.is_empty());
    assert_eq!(scan("onnx/garbage.onnx").status, Status::Error);
}

#[test]
fn tensorflow_findings() {
    let r = scan("tensorflow/read_file/saved_model.pb");
    assert_eq!(r.format, "tensorflow-savedmodel");
    assert_eq!(r.findings[0].rule, "MG-TF-FILE-OP");
    assert!(r.findings[0].message.contains("../../etc/passwd"));
    let r = scan("tensorflow/write_file/saved_model.pb");
    assert_eq!(r.findings[0].severity, Severity::Critical);
    let r = scan("tensorflow/py_function/saved_model.pb");
    assert_eq!(r.findings[0].rule, "MG-TF-PYFUNC");
    let r = scan("tensorflow/benign_module/saved_model.pb");
    assert!(r.findings.is_empty(), "{:?}", rules(&r));
    assert_eq!(
        scan("tensorflow/frozen_benign.pb").format,
        "tensorflow-graphdef"
    );
    assert_eq!(
        scan("tensorflow/benign_module/fingerprint.pb").status,
        Status::Complete
    );
}
