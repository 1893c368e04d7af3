//! Git LFS's side of `cairn import lfs`: its objects in
//! `.git/lfs/objects/<2>/<2>/<oid>` (fetched with an installed `git lfs
//! fetch` when absent), checked against their SHA-256, and the
//! `.gitattributes` lines that send files through its filter.

use std::cell::Cell;
use std::path::{Path, PathBuf};

use ignore::gitignore::GitignoreBuilder;

use super::source::{copy_file_verified, Copied, Expect};
use super::{Fetch, Objects};
use crate::durable::write_atomic;
use crate::error::{Error, Result};
use crate::format::foreign::lfs_attribute_lines;
use crate::repo::git::GitRepo;

/// The local Git LFS store, and a way to fill it.
pub struct LfsObjects<'a> {
    dir: PathBuf,
    git: &'a GitRepo,
    /// Fetch every ref's objects (old revisions are imported too).
    all: bool,
    fetched: Cell<bool>,
    /// Why `git lfs fetch` failed, when it did.
    pub fetch_error: std::cell::RefCell<Option<String>>,
}

impl<'a> LfsObjects<'a> {
    pub fn new(git: &'a GitRepo, all: bool) -> LfsObjects<'a> {
        LfsObjects {
            dir: git.common_dir().join("lfs").join("objects"),
            git,
            all,
            fetched: Cell::new(false),
            fetch_error: std::cell::RefCell::new(None),
        }
    }
}

impl Objects for LfsObjects<'_> {
    fn fetch(&self, want: &Expect, _dir: bool, dest: &Path) -> Result<Fetch> {
        let src = self
            .dir
            .join(crate::format::foreign::lfs_object_path(&want.hex));
        let mut got = copy_file_verified(&src, dest, want)?;
        if got == Copied::Absent && !self.fetched.replace(true) {
            if let Err(e) = self.git.lfs_fetch(self.all) {
                *self.fetch_error.borrow_mut() = Some(e.to_string());
            }
            got = copy_file_verified(&src, dest, want)?;
        }
        Ok(match got {
            Copied::Verified if self.fetched.get() => Fetch::Got("git lfs fetch"),
            Copied::Verified => Fetch::Got("LFS objects"),
            Copied::Mismatch => Fetch::Corrupt,
            Copied::Absent => Fetch::Missing,
        })
    }
}

/// Whether `path` is selected by `patterns` (gitignore syntax: a path,
/// a directory, or a glob); everything when there are none.
pub fn selector(root: &Path, patterns: &[String]) -> Result<impl Fn(&str) -> bool> {
    let mut b = GitignoreBuilder::new(root);
    for p in patterns {
        b.add_line(None, p).map_err(|e| Error::Foreign {
            path: p.clone(),
            tool: "the command line",
            source: crate::format::foreign::ForeignError::Syntax(e.to_string()),
        })?;
    }
    let m = b.build().map_err(|e| Error::Foreign {
        path: patterns.join(" "),
        tool: "the command line",
        source: crate::format::foreign::ForeignError::Syntax(e.to_string()),
    })?;
    let all = patterns.is_empty();
    Ok(move |path: &str| all || m.matched_path_or_any_parents(path, false).is_ignore())
}

/// Take out of the `.gitattributes` files of the work tree every
/// `filter=lfs` line that matches an imported file and no LFS file that
/// stays (`lfs_paths` are every LFS file of HEAD, `imported` those now in
/// cairn). Returns the files changed (repository-relative) and the lines
/// kept because other LFS files still use them.
pub fn drop_filter_lines(
    root: &Path,
    lfs_paths: &[String],
    imported: &[String],
) -> Result<(Vec<String>, Vec<String>)> {
    let mut dirs: Vec<String> = vec![String::new()];
    for p in imported {
        let mut d = p.as_str();
        while let Some((parent, _)) = d.rsplit_once('/') {
            if !dirs.iter().any(|x| x == parent) {
                dirs.push(parent.to_string());
            }
            d = parent;
        }
    }
    let (mut changed, mut kept) = (Vec::new(), Vec::new());
    for dir in dirs {
        let rel = if dir.is_empty() {
            ".gitattributes".to_string()
        } else {
            format!("{dir}/.gitattributes")
        };
        let path = root.join(&rel);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        let base = root.join(&dir);
        let under = |p: &str| -> Option<String> {
            if dir.is_empty() {
                Some(p.to_string())
            } else {
                p.strip_prefix(&format!("{dir}/")).map(str::to_string)
            }
        };
        let mut drop = Vec::new();
        for (line, pattern) in lfs_attribute_lines(&text) {
            let mut b = GitignoreBuilder::new(&base);
            if b.add_line(None, &pattern).is_err() {
                continue;
            }
            let Ok(m) = b.build() else { continue };
            let hit = |p: &String| {
                under(p).is_some_and(|r| m.matched_path_or_any_parents(&r, false).is_ignore())
            };
            let used = imported.iter().any(hit);
            let stays = lfs_paths.iter().filter(|p| !imported.contains(p)).any(hit);
            if used && stays {
                kept.push(format!("{rel}:{line}: {pattern}"));
            } else if used {
                drop.push(line);
            }
        }
        if drop.is_empty() {
            continue;
        }
        let rest: String = text
            .split_inclusive('\n')
            .enumerate()
            .filter(|(i, _)| !drop.contains(&(i + 1)))
            .map(|(_, l)| l)
            .collect();
        if rest.trim().is_empty() {
            std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
        } else {
            write_atomic(&path, rest.as_bytes())?;
        }
        changed.push(rel);
    }
    Ok((changed, kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_only_the_lines_that_no_remaining_lfs_file_uses() {
        let dir = tempfile::tempdir().unwrap();
        let attrs = "*.bin filter=lfs diff=lfs merge=lfs -text\n*.psd filter=lfs diff=lfs merge=lfs -text\n*.txt text\n";
        std::fs::write(dir.path().join(".gitattributes"), attrs).unwrap();
        let lfs = vec![
            "a.bin".to_string(),
            "d/b.bin".to_string(),
            "c.psd".to_string(),
        ];
        // Only a.bin imported: *.bin still serves d/b.bin.
        let (changed, kept) = drop_filter_lines(dir.path(), &lfs, &["a.bin".into()]).unwrap();
        assert!(changed.is_empty());
        assert_eq!(kept.len(), 1);
        let (changed, _) =
            drop_filter_lines(dir.path(), &lfs, &["a.bin".into(), "d/b.bin".into()]).unwrap();
        assert_eq!(changed, vec![".gitattributes".to_string()]);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".gitattributes")).unwrap(),
            "*.psd filter=lfs diff=lfs merge=lfs -text\n*.txt text\n"
        );
    }

    #[test]
    fn patterns_select_paths_and_directories() {
        let sel = selector(Path::new("/r"), &["*.bin".into(), "models/".into()]).unwrap();
        assert!(sel("a/x.bin"));
        assert!(sel("models/m.pt"));
        assert!(!sel("a/x.txt"));
        let all = selector(Path::new("/r"), &[]).unwrap();
        assert!(all("anything"));
    }
}
