//! Containers walked as loaders read them: zip (every view: central directory, local
//! headers, duplicates, carved members), tar, and single-stream compressors (gzip, bzip2, xz,
//! lzma, zlib, zstd, lz4). Members are streamed with bounded memory and walked recursively.
//!
//! Must not: judge content (members go back to the scan walk) or parse the zip format itself
//! (`formats::zip` reads it).

mod compress;
mod tar;
mod zip;
