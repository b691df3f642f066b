//! The `zlib_codec` and `bz2_codec` transforms, decompressed within the decoded-bytes limit.

use std::io::Read;

use super::{CodecError, R, raises, unanalysable};
use crate::Limits;

/// `zlib.decompress(data)`: one zlib stream, trailing bytes ignored; an unfinished stream is
/// an error.
pub(super) fn zlib_decompress(data: &[u8], limits: &Limits) -> R<Vec<u8>> {
    let cap = limits.max_decoded_bytes;
    let mut d = flate2::Decompress::new(true);
    let mut out: Vec<u8> = Vec::with_capacity(data.len().saturating_mul(2).min(cap) + 64);
    loop {
        let before_in = d.total_in();
        let before_out = d.total_out();
        if out.len() == out.capacity() {
            if out.len() > cap {
                return Err(CodecError::TooLarge { limit: cap });
            }
            out.reserve(out.len().max(64 * 1024).min(cap + 1));
        }
        let consumed = usize::try_from(before_in).unwrap_or(usize::MAX);
        let input = data.get(consumed..).unwrap_or_default();
        let status = d
            .decompress_vec(input, &mut out, flate2::FlushDecompress::Finish)
            .map_err(|e| raises("zlib.error", e.to_string()))?;
        if out.len() > cap {
            return Err(CodecError::TooLarge { limit: cap });
        }
        match status {
            flate2::Status::StreamEnd => return Ok(out),
            _ if d.total_in() == before_in
                && d.total_out() == before_out
                && out.len() < out.capacity() =>
            {
                return Err(raises("zlib.error", "incomplete or truncated stream"));
            }
            _ => {}
        }
    }
}

/// `bz2.decompress(data)`: streams back to back; garbage after at least one stream is ignored.
pub(super) fn bz2_decompress(data: &[u8], limits: &Limits) -> R<Vec<u8>> {
    let cap = limits.max_decoded_bytes;
    let mut results: Vec<u8> = Vec::new();
    let mut rest = data;
    let mut first = true;
    while !rest.is_empty() {
        let mut d = bzip2::Decompress::new(false);
        let mut out: Vec<u8> = Vec::with_capacity(rest.len().saturating_mul(4).min(cap) + 64);
        let mut eof = false;
        let mut failed = false;
        loop {
            if out.len() == out.capacity() {
                out.reserve(out.len().max(64 * 1024));
            }
            let consumed = usize::try_from(d.total_in()).unwrap_or(usize::MAX);
            let input = rest.get(consumed..).unwrap_or_default();
            let before = (d.total_in(), d.total_out());
            match d.decompress_vec(input, &mut out) {
                Ok(bzip2::Status::StreamEnd) => {
                    eof = true;
                    break;
                }
                Ok(_) => {}
                Err(_) => {
                    failed = true;
                    break;
                }
            }
            if results.len() + out.len() > cap {
                return Err(CodecError::TooLarge { limit: cap });
            }
            if (d.total_in(), d.total_out()) == before && out.len() < out.capacity() {
                break;
            }
        }
        if failed {
            if first {
                return Err(raises("OSError", "Invalid data stream"));
            }
            break;
        }
        results.extend(out);
        if results.len() > cap {
            return Err(CodecError::TooLarge { limit: cap });
        }
        if !eof {
            return Err(raises(
                "ValueError",
                "Compressed data ended before the end-of-stream marker was reached",
            ));
        }
        let used = usize::try_from(d.total_in()).unwrap_or(usize::MAX);
        rest = rest.get(used..).unwrap_or_default();
        first = false;
    }
    Ok(results)
}

pub(super) fn bz2_compress(data: &[u8]) -> R<Vec<u8>> {
    let mut out = Vec::new();
    bzip2::read::BzEncoder::new(data, bzip2::Compression::best())
        .read_to_end(&mut out)
        .map_err(|e| unanalysable(format!("bz2 compression failed: {e}")))?;
    Ok(out)
}
