//! `status [PATH…]`: which tracked data differs from its pointers, and what
//! the default remote lacks as this cache last saw it (no network, so
//! status stays instant and works offline).
//!
//! The comparison itself is `crate::engine::status` (stat index first, hashing only
//! what it cannot vouch for; stale data told from edits). This use case
//! selects the pointers, runs it, saves what was learnt when no other cairn
//! is writing, and reports.

use std::sync::atomic::Ordering;

use serde::Serialize;

use crate::engine::status::{read_pointer_or_skip, Status};
use crate::error::Result;
use crate::format::kind::ObjectKind;
use crate::format::pointer::Pointer;
use crate::progress::Progress;
use crate::remote::index::RemoteIndex;
use crate::repo::stat_index::StatIndex;

use super::Session;

/// The rows of a status report.
pub use crate::engine::status::{Change, FileChange, PathStatus, State};

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub paths: Vec<PathStatus>,
    /// Files whose contents had to be read (the stat index could not vouch).
    pub files_read: u64,
    pub files_stat_only: u64,
    /// The default remote, if one is configured.
    pub remote: Option<String>,
    /// Clean, cached paths whose data the default remote lacked when this
    /// cache last talked to it; `None` if it never did.
    pub not_pushed: Option<Vec<String>>,
}

/// Status of the tracked paths at or below `rels` (repository-relative;
/// empty: all).
pub fn status(s: &Session, rels: &[String], progress: &dyn Progress) -> Result<StatusReport> {
    let ws = s.workspace();
    let store = s.store(progress)?;
    let mut index = StatIndex::load(&ws.stat_index_path())?;
    let mut tracked = ws.find_tracked()?;
    // A work tree at a revision from before `cairn import`.
    let foreign = crate::repo::foreign::in_work_tree(ws.root(), &tracked)?;
    tracked.extend(foreign.iter().map(|(p, _)| p.clone()));
    tracked.sort();
    let selected = crate::repo::history::select_tracked_rel(ws, &tracked, rels)?;
    let st = Status::new(ws, store, &mut index, progress);
    let mut rows = Vec::new();
    let mut pointers = Vec::new();
    for (rel, _) in &selected {
        let ptr = match foreign.iter().find(|(p, _)| p == rel) {
            Some((_, p)) => p.clone(),
            // A file that merely ends in .cairn is skipped, with a warning.
            None => match read_pointer_or_skip(ws, rel, progress)? {
                Some(p) => p,
                None => continue,
            },
        };
        rows.push(st.path(rel, &ptr)?);
        pointers.push(ptr);
    }
    let files_read = st.counters.files_hashed.load(Ordering::Relaxed);
    let files_stat_only = st.counters.files_stat_only.load(Ordering::Relaxed);
    // Remember what was just hashed, if no other cairn is busy writing.
    if index.is_dirty() && s.try_lock() {
        index.save()?;
    }
    let remote = s.remote(None).ok();
    let seen = remote
        .as_ref()
        .and_then(|r| crate::remote::index::cached(&ws.cache_dir(), &r.location));
    let not_pushed = seen.map(|idx| {
        rows.iter()
            .zip(&pointers)
            .filter(|(r, ptr)| r.stored && r.state == State::Clean && !pushed(&idx, ptr))
            .map(|(r, _)| r.path.clone())
            .collect()
    });
    Ok(StatusReport {
        paths: rows,
        files_read,
        files_stat_only,
        remote: remote.map(|r| r.name),
        not_pushed,
    })
}

/// Whether the remote (as last seen) has the pointer's top object; a push
/// sends everything below it before the index that lists it.
fn pushed(idx: &RemoteIndex, ptr: &Pointer) -> bool {
    match ptr {
        Pointer::File { size: 0, .. } => true,
        Pointer::File { id, .. } => {
            idx.contains(ObjectKind::Manifest, id) || idx.contains(ObjectKind::Chunk, id)
        }
        Pointer::Dir { id, .. } => idx.contains(ObjectKind::Tree, id),
    }
}
