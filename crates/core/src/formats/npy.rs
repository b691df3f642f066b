//! NumPy `.npy` header: enough to know whether the payload is a pickle (object dtype).
//!
//! Hand-written: the header is a magic, a version, a length and a Python dict literal; the
//! only facts needed are the dtype and where the data starts.

/// What the header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The `descr` entry, e.g. `<f4` or `|O`.
    pub descr: String,
    /// Offset of the array data.
    pub data_offset: u64,
    /// Whether the dtype holds Python objects (the data is then a pickle).
    pub object: bool,
}

/// Parse the header from the first bytes of the file (at least the header length; 64 KiB
/// always suffices for version 1, callers pass what they have).
pub fn parse(head: &[u8]) -> Result<Header, String> {
    let rest = head
        .strip_prefix(b"\x93NUMPY".as_slice())
        .ok_or("missing NUMPY magic")?;
    let (&major, rest) = rest.split_first().ok_or("truncated header")?;
    let (_minor, rest) = rest.split_first().ok_or("truncated header")?;
    let (len, start, rest) = match major {
        1 => {
            let b: [u8; 2] = rest
                .get(..2)
                .and_then(|b| b.try_into().ok())
                .ok_or("truncated header")?;
            (
                u64::from(u16::from_le_bytes(b)),
                10u64,
                rest.get(2..).unwrap_or_default(),
            )
        }
        2 | 3 => {
            let b: [u8; 4] = rest
                .get(..4)
                .ok_or("truncated header")?
                .try_into()
                .map_err(|_| "truncated header")?;
            (
                u64::from(u32::from_le_bytes(b)),
                12u64,
                rest.get(4..).unwrap_or_default(),
            )
        }
        v => return Err(format!("unsupported npy version {v}")),
    };
    let len_usize = usize::try_from(len).map_err(|_| "header too large")?;
    let dict = rest.get(..len_usize).ok_or("header longer than the data")?;
    let text = String::from_utf8_lossy(dict);
    let descr = text
        .split_once("'descr':")
        .and_then(|(_, r)| {
            let r = r.trim_start();
            if let Some(r) = r.strip_prefix('\'') {
                r.split_once('\'').map(|(d, _)| d.to_string())
            } else {
                // Structured dtype: a list of fields; object fields show as 'O'.
                Some(r.split("'fortran_order'").next().unwrap_or(r).to_string())
            }
        })
        .ok_or("no descr in header")?;
    let object = descr.contains('O');
    Ok(Header {
        descr,
        data_offset: start + len,
        object,
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn parses_v1() {
        let mut h = b"\x93NUMPY\x01\x00".to_vec();
        let d = b"{'descr': '|O', 'fortran_order': False, 'shape': (2,), }          \n";
        h.extend_from_slice(&(d.len() as u16).to_le_bytes());
        h.extend_from_slice(d);
        let p = parse(&h).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.object);
        assert_eq!(p.descr, "|O");
        assert_eq!(p.data_offset, 10 + d.len() as u64);
        assert!(parse(&h[..12]).is_err());
        assert!(parse(b"\x93NUMPY\x09\x00").is_err());
    }
}
