//! Container members read with bounded memory: compressed bytes are streamed from the source
//! (never read whole), and decompressed output above [`SPILL_BYTES`] goes to an unnamed
//! temporary file instead of memory. A 1 MB zip holding a 1 GiB member costs a few MiB of
//! memory whatever the member's size; limits (`max_member_bytes`, `max_ratio`,
//! `max_decompressed_bytes`) are enforced while streaming, before anything is allocated.

use std::io::{self, Read, Write};

use crate::formats::zip::{Entry, ZipError};
use crate::limits::Limits;
use crate::source::{FileSource, ReadAt};

/// Decompressed members up to this size stay in memory; larger ones are spilled to disk.
pub const SPILL_BYTES: u64 = 8 << 20;

/// Streaming chunk.
const CHUNK: usize = 64 << 10;

/// `len` bytes of `src` from `start`.
pub struct Window<'a> {
    src: &'a dyn ReadAt,
    start: u64,
    len: u64,
}

impl ReadAt for Window<'_> {
    fn size(&self) -> u64 {
        self.len.min(self.src.size().saturating_sub(self.start))
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.size();
        if offset >= size {
            return Ok(0);
        }
        let n = usize::try_from(size - offset)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let dst = buf.get_mut(..n).unwrap_or_default();
        self.src.read_at(self.start + offset, dst)
    }
    fn bytes(&self) -> Option<&[u8]> {
        let start = usize::try_from(self.start).ok()?;
        let end = start.checked_add(usize::try_from(self.size()).ok()?)?;
        self.src.bytes()?.get(start..end)
    }
}

/// A zip member's data as a stream (stored: the bytes; deflate: decompressed on the fly).
/// The compressed bytes are read in chunks, never whole.
pub fn open<'a>(src: &'a dyn ReadAt, e: &Entry) -> Result<Box<dyn Read + 'a>, ZipError> {
    let window = Box::new(Window {
        src,
        start: e.data_offset,
        len: e.compressed,
    });
    let raw = OwnedCursor {
        win: window,
        pos: 0,
    };
    // `ZipExtFile` stops at the recorded uncompressed size (miniz's output buffer has that
    // size too); carved headers followed by a data descriptor record no size.
    let declared = declared_size(e);
    let r: Box<dyn Read + 'a> = match e.method {
        0 => Box::new(raw),
        8 => Box::new(flate2::read::DeflateDecoder::new(
            io::BufReader::with_capacity(CHUNK, raw),
        )),
        // zipfile also reads bzip2 (12) and LZMA (14) members (`zipfile._get_decompressor`).
        12 => Box::new(bzip2::read::BzDecoder::new(io::BufReader::with_capacity(
            CHUNK, raw,
        ))),
        14 => lzma_stream(io::BufReader::with_capacity(CHUNK, raw))?,
        m => return Err(ZipError::Unsupported(m)),
    };
    Ok(Box::new(r.take(declared)))
}

/// The size a member's reader stops at (see [`open`]).
fn declared_size(e: &Entry) -> u64 {
    if e.in_directory || e.flags & 0x8 == 0 {
        e.uncompressed
    } else {
        u64::MAX
    }
}

/// An LZMA member as `zipfile.LZMADecompressor` reads it: a 2-byte version, a 2-byte
/// properties length, the LZMA1 properties, then a raw stream (end marker optional).
fn lzma_stream<'a, R: Read + 'a>(mut r: R) -> Result<Box<dyn Read + 'a>, ZipError> {
    let malformed = |what: &str| ZipError::Malformed(format!("LZMA member: {what}"));
    let mut head = [0u8; 4];
    r.read_exact(&mut head)
        .map_err(|_| malformed("short header"))?;
    let [_, _, lo, hi] = head;
    let psize = usize::from(u16::from_le_bytes([lo, hi]));
    if !(5..=64).contains(&psize) {
        return Err(malformed("bad properties length"));
    }
    let mut props = vec![0u8; psize];
    r.read_exact(&mut props)
        .map_err(|_| malformed("short properties"))?;
    let (&pb, dict) = props
        .split_first()
        .ok_or_else(|| malformed("short properties"))?;
    let dict_size = dict
        .get(..4)
        .and_then(|d| d.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| malformed("short properties"))?;
    // The dictionary is allocated up front: refuse absurd sizes rather than allocate them.
    if dict_size > 1 << 27 {
        return Err(ZipError::Limit("LZMA dictionary size"));
    }
    let lz = lzma_rust2::LzmaReader::new_with_props(r, u64::MAX, pb, dict_size, None)?;
    Ok(Box::new(lz))
}

/// A cursor that owns its window.
struct OwnedCursor<'a> {
    win: Box<Window<'a>>,
    pos: u64,
}

impl Read for OwnedCursor<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.win.read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// The output cap of a member, as [`read_prefix`] computes it: `max`, and for deflate at
/// most `max_ratio` times the compressed size.
fn cap(e: &Entry, max: u64, limits: &Limits) -> u64 {
    let max = max.min(declared_size(e));
    match e.method {
        0 => e.compressed.min(max),
        _ => max.min(e.compressed.max(1).saturating_mul(limits.max_ratio)),
    }
}

/// Up to `max` bytes of a member in memory (`max` is small: a head, a config, a link
/// target, a signature prefix). Same answers as [`read_prefix`], streaming its input.
pub fn read_prefix(
    src: &dyn ReadAt,
    e: &Entry,
    max: u64,
    limits: &Limits,
) -> Result<(Vec<u8>, bool), ZipError> {
    let cap = cap(e, max, limits);
    let mut out = Vec::new();
    open(src, e)?.take(cap + 1).read_to_end(&mut out)?;
    let avail = e.compressed.min(declared_size(e));
    let over = out.len() as u64 > cap || (e.method == 0 && avail > max);
    if e.method != 0 && over && cap < max.min(declared_size(e)) {
        return Err(ZipError::Limit("max_ratio"));
    }
    out.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
    Ok((out, over))
}

/// Decompressed bytes: in memory, in an unnamed temporary file when large, or (a stored zip
/// member) a window of the archive itself.
pub enum Data<'a> {
    /// In memory.
    Mem(Vec<u8>),
    /// Spilled to disk (deleted when dropped).
    File(FileSource),
    /// Bytes of the container, read in place.
    Window(Window<'a>),
}

impl Data<'_> {
    /// The bytes as a source.
    pub fn src(&self) -> &dyn ReadAt {
        match self {
            Data::Mem(v) => v,
            Data::File(f) => f,
            Data::Window(w) => w,
        }
    }

    /// Length.
    pub fn len(&self) -> u64 {
        self.src().size()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What [`collect`] read.
pub struct Collected<'a> {
    /// The bytes (at most the cap).
    pub data: Data<'a>,
    /// More than the cap was there (the rest was not read).
    pub over: bool,
    /// CRC-32 of the bytes kept.
    pub crc: u32,
    /// The decoder failed after `data` (a truncated or corrupt stream).
    pub error: Option<io::Error>,
}

/// Read `r` to its end or to `cap` bytes (one more is read to tell whether there was more),
/// keeping at most [`SPILL_BYTES`] in memory.
pub fn collect(mut r: impl Read, cap: u64) -> io::Result<Collected<'static>> {
    let mut mem: Vec<u8> = Vec::new();
    let mut file: Option<std::fs::File> = None;
    let mut crc = flate2::Crc::new();
    let mut total = 0u64;
    let mut over = false;
    let mut error = None;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        let room = cap.saturating_sub(total);
        let keep = usize::try_from(room).unwrap_or(usize::MAX).min(n);
        let chunk = buf.get(..keep).unwrap_or_default();
        crc.update(chunk);
        total += keep as u64;
        match &mut file {
            Some(f) => f.write_all(chunk)?,
            None if total > SPILL_BYTES => {
                let mut f = tempfile::tempfile()?;
                f.write_all(&mem)?;
                f.write_all(chunk)?;
                mem = Vec::new();
                file = Some(f);
            }
            None => mem.extend_from_slice(chunk),
        }
        if keep < n {
            over = true;
            break;
        }
    }
    let data = match file {
        Some(mut f) => {
            f.flush()?;
            Data::File(FileSource::from_file(f)?)
        }
        None => Data::Mem(mem),
    };
    Ok(Collected {
        data,
        over,
        crc: crc.sum(),
        error,
    })
}

/// A whole member (up to `max`), streamed: see [`collect`]. A limit crossed by the ratio is
/// an error, as in [`read_prefix`].
pub fn load<'a>(
    src: &'a dyn ReadAt,
    e: &Entry,
    max: u64,
    limits: &Limits,
) -> Result<Collected<'a>, ZipError> {
    // A recorded size past the end of the file reads what there is.
    let present = e.compressed.min(src.size().saturating_sub(e.data_offset));
    if e.method != 0 && present > limits.max_member_bytes {
        return Err(ZipError::Limit("max_member_bytes"));
    }
    let cap = cap(e, max, limits);
    if e.method == 0 {
        // Stored: the archive's own bytes, read in place (no copy); the CRC streamed.
        let w = Window {
            src,
            start: e.data_offset,
            len: cap,
        };
        let mut crc = flate2::Crc::new();
        let mut buf = vec![0u8; CHUNK];
        let mut off = 0u64;
        while off < w.size() {
            let n = w.read_at(off, &mut buf)?;
            if n == 0 {
                break;
            }
            crc.update(buf.get(..n).unwrap_or_default());
            off += n as u64;
        }
        return Ok(Collected {
            data: Data::Window(w),
            over: e.compressed.min(declared_size(e)) > max,
            crc: crc.sum(),
            error: None,
        });
    }
    let c = collect(open(src, e)?, cap)?;
    if let Some(err) = c.error {
        return Err(ZipError::Io(err));
    }
    let over = c.over;
    if e.method != 0 && c.over && cap < max.min(declared_size(e)) {
        return Err(ZipError::Limit("max_ratio"));
    }
    Ok(Collected { over, ..c })
}

/// The last byte of a member, streamed to its end (at most `max` bytes decoded).
pub fn last_byte(src: &dyn ReadAt, e: &Entry, max: u64) -> Option<u8> {
    let mut r = open(src, e).ok()?.take(max);
    let mut buf = vec![0u8; CHUNK];
    let mut last = None;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return last,
            Ok(n) => last = buf.get(n - 1).copied(),
            Err(_) => return None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn collect_spills_and_caps() {
        let data = vec![7u8; (SPILL_BYTES + 100) as usize];
        let c = collect(data.as_slice(), u64::MAX).unwrap();
        assert!(matches!(c.data, Data::File(_)));
        assert_eq!(c.data.len(), data.len() as u64);
        assert!(!c.over);
        let mut crc = flate2::Crc::new();
        crc.update(&data);
        assert_eq!(c.crc, crc.sum());
        let mut tail = [0u8; 4];
        c.data.src().read_at(SPILL_BYTES, &mut tail).unwrap();
        assert_eq!(tail, [7; 4]);
        let c = collect(&b"abcdef"[..], 3).unwrap();
        assert!(c.over);
        assert!(matches!(&c.data, Data::Mem(v) if v == b"abc"));
    }
}
