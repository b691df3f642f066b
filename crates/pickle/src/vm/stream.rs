//! Opcodes about the stream rather than its values: PROTO, FRAME (read as both CPython
//! unpicklers read it) and the protocol-0 memo opcodes GET and PUT.

use super::{Ctx, R, Step, Vm, bad};
use crate::ErrorKind;
use crate::opcodes as op;
use crate::text::{self, PyInt};

impl<'a> Vm<'a> {
    /// The opcodes of this module (see [`Vm::exec_other`]); none pushes a value.
    #[inline(always)]
    pub(super) fn exec_stream(&mut self, code: u8, c: &mut Ctx<'a>, pos: usize) -> R<Step> {
        let r = &mut c.r;
        let f = &mut c.frame;
        match code {
            op::PROTO => {
                let v = r.u8()?;
                if v > 5 {
                    return Err(ErrorKind::BadOperand(format!(
                        "unsupported pickle protocol: {v}"
                    )));
                }
                f.proto = v;
                if c.first_proto.is_none() {
                    c.first_proto = Some(v);
                }
            }
            op::FRAME => {
                // The two CPython unpicklers disagree here, and both views are kept.
                // `_pickle.c` `load_frame` reads the whole frame and rewinds: a frame longer
                // than the data fails ("pickle data was truncated"); afterwards frames do not
                // matter (reads cross their ends). `pickle.py` `_Unframer.load_frame` takes
                // `file.read(n)`, which may be shorter, and goes on inside it; a read crossing
                // the end of a frame fails there ("pickle exhausted before end of frame").
                // Reading on across frame ends (C) past an overlong frame (Python) sees every
                // opcode either unpickler runs.
                let n = r.u64_le()?;
                // Both refuse a length above sys.maxsize (OverflowError / ValueError).
                if n > i64::MAX as u64 {
                    return Err(ErrorKind::Truncated);
                }
                let len = usize::try_from(n).unwrap_or(usize::MAX);
                if len > r.remaining() && self.out.frame_overrun.is_none() {
                    self.out.frame_overrun = Some(pos as u64);
                }
                r.begin_frame(len);
            }
            op::GET => {
                let idx = match text::parse_int(text::c_str(r.line()?), false) {
                    Some(PyInt::Small(i)) => u64::try_from(i).map_err(|_| bad("GET index"))?,
                    _ => return Err(bad("GET index")),
                };
                self.memo_get(f, idx)?;
            }
            op::PUT => {
                let idx = match text::parse_int(text::c_str(r.line()?), false) {
                    Some(PyInt::Small(i)) => {
                        u64::try_from(i).map_err(|_| bad("negative PUT argument"))?
                    }
                    Some(PyInt::Big(_)) => return Err(ErrorKind::Limit("max_memo")),
                    None => return Err(bad("PUT index")),
                };
                self.memo_put(f, idx)?;
            }
            other => return Err(ErrorKind::UnknownOpcode(other)),
        }
        Ok(Step::Continue)
    }
}
