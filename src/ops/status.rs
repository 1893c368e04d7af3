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
use crate::hash::Id;
use crate::progress::Progress;
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
        pointers.push((rel.as_str(), ptr));
    }
    let remote = s.remote(None).ok();
    // What the default remote held when this cache last saw it, for each
    // pointer the blobs that would show it pushed (none for an empty
    // file): read on another thread while the work tree is walked, since
    // it is a few MB of index files to check and the walk waits on the
    // kernel.
    let keys: Vec<(ObjectKind, Id)> = pointers.iter().flat_map(|(_, p)| proof(p)).collect();
    let cache = ws.cache_dir();
    let st = Status::new(ws, store, &mut index, progress);
    let (rows, seen) = std::thread::scope(|sc| {
        let probe = remote.as_ref().map(|r| {
            let (cache, keys) = (&cache, &keys);
            sc.spawn(move || crate::remote::index::cached_lists(cache, &r.location, keys))
        });
        let rows: Result<Vec<PathStatus>> =
            pointers.iter().map(|(rel, p)| st.path(rel, p)).collect();
        (rows, probe.and_then(|h| h.join().ok().flatten()))
    });
    let rows = rows?;
    let files_read = st.counters.files_hashed.load(Ordering::Relaxed);
    let files_stat_only = st.counters.files_stat_only.load(Ordering::Relaxed);
    drop(st);
    // Remember what was just hashed, if no other cairn is busy writing.
    if index.is_dirty() && s.try_lock() {
        index.save()?;
    }
    // Only clean, cached paths are reported as not pushed.
    let not_pushed = seen.map(|has| {
        let mut at = 0;
        let mut out = Vec::new();
        for (row, (_, ptr)) in rows.iter().zip(&pointers) {
            let n = proof(ptr).len();
            let pushed = n == 0 || has[at..at + n].iter().any(|&h| h);
            at += n;
            if row.stored && row.state == State::Clean && !pushed {
                out.push(row.path.clone());
            }
        }
        out
    });
    Ok(StatusReport {
        paths: rows,
        files_read,
        files_stat_only,
        remote: remote.map(|r| r.name),
        not_pushed,
    })
}

/// The blobs of which any one on the remote (as last seen) shows the
/// pointer pushed: its top object, since a push sends everything below it
/// before the index that lists it. None for an empty file, which needs
/// nothing.
fn proof(ptr: &Pointer) -> Vec<(ObjectKind, Id)> {
    match ptr {
        Pointer::File { size: 0, .. } => Vec::new(),
        Pointer::File { id, .. } => vec![(ObjectKind::Manifest, *id), (ObjectKind::Chunk, *id)],
        Pointer::Dir { id, .. } => vec![(ObjectKind::Tree, *id)],
    }
}
