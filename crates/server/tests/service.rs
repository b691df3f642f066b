//! End-to-end: a fake hub (tree listing with `Link` pagination, `resolve` with range
//! requests) serving real fixture files, the service started in-process, a Hugging Face
//! webhook, and the results checked through the JSON API, SARIF and the HTML page — on
//! SQLite and on the PostgreSQL this machine runs (127.0.0.1:5432, database `test`; each
//! run creates and drops its own database).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use modelguard_server::Config;
use serde_json::{Value, json};

/// The page in headless Chromium: DOM assertions and a screenshot in
/// `target/tmp/test-artifacts/repo-page.png`. Skipped (loudly) when Chromium is not
/// installed (`apt-get install -y chromium`).
async fn check_in_browser(url: &str) {
    let Some(bin) = chromium() else {
        eprintln!("SKIPPED browser check: chromium not installed");
        return;
    };
    let dom = browser(bin.clone(), url.to_string(), None).await;
    assert!(dom.contains("id=\"unsafe-banner\""), "{dom}");
    assert!(
        dom.contains("data-path=\"danger.dat\" data-status=\"unsafe\""),
        "{dom}"
    );
    assert!(
        dom.contains("data-path=\"evil.pkl\" data-status=\"unsafe\""),
        "{dom}"
    );
    assert!(
        dom.contains("data-path=\"pytorch_model.bin\" data-status=\"safe\""),
        "{dom}"
    );
    assert!(dom.contains("class=\"imp dangerous\""), "{dom}");
    // The escaped README content never became markup.
    assert!(!dom.contains("<script>alert"), "{dom}");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("repo-page.png");
    let _ = std::fs::remove_file(&shot);
    browser(bin, url.to_string(), Some(shot.clone())).await;
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 5000,
        "screenshot"
    );
}

async fn scenario(db: String, browser_check: bool) {
    let files = fixture_files();
    let expected: Vec<(String, &str)> = files
        .iter()
        .map(|f| (f.path.clone(), expected_status(&f.path, &f.data)))
        .collect();
    let big_size = files[1].data.len() as u64;
    let hub = fake_hub(files).await;
    let svc = start(config(db, &hub)).await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let sha1 = "575db8b7a51b6f85eb06eee540738584589f131c";

    // Authentication of the webhook.
    let body = webhook("acme/demo", sha1).to_string();
    assert_eq!(
        post_hf(&http, &base, "wrong", body.clone()).await.status(),
        401
    );

    let t0 = Instant::now();
    let r = post_hf(&http, &base, SECRET, body.clone()).await;
    assert_eq!(r.status(), 202);
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "webhook must answer at once"
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["revisions"], json!([sha1]));
    // The same delivery again is absorbed.
    let r = post_hf(&http, &base, SECRET, body).await;
    assert_eq!(r.status(), 202);
    assert_eq!(r.json::<Value>().await.unwrap()["duplicate"], true);

    let doc = wait_done(
        &http,
        &format!("{base}/v1/repos/acme/demo/revisions/{sha1}"),
    )
    .await;
    let by_path: HashMap<String, Value> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f.clone()))
        .collect();
    assert_eq!(by_path.len(), 6, "{doc:#}");
    for (path, want) in &expected {
        assert_eq!(
            by_path[path]["status"], *want,
            "{path}: {:#}",
            by_path[path]
        );
    }
    assert_eq!(by_path["evil.pkl"]["status"], "unsafe");
    assert_eq!(by_path["pytorch_model.bin"]["status"], "safe");
    assert_eq!(by_path["big/model.pt"]["status"], "safe");
    let imports = &by_path["evil.pkl"]["securityFileStatus"]["pickleImportScan"]["pickleImports"];
    assert!(
        imports
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["safety"] == "dangerous"),
        "{imports:#}"
    );
    let issues: Vec<&str> = doc["filesWithIssues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert!(issues.contains(&"evil.pkl"));
    assert_eq!(doc["status"], "unsafe");
    assert_eq!(doc["securityRepoStatus"]["scansDone"], true);
    // The EICAR test string: the bundled signature rules make it unsafe.
    assert_eq!(by_path["danger.dat"]["status"], "unsafe");

    // Range reads: the 600 KB checkpoint was not downloaded whole.
    let fetched = hub.stats.bytes.load(Ordering::Relaxed);
    assert!(hub.stats.range_requests.load(Ordering::Relaxed) > 0);
    assert!(
        fetched < big_size / 20,
        "fetched {fetched} bytes in total for a {big_size}-byte checkpoint"
    );
    println!("fetched {fetched} bytes for a push including a {big_size}-byte checkpoint");
    assert!(
        hub.stats.tree_pages.load(Ordering::Relaxed) >= 3,
        "pagination followed"
    );

    // A ref name resolves to its revision.
    let r = http
        .get(format!("{base}/v1/repos/acme/demo/revisions/main"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["revision"], sha1);

    // Per blob, with every occurrence (the duplicate content appears twice).
    let bench_sha = by_path["pytorch_model.bin"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let b: Value = http
        .get(format!("{base}/v1/blobs/sha256/{bench_sha}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(b["results"].as_array().unwrap().len(), 1);
    assert_eq!(b["occurrences"].as_array().unwrap().len(), 2);
    assert_eq!(b["results"][0]["status"], "safe");

    // One file with its full report.
    let f: Value = http
        .get(format!(
            "{base}/v1/repos/acme/demo/revisions/main/files/evil.pkl"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(f["status"], "unsafe");
    assert_eq!(f["report"]["verdict"], "malicious");
    assert_eq!(f["report"]["findings"][0]["rule"], "MG-PKL-PROC");

    // SARIF.
    let s: Value = http
        .get(format!(
            "{base}/v1/repos/acme/demo/revisions/{sha1}?format=sarif"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["version"], "2.1.0");
    assert!(
        s["runs"][0]["results"].as_array().unwrap().iter().any(
            |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "evil.pkl"
        )
    );

    // The page: every file with its badge, the banner, escaped names.
    let page = http
        .get(format!("{base}/repos/acme/demo"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=unsafe-banner"));
    assert!(page.contains("data-path=\"evil.pkl\" data-status=\"unsafe\""));
    assert!(page.contains("class=\"imp dangerous\""));
    assert!(page.contains(sha1));
    for (path, want) in &expected {
        assert!(
            page.contains(&format!("data-path=\"{path}\" data-status=\"{want}\"")),
            "{path}"
        );
    }
    assert!(!page.contains("<script>"));
    if browser_check {
        check_in_browser(&format!("{base}/repos/acme/demo")).await;
    }

    // Admin submission of an uploaded file, and a URL list.
    let r = http
        .post(format!("{base}/v1/scans?name=x.pkl"))
        .body(b"cos\nsystem\n(S'echo modelguard-test'\ntR.".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r: Value = http
        .post(format!("{base}/v1/scans?name=x.pkl"))
        .bearer_auth(ADMIN)
        .body(b"cos\nsystem\n(S'echo modelguard-test'\ntR.".to_vec())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let up = wait_done(
        &http,
        &format!("{base}{}", r["links"]["results"].as_str().unwrap()),
    )
    .await;
    assert_eq!(up["files"][0]["status"], "unsafe");
    let r: Value = http
        .post(format!("{base}/v1/scans"))
        .bearer_auth(ADMIN)
        .json(&json!({"urls": [format!("{}/acme/demo/resolve/{sha1}/evil.pkl", hub.base)]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let urls = wait_done(
        &http,
        &format!("{base}{}", r["links"]["results"].as_str().unwrap()),
    )
    .await;
    assert_eq!(urls["files"][0]["status"], "unsafe");

    // Metrics.
    let m = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("modelguard_queue_depth"), "{m}");
    assert!(m.contains("modelguard_scans_total"), "{m}");
    assert!(m.contains("modelguard_bytes_fetched_total"), "{m}");
    assert!(m.contains("modelguard_job_seconds"), "{m}");
    assert!(m.contains("modelguard_oldest_job_age_seconds"), "{m}");
    assert!(m.contains("modelguard_cache_hits_total"), "{m}");
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    svc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hub_push_end_to_end_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("mg.db").display());
    scenario(db, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hub_push_end_to_end_postgres() {
    let Some(pg) = pg_db().await else { return };
    scenario(pg.url.clone(), false).await;
    pg.drop_db().await;
}

/// A worker that dies holding a lease: after the lease expires another worker claims the
/// job and completes it; the dead worker's late completion is ignored; nothing is lost.
async fn lease_scenario(db: String) {
    let files = fixture_files();
    let hub = fake_hub(files).await;
    let mut cfg = config(db.clone(), &hub);
    cfg.lease_secs = 2;
    // An API-only process stores the webhook; no workers yet.
    let api = start(Config {
        role: modelguard_server::Role::Api,
        ..cfg.clone()
    })
    .await;
    let base = format!("http://{}", api.addr);
    let http = reqwest::Client::new();
    let sha1 = "1111111111111111111111111111111111111111";
    assert_eq!(
        post_hf(
            &http,
            &base,
            SECRET,
            webhook("acme/lease", sha1).to_string()
        )
        .await
        .status(),
        202
    );
    // "Worker A" claims the listing job and dies (never renews, never completes).
    let store = api.ctx.store.clone();
    let job = store.claim("dead-worker", 2000).await.unwrap().unwrap();
    assert_eq!(job.kind, "list");
    // Nothing else is runnable while the lease is live.
    assert!(store.claim("other", 2000).await.unwrap().is_none());
    // Worker B (its own process role) picks the job up once the lease expires.
    let worker = start(Config {
        role: modelguard_server::Role::Worker,
        ..cfg.clone()
    })
    .await;
    let doc = wait_done(
        &http,
        &format!("{base}/v1/repos/acme/lease/revisions/{sha1}"),
    )
    .await;
    assert_eq!(doc["files"].as_array().unwrap().len(), 6);
    // The dead worker's completion after losing the lease changes nothing.
    store.complete(job.id, "dead-worker").await.unwrap();
    let counts: HashMap<String, i64> = store
        .job_status_counts()
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(counts.get("queued"), None, "{counts:?}");
    assert_eq!(counts.get("running"), None, "{counts:?}");
    assert_eq!(counts.get("quarantined"), None, "{counts:?}");
    // The listing ran twice at most (attempts 2), each blob was scanned once.
    let row: (i64,) = sqlx::query_as("SELECT attempts FROM jobs WHERE id = $1")
        .bind(job.id)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(row.0, 2);
    worker.shutdown().await;
    api.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lease_expiry_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    lease_scenario(format!("sqlite://{}", dir.path().join("mg.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lease_expiry_postgres() {
    let Some(pg) = pg_db().await else { return };
    lease_scenario(pg.url.clone()).await;
    pg.drop_db().await;
}

/// Poison jobs: a file whose download always fails ends `error` after bounded retries and
/// it is not retried; nothing stays `queued`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_download_is_quarantined_and_shown_as_error() {
    let dir = tempfile::tempdir().unwrap();
    let hub = fake_hub(vec![]).await;
    let mut cfg = config(
        format!("sqlite://{}", dir.path().join("mg.db").display()),
        &hub,
    );
    cfg.max_attempts = 2;
    cfg.http_retries = 0;
    let svc = start(cfg).await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let r: Value = http
        .post(format!("{base}/v1/scans"))
        .bearer_auth(ADMIN)
        .json(&json!({"urls": [format!("{}/nope/nope/resolve/x/missing.bin", hub.base)]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let doc = wait_done(
        &http,
        &format!("{base}{}", r["links"]["results"].as_str().unwrap()),
    )
    .await;
    assert_eq!(doc["files"][0]["status"], "error");
    assert_eq!(doc["status"], "error");
    // A 404 is this occurrence's permanent error: not retried, nothing left waiting.
    assert!(
        doc["files"][0]["error"].as_str().unwrap().contains("404"),
        "{doc:#}"
    );
    let counts: HashMap<String, i64> = svc
        .ctx
        .store
        .job_status_counts()
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(counts.get("queued"), None, "{counts:?}");
    assert_eq!(counts.get("running"), None, "{counts:?}");
    svc.shutdown().await;
}

/// Gitea/Forgejo push: HMAC-SHA256 signature over the body, tree listing through Gitea's
/// API (no LFS hashes: every file hashed after download), `media` downloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gitea_push_end_to_end_sqlite() {
    use hmac::{KeyInit, Mac};
    let files: Vec<HubFile> = fixture_files()
        .into_iter()
        .filter(|f| f.path != "big/model.pt")
        .collect();
    let expected: Vec<(String, &str)> = files
        .iter()
        .map(|f| (f.path.clone(), expected_status(&f.path, &f.data)))
        .collect();
    let hub = fake_hub(files).await;
    let dir = tempfile::tempdir().unwrap();
    let svc = start(Config {
        gitea_webhook_secret: Some("gsecret".into()),
        gitea_endpoint: Some(hub.base.clone()),
        ..config(
            format!("sqlite://{}", dir.path().join("mg.db").display()),
            &hub,
        )
    })
    .await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let after = "3333333333333333333333333333333333333333";
    let body = json!({
        "ref": "refs/heads/main",
        "before": "0000000000000000000000000000000000000000",
        "after": after,
        "commits": [],
        "repository": {"full_name": "acme/g"},
    })
    .to_string();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"gsecret").unwrap();
    mac.update(body.as_bytes());
    let sig: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let bad = http
        .post(format!("{base}/webhooks/gitea"))
        .header("X-Gitea-Signature", "00".repeat(32))
        .header("X-Gitea-Event", "push")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let ok = http
        .post(format!("{base}/webhooks/gitea"))
        .header("X-Forgejo-Signature", sig)
        .header("X-Forgejo-Event", "push")
        .header("X-Forgejo-Delivery", "d-1")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 202);
    let doc = wait_done(
        &http,
        &format!("{base}/v1/repos/gitea/acme/g/revisions/{after}"),
    )
    .await;
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), expected.len(), "{doc:#}");
    for (path, want) in &expected {
        let f = files.iter().find(|f| f["path"] == *path.as_str()).unwrap();
        assert_eq!(f["status"], *want, "{path}");
        // Small files are downloaded whole and hashed; larger ones are range-read and,
        // with no announced hash, keyed per occurrence.
        let key = f["sha256"].as_str().unwrap();
        assert!(key.len() == 64 || key.starts_with("unhashed-"), "{f:#}");
    }
    svc.shutdown().await;
}

/// A policy (limits) change: old verdicts are shown as stale, `POST /v1/rescans` rescans
/// each blob once in the rescan lane, and every occurrence gets the new verdict.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rescan_after_policy_change_sqlite() {
    let files: Vec<HubFile> = fixture_files()
        .into_iter()
        .filter(|f| f.path != "big/model.pt")
        .collect();
    let hub = fake_hub(files).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        format!("sqlite://{}", dir.path().join("mg.db").display()),
        &hub,
    );
    let http = reqwest::Client::new();
    let sha = "4444444444444444444444444444444444444444";
    let svc = start(cfg.clone()).await;
    let base = format!("http://{}", svc.addr);
    assert_eq!(
        post_hf(&http, &base, SECRET, webhook("acme/re", sha).to_string())
            .await
            .status(),
        202
    );
    let url = format!("{base}/v1/repos/acme/re/revisions/{sha}");
    wait_done(&http, &url).await;
    svc.shutdown().await;

    // Restart with other limits: another policy digest.
    let mut limits = test_limits();
    limits.max_signature_bytes += 1;
    let svc = start(Config { limits, ..cfg }).await;
    let base = format!("http://{}", svc.addr);
    let url = format!("{base}/v1/repos/acme/re/revisions/{sha}");
    let doc: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    let files = doc["files"].as_array().unwrap();
    assert!(files.iter().all(|f| f["stale"] == true), "{doc:#}");
    let page = http
        .get(format!("{base}/repos/acme/re"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("class=stale"));
    let r = http
        .post(format!("{base}/v1/rescans"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "admin token required");
    let r: Value = http
        .post(format!("{base}/v1/rescans"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Five files, two of them the same content: four blobs.
    assert_eq!(r["enqueued"], 4, "{r:#}");
    let t0 = Instant::now();
    loop {
        let doc: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        let files = doc["files"].as_array().unwrap();
        if files.iter().all(|f| f["stale"] == false) {
            let evil = files.iter().find(|f| f["path"] == "evil.pkl").unwrap();
            assert_eq!(evil["status"], "unsafe");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "{doc:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    svc.shutdown().await;
}

/// Lanes: strict priority by default, and a worker's share turn for a lower lane takes its
/// job even while higher lanes are full (no starvation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lanes_priority_and_shares_sqlite() {
    use modelguard_server::store::{Lane, Store};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("q.db").display()))
        .await
        .unwrap();
    for i in 0..5 {
        store
            .enqueue("noop", Lane::Push, &format!("push{i}"), None, 3)
            .await
            .unwrap();
    }
    store
        .enqueue("noop", Lane::Backlog, "backlog", None, 3)
        .await
        .unwrap();
    store
        .enqueue("noop", Lane::Api, "api", None, 3)
        .await
        .unwrap();
    store
        .enqueue("noop", Lane::Api, "dup", Some("k"), 3)
        .await
        .unwrap();
    assert!(
        !store
            .enqueue("noop", Lane::Api, "dup", Some("k"), 3)
            .await
            .unwrap()
    );
    assert_eq!(
        store.claim("w", 10_000).await.unwrap().unwrap().payload,
        "push0"
    );
    let b = store
        .claim_preferring("w", 10_000, Lane::Backlog)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.payload, "backlog");
    // Nothing in the rescan lane: its turn flows to the highest-priority lane.
    let r = store
        .claim_preferring("w", 10_000, Lane::Rescan)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.payload, "push1");
    let shares: Vec<Lane> = (0..20).map(Lane::share).collect();
    assert_eq!(shares.iter().filter(|l| **l == Lane::Push).count(), 14);
    assert_eq!(shares.iter().filter(|l| **l == Lane::Backlog).count(), 1);
    // Failures back off, then quarantine after max attempts.
    let q = store.fail(&r, "w", "boom").await.unwrap();
    assert!(!q);
    store.close().await;
}

/// 503 answers are retried with backoff (here twice, within `http_retries`), then the file
/// is scanned normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_503_is_retried() {
    let files: Vec<HubFile> = fixture_files()
        .into_iter()
        .filter(|f| f.path == "evil.pkl")
        .collect();
    let hub = fake_hub(files).await;
    hub.fail_next.store(2, Ordering::Relaxed);
    let dir = tempfile::tempdir().unwrap();
    let svc = start(Config {
        http_retries: 3,
        ..config(
            format!("sqlite://{}", dir.path().join("mg.db").display()),
            &hub,
        )
    })
    .await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let sha = "5555555555555555555555555555555555555555";
    let r = http
        .post(format!("{base}/webhooks/huggingface?secret={SECRET}"))
        .body(webhook("acme/retry", sha).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let doc = wait_done(
        &http,
        &format!("{base}/v1/repos/acme/retry/revisions/{sha}"),
    )
    .await;
    assert_eq!(doc["files"][0]["status"], "unsafe", "{doc:#}");
    assert_eq!(hub.fail_next.load(Ordering::Relaxed), 0);
    svc.shutdown().await;
}

/// Graceful shutdown with a job still running after the grace period: its lease is
/// released (back to `queued`, the attempt not counted) and the next process finishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_releases_running_jobs() {
    use sqlx::Row;
    let files: Vec<HubFile> = fixture_files()
        .into_iter()
        .filter(|f| f.path == "evil.pkl")
        .collect();
    let hub = fake_hub(files).await;
    hub.delay_ms.store(3000, Ordering::Relaxed);
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        shutdown_grace_secs: 0,
        ..config(
            format!("sqlite://{}", dir.path().join("mg.db").display()),
            &hub,
        )
    };
    let svc = start(cfg.clone()).await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let sha = "6666666666666666666666666666666666666666";
    assert_eq!(
        post_hf(&http, &base, SECRET, webhook("acme/stop", sha).to_string())
            .await
            .status(),
        202
    );
    let pool = svc.ctx.store.pool().clone();
    let t0 = Instant::now();
    loop {
        let n: i64 =
            sqlx::query("SELECT COUNT(*) FROM jobs WHERE kind = 'scan' AND status = 'running'")
                .fetch_one(&pool)
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
        if n == 1 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let store = svc.ctx.store.clone();
    svc.shutdown().await;
    drop(store);
    hub.delay_ms.store(0, Ordering::Relaxed);
    let svc = start(cfg).await;
    let row = sqlx::query("SELECT status, attempts FROM jobs WHERE kind = 'scan'")
        .fetch_one(svc.ctx.store.pool())
        .await
        .unwrap();
    let status: String = row.try_get(0).unwrap();
    let attempts: i64 = row.try_get(1).unwrap();
    // Released (or already picked up again by the new process).
    assert!(
        status == "queued" || status == "running" || status == "done",
        "{status}"
    );
    assert!(
        attempts <= 1,
        "a released attempt is not counted: {attempts}"
    );
    let base = format!("http://{}", svc.addr);
    let doc = wait_done(&http, &format!("{base}/v1/repos/acme/stop/revisions/{sha}")).await;
    assert_eq!(doc["files"][0]["status"], "unsafe");
    svc.shutdown().await;
}

/// Limits: a file above `max_file_bytes` is `error` ("too large"), never safe, and not
/// retried; a body above `max_body_bytes` is refused with 413; garbage webhook bodies are
/// 400, never a crash; without `allow_private_urls` a loopback URL is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_enforced() {
    let files: Vec<HubFile> = fixture_files()
        .into_iter()
        .filter(|f| f.path == "pytorch_model.bin" || f.path == "evil.pkl")
        .collect();
    let hub = fake_hub(files).await;
    let dir = tempfile::tempdir().unwrap();
    let svc = start(Config {
        max_file_bytes: 1000,
        max_body_bytes: 4096,
        allow_private_urls: false,
        ..config(
            format!("sqlite://{}", dir.path().join("mg.db").display()),
            &hub,
        )
    })
    .await;
    let base = format!("http://{}", svc.addr);
    let http = reqwest::Client::new();
    let sha = "7777777777777777777777777777777777777777";
    let post_hook = |body: Vec<u8>| {
        http.post(format!("{base}/webhooks/huggingface"))
            .header("X-Webhook-Secret", SECRET)
            .body(body)
            .send()
    };
    assert_eq!(post_hook(vec![b'x'; 5000]).await.unwrap().status(), 413);
    for garbage in [
        &b""[..],
        b"{",
        b"[]",
        b"{\"event\":{}}",
        b"{\"event\":{\"scope\":\"repo.content\"},\"repo\":{\"name\":\"../x\"}}",
        b"\xff\xfe",
    ] {
        assert_eq!(post_hook(garbage.to_vec()).await.unwrap().status(), 400);
    }
    let r = post_hook(webhook("acme/limits", sha).to_string().into_bytes())
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let doc = wait_done(
        &http,
        &format!("{base}/v1/repos/acme/limits/revisions/{sha}"),
    )
    .await;
    let files = doc["files"].as_array().unwrap();
    let big = files
        .iter()
        .find(|f| f["path"] == "pytorch_model.bin")
        .unwrap();
    assert_eq!(big["status"], "error", "{doc:#}");
    assert!(big["error"].as_str().unwrap().contains("too large"));
    let small = files.iter().find(|f| f["path"] == "evil.pkl").unwrap();
    assert_eq!(small["status"], "unsafe");
    // A repository submitted to the backlog lane.
    let r: Value = http
        .post(format!("{base}/v1/scans"))
        .bearer_auth(ADMIN)
        .json(&json!({"repo": "acme/limits", "revision": "main", "lane": "backlog"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let doc = wait_done(
        &http,
        &format!("{base}{}", r["links"]["results"].as_str().unwrap()),
    )
    .await;
    assert_eq!(doc["files"].as_array().unwrap().len(), 2);
    let lanes: Vec<i64> =
        sqlx::query("SELECT lane FROM jobs WHERE payload LIKE '%\"revision\":\"main\"%'")
            .fetch_all(svc.ctx.store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| sqlx::Row::try_get(r, 0).unwrap())
            .collect();
    assert!(
        !lanes.is_empty() && lanes.iter().all(|l| *l == 4),
        "{lanes:?}"
    );
    let r = http
        .post(format!("{base}/v1/scans"))
        .bearer_auth(ADMIN)
        .json(&json!({"urls": [format!("{}/acme/x/resolve/main/evil.pkl", hub.base)]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("non-public"));
    svc.shutdown().await;
}
