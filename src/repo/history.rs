//! Pointers as of a git revision, and the work tree's own.
//!
//! `ls`, `checkout REV` and `log` all start from "which pointer files does
//! this revision hold". The git module answers that from git objects; this
//! module turns the answer into validated `(data path, Pointer)` pairs, so
//! a pointer path from history is held to the same rules (no `..`, no
//! absolute paths, nothing in `.git` or `.cairn`) as one on disk.

use std::path::Path;

use crate::error::{Error, Result};
use crate::format::object::check_rel_path;
use crate::format::pointer::{Pointer, SUFFIX};
use crate::progress::{Progress, Warning};
use crate::repo::git::GitRepo;
use crate::repo::workspace::read_pointer;
use crate::repo::workspace::Workspace;

/// A tracked path and its pointer.
pub type Tracked = (String, Pointer);

/// The pointers of revision `rev`, read from git objects, sorted by path
/// (with the foreign pointers the import map resolves, `repo::foreign`).
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
    // A revision from before `cairn import` names its data with `.dvc`
    // files or LFS pointers; the import map turns them into pointers.
    crate::repo::foreign::extend_at(git, rev, &mut out)?;
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
    crate::repo::foreign::extend_work_tree(ws.root(), &mut out)?;
    Ok(out)
}

/// Revisions whose pointers a push reads the locators of, to find on the
/// remote what earlier versions of the pushed paths already sent (edits
/// share most chunks with the version before): `HEAD` and its first `k - 1`
/// first-parent ancestors, then the tips of up to `k` remote-tracking
/// refs. Bounded, so the cost does not grow with history. Empty before
/// the first commit.
pub fn recent_revisions(git: &GitRepo, k: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..k {
        let rev = format!("HEAD~{i}");
        if git.resolve(&rev).is_err() {
            break;
        }
        out.push(rev);
    }
    // A repository whose refs cannot be read just gives no hints here.
    let remotes = git.refs_under("refs/remotes/").unwrap_or_default();
    out.extend(
        remotes
            .into_iter()
            .filter(|r| !r.ends_with("/HEAD"))
            .take(k),
    );
    out
}

/// The distinct pointers at data path `rel` in `revs` (a revision without
/// one, or whose pointer does not parse, gives none): what earlier
/// versions of `rel` were.
pub fn pointers_of_path(git: &GitRepo, rel: &str, revs: &[String]) -> Vec<Pointer> {
    let path = format!("{rel}{SUFFIX}");
    let mut out: Vec<Pointer> = Vec::new();
    for rev in revs {
        let Ok(Some(bytes)) = git.file_at(rev, &path) else {
            continue;
        };
        if let Ok(ptr) = Pointer::parse(Path::new(&format!("{rev}:{path}")), &bytes) {
            if !out.iter().any(|p| p.id() == ptr.id()) {
                out.push(ptr);
            }
        }
    }
    out
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

/// The tracked paths among `tracked` that the repository-relative `rels`
/// select (all when empty), each with the part of it asked for when the
/// argument is a path inside a tracked directory. An argument that selects
/// nothing is [`Error::NotTracked`].
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
