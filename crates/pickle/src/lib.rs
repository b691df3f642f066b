//! Symbolic pickle virtual machine for modelguard.
//!
//! This crate owns one job: turn the bytes of a pickle stream (protocols 0–5, several pickles
//! back to back, trailing garbage) into a graph of symbolic values — imports, calls with their
//! arguments, `BUILD`/`__setstate__` steps, persistent ids — and render any value as Python-like
//! source for evidence. It never executes, imports or allocates without bound: every piece of
//! work driven by the input is capped by [`Limits`].
//!
//! It must not know about files, containers, policy, rules or severities; those live in the
//! `modelguard` core crate, which judges what this crate reports.
//!
//! Entry points: [`analyze`] / [`analyze_with`] give an [`Analysis`]; [`Analysis::render`],
//! [`Analysis::render_call`] and [`Analysis::render_build`] turn its values into evidence text;
//! [`map_python2_name`] is the `find_class` name mapping of protocol < 3 streams.
//!
//! Readings worth knowing (they follow CPython 3.11's `pickle.py` / `_pickle.c`; where those two
//! differ, the VM takes the reading that reports more, so a payload cannot hide behind either):
//! - errors stop the run but keep everything before them, as code before a parse error runs;
//! - APPEND(S)/SETITEM(S)/ADDITEMS on anything but a list/dict/set built by the pickle are
//!   [`Call`]s (`extend`/`append`, `__setitem__`, `add` of an attacker-chosen object);
//! - GLOBAL/INST operands cut by the end of the data still make an import, as
//!   `pickle._Unpickler` calls `find_class` with the partial line before failing;
//! - protocol-0/1 `STRING`s decode to `str` (UTF-8, else Latin-1), so they can name a
//!   STACK_GLOBAL; constant operands give [`Value::Global`], anything else
//!   [`Value::DynamicGlobal`];
//! - joblib object arrays (see [`Options::joblib`]) are nested pickles with their own
//!   [`PickleInfo`], listed in the order they start.
//!
//! ```
//! let data = b"cos\nsystem\n(Vecho hi\ntR.";
//! let a = modelguard_pickle::analyze(data, &modelguard_pickle::Limits::default());
//! assert!(a.error.is_none());
//! let call = &a.calls[0];
//! assert_eq!(a.render(call.result), "os.system('echo hi')");
//! ```
#![forbid(unsafe_code)]

mod compat;
mod opcodes;
mod reader;
mod render;
mod text;
mod types;
mod vm;

pub use compat::map_python2_name;
pub use types::*;

use render::{RenderLimits, Renderer};

/// How to read a stream whose container is known to the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Stop after this many pickles; any bytes after them count as
    /// [`Analysis::trailing_bytes`] and are not parsed. A legacy (non-zip) `torch.save` file is
    /// five pickles (magic number, protocol, sys info, the object, storage keys) followed by
    /// raw storage bytes, so it is read with `Some(5)`. `None`: up to `Limits::max_pickles`.
    pub max_pickles: Option<usize>,
    /// The stream was written by joblib's `NumpyPickler`: array data follows inline after the
    /// BUILD of each `joblib.numpy_pickle.NumpyArrayWrapper` (raw bytes, or a nested pickle for
    /// object arrays, which is analysed like any other pickle).
    pub joblib: bool,
}

/// Analyses every pickle of `data`, back to back, with default [`Options`].
///
/// Never fails: problems end the run with [`Analysis::error`] set, keeping everything found
/// before them.
pub fn analyze(data: &[u8], limits: &Limits) -> Analysis {
    analyze_with(data, limits, &Options::default())
}

/// Analyses `data` as a stream of pickles (see [`Options`]).
///
/// Each pickle gets a fresh memo, stack and protocol (as each `pickle.load` call does); the
/// value arena is shared. After a STOP, remaining bytes are tried as the next pickle: if that
/// fails on its very first opcode, the bytes are [`Analysis::trailing_bytes`] (no error);
/// a failure later on is recorded as the error. `Limits::max_pickles` counts the pickles of
/// the stream (joblib's nested object-array pickles are not counted).
pub fn analyze_with(data: &[u8], limits: &Limits, options: &Options) -> Analysis {
    run(data, limits, options, false)
}

/// [`analyze_with`] as `_pickle.c` reads a file object whose frames it had to `read()`
/// (no `peek`: `io.BytesIO`, as `torch.load` passes a zip's data.pkl; or a frame larger than
/// a `BufferedReader`'s buffer): a read crossing the end of a frame skips the rest of the
/// frame. Only differs from [`analyze_with`] when [`Analysis::frame_straddle`] is set.
pub fn analyze_file_view(data: &[u8], limits: &Limits, options: &Options) -> Analysis {
    run(data, limits, options, true)
}

fn run(data: &[u8], limits: &Limits, options: &Options, frame_discard: bool) -> Analysis {
    let mut vm = vm::Vm::new(data, limits);
    vm.frame_discard = frame_discard;
    let mut pos = 0usize;
    let mut count = 0usize;
    if data.is_empty() {
        // `pickle.loads(b"")` raises EOFError.
        vm.out.error = Some(Error {
            kind: ErrorKind::Truncated,
            offset: 0,
        });
    }
    while pos < data.len() {
        let rest = (data.len() - pos) as u64;
        if options.max_pickles.is_some_and(|m| count >= m) {
            vm.out.trailing_bytes = rest;
            break;
        }
        if count >= limits.max_pickles {
            if data
                .get(pos)
                .is_some_and(|&b| opcodes::min_protocol_of(b).is_some())
            {
                let e = Error {
                    kind: ErrorKind::Limit("max_pickles"),
                    offset: pos as u64,
                };
                vm.out.error = Some(e);
            } else {
                vm.out.trailing_bytes = rest;
            }
            break;
        }
        let snapshot = vm.snapshot();
        let outcome = vm.run_pickle(pos, options.joblib, None);
        count += 1;
        match outcome.result {
            Ok(_) => pos = outcome.end,
            Err(e) => {
                let garbage =
                    count > 1 && outcome.failed_first && !matches!(e.kind, ErrorKind::Limit(_));
                if garbage {
                    vm.rollback(snapshot);
                    vm.out.trailing_bytes = rest;
                } else {
                    vm.out.error = Some(e);
                }
                break;
            }
        }
    }
    let mut out = vm.out;
    out.render_limits = RenderLimits::from(limits);
    out
}

impl Analysis {
    /// The value with this id, if it exists.
    pub fn value(&self, id: ValueId) -> Option<&Value> {
        self.values.get(id as usize)
    }

    /// The text of a [`Value::Str`] (possibly truncated), else `None`.
    pub fn str_value(&self, id: ValueId) -> Option<&str> {
        match self.value(id)? {
            Value::Str { value, .. } => Some(value),
            _ => None,
        }
    }

    /// Python-like source for a value, e.g. `os.system('echo hi')` or
    /// `collections.OrderedDict()`. Calls render as the call expression (BUILDs are not part of
    /// it: see [`Analysis::render_build`]); persistent ids as `persistent_load(pid)`; dynamic
    /// imports as `getattr(__import__(module), name)`. Nesting deeper than `Limits::max_depth`
    /// renders as `…`, and text longer than `Limits::max_render_chars` is cut, ending in `…`.
    pub fn render(&self, id: ValueId) -> String {
        let mut r = Renderer::new(self);
        r.value(id, 0);
        r.finish()
    }

    /// The call `calls[call_index]` as source (`func(args)`, `cls.__new__(cls, args)`,
    /// `obj.append(x)`, `obj.__setitem__(k, v)`…); empty if there is no such call.
    pub fn render_call(&self, call_index: usize) -> String {
        if call_index >= self.calls.len() {
            return String::new();
        }
        let mut r = Renderer::new(self);
        r.call(call_index, 0);
        r.finish()
    }

    /// The build `builds[build_index]` as `target.__setstate__(state)`; empty if there is no
    /// such build.
    pub fn render_build(&self, build_index: usize) -> String {
        if build_index >= self.builds.len() {
            return String::new();
        }
        let mut r = Renderer::new(self);
        r.build(build_index);
        r.finish()
    }
}
