//! Rules for Flax/msgpack checkpoints (ext types, embedded pickles).

use super::Rule;
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

/// The rules of this group, in documentation order.
pub static RULES: &[&Rule] = &[&MSGPACK_EXT, &MSGPACK_EMBEDDED];
