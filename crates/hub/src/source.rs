//! Reading a file: small files downloaded whole, larger ones an [`HttpSource`] that serves
//! `ReadAt` from range requests through a small block cache.
//!
//! Must not: list repositories or decide what to read (the scanner's readers do).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use modelguard::source::ReadAt;
use reqwest::{Client, StatusCode, header};

use crate::{Error, Fetcher};

impl Fetcher {
    /// Open a file for reading. Small files (and servers that ignore ranges, up to a limit)
    /// are downloaded whole; larger ones become an [`HttpSource`].
    pub async fn open(
        &self,
        client: Option<&Client>,
        url: &str,
        size_hint: Option<u64>,
    ) -> Result<Opened, Error> {
        let auth = client.is_none() && self.is_hub(url);
        let client = client.unwrap_or(&self.client);
        let block = self.cfg.range_block_bytes;
        let whole_max = self.cfg.whole_download_max_bytes;
        if size_hint.is_some_and(|s| s > self.cfg.max_file_bytes) {
            return Err(Error::TooLarge(size_hint.unwrap_or(0)));
        }
        if let Some(s) = size_hint
            && s <= whole_max
        {
            let resp = self.send(client, url, None, auth).await?;
            return Ok(Opened::Whole(self.body(resp, whole_max).await?));
        }
        let resp = self.send(client, url, Some((0, block - 1)), auth).await?;
        if resp.status() == StatusCode::PARTIAL_CONTENT {
            let total = resp
                .headers()
                .get(header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit('/').next())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| Error::Fetch("206 without a usable Content-Range".into()))?;
            if total > self.cfg.max_file_bytes {
                return Err(Error::TooLarge(total));
            }
            let first = self.body(resp, block).await?;
            if total <= whole_max {
                // Small after all: fetch the rest in one request and hash it.
                if (first.len() as u64) < total {
                    let rest = self
                        .send(client, url, Some((first.len() as u64, total - 1)), auth)
                        .await?;
                    let mut all = first;
                    if rest.status() != StatusCode::PARTIAL_CONTENT {
                        return Err(Error::Fetch("range request answered without 206".into()));
                    }
                    all.extend(self.body(rest, total).await?);
                    return Ok(Opened::Whole(all));
                }
                return Ok(Opened::Whole(first));
            }
            let src = HttpSource {
                handle: tokio::runtime::Handle::current(),
                client: client.clone(),
                url: url.to_string(),
                token: if auth {
                    self.cfg.hf_token.clone()
                } else {
                    None
                },
                size: total,
                block,
                cap: self.cfg.range_cache_blocks,
                cache: Mutex::new(Cache::default()),
                fetched: AtomicU64::new(first.len() as u64),
                failure: Mutex::new(None),
            };
            src.put(0, first);
            return Ok(Opened::Range(Box::new(src)));
        }
        // The server ignored the range: fall back to a bounded whole download.
        let limit = self.cfg.fallback_download_max_bytes;
        if resp.content_length().is_some_and(|l| l > limit) {
            return Err(Error::TooLarge(resp.content_length().unwrap_or(0)));
        }
        Ok(Opened::Whole(self.body(resp, limit).await?))
    }
}

/// What [`Fetcher::open`] returns.
pub enum Opened {
    /// The whole file in memory.
    Whole(Vec<u8>),
    /// Read on demand with range requests.
    Range(Box<HttpSource>),
}

#[derive(Default)]
struct Cache {
    blocks: HashMap<u64, Vec<u8>>,
    order: VecDeque<u64>,
}

/// [`ReadAt`] over HTTP range requests. Reads are served from fixed-size blocks; missing
/// consecutive blocks are fetched in one request; at most `cap` blocks are kept (oldest
/// first out). Must be used from a blocking thread (`spawn_blocking`): each miss blocks on
/// the async client.
pub struct HttpSource {
    handle: tokio::runtime::Handle,
    client: Client,
    url: String,
    token: Option<String>,
    size: u64,
    block: u64,
    cap: usize,
    cache: Mutex<Cache>,
    /// Bytes fetched so far (tests check that a big file was not downloaded whole).
    pub fetched: AtomicU64,
    /// The last transport failure: a scan that met one read less than the file holds, so
    /// its result must not be stored as the file's verdict.
    failure: Mutex<Option<String>>,
}

impl HttpSource {
    /// The last range request that failed (after its retries), if any.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    fn put(&self, idx: u64, data: Vec<u8>) {
        let Ok(mut c) = self.cache.lock() else { return };
        if c.blocks.insert(idx, data).is_none() {
            c.order.push_back(idx);
        }
        while c.order.len() > self.cap {
            if let Some(old) = c.order.pop_front() {
                c.blocks.remove(&old);
            }
        }
    }

    fn get(&self, idx: u64) -> Option<Vec<u8>> {
        self.cache.lock().ok()?.blocks.get(&idx).cloned()
    }

    fn fetch(&self, first: u64, last: u64) -> io::Result<()> {
        let start = first * self.block;
        let end = ((last + 1) * self.block).min(self.size) - 1;
        let mut req = self
            .client
            .get(&self.url)
            .header(header::RANGE, format!("bytes={start}-{end}"));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let want = end - start + 1;
        let data = self.handle.block_on(async {
            let mut last_err = String::new();
            for attempt in 0..3u32 {
                match req.try_clone().map(|r| r.send()) {
                    Some(fut) => match fut.await {
                        Ok(resp) if resp.status() == StatusCode::PARTIAL_CONTENT => {
                            match resp.bytes().await {
                                Ok(b) if b.len() as u64 == want => return Ok(b.to_vec()),
                                Ok(b) => last_err = format!("short range: {} of {want}", b.len()),
                                Err(e) => last_err = e.to_string(),
                            }
                        }
                        Ok(resp) if resp.status().is_server_error() || resp.status() == 429 => {
                            last_err = format!("HTTP {}", resp.status());
                        }
                        Ok(resp) => {
                            return Err(format!("range read answered HTTP {}", resp.status()));
                        }
                        Err(e) => last_err = e.to_string(),
                    },
                    None => return Err("request cannot be retried".to_string()),
                }
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            Err(last_err)
        });
        let data = data.map_err(|e| {
            if let Ok(mut f) = self.failure.lock() {
                *f = Some(e.clone());
            }
            io::Error::other(e)
        })?;
        self.fetched.fetch_add(want, Ordering::Relaxed);
        metrics::counter!("modelguard_bytes_fetched_total").increment(want);
        for (i, chunk) in data
            .chunks(usize::try_from(self.block).unwrap_or(usize::MAX))
            .enumerate()
        {
            self.put(first + i as u64, chunk.to_vec());
        }
        Ok(())
    }
}

impl ReadAt for HttpSource {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let end = (offset + buf.len() as u64).min(self.size);
        let first = offset / self.block;
        let last = (end - 1) / self.block;
        // Fetch runs of missing blocks, one request per run.
        let mut idx = first;
        while idx <= last {
            if self.get(idx).is_some() {
                idx += 1;
                continue;
            }
            let mut run_end = idx;
            while run_end < last && self.get(run_end + 1).is_none() {
                run_end += 1;
            }
            self.fetch(idx, run_end)?;
            idx = run_end + 1;
        }
        let mut done = 0usize;
        let mut pos = offset;
        while pos < end {
            let idx = pos / self.block;
            let Some(data) = self.get(idx) else {
                // Evicted by a concurrent reader between fetch and copy: fetch it again.
                self.fetch(idx, idx)?;
                continue;
            };
            let within = usize::try_from(pos - idx * self.block).unwrap_or(usize::MAX);
            let Some(src) = data.get(within..) else {
                return Err(io::Error::other("range block shorter than expected"));
            };
            let n = src
                .len()
                .min(usize::try_from(end - pos).unwrap_or(usize::MAX));
            let (Some(dst), Some(src)) = (buf.get_mut(done..done + n), src.get(..n)) else {
                break;
            };
            dst.copy_from_slice(src);
            done += n;
            pos += n as u64;
            if n == 0 {
                break;
            }
        }
        Ok(done)
    }
}
