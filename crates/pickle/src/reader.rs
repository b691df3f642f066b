//! A bounds-checked cursor over the input: every read either returns the bytes or
//! [`ErrorKind::Truncated`], so no opcode handler can index past the data.

use crate::ErrorKind;

/// Cursor over the pickle bytes.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Self {
            data,
            pos: pos.min(data.len()),
        }
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
