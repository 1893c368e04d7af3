//! The cache opened only when a command needs more than a yes or no.
//!
//! `status` of an unchanged tree asks the store one thing per pointer:
//! does the cache hold its top object (the "stored" flag, "not in cache"
//! when not). Building the whole in-memory index for that (every pack's
//! footer turned into records, sorted, 56 bytes per blob) was a sixth of
//! the command. [`LazyStore::contains_each`] answers those questions from
//! the same footers, read and checked exactly as [`Store::open`] reads and
//! checks them, without building anything: nothing is kept between runs,
//! so no answer can be stale, a pack added or removed since is seen, and a
//! pack whose footer fails its checks is reported the same way and its
//! blobs count as absent. A copy the damage list names counts as absent
//! just as [`Store::contains`] counts it. Anything else (a listing to
//! read, a node to look up) opens the store itself, once, on first use.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use super::{file_name, load_damaged, pack_paths, packfile, Store};
use crate::error::{Error, Result};
use crate::format::kind::{ObjectKind, Sought};
use crate::hash::Id;
use crate::progress::{Progress, Silent, Warning};

/// A store opened on first use (see the module note).
pub struct LazyStore {
    root: PathBuf,
    store: OnceLock<Store>,
    /// Held while the store is being opened, so it is opened once, and
    /// while the footers are read, so damage is reported once.
    opening: Mutex<()>,
    /// Whether [`LazyStore::contains_each`] has read the footers and
    /// reported the damaged packs already (an open then does not again).
    warned: AtomicBool,
}

impl LazyStore {
    /// The store at `root`, not opened yet.
    pub fn new(root: &Path) -> LazyStore {
        LazyStore {
            root: root.to_path_buf(),
            store: OnceLock::new(),
            opening: Mutex::new(()),
            warned: AtomicBool::new(false),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The store, opened now if it is not yet ([`Store::open`]).
    pub fn get(&self, progress: &dyn Progress) -> Result<&Store> {
        if let Some(s) = self.store.get() {
            return Ok(s);
        }
        crate::failpoint::hit("store.lazy_open");
        let _one = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = self.store.get() {
            return Ok(s);
        }
        let s = if self.warned.load(Ordering::Acquire) {
            Store::open(&self.root, &Silent)?
        } else {
            Store::open(&self.root, progress)?
        };
        Ok(self.store.get_or_init(|| s))
    }

    /// Whether the store was opened.
    pub fn is_open(&self) -> bool {
        self.store.get().is_some()
    }

    /// For each of `keys`, whether the cache holds a usable copy: what
    /// [`Store::contains`] would answer after [`Store::open`], read from
    /// the pack footers without building the index (or from the store,
    /// when it is open already). Packs whose footer is damaged are
    /// reported through `progress` and count as holding nothing.
    pub fn contains_each(
        &self,
        keys: &[(ObjectKind, Id)],
        progress: &dyn Progress,
    ) -> Result<Vec<bool>> {
        crate::failpoint::hit("store.lazy_footers");
        // One of this and an open reads the footers first and reports the
        // damaged packs; the other then says nothing again.
        let _one = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = self.store.get() {
            return Ok(keys.iter().map(|(k, id)| s.contains(*k, id)).collect());
        }
        let mut sought = Sought::new(keys);
        let damaged = load_damaged(&self.root);
        for path in pack_paths(&self.root, false)? {
            let entries = match File::open(&path)
                .map_err(|e| Error::io("open pack", &path, e))
                .and_then(|f| packfile::read_file_footer(&path, &f))
            {
                Ok(entries) => entries,
                Err(Error::CorruptPack { path, reason }) => {
                    progress.warn(Warning::UnreadablePack { path, reason });
                    continue;
                }
                Err(e) => return Err(e),
            };
            if sought.is_empty() {
                // Still read: a damaged pack is reported whatever is asked.
                continue;
            }
            let name = file_name(&path);
            for e in entries {
                let Some(at) = sought.find(e.kind, &e.id) else {
                    continue;
                };
                if damaged.is_empty() || !damaged.contains(&(name.clone(), e.kind, e.id)) {
                    sought.mark(at);
                }
            }
        }
        self.warned.store(true, Ordering::Release);
        Ok(sought.answers(keys))
    }
}
