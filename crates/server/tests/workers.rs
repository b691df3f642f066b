//! Several worker processes on one PostgreSQL: one is killed (SIGKILL) while it holds a
//! scan job; after the lease expires another process completes the job; nothing is lost,
//! every distinct blob is scanned once, and a SIGTERM shuts a worker down cleanly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use modelguard_server::Config;
use sqlx::Row;

fn pickle(n: u8) -> Vec<u8> {
    // Protocol 2 `{"v": n}`: benign, distinct per n.
    vec![
        0x80, 0x02, b'}', b'q', 0, b'X', 1, 0, 0, 0, b'v', b'K', n, b's', b'.',
    ]
}

fn spawn_worker(dir: &std::path::Path, name: &str, db: &str, hub: &str) -> Child {
    spawn_worker_with(dir, name, db, hub, "")
}

fn spawn_worker_with(dir: &std::path::Path, name: &str, db: &str, hub: &str, extra: &str) -> Child {
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "listen = \"127.0.0.1:0\"\ndb = \"{db}\"\nrole = \"worker\"\nworkers = 1\n\
             hf_endpoint = \"{hub}\"\nlease_secs = 3\nshutdown_grace_secs = 5\nhttp_retries = 1\n\
             {extra}"
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    Command::new(env!("CARGO_BIN_EXE_modelguard-server"))
        .arg("--config")
        .arg(&cfg)
        .env("MODELGUARD_LOG", "info")
        .env_remove("HF_ENDPOINT")
        .env_remove("HF_TOKEN")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// The running scan job held by a process, if any.
async fn held_by(pool: &sqlx::AnyPool, pid: u32) -> Option<i64> {
    let rows =
        sqlx::query("SELECT id, worker FROM jobs WHERE status = 'running' AND kind = 'scan'")
            .fetch_all(pool)
            .await
            .unwrap();
    rows.iter().find_map(|r| {
        let w: String = r.try_get(1).unwrap();
        (w.split(':').nth(1) == Some(&pid.to_string())).then(|| r.try_get::<i64, _>(0).unwrap())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_worker_process_job_completed_by_another() {
    let Some(pg) = pg_db().await else { return };
    let files: Vec<HubFile> = (0..6)
        .map(|i| HubFile {
            path: format!("f{i}.pkl"),
            data: pickle(i),
            lfs: true,
        })
        .collect();
    let hub = fake_hub(files).await;
    // Every download takes 1.5 s, so a worker is caught holding a job.
    hub.delay_ms.store(1500, Ordering::Relaxed);
    let api = modelguard_server::start_with_poll(
        Config {
            role: modelguard_server::Role::Api,
            ..config(pg.url.clone(), &hub)
        },
        Duration::from_millis(50),
    )
    .await
    .unwrap();
    let pool = api.ctx.store.pool().clone();
    let base = format!("http://{}", api.addr);
    let http = reqwest::Client::new();
    let sha = "2222222222222222222222222222222222222222";
    assert_eq!(
        post_hf(&http, &base, SECRET, webhook("acme/procs", sha).to_string())
            .await
            .status(),
        202
    );

    let dir = tempfile::tempdir().unwrap();
    let mut a = spawn_worker(dir.path(), "a", &pg.url, &hub.base);
    let t0 = Instant::now();
    let victim = loop {
        if let Some(id) = held_by(&pool, a.id()).await {
            break id;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "worker A never claimed a scan"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    a.kill().unwrap(); // SIGKILL: no lease release.
    a.wait().unwrap();
    let b = spawn_worker(dir.path(), "b", &pg.url, &hub.base);
    let c = spawn_worker(dir.path(), "c", &pg.url, &hub.base);

    let doc = wait_done(
        &http,
        &format!("{base}/v1/repos/acme/procs/revisions/{sha}"),
    )
    .await;
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 6);
    assert!(files.iter().all(|f| f["status"] == "safe"), "{doc:#}");

    // The victim job: claimed twice (A, then B or C after the lease expired), done.
    let row = sqlx::query("SELECT status, attempts, worker FROM jobs WHERE id = $1")
        .bind(victim)
        .fetch_one(&pool)
        .await
        .unwrap();
    let status: String = row.try_get(0).unwrap();
    let attempts: i64 = row.try_get(1).unwrap();
    let worker: String = row.try_get(2).unwrap();
    assert_eq!(status, "done");
    assert_eq!(attempts, 2);
    assert_ne!(worker.split(':').nth(1), Some(a.id().to_string().as_str()));
    // Nothing lost, nothing left, every blob scanned once.
    let counts: HashMap<String, i64> = api
        .ctx
        .store
        .job_status_counts()
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(counts.get("done"), Some(&7), "{counts:?}");
    assert_eq!(counts.len(), 1, "{counts:?}");
    let scans: i64 = sqlx::query("SELECT COUNT(*) FROM results")
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(scans, 6);

    // SIGTERM: a graceful exit (status 0).
    for mut child in [b, c] {
        let pid = child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let t = Instant::now();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                assert!(st.success(), "worker exit {st:?}");
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(20), "worker did not stop");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    api.shutdown().await;
    pg.drop_db().await;
}

/// A crawl whose worker process is SIGKILLed mid-crawl: another process resumes from the
/// stored cursor (the listing is not restarted from its first page), every repository is
/// enqueued once and every file gets its result.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_crawl_resumes_from_its_cursor() {
    let Some(pg) = pg_db().await else { return };
    let mut repos = HashMap::new();
    for i in 0..30u8 {
        repos.insert(
            format!("org/m{i:02}"),
            vec![HubFile {
                path: "w.pkl".into(),
                data: pickle(i % 3),
                lfs: true,
            }],
        );
    }
    let hub = fake_hub_with(vec![], repos, 10).await;
    // Each listing page takes 400 ms: the worker is caught in the middle of the crawl.
    hub.listing_delay_ms.store(400, Ordering::Relaxed);
    let api = modelguard_server::start_with_poll(
        Config {
            role: modelguard_server::Role::Api,
            ..config(pg.url.clone(), &hub)
        },
        Duration::from_millis(50),
    )
    .await
    .unwrap();
    let base = format!("http://{}", api.addr);
    let http = reqwest::Client::new();
    let dir = tempfile::tempdir().unwrap();
    let extra = "crawl_page_size = 5\ncrawl_pages_per_job = 100\nhub_api_requests_per_sec = 0\n";
    let mut a = spawn_worker_with(dir.path(), "a", &pg.url, &hub.base, extra);
    let r: serde_json::Value = http
        .post(format!("{base}/v1/crawls"))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({"hub": "hf", "repoType": "model"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = format!("{base}{}", r["links"]["self"].as_str().unwrap());
    let t0 = Instant::now();
    loop {
        let c: serde_json::Value = http.get(&link).send().await.unwrap().json().await.unwrap();
        if c["pages"].as_i64().unwrap() >= 2 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "{c:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.kill().unwrap();
    a.wait().unwrap();
    let mut b = spawn_worker_with(dir.path(), "b", &pg.url, &hub.base, extra);
    let t0 = Instant::now();
    let c = loop {
        let c: serde_json::Value = http.get(&link).send().await.unwrap().json().await.unwrap();
        if c["state"] != "running" {
            break c;
        }
        assert!(t0.elapsed() < Duration::from_secs(90), "{c:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(c["state"], "done", "{c:#}");
    assert_eq!(c["pages"], 6, "{c:#}");
    assert_eq!(c["reposListed"], 30, "{c:#}");
    assert_eq!(c["reposEnqueued"], 30, "{c:#}");
    // Six pages, plus at most the one being read when the worker died.
    let requested = hub.stats.listing_pages.load(Ordering::Relaxed);
    assert!(
        (6..=7).contains(&requested),
        "{requested} listing pages requested"
    );
    for i in 0..30u8 {
        wait_done(
            &http,
            &format!("{base}/v1/repos/org/m{i:02}/revisions/main"),
        )
        .await;
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(b.id().to_string())
        .status();
    b.wait().unwrap();
    api.shutdown().await;
    pg.drop_db().await;
}
