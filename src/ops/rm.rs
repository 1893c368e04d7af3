//! `rm PATH…`: stop tracking paths (DVC's `remove`, Git LFS's `untrack`).
//!
//! The pointer file and the `.gitignore` line cairn wrote for each path go;
//! the data stays in the work tree, now plain untracked files that git
//! shows, unless `delete_data` asks for it to go too. Data is deleted only
//! when checkout's rule would remove it (FORMAT.md §9.2): it holds nothing
//! cairn has not recorded and the cache has it, so `git checkout` of an
//! older commit and `cairn checkout` bring it back. `force` deletes it
//! anyway. Every path is checked before anything is changed.
//!
//! The order makes a kill at any moment harmless and a re-run finish the
//! job: the data (if asked), then the `.gitignore` line, then the pointer.
//! While the pointer exists the path is still tracked, and everything
//! removed so far is restorable.
//!
//! ```no_run
//! use std::path::Path;
//!
//! use cairn::ops::{rm, Session};
//! use cairn::progress::Silent;
//!
//! let s = Session::open(Path::new("."))?;
//! let opts = rm::RmOptions {
//!     paths: vec!["data/raw".into()],
//!     ..Default::default()
//! };
//! let report = rm::rm(&s, opts, &Silent)?;
//! println!("stage with: git add -A -- {}", report.to_commit.join(" "));
//! # Ok::<(), cairn::Error>(())
//! ```

use serde::Serialize;

use super::Session;
use crate::engine::restore::remove_data;
use crate::engine::status::{State, Status};
use crate::error::{Error, Result};
use crate::format::pointer::{Pointer, SUFFIX};
use crate::progress::Progress;
use crate::repo::stat_index::StatIndex;
use crate::repo::workspace::{read_pointer, Workspace};

#[derive(Debug, Clone, Default)]
pub struct RmOptions {
    /// Repository-relative tracked paths; a pointer file's name
    /// (`data.cairn`) stands for the data beside it.
    pub paths: Vec<String>,
    /// Delete the data from the work tree too (only if cairn has recorded
    /// all of it and the cache holds it, unless `force`).
    pub delete_data: bool,
    /// With `delete_data`: delete data holding changes cairn has not
    /// recorded, or that the cache lacks.
    pub force: bool,
}

/// One path no longer tracked.
#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    pub path: String,
    pub kind: &'static str,
    /// What became of the data: `kept`, `deleted` or `missing` (there was
    /// none in the work tree).
    pub data: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct RmReport {
    pub paths: Vec<Removed>,
    /// What to stage (`git add -A -- …` records the deletions and edits):
    /// the pointers and `.gitignore` files git knows of or that remain.
    pub to_commit: Vec<String>,
}

/// Stop tracking `opts.paths`.
pub fn rm(s: &Session, opts: RmOptions, progress: &dyn Progress) -> Result<RmReport> {
    let ws = s.workspace();
    s.lock()?;
    let mut rels: Vec<String> = Vec::new();
    for rel in opts.paths {
        let rel = strip_pointer_suffix(ws, rel);
        if !rels.contains(&rel) {
            rels.push(rel);
        }
    }
    // Check everything before changing anything.
    let mut tracked: Vec<(String, Pointer)> = Vec::new();
    for rel in rels {
        let ptr = read_tracked(ws, &rel)?;
        tracked.push((rel, ptr));
    }
    let mut index = StatIndex::load(&ws.stat_index_path())?;
    let mut present = Vec::new();
    for (rel, _) in &tracked {
        present.push(std::fs::symlink_metadata(ws.safe_abs(rel)?).is_ok());
    }
    if opts.delete_data && !opts.force {
        let store = s.store(progress)?;
        let status = Status::new(ws, store, &mut index, &crate::progress::Silent);
        let mut unsafe_paths = Vec::new();
        for (rel, ptr) in &tracked {
            let st = status.path(rel, ptr)?;
            let safe = match st.state {
                State::Missing | State::Stale => true,
                State::Clean => st.stored,
                State::Modified => false,
            };
            if !safe {
                unsafe_paths.push(rel.clone());
            }
        }
        if !unsafe_paths.is_empty() {
            return Err(Error::UnrecordedChanges {
                paths: unsafe_paths,
            });
        }
    }

    let mut report = RmReport {
        paths: Vec::new(),
        to_commit: Vec::new(),
    };
    for ((rel, ptr), was_there) in tracked.iter().zip(present) {
        let data = match (was_there, opts.delete_data) {
            (false, _) => "missing",
            (true, false) => "kept",
            (true, true) => {
                remove_data(ws, rel)?;
                crate::failpoint::hit("rm.data_removed");
                "deleted"
            }
        };
        index.remove_tree(rel);
        ws.remove_ignored(rel)?;
        crate::failpoint::hit("rm.gitignore_written");
        let pointer = ws.safe_abs(&format!("{rel}{SUFFIX}"))?;
        std::fs::remove_file(&pointer).map_err(|e| Error::io("remove", &pointer, e))?;
        report.paths.push(Removed {
            path: rel.clone(),
            kind: kind_of(ptr),
            data,
        });
    }
    index.save()?;
    report.to_commit = to_stage(s, tracked.iter().map(|(r, _)| r.as_str()))?;
    Ok(report)
}

/// The pointer of tracked path `rel`, for a verb that needs one.
pub(super) fn read_tracked(ws: &Workspace, rel: &str) -> Result<Pointer> {
    read_pointer(ws, rel).map_err(|e| match e {
        Error::NotTracked { path } => Error::NotTrackedHere { path },
        e => e,
    })
}

/// `data.cairn` names the data beside it, when the pointer is a file.
pub(super) fn strip_pointer_suffix(ws: &Workspace, rel: String) -> String {
    match rel.strip_suffix(SUFFIX) {
        Some(stem) if !stem.is_empty() && ws.root().join(&rel).is_file() => stem.to_string(),
        _ => rel,
    }
}

pub(super) fn kind_of(ptr: &Pointer) -> &'static str {
    match ptr {
        Pointer::File { .. } => "file",
        Pointer::Dir { .. } => "dir",
    }
}

/// The pointers and `.gitignore` files of `rels` worth staging: those in
/// the work tree, and those git's index has (to record their deletion).
/// Without git, those in the work tree.
pub(super) fn to_stage<'a>(
    s: &Session,
    rels: impl Iterator<Item = &'a str>,
) -> Result<Vec<String>> {
    let mut paths: Vec<String> = Vec::new();
    for rel in rels {
        for p in [format!("{rel}{SUFFIX}"), Workspace::gitignore_of(rel)] {
            if !paths.contains(&p) {
                paths.push(p);
            }
        }
    }
    let in_git = match s.git().map(|g| g.indexed(&paths)) {
        Some(Ok(v)) => v,
        _ => Vec::new(),
    };
    let root = s.workspace().root();
    paths.retain(|p| in_git.contains(p) || root.join(p).exists());
    Ok(paths)
}
