//! Decoding layers: decoders and Python's codec machinery applied to constants, each step
//! recorded in the value's provenance.

use std::rc::Rc;

use super::*;
/// Which entry point of Python's codec machinery a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CodecOp {
    /// `codecs.decode(obj, encoding, errors)`.
    CodecsDecode,
    /// `codecs.encode(obj, encoding, errors)`.
    CodecsEncode,
    /// `bytes.decode(encoding, errors)`.
    BytesDecode,
    /// `str.encode(encoding, errors)`.
    StrEncode,
}

/// The chain step a codec adds (`None` for plain text encodings, which hide nothing).
pub(super) fn codec_step(module: &str) -> Option<&str> {
    match module {
        "utf_8" | "ascii" | "latin_1" | "iso8859_1" | "charmap" => None,
        "rot_13" => Some("rot13"),
        m => Some(m.strip_suffix("_codec").unwrap_or(m)),
    }
}

impl<'l> Engine<'l> {
    pub(super) fn decode_call(
        &mut self,
        site: &Site,
        enc: Encoding,
        data: Option<&Val>,
        line: Option<u32>,
    ) -> Val {
        let (bytes, prov) = match data {
            Some(Val::Bytes(b, p)) => (b.to_vec(), p.clone()),
            Some(Val::Str(s, p)) => (s.as_bytes().to_vec(), p.clone()),
            Some(v) if v.is_data() => return Val::Data,
            _ => return Val::Unknown,
        };
        self.decode_layer(site, line, enc, &bytes, &prov)
    }

    /// Apply one decoding layer to constant data, within the decoded-bytes and layer budgets.
    pub(super) fn decode_layer(
        &mut self,
        site: &Site,
        line: Option<u32>,
        enc: Encoding,
        data: &[u8],
        prov: &[String],
    ) -> Val {
        self.consume(data);
        if prov.len() >= self.limits.max_decode_layers {
            self.incomplete("limit max_decode_layers reached: data not decoded");
            return Val::Unknown;
        }
        let remaining = self.limits.max_decoded_bytes.saturating_sub(self.decoded);
        let budget = Limits {
            max_decoded_bytes: remaining,
            ..self.limits.clone()
        };
        match decode::decode(enc, data, &budget) {
            Ok(out) => {
                self.decoded = self.decoded.saturating_add(out.len());
                let mut prov = prov.to_vec();
                prov.push(enc.as_str().to_string());
                let data: Rc<[u8]> = out.into();
                self.pending.push(Pending {
                    data: Rc::clone(&data),
                    prov: prov.clone(),
                    site: site.clone(),
                    line,
                });
                Val::Bytes(data, prov)
            }
            Err(e @ decode::DecodeError::TooLarge { .. }) => {
                self.incomplete(format!("limit max_decoded_bytes reached: {e}"));
                Val::Unknown
            }
            Err(e) => {
                self.incomplete(format!("constant data could not be decoded: {e}"));
                Val::Unknown
            }
        }
    }

    /// A call of Python's codec machinery on a constant, reproduced exactly
    /// ([`decode::codecs_decode`] and friends): Python's result, or `Unknown` when Python raises
    /// (noted) or when the call cannot be reproduced (incomplete, never the input passed on).
    pub(super) fn codec_call(
        &mut self,
        site: &Site,
        line: Option<u32>,
        op: CodecOp,
        data: &Val,
        encoding: Option<&Val>,
        errors: Option<&Val>,
    ) -> Val {
        let (value, prov) = match data {
            Val::Str(s, p) => (PyValue::Str(PyStr::from(&**s)), p.clone()),
            Val::Bytes(b, p) => (PyValue::Bytes(b.to_vec()), p.clone()),
            v if v.is_data() => return Val::Data,
            _ => return Val::Unknown,
        };
        // Omitted arguments take Python's defaults; computed ones cannot be followed.
        let text_arg = |v: Option<&Val>, default: &'static str| match v {
            None => Some(default.to_string()),
            Some(v) => v.as_str().map(str::to_string),
        };
        let (Some(encoding), Some(errors)) =
            (text_arg(encoding, "utf-8"), text_arg(errors, "strict"))
        else {
            self.incomplete("unanalysable codec call: computed encoding or errors argument");
            return Val::Unknown;
        };
        let input_bytes: &[u8] = match data {
            Val::Str(s, _) => s.as_bytes(),
            Val::Bytes(b, _) => b,
            _ => &[],
        };
        self.consume(input_bytes);
        if prov.len() >= self.limits.max_decode_layers {
            self.incomplete("limit max_decode_layers reached: data not decoded");
            return Val::Unknown;
        }
        let remaining = self.limits.max_decoded_bytes.saturating_sub(self.decoded);
        let budget = Limits {
            max_decoded_bytes: remaining,
            ..self.limits.clone()
        };
        let result = match (op, &value) {
            (CodecOp::CodecsDecode, v) => decode::codecs_decode(v, &encoding, &errors, &budget),
            (CodecOp::CodecsEncode, v) => decode::codecs_encode(v, &encoding, &errors, &budget),
            (CodecOp::BytesDecode, PyValue::Bytes(b)) => {
                decode::bytes_decode(b, &encoding, &errors, &budget).map(PyValue::Str)
            }
            (CodecOp::StrEncode, PyValue::Str(s)) => {
                decode::str_encode(s, &encoding, &errors, &budget).map(PyValue::Bytes)
            }
            _ => return Val::Unknown,
        };
        let step = decode::lookup(&encoding)
            .ok()
            .and_then(|c| codec_step(c.module));
        self.codec_result(site, line, &encoding, prov, step, result)
    }

    /// One of the decoding functions [`decode::function_decode`] reproduces exactly
    /// (`base64.b64decode`, `bytes.fromhex`, `zlib.decompress`…), called with its data only.
    pub(super) fn function_call(
        &mut self,
        site: &Site,
        line: Option<u32>,
        path: &str,
        step: &str,
        call: &CallArgs<'_>,
    ) -> Val {
        let Some(data) = call.args.first() else {
            return Val::Unknown;
        };
        let (value, prov, input) = match data {
            Val::Str(s, p) => (PyValue::Str(PyStr::from(&**s)), p.clone(), s.as_bytes()),
            Val::Bytes(b, p) => (PyValue::Bytes(b.to_vec()), p.clone(), &b[..]),
            v if v.is_data() => return Val::Data,
            _ => return Val::Unknown,
        };
        if call.args.len() > 1 || !call.kwargs.is_empty() {
            // altchars, validate, casefold, wbits…: not reproduced.
            self.incomplete(format!(
                "unanalysable call: {path} with arguments beyond its data"
            ));
            return Val::Unknown;
        }
        self.consume(input);
        if prov.len() >= self.limits.max_decode_layers {
            self.incomplete("limit max_decode_layers reached: data not decoded");
            return Val::Unknown;
        }
        let remaining = self.limits.max_decoded_bytes.saturating_sub(self.decoded);
        let budget = Limits {
            max_decoded_bytes: remaining,
            ..self.limits.clone()
        };
        let Some(result) = decode::function_decode(path, &value, &budget) else {
            return Val::Unknown;
        };
        self.codec_result(
            site,
            line,
            path,
            prov,
            Some(step),
            result.map(PyValue::Bytes),
        )
    }

    /// Turn an exact codec result into a value: Python's value (a decoding step in the chain,
    /// examined at the end if nothing consumes it), or `Unknown` when Python raises (noted) or
    /// the call cannot be reproduced (incomplete).
    pub(super) fn codec_result(
        &mut self,
        site: &Site,
        line: Option<u32>,
        what: &str,
        prov: Vec<String>,
        step: Option<&str>,
        result: Result<PyValue, decode::CodecError>,
    ) -> Val {
        let out = match result {
            Ok(v) => v,
            Err(e @ decode::CodecError::Raises { .. }) => {
                self.error(format!("{what} call fails in Python: {e}"));
                return Val::Unknown;
            }
            Err(e @ decode::CodecError::TooLarge { .. }) => {
                self.incomplete(format!("limit max_decoded_bytes reached: {e}"));
                return Val::Unknown;
            }
            Err(e) => {
                self.incomplete(e.to_string());
                return Val::Unknown;
            }
        };
        let mut prov = prov;
        if let Some(step) = step {
            prov.push(step.to_string());
        }
        let bytes: Rc<[u8]> = match &out {
            PyValue::Bytes(b) => b.as_slice().into(),
            PyValue::Str(s) => s.as_bytes().into(),
        };
        self.decoded = self.decoded.saturating_add(bytes.len());
        let val = match out {
            PyValue::Bytes(_) => Val::Bytes(Rc::clone(&bytes), prov.clone()),
            PyValue::Str(s) => match s.as_str() {
                Some(t) => Val::Str(t.into(), prov.clone()),
                None => {
                    // A str with lone surrogates has no Rust form; only a further codec call
                    // could use it.
                    self.incomplete("unanalysable codec result: text with lone surrogates");
                    return Val::Unknown;
                }
            },
        };
        if step.is_some() {
            self.pending.push(Pending {
                data: bytes,
                prov,
                site: site.clone(),
                line,
            });
        }
        val
    }
}
