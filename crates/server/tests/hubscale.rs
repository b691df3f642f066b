//! Hub-scale defects, each reproduced and held: a gated copy of a blob does not poison its
//! public copies (and a rescan picks a fetchable copy); a failed rescan leaves the previous
//! verdict visible; webhook secrets are checked before the body is read; a webhook with
//! thousands of refs does not delay other pushes; a 429 without `Retry-After` is retried
//! later instead of becoming an error; `revisions/main` is the latest pushed commit; the
//! crawler lists a hub, skips known heads on a re-crawl, and the queue counters agree with
//! the jobs table.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use modelguard_server::Config;
use serde_json::{Value, json};
use sqlx::Row;

fn evil() -> Vec<u8> {
    std::fs::read(repo_root().join("examples/malicious_os_system.pkl")).unwrap()
}

fn pickle(n: u32) -> Vec<u8> {
    // Protocol 2 `{"v": n}`: benign, distinct per n.
    let mut p = vec![0x80, 0x02, b'}', b'q', 0, b'X', 1, 0, 0, 0, b'v', b'J'];
    p.extend_from_slice(&n.to_le_bytes());
    p.extend_from_slice(b"s.");
    p
}

fn file(path: &str, data: Vec<u8>) -> HubFile {
    HubFile {
        path: path.into(),
        data,
        lfs: true,
    }
}

fn sqlite(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("mg.db").display())
}

async fn get(http: &reqwest::Client, url: &str) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

fn by_path(doc: &Value) -> HashMap<String, Value> {
    doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f.clone()))
        .collect()
}

/// Poll `url` until `ok` holds (60 s at most).
async fn wait_for(http: &reqwest::Client, url: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let t0 = Instant::now();
    loop {
        let resp = http.get(url).send().await.unwrap();
        if resp.status() == 200 {
            let v: Value = resp.json().await.unwrap();
            if ok(&v) {
                return v;
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "timeout: {v:#}");
        } else {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "{url}: {}",
                resp.status()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Defect 3: the same blob in a gated repository (downloads answer 403) and a public one.
/// The public file gets its verdict from its own repository, the gated file shows its own
/// error (naming no other repository), and a rescan after a policy change fetches the blob
/// from the public copy.
async fn gated_copy(db: String) {
    let mut repos = HashMap::new();
    repos.insert("gated/m".to_string(), vec![file("evil.pkl", evil())]);
    repos.insert("open/m".to_string(), vec![file("evil.pkl", evil())]);
    let hub = fake_hub_with(vec![], repos, 10).await;
    hub.gated.lock().unwrap().push("gated/m".into());
    let cfg = config(db, &hub);
    let svc = start(cfg.clone()).await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let (g, o) = ("1".repeat(40), "2".repeat(40));
    // The gated push first, its download slow: its scan job holds the blob's key while the
    // public push is listed (the public occurrence waits on that job).
    hub.delay_ms.store(700, Ordering::Relaxed);
    let r = post_hf(&http, &base, SECRET, webhook("gated/m", &g).to_string()).await;
    assert_eq!(r.status(), 202);
    let t0 = Instant::now();
    loop {
        let running: i64 =
            sqlx::query("SELECT COUNT(*) FROM jobs WHERE kind = 'scan' AND status = 'running'")
                .fetch_one(svc.ctx.store.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
        if running > 0 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = post_hf(&http, &base, SECRET, webhook("open/m", &o).to_string()).await;
    assert_eq!(r.status(), 202);
    let open = wait_done(&http, &format!("{base}/v1/repos/open/m/revisions/{o}")).await;
    let f = &by_path(&open)["evil.pkl"];
    assert_eq!(f["status"], "unsafe", "{open:#}");
    assert_eq!(f["error"], Value::Null, "{open:#}");
    assert!(!open.to_string().contains("gated"), "{open:#}");
    let gated = wait_done(&http, &format!("{base}/v1/repos/gated/m/revisions/{g}")).await;
    let gf = &by_path(&gated)["evil.pkl"];
    let gerr = gf["error"].as_str().unwrap_or_default();
    assert!(gerr.contains("403"), "{gated:#}");
    assert!(!gated.to_string().contains("open/m"), "{gated:#}");
    // The content's verdict reaches the gated copy too, beside its own fetch error.
    assert_eq!(gf["status"], "unsafe", "{gated:#}");
    hub.delay_ms.store(0, Ordering::Relaxed);
    svc.shutdown().await;

    // A policy change and a rescan: the blob comes from the copy that can be fetched.
    let mut limits = test_limits();
    limits.max_signature_bytes += 1;
    let svc = start(Config { limits, ..cfg }).await;
    let base = format!("http://{}", svc.addr);
    let r: Value = admin_post(&http, &format!("{base}/v1/rescans"), None).await;
    assert_eq!(r["enqueued"], 1, "{r:#}");
    let url = format!("{base}/v1/repos/open/m/revisions/{o}");
    let doc = wait_for(&http, &url, |d| by_path(d)["evil.pkl"]["stale"] == false).await;
    assert_eq!(by_path(&doc)["evil.pkl"]["status"], "unsafe");
    svc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gated_copy_does_not_poison_public_copy_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    gated_copy(sqlite(&dir)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gated_copy_does_not_poison_public_copy_postgres() {
    let Some(pg) = pg_db().await else { return };
    gated_copy(pg.url.clone()).await;
    pg.drop_db().await;
}

/// Defect 4: a rescan whose fetch fails keeps the old `unsafe` verdict (marked stale, with
/// the error), and the page keeps its unsafe banner.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_rescan_keeps_the_verdict() {
    let mut repos = HashMap::new();
    repos.insert("acme/x".to_string(), vec![file("evil.pkl", evil())]);
    let hub = fake_hub_with(vec![], repos, 10).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(sqlite(&dir), &hub);
    let svc = start(cfg.clone()).await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let sha = "3".repeat(40);
    post_hf(&http, &base, SECRET, webhook("acme/x", &sha).to_string()).await;
    let url = format!("{base}/v1/repos/acme/x/revisions/{sha}");
    let doc = wait_done(&http, &url).await;
    assert_eq!(by_path(&doc)["evil.pkl"]["status"], "unsafe");
    svc.shutdown().await;

    // The repository became unreachable; the policy changed; a rescan is asked for.
    hub.gated.lock().unwrap().push("acme/x".into());
    let mut limits = test_limits();
    limits.max_signature_bytes += 7;
    let svc = start(Config { limits, ..cfg }).await;
    let base = format!("http://{}", svc.addr);
    let url = format!("{base}/v1/repos/acme/x/revisions/{sha}");
    let r = http
        .post(format!("{base}/v1/rescans"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let doc = wait_for(&http, &url, |d| by_path(d)["evil.pkl"]["error"].is_string()).await;
    let f = &by_path(&doc)["evil.pkl"];
    assert_eq!(f["status"], "unsafe", "{doc:#}");
    assert_eq!(f["stale"], true, "{doc:#}");
    assert_eq!(doc["status"], "unsafe");
    let page = http
        .get(format!("{base}/repos/acme/x"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=unsafe-banner"), "{page}");
    svc.shutdown().await;
}

/// Defect 5: a wrong secret is refused before the body is read (the answer comes while the
/// client is still sending), and an oversized body is refused without being buffered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhook_secret_is_checked_before_the_body() {
    let hub = fake_hub(vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let svc = start(config(sqlite(&dir), &hub)).await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    // 60 chunks of 1 MiB, 100 ms apart: reading it all would take 6 s.
    let slow_body = || {
        let chunks = futures_chunks(60, 1 << 20, Duration::from_millis(100));
        reqwest::Body::wrap_stream(chunks)
    };
    let t0 = Instant::now();
    let r = http
        .post(format!("{base}/webhooks/huggingface"))
        .header("X-Webhook-Secret", "wrong")
        .header("Content-Length", (60u64 << 20).to_string())
        .body(slow_body())
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), 401);
    }
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    // The right secret with a body over the webhook limit: refused from its length.
    let t0 = Instant::now();
    let r = http
        .post(format!("{base}/webhooks/huggingface"))
        .header("X-Webhook-Secret", SECRET)
        .header("Content-Length", (60u64 << 20).to_string())
        .body(slow_body())
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), 413);
    }
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    // Gitea: no well-formed signature, no read.
    let t0 = Instant::now();
    let _ = http
        .post(format!("{base}/webhooks/gitea"))
        .header("Content-Length", (60u64 << 20).to_string())
        .body(slow_body())
        .send()
        .await;
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    // Nothing was stored for any of them.
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM events")
        .fetch_one(svc.ctx.store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(n, 0);
    svc.shutdown().await;
}

/// A stream of `n` chunks of `size` bytes, `gap` apart.
fn futures_chunks(
    n: usize,
    size: usize,
    gap: Duration,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    tokio::spawn(async move {
        for _ in 0..n {
            if tx.send(Ok(vec![b' '; size])).await.is_err() {
                return;
            }
            tokio::time::sleep(gap).await;
        }
    });
    tokio_stream_from(rx)
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Defect 6: one webhook with 10,000 refs. At most `max_push_refs_per_event` of its commits
/// are listed in the push lane (the rest wait in the backlog lane), and a normal push sent
/// right after gets its results at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ref_flood_does_not_delay_other_pushes() {
    let mut repos = HashMap::new();
    repos.insert("flood/m".to_string(), vec![file("a.pkl", pickle(1))]);
    repos.insert("quiet/m".to_string(), vec![file("evil.pkl", evil())]);
    let hub = fake_hub_with(vec![], repos, 10).await;
    // Every tree listing of the flood costs time, as on a real hub.
    let dir = tempfile::tempdir().unwrap();
    let svc = start(Config {
        workers: 2,
        ..config(sqlite(&dir), &hub)
    })
    .await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let refs: Vec<Value> = (0..10_000)
        .map(|i| {
            let sha = format!("{i:040x}");
            json!({"ref": format!("refs/tags/t{i}"), "oldSha": null, "newSha": sha})
        })
        .collect();
    let mut flood = webhook("flood/m", &"f".repeat(40));
    flood["updatedRefs"] = Value::Array(refs);
    let r = post_hf(&http, &base, SECRET, flood.to_string()).await;
    assert_eq!(r.status(), 202);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["truncated"], true);
    let push_lists: i64 = sqlx::query("SELECT COUNT(*) FROM jobs WHERE kind = 'list' AND lane = 1")
        .fetch_one(svc.ctx.store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(push_lists <= 16, "{push_lists} list jobs in the push lane");
    let t0 = Instant::now();
    let q = "9".repeat(40);
    post_hf(&http, &base, SECRET, webhook("quiet/m", &q).to_string()).await;
    let doc = wait_done(&http, &format!("{base}/v1/repos/quiet/m/revisions/{q}")).await;
    let took = t0.elapsed();
    assert_eq!(by_path(&doc)["evil.pkl"]["status"], "unsafe");
    assert!(
        took < Duration::from_secs(5),
        "push took {took:?} behind the flood"
    );
    svc.shutdown().await;
}

/// Defect 7: a hub answering 429 without `Retry-After` more often than the in-place retries
/// absorb. The job is put off (without using its attempts) and the file gets its verdict.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limits_are_retried_later() {
    let mut repos = HashMap::new();
    repos.insert("busy/m".to_string(), vec![file("evil.pkl", evil())]);
    let hub = fake_hub_with(vec![], repos, 10).await;
    // 12 answers of 429: with one in-place retry per attempt and three attempts, the old
    // service gave up; put-offs (1 s, 2 s, 4 s…) outlast them.
    hub.rate_limit_next.store(8, Ordering::Relaxed);
    let dir = tempfile::tempdir().unwrap();
    let svc = start(Config {
        defer_base_secs: 1,
        ..config(sqlite(&dir), &hub)
    })
    .await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let sha = "5".repeat(40);
    post_hf(&http, &base, SECRET, webhook("busy/m", &sha).to_string()).await;
    let url = format!("{base}/v1/repos/busy/m/revisions/{sha}");
    let doc = wait_for(&http, &url, |d| d["scansDone"] == true).await;
    assert_eq!(by_path(&doc)["evil.pkl"]["status"], "unsafe", "{doc:#}");
    let deferrals: i64 = sqlx::query("SELECT MAX(deferrals) FROM jobs WHERE kind = 'scan'")
        .fetch_one(svc.ctx.store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(deferrals >= 1, "the job was never put off");
    assert_eq!(hub.rate_limit_next.load(Ordering::Relaxed), 0);
    svc.shutdown().await;
}

/// Defect 8: an API submission of `main` is resolved to its commit; a later push moves
/// `main`, and `revisions/main` shows the pushed commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revisions_main_is_the_latest_push() {
    let mut repos = HashMap::new();
    repos.insert("acme/r".to_string(), vec![file("a.pkl", pickle(7))]);
    let hub = fake_hub_with(vec![], repos, 10).await;
    let first = "a".repeat(40);
    hub.heads
        .lock()
        .unwrap()
        .insert("acme/r".into(), first.clone());
    let dir = tempfile::tempdir().unwrap();
    let svc = start(config(sqlite(&dir), &hub)).await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let r: Value = admin_post(
        &http,
        &format!("{base}/v1/scans"),
        Some(json!({"repo": "acme/r", "revision": "main"})),
    )
    .await;
    let main = format!("{base}/v1/repos/acme/r/revisions/main");
    let doc = wait_for(&http, &main, |d| d["scansDone"] == true).await;
    assert_eq!(doc["revision"], first.as_str(), "{r:#} {doc:#}");
    let second = "b".repeat(40);
    post_hf(&http, &base, SECRET, webhook("acme/r", &second).to_string()).await;
    let doc = wait_for(&http, &main, |d| {
        d["scansDone"] == true && d["revision"] == second.as_str()
    })
    .await;
    assert_eq!(by_path(&doc)["a.pkl"]["status"], "safe");
    // No revision is named after the ref.
    let revs = get(&http, &format!("{base}/v1/repos/acme/r")).await;
    assert!(
        revs["revisions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["revision"] != "main"),
        "{revs:#}"
    );
    // The default view is what `main` points at.
    let page = http
        .get(format!("{base}/repos/acme/r"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("<code id=revision>{second}</code>")),
        "{page}"
    );
    svc.shutdown().await;
}

/// The crawler: every repository of the hub listed (two pages per job, one listing page per
/// request), every file scanned with its verdict, duplicate content fetched once; a
/// re-crawl skips every known head. The queue counters agree with the jobs table.
async fn crawl(db: String) {
    let mut repos = HashMap::new();
    for i in 0..25u32 {
        // Fine-tunes of one base: the same weights file everywhere, one own config each.
        let mut files = vec![file("model.pkl", pickle(1000)), file("cfg.pkl", pickle(i))];
        if i == 13 {
            files.push(file("evil.pkl", evil()));
        }
        repos.insert(format!("org{}/m{i}", i % 5), files);
    }
    let hub = fake_hub_with(vec![], repos, 100).await;
    let svc = start(Config {
        crawl_page_size: 10,
        crawl_pages_per_job: 2,
        hub_api_requests_per_sec: 200.0,
        ..config(db, &hub)
    })
    .await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/v1/crawls"))
        .json(&json!({"hub": "hf", "repoType": "model"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "admin only");
    let r: Value = admin_post(
        &http,
        &format!("{base}/v1/crawls"),
        Some(json!({"hub": "hf", "repoType": "model"})),
    )
    .await;
    let link = format!("{base}{}", r["links"]["self"].as_str().unwrap());
    let c = wait_for(&http, &link, |c| c["state"] != "running").await;
    assert_eq!(c["state"], "done", "{c:#}");
    assert_eq!(c["reposListed"], 25, "{c:#}");
    assert_eq!(c["reposEnqueued"], 25, "{c:#}");
    assert_eq!(c["reposSkipped"], 0, "{c:#}");
    assert_eq!(hub.stats.listing_pages.load(Ordering::Relaxed), 3);
    for i in 0..25u32 {
        let repo = format!("org{}/m{i}", i % 5);
        let doc = wait_done(&http, &format!("{base}/v1/repos/{repo}/revisions/main")).await;
        let f = by_path(&doc);
        assert_eq!(f["model.pkl"]["status"], "safe", "{doc:#}");
        assert_eq!(f.len(), if i == 13 { 3 } else { 2 });
        if i == 13 {
            assert_eq!(f["evil.pkl"]["status"], "unsafe");
        }
    }
    // 25 own configs + one shared base + one malicious file: 27 distinct blobs downloaded.
    let scans: i64 = sqlx::query("SELECT COUNT(*) FROM results")
        .fetch_one(svc.ctx.store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(scans, 27);
    // A re-crawl: every head is known.
    let r: Value = admin_post(
        &http,
        &format!("{base}/v1/crawls"),
        Some(json!({"hub": "hf", "repoType": "model"})),
    )
    .await;
    let link = format!("{base}{}", r["links"]["self"].as_str().unwrap());
    let c = wait_for(&http, &link, |c| c["state"] != "running").await;
    assert_eq!(c["reposSkipped"], 25, "{c:#}");
    assert_eq!(c["reposEnqueued"], 0, "{c:#}");
    let all: Value = get(&http, &format!("{base}/v1/crawls")).await;
    assert_eq!(all["crawls"].as_array().unwrap().len(), 2);
    // Counters maintained by triggers equal a count of the table.
    let counted = svc.ctx.store.counted().await.unwrap();
    let real = svc.ctx.store.job_status_counts().await.unwrap();
    for (st, n) in &counted {
        let want = real.iter().find(|(s, _)| s == st).map_or(0, |(_, n)| *n);
        assert_eq!(*n, want, "{st}: counters {counted:?}, table {real:?}");
    }
    svc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crawl_lists_every_repository_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    crawl(sqlite(&dir)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crawl_lists_every_repository_postgres() {
    let Some(pg) = pg_db().await else { return };
    crawl(pg.url.clone()).await;
    pg.drop_db().await;
}

/// Result pages are keyset-paginated: `links.next` walks every file once, the summary counts
/// cover the whole revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn result_pages_are_paginated() {
    let mut repos = HashMap::new();
    let mut files: Vec<HubFile> = (0..23u32)
        .map(|i| file(&format!("f{i:02}.pkl"), pickle(i)))
        .collect();
    files.push(file("zz/evil.pkl", evil()));
    repos.insert("acme/p".to_string(), files);
    let hub = fake_hub_with(vec![], repos, 100).await;
    let dir = tempfile::tempdir().unwrap();
    let svc = start(Config {
        page_size: 5,
        ..config(sqlite(&dir), &hub)
    })
    .await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let sha = "6".repeat(40);
    post_hf(&http, &base, SECRET, webhook("acme/p", &sha).to_string()).await;
    let first = wait_done(&http, &format!("{base}/v1/repos/acme/p/revisions/{sha}")).await;
    assert_eq!(first["status"], "unsafe");
    assert_eq!(first["counts"]["safe"], 23);
    assert_eq!(first["filesWithIssues"][0]["path"], "zz/evil.pkl");
    let mut seen = vec![];
    let mut doc = first;
    loop {
        let files = doc["files"].as_array().unwrap();
        assert!(files.len() <= 5);
        seen.extend(
            files
                .iter()
                .map(|f| f["path"].as_str().unwrap().to_string()),
        );
        match doc["links"]["next"].as_str() {
            Some(next) => doc = get(&http, &format!("{base}{next}")).await,
            None => break,
        }
    }
    assert_eq!(seen.len(), 24);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen);
    let one = get(
        &http,
        &format!("{base}/v1/repos/acme/p/revisions/{sha}/files/zz/evil.pkl"),
    )
    .await;
    assert_eq!(one["status"], "unsafe");
    let page = http
        .get(format!("{base}/repos/acme/p"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=unsafe-banner") && page.contains("id=next-page"));
    svc.shutdown().await;
}

/// The crawler on Gitea: repository search pages, one commit request per repository for its
/// head, the tree and media APIs for the files.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crawl_gitea() {
    let mut repos = HashMap::new();
    for i in 0..7u32 {
        let mut files = vec![file("w.pkl", pickle(5000))];
        if i == 3 {
            files.push(file("evil.pkl", evil()));
        }
        repos.insert(format!("team/r{i}"), files);
    }
    let hub = fake_hub_with(vec![], repos, 100).await;
    let dir = tempfile::tempdir().unwrap();
    let svc = start(Config {
        crawl_page_size: 3,
        gitea_endpoint: Some(hub.base.clone()),
        ..config(sqlite(&dir), &hub)
    })
    .await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let r: Value = admin_post(
        &http,
        &format!("{base}/v1/crawls"),
        Some(json!({"hub": "gitea"})),
    )
    .await;
    let link = format!("{base}{}", r["links"]["self"].as_str().unwrap());
    let c = wait_for(&http, &link, |c| c["state"] != "running").await;
    assert_eq!(c["state"], "done", "{c:#}");
    assert_eq!(c["reposListed"], 7, "{c:#}");
    assert_eq!(c["reposEnqueued"], 7, "{c:#}");
    let doc = wait_done(
        &http,
        &format!("{base}/v1/repos/gitea/team/r3/revisions/main"),
    )
    .await;
    assert_eq!(by_path(&doc)["evil.pkl"]["status"], "unsafe", "{doc:#}");
    assert_eq!(by_path(&doc)["w.pkl"]["status"], "safe", "{doc:#}");
    svc.shutdown().await;
}

/// Each file of `doc` (evil.pkl, ok.pkl) has the verdict the CLI's scanner gives the same
/// bytes under the policy file at `policy_path`, and is not stale.
fn assert_verdicts_as_cli(doc: &Value, policy_path: &std::path::Path) {
    let file_policy = modelguard::config::Config::load(policy_path)
        .unwrap()
        .policy(policy_path.parent());
    let cli = modelguard::Scanner {
        hash: modelguard::HashMode::Never,
        ..modelguard::Scanner::new(test_limits(), file_policy)
    };
    for (path, data) in [("evil.pkl", evil()), ("ok.pkl", pickle(3))] {
        let want = modelguard_server::status::of_report(&cli.scan_bytes(path, &data));
        let f = &by_path(doc)[path];
        assert_eq!(f["status"], want, "{path}: {doc:#}");
        assert_eq!(f["stale"], false, "{path}: {doc:#}");
    }
}

/// Re-judging without re-downloading: after a severity change in the policy file named by
/// `policy`, `POST /v1/rescans` gives every stored blob the verdict the CLI's scanner gives
/// under that policy, with no byte fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn policy_change_rejudges_without_fetching() {
    let mut repos = HashMap::new();
    repos.insert(
        "acme/j".to_string(),
        vec![file("evil.pkl", evil()), file("ok.pkl", pickle(3))],
    );
    let hub = fake_hub_with(vec![], repos, 10).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(sqlite(&dir), &hub);
    let svc = start(cfg.clone()).await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let sha = "8".repeat(40);
    post_hf(&http, &base, SECRET, webhook("acme/j", &sha).to_string()).await;
    let url = format!("{base}/v1/repos/acme/j/revisions/{sha}");
    let doc = wait_done(&http, &url).await;
    assert_eq!(by_path(&doc)["evil.pkl"]["status"], "unsafe");
    svc.shutdown().await;
    let fetched = hub.stats.bytes.load(Ordering::Relaxed);

    let policy_path = dir.path().join("modelguard.toml");
    std::fs::write(
        &policy_path,
        "[rules.severity]\n\"MG-PKL-PROC\" = \"low\"\n",
    )
    .unwrap();
    let svc = start(Config {
        policy: Some(policy_path.clone()),
        ..cfg
    })
    .await;
    let base = format!("http://{}", svc.addr);
    let url = format!("{base}/v1/repos/acme/j/revisions/{sha}");
    let doc = get(&http, &url).await;
    assert_eq!(by_path(&doc)["evil.pkl"]["stale"], true, "{doc:#}");
    let r: Value = admin_post(&http, &format!("{base}/v1/rescans"), None).await;
    assert_eq!(r["rejudged"], 2, "{r:#}");
    assert_eq!(r["needFetch"], 0, "{r:#}");
    assert_eq!(
        hub.stats.bytes.load(Ordering::Relaxed),
        fetched,
        "no byte fetched"
    );
    let doc = get(&http, &url).await;
    assert_verdicts_as_cli(&doc, &policy_path);
    assert_ne!(by_path(&doc)["evil.pkl"]["status"], "unsafe", "{doc:#}");
    svc.shutdown().await;

    // The analysis is the readers' facts, with no policy in it: `strict` and the allowlist
    // are re-judged without the bytes too.
    std::fs::write(
        &policy_path,
        "strict = true\n[allow]\nglobals = [\"builtins:*\"]\n",
    )
    .unwrap();
    let svc = start(Config {
        policy: Some(policy_path.clone()),
        ..config(sqlite(&dir), &hub)
    })
    .await;
    let base = format!("http://{}", svc.addr);
    let url = format!("{base}/v1/repos/acme/j/revisions/{sha}");
    let r: Value = admin_post(&http, &format!("{base}/v1/rescans"), None).await;
    assert_eq!(r["rejudged"], 2, "{r:#}");
    assert_eq!(r["needFetch"], 0, "{r:#}");
    assert_eq!(hub.stats.bytes.load(Ordering::Relaxed), fetched);
    let doc = get(&http, &url).await;
    assert_verdicts_as_cli(&doc, &policy_path);
    assert_eq!(by_path(&doc)["evil.pkl"]["status"], "unsafe", "{doc:#}");
    svc.shutdown().await;
}

/// Timing (ignored; `cargo test --release -p modelguard-server --test hubscale -- --ignored
/// rejudge_10k --nocapture`): 10,000 stored blobs re-judged after a severity change, on
/// SQLite and on PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "timing: run by hand"]
async fn rejudge_10k_stored_blobs() {
    let dir = tempfile::tempdir().unwrap();
    rejudge_many(sqlite(&dir), &dir, 10_000).await;
    if let Some(pg) = pg_db().await {
        rejudge_many(pg.url.clone(), &dir, 10_000).await;
        pg.drop_db().await;
    }
}

async fn rejudge_many(db: String, dir: &tempfile::TempDir, n: u32) {
    use modelguard_server::store::files::FileIn;
    let hub = fake_hub(vec![]).await;
    let cfg = config(db, &hub);
    let svc = start(Config {
        workers: 0,
        role: modelguard_server::Role::Api,
        ..cfg.clone()
    })
    .await;
    let store = svc.ctx.store.clone();
    let (analyser, policy) = svc.ctx.cache_key();
    let extractor = svc.ctx.extractor.clone();
    let scanner = svc.ctx.scanner.clone();
    let mut files = Vec::new();
    for i in 0..n {
        let data = if i % 100 == 0 { evil() } else { pickle(i) };
        let sha = format!("{i:064x}");
        let src = modelguard::source::Bytes(&data);
        let mut analysis = scanner.analyze_source(&format!("f{i}.pkl"), &src);
        analysis.sha256 = Some(sha.clone());
        let json = serde_json::to_vec(&analysis).unwrap();
        let report = analysis.judge(&scanner.policy);
        store.put_analysis(&sha, &extractor, &json).await.unwrap();
        let st = modelguard_server::status::of_report(&report);
        store
            .put_result(&modelguard_server::store::ResultRow {
                sha256: sha.clone(),
                analyser: analyser.clone(),
                policy: policy.clone(),
                status: st.into(),
                report: serde_json::to_string(&report).unwrap(),
                scanned_at: 0,
            })
            .await
            .unwrap();
        files.push(FileIn {
            path: format!("f{i:05}.pkl"),
            sha256: Some(sha),
            size: data.len() as i64,
        });
    }
    store
        .upsert_revision("bench/x", &"c".repeat(40), "")
        .await
        .unwrap();
    store
        .upsert_files("bench/x", &"c".repeat(40), &files)
        .await
        .unwrap();
    let statuses: Vec<(String, String)> = files
        .iter()
        .map(|f| (f.sha256.clone().unwrap(), "safe".to_string()))
        .collect();
    let pairs: Vec<(&str, &str)> = statuses
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    store
        .set_statuses_in_revision("bench/x", &"c".repeat(40), &pairs)
        .await
        .unwrap();
    svc.shutdown().await;
    let policy_path = dir.path().join("bench-policy.toml");
    std::fs::write(
        &policy_path,
        "[rules.severity]\n\"MG-PKL-PROC\" = \"low\"\n",
    )
    .unwrap();
    let svc = start(Config {
        workers: 0,
        role: modelguard_server::Role::Api,
        policy: Some(policy_path),
        ..cfg
    })
    .await;
    let base = format!("http://{}", svc.addr);
    let t0 = Instant::now();
    let r: Value = reqwest::Client::new()
        .post(format!("{base}/v1/rescans"))
        .bearer_auth(ADMIN)
        .timeout(Duration::from_secs(3600))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let took = t0.elapsed();
    println!(
        "{}: {n} stored blobs re-judged in {took:.2?} ({:.0} blobs/s), 0 bytes fetched: {r}",
        svc.ctx.store.dialect().name(),
        f64::from(n) / took.as_secs_f64()
    );
    assert_eq!(r["rejudged"], n);
    assert_eq!(r["needFetch"], 0);
    assert_eq!(hub.stats.bytes.load(Ordering::Relaxed), 0);
    svc.shutdown().await;
}

/// `stale_blobs` pages by hash: every stale blob once, its best occurrence (one that did not
/// fail to fetch) chosen even when the page boundary falls inside its rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_blobs_are_paged_by_hash() {
    use modelguard_server::store::files::FileIn;
    let dir = tempfile::tempdir().unwrap();
    let store = modelguard_server::store::Store::connect(&sqlite(&dir))
        .await
        .unwrap();
    let rev = "d".repeat(40);
    for repo in ["a/x", "b/x", "c/x"] {
        let files: Vec<FileIn> = (0..5u32)
            .map(|i| FileIn {
                path: format!("f{i}"),
                sha256: Some(format!("{i:064x}")),
                size: 1,
            })
            .collect();
        store.upsert_files(repo, &rev, &files).await.unwrap();
    }
    for i in 0..5u32 {
        store
            .set_status_by_sha(&format!("{i:064x}"), "safe")
            .await
            .unwrap();
    }
    // The first copy (by repository name) of every blob failed to fetch.
    for i in 0..5u32 {
        store
            .occurrence_failed("a/x", &rev, &format!("f{i}"), "HTTP 403")
            .await
            .unwrap();
    }
    let mut after = String::new();
    let mut seen = vec![];
    loop {
        let page = store.stale_blobs("v", "p", &after, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.3.clone();
        for (repo, _, _, sha, _) in page {
            assert_ne!(repo, "a/x", "a copy that failed was chosen for {sha}");
            seen.push(sha);
        }
    }
    let want: Vec<String> = (0..5u32).map(|i| format!("{i:064x}")).collect();
    assert_eq!(seen, want);
}
