//! The walk of a tracked directory in path order, a batch at a time.
//!
//! `add` and `status` turn a tracked directory into a listing, which is
//! sorted by path bytes. Collecting every path of a million-file directory
//! and sorting it costs hundreds of bytes per file; this walk instead
//! sorts each directory's names with a subdirectory keyed as `name/`,
//! which yields the files of the whole tree already in listing order, and
//! hands them over in batches of at most [`BATCH`]. Memory is bounded by
//! the widest directory, not by the tree.
//!
//! It honours `.cairnignore` exactly as [`crate::repo::cairnignore::walk_dir`]
//! does (an ignored directory is not entered), so both walks agree on which
//! files are data. Each file comes as its [`fs::DirEntry`], whose
//! `metadata()` is an `lstat` relative to the open directory
//! (`statx(dirfd, name)`), cheaper than a lookup of the full path.

use std::cmp::Ordering;
use std::fs;
use std::path::Path;

use crate::error::{Error, Result};
use crate::repo::cairnignore::CairnIgnore;

/// Most files handed over at once.
pub const BATCH: usize = 4096;

/// A non-directory entry met by the walk.
#[derive(Debug)]
pub struct Found {
    pub entry: fs::DirEntry,
    /// The path relative to the tracked directory, `/`-separated; `None`
    /// when a name on the way is not UTF-8 (the caller reports it).
    pub sub: Option<String>,
}

/// Walk tracked directory `rel` (at `abs`, in the work tree at `root`),
/// calling `each` with batches of the files, symbolic links and other
/// non-directories below it, in path order. Returns the ignore rules the
/// walk was made with.
pub fn walk_sorted(
    root: &Path,
    rel: &str,
    abs: &Path,
    each: &mut dyn FnMut(Vec<Found>) -> Result<()>,
) -> Result<CairnIgnore> {
    let mut ig = CairnIgnore::for_tracked(root, rel)?;
    let mut batch = Vec::new();
    visit(abs, Some(""), rel, &mut ig, &mut batch, each)?;
    if !batch.is_empty() {
        each(batch)?;
    }
    Ok(ig)
}

/// The order of two names in a directory, a subdirectory's name counting
/// as `name/`: the order of the full paths below them.
pub(crate) fn order(a: &[u8], a_dir: bool, b: &[u8], b_dir: bool) -> Ordering {
    let tail = |d: bool| if d { &b"/"[..] } else { &b""[..] };
    // The shared length compares as slices (memcmp); only the few bytes
    // after it, where the `/` of a directory can decide, go byte by byte.
    let n = a.len().min(b.len());
    a[..n].cmp(&b[..n]).then_with(|| {
        a[n..]
            .iter()
            .chain(tail(a_dir))
            .cmp(b[n..].iter().chain(tail(b_dir)))
    })
}

fn visit(
    dir: &Path,
    sub: Option<&str>,
    rel: &str,
    ig: &mut CairnIgnore,
    batch: &mut Vec<Found>,
    each: &mut dyn FnMut(Vec<Found>) -> Result<()>,
) -> Result<()> {
    let walk_err = |e| Error::io("walk", dir, e);
    // Each name is copied out once: `DirEntry::file_name` allocates, and a
    // sort that called it per comparison made most of a clean status's
    // allocations.
    let mut items: Vec<(std::ffi::OsString, fs::DirEntry, bool)> = Vec::new();
    for e in fs::read_dir(dir).map_err(walk_err)? {
        let e = e.map_err(walk_err)?;
        let is_dir = e
            .file_type()
            .map_err(|err| Error::io("walk", e.path(), err))?
            .is_dir();
        items.push((e.file_name(), e, is_dir));
    }
    items.sort_unstable_by(|(a, _, ad), (b, _, bd)| {
        order(a.as_encoded_bytes(), *ad, b.as_encoded_bytes(), *bd)
    });
    for (name, e, is_dir) in items {
        let child = match (sub, name.to_str()) {
            (Some(""), Some(n)) => Some(n.to_string()),
            (Some(s), Some(n)) => Some(format!("{s}/{n}")),
            _ => None,
        };
        if let Some(c) = &child {
            let path = format!("{rel}/{c}");
            if ig.is_ignored(&path, is_dir) {
                continue;
            }
            if is_dir {
                ig.enter(&path)?;
            }
        }
        if is_dir {
            visit(&e.path(), child.as_deref(), rel, ig, batch, each)?;
        } else {
            batch.push(Found {
                entry: e,
                sub: child,
            });
            if batch.len() >= BATCH {
                each(std::mem::take(batch))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The order is that of the full paths: the name, then `/` for a
        /// directory, compared byte by byte.
        #[test]
        fn names_order_as_their_paths(
            a in proptest::collection::vec(prop_oneof![Just(b'/' - 1), Just(b'/' + 1), Just(b'a'), any::<u8>()], 0..6),
            b in proptest::collection::vec(prop_oneof![Just(b'/' - 1), Just(b'/' + 1), Just(b'a'), any::<u8>()], 0..6),
            ad: bool,
            bd: bool,
        ) {
            let path = |n: &[u8], d: bool| {
                let mut p = n.to_vec();
                if d {
                    p.push(b'/');
                }
                p
            };
            prop_assert_eq!(order(&a, ad, &b, bd), path(&a, ad).cmp(&path(&b, bd)));
        }
    }

    #[test]
    fn files_come_in_path_byte_order() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("t");
        for p in [
            "a.txt",
            "a/x",
            "a/b/c",
            "a-b",
            "a0",
            "b",
            "a/b.txt",
            "z/.cairnignore",
        ] {
            let path = t.join(p);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "x").unwrap();
        }
        let mut seen = Vec::new();
        walk_sorted(d.path(), "t", &t, &mut |b| {
            seen.extend(b.into_iter().map(|f| f.sub.unwrap()));
            Ok(())
        })
        .unwrap();
        let mut sorted = seen.clone();
        sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        assert_eq!(seen, sorted);
        assert_eq!(seen.len(), 8);
    }

    #[test]
    fn ignored_files_and_directories_are_left_out() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("t");
        for p in ["keep", "x.tmp", "skip/y", "in/z.tmp", "in/w"] {
            let path = t.join(p);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "x").unwrap();
        }
        fs::write(t.join(".cairnignore"), "*.tmp\nskip/\n").unwrap();
        let mut seen = Vec::new();
        walk_sorted(d.path(), "t", &t, &mut |b| {
            seen.extend(b.into_iter().map(|f| f.sub.unwrap()));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [".cairnignore", "in/w", "keep"]);
    }
}
