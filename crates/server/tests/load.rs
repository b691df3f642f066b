//! Load benchmark (ignored by default; `bench/service_load.sh` runs it in release mode):
//! `MG_LOAD_FILES` pushed files (default 10,000) in repositories of 100 files, 90 % of them
//! duplicate content, through webhook → queue → fetch → scan → store on SQLite (or
//! PostgreSQL with `MG_LOAD_DB=postgres`). Prints files/s, p50/p99 time from webhook to
//! result, and the cache hit rate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use modelguard_server::Config;
use sqlx::Row;

/// A small benign pickle made distinct by an integer (protocol 2 dict `{"v": n}`).
fn pickle(n: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0x02, b'}', b'q', 0, b'X', 1, 0, 0, 0, b'v', b'J'];
    p.extend_from_slice(&n.to_le_bytes());
    p.extend_from_slice(b"s.");
    p
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "load benchmark: bench/service_load.sh"]
async fn load_10k_files_90_percent_duplicates() {
    let total: usize = std::env::var("MG_LOAD_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let per_repo = 100;
    let distinct = (total / 10).max(1);
    let mut repos = HashMap::new();
    for r in 0..total.div_ceil(per_repo) {
        let files: Vec<HubFile> = (0..per_repo)
            .map(|i| r * per_repo + i)
            .filter(|k| *k < total)
            .map(|k| {
                let content = u32::try_from(k % distinct).unwrap();
                HubFile {
                    path: format!("shard-{k}.pkl"),
                    data: pickle(content),
                    lfs: true,
                }
            })
            .collect();
        repos.insert(format!("load/repo{r}"), files);
    }
    let n_repos = repos.len();
    let hub = fake_hub_with(vec![], repos, 1000).await;
    let dir = tempfile::tempdir().unwrap();
    let (db, pg) = if std::env::var("MG_LOAD_DB").as_deref() == Ok("postgres") {
        let pg = pg_db().await.expect("PostgreSQL");
        (pg.url.clone(), Some(pg))
    } else {
        (
            format!("sqlite://{}", dir.path().join("load.db").display()),
            None,
        )
    };
    let workers = std::env::var("MG_LOAD_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let svc = modelguard_server::start_with_poll(
        Config {
            workers,
            ..config(db, &hub)
        },
        Duration::from_millis(20),
    )
    .await
    .unwrap();
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let t0 = Instant::now();
    let mut sent = HashMap::new();
    for r in 0..n_repos {
        let sha = format!("{:040x}", r + 1);
        let repo = format!("load/repo{r}");
        let at = modelguard_server::store::now_ms();
        let resp = http
            .post(format!("{base}/webhooks/huggingface"))
            .header("X-Webhook-Secret", SECRET)
            .body(webhook(&repo, &sha).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);
        sent.insert(repo, at);
    }
    let ingest = t0.elapsed();
    let store = svc.ctx.store.clone();
    loop {
        let row = sqlx::query("SELECT COUNT(*) FROM repo_files WHERE status <> 'queued'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let done: i64 = row.try_get(0).unwrap();
        let revs = sqlx::query("SELECT COUNT(*) FROM revisions WHERE state = 'listed'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let listed: i64 = revs.try_get(0).unwrap();
        if done as usize >= total && listed as usize >= n_repos {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(1800), "stuck at {done}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let wall = t0.elapsed();
    let rows = sqlx::query("SELECT repo, updated_at, status FROM repo_files")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let mut lat: Vec<i64> = rows
        .iter()
        .map(|r| {
            let repo: String = r.try_get(0).unwrap();
            let at: i64 = r.try_get(1).unwrap();
            at - sent[&repo]
        })
        .collect();
    lat.sort_unstable();
    let errors = rows
        .iter()
        .filter(|r| r.try_get::<String, _>(2).unwrap() == "error")
        .count();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
    let m = svc.ctx.metrics.render();
    let hits = metric(&m, "modelguard_cache_hits_total");
    let misses = metric(&m, "modelguard_cache_misses_total");
    let scans = sqlx::query("SELECT COUNT(*) FROM results")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap();
    let occurrences_hit = 1.0 - scans as f64 / total as f64;
    println!(
        "load: {total} files ({distinct} distinct) in {n_repos} repos, {workers} workers, db {}\n\
         webhooks sent in {:.2}s; all results in {:.2}s: {:.0} files/s\n\
         webhook->result p50 {} ms, p99 {} ms, max {} ms\n\
         scans run {scans}; cache hit rate {:.1} % of files (job-level hits {hits}, misses {misses}); errors {errors}",
        if pg.is_some() { "postgres" } else { "sqlite" },
        ingest.as_secs_f64(),
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        lat.last().copied().unwrap_or(0),
        occurrences_hit * 100.0,
    );
    assert_eq!(errors, 0);
    assert_eq!(
        scans as usize, distinct,
        "each distinct content scanned once"
    );
    svc.shutdown().await;
    if let Some(pg) = pg {
        pg.drop_db().await;
    }
}
