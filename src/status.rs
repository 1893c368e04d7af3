//! Comparing the work tree with the pointers (`cairn status`).
//!
//! A tracked path is clean when its current content has the pointer's id.
//! The content id is taken from the stat index whenever the file's stat
//! still matches, so an unchanged tree costs one `lstat` per file and no
//! reads. For a directory, the listing is rebuilt from the work tree and
//! hashed; that needs no stored objects, so status works even for data the
//! cache does not hold.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, ObjectKind, Result};
use crate::hash::{Hasher, Id};
use crate::object::{self, Mode, TreeEntry};
use crate::pointer::Pointer;
use crate::progress::Progress;
use crate::stat_index::{Stat, StatIndex};
use crate::store::Store;
use crate::workspace::{is_tmp_name, Workspace};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// The data matches its pointer.
    Clean,
    /// The data differs from its pointer.
    Modified,
    /// The data path does not exist.
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Added,
    Modified,
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

pub struct Status<'a> {
    pub ws: &'a Workspace,
    pub store: &'a Store,
    pub index: Mutex<&'a mut StatIndex>,
    pub progress: &'a dyn Progress,
    pub counters: Counters,
}

/// Read and parse the pointer of tracked path `rel`.
pub fn read_pointer(ws: &Workspace, rel: &str) -> Result<Pointer> {
    let path = ws.safe_abs(&format!("{rel}{}", crate::pointer::SUFFIX))?;
    let text = match fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotTracked {
                path: ws.root().join(rel),
            })
        }
        Err(e) => return Err(Error::io("read pointer", &path, e)),
    };
    if !Pointer::looks_like_pointer(&text) {
        return Err(Error::NotAPointer { path });
    }
    Pointer::parse(&path, &text)
}

/// Like [`read_pointer`], but a file that is not a pointer at all is
/// reported to `progress` and skipped (`None`), so that one stray
/// `*.cairn` data file does not stop a command for every tracked path.
pub fn read_pointer_or_skip(
    ws: &Workspace,
    rel: &str,
    progress: &dyn crate::progress::Progress,
) -> Result<Option<Pointer>> {
    match read_pointer(ws, rel) {
        Ok(p) => Ok(Some(p)),
        Err(Error::NotAPointer { path }) => {
            progress.warn(crate::progress::Warning::NotAPointer {
                path,
                reason: "it does not start with `cairn-pointer`".into(),
            });
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

impl<'a> Status<'a> {
    pub fn new(
        ws: &'a Workspace,
        store: &'a Store,
        index: &'a mut StatIndex,
        progress: &'a dyn Progress,
    ) -> Self {
        Status {
            ws,
            store,
            index: Mutex::new(index),
            progress,
            counters: Counters::default(),
        }
    }

    pub fn path(&self, rel: &str, ptr: &Pointer) -> Result<PathStatus> {
        let abs = self.ws.safe_abs(rel)?;
        let (kind, stored) = match ptr {
            Pointer::File { id, size, .. } => ("file", self.store.has_file(id, *size)),
            Pointer::Dir { id, .. } => ("dir", self.store.contains(ObjectKind::Tree, id)),
        };
        let mut st = PathStatus {
            path: rel.to_string(),
            kind,
            state: State::Clean,
            stored,
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
                let same = meta.is_file()
                    && Mode::from_permissions(meta.permissions().mode()) == *mode
                    && self.content_id(rel, &abs, &meta)? == *id;
                if !same {
                    st.state = State::Modified;
                }
            }
            Pointer::Dir { id, .. } => {
                if !meta.is_dir() {
                    st.state = State::Modified;
                    return Ok(st);
                }
                let current = self.scan_dir(rel, &abs)?;
                if Id::of(&object::encode_tree(&current)) != *id {
                    st.state = State::Modified;
                    if let Some(raw) = self.store.read(ObjectKind::Tree, id)? {
                        if let Ok(old) = object::decode_tree(&raw) {
                            st.changes = diff_trees(rel, &old, &current);
                        }
                    }
                }
            }
        }
        Ok(st)
    }

    /// The id of a file's content: from the stat index if it vouches for
    /// the file, otherwise by reading and hashing it.
    fn content_id(&self, rel: &str, abs: &Path, meta: &fs::Metadata) -> Result<Id> {
        let stat = Stat::of(meta);
        if let Some(id) = self
            .index
            .lock()
            .expect("index lock poisoned")
            .lookup(rel, &stat)
        {
            self.counters
                .files_stat_only
                .fetch_add(1, Ordering::Relaxed);
            return Ok(id);
        }
        let mut f = fs::File::open(abs).map_err(|e| Error::io("open", abs, e))?;
        let mut h = Hasher::new();
        std::io::copy(&mut f, &mut HashWriter(&mut h)).map_err(|e| Error::io("read", abs, e))?;
        let id = h.finalize();
        self.counters.files_hashed.fetch_add(1, Ordering::Relaxed);
        self.progress.advance(stat.size);
        let after = f.metadata().map_err(|e| Error::io("stat", abs, e))?;
        // Refresh what cairn already knows, but never start tracking a path:
        // the index lists the files cairn itself added or wrote, and that is
        // what lets checkout remove stale ones without touching user files.
        if Stat::of(&after) == stat {
            let mut idx = self.index.lock().expect("index lock poisoned");
            if idx.get(rel).is_some() {
                idx.insert(rel.to_string(), stat, id);
            }
        }
        Ok(id)
    }

    fn scan_dir(&self, rel: &str, abs: &Path) -> Result<Vec<TreeEntry>> {
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(abs).min_depth(1).follow_links(false) {
            let entry = entry
                .map_err(|e| Error::io("walk", e.path().unwrap_or(abs).to_path_buf(), e.into()))?;
            if !entry.file_type().is_file() || is_tmp_name(entry.file_name()) {
                continue;
            }
            let Some(sub) = entry.path().strip_prefix(abs).ok().and_then(|p| p.to_str()) else {
                continue;
            };
            files.push(sub.to_string());
        }
        files.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        // The walk itself is serial; the lstat of each file is not.
        files
            .par_iter()
            .map(|sub| {
                let path = abs.join(sub);
                let meta = fs::symlink_metadata(&path).map_err(|e| Error::io("stat", &path, e))?;
                let meta = &meta;
                let id = self.content_id(&format!("{rel}/{sub}"), &path, meta)?;
                Ok(TreeEntry {
                    path: sub.clone(),
                    mode: Mode::from_permissions(meta.permissions().mode()),
                    size: meta.len(),
                    id,
                })
            })
            .collect()
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
