//! Pointers as of a git revision, and the work tree's own.
//!
//! `ls`, `checkout REV` and `log` all start from "which pointer files does
//! this revision hold". The git module answers that from git objects; this
//! module turns the answer into validated `(data path, Pointer)` pairs, so
//! a pointer path from history is held to the same rules (no `..`, no
//! absolute paths, nothing in `.git` or `.cairn`) as one on disk.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::format::object::check_rel_path;
use crate::format::pointer::{Pointer, SUFFIX};
use crate::progress::{Progress, Warning};
use crate::repo::git::GitRepo;
use crate::repo::workspace::read_pointer;
use crate::repo::workspace::Workspace;

/// A tracked path and its pointer.
pub type Tracked = (String, Pointer);

/// The pointers of revision `rev`, read from git objects, sorted by path.
pub fn pointers_at(git: &GitRepo, rev: &str) -> Result<Vec<Tracked>> {
    let mut out = Vec::new();
    for (ptr_path, bytes) in git.pointers_at(rev)? {
        let rel = ptr_path
            .strip_suffix(SUFFIX)
            .expect("the git module only returns *.cairn paths")
            .to_string();
        check_rel_path(&rel).map_err(|reason| Error::UnsafePath {
            path: rel.clone(),
            reason,
        })?;
        let ptr = Pointer::parse(Path::new(&format!("{rev}:{ptr_path}")), &bytes)?;
        out.push((rel, ptr));
    }
    Ok(out)
}

/// The pointers in the work tree, sorted by path. A file named `*.cairn`
/// that is not a pointer at all is skipped and reported to `progress`.
pub fn pointers_in_work_tree(ws: &Workspace, progress: &dyn Progress) -> Result<Vec<Tracked>> {
    let mut out = Vec::new();
    for rel in ws.find_tracked()? {
        match read_pointer(ws, &rel) {
            Ok(p) => out.push((rel, p)),
            Err(Error::NotAPointer { path }) => progress.warn(Warning::NotAPointer {
                path,
                reason: "it does not start with `cairn-pointer`".into(),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Keep the entries at or below any of `prefixes` (all when empty).
pub fn filter(tracked: Vec<Tracked>, prefixes: &[String]) -> Vec<Tracked> {
    if prefixes.is_empty() {
        return tracked;
    }
    tracked
        .into_iter()
        .filter(|(rel, _)| {
            prefixes.iter().any(|p| {
                rel == p || rel.starts_with(&format!("{p}/")) || p.starts_with(&format!("{rel}/"))
            })
        })
        .collect()
}

/// Split command-line words into an optional revision and paths, the way
/// git does without `--`: the first word is a path if it exists in the work
/// tree or names tracked data (even deleted data), and otherwise must be a
/// revision.
pub fn split_rev(
    ws: &Workspace,
    git: Option<&GitRepo>,
    cwd: &Path,
    words: &[String],
) -> Result<(Option<String>, Vec<String>)> {
    let Some(first) = words.first() else {
        return Ok((None, Vec::new()));
    };
    let is_path = {
        let p = cwd.join(first);
        let on_disk = p.symlink_metadata().is_ok()
            || Path::new(&format!("{}{SUFFIX}", p.display())).is_file();
        on_disk
            || match ws.rel_path(cwd, Path::new(first)) {
                Ok(rel) => {
                    let rel = rel.strip_suffix(SUFFIX).unwrap_or(&rel).to_string();
                    ws.find_tracked()?.iter().any(|t| {
                        *t == rel
                            || t.starts_with(&format!("{rel}/"))
                            || rel.starts_with(&format!("{t}/"))
                    })
                }
                Err(_) => false,
            }
    };
    let rest = |from: usize| -> Result<Vec<String>> {
        words[from..]
            .iter()
            .map(|w| ws.rel_path(cwd, Path::new(w)))
            .map(|r| r.map(|s| s.strip_suffix(SUFFIX).map(str::to_string).unwrap_or(s)))
            .collect()
    };
    if !is_path {
        if let Some(g) = git {
            return match g.resolve(first) {
                Ok(_) => Ok((Some(first.clone()), rest(1)?)),
                Err(crate::repo::git::GitError::UnknownRevision { .. }) => {
                    Err(Error::NotRevisionOrPath {
                        word: first.clone(),
                    })
                }
                Err(e) => Err(e.into()),
            };
        }
    }
    Ok((None, rest(0)?))
}

/// Like [`select_tracked`], for arguments already resolved to
/// repository-relative paths.
pub fn select_tracked_rel(
    ws: &Workspace,
    tracked: &[String],
    rels: &[String],
) -> Result<Vec<(String, Option<String>)>> {
    if rels.is_empty() {
        return Ok(tracked.iter().map(|t| (t.clone(), None)).collect());
    }
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for a in rels {
        let before = out.len();
        for t in tracked {
            let sel = if t == a || t.starts_with(&format!("{a}/")) {
                Some((t.clone(), None))
            } else {
                a.strip_prefix(&format!("{t}/"))
                    .map(|sub| (t.clone(), Some(sub.to_string())))
            };
            if let Some(s) = sel {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        if out.len() == before {
            return Err(Error::NotTracked {
                path: ws.root().join(a),
            });
        }
    }
    Ok(out)
}

/// User path arguments (relative to `cwd`) as repository-relative paths of
/// tracked data: a pointer file's name stands for its data.
pub fn tracked_args(
    ws: &Workspace,
    cwd: &std::path::Path,
    args: &[PathBuf],
) -> Result<Vec<String>> {
    args.iter()
        .map(|arg| {
            let a = ws.rel_path(cwd, arg)?;
            Ok(a.strip_suffix(SUFFIX).map(str::to_string).unwrap_or(a))
        })
        .collect()
}
