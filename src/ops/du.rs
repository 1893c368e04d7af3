//! `du [REV] [PATH…]`: what each tracked path costs: its logical bytes,
//! the bytes no other tracked path shares, what it takes in the local cache
//! and, when asked, on a remote.
//!
//! The chunks a path reaches are read from the cache (listings, manifests
//! and segments), so the counts are exact for data the cache holds. Where
//! the cache lacks part of a path's metadata its unique, stored and remote
//! bytes leave that part out, and the row says so (`complete: false`)
//! rather than guessing. Uniqueness is judged against every path tracked at
//! the same version, whichever paths are shown. A remote's bytes come from
//! its index (index files are cached locally by name, so only new ones are
//! downloaded); nothing else is read from it.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::engine::reach::Reach;
use crate::error::Result;
use crate::format::kind::ObjectKind;
use crate::format::pointer::Pointer;
use crate::hash::Id;
use crate::progress::Progress;
use crate::remote::index::RemoteIndex;
use crate::repo::history::filter;
use crate::transfer::Connection;

use super::select::Selection;
use super::Session;

/// What to measure.
#[derive(Debug, Clone, Default)]
pub struct DuOptions {
    /// The revision; `None`: the work tree's pointers.
    pub rev: Option<String>,
    /// Repository-relative paths to report; empty: every tracked path.
    pub paths: Vec<String>,
    /// Also count the bytes on this remote (a name or URL; `Some("")`
    /// is not accepted, the CLI passes a name it was given).
    pub remote: Option<String>,
}

/// The cost of tracked data, per path and in total.
#[derive(Debug, Clone, Serialize)]
pub struct DuReport {
    /// Whether every count could be made from the cache's metadata.
    pub complete: bool,
    pub paths: Vec<DuRow>,
    /// The remote counted; `None`: no remote was asked for.
    pub remote: Option<String>,
    pub rev: Option<String>,
    /// The rows together: the cache and remote bytes of objects shared
    /// between rows count once.
    pub total: DuTotal,
}

/// One tracked path.
#[derive(Debug, Clone, Serialize)]
pub struct DuRow {
    /// Whether the cache held all the metadata the counts needed.
    pub complete: bool,
    /// Files it holds: 1 for a file.
    pub files: u64,
    /// `file` or `dir`.
    pub kind: &'static str,
    /// Bytes of data (the sum of its files' sizes).
    pub logical_bytes: u64,
    pub path: String,
    /// Bytes its objects take on the remote (compressed, as stored);
    /// `None` when no remote was asked for.
    pub remote_bytes: Option<u64>,
    /// Bytes its objects take in the local cache (compressed, as stored).
    pub stored_bytes: u64,
    /// Bytes (uncompressed) in chunks no other path tracked at this version
    /// reaches: what dropping this path alone would free, before
    /// compression.
    pub unique_bytes: u64,
}

/// The sum of the rows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DuTotal {
    pub files: u64,
    pub logical_bytes: u64,
    pub remote_bytes: Option<u64>,
    pub stored_bytes: u64,
    pub unique_bytes: u64,
}

/// Measure the tracked data `opts` selects. A revision needs git; a remote
/// is reached only when `opts.remote` names one.
///
/// ```no_run
/// use std::path::Path;
///
/// use cairn::ops::du::{du, DuOptions};
/// use cairn::ops::Session;
/// use cairn::progress::Silent;
///
/// let s = Session::open(Path::new("."))?;
/// let report = du(&s, DuOptions::default(), &Silent)?;
/// for r in &report.paths {
///     println!("{}: {} logical, {} in the cache", r.path, r.logical_bytes, r.stored_bytes);
/// }
/// # Ok::<(), cairn::Error>(())
/// ```
pub fn du(s: &Session, opts: DuOptions, progress: &dyn Progress) -> Result<DuReport> {
    let store = s.store(progress)?;
    let all = Selection {
        rev: opts.rev.clone(),
        paths: Vec::new(),
    }
    .tracked(s, progress)?;
    let remote = match &opts.remote {
        Some(name) => {
            let resolved = s.remote(Some(name))?;
            let label = resolved.name.clone();
            let conn = Connection::open(resolved, &s.workspace().cache_dir(), false)?;
            Some((label, conn.load_index()?.index))
        }
        None => None,
    };
    // What each tracked path reaches, and how many paths reach each chunk.
    let mut reaches = Vec::with_capacity(all.len());
    let mut sharing: HashMap<Id, u32> = HashMap::new();
    for (rel, p) in &all {
        let mut r = Reach::default();
        r.add_pointer(store, rel, p)?;
        for id in r.chunk_len.keys() {
            *sharing.entry(*id).or_default() += 1;
        }
        reaches.push(r);
    }
    let shown: HashSet<String> = filter(all.clone(), &opts.paths)
        .into_iter()
        .map(|(rel, _)| rel)
        .collect();
    let mut rows = Vec::new();
    let mut total = DuTotal {
        remote_bytes: remote.as_ref().map(|_| 0),
        ..DuTotal::default()
    };
    let mut counted: HashSet<(ObjectKind, Id)> = HashSet::new();
    for ((rel, p), r) in all.iter().zip(&reaches) {
        if !shown.contains(rel) {
            continue;
        }
        let unique_bytes = r
            .chunk_len
            .iter()
            .filter(|(id, _)| sharing.get(*id) == Some(&1))
            .map(|(_, len)| len)
            .sum();
        let stored = |o: &(ObjectKind, Id)| store.stored_len(o.0, &o.1).unwrap_or(0);
        let on_remote = |idx: &RemoteIndex, o: &(ObjectKind, Id)| {
            idx.get(o.0, &o.1)
                .filter(|_| idx.keeps(o.0, &o.1))
                .map_or(0, |(_, e)| u64::from(e.stored_len))
        };
        let row = DuRow {
            complete: r.missing.is_empty(),
            files: match p {
                Pointer::File { .. } => 1,
                Pointer::Dir { files, .. } => *files,
            },
            kind: match p {
                Pointer::File { .. } => "file",
                Pointer::Dir { .. } => "dir",
            },
            logical_bytes: p.size(),
            path: rel.clone(),
            remote_bytes: remote
                .as_ref()
                .map(|(_, idx)| r.objects.iter().map(|o| on_remote(idx, o)).sum()),
            stored_bytes: r.objects.iter().map(stored).sum(),
            unique_bytes,
        };
        total.files += row.files;
        total.logical_bytes += row.logical_bytes;
        total.unique_bytes += row.unique_bytes;
        for o in &r.objects {
            if counted.insert(*o) {
                total.stored_bytes += stored(o);
                if let (Some(t), Some((_, idx))) = (total.remote_bytes.as_mut(), &remote) {
                    *t += on_remote(idx, o);
                }
            }
        }
        rows.push(row);
    }
    Ok(DuReport {
        complete: rows.iter().all(|r| r.complete),
        paths: rows,
        remote: remote.map(|(name, _)| name),
        rev: opts.rev,
        total,
    })
}
