//! `literal_eval` against what CPython's `ast.literal_eval` accepts and refuses.

use super::*;

fn ev(s: &str) -> R<Value> {
    literal_eval(s, false)
}

#[test]
fn python_literals() {
    assert_eq!(ev("'|' 'O'"), Ok(Value::Str("|O".into())));
    assert_eq!(ev("'|\\x4f'"), Ok(Value::Str("|O".into())));
    assert_eq!(ev("'\\117'"), Ok(Value::Str("O".into())));
    assert_eq!(ev("u'\\u004f'"), Ok(Value::Str("O".into())));
    assert_eq!(ev("r'\\x4f'"), Ok(Value::Str("\\x4f".into())));
    assert_eq!(ev("'a\\\nb'"), Ok(Value::Str("ab".into())));
    assert_eq!(ev("'''a\nb'''"), Ok(Value::Str("a\nb".into())));
    assert!(ev("'\\N{LATIN CAPITAL LETTER O}'").is_err());
    assert!(ev("'a' b'b'").is_err());
    assert!(ev("f'O'").is_err());
    assert!(ev("'\\x4'").is_err());
    assert_eq!(ev("(1)+2j"), Ok(Value::Complex));
    assert!(ev("1+2").is_err());
    assert!(ev("--1").is_err());
    assert_eq!(ev("-(1)"), Ok(Value::Int(Some(-1))));
    assert!(ev("01").is_err());
    assert_eq!(ev("0_0"), Ok(Value::Int(Some(0))));
    assert_eq!(ev("0x_1f"), Ok(Value::Int(Some(31))));
    assert_eq!(ev("1.e5"), Ok(Value::Float));
    assert!(ev("1_").is_err());
    assert_eq!(ev("set( )"), Ok(Value::Set(vec![])));
    assert!(ev("{[1]: 2}").is_err());
    assert!(ev("{*()}").is_err());
    assert_eq!(
        ev("\n#c\n(1,)\n  # x\n"),
        Ok(Value::Tuple(vec![Value::Int(Some(1))]))
    );
    assert!(ev("\n  1").is_err());
    assert!(ev("1\n2").is_err());
    assert!(ev("1\\\n").is_err());
    assert!(ev("(3L,)").is_err());
    assert_eq!(
        literal_eval("(3L,)", true),
        Ok(Value::Tuple(vec![Value::Int(Some(3))]))
    );
}

#[test]
fn dict_keys_last_value_wins() {
    let v = ev("{'descr': '<f8', 'descr': '|O', 1: 2, True: 3}");
    let Ok(Value::Dict(d)) = v else {
        panic!("{v:?}")
    };
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].1, Value::Str("|O".into()));
    assert_eq!(d[1], (Value::Int(Some(1)), Value::Int(Some(3))));
}

#[test]
fn deep_nesting_is_refused() {
    let s = format!("{}1{}", "(".repeat(500), ")".repeat(500));
    assert!(ev(&s).is_err());
}
