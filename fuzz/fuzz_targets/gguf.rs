//! Fuzz the GGUF header/metadata reader (v1-v3, both endiannesses) and the chat-template analyser
//! on arbitrary bytes (seeds: the fixtures, real chat templates, computed-name escapes and
//! mutated templates of tests/fixtures/gguf/differential.py). Property: no panic, no unbounded
//! work, the same template verdict on every run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelguard::formats::FormatCtx;
use modelguard::source::Bytes;

fuzz_target!(|data: &[u8]| {
    // Small metadata budget: the fuzzer should explore structure, not size.
    let limits = modelguard::Limits {
        max_gguf_metadata_bytes: 4 << 20,
        ..modelguard::Limits::default()
    };
    let ctx = FormatCtx {
        limits: &limits,
        name: "model.gguf",
    };
    let _ = modelguard::formats::gguf::analyze(&Bytes(data), &ctx);
    // Hugging Face template carriers (JSON with chat_template, plain Jinja).
    for name in ["tokenizer_config.json", "chat_template.jinja"] {
        let ctx = FormatCtx {
            limits: &limits,
            name,
        };
        let _ = modelguard::formats::gguf::analyze_chat_template_file(&Bytes(data), &ctx);
    }
    // The template analyser on its own, with the bytes as template text: the abstract
    // render must terminate and give the same verdict every time (its maps are unordered).
    if let Ok(text) = std::str::from_utf8(data) {
        let a = modelguard::formats::gguf::jinja::analyze(text, &limits);
        let b = modelguard::formats::gguf::jinja::analyze(text, &limits);
        let worst = |r: &modelguard::formats::gguf::jinja::TemplateReport| {
            r.escapes
                .iter()
                .map(|e| modelguard::rules::escape_severity(e.kind))
                .max()
        };
        assert_eq!(worst(&a), worst(&b), "non-deterministic template verdict");
        assert_eq!(a.unparsed.is_some(), b.unparsed.is_some());
    }
});
