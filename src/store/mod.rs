//! The content store: packs in a cache directory plus an in-memory index.
//!
//! The store is the only place blobs are written or read. It guarantees:
//! * **Durability before reference.** New blobs go into a pack under a
//!   temporary name; a finished pack is fsynced, renamed into `packs/` and its
//!   directory fsynced. [`Store::flush`] returns only when every pack written
//!   so far is durable, and callers write pointers only after it returns.
//! * **Verified reads.** Every blob read is decoded and checked against its
//!   id (chunks, segments, trees) or checksum (manifests) before it is
//!   returned; damaged bytes surface as [`Error::CorruptObject`].
//! * **Dedup.** A blob already present is never written again.
//!
//! The index is rebuilt at open from the footers of the packs, so there is no
//! separate index file that could disagree with them; it is held compactly
//! (`index.rs`, 56 bytes per blob). Writing lives in `write.rs` (and, for
//! blobs a reader fetched and keeps, indexed once durable, in `stage.rs`),
//! reading in `read.rs`, the check every read applies in `check.rs`, and
//! checking and garbage collection support in `maintenance.rs`; `marks.rs` keeps the
//! sets of blobs a gc or verify walk reaches as one bit per indexed blob.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::thread::JoinHandle;

use rayon::prelude::*;

use crate::error::{Corruption, Error, Result};
use crate::format::kind::ObjectKind;
use crate::hash::Id;
use crate::progress::{Progress, Warning};
use packfile::PackWriter;

mod check;
mod exchange;
mod index;
mod lazy;
mod maintenance;
mod marks;
pub mod packfile;
pub mod packsum;
mod read;
pub mod relocate;
mod stage;
mod write;
pub use check::{check_encoded, decode_checked, decode_checked_into, max_raw_len, MAX_LISTING};
pub use exchange::ExportPlan;
use index::{Index, Key, Loc, Rec, RESERVED};
pub use lazy::LazyStore;
pub use maintenance::{Damage, SealedPack};
pub use marks::Marks;
pub use stage::Staged;
pub use write::Put;
use write::{new_pack, publish, publish_with_entries};

/// A pack file opened at start-up, with its footer as index records and
/// the copies in it known to be damaged.
type OpenPack = (File, Vec<Rec>, Vec<(Key, Loc)>);

/// A pack is sealed once it holds this many bytes.
pub const PACK_TARGET: u64 = 32 << 20;

/// ... or this many blobs: the open pack's footer entries stay in memory
/// until it is sealed, so tiny files would otherwise grow them with the
/// number of files (FORMAT.md §6).
pub const PACK_BLOBS: usize = 1 << 16;

struct PackSlot {
    path: RwLock<PathBuf>,
    file: OnceLock<File>,
}

/// An open pack: its number in `packs` and its writer.
type OpenWriter = Option<(u32, PackWriter)>;

pub struct Store {
    root: PathBuf,
    index: RwLock<Index>,
    packs: RwLock<Vec<Arc<PackSlot>>>,
    /// One open pack per worker thread (slot 0 for threads outside the
    /// pool), so appends never wait for another thread's write.
    writers: Vec<Mutex<OpenWriter>>,
    sealing: Mutex<Vec<JoinHandle<Result<()>>>>,
    damaged_packs: Vec<(PathBuf, &'static str)>,
    /// Blobs whose only indexed copy is known to be damaged. They count as
    /// absent for [`Store::contains`], so adding the data again stores a good
    /// copy that replaces them.
    known_bad: RwLock<HashSet<(ObjectKind, Id)>>,
    /// The damage list as loaded at open.
    damaged_copies: HashSet<DamagedCopy>,
}

/// Held while a process writes to the cache; released on drop or exit.
pub struct CacheLock {
    _file: File,
}

/// The file in a cache that names the pointers whose chunks it lacks
/// (FORMAT.md §10.7), and the most of it anyone reads: it is only a hint,
/// and a damaged or hostile one must not size an allocation.
pub const UNCACHED_FILE: &str = "uncached";
pub const MAX_UNCACHED_BYTES: u64 = 16 << 20;

fn pack_dir(root: &Path) -> PathBuf {
    root.join("packs")
}

fn tmp_dir(root: &Path) -> PathBuf {
    root.join("tmp")
}

/// Damaged copies found so far: one `<pack file name> <kind> <id>` per line.
fn damaged_list(root: &Path) -> PathBuf {
    root.join("damaged")
}

type DamagedCopy = (String, ObjectKind, Id);

fn load_damaged(root: &Path) -> HashSet<DamagedCopy> {
    // Only a hint to prefer good copies; an unreadable list is ignored.
    let text = fs::read_to_string(damaged_list(root)).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut it = l.split(' ');
            let pack = it.next()?.to_string();
            let kind = ObjectKind::from_u8(it.next()?.parse().ok()?)?;
            let id = Id::from_hex(it.next()?)?;
            Some((pack, kind, id))
        })
        .collect()
}

/// One pack's footer as index records (numbered `n` for now), leaving
/// out the copies the damage list names, which are returned apart.
fn records(
    n: u32,
    name: &str,
    entries: Vec<crate::format::pack::Entry>,
    damaged: &HashSet<DamagedCopy>,
) -> (Vec<Rec>, Vec<(Key, Loc)>) {
    let mut recs = Vec::with_capacity(entries.len());
    let mut bad = Vec::new();
    for e in entries {
        let loc = Loc::of(n, &e);
        if !damaged.is_empty() && damaged.contains(&(name.to_string(), e.kind, e.id)) {
            bad.push(((e.kind, e.id), loc));
        } else {
            recs.push(Rec::new((e.kind, e.id), loc));
        }
    }
    (recs, bad)
}

/// The blobs of which any one in a cache (or on a remote) means file `id`
/// of `size` bytes is there whole: its manifest, or the single chunk named
/// like the file. None for an empty file, which needs nothing.
pub fn file_keys(id: &Id, size: u64) -> impl Iterator<Item = (ObjectKind, Id)> {
    let id = *id;
    (size > 0)
        .then_some([(ObjectKind::Manifest, id), (ObjectKind::Chunk, id)])
        .into_iter()
        .flatten()
}

/// Every pack file of the store at `root`, sorted: what [`Store::open`]
/// loads (`create`: making the store's directories first), and what
/// [`LazyStore::contains_each`] reads the footers of (a reader, which
/// creates nothing: no directory, no packs).
fn pack_paths(root: &Path, create: bool) -> Result<Vec<PathBuf>> {
    if create {
        for d in [pack_dir(root), tmp_dir(root)] {
            fs::create_dir_all(&d).map_err(|e| Error::io("create directory", &d, e))?;
        }
    }
    let mut paths = Vec::new();
    let top = pack_dir(root);
    let subs = match fs::read_dir(&top) {
        Err(e) if !create && e.kind() == std::io::ErrorKind::NotFound => return Ok(paths),
        r => r.map_err(|e| Error::io("list", &top, e))?,
    };
    for sub in subs {
        let sub = sub.map_err(|e| Error::io("list", &top, e))?.path();
        if !sub.is_dir() {
            continue;
        }
        for f in fs::read_dir(&sub).map_err(|e| Error::io("list", &sub, e))? {
            let p = f.map_err(|e| Error::io("list", &sub, e))?.path();
            if p.extension().is_some_and(|x| x == "pack") {
                paths.push(p);
            }
        }
    }
    paths.sort();
    Ok(paths)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string()
}

impl Store {
    /// Open (creating if needed) the store at `root` and load its index.
    /// Damaged packs are reported through `progress` and left out.
    pub fn open(root: &Path, progress: &dyn Progress) -> Result<Store> {
        let paths = pack_paths(root, true)?;
        let damaged = load_damaged(root);
        // Each pack's footer becomes index records in the pool thread that
        // read it, so only one footer per thread is ever held as entries.
        let loaded: Vec<(PathBuf, Result<OpenPack>)> = paths
            .into_par_iter()
            .enumerate()
            .map(|(n, p)| {
                let r = File::open(&p)
                    .map_err(|e| Error::io("open pack", &p, e))
                    .and_then(|f| {
                        let entries = packfile::read_file_footer(&p, &f)?;
                        let (recs, bad) = records(n as u32, &file_name(&p), entries, &damaged);
                        Ok((f, recs, bad))
                    });
                (p, r)
            })
            .collect();
        let mut packs = Vec::new();
        let mut damaged_packs = Vec::new();
        let mut run: Vec<Rec> = Vec::new();
        let mut bad_copies: Vec<(Key, Loc)> = Vec::new();
        let total: usize = loaded
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok().map(|(_, recs, _)| recs.len()))
            .sum();
        run.reserve_exact(total);
        for (path, r) in loaded {
            match r {
                Ok((file, recs, bad)) => {
                    // Records name packs by their number among the packs
                    // that opened, which is known only now.
                    let n = packs.len() as u32;
                    run.extend(recs.into_iter().map(|r| r.in_pack(n)));
                    bad_copies.extend(bad.into_iter().map(|(k, l)| (k, Loc { pack: n, ..l })));
                    let slot = PackSlot {
                        path: RwLock::new(path),
                        file: OnceLock::new(),
                    };
                    let _ = slot.file.set(file);
                    packs.push(Arc::new(slot));
                }
                Err(Error::CorruptPack { path, reason }) => {
                    progress.warn(Warning::UnreadablePack {
                        path: path.clone(),
                        reason,
                    });
                    damaged_packs.push((path, reason));
                }
                Err(e) => return Err(e),
            }
        }
        let mut index = Index::build(run);
        // A damaged copy is still indexed when it is the only one, so that
        // reads report the damage rather than a missing object.
        let mut known_bad = HashSet::new();
        for (key, loc) in bad_copies {
            if !index.contains_key(&key) {
                index.insert(key, loc);
                known_bad.insert(key);
            }
        }
        Ok(Store {
            root: root.to_path_buf(),
            index: RwLock::new(index),
            packs: RwLock::new(packs),
            writers: (0..=rayon::current_num_threads())
                .map(|_| Mutex::new(None))
                .collect(),
            sealing: Mutex::new(Vec::new()),
            damaged_packs,
            known_bad: RwLock::new(known_bad),
            damaged_copies: damaged,
        })
    }

    /// Take the cache's write lock, failing at once if another process
    /// (perhaps from another clone sharing this cache) is writing to it.
    pub fn lock(&self) -> Result<CacheLock> {
        Ok(CacheLock {
            _file: crate::durable::lock_file(&self.root.join("lock"))?,
        })
    }

    /// Remove temporary files left by an interrupted run. Call only while
    /// holding the cache lock, so no live writer owns them.
    pub fn clean_tmp(&self, _lock: &CacheLock) -> Result<()> {
        let dir = tmp_dir(&self.root);
        for f in fs::read_dir(&dir).map_err(|e| Error::io("list", &dir, e))? {
            let p = f.map_err(|e| Error::io("list", &dir, e))?.path();
            fs::remove_file(&p).map_err(|e| Error::io("remove", &p, e))?;
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn contains(&self, kind: ObjectKind, id: &Id) -> bool {
        self.index
            .read()
            .expect("index lock poisoned")
            .contains_key(&(kind, *id))
            && !self.is_known_bad(kind, id)
    }

    /// Whether the copy of `(kind, id)` in pack file `pack` is known to be
    /// damaged (found by `verify` or a failed read).
    pub fn is_damaged_copy(&self, pack: &Path, kind: ObjectKind, id: &Id) -> bool {
        self.damaged_copies.contains(&(file_name(pack), kind, *id))
    }

    fn is_known_bad(&self, kind: ObjectKind, id: &Id) -> bool {
        let bad = self.known_bad.read().expect("damage lock poisoned");
        !bad.is_empty() && bad.contains(&(kind, *id))
    }

    /// Open a slot for a new pack at `path`; its number in `packs`.
    fn add_slot(&self, path: PathBuf) -> u32 {
        let mut packs = self.packs.write().expect("packs lock poisoned");
        packs.push(Arc::new(PackSlot {
            path: RwLock::new(path),
            file: OnceLock::new(),
        }));
        (packs.len() - 1) as u32
    }

    /// Index a good copy of `(kind, id)` at `loc`: it replaces any other,
    /// and the blob no longer counts as damaged.
    fn index_blob(&self, kind: ObjectKind, id: Id, loc: Loc) {
        self.index
            .write()
            .expect("index lock poisoned")
            .insert((kind, id), loc);
        if self.is_known_bad(kind, &id) {
            self.known_bad
                .write()
                .expect("damage lock poisoned")
                .remove(&(kind, id));
        }
    }

    /// Remember that the indexed copy of a blob is damaged, in memory and in
    /// the cache's damage list, so later runs prefer (or store) a good copy.
    fn mark_damaged(&self, kind: ObjectKind, id: &Id, pack: &Path) {
        self.known_bad
            .write()
            .expect("damage lock poisoned")
            .insert((kind, *id));
        let line = format!("{} {} {}\n", file_name(pack), kind.to_u8(), id.to_hex());
        // Best effort: losing this line only costs a re-detection later.
        let _ = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(damaged_list(&self.root))
            .and_then(|mut f| f.write_all(line.as_bytes()));
    }

    /// Whether the whole content of file `id` is available: any of its
    /// [`file_keys`], or nothing needed for an empty file.
    pub fn has_file(&self, id: &Id, size: u64) -> bool {
        size == 0 || file_keys(id, size).any(|(k, id)| self.contains(k, &id))
    }

    /// The bytes blob `(kind, id)` takes in its pack (compressed, as
    /// stored), if the cache holds a usable copy.
    pub fn stored_len(&self, kind: ObjectKind, id: &Id) -> Option<u64> {
        if self.is_known_bad(kind, id) {
            return None;
        }
        let idx = self.index.read().expect("index lock poisoned");
        idx.get(&(kind, *id))
            .filter(|l| l.pack != RESERVED)
            .map(|l| u64::from(l.stored_len))
    }

    /// Number of blobs indexed.
    pub fn len(&self) -> usize {
        self.index.read().expect("index lock poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn locate(&self, kind: ObjectKind, id: &Id) -> Option<(Loc, Arc<PackSlot>)> {
        let loc = self
            .index
            .read()
            .expect("index lock poisoned")
            .get(&(kind, *id))?;
        if loc.pack == RESERVED {
            // Still being written by another thread of this process.
            return None;
        }
        let slot = self.packs.read().expect("packs lock poisoned")[loc.pack as usize].clone();
        Some((loc, slot))
    }

    /// The pack file that holds the indexed copy of a blob, if any.
    pub fn pack_of(&self, kind: ObjectKind, id: &Id) -> Option<PathBuf> {
        let (_, slot) = self.locate(kind, id)?;
        let path = slot.path.read().expect("pack path lock poisoned").clone();
        Some(path)
    }

    /// The error for a blob of this store found damaged after it was read
    /// (a listing that does not parse, a chunk of the wrong length...),
    /// naming the pack it was read from.
    pub fn corrupt(&self, kind: ObjectKind, id: Id, cause: impl Into<Corruption>) -> Error {
        Error::CorruptObject {
            kind,
            id,
            pack: self.pack_of(kind, &id),
            cause: Box::new(cause.into()),
        }
    }
}

#[cfg(test)]
mod tests;
