//! Tests of the keras reader.
use super::*;
use crate::limits::Limits;
use crate::report::Severity;

fn run(json: &str) -> Outcome {
    let limits = Limits::default();
    let ctx = FormatCtx {
        limits: &limits,
        name: "config.json",
    };
    crate::facts::judged(analyze_config_json(json.as_bytes(), &ctx))
}

fn max(o: &Outcome) -> Option<Severity> {
    o.findings.iter().map(|f| f.severity).max()
}

#[test]
fn function_reference_to_os_system_is_critical() {
    let o = run(
        r#"{"module":"keras.layers","class_name":"Dense","config":{"name":"d","activation":{"module":"os","class_name":"function","config":"system","registered_name":null}}}"#,
    );
    assert_eq!(max(&o), Some(Severity::Critical), "{:?}", o.findings);
    assert_eq!(o.findings[0].rule, "MG-KERAS-FUNC-REF");
    assert!(
        o.findings[0]
            .evidence
            .as_deref()
            .unwrap()
            .contains("os.system")
    );
}

#[test]
fn keras_objects_are_fine_and_custom_ones_low() {
    let o = run(
        r#"{"module":"keras","class_name":"Sequential","config":{"name":"s","layers":[{"module":"keras.layers","class_name":"Dense","config":{"name":"d"}}]}}"#,
    );
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    let o = run(
        r#"{"module":"mypkg.layers","class_name":"MyLayer","config":{"name":"m"},"registered_name":"mypkg>MyLayer"}"#,
    );
    assert_eq!(max(&o), Some(Severity::Info));
    assert_eq!(o.findings[0].rule, "MG-KERAS-CUSTOM");
    let o = run(r#"{"module":"mypkg","class_name":"function","config":"helper"}"#);
    assert_eq!(max(&o), Some(Severity::Medium));
}

#[test]
fn keras_own_gadgets_are_reported() {
    let o = run(
        r#"{"module":"keras.utils","class_name":"function","config":"get_file","registered_name":"get_file"}"#,
    );
    assert_eq!(max(&o), Some(Severity::High), "{:?}", o.findings);
    let o = run(
        r#"{"module":"keras.config","class_name":"function","config":"enable_unsafe_deserialization"}"#,
    );
    assert_eq!(max(&o), Some(Severity::Critical));
    let o = run(r#"{"module":"keras.activations","class_name":"function","config":"relu"}"#);
    assert!(o.findings.is_empty());
}

#[test]
fn keras2_function_lambda_and_nested_models() {
    // Keras 2 Lambda naming a module-level function.
    let o = run(
        r#"{"class_name":"Lambda","config":{"name":"f","function":"system","function_type":"function","module":"os"}}"#,
    );
    assert_eq!(max(&o), Some(Severity::Critical), "{:?}", o.findings);
    // A helper from the training script (`__main__`) is resolved by the loader: nothing.
    let o = run(
        r#"{"class_name":"Lambda","config":{"name":"f","function":"helper","function_type":"function","module":"__main__"}}"#,
    );
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    // References three models deep, inside a wrapper, keep the innermost layer name.
    let o = run(
        r#"{"class_name":"Functional","config":{"name":"outer","layers":[{"class_name":"Sequential","config":{"name":"mid","layers":[{"class_name":"TimeDistributed","config":{"name":"td","layer":{"module":"subprocess","class_name":"Popen","config":{}}}}]}}]}}"#,
    );
    assert_eq!(max(&o), Some(Severity::Critical));
    assert!(
        o.findings[0]
            .evidence
            .as_deref()
            .unwrap()
            .starts_with("td: subprocess.Popen")
    );
}

#[test]
fn malformed_json_is_fatal() {
    let o = run("{not json");
    assert!(o.problems.iter().any(|p| p.fatal));
}

#[test]
fn config_size_limit() {
    let limits = Limits {
        max_config_bytes: 10,
        ..Limits::default()
    };
    let ctx = FormatCtx {
        limits: &limits,
        name: "config.json",
    };
    let o = analyze_config_json(br#"{"class_name":"Sequential","config":{}}"#, &ctx);
    assert!(
        o.problems
            .iter()
            .any(|p| !p.fatal && p.message.contains("max_config_bytes"))
    );
}

#[test]
fn undecodable_lambda_is_medium_and_incomplete() {
    let o = run(
        r#"{"class_name":"Lambda","config":{"name":"l","function":["AAAA",null,null],"function_type":"lambda"}}"#,
    );
    assert_eq!(max(&o), Some(Severity::Medium), "{:?}", o.findings);
    assert!(o.problems.iter().any(|p| !p.fatal));
}

#[test]
fn tf_op_lambda_file_write_is_high() {
    let o = run(r#"{"class_name":"TFOpLambda","config":{"name":"t","function":"io.write_file"}}"#);
    assert_eq!(max(&o), Some(Severity::High));
    let o = run(r#"{"class_name":"TFOpLambda","config":{"name":"t","function":"math.add"}}"#);
    assert!(o.findings.is_empty());
}

#[test]
fn protobuf_reader() {
    // SavedMetadata { nodes { node_id: 1, node_path: "root", metadata: "{}" } }
    let inner = [
        0x10, 0x01, 0x1a, 0x04, b'r', b'o', b'o', b't', 0x2a, 0x02, b'{', b'}',
    ];
    let mut pb = vec![0x0a, inner.len() as u8];
    pb.extend_from_slice(&inner);
    let f = fields(&pb).unwrap();
    assert_eq!(f.len(), 1);
    let g = fields(f[0].2).unwrap();
    assert_eq!(g.len(), 3);
    assert!(fields(&[0x0a, 0x7f]).is_none());
    assert!(fields(&[0xff; 12]).is_none());
}
