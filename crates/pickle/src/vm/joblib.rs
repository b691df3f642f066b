//! joblib's inline array data: after the BUILD of a `NumpyArrayWrapper`, `NumpyUnpickler`
//! reads the array from the stream itself (a nested pickle for object arrays, else raw bytes
//! whose length comes from the wrapper's state). Must not: run for a stream the caller did
//! not declare as joblib's.

use super::{Ctx, R, Vm};
use crate::reader::Reader;
use crate::{CallKind, Error, ErrorKind, Value, ValueId};

/// How many dict entries a joblib wrapper-state lookup inspects (real states have six).
const MAX_JOBLIB_STATE_SCAN: usize = 64;

/// What a BUILD on a joblib `NumpyArrayWrapper` says follows inline.
enum InlineArray {
    /// A nested pickle (object dtype).
    Pickle,
    /// Raw bytes, optionally preceded by a padding-length byte and that much padding.
    Raw { nbytes: u64, padded: bool },
}

impl<'a> Vm<'a> {
    /// joblib's `NumpyUnpickler.load_build`: after a BUILD whose target is a
    /// `NumpyArrayWrapper`, the array data follows inline (`NumpyArrayWrapper.read_array`):
    /// a whole nested pickle for object dtypes, else (when the state has a non-`None`
    /// `numpy_array_alignment_bytes`, joblib ≥ 1.2) one padding-length byte and that many
    /// padding bytes, then `prod(shape) * itemsize` raw bytes.
    pub(super) fn joblib_inline(
        &mut self,
        c: &mut Ctx<'a>,
        target: ValueId,
        state: ValueId,
    ) -> Result<(), Error> {
        if !self.is_array_wrapper(target) {
            return Ok(());
        }
        let at = c.r.pos();
        let err = |kind| Error {
            kind,
            offset: at as u64,
        };
        match self.inline_array(state).map_err(err)? {
            InlineArray::Pickle => {
                let out = self.run_pickle(at, false, Some(c.frame.proto));
                let v = out.result?;
                // `self.stack.pop(); self.stack.append(array)`.
                Self::set_top(&mut c.frame, v).map_err(err)?;
                c.r = Reader::new(self.data, out.end);
            }
            InlineArray::Raw { nbytes, padded } => {
                if padded {
                    let pad = c.r.u8().map_err(err)?;
                    c.r.skip(u64::from(pad)).map_err(err)?;
                }
                c.r.skip(nbytes).map_err(err)?;
            }
        }
        Ok(())
    }

    fn global_of(&self, id: ValueId) -> Option<(&str, &str)> {
        match self.value(id)? {
            Value::Global { module, name } => Some((module.as_str(), name.as_str())),
            _ => None,
        }
    }

    /// Whether `id` is an instance of `joblib.numpy_pickle.NumpyArrayWrapper` (also the old
    /// vendored `sklearn.externals.joblib` copy), made by NEWOBJ (protocol ≥ 2), OBJ/INST, a
    /// direct REDUCE, or `copyreg._reconstructor(cls, object, None)` (protocols 0–1).
    fn is_array_wrapper(&self, id: ValueId) -> bool {
        let is_wrapper = |g: Option<(&str, &str)>| {
            g.is_some_and(|(m, n)| {
                n == "NumpyArrayWrapper"
                    && (m == "joblib.numpy_pickle" || m.ends_with(".joblib.numpy_pickle"))
            })
        };
        let Some(Value::Call(i)) = self.value(id) else {
            return false;
        };
        let Some(call) = self.out.calls.get(*i as usize) else {
            return false;
        };
        match call.kind {
            CallKind::NewObj | CallKind::NewObjEx | CallKind::Obj | CallKind::Inst => {
                is_wrapper(self.global_of(call.func))
            }
            CallKind::Reduce => {
                is_wrapper(self.global_of(call.func))
                    || (self.global_of(call.func) == Some(("copyreg", "_reconstructor"))
                        && call
                            .args
                            .first()
                            .is_some_and(|a| is_wrapper(self.global_of(*a))))
            }
            _ => false,
        }
    }

    /// Last value for a string key in a known dict (Python dicts keep the last assignment).
    fn dict_get(&self, dict: ValueId, key: &str) -> Option<ValueId> {
        let Some(Value::Dict(pairs)) = self.value(dict) else {
            return None;
        };
        pairs
            .iter()
            .rev()
            .take(MAX_JOBLIB_STATE_SCAN)
            .find_map(|(k, v)| match self.value(*k) {
                Some(Value::Str { value, .. }) if value == key => Some(*v),
                _ => None,
            })
    }

    fn inline_array(&self, state: ValueId) -> R<InlineArray> {
        let bad_state = |what: &str| ErrorKind::BadOperand(format!("joblib array wrapper: {what}"));
        // `__setstate__`-less objects take a dict, or a `(dict, slots)` tuple.
        let state = match self.value(state) {
            Some(Value::Tuple(t)) => t.first().copied().unwrap_or(state),
            _ => state,
        };
        let dtype = self
            .dict_get(state, "dtype")
            .ok_or_else(|| bad_state("no dtype"))?;
        let (type_str, elsize, flags) = self.dtype_info(dtype).ok_or_else(|| bad_state("dtype"))?;
        if type_str.starts_with('O') || flags & 1 != 0 {
            return Ok(InlineArray::Pickle);
        }
        let shape = self
            .dict_get(state, "shape")
            .ok_or_else(|| bad_state("no shape"))?;
        let dims = match self.value(shape) {
            Some(Value::Tuple(d) | Value::List(d)) => d,
            Some(Value::Int(_)) => std::slice::from_ref(&shape),
            _ => return Err(bad_state("shape")),
        };
        let mut count: Option<u64> = Some(1);
        let mut zero = false;
        for d in dims {
            match self.value(*d) {
                Some(Value::Int(n)) => {
                    let n = u64::try_from(*n).map_err(|_| bad_state("negative dimension"))?;
                    zero |= n == 0;
                    count = count.and_then(|c| c.checked_mul(n));
                }
                Some(Value::Bool(b)) => {
                    zero |= !b;
                }
                // A dimension larger than i64 cannot fit in the data.
                Some(Value::BigInt(s)) if !s.starts_with('-') => count = None,
                _ => return Err(bad_state("shape")),
            }
        }
        let itemsize = match elsize {
            Some(n) if n > 0 => n as u64,
            _ => dtype_itemsize(&type_str).ok_or_else(|| bad_state("dtype itemsize"))?,
        };
        let nbytes = if zero {
            0
        } else {
            count
                .and_then(|c| c.checked_mul(itemsize))
                .ok_or(ErrorKind::Truncated)?
        };
        let padded = self
            .dict_get(state, "numpy_array_alignment_bytes")
            .is_some_and(|v| !matches!(self.value(v), Some(Value::None)));
        Ok(InlineArray::Raw { nbytes, padded })
    }

    /// `numpy.dtype(type_str, align, copy)` plus its BUILD state
    /// `(version, endian, subdescr, names, fields, elsize, alignment, flags, …)`.
    fn dtype_info(&self, dtype: ValueId) -> Option<(String, Option<i64>, i64)> {
        let Some(Value::Call(i)) = self.value(dtype) else {
            return None;
        };
        let call = self.out.calls.get(*i as usize)?;
        let type_str = match self.value(*call.args.first()?)? {
            Value::Str { value, .. } => value.clone(),
            Value::Bytes { value, .. } => String::from_utf8_lossy(value).into_owned(),
            _ => return None,
        };
        let int_at = |t: &[ValueId], i: usize| match t.get(i).and_then(|v| self.value(*v)) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        };
        let (elsize, flags) = match self.build_state.get(&dtype).and_then(|s| self.value(*s)) {
            Some(Value::Tuple(t)) => (int_at(t, 5), int_at(t, 7).unwrap_or(0)),
            _ => (None, 0),
        };
        Some((type_str, elsize, flags))
    }
}

/// Item size from a dtype string such as `f8`, `<i4`, `c16`, `M8`, `b1`, `V12`.
fn dtype_itemsize(s: &str) -> Option<u64> {
    let s = s.trim_start_matches(['<', '>', '|', '=']);
    let digits = s.trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '?');
    let digits: String = digits.chars().take_while(char::is_ascii_digit).collect();
    match digits.parse::<u64>() {
        Ok(n) if n > 0 => Some(n),
        _ => match s {
            "?" | "b" | "B" => Some(1),
            _ => None,
        },
    }
}
