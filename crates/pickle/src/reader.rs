//! A bounds-checked cursor over the input: every read either returns the bytes or
//! [`ErrorKind::Truncated`], so no opcode handler can index past the data.

use crate::ErrorKind;

/// Cursor over the pickle bytes.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// End of the C unpickler's input buffer after a FRAME (`_pickle.c` `load_frame` reads
    /// the frame into it and rewinds); `None` once reads come straight from the file.
    frame_end: Option<usize>,
    /// Read as `_pickle.c` reads a file object the frame was `read()` from (no `peek`, e.g.
    /// `io.BytesIO` as torch.load passes data.pkl, or a frame larger than the file's
    /// buffer): `_Unpickler_ReadImpl` and `_Unpickler_Readline` drop what is left of the
    /// buffer when a read crosses its end and take the whole read from the file, i.e. from
    /// the end of the frame. `_Unpickler_ReadInto` (BINBYTES, BYTEARRAY8) does not.
    discard: bool,
    /// Offset of the first read that crossed the end of a frame (where the views differ).
    pub(crate) straddle: Option<usize>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Self {
            data,
            pos: pos.min(data.len()),
            frame_end: None,
            discard: false,
            straddle: None,
        }
    }

    /// The same reader with `_pickle.c`'s file-buffer view (see [`Reader::discard`]).
    pub(crate) fn discarding(mut self, on: bool) -> Self {
        self.discard = on;
        self
    }

    /// Before a buffered read of `n` bytes (`contiguous`: `_Unpickler_ReadInto`, which takes
    /// what the buffer holds and the rest from the file): note a read crossing the frame end
    /// and, in the discarding view, move to the frame end.
    fn buffered(&mut self, n: usize, contiguous: bool) {
        let Some(end) = self.frame_end else { return };
        if self.pos >= end {
            self.frame_end = None;
        } else if self.pos.saturating_add(n) > end {
            self.straddle.get_or_insert(self.pos);
            if self.discard && !contiguous {
                self.pos = end.min(self.data.len());
            }
            self.frame_end = None;
        }
    }

    /// A FRAME of `n` bytes starts here: `load_frame`'s `_Unpickler_Read(frame_len)` (which
    /// keeps the current buffer when the frame lies inside it) and rewind.
    pub(crate) fn begin_frame(&mut self, n: usize) {
        if let Some(end) = self.frame_end
            && self.pos < end
            && self.pos.saturating_add(n) <= end
        {
            return;
        }
        self.buffered(n, false);
        self.frame_end = Some(self.pos.saturating_add(n));
    }

    /// Current offset from the start of the data.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left after the cursor.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// The next `n` bytes; `Truncated` (cursor unchanged) if fewer remain.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], ErrorKind> {
        self.buffered(n, false);
        self.take_raw(n)
    }

    /// [`Reader::take`] for `_Unpickler_ReadInto` reads (contiguous across a frame end).
    pub(crate) fn take_into(&mut self, n: usize) -> Result<&'a [u8], ErrorKind> {
        self.buffered(n, true);
        self.take_raw(n)
    }

    fn take_raw(&mut self, n: usize) -> Result<&'a [u8], ErrorKind> {
        let rest = self.data.get(self.pos..).ok_or(ErrorKind::Truncated)?;
        let (head, _) = rest.split_at_checked(n).ok_or(ErrorKind::Truncated)?;
        self.pos += n;
        Ok(head)
    }

    /// Skips `n` bytes (a declared length); `Truncated` if they are not all there. `n` is a
    /// `u64` so that lengths larger than the address space are rejected without casting.
    pub(crate) fn skip(&mut self, n: u64) -> Result<(), ErrorKind> {
        match usize::try_from(n) {
            Ok(n) if n <= self.remaining() => {
                self.pos += n;
                Ok(())
            }
            _ => Err(ErrorKind::Truncated),
        }
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ErrorKind> {
        let b = self
            .data
            .get(self.pos)
            .copied()
            .ok_or(ErrorKind::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], ErrorKind> {
        let b = self.take(N)?;
        <[u8; N]>::try_from(b).map_err(|_| ErrorKind::Truncated)
    }

    pub(crate) fn u16_le(&mut self) -> Result<u16, ErrorKind> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32_le(&mut self) -> Result<u32, ErrorKind> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn i32_le(&mut self) -> Result<i32, ErrorKind> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64_le(&mut self) -> Result<u64, ErrorKind> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Like `readline()[:-1]` in `pickle._Unpickler` (the pure-Python unpickler joblib uses):
    /// a line without its `\n`, or, at the end of the data, the rest minus its last byte
    /// (consumed). The flag tells whether the end was hit.
    pub(crate) fn line_or_rest(&mut self) -> (&'a [u8], bool) {
        match self.line() {
            Ok(line) => (line, false),
            Err(_) => {
                let rest = self.data.get(self.pos..).unwrap_or_default();
                self.pos = self.data.len();
                (rest.split_last().map_or(rest, |(_, init)| init), true)
            }
        }
    }

    /// A line without its `\n` (protocol-0 text operands); `Truncated` when no newline follows,
    /// as `readline()` then returns a partial line and the next read hits the end.
    pub(crate) fn line(&mut self) -> Result<&'a [u8], ErrorKind> {
        if let Some(end) = self.frame_end {
            let in_frame = self.data.get(self.pos..end.min(self.data.len()));
            if self.pos >= end {
                self.frame_end = None;
            } else if !in_frame.is_some_and(|b| b.contains(&b'\n')) {
                // `_Unpickler_Readline`: no newline in the buffer, read a line from the file.
                self.straddle.get_or_insert(self.pos);
                if self.discard {
                    self.pos = end.min(self.data.len());
                }
                self.frame_end = None;
            }
        }
        let rest = self.data.get(self.pos..).ok_or(ErrorKind::Truncated)?;
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(ErrorKind::Truncated)?;
        let line = rest.get(..n).ok_or(ErrorKind::Truncated)?;
        self.pos += n + 1;
        Ok(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded() {
        let mut r = Reader::new(b"ab\ncd", 0);
        assert_eq!(r.line(), Ok(&b"ab"[..]));
        assert_eq!(r.take(3), Err(ErrorKind::Truncated));
        assert_eq!(r.pos(), 3);
        assert_eq!(r.skip(u64::MAX), Err(ErrorKind::Truncated));
        assert_eq!(r.u16_le(), Ok(u16::from_le_bytes(*b"cd")));
        assert_eq!(r.u8(), Err(ErrorKind::Truncated));
        assert_eq!(r.line(), Err(ErrorKind::Truncated));
        assert_eq!(r.remaining(), 0);
        let mut r = Reader::new(b"ab\ncde", 0);
        assert_eq!(r.line_or_rest(), (&b"ab"[..], false));
        assert_eq!(r.line_or_rest(), (&b"cd"[..], true));
        assert_eq!(r.line_or_rest(), (&b""[..], true));
        let mut r = Reader::new(b"x", 5);
        assert_eq!(r.u8(), Err(ErrorKind::Truncated));
    }
}
