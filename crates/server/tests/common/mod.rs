//! Shared test helpers: a fake hub (tree listing with `Link` pagination, `resolve` with
//! range requests), fixtures, configuration and polling.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use modelguard_server::{Config, Running};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const SECRET: &str = "hook-secret";
pub const ADMIN: &str = "admin-token";
/// The standard anti-virus test string (harmless by definition).
pub const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn sha(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub struct HubFile {
    pub path: String,
    pub data: Vec<u8>,
    pub lfs: bool,
}

#[derive(Default)]
pub struct HubStats {
    pub bytes: AtomicU64,
    pub range_requests: AtomicU64,
    pub tree_pages: AtomicU64,
    pub listing_pages: AtomicU64,
}

pub struct Hub {
    pub base: String,
    /// Files of every repository not in `repos`.
    pub files: Vec<HubFile>,
    /// Per-repository files (`owner/name`).
    pub repos: HashMap<String, Vec<HubFile>>,
    pub page: usize,
    pub stats: HubStats,
    /// Delay of every `resolve` answer (ms): makes scans slow enough to kill a worker
    /// mid-job.
    pub delay_ms: AtomicU64,
    /// Answer this many `resolve` requests with 503 (with `Retry-After: 0`) first.
    pub fail_next: AtomicU64,
    /// Answer this many `resolve` requests with 429 without `Retry-After` first.
    pub rate_limit_next: AtomicU64,
    /// Repositories (`owner/name`) whose downloads answer 403 (gated).
    pub gated: std::sync::Mutex<Vec<String>>,
    /// Head commit per repository (`revision` answers), when set.
    pub heads: std::sync::Mutex<HashMap<String, String>>,
    /// Delay of every repository listing page (ms).
    pub listing_delay_ms: AtomicU64,
}

impl Hub {
    fn files_of(&self, owner: &str, name: &str) -> &[HubFile] {
        self.repos
            .get(&format!("{owner}/{name}"))
            .map_or(&self.files, |v| v)
    }
}

pub async fn tree(
    State(hub): State<Arc<Hub>>,
    Path((owner, name, rev)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    hub.stats.tree_pages.fetch_add(1, Ordering::Relaxed);
    assert_eq!(q.get("recursive").map(String::as_str), Some("true"));
    let cursor: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let files = hub.files_of(&owner, &name);
    let page = hub.page;
    let mut entries = vec![];
    if cursor == 0 {
        entries.push(json!({"type": "directory", "path": "sub", "oid": "0", "size": 0}));
    }
    for f in files.iter().skip(cursor).take(page) {
        let mut e = json!({"type": "file", "path": f.path, "size": f.data.len(), "oid": "1234"});
        if f.lfs {
            e["lfs"] = json!({"oid": sha(&f.data), "size": f.data.len(), "pointerSize": 134});
        }
        entries.push(e);
    }
    let mut resp = axum::Json(entries).into_response();
    if cursor + page < files.len() {
        let next = format!(
            "<{}/api/models/{owner}/{name}/tree/{rev}?recursive=true&cursor={}>; rel=\"next\"",
            hub.base,
            cursor + page
        );
        resp.headers_mut()
            .insert(header::LINK, next.parse().unwrap());
    }
    resp
}

/// The Hub's `GET /api/models/{repo}/revision/{rev}`: a commit id derived from the repo and
/// the ref (every ref of the fake hub serves the same files).
pub async fn revision(
    State(hub): State<Arc<Hub>>,
    Path((owner, name, rev)): Path<(String, String, String)>,
) -> Response {
    if let Some(sha) = hub.heads.lock().unwrap().get(&format!("{owner}/{name}")) {
        return axum::Json(json!({"id": format!("{owner}/{name}"), "sha": sha})).into_response();
    }
    let sha = sha(format!("{owner}/{name}@{rev}").as_bytes());
    axum::Json(json!({"id": format!("{owner}/{name}"), "sha": &sha[..40]})).into_response()
}

/// The Hub's repository listing `GET /api/models?limit=&expand[]=sha…`: the repositories
/// of `repos` in name order, `Link: <…&cursor=N>; rel="next"` pagination.
pub async fn list_models(
    State(hub): State<Arc<Hub>>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    hub.stats.listing_pages.fetch_add(1, Ordering::Relaxed);
    let delay = hub.listing_delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let get = |k: &str| q.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    assert!(
        q.iter().any(|(k, v)| k == "expand[]" && v == "sha"),
        "{q:?}"
    );
    let limit: usize = get("limit").and_then(|c| c.parse().ok()).unwrap_or(1000);
    let cursor: usize = get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let mut names: Vec<&String> = hub.repos.keys().collect();
    names.sort();
    let heads = hub.heads.lock().unwrap();
    let page: Vec<Value> = names
        .iter()
        .skip(cursor)
        .take(limit)
        .map(|n| {
            let sha = heads
                .get(*n)
                .cloned()
                .unwrap_or_else(|| sha(format!("{n}@main").as_bytes())[..40].to_string());
            json!({"_id": "x", "id": n, "sha": sha, "lastModified": "2026-01-01T00:00:00.000Z"})
        })
        .collect();
    let mut resp = axum::Json(page).into_response();
    if cursor + limit < names.len() {
        let next = format!(
            "<{}/api/models?limit={limit}&expand%5B%5D=sha&cursor={}>; rel=\"next\"",
            hub.base,
            cursor + limit
        );
        resp.headers_mut()
            .insert(header::LINK, next.parse().unwrap());
    }
    resp
}

pub async fn resolve(
    State(hub): State<Arc<Hub>>,
    Path((owner, name, _rev, path)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    serve_file(&hub, &owner, &name, &path, &headers).await
}

/// Gitea's tree API: `{tree: [{path, type, size, sha}], truncated, page}`.
pub async fn gitea_tree(
    State(hub): State<Arc<Hub>>,
    Path((owner, name, _sha)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    hub.stats.tree_pages.fetch_add(1, Ordering::Relaxed);
    let page: usize = q.get("page").and_then(|c| c.parse().ok()).unwrap_or(1);
    let files = hub.files_of(&owner, &name);
    let per = hub.page;
    let mut tree = vec![json!({"path": "sub", "type": "tree", "size": 0, "sha": "0"})];
    for f in files.iter().skip((page - 1) * per).take(per) {
        tree.push(json!({"path": f.path, "type": "blob", "size": f.data.len(), "sha": "1"}));
    }
    axum::Json(json!({
        "sha": "x",
        "tree": tree,
        "truncated": page * per < files.len(),
        "page": page,
        "total_count": files.len(),
    }))
    .into_response()
}

/// Gitea's repository search `GET /api/v1/repos/search?limit=&page=`: `{ok, data: [{full_name,
/// default_branch, empty}]}` over `repos`, in name order.
pub async fn gitea_search(
    State(hub): State<Arc<Hub>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    hub.stats.listing_pages.fetch_add(1, Ordering::Relaxed);
    // Gitea caps `limit` (MAX_RESPONSE_ITEMS, 50 by default); this fake caps it at 2, so a
    // client asking for more gets short pages that are not the end.
    let limit: usize = q
        .get("limit")
        .and_then(|c| c.parse().ok())
        .unwrap_or(50)
        .min(2);
    let page: usize = q.get("page").and_then(|c| c.parse().ok()).unwrap_or(1);
    let mut names: Vec<&String> = hub.repos.keys().collect();
    names.sort();
    let data: Vec<Value> = names
        .iter()
        .skip((page.max(1) - 1) * limit)
        .take(limit)
        .map(|n| json!({"full_name": n, "default_branch": "main", "empty": false}))
        .collect();
    axum::Json(json!({"ok": true, "data": data})).into_response()
}

/// Gitea's single commit `GET /api/v1/repos/{o}/{n}/git/commits/{ref}`.
pub async fn gitea_commit(
    State(hub): State<Arc<Hub>>,
    Path((owner, name, rev)): Path<(String, String, String)>,
) -> Response {
    let sha = sha(format!("{owner}/{name}@{rev}").as_bytes());
    let _ = &hub;
    axum::Json(json!({"sha": &sha[..40]})).into_response()
}

/// Gitea's `media` download (LFS-resolving raw file), `?ref=`.
pub async fn gitea_media(
    State(hub): State<Arc<Hub>>,
    Path((owner, name, path)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    assert!(q.contains_key("ref"));
    serve_file(&hub, &owner, &name, &path, &headers).await
}

async fn serve_file(
    hub: &Hub,
    owner: &str,
    name: &str,
    path: &str,
    headers: &HeaderMap,
) -> Response {
    let Some(f) = hub.files_of(owner, name).iter().find(|f| f.path == path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if hub
        .rate_limit_next
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
    {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    let delay = hub.delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if hub
        .gated
        .lock()
        .unwrap()
        .contains(&format!("{owner}/{name}"))
    {
        return StatusCode::FORBIDDEN.into_response();
    }
    if hub
        .fail_next
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "0")],
        )
            .into_response();
    }
    let len = f.data.len() as u64;
    if let Some(r) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        hub.stats.range_requests.fetch_add(1, Ordering::Relaxed);
        let (a, b) = r
            .strip_prefix("bytes=")
            .and_then(|r| r.split_once('-'))
            .unwrap();
        let a: u64 = a.parse().unwrap();
        let b: u64 = b.parse::<u64>().unwrap().min(len - 1);
        if a >= len {
            return StatusCode::RANGE_NOT_SATISFIABLE.into_response();
        }
        let body = f.data[a as usize..=b as usize].to_vec();
        hub.stats
            .bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        return (
            StatusCode::PARTIAL_CONTENT,
            [(header::CONTENT_RANGE, format!("bytes {a}-{b}/{len}"))],
            body,
        )
            .into_response();
    }
    hub.stats.bytes.fetch_add(len, Ordering::Relaxed);
    f.data.clone().into_response()
}

pub async fn fake_hub(files: Vec<HubFile>) -> Arc<Hub> {
    fake_hub_with(files, HashMap::new(), 2).await
}

/// A fake hub with per-repository files and a tree page size.
pub async fn fake_hub_with(
    files: Vec<HubFile>,
    repos: HashMap<String, Vec<HubFile>>,
    page: usize,
) -> Arc<Hub> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hub = Arc::new(Hub {
        base,
        files,
        repos,
        page,
        stats: HubStats::default(),
        delay_ms: AtomicU64::new(0),
        fail_next: AtomicU64::new(0),
        rate_limit_next: AtomicU64::new(0),
        gated: std::sync::Mutex::new(Vec::new()),
        heads: std::sync::Mutex::new(HashMap::new()),
        listing_delay_ms: AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/api/models/{owner}/{name}/tree/{rev}", get(tree))
        .route("/{owner}/{name}/resolve/{rev}/{*path}", get(resolve))
        .route("/api/models/{owner}/{name}/revision/{rev}", get(revision))
        .route("/api/models", get(list_models))
        .route(
            "/api/v1/repos/{owner}/{name}/git/trees/{sha}",
            get(gitea_tree),
        )
        .route(
            "/api/v1/repos/{owner}/{name}/media/{*path}",
            get(gitea_media),
        )
        .route("/api/v1/repos/search", get(gitea_search))
        .route(
            "/api/v1/repos/{owner}/{name}/git/commits/{rev}",
            get(gitea_commit),
        )
        .with_state(hub.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    hub
}

pub fn fixture_files() -> Vec<HubFile> {
    let root = repo_root();
    let read = |p: &str| std::fs::read(root.join(p)).unwrap();
    vec![
        HubFile {
            path: "pytorch_model.bin".into(),
            data: read("examples/benign_state_dict.pt"),
            lfs: true,
        },
        HubFile {
            path: "big/model.pt".into(),
            data: big_checkpoint(BIG_NUMEL),
            lfs: true,
        },
        HubFile {
            path: "evil.pkl".into(),
            data: read("examples/malicious_os_system.pkl"),
            lfs: true,
        },
        HubFile {
            path: "danger.dat".into(),
            data: EICAR.as_bytes().to_vec(),
            lfs: false,
        },
        // Same content as pytorch_model.bin: scanned once (cache by hash).
        HubFile {
            path: "copy/pytorch_model.bin".into(),
            data: read("examples/benign_state_dict.pt"),
            lfs: true,
        },
        HubFile {
            path: "README.md".into(),
            data: b"# a model <script>alert(1)</script>\n".to_vec(),
            lfs: false,
        },
    ]
}

pub fn test_limits() -> modelguard::Limits {
    modelguard::Limits {
        max_signature_bytes: 16 << 10,
        ..Default::default()
    }
}

/// What the core scanner says about bytes, as the service would report it.
pub fn expected_status(path: &str, data: &[u8]) -> &'static str {
    let s = modelguard::Scanner {
        hash: modelguard::HashMode::Never,
        ..modelguard::Scanner::new(test_limits(), modelguard::Policy::default())
    };
    modelguard_server::status::of_report(&s.scan_bytes(path, data))
}

pub fn config(db: String, hub: &Hub) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        db,
        workers: 2,
        admin_token: Some(ADMIN.into()),
        hf_webhook_secret: Some(SECRET.into()),
        hf_endpoint: hub.base.clone(),
        allow_private_urls: true,
        // Small thresholds so the checkpoints go through range reads.
        whole_download_max_bytes: 1024,
        range_block_bytes: 4096,
        lease_secs: 5,
        http_retries: 1,
        shutdown_grace_secs: 2,
        // Signature matching reads up to this much of each source (default 16 MiB, more
        // than the whole test checkpoint): keep it small so the test shows the range reads.
        limits: test_limits(),
        ..Config::default()
    }
}

pub async fn start(cfg: Config) -> Running {
    modelguard_server::start_with_poll(cfg, Duration::from_millis(50))
        .await
        .unwrap()
}

pub async fn wait_done(http: &reqwest::Client, url: &str) -> Value {
    let t0 = Instant::now();
    loop {
        let resp = http.get(url).send().await.unwrap();
        if resp.status() == 200 {
            let v: Value = resp.json().await.unwrap();
            if v["scansDone"] == true {
                return v;
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "not done: {v:#}");
        } else {
            assert!(t0.elapsed() < Duration::from_secs(60), "{}", resp.status());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// POST `body` (JSON, or nothing) with the admin token; the JSON answer.
pub async fn admin_post(http: &reqwest::Client, url: &str, body: Option<Value>) -> Value {
    let mut req = http.post(url).bearer_auth(ADMIN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap().json().await.unwrap()
}

/// POST a Hugging Face webhook body with `secret`.
pub async fn post_hf(
    http: &reqwest::Client,
    base: &str,
    secret: &str,
    body: String,
) -> reqwest::Response {
    http.post(format!("{base}/webhooks/huggingface"))
        .header("X-Webhook-Secret", secret)
        .body(body)
        .send()
        .await
        .unwrap()
}

pub fn webhook(repo: &str, sha: &str) -> Value {
    json!({
        "event": {"action": "update", "scope": "repo.content"},
        "repo": {"type": "model", "name": repo, "id": "1", "private": false,
                 "headSha": sha, "owner": {"id": "2"}},
        "updatedRefs": [
            {"ref": "refs/heads/main", "oldSha": null, "newSha": sha},
            {"ref": "refs/tags/v1", "oldSha": null, "newSha": sha},
            {"ref": "refs/heads/gone", "oldSha": sha, "newSha": null}
        ],
        "webhook": {"id": "w1", "version": 3}
    })
}

/// A PostgreSQL database made for one test and dropped after it.
pub struct PgDb {
    pub admin: sqlx::AnyPool,
    pub name: String,
    pub url: String,
}

pub async fn pg_db() -> Option<PgDb> {
    sqlx::any::install_default_drivers();
    let base = std::env::var("MODELGUARD_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let mut last = String::new();
    for user_base in [base.clone(), base.replace("postgres@", "root@")] {
        match sqlx::AnyPool::connect(&format!("{user_base}/test")).await {
            Ok(admin) => {
                static N: AtomicU64 = AtomicU64::new(0);
                let name = format!(
                    "mg_test_{}_{}_{}",
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis(),
                    N.fetch_add(1, Ordering::Relaxed)
                );
                drop_stale(&admin).await;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin)
                    .await
                    .unwrap();
                return Some(PgDb {
                    admin,
                    url: format!("{user_base}/{name}"),
                    name,
                });
            }
            Err(e) => last = e.to_string(),
        }
    }
    // On CI PostgreSQL must be there; on a laptop without it the test is skipped loudly.
    assert!(
        std::env::var("CI").is_err(),
        "PostgreSQL unreachable: {last}"
    );
    eprintln!("SKIPPED: PostgreSQL unreachable: {last}");
    None
}

impl PgDb {
    pub async fn drop_db(self) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&self.admin)
        .await
        .unwrap();
    }
}

/// The headless browser, when installed (Debian package `chromium`).
pub fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|b| std::env::split_paths(&path).map(move |d| d.join(b)))
        .find(|p| p.is_file())
}

/// Run headless Chromium on `url`: `--dump-dom` (the DOM after parsing) or a screenshot.
pub async fn browser(bin: PathBuf, url: String, screenshot: Option<PathBuf>) -> String {
    tokio::task::spawn_blocking(move || {
        let profile = tempfile::tempdir().unwrap();
        let mut cmd = std::process::Command::new("timeout");
        cmd.arg("90")
            .arg(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("--window-size=1280,900");
        match &screenshot {
            Some(p) => cmd.arg(format!("--screenshot={}", p.display())),
            None => cmd.arg("--dump-dom"),
        };
        let out = cmd.arg(url).output().unwrap();
        assert!(
            out.status.success(),
            "chromium: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
    .await
    .unwrap()
}

/// Elements of the big test tensor: 70 MB, above the 64 MiB under which the zip reader
/// reads a whole archive to carve hidden local headers, so range reads show.
pub const BIG_NUMEL: u32 = 17_500_000;

/// `tests/fixtures/server/big_state_dict.pt` (torch.save of a 150,000-element tensor)
/// rewritten with a `numel`-element tensor: the pickle's sizes patched, the storage member
/// zero-filled.
pub fn big_checkpoint(numel: u32) -> Vec<u8> {
    use std::io::{Read, Write};
    let src = std::fs::read(repo_root().join("tests/fixtures/server/big_state_dict.pt")).unwrap();
    let mut ar = zip::ZipArchive::new(std::io::Cursor::new(src)).unwrap();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(false);
    for i in 0..ar.len() {
        let mut f = ar.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut data = vec![];
        f.read_to_end(&mut data).unwrap();
        if name.ends_with("/data.pkl") {
            let mut old = vec![b'J'];
            old.extend_from_slice(&150_000u32.to_le_bytes());
            let mut new = vec![b'J'];
            new.extend_from_slice(&numel.to_le_bytes());
            let mut out = vec![];
            let mut i = 0;
            while i < data.len() {
                if data[i..].starts_with(&old) {
                    out.extend_from_slice(&new);
                    i += old.len();
                } else {
                    out.push(data[i]);
                    i += 1;
                }
            }
            data = out;
        } else if name.ends_with("/data/0") {
            data = vec![0u8; numel as usize * 4];
        }
        w.start_file(name, opts).unwrap();
        w.write_all(&data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Drop test databases left behind by runs that failed (panicked before dropping) more than
/// an hour ago; the creation time is in the name.
async fn drop_stale(admin: &sqlx::AnyPool) {
    use sqlx::Row;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let Ok(rows) = sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE 'mg_test_%'")
        .fetch_all(admin)
        .await
    else {
        return;
    };
    for r in rows {
        let name: String = r.try_get(0).unwrap();
        let created: Option<u128> = name.split('_').nth(3).and_then(|t| t.parse().ok());
        if created.is_some_and(|t| now.saturating_sub(t) > 3_600_000)
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(admin)
            .await;
        }
    }
}
