//! Random access to bytes: a file on disk or a buffer in memory. Formats read only the ranges
//! they need (a zip directory, a pickle member), never the whole file.

use std::io;

/// Bytes that can be read at any offset without moving a shared cursor, so several threads
/// can read one file.
pub trait ReadAt: Send + Sync {
    /// Total size in bytes.
    fn size(&self) -> u64;
    /// Read up to `buf.len()` bytes at `offset`; returns how many were read (0 at the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
    /// All the bytes, when they are already in memory (then ranges are borrowed, not copied).
    fn bytes(&self) -> Option<&[u8]> {
        None
    }
}

impl ReadAt for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        let Some(rest) = self.get(start..) else {
            return Ok(0);
        };
        let n = rest.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(n)
    }
    fn bytes(&self) -> Option<&[u8]> {
        Some(self)
    }
}

impl ReadAt for Vec<u8> {
    fn size(&self) -> u64 {
        self.as_slice().size()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }
    fn bytes(&self) -> Option<&[u8]> {
        Some(self)
    }
}

/// A borrowed buffer as a sized [`ReadAt`] (a `&[u8]` cannot be a trait object).
pub struct Bytes<'a>(pub &'a [u8]);

impl ReadAt for Bytes<'_> {
    fn size(&self) -> u64 {
        self.0.size()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read_at(offset, buf)
    }
    fn bytes(&self) -> Option<&[u8]> {
        Some(self.0)
    }
}

/// Files up to this size are read whole when opened: one read instead of one per range
/// (most files in a model folder are small configs and pickles).
const SLURP_MAX: u64 = 64 << 10;

/// A file opened for reading, with its size taken once. Small files are held in memory.
pub struct FileSource {
    file: std::fs::File,
    size: u64,
    small: Option<Vec<u8>>,
}

impl FileSource {
    /// Open `path`.
    pub fn open(path: &std::path::Path) -> io::Result<Self> {
        Self::from_file(std::fs::File::open(path)?)
    }

    /// A source over a file the caller opened (e.g. relative to a directory handle).
    pub fn from_file(mut file: std::fs::File) -> io::Result<Self> {
        // The size by seeking to the end: the same `i_size` as the metadata, for a third of
        // `statx`'s kernel time (four system calls per small file, so it shows). Every read
        // here is positional, so the offset this leaves does not matter. Where seeking fails
        // (a pipe), the metadata says.
        let size = match io::Seek::seek(&mut file, io::SeekFrom::End(0)) {
            Ok(n) => n,
            Err(_) => file.metadata()?.len(),
        };
        let mut src = FileSource {
            file,
            size,
            small: None,
        };
        if size <= SLURP_MAX {
            let data = read_range(&src, 0, size)?;
            src.size = data.len() as u64;
            src.small = Some(data);
        }
        Ok(src)
    }
}

impl ReadAt for FileSource {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        match &self.small {
            Some(data) => data.as_slice().read_at(offset, buf),
            None => self.read_file_at(offset, buf),
        }
    }
    fn bytes(&self) -> Option<&[u8]> {
        self.small.as_deref()
    }
}

impl FileSource {
    #[cfg(unix)]
    fn read_file_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(&self.file, buf, offset)
    }
    #[cfg(windows)]
    fn read_file_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(&self.file, buf, offset)
    }
}

/// Like [`read_range`], but borrowed when `src` is in memory.
pub fn range(src: &dyn ReadAt, offset: u64, len: u64) -> io::Result<std::borrow::Cow<'_, [u8]>> {
    if let Some(all) = src.bytes() {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
        let end = usize::try_from(len)
            .unwrap_or(usize::MAX)
            .saturating_add(start)
            .min(all.len());
        return Ok(std::borrow::Cow::Borrowed(
            all.get(start..end).unwrap_or_default(),
        ));
    }
    read_range(src, offset, len).map(std::borrow::Cow::Owned)
}

/// Read exactly `len` bytes at `offset` (fewer only at end of data).
pub fn read_range(src: &dyn ReadAt, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let avail = src.size().saturating_sub(offset);
    let len = usize::try_from(len.min(avail))
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "range too large"))?;
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let Some(dst) = buf.get_mut(done..) else {
            break;
        };
        let n = src.read_at(offset + done as u64, dst)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    buf.truncate(done);
    Ok(buf)
}

/// A `Read + Seek` cursor over a [`ReadAt`], for crates that want one (tar).
pub struct Cursor<'a> {
    src: &'a dyn ReadAt,
    pos: u64,
}

impl<'a> Cursor<'a> {
    /// Cursor at offset 0.
    pub fn new(src: &'a dyn ReadAt) -> Self {
        Cursor { src, pos: 0 }
    }
}

impl io::Read for Cursor<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.src.read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl io::Seek for Cursor<'_> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        let new = match pos {
            io::SeekFrom::Start(p) => Some(p),
            io::SeekFrom::End(d) => self.src.size().checked_add_signed(d),
            io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match new {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek out of range",
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn file_size_and_reads_small_and_large() {
        for len in [
            0usize,
            1,
            400,
            SLURP_MAX as usize,
            SLURP_MAX as usize + 1,
            200_000,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut f = tempfile::tempfile().unwrap();
            f.write_all(&data).unwrap();
            // The write leaves the offset at the end; the size must not depend on it.
            let src = FileSource::from_file(f).unwrap();
            assert_eq!(src.size(), len as u64);
            assert_eq!(src.bytes().is_some(), len as u64 <= SLURP_MAX);
            let mut buf = vec![0u8; 10];
            let at = len.saturating_sub(5);
            let n = src.read_at(at as u64, &mut buf).unwrap();
            assert_eq!(buf.get(..n).unwrap(), data.get(at..).unwrap());
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_character_device_is_empty() {
        let src = FileSource::open(std::path::Path::new("/dev/null")).unwrap();
        assert_eq!(src.size(), 0);
    }
}
