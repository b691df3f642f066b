//! Rules for Flax/msgpack checkpoints (ext types, embedded pickles).

use super::Rule;
use crate::facts::{Emitter, Facts};
use crate::policy::Policy;
use crate::report::{Finding, Severity};
use crate::rule;

rule! {
    /// ## What it detects
    /// A msgpack extension type that Flax does not write: Flax's `msgpack_serialize` uses ext
    /// code 1 (ndarray), 2 (native complex) and 3 (numpy scalar); any other code is unknown.
    ///
    /// ## Why is this dangerous?
    /// Extension types are decoded by the loading program's `ext_hook`: a custom hook may
    /// unpickle or evaluate the payload. The bytes are analysed as an embedded file as well.
    ///
    /// ## How the verdict is decided
    /// `medium`, with the ext code and payload size as evidence. Known Flax codes are not
    /// reported.
    ///
    /// ## False positives
    /// msgpack files written by other tools with their own ext types.
    ///
    /// ## How to fix
    /// Re-serialise with `flax.serialization.msgpack_serialize`.
    MSGPACK_EXT { id: "MG-MSGPACK-EXT", name: "msgpack-unknown-ext-type", severity: Medium, formats: [Msgpack], fires: Load }
}

/// [`MSGPACK_EXT`]: each ext value of a type Flax does not write.
pub fn check_msgpack_ext(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::Msgpack(m) = facts else {
        return;
    };
    for b in &m.unknown_ext {
        let (path, n) = (&b.path, b.len);
        let code = b.ext.unwrap_or_default();
        out.emit(
            Finding::new(
                &MSGPACK_EXT,
                Severity::Medium,
                format!("msgpack ext type {code} (not written by Flax) at {path}"),
            )
            .evidence(format!("{path}: ext {code}, {n} bytes"))
            .offset(Some(b.offset)),
        );
    }
}

rule! {
    /// ## What it detects
    /// A msgpack `bin`, `str` or ext value whose bytes are a pickle stream (a `PROTO` header
    /// and a final `STOP`).
    ///
    /// ## Why is this dangerous?
    /// Loading code that `pickle.loads` a field of a checkpoint executes it. The embedded
    /// pickle is analysed like a file of its own; its findings carry the path of the field.
    ///
    /// ## How the verdict is decided
    /// `info` for the fact itself; the pickle's own findings give the verdict.
    ///
    /// ## False positives
    /// None: the fact is informational.
    ///
    /// ## How to fix
    /// Store arrays and plain values only.
    MSGPACK_EMBEDDED { id: "MG-MSGPACK-EMBEDDED", name: "msgpack-embedded-pickle", severity: Info, formats: [Msgpack], fires: Load }
}

/// [`MSGPACK_EMBEDDED`]: each value that is a pickle stream (analysed as a nested member).
pub fn check_msgpack_embedded(facts: &Facts, _policy: &Policy, out: &mut Emitter) {
    let Facts::Msgpack(m) = facts else {
        return;
    };
    for b in &m.pickles {
        let (path, n) = (&b.path, b.len);
        out.emit(
            Finding::new(
                &MSGPACK_EMBEDDED,
                Severity::Info,
                format!("msgpack value at {path} is a pickle stream ({n} bytes)"),
            )
            .evidence(format!("{path}: pickle, {n} bytes"))
            .offset(Some(b.offset)),
        );
    }
}

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[&MSGPACK_EXT, &MSGPACK_EMBEDDED];

/// This area's checks, in reporting order (see [`super::CHECKS`]).
pub static CHECKS: &[super::Check] = &[
    super::Check::on(&[crate::facts::FactsKind::Msgpack], check_msgpack_ext),
    super::Check::on(&[crate::facts::FactsKind::Msgpack], check_msgpack_embedded),
];
