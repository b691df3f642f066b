//! The paths of a scan: directories walked (symbolic links not followed, version-control
//! directories skipped), exclusions matched, and results put back in report order.
//!
//! Must not: open or scan files (`scan.rs` does).

use std::path::{Path, PathBuf};

use modelguard::policy::PathGlob;

use crate::baseline;

/// `path` as a `/`-separated string without leading `./` or `/`, for glob matching.
pub(crate) fn glob_path(p: &Path) -> String {
    baseline::normalize_path(&p.to_string_lossy())
        .trim_start_matches('/')
        .to_string()
}

pub(crate) fn excluded(path: &Path, root: Option<&Path>, excludes: &[PathGlob]) -> bool {
    if excludes.is_empty() {
        return false;
    }
    let mut candidates = vec![glob_path(path)];
    if let Some(rel) = root.and_then(|r| path.strip_prefix(r).ok()) {
        candidates.push(glob_path(rel));
    }
    excludes
        .iter()
        .any(|g| candidates.iter().any(|c| !c.is_empty() && g.is_match(c)))
}

/// Version-control directories, skipped when walking (their objects duplicate the working
/// tree in compressed form); a path naming one explicitly is still scanned.
pub(crate) const VCS_DIRS: &[&str] = &[".git", ".hg", ".svn"];

pub(crate) fn is_vcs_dir(e: &walkdir::DirEntry) -> bool {
    e.file_type().is_dir()
        && e.file_name()
            .to_str()
            .is_some_and(|n| VCS_DIRS.contains(&n))
}

/// Expand directories into their files (symlinks not followed, version-control directories
/// skipped), minus exclusions: `found(root, file)` is called for each file in the order the
/// walk meets it, `root` being the index of the path argument it came from. Returns the walk
/// errors.
pub(crate) fn walk_files(
    paths: &[PathBuf],
    excludes: &[PathGlob],
    found: &mut dyn FnMut(usize, PathBuf),
) -> Vec<String> {
    let mut errors = Vec::new();
    for (root, p) in paths.iter().enumerate() {
        if excluded(p, None, excludes) {
            continue;
        }
        if p.is_dir() {
            let walk = walkdir::WalkDir::new(p)
                .follow_links(false)
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0 || !(is_vcs_dir(e) || excluded(e.path(), Some(p), excludes))
                });
            for entry in walk {
                match entry {
                    Ok(e) if e.file_type().is_file() => found(root, e.into_path()),
                    Ok(_) => {}
                    Err(e) => errors.push(format!("{}: {e}", p.display())),
                }
            }
        } else if p.exists() {
            found(root, p.clone());
        } else {
            errors.push(format!("{}: no such file or directory", p.display()));
        }
    }
    errors
}

/// Report order: by path argument, then by the path's raw bytes (sorting once by bytes:
/// walkdir's per-directory `sort_by_file_name` compares through `Path::file_name` and cost
/// a third of a 5,000-file scan).
pub(crate) fn report_order(a: &(usize, PathBuf), b: &(usize, PathBuf)) -> std::cmp::Ordering {
    a.0.cmp(&b.0).then_with(|| {
        a.1.as_os_str()
            .as_encoded_bytes()
            .cmp(b.1.as_os_str().as_encoded_bytes())
    })
}

/// The scan results, put in report order by their keys. The sort moves only indices, and
/// the results are then moved into place in the same vector: sorting the results themselves
/// (a report and its JSON entry each) was a tenth of the main thread's work on 5,000 files,
/// and moving them into a second vector grew the peak memory by a quarter.
pub(crate) fn in_report_order<T>(mut done: Vec<((usize, PathBuf), T)>) -> Vec<T> {
    let mut order: Vec<usize> = (0..done.len()).collect();
    order.sort_unstable_by(|&a, &b| match (done.get(a), done.get(b)) {
        (Some(x), Some(y)) => report_order(&x.0, &y.0),
        _ => std::cmp::Ordering::Equal,
    });
    // `done[order[k]]` belongs at `k`: follow each cycle of the permutation, one swap per
    // misplaced result. A handled slot is marked by `order[k] = k`.
    for start in 0..order.len() {
        let mut k = start;
        while let Some(src) = order.get_mut(k).map(|o| std::mem::replace(o, k)) {
            if src == start {
                break;
            }
            done.swap(k, src);
            k = src;
        }
    }
    done.into_iter().map(|(_, r)| r).collect()
}

/// All files of [`walk_files`], in report order, and the walk errors: directories expanded
/// (symbolic links not followed, `.git`/`.hg`/`.svn` skipped), minus `excludes`.
pub fn collect(paths: &[PathBuf], excludes: &[PathGlob]) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let errors = walk_files(paths, excludes, &mut |root, f| files.push((root, f)));
    files.sort_unstable_by(report_order);
    (files.into_iter().map(|(_, f)| f).collect(), errors)
}

/// Files handed to the pool together while walking: one task (and one worker wake-up) per
/// batch instead of per file.
pub(crate) const WALK_BATCH: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_by_argument_then_path_bytes() {
        let key = |root: usize, p: &str| (root, PathBuf::from(p));
        let done = vec![
            (key(1, "a/x"), "1:a/x"),
            (key(0, "b/b"), "0:b/b"),
            (key(0, "b/a"), "0:b/a"),
            (key(0, "B/z"), "0:B/z"),
            (key(1, "a/w"), "1:a/w"),
        ];
        assert_eq!(
            in_report_order(done),
            ["0:B/z", "0:b/a", "0:b/b", "1:a/w", "1:a/x"]
        );
        assert!(in_report_order(Vec::<((usize, PathBuf), ())>::new()).is_empty());
    }

    #[test]
    fn any_permutation_comes_back_sorted() {
        // A fixed pseudo-random shuffle with cycles of every length, plus sorted and
        // reversed inputs.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut shuffled: Vec<usize> = (0..500).collect();
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let sorted: Vec<usize> = (0..500).collect();
        let reversed: Vec<usize> = (0..500).rev().collect();
        for input in [shuffled, sorted, reversed] {
            let done: Vec<_> = input
                .iter()
                .map(|&n| ((n % 3, PathBuf::from(format!("d/{n:04}"))), n))
                .collect();
            let mut want = input.clone();
            want.sort_by_key(|&n| (n % 3, n));
            assert_eq!(in_report_order(done), want);
        }
    }
}
