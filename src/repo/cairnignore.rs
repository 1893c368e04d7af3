//! `.cairnignore`: which files inside a tracked directory are not data
//! (FORMAT.md §11), and the one walk of a tracked directory that honours it.
//!
//! The patterns are gitignore's, matched by the `ignore` crate, never by
//! hand. A `.cairnignore` may sit at the repository root, in any directory
//! above a tracked directory, and in the tracked directory or any directory
//! inside it; its patterns are relative to the directory it sits in, and a
//! deeper file's rules win over a shallower one's. An ignored directory is
//! not descended into, so nothing below it can be re-included (git's rule).
//!
//! The rules apply only *inside* tracked directories: a tracked directory
//! itself, and a path named to `cairn add`, are never ignored. `add`,
//! `status` and `checkout` all walk a tracked directory through
//! [`walk_dir`], so they agree on which files are data.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;

use crate::error::{Error, Result};

/// The file name cairn reads ignore rules from.
pub const FILE_NAME: &str = ".cairnignore";

/// The ignore rules in force inside one tracked directory.
#[derive(Debug, Clone)]
pub struct CairnIgnore {
    root: PathBuf,
    /// Repository-relative directory (`""` for the root) → its rules.
    by_dir: HashMap<String, Gitignore>,
}

impl CairnIgnore {
    /// The rules for the tracked directory `rel`: the `.cairnignore` files
    /// of the root, of each directory above `rel`, and of `rel` itself.
    /// Those of directories inside `rel` are added by [`Self::enter`] as a
    /// walk reaches them.
    pub fn for_tracked(root: &Path, rel: &str) -> Result<CairnIgnore> {
        let mut ig = CairnIgnore {
            root: root.to_path_buf(),
            by_dir: HashMap::new(),
        };
        ig.enter("")?;
        let mut dir = String::new();
        for comp in rel.split('/') {
            if !dir.is_empty() {
                dir.push('/');
            }
            dir.push_str(comp);
            ig.enter(&dir)?;
        }
        Ok(ig)
    }

    /// Read the `.cairnignore` of repository-relative directory `dir`, if
    /// it has one.
    pub fn enter(&mut self, dir: &str) -> Result<()> {
        let abs = if dir.is_empty() {
            self.root.clone()
        } else {
            self.root.join(dir)
        };
        let file = abs.join(FILE_NAME);
        if !file.is_file() {
            return Ok(());
        }
        let mut b = GitignoreBuilder::new(&abs);
        if let Some(e) = b.add(&file) {
            return Err(bad_file(&file, e));
        }
        let gi = b.build().map_err(|e| bad_file(&file, e))?;
        if !gi.is_empty() {
            self.by_dir.insert(dir.to_string(), gi);
        }
        Ok(())
    }

    /// Whether repository-relative `path` is ignored by the rules of the
    /// directories above it, deepest first. Its parent directories are not
    /// looked at: a walk never reaches a path below an ignored directory.
    pub fn is_ignored(&self, path: &str, is_dir: bool) -> bool {
        if self.by_dir.is_empty() {
            return false;
        }
        let abs = self.root.join(path);
        let mut dir = path;
        loop {
            dir = match dir.rsplit_once('/') {
                Some((d, _)) => d,
                None if dir.is_empty() => return false,
                None => "",
            };
            if let Some(gi) = self.by_dir.get(dir) {
                match gi.matched(&abs, is_dir) {
                    Match::Ignore(_) => return true,
                    Match::Whitelist(_) => return false,
                    Match::None => {}
                }
            }
            if dir.is_empty() {
                return false;
            }
        }
    }

    /// Whether `path`, or any directory between the tracked directory
    /// `rel` and it, is ignored: for a path read from a listing, which no
    /// walk reached.
    pub fn is_ignored_in(&self, rel: &str, path: &str) -> bool {
        let Some(sub) = path.strip_prefix(rel).and_then(|s| s.strip_prefix('/')) else {
            return false;
        };
        let mut at = rel.len() + 1;
        for comp in sub.split('/') {
            at += comp.len();
            let is_dir = at < path.len();
            if self.is_ignored(&path[..at], is_dir) {
                return true;
            }
            at += 1;
        }
        false
    }
}

fn bad_file(path: &Path, e: ignore::Error) -> Error {
    Error::IgnoreFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Every entry below the tracked directory `rel` (at `abs`) that is not
/// ignored, directories excluded, in walk order; `.cairnignore` files of the
/// directories reached are read on the way. The rules come back too, to
/// judge paths of a stored listing by ([`CairnIgnore::is_ignored_in`]).
pub fn walk_dir(
    root: &Path,
    rel: &str,
    abs: &Path,
) -> Result<(Vec<walkdir::DirEntry>, CairnIgnore)> {
    let mut ig = CairnIgnore::for_tracked(root, rel)?;
    let mut out = Vec::new();
    let mut it = walkdir::WalkDir::new(abs)
        .min_depth(1)
        .follow_links(false)
        .into_iter();
    while let Some(entry) = it.next() {
        let entry = entry.map_err(|e| {
            let p = e.path().unwrap_or(abs).to_path_buf();
            Error::io("walk", p, e.into())
        })?;
        let is_dir = entry.file_type().is_dir();
        let Some(sub) = entry.path().strip_prefix(abs).ok().and_then(|p| p.to_str()) else {
            // A non-UTF-8 name: the caller reports it.
            if !is_dir {
                out.push(entry);
            }
            continue;
        };
        let path = format!("{rel}/{sub}");
        if ig.is_ignored(&path, is_dir) {
            if is_dir {
                it.skip_current_dir();
            }
            continue;
        }
        if is_dir {
            ig.enter(&path)?;
        } else {
            out.push(entry);
        }
    }
    Ok((out, ig))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, text) in files {
            let path = d.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        d
    }

    fn walked(d: &tempfile::TempDir, rel: &str) -> Vec<String> {
        let mut v: Vec<String> = walk_dir(d.path(), rel, &d.path().join(rel))
            .unwrap()
            .0
            .iter()
            .map(|e| {
                let p = e.path().strip_prefix(d.path()).unwrap();
                p.to_str().unwrap().to_string()
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn root_and_nested_rules_with_deeper_winning() {
        let d = repo(&[
            (".cairnignore", "__pycache__/\n*.log\n"),
            ("data/.cairnignore", "!keep.log\n"),
            ("data/a.csv", "a"),
            ("data/x.log", "x"),
            ("data/keep.log", "k"),
            ("data/__pycache__/m.pyc", "p"),
            ("data/sub/.cairnignore", "/local.txt\n"),
            ("data/sub/local.txt", "l"),
            ("data/sub/deeper/local.txt", "l"),
        ]);
        assert_eq!(
            walked(&d, "data"),
            [
                "data/.cairnignore",
                "data/a.csv",
                "data/keep.log",
                "data/sub/.cairnignore",
                "data/sub/deeper/local.txt",
            ]
        );
    }

    #[test]
    fn nothing_below_an_ignored_directory_comes_back() {
        let d = repo(&[
            ("data/.cairnignore", "tmp/\n!tmp/keep\n"),
            ("data/tmp/keep", "k"),
            ("data/b", "b"),
        ]);
        assert_eq!(walked(&d, "data"), ["data/.cairnignore", "data/b"]);
        let ig = CairnIgnore::for_tracked(d.path(), "data").unwrap();
        assert!(ig.is_ignored_in("data", "data/tmp/keep"));
        assert!(!ig.is_ignored_in("data", "data/b"));
    }

    #[test]
    fn the_tracked_directory_itself_is_never_ignored() {
        let d = repo(&[(".cairnignore", "data\n"), ("data/a", "a")]);
        assert_eq!(walked(&d, "data"), ["data/a"]);
    }

    #[test]
    fn a_bad_pattern_names_the_file() {
        let d = repo(&[("data/.cairnignore", "ok\n[z-a]\n"), ("data/a", "a")]);
        let err = CairnIgnore::for_tracked(d.path(), "data").unwrap_err();
        assert!(
            matches!(&err, Error::IgnoreFile { path, .. } if path.ends_with("data/.cairnignore")),
            "{err}"
        );
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
