//! `diff [A] [B]`: the tracked data that changed between two versions
//! (default: HEAD and the work tree, including edits not yet added, as
//! `git diff HEAD` compares), with sizes, the files that changed inside
//! directories, and the bytes that are really new.
//!
//! "New" bytes are those in chunks that A does not have: what a push of B
//! after A would send, and what B costs in the cache. Chunks and listings
//! come from the cache; what it lacks is left out of the counts, and the
//! report says so (`complete: false`) instead of guessing.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::engine::listing::{self as engine_listing, Unshared};
use crate::engine::reach::Reach;
use crate::engine::status::{self, diff_trees, Current, State, Status};
use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::listing;
use crate::format::object::{self, Form, Manifest};
use crate::format::pointer::Pointer;
use crate::hash::Id;
use crate::progress::Progress;
use crate::repo::git::GitError;
use crate::repo::history::Tracked;
use crate::repo::stat_index::StatIndex;
use crate::store::Store;

use super::select::Selection;
use super::Session;

/// The two versions to compare.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// The old revision; `None`: HEAD.
    pub from: Option<String>,
    /// The new revision; `None`: the work tree, its pointers and the
    /// edits not yet added (as `git diff REV` compares with the work tree).
    pub to: Option<String>,
}

/// How a tracked path (or a file inside one) changed between two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Modified,
    Removed,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            Change::Added => "added",
            Change::Modified => "modified",
            Change::Removed => "removed",
        })
    }
}

impl From<status::Change> for Change {
    fn from(c: status::Change) -> Change {
        match c {
            status::Change::Added => Change::Added,
            status::Change::Modified => Change::Modified,
            status::Change::Deleted => Change::Removed,
        }
    }
}

/// What changed. Serialised as `diff --json` prints it: keys in
/// alphabetical order, as they have always been.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// Whether the cache held everything the counts needed; if not, the
    /// new-byte counts may be low.
    pub complete: bool,
    pub from: String,
    /// Bytes of B's changed data in chunks A does not have.
    pub new_bytes: u64,
    /// The tracked paths that differ, sorted.
    pub paths: Vec<ChangedPath>,
    /// `None`: the work tree.
    pub to: Option<String>,
}

/// A tracked path that differs (fields in alphabetical order).
#[derive(Debug, Clone, Serialize)]
pub struct ChangedPath {
    pub change: Change,
    /// For a directory whose two listings are in the cache: the files that
    /// changed inside it.
    pub files: Vec<ChangedFile>,
    /// `file` or `dir` (B's kind, or A's for removed data).
    pub kind: &'static str,
    /// Bytes of its data in B in chunks A does not have.
    pub new_bytes: u64,
    pub new_size: Option<u64>,
    pub old_size: Option<u64>,
    pub path: String,
    /// Whether B's side is edits in the work tree not yet added (its new
    /// bytes are then the changed files the cache lacks, counted whole).
    pub unadded: bool,
}

/// A file inside a tracked directory that changed (fields in alphabetical
/// order).
#[derive(Debug, Clone, Serialize)]
pub struct ChangedFile {
    pub change: Change,
    pub new_size: Option<u64>,
    pub old_size: Option<u64>,
    /// Repository-relative.
    pub path: String,
}

/// Compare the tracked data of two versions; it needs git.
///
/// ```no_run
/// use std::path::Path;
///
/// use cairn::ops::diff::{diff, DiffOptions};
/// use cairn::ops::Session;
/// use cairn::progress::Silent;
///
/// let s = Session::open(Path::new("."))?;
/// let opts = DiffOptions {
///     from: Some("v1".into()),
///     to: Some("v2".into()),
/// };
/// let d = diff(&s, opts, &Silent)?;
/// for p in &d.paths {
///     println!("{} {} ({} new bytes)", p.change, p.path, p.new_bytes);
/// }
/// println!("{} new bytes in total", d.new_bytes);
/// # Ok::<(), cairn::Error>(())
/// ```
pub fn diff(s: &Session, opts: DiffOptions, progress: &dyn Progress) -> Result<DiffReport> {
    let git = s.require_git()?;
    let from = opts.from.unwrap_or_else(|| "HEAD".to_string());
    // Resolved first so an unknown revision is one plain error: gix's own
    // chain (a parse failure, then `NotFound`) says nothing more to a user.
    for rev in std::iter::once(&from).chain(opts.to.as_ref()) {
        git.resolve(rev).map_err(|e| match e {
            GitError::UnknownRevision { rev, .. } => {
                GitError::UnknownRevision { rev, source: None }
            }
            e => e,
        })?;
    }
    let store = s.store(progress)?;
    let a = Selection::at(from.clone()).tracked(s, progress)?;
    let b = Selection {
        rev: opts.to.clone(),
        paths: Vec::new(),
    }
    .tracked(s, progress)?;
    // Without B, the work tree: its pointers, and what was edited there
    // but not added, as `status` sees it.
    let edits = match opts.to {
        None => unadded(s, store, &b, progress)?,
        Some(_) => BTreeMap::new(),
    };
    let before: BTreeMap<&str, &Pointer> = a.iter().map(|(r, p)| (r.as_str(), p)).collect();
    let after: BTreeMap<&str, &Pointer> = b
        .iter()
        .map(|(r, p)| (r.as_str(), edits.get(r).map_or(p, |c| &c.pointer)))
        .collect();
    let mut paths: Vec<&str> = before.keys().chain(after.keys()).copied().collect();
    paths.sort_unstable();
    paths.dedup();

    // First B's side of each change: the chunks it may add. Then one pass
    // over A finds which of those A already has. Nothing holds all of A's
    // chunks, nor the files of a big directory that did not change.
    let mut rows = Vec::new();
    let mut sides = Vec::new();
    let mut incomplete = false;
    for rel in paths {
        let (old, new) = (before.get(rel).copied(), after.get(rel).copied());
        let (change, kind) = match (old, new) {
            (Some(o), Some(n)) if o == n => continue,
            (Some(_), Some(n)) => (Change::Modified, kind(n)),
            (None, Some(n)) => (Change::Added, kind(n)),
            (Some(o), None) => (Change::Removed, kind(o)),
            (None, None) => continue,
        };
        let edit = edits.get(rel);
        let parts = match (old, new) {
            (Some(o), Some(n)) => unshared(store, o, n, edit)?,
            _ => None,
        };
        sides.push(match new {
            Some(n) => new_side(store, rel, n, edit, parts.as_ref(), &mut incomplete)?,
            None => NewSide::default(),
        });
        rows.push(ChangedPath {
            change,
            files: changed_files(rel, parts),
            kind,
            new_bytes: 0,
            new_size: new.map(Pointer::size),
            old_size: old.map(Pointer::size),
            path: rel.to_string(),
            unadded: edit.is_some(),
        });
    }
    let wanted: HashSet<Id> = sides
        .iter()
        .flat_map(|s| s.chunks.keys().copied())
        .collect();
    let in_a = chunks_of(store, &a, wanted)?;
    let mut total_new = 0u64;
    for (row, side) in rows.iter_mut().zip(&sides) {
        row.new_bytes = side.raw
            + side
                .chunks
                .iter()
                .filter(|(id, _)| !in_a.contains(*id))
                .map(|(_, len)| len)
                .sum::<u64>();
        total_new += row.new_bytes;
    }
    Ok(DiffReport {
        complete: !incomplete,
        from,
        new_bytes: total_new,
        paths: rows,
        to: opts.to,
    })
}

/// The work tree's content of each tracked path that holds edits not yet
/// added (what `status` reports as modified; stale or missing data is not
/// an edit, so there the pointer stands).
fn unadded(
    s: &Session,
    store: &Store,
    tracked: &[Tracked],
    progress: &dyn Progress,
) -> Result<BTreeMap<String, Current>> {
    let ws = s.workspace();
    let mut index = StatIndex::load(&ws.stat_index_path())?;
    let st = Status::new(ws, store, &mut index, progress);
    let mut out = BTreeMap::new();
    for (rel, ptr) in tracked {
        if st.path(rel, ptr)?.state != State::Modified {
            continue;
        }
        if let Some(c) = st.current(rel, ptr)? {
            out.insert(rel.clone(), c);
        }
    }
    Ok(out)
}

/// What B's side of a changed path may add: its chunks with their
/// lengths, and the bytes of unadded files the cache does not hold, which
/// count whole (they have not been chunked, so dedup within them is not
/// seen).
#[derive(Debug, Default)]
struct NewSide {
    chunks: HashMap<Id, u64>,
    raw: u64,
}

/// B's side of changed path `rel` (pointer `new`, or the work tree's
/// content `edit`). When both listings are known, only the files outside
/// the subtrees they share (`parts`) can hold chunks A lacks: the shared
/// ones are A's own files at the same paths.
fn new_side(
    store: &Store,
    rel: &str,
    new: &Pointer,
    edit: Option<&Current>,
    parts: Option<&Unshared>,
    incomplete: &mut bool,
) -> Result<NewSide> {
    let mut r = Reach::default();
    let mut raw = 0;
    let mut unadded = |r: &mut Reach, path: &str, id: &Id, size: u64| {
        if store.has_file(id, size) {
            r.add_file_at(store, path, id, size)
        } else {
            raw += size;
            Ok(())
        }
    };
    match (parts, edit) {
        (Some((_, files)), Some(_)) => {
            for e in files {
                unadded(&mut r, &format!("{rel}/{}", e.path), &e.id, e.size)?;
            }
        }
        (Some((_, files)), None) => {
            for e in files {
                r.add_file_at(store, &format!("{rel}/{}", e.path), &e.id, e.size)?;
            }
        }
        (None, Some(c)) => match &c.listing {
            Some(entries) => {
                for e in entries {
                    unadded(&mut r, &format!("{rel}/{}", e.path), &e.id, e.size)?;
                }
            }
            None => unadded(&mut r, rel, &c.pointer.id(), c.pointer.size())?,
        },
        (None, None) => r.add_pointer(store, rel, new)?,
    }
    *incomplete |= !r.missing.is_empty();
    Ok(NewSide {
        chunks: r.chunk_len,
        raw,
    })
}

/// Which of `wanted` the data of `tracked` has, reading its listings a
/// leaf at a time and stopping once all are found. What the cache lacks
/// of A is left out, as before: B's counts may then be high, never low.
fn chunks_of(store: &Store, tracked: &[Tracked], wanted: HashSet<Id>) -> Result<HashSet<Id>> {
    let mut found = HashSet::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let mut saw = |id: &Id| {
        if wanted.contains(id) {
            found.insert(*id);
        }
    };
    for (_, p) in tracked {
        match p {
            Pointer::File { id, size, .. } => file_chunks(store, id, *size, &mut saw)?,
            Pointer::Dir { id, .. } => engine_listing::each_entry(store, id, &mut |e| {
                file_chunks(store, &e.id, e.size, &mut saw)
            })?,
        }
    }
    Ok(found)
}

/// Call `f` with each chunk id of stored file `id` (as [`Reach`] finds
/// them: a file without a manifest is its one chunk, if stored).
fn file_chunks(store: &Store, id: &Id, size: u64, f: &mut dyn FnMut(&Id)) -> Result<()> {
    if size == 0 {
        return Ok(());
    }
    let Some(raw) = store.read(ObjectKind::Manifest, id)? else {
        if store.contains(ObjectKind::Chunk, id) {
            f(id);
        }
        return Ok(());
    };
    let m = Manifest::decode(&raw).map_err(|e| store.corrupt(ObjectKind::Manifest, *id, e))?;
    match m.form {
        Form::Chunks => m.pieces.iter().for_each(|p| f(&p.id)),
        Form::Segments => {
            for s in &m.pieces {
                if let Some(raw) = store.read(ObjectKind::Segment, &s.id)? {
                    object::decode_segment(&raw)
                        .map_err(|e| store.corrupt(ObjectKind::Segment, s.id, e))?
                        .iter()
                        .for_each(|p| f(&p.id));
                }
            }
        }
    }
    Ok(())
}

/// The files that changed inside tracked directory `rel`, when both of its
/// listings are known (otherwise none are named). `parts` are the entries
/// of both outside the subtrees they share, which hold every change.
fn changed_files(rel: &str, parts: Option<Unshared>) -> Vec<ChangedFile> {
    let Some((o, n)) = parts else {
        return Vec::new();
    };
    let sizes_o: BTreeMap<&str, u64> = o.iter().map(|e| (e.path.as_str(), e.size)).collect();
    let sizes_n: BTreeMap<&str, u64> = n.iter().map(|e| (e.path.as_str(), e.size)).collect();
    diff_trees(rel, &o, &n)
        .into_iter()
        .map(|c| {
            let sub = &c.path[rel.len() + 1..];
            ChangedFile {
                change: c.change.into(),
                new_size: sizes_n.get(sub).copied(),
                old_size: sizes_o.get(sub).copied(),
                path: c.path,
            }
        })
        .collect()
}

/// The entries of two directory pointers' listings outside the subtrees
/// they share (the new one from the work tree when `edit` holds it), if
/// the cache has both and they decode; `None` otherwise, or when either
/// is not a directory.
fn unshared(
    store: &Store,
    old: &Pointer,
    new: &Pointer,
    edit: Option<&Current>,
) -> Result<Option<Unshared>> {
    let (Pointer::Dir { id: a, .. }, Pointer::Dir { id: b, .. }) = (old, new) else {
        return Ok(None);
    };
    let built = edit.and_then(|c| c.listing.as_deref()).map(listing::build);
    match engine_listing::changed(store, a, b, built.as_ref()) {
        Err(Error::CorruptObject { .. }) => Ok(None),
        r => r,
    }
}

fn kind(p: &Pointer) -> &'static str {
    match p {
        Pointer::File { .. } => "file",
        Pointer::Dir { .. } => "dir",
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
