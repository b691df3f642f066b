//! Single-stream compressors (gzip, bzip2, xz, lzma-alone, zlib, zstd, lz4): decompressed
//! with size and ratio bounds, the output walked as what it contains.

use std::io::Read;

use crate::formats::{FormatId, Kind};
use crate::report::Location;
use crate::scan::Walk;
use crate::source::{Cursor, ReadAt};

impl Walk<'_> {
    pub(crate) fn decompress(
        &mut self,
        src: &dyn ReadAt,
        member: Option<&str>,
        name: &str,
        depth: usize,
        kind: Kind,
    ) -> Option<FormatId> {
        let budget = self
            .limits()
            .max_decompressed_bytes
            .saturating_sub(self.decompressed)
            .min(self.limits().max_member_bytes);
        let size = src.size();
        let cap = budget.min(size.max(1).saturating_mul(self.limits().max_ratio));
        // Streamed into member::collect: bounded memory (large output spilled to disk).
        let cursor = std::io::BufReader::with_capacity(64 << 10, Cursor::new(src));
        let reader: Box<dyn Read + '_> = match kind {
            Kind::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(cursor)),
            Kind::Zlib => Box::new(flate2::bufread::ZlibDecoder::new(cursor)),
            Kind::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(cursor)),
            Kind::Xz => Box::new(lzma_rust2::XzReader::new(cursor, true)),
            Kind::LzmaAlone => {
                match lzma_rust2::LzmaReader::new_mem_limit(cursor, u32::MAX, None) {
                    Ok(r) => Box::new(r),
                    Err(e) => Box::new(Failing(Some(e))),
                }
            }
            Kind::Zstd => Box::new(ZstdFrames {
                src,
                cur: Cursor::new(src),
                dec: None,
            }),
            Kind::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(cursor)),
            _ => return None,
        };
        let collected = match crate::member::collect(reader, cap) {
            Ok(c) => c,
            Err(e) => {
                self.error(
                    "io",
                    format!("spilling decompressed data: {e}"),
                    Location::default(),
                    false,
                );
                return None;
            }
        };
        let out_len = collected.data.len();
        let res = match collected.error {
            Some(e) => Err(e),
            None => Ok(()),
        };
        let label = match kind {
            Kind::Zstd => FormatId::Zstd,
            Kind::Lz4 => FormatId::Lz4,
            Kind::Gzip => FormatId::Gzip,
            Kind::Zlib => FormatId::Zlib,
            Kind::Bzip2 => FormatId::Bzip2,
            Kind::Xz => FormatId::Xz,
            _ => FormatId::Lzma,
        };
        if let Err(e) = res {
            if kind == Kind::Zlib && out_len == 0 {
                return None; // two bytes that happened to look like a zlib header
            }
            self.malformed(format!("{label} stream: {e}"), member, None, true);
        }
        if collected.over {
            let which = if cap == budget {
                "max_decompressed_bytes"
            } else {
                "max_ratio"
            };
            self.malformed(
                format!("{label} output exceeds {which}; analysed the first {cap} bytes"),
                member,
                None,
                false,
            );
        }
        self.decompressed += out_len;
        let out = collected.data.src();
        let inner_name = name
            .rsplit_once('.')
            .map(|(stem, _)| stem.to_string())
            .unwrap_or_else(|| name.to_string());
        let inner = self.walk(out, member, &inner_name, depth + 1);
        Some(match (label, inner) {
            (_, Some(FormatId::Joblib))
            | (FormatId::Zlib | FormatId::Lzma, Some(FormatId::Pickle)) => FormatId::Joblib,
            (FormatId::Gzip, Some(FormatId::Tar)) => FormatId::TarGz,
            _ => label,
        })
    }
}

/// Decode a zstd stream (consecutive frames) into `out`, at most `limit` bytes. ruzstd's
/// decoder stops exactly at the end of each frame (checksum included), so the next frame
/// starts where the cursor is.
/// A reader that fails once with the error a decoder constructor gave.
struct Failing(Option<std::io::Error>);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

/// Every zstd frame of `src`, back to back, as one stream (as `zstd -d` reads them).
struct ZstdFrames<'a> {
    src: &'a dyn ReadAt,
    cur: Cursor<'a>,
    dec: Option<ruzstd::decoding::StreamingDecoder<Cursor<'a>, ruzstd::decoding::FrameDecoder>>,
}

impl Read for ZstdFrames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::Seek;
        loop {
            if let Some(dec) = &mut self.dec {
                let n = dec.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                // Frame done: continue after it.
                let pos = dec.get_mut().stream_position()?;
                self.cur = Cursor::new(self.src);
                self.cur.seek(std::io::SeekFrom::Start(pos))?;
                self.dec = None;
            }
            if self.cur.stream_position()? >= self.src.size() {
                return Ok(0);
            }
            let cur = std::mem::replace(&mut self.cur, Cursor::new(self.src));
            let dec = ruzstd::decoding::StreamingDecoder::new(cur)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
            self.dec = Some(dec);
        }
    }
}
