//! Tests of the zip reader.
use super::*;

/// Build a stored zip by hand: (name, data) pairs, optional local-name override.
pub(crate) fn build(members: &[(&str, &[u8], Option<&str>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data, local) in members {
        let off = out.len() as u32;
        let lname = local.unwrap_or(name);
        let crc = crc32(data);
        out.extend_from_slice(LOCAL_SIG);
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(lname.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(lname.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(CENTRAL_SIG);
        central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&(data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&off.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_off = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(EOCD_SIG);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_off.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[test]
fn duplicates_and_mismatch_are_seen() {
    let z = build(&[
        ("a/data.pkl", b"one", None),
        ("a/data.pkl", b"two", None),
        ("b", b"x", Some("c")),
    ]);
    let v = read(&z, &Limits::default()).unwrap_or_default();
    assert_eq!(v.entries.len(), 3);
    assert!(
        v.anomalies
            .contains(&Anomaly::DuplicateName("a/data.pkl".into()))
    );
    assert!(
        v.anomalies
            .iter()
            .any(|a| matches!(a, Anomaly::NameMismatch { .. }))
    );
    let (d, _) =
        crate::member::read_prefix(&z, &v.entries[1], 10, &Limits::default()).unwrap_or_default();
    assert_eq!(d, b"two");
}

#[test]
fn prefix_and_no_directory() {
    let mut z = b"JUNKJUNK".to_vec();
    z.extend(build(&[("x.pkl", b"abc", None)]));
    let v = read(&z, &Limits::default()).unwrap_or_default();
    assert!(v.anomalies.contains(&Anomaly::Prefix(8)));
    assert_eq!(v.entries.len(), 2);
    assert_eq!(v.entries[1].name, PREFIX_NAME);
    assert_eq!((v.entries[1].data_offset, v.entries[1].compressed), (0, 8));
    // Cut the directory off: the member is carved.
    let z = build(&[("x.pkl", b"abc", None)]);
    let cut = z[..30 + 5 + 3].to_vec();
    let v = read(&cut, &Limits::default()).unwrap_or_default();
    assert!(v.anomalies.contains(&Anomaly::NoDirectory));
    assert_eq!(v.entries.len(), 1);
}

/// Add `delta` to every recorded local-header offset and to the directory offset.
fn shift(z: &mut [u8], delta: u32) {
    let eocd = z.len() - 22;
    let cd = u32::from_le_bytes(z[eocd + 16..eocd + 20].try_into().unwrap_or_default());
    let size = u32::from_le_bytes(z[eocd + 12..eocd + 16].try_into().unwrap_or_default());
    let mut p = cd as usize;
    while p < (cd + size) as usize {
        let lo = u32::from_le_bytes(z[p + 42..p + 46].try_into().unwrap_or_default());
        z[p + 42..p + 46].copy_from_slice(&(lo + delta).to_le_bytes());
        let n = u16::from_le_bytes([z[p + 28], z[p + 29]]) as usize;
        p += 46 + n;
    }
    z[eocd + 16..eocd + 20].copy_from_slice(&(cd + delta).to_le_bytes());
}

#[test]
fn negative_concat_reads_the_true_offsets() {
    // Offsets recorded 7 bytes too far: zipfile's concat is -7 and corrects them.
    let mut z = build(&[("a.npy", b"first", None), ("b.npy", b"second", None)]);
    shift(&mut z, 7);
    let v = read(&z, &Limits::default()).unwrap_or_default();
    let names: Vec<&str> = v.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a.npy", "b.npy"]);
    let (d, _) =
        crate::member::read_prefix(&z, &v.entries[1], 100, &Limits::default()).unwrap_or_default();
    assert_eq!(d, b"second");
    assert!(v.anomalies.is_empty(), "{:?}", v.anomalies);
}

#[test]
fn zip64_record_only_right_before_the_locator() {
    // A locator pointing at a record elsewhere: zipfile ignores it, miniz follows it.
    let decoy = build(&[("x.npy", b"decoy", None)]);
    let decoy_cd = u32::from_le_bytes(
        decoy[decoy.len() - 6..decoy.len() - 2]
            .try_into()
            .unwrap_or_default(),
    );
    let mut z = decoy[..decoy.len() - 22].to_vec();
    let rec_at = z.len() as u64;
    z.extend_from_slice(EOCD64_SIG);
    z.extend_from_slice(&44u64.to_le_bytes());
    z.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    z.extend_from_slice(&1u64.to_le_bytes());
    z.extend_from_slice(&1u64.to_le_bytes());
    z.extend_from_slice(&(rec_at - u64::from(decoy_cd)).to_le_bytes());
    z.extend_from_slice(&u64::from(decoy_cd).to_le_bytes());
    let base = z.len() as u32;
    let mut real = build(&[("x.npy", b"real!", None)]);
    shift(&mut real, base);
    // The locator ends the real directory (inside its last entry's comment).
    let eocd = real.len() - 22;
    let mut loc = EOCD64_LOC_SIG.to_vec();
    loc.extend_from_slice(&0u32.to_le_bytes());
    loc.extend_from_slice(&rec_at.to_le_bytes());
    loc.extend_from_slice(&1u32.to_le_bytes());
    let cd = u32::from_le_bytes(real[eocd + 16..eocd + 20].try_into().unwrap_or_default()) - base;
    real[cd as usize + 32..cd as usize + 34].copy_from_slice(&20u16.to_le_bytes());
    let size = u32::from_le_bytes(real[eocd + 12..eocd + 16].try_into().unwrap_or_default()) + 20;
    let mut tail = real[eocd..].to_vec();
    tail[12..16].copy_from_slice(&size.to_le_bytes());
    z.extend_from_slice(&real[..eocd]);
    z.extend_from_slice(&loc);
    z.extend_from_slice(&tail);
    let v = read(&z, &Limits::default()).unwrap_or_default();
    let read_all: Vec<(Origin, Vec<u8>)> = v
        .entries
        .iter()
        .filter(|e| e.in_directory)
        .map(|e| {
            (
                e.origin,
                crate::member::read_prefix(&z, e, 100, &Limits::default())
                    .unwrap_or_default()
                    .0,
            )
        })
        .collect();
    assert!(
        read_all.contains(&(Origin::Directory, b"real!".to_vec())),
        "{read_all:?}"
    );
    assert!(
        read_all.contains(&(Origin::Torch, b"decoy".to_vec())),
        "{read_all:?}"
    );
    assert!(
        v.anomalies
            .iter()
            .any(|a| matches!(a, Anomaly::ReadersDisagree(_)))
    );
}

#[test]
fn inner_zips_trailing_bytes_and_encryption() {
    let inner = build(&[("in.txt", b"inner", None)]);
    let mut z = build(&[("a.zip", &inner, None)]);
    let v = read(&z, &Limits::default()).unwrap_or_default();
    assert!(v.anomalies.is_empty(), "{:?}", v.anomalies);
    z.extend_from_slice(b"\x80\x02N.");
    let v = read(&z, &Limits::default()).unwrap_or_default();
    let last = v.entries.last().map(|e| (e.name.as_str(), e.origin));
    assert_eq!(last, Some((TRAILING_NAME, Origin::Outside)));
    assert!(matches!(
        v.anomalies[..],
        [Anomaly::Trailing { len: 4, .. }]
    ));
    // Encrypted flag in the central directory: not tampering, just unreadable.
    let mut z = build(&[("s.txt", b"secret", None)]);
    let cd = z.len() - 22 - 46 - 5;
    z[cd + 8] |= 1;
    let v = read(&z, &Limits::default()).unwrap_or_default();
    assert_eq!(v.anomalies, [Anomaly::Encrypted("s.txt".into())]);
}

#[test]
fn member_limit_holds() {
    let z = build(&[("a", b"1", None), ("b", b"2", None), ("c", b"3", None)]);
    let l = Limits {
        max_members: 2,
        ..Limits::default()
    };
    assert!(matches!(read(&z, &l), Err(ZipError::Limit("max_members"))));
}

#[test]
fn garbage_does_not_panic() {
    for n in 0..200u8 {
        let mut z = build(&[("a/data.pkl", b"hello", None)]);
        let len = z.len();
        if let Some(b) = z.get_mut(usize::from(n) % len) {
            *b ^= 0xA5;
        }
        let _ = read(&z, &Limits::default());
    }
}
