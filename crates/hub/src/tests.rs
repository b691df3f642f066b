//! Parsers on real and garbage answers, the SSRF guard, retry headers and URLs.

use super::*;

#[test]
fn links_and_trees() {
    assert_eq!(
        next_link("<http://h/api?cursor=2>; rel=\"next\", <http://h/x>; rel=\"prev\""),
        Some("http://h/api?cursor=2".into())
    );
    assert_eq!(next_link("<http://h/x>; rel=\"prev\""), None);
    let t = parse_hf_tree(
        br#"[{"type":"directory","path":"d","oid":"x","size":0},
             {"type":"file","path":"a.bin","size":5,"oid":"1","lfs":{"oid":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","size":5,"pointerSize":133}},
             {"type":"file","path":"b.txt","size":3,"oid":"2"}]"#,
    )
    .unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].sha256.as_deref(), Some(&*"a".repeat(64)));
    assert_eq!(t[1].sha256, None);
    assert!(parse_hf_tree(b"{}").is_err());
}

/// Arbitrary bytes never panic the parsers of untrusted hub answers (a small in-test
/// fuzz loop; these parsers are serde_json and string splitting).
#[test]
fn parsers_survive_garbage() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let seeds: [&[u8]; 4] = [
        br#"[{"type":"file","path":"a","size":1,"lfs":{"oid":"ab"}}]"#,
        b"<http://h/x?c=1>; rel=\"next\"",
        b"\"api\";r=0;t=5",
        b"",
    ];
    for i in 0..20_000u32 {
        let seed = seeds[i as usize % seeds.len()];
        let mut data = seed.to_vec();
        for _ in 0..(i % 7) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = (x >> 24) as u8;
            let pos = (x as usize) % (data.len() + 1);
            match x % 3 {
                0 => data.insert(pos, b),
                1 if !data.is_empty() => {
                    data.remove(pos.min(data.len() - 1));
                }
                _ => {
                    if let Some(v) = data.get_mut(pos) {
                        *v = b;
                    }
                }
            }
        }
        let _ = parse_hf_tree(&data);
        let _ = parse_hf_repos(&data, "");
        let text = String::from_utf8_lossy(&data);
        let _ = next_link(&text);
        if let Ok(v) = header::HeaderValue::from_bytes(&data) {
            let mut h = header::HeaderMap::new();
            h.insert("ratelimit", v);
            let _ = retry_after(&h);
        }
    }
}

#[test]
fn repo_listing() {
    let sha = "a".repeat(40);
    let page = format!(
        r#"[{{"_id":"1","id":"o/m","sha":"{sha}","lastModified":"2026-01-01T00:00:00.000Z"}},
           {{"id":"o/../x","sha":"{sha}"}},
           {{"id":"o/nosha"}},
           {{"id":"o/badsha","sha":"zz"}}]"#
    );
    let r = parse_hf_repos(page.as_bytes(), "datasets/").unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r[0].repo, "datasets/o/m");
    assert_eq!(r[0].sha.as_deref(), Some(&*sha));
    assert_eq!(r[1].sha, None);
    assert_eq!(r[2].sha, None);
    assert!(parse_hf_repos(b"{}", "").is_err());
    assert!(is_commit(&"0".repeat(64)) && !is_commit("main"));
}

#[test]
fn retry_after_headers() {
    let mut h = header::HeaderMap::new();
    assert_eq!(retry_after(&h), None);
    h.insert("ratelimit", "\"api\";r=0;t=55".parse().unwrap());
    assert_eq!(retry_after(&h), Some(Duration::from_secs(55)));
    h.insert(header::RETRY_AFTER, "3".parse().unwrap());
    assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
    h.insert(header::RETRY_AFTER, "99999".parse().unwrap());
    assert_eq!(retry_after(&h), Some(Duration::from_secs(60)));
}

#[test]
fn private_ranges() {
    for ip in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
    ] {
        assert!(is_private(ip.parse().unwrap()), "{ip}");
    }
    for ip in ["8.8.8.8", "2606:4700::1111"] {
        assert!(!is_private(ip.parse().unwrap()), "{ip}");
    }
}

#[tokio::test]
async fn ssrf_guard_rejects_loopback_unless_allowed() {
    let f = Fetcher::new(&HubConfig::default()).unwrap();
    assert!(matches!(
        f.guard_url("http://127.0.0.1:9/x").await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        f.guard_url("file:///etc/passwd").await,
        Err(Error::Forbidden(_))
    ));
    let f = Fetcher::new(&HubConfig {
        allow_private_urls: true,
        ..HubConfig::default()
    })
    .unwrap();
    assert!(f.guard_url("http://127.0.0.1:9/x").await.is_ok());
}

#[test]
fn urls() {
    let f = Fetcher::new(&HubConfig {
        hf_endpoint: "http://hub.test".into(),
        ..HubConfig::default()
    })
    .unwrap();
    assert_eq!(
        f.file_url(HubKind::Hf, "o/n", "abc", "dir/a b.bin")
            .unwrap(),
        "http://hub.test/o/n/resolve/abc/dir/a%20b.bin"
    );
    assert_eq!(
        f.file_url(HubKind::Hf, "datasets/o/n", "abc", "x").unwrap(),
        "http://hub.test/datasets/o/n/resolve/abc/x"
    );
}
