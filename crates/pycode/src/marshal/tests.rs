use super::*;

fn lim() -> Limits {
    Limits::default()
}

#[test]
fn scalars() {
    assert_eq!(loads(b"N", None, &lim()), Ok(Object::None));
    assert_eq!(loads(b"T", None, &lim()), Ok(Object::Bool(true)));
    assert_eq!(loads(b"F", None, &lim()), Ok(Object::Bool(false)));
    assert_eq!(loads(b"S", None, &lim()), Ok(Object::StopIteration));
    assert_eq!(loads(b".", None, &lim()), Ok(Object::Ellipsis));
    assert_eq!(
        loads(b"i\xff\xff\xff\xff", None, &lim()),
        Ok(Object::Int(-1))
    );
    assert_eq!(
        loads(b"I\x00\x00\x00\x00\x01\x00\x00\x00", None, &lim()),
        Ok(Object::Int(1 << 32))
    );
    // 2**30 = digits [0, 0, 1]
    assert_eq!(
        loads(b"l\x03\x00\x00\x00\x00\x00\x00\x00\x01\x00", None, &lim()),
        Ok(Object::Int(1 << 30))
    );
    assert_eq!(
        loads(b"l\xfd\xff\xff\xff\x00\x00\x00\x00\x01\x00", None, &lim()),
        Ok(Object::Int(-(1 << 30)))
    );
    assert_eq!(loads(b"f\x031.5", None, &lim()), Ok(Object::Float(1.5)));
    assert_eq!(
        loads(b"g\x00\x00\x00\x00\x00\x00\xf8\x3f", None, &lim()),
        Ok(Object::Float(1.5))
    );
    assert_eq!(
        loads(b"x\x011\x012", None, &lim()),
        Ok(Object::Complex(1.0, 2.0))
    );
    assert_eq!(
        loads(b"s\x02\x00\x00\x00hi", None, &lim()),
        Ok(Object::Bytes(b"hi".to_vec()))
    );
    assert_eq!(
        loads(b"u\x02\x00\x00\x00\xc3\xa9", None, &lim()),
        Ok(Object::Str("é".into()))
    );
    assert_eq!(
        loads(b"a\x02\x00\x00\x00hi", None, &lim()),
        Ok(Object::Str("hi".into()))
    );
    assert_eq!(
        loads(b"z\x02hi", None, &lim()),
        Ok(Object::Str("hi".into()))
    );
    assert_eq!(
        loads(b"Z\x02hi", None, &lim()),
        Ok(Object::Str("hi".into()))
    );
    assert_eq!(
        loads(b"t\x02\x00\x00\x00hi", None, &lim()),
        Ok(Object::Str("hi".into()))
    );
}

#[test]
fn containers_and_refs() {
    // A small tuple of a remembered short string and a reference to it.
    let data = [b')', 2, b'Z' | 0x80, 2, b'h', b'i', b'r', 0, 0, 0, 0];
    assert_eq!(
        loads(&data, None, &lim()),
        Ok(Object::Tuple(vec![
            Object::Str("hi".into()),
            Object::Str("hi".into())
        ]))
    );
    // A referenced tuple reserves its slot before its children.
    let data = [b'(' | 0x80, 1, 0, 0, 0, b'N' | 0x80, b'r', 1, 0, 0, 0];
    // Outer tuple is ref 0, None is ref 1; trailing ref is a second top-level object.
    assert_eq!(loads(&data, None, &lim()), Err(MarshalError::Trailing(5)));
    assert_eq!(
        loads(b"[\x01\x00\x00\x00N", None, &lim()),
        Ok(Object::List(vec![Object::None]))
    );
    assert_eq!(
        loads(b"{z\x01aN0", None, &lim()),
        Ok(Object::Dict(vec![(Object::Str("a".into()), Object::None)]))
    );
    assert_eq!(
        loads(b"<\x01\x00\x00\x00T", None, &lim()),
        Ok(Object::Set(vec![Object::Bool(true)]))
    );
    assert_eq!(
        loads(b">\x01\x00\x00\x00T", None, &lim()),
        Ok(Object::FrozenSet(vec![Object::Bool(true)]))
    );
    assert_eq!(
        loads(b":NNN", None, &lim()),
        Ok(Object::Slice(Box::new((
            Object::None,
            Object::None,
            Object::None
        ))))
    );
    // Reference to the tuple being built.
    let data = [b'(' | 0x80, 1, 0, 0, 0, b'r', 0, 0, 0, 0];
    assert!(matches!(
        loads(&data, None, &lim()),
        Err(MarshalError::Invalid { .. })
    ));
    assert!(matches!(
        loads(b"r\x05\x00\x00\x00", None, &lim()),
        Err(MarshalError::Invalid { .. })
    ));
}

#[test]
fn garbage_is_an_error() {
    for data in [
        &b""[..],
        b"\x00",
        b"?",
        b"0",
        b"(\xff\xff\xff\xff",
        b"(\xff\xff\xff\x7f",
        b"s\x10\x00\x00\x00ab",
        b"l\xff\xff\xff\x7f",
        b"l\x01\x00\x00\x00\xff\xff",
        b"f\x05abc",
        b"f\x03x.y",
        b"c\x00\x00",
        b"NN",
    ] {
        assert!(loads(data, None, &lim()).is_err(), "{data:?}");
    }
}

#[test]
fn limits() {
    let deep: Vec<u8> = std::iter::repeat_n([b')', 1], 300)
        .flatten()
        .chain([b'N'])
        .collect();
    assert_eq!(
        loads(&deep, None, &lim()),
        Err(MarshalError::Limit("max_marshal_depth"))
    );
    let few = Limits {
        max_marshal_objects: 3,
        ..lim()
    };
    assert_eq!(
        loads(b")\x04NNNN", None, &few),
        Err(MarshalError::Limit("max_marshal_objects"))
    );
    // References count the size of what they copy: doubling via refs is bounded.
    let mut data = vec![b')' | 0x80, 2, b'N', b'N'];
    for i in 0..40u32 {
        data.extend([b')' | 0x80, 2, b'r']);
        data.extend(i.to_le_bytes());
        data.push(b'r');
        data.extend(i.to_le_bytes());
    }
    let mut wrapped = vec![b')', 41];
    wrapped.extend(data);
    let r = loads(&wrapped, None, &lim());
    assert_eq!(r, Err(MarshalError::Limit("max_marshal_objects")));
}

#[test]
fn pyc_header() {
    let mut pyc = vec![0xa7, 0x0d, b'\r', b'\n'];
    pyc.extend([0u8; 12]);
    pyc.push(b'N');
    let (v, rest) = strip_pyc_header(&pyc).expect("3.11 header");
    assert_eq!(v, (3, 11));
    assert_eq!(rest, b"N");
    assert_eq!(strip_pyc_header(b"N"), None);
}
