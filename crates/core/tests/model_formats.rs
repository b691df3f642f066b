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

/// A pickle behind another format's magic bytes (tests/fixtures/pickle/malicious/polyglot):
/// the pickle reading's call is reported with MG-POLYGLOT, and the decoy format is still
/// analysed as what its magic says (here: malformed, so the file is also incomplete).
#[test]
fn polyglots_are_read_both_ways() {
    for (f, fmt) in [
        ("gguf_magic.bin", "gguf"),
        ("tflite_magic.bin", "tflite"),
        ("tar_magic.bin", "tar"),
        ("safetensors_magic.bin", "safetensors"),
    ] {
        let r = scan(&format!("pickle/malicious/polyglot/{f}"));
        assert_eq!(r.format, fmt, "{f}");
        assert_eq!(r.verdict, Verdict::Malicious, "{f}");
        let rs = rules(&r);
        assert!(rs.contains(&("MG-POLYGLOT", Severity::High)), "{f}: {rs:?}");
        assert!(
            rs.contains(&("MG-PKL-PROC", Severity::Critical)),
            "{f}: {rs:?}"
        );
        let ev = r.findings.iter().find(|x| x.rule == "MG-PKL-PROC").unwrap();
        assert_eq!(
            ev.evidence.as_deref(),
            Some("os.system('echo modelguard-test')"),
            "{f}"
        );
    }
}

/// Pickles with no PROTO opcode, or PROTO 1, or opening with bytes that are also a zlib
/// header, are pickles to the unpickler and to modelguard.
#[test]
fn headerless_pickles_are_pickles() {
    for f in [
        "frame_first.bin",
        "stack_global_first.bin",
        "proto1.bin",
        "zlib_header_inst.bin",
    ] {
        let r = scan(&format!("pickle/malicious/headerless/{f}"));
        assert_eq!(r.format, "pickle", "{f}");
        assert!(
            rules(&r).contains(&("MG-PKL-PROC", Severity::Critical)),
            "{f}: {:?}",
            rules(&r)
        );
    }
    let r = scan("pickle/benign/headerless_p4_ordereddict.pkl");
    assert_eq!((r.format.as_str(), r.verdict), ("pickle", Verdict::Safe));
    assert!(r.findings.is_empty(), "{:?}", rules(&r));
}

/// A first byte that could open a pickle but does not (a msgpack map of 9 entries is 0x89,
/// NEWFALSE) falls back to what the name says instead of being left as data.
#[test]
fn a_wrong_pickle_guess_falls_back_to_the_name() {
    let mut map9 = vec![0x89u8];
    for i in 0..9u8 {
        map9.extend([0xa1, b'a' + i, 0x01]); // fixstr key, fixint value
    }
    let r = Scanner::default().scan_bytes("flax_model.msgpack", &map9);
    assert_eq!(r.format, "msgpack");
    assert_eq!((r.verdict, r.status), (Verdict::Safe, Status::Complete));
    // Text files that start with a pickle opcode letter stay data, even when GLOBAL (`c`)
    // would read two lines as a module and a name: no import accepts spaces.
    for text in [
        &b"Version 2 of the notes\n"[..],
        b"cats and dogs\nbirds\n(more)\n",
    ] {
        let r = Scanner::default().scan_bytes("notes.txt", text);
        assert_eq!((r.format.as_str(), r.verdict), ("data", Verdict::Safe));
        assert!(r.findings.is_empty(), "{:?}", rules(&r));
    }
    // A tar whose first member is `config.json` opens with `c` too: its module "name" runs
    // into the header's NULs, so it is not also read as a pickle (no MG-POLYGLOT).
    let mut tar = tar::Builder::new(Vec::new());
    let body = b"{\n  \"model_type\": \"bert\"\n}\n";
    let mut h = tar::Header::new_ustar();
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "config.json", &body[..]).unwrap();
    let bytes = tar.into_inner().unwrap();
    assert_eq!(bytes.first(), Some(&b'c'));
    let r = Scanner::default().scan_bytes("model.tar", &bytes);
    assert_eq!((r.format.as_str(), r.verdict), ("tar", Verdict::Safe));
    assert!(r.findings.is_empty(), "{:?}", rules(&r));
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
