//! Constants and strings: None and booleans, text-protocol and binary integers and floats,
//! protocol 0–2 `str` (decoded as Python 3 does), unicode, bytes and bytearrays, all within
//! the string limits.

use super::{Ctx, R, Step, Vm, bad, truncate_str};
use crate::opcodes as op;
use crate::text::{self, PyInt};
use crate::{ErrorKind, Value, ValueId};

impl<'a> Vm<'a> {
    /// The opcodes of this module (see [`Vm::exec_other`]).
    #[inline(always)]
    pub(super) fn exec_scalar(&mut self, code: u8, c: &mut Ctx<'a>) -> R<Step> {
        let r = &mut c.r;
        let f = &mut c.frame;
        let pushed = match code {
            op::NONE => self.singleton(Value::None)?,
            op::NEWTRUE => self.singleton(Value::Bool(true))?,
            op::NEWFALSE => self.singleton(Value::Bool(false))?,
            op::INT => {
                let line = text::c_str(r.line()?);
                match line {
                    b"00" => self.singleton(Value::Bool(false))?,
                    b"01" => self.singleton(Value::Bool(true))?,
                    _ => {
                        let v = text::parse_int(line, true)
                            .or_else(|| text::parse_c_octal(line))
                            .ok_or_else(|| bad("INT"))?;
                        self.int_value(v)?
                    }
                }
            }
            op::LONG => {
                let line = text::c_str(r.line()?);
                let line = line.strip_suffix(b"L").unwrap_or(line);
                let v = text::parse_int(line, true).ok_or_else(|| bad("LONG"))?;
                self.int_value(v)?
            }
            op::LONG1 | op::LONG4 => {
                let n = if code == op::LONG1 {
                    u64::from(r.u8()?)
                } else {
                    u64::try_from(r.i32_le()?)
                        .map_err(|_| bad("LONG pickle has negative byte count"))?
                };
                let data = self.sized(r, n)?;
                if data.len() > self.limits.max_string_bytes {
                    // Skipped, summarised: decimal conversion would be quadratic.
                    self.new_value(Value::BigInt(format!("0x…({} bytes)", data.len())))?
                } else {
                    self.int_value(text::decode_long(data))?
                }
            }
            op::FLOAT => {
                let v = text::parse_float(text::c_str(r.line()?)).ok_or_else(|| bad("FLOAT"))?;
                self.new_value(Value::Float(v))?
            }

            op::STRING => {
                let line = r.line()?;
                let inner = match line {
                    [q @ (b'\'' | b'"'), inner @ .., e] if q == e => inner,
                    _ => return Err(bad("the STRING opcode argument must be quoted")),
                };
                let bytes = text::escape_decode(inner).ok_or_else(|| bad("STRING escape"))?;
                self.new_str(decode_py2_str(&bytes))?
            }
            op::BINSTRING | op::SHORT_BINSTRING => {
                let n = if code == op::BINSTRING {
                    u64::try_from(r.i32_le()?)
                        .map_err(|_| bad("BINSTRING pickle has negative byte count"))?
                } else {
                    u64::from(r.u8()?)
                };
                let data = self.sized(r, n)?;
                let max = self.limits.max_string_bytes;
                let head = data.get(..max).unwrap_or(data);
                let (value, t) = truncate_str(decode_py2_str(head), max);
                self.charge_strings(value.len())?;
                self.new_value(Value::Str {
                    value,
                    truncated: t || data.len() > max,
                })?
            }
            op::UNICODE => {
                let s = text::raw_unicode_escape(r.line()?).ok_or_else(|| bad("UNICODE escape"))?;
                self.new_str(s)?
            }
            op::BINBYTES | op::SHORT_BINBYTES | op::BINBYTES8 | op::BYTEARRAY8 => {
                let n = match code {
                    op::BINBYTES => u64::from(r.u32_le()?),
                    op::SHORT_BINBYTES => u64::from(r.u8()?),
                    _ => r.u64_le()?,
                };
                // `_Unpickler_ReadInto`: contiguous across a frame end in every view.
                let len = usize::try_from(n).map_err(|_| ErrorKind::Truncated)?;
                if len > r.remaining() {
                    return Err(ErrorKind::Truncated);
                }
                let data = r.take_into(len)?;
                let (value, truncated) = self.kept_bytes(data)?;
                if code == op::BYTEARRAY8 {
                    self.new_value(Value::ByteArray { value, truncated })?
                } else {
                    self.new_value(Value::Bytes { value, truncated })?
                }
            }
            other => return Err(ErrorKind::UnknownOpcode(other)),
        };
        self.push(f, pushed)?;
        Ok(Step::Continue)
    }

    fn new_str(&mut self, s: String) -> R<ValueId> {
        let (value, truncated) = truncate_str(s, self.limits.max_string_bytes);
        self.charge_strings(value.len())?;
        self.new_value(Value::Str { value, truncated })
    }

    fn kept_bytes(&mut self, raw: &[u8]) -> R<(Vec<u8>, bool)> {
        let max = self.limits.max_string_bytes;
        let (head, truncated) = match raw.split_at_checked(max) {
            Some((h, _)) if raw.len() > max => (h, true),
            _ => (raw, false),
        };
        self.charge_strings(head.len())?;
        Ok((head.to_vec(), truncated))
    }

    fn int_value(&mut self, v: PyInt) -> R<ValueId> {
        match v {
            PyInt::Small(i) => self.new_value(Value::Int(i)),
            PyInt::Big(s) => {
                self.charge_strings(s.len())?;
                self.new_value(Value::BigInt(s))
            }
        }
    }
}

/// Python 3 decodes protocol 0–2 `str` (STRING/BINSTRING) with the unpickler's `encoding`
/// ('ASCII' by default; torch uses UTF-8, numpy 'latin1'). Keep whichever decoding succeeds.
fn decode_py2_str(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => b.iter().map(|&c| char::from(c)).collect(),
    }
}
