//! Comparing the work tree with the pointers (`cairn status`).
//!
//! A tracked path is clean when its current content has the pointer's id.
//! The content id is taken from the stat index whenever the file's stat
//! still matches, so an unchanged tree costs one `lstat` per file and no
//! reads. For a directory, the listing is rebuilt from the work tree and
//! hashed (its v2 tree, FORMAT.md §5.6) as a walk in path order yields the
//! files, keeping only the nodes the cache lacks; when it differs, only the
//! leaves the stored listing does not share are read to name the changed
//! files; that needs no stored objects, so status works even for data the
//! cache does not hold.
//!
//! Data that differs from its pointer is told apart by whose bytes it holds.
//! If every differing file is exactly what cairn last wrote or added there
//! (the stat index records it), the pointer moved under unchanged data (a
//! `git checkout` or `git pull` without hooks): the path is *stale*, and
//! `cairn checkout` brings it up to date. Otherwise the user changed it and
//! only `cairn add` records the change. Status never records an id it
//! merely observed, so an edit stays an edit until it is added.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use serde::Serialize;

use crate::engine::listing::Unshared;
use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::listing::{self, Built};
use crate::format::object::{self, Mode, TreeEntry};
use crate::format::pointer::Pointer;
use crate::hash::{Hasher, Id};
use crate::progress::Progress;
use crate::repo::stat_index::{DirRecord, Stat, StatIndex};
use crate::repo::workspace::Workspace;
use crate::store::{LazyStore, Store};

mod changes;
mod parts;
mod scan;
mod stat_at;

pub use changes::diff_trees;
use changes::same_but_ignored;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// The data matches its pointer.
    Clean,
    /// The data differs from its pointer, and holds changes cairn has not
    /// recorded.
    Modified,
    /// The data is what cairn wrote for another version: the pointer moved
    /// (a git checkout or pull without cairn's hooks).
    Stale,
    /// The data path does not exist.
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Added,
    Modified,
    /// `removed` in JSON, the word `diff` and `log` use.
    #[serde(rename = "removed")]
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    pub path: String,
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathStatus {
    pub path: String,
    pub kind: &'static str,
    pub state: State,
    /// Whether the local cache holds the data the pointer describes.
    pub stored: bool,
    /// For modified directories: which files differ, when the stored
    /// listing is available to compare with.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FileChange>,
}

/// Files whose contents status had to read (stat index misses).
#[derive(Debug, Default)]
pub struct Counters {
    pub files_hashed: AtomicU64,
    pub files_stat_only: AtomicU64,
}

/// The cache a status compares with: open already, or opened only if a
/// question needs more than the pointers' "stored" flags
/// ([`LazyStore`]).
#[derive(Clone, Copy)]
enum Cache<'a> {
    Open(&'a Store),
    Lazy(&'a LazyStore),
}

pub struct Status<'a> {
    pub ws: &'a Workspace,
    cache: Cache<'a>,
    /// Read by every file's lookup on both cores, written only when a file
    /// had to be hashed: a read lock lets the lookups of an unchanged tree
    /// run side by side instead of taking turns.
    pub index: RwLock<&'a mut StatIndex>,
    pub progress: &'a dyn Progress,
    pub counters: Counters,
    /// Files hashed by this status (repository-relative), with the stat
    /// they had: a second question about the same unchanged file (`diff`
    /// asks for the state, then the content) reads it once.
    hashed: Mutex<HashMap<String, (Stat, Id)>>,
    /// Pointers whose chunks `pull --no-cache` left out of the cache.
    uncached: std::collections::BTreeSet<Id>,
}

/// The work tree's content at a tracked path (see [`Status::current`]).
#[derive(Debug, Clone)]
pub struct Current {
    pub pointer: Pointer,
    /// A directory's listing, sorted as a stored one is.
    pub listing: Option<Vec<TreeEntry>>,
}

pub use crate::repo::workspace::{read_pointer, read_pointer_or_skip};

impl<'a> Status<'a> {
    pub fn new(
        ws: &'a Workspace,
        store: &'a Store,
        index: &'a mut StatIndex,
        progress: &'a dyn Progress,
    ) -> Self {
        Self::with(ws, Cache::Open(store), index, progress)
    }

    /// A status over a cache that is opened only when a question needs
    /// it: [`Status::state`] of an unchanged tree never does, so `stored`
    /// is then asked of [`LazyStore::contains_each`] for every pointer at
    /// once ([`Status::stored_with`]).
    pub fn lazy(
        ws: &'a Workspace,
        store: &'a LazyStore,
        index: &'a mut StatIndex,
        progress: &'a dyn Progress,
    ) -> Self {
        Self::with(ws, Cache::Lazy(store), index, progress)
    }

    fn with(
        ws: &'a Workspace,
        cache: Cache<'a>,
        index: &'a mut StatIndex,
        progress: &'a dyn Progress,
    ) -> Self {
        let root = match cache {
            Cache::Open(s) => s.root(),
            Cache::Lazy(s) => s.root(),
        };
        Status {
            ws,
            uncached: crate::engine::uncached::load(root),
            cache,
            index: RwLock::new(index),
            progress,
            counters: Counters::default(),
            hashed: Mutex::new(HashMap::new()),
        }
    }

    /// The store, opened now if it is not yet.
    fn store(&self) -> Result<&'a Store> {
        match self.cache {
            Cache::Open(s) => Ok(s),
            Cache::Lazy(s) => s.get(self.progress),
        }
    }

    /// The blobs of which any one in the cache makes pointer `ptr`'s data
    /// count as stored ([`crate::store::file_keys`] for a file, the
    /// listing's root for a directory); none for an empty file, which
    /// needs nothing.
    pub fn stored_keys(ptr: &Pointer) -> Vec<(ObjectKind, Id)> {
        match ptr {
            Pointer::File { id, size, .. } => crate::store::file_keys(id, *size).collect(),
            Pointer::Dir { id, .. } => vec![(ObjectKind::Tree, *id)],
        }
    }

    /// Whether the cache holds `ptr`'s data, given which of its
    /// [`Status::stored_keys`] it holds (`has`, in that order).
    pub fn stored_with(&self, ptr: &Pointer, has: &[bool]) -> bool {
        // Its metadata alone is in the cache after `pull --no-cache`.
        (has.is_empty() || has.iter().any(|&h| h)) && !self.uncached.contains(&ptr.id())
    }

    /// Tracked path `rel` compared with its pointer, and whether the cache
    /// holds its data (asked of the store, opened if it is not yet: one
    /// path at a time, reading the footers for each would cost more).
    pub fn path(&self, rel: &str, ptr: &Pointer) -> Result<PathStatus> {
        let store = self.store()?;
        let has: Vec<bool> = Self::stored_keys(ptr)
            .iter()
            .map(|(k, id)| store.contains(*k, id))
            .collect();
        let mut st = self.state(rel, ptr)?;
        st.stored = self.stored_with(ptr, &has);
        Ok(st)
    }

    /// Tracked path `rel` compared with its pointer; `stored` is left
    /// `false` for the caller to fill ([`Status::stored_with`]). An
    /// unchanged path is settled without the store.
    pub fn state(&self, rel: &str, ptr: &Pointer) -> Result<PathStatus> {
        let abs = self.ws.safe_abs(rel)?;
        let kind = match ptr {
            Pointer::File { .. } => "file",
            Pointer::Dir { .. } => "dir",
        };
        let mut st = PathStatus {
            path: rel.to_string(),
            kind,
            state: State::Clean,
            stored: false,
            changes: Vec::new(),
        };
        let meta = match fs::symlink_metadata(&abs) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                st.state = State::Missing;
                return Ok(st);
            }
            Err(e) => return Err(Error::io("stat", &abs, e)),
        };
        match ptr {
            Pointer::File { id, mode, .. } => {
                if !meta.is_file() {
                    st.state = State::Modified;
                    return Ok(st);
                }
                let (current, recorded, _) = self.content_id(rel, &abs, Stat::of(&meta))?;
                let same_mode = Mode::from_permissions(meta.permissions().mode()) == *mode;
                if current != *id || !same_mode {
                    st.state = if recorded && current != *id {
                        State::Stale
                    } else {
                        State::Modified
                    };
                }
            }
            Pointer::Dir {
                id, layered, files, ..
            } => {
                if !meta.is_dir() {
                    st.state = State::Modified;
                    return Ok(st);
                }
                // The stat index knows which listing the recorded files form:
                // if every file is still the recorded one, and there are no
                // others, the directory is the pointer's without rebuilding
                // its listing (`repo::stat_index::DirRecord`).
                let known = DirRecord {
                    id: *id,
                    files: *files,
                };
                let record = self.index.read().expect("index lock poisoned").dir(rel);
                if record == Some(known) && self.unchanged(rel, &abs, *files).unwrap_or(false) {
                    return Ok(st);
                }
                // A listing version 1 wrote flat with more than 1,024 files
                // (version 2 would layer it) is compared whole, so its
                // entries are kept; otherwise only the nodes the store lacks
                // (where the two listings can differ) are, and only when the
                // stored listing is there to compare with.
                let legacy = !*layered && *files > listing::FLAT_MAX as u64;
                let keep = self.store()?.contains(ObjectKind::Tree, id);
                let scan = self.scan_dir(rel, &abs, legacy, keep)?;
                let built = Built {
                    root: scan.root.id,
                    files: scan.root.files,
                    bytes: scan.root.bytes,
                    nodes: scan.kept,
                };
                // The same files under a flat v1 listing are no change: only
                // `add` rewrites that pointer.
                let same = built.root == *id
                    || (legacy
                        && scan.root.layered
                        && Id::of(&object::encode_tree(&scan.entries)) == *id);
                // Only the leaves the two listings do not share are read.
                let parts = match (same, legacy) {
                    (true, _) => None,
                    (false, true) => self.unshared(id, &listing::build(&scan.entries))?,
                    (false, false) => self.unshared(id, &built)?,
                };
                if same && scan.exact && scan.with_record == scan.root.files {
                    self.record_dir(rel, known);
                }
                let ignore = scan.ignore;
                if !same && !same_but_ignored(rel, parts.as_ref(), &ignore) {
                    // Stale only if every file is cairn's own and no file
                    // cairn wrote has been deleted since: every recorded
                    // path the rules keep was met by the walk.
                    let recorded_paths = {
                        let idx = self.index.read().expect("index lock poisoned");
                        let prefix = format!("{rel}/");
                        let mut n = 0u64;
                        idx.for_each_under(rel, |p, _| {
                            if p.starts_with(&prefix) && !ignore.is_ignored_in(rel, p) {
                                n += 1;
                            }
                        });
                        n
                    };
                    let deleted = recorded_paths > scan.with_record;
                    st.state = if scan.all_recorded && !deleted {
                        State::Stale
                    } else {
                        State::Modified
                    };
                    if let Some((mut old, new)) = parts {
                        old.retain(|e| !ignore.is_ignored_in(rel, &format!("{rel}/{}", e.path)));
                        st.changes = diff_trees(rel, &old, &new);
                    }
                }
            }
        }
        Ok(st)
    }

    /// What the work tree holds at tracked path `rel` now, described as
    /// `add` would describe it but without storing anything: the pointer,
    /// and a directory's listing. `None` when nothing is there, or a file
    /// stands where a directory was tracked or the other way round.
    pub fn current(&self, rel: &str, ptr: &Pointer) -> Result<Option<Current>> {
        let abs = self.ws.safe_abs(rel)?;
        let meta = match fs::symlink_metadata(&abs) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("stat", &abs, e)),
        };
        Ok(match ptr {
            Pointer::File { .. } if meta.is_file() => {
                let (id, _, _) = self.content_id(rel, &abs, Stat::of(&meta))?;
                Some(Current {
                    pointer: Pointer::File {
                        id,
                        size: meta.len(),
                        mode: Mode::from_permissions(meta.permissions().mode()),
                    },
                    listing: None,
                })
            }
            Pointer::Dir { .. } if meta.is_dir() => {
                let scan = self.scan_dir(rel, &abs, true, false)?;
                Some(Current {
                    pointer: Pointer::Dir {
                        id: scan.root.id,
                        size: scan.root.bytes,
                        files: scan.root.files,
                        layered: scan.root.layered,
                    },
                    listing: Some(scan.entries),
                })
            }
            _ => None,
        })
    }

    /// The id of a file's content, whether those are the bytes cairn last
    /// wrote or added at `rel`, and whether the index has a record of `rel`
    /// at all: from the stat index if it vouches for the file, otherwise by
    /// reading and hashing it.
    fn content_id(&self, rel: &str, abs: &Path, stat: Stat) -> Result<(Id, bool, bool)> {
        if let Some(id) = self
            .index
            .read()
            .expect("index lock poisoned")
            .lookup(rel, &stat)
        {
            self.counters
                .files_stat_only
                .fetch_add(1, Ordering::Relaxed);
            return Ok((id, true, true));
        }
        let memo = self
            .hashed
            .lock()
            .expect("hash memo poisoned")
            .get(rel)
            .copied();
        if let Some((_, id)) = memo.filter(|(seen, _)| *seen == stat) {
            let record = self.index.read().expect("index lock poisoned").get(rel);
            return Ok((id, record.is_some_and(|r| r.id == id), record.is_some()));
        }
        let mut f = fs::File::open(abs).map_err(|e| Error::io("open", abs, e))?;
        let mut h = Hasher::new();
        std::io::copy(&mut f, &mut HashWriter(&mut h)).map_err(|e| Error::io("read", abs, e))?;
        let id = h.finalize();
        self.counters.files_hashed.fetch_add(1, Ordering::Relaxed);
        self.progress.advance(stat.size);
        let after = f.metadata().map_err(|e| Error::io("stat", abs, e))?;
        // Refresh the stat of bytes cairn recorded (a `touch`, a copy back),
        // but never record new bytes: the index holds what cairn itself added
        // or wrote, which is what tells an edit from stale data and lets
        // checkout replace or remove files without touching user changes.
        let mut idx = self.index.write().expect("index lock poisoned");
        let record = idx.get(rel);
        let recorded = record.is_some_and(|r| r.id == id);
        if recorded && Stat::of(&after) == stat {
            idx.insert(rel.to_string(), stat, id);
        }
        if Stat::of(&after) == stat {
            self.hashed
                .lock()
                .expect("hash memo poisoned")
                .insert(rel.to_string(), (stat, id));
        }
        Ok((id, recorded, record.is_some()))
    }

    /// Remember that the records below tracked directory `rel` form listing
    /// `known`, when they do: the walk just met `known.files` files, each
    /// with its record holding its current stat and bytes, and the index
    /// records no other file below `rel`.
    fn record_dir(&self, rel: &str, known: DirRecord) {
        let mut idx = self.index.write().expect("index lock poisoned");
        idx.set_dir_if_only(rel, known);
    }

    /// The entries of stored listing `id` and of the work tree's listing
    /// `built` outside the subtrees they share; `None` when the cache lacks
    /// the stored listing or holds it damaged (then no file is named).
    fn unshared(&self, id: &Id, built: &Built) -> Result<Option<Unshared>> {
        match crate::engine::listing::changed(self.store()?, id, &built.root, Some(built)) {
            Err(Error::CorruptObject { .. }) => Ok(None),
            r => r,
        }
    }
}

struct HashWriter<'a>(&'a mut Hasher);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
