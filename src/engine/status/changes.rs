//! How a directory's stored listing and its current one differ, file by
//! file: the changes `status` and `diff` name, and the one case that is no
//! change at all (files a newer `.cairnignore` rule excludes).

use std::collections::HashMap;

use super::{Change, FileChange};
use crate::engine::listing::Unshared;
use crate::format::object::TreeEntry;
use crate::repo::cairnignore::CairnIgnore;

/// Whether the stored listing, without the files `.cairnignore` now
/// excludes, is the current one: a listing stored before a rule was added
/// still names those files, and their presence or absence is no change
/// (FORMAT.md §11). `parts` are the entries of the stored and the current
/// listing outside the subtrees they share (the shared ones are current,
/// so not ignored); `None`: the stored listing is not in the cache.
pub(super) fn same_but_ignored(rel: &str, parts: Option<&Unshared>, ignore: &CairnIgnore) -> bool {
    let Some((old, current)) = parts else {
        return false;
    };
    let kept: Vec<&TreeEntry> = old
        .iter()
        .filter(|e| !ignore.is_ignored_in(rel, &format!("{rel}/{}", e.path)))
        .collect();
    kept.len() != old.len()
        && kept.len() == current.len()
        && kept.iter().zip(current).all(|(a, b)| *a == b)
}

/// File-level differences between a stored listing and the current one.
pub fn diff_trees(rel: &str, old: &[TreeEntry], new: &[TreeEntry]) -> Vec<FileChange> {
    let before: HashMap<&str, &TreeEntry> = old.iter().map(|e| (e.path.as_str(), e)).collect();
    let after: HashMap<&str, &TreeEntry> = new.iter().map(|e| (e.path.as_str(), e)).collect();
    let mut out = Vec::new();
    for e in new {
        match before.get(e.path.as_str()) {
            None => out.push((e.path.as_str(), Change::Added)),
            Some(o) if o.id != e.id || o.mode != e.mode => {
                out.push((e.path.as_str(), Change::Modified))
            }
            _ => {}
        }
    }
    for e in old {
        if !after.contains_key(e.path.as_str()) {
            out.push((e.path.as_str(), Change::Deleted));
        }
    }
    out.sort_by(|a, b| a.0.cmp(b.0));
    out.into_iter()
        .map(|(p, change)| FileChange {
            path: format!("{rel}/{p}"),
            change,
        })
        .collect()
}
