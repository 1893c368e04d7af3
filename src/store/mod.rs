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
//! separate index file that could disagree with them. Checking and garbage
//! collection support live in [`maintenance`].

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::thread::JoinHandle;

use rayon::prelude::*;

use crate::error::{Corruption, Error, Result};
use crate::format::codec::{self, Codec};
use crate::format::kind::ObjectKind;
use crate::format::object::Manifest;
use crate::format::pack::Entry;
use crate::hash::Id;
use crate::progress::{Progress, Warning};
use packfile::PackWriter;

mod exchange;
mod maintenance;
pub mod packfile;
pub use exchange::ExportPlan;
pub use maintenance::{Damage, SealedPack};

/// A pack file opened at start-up, with its footer entries.
type OpenPack = (File, Vec<Entry>);

/// A pack is sealed once it holds this many bytes.
pub const PACK_TARGET: u64 = 32 << 20;

#[derive(Debug, Clone, Copy)]
struct Loc {
    pack: u32,
    codec: Codec,
    offset: u64,
    stored_len: u32,
    raw_len: u32,
}

struct PackSlot {
    path: RwLock<PathBuf>,
    file: OnceLock<File>,
}

/// An open pack: its number in `packs` and its writer.
type OpenWriter = Option<(u32, PackWriter)>;

/// Marks an index entry whose blob is being written right now, so a second
/// thread storing the same content sees it as present (exact dedup) without
/// holding a lock across the write.
const RESERVED: u32 = u32::MAX;

pub struct Store {
    root: PathBuf,
    index: RwLock<HashMap<(ObjectKind, Id), Loc>>,
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

/// What [`Store::put`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Existing,
    Stored { stored_len: u64 },
}

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

fn file_name(p: &Path) -> String {
    p.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string()
}

/// Start a pack under a fresh temporary name in `tmp/`.
fn new_pack(root: &Path) -> Result<PackWriter> {
    let dir = tmp_dir(root);
    let tmp = tempfile::Builder::new()
        .prefix("pack-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| Error::io("create pack in", &dir, e))?;
    let (_, path) = tmp
        .keep()
        .map_err(|e| Error::io("create pack in", &dir, e.error))?;
    PackWriter::create(path)
}

/// Finish a pack and publish it: footer, fsync, rename to
/// `packs/xx/<id>.pack` (readable by all, so a cache can be shared), and
/// fsync both directories so the new name survives a crash.
fn publish(root: &Path, writer: PackWriter) -> Result<PathBuf> {
    let (tmp, id, _entries) = writer.finish()?;
    let hex = id.to_hex();
    let dir = pack_dir(root);
    let sub = dir.join(&hex[..2]);
    fs::create_dir_all(&sub).map_err(|e| Error::io("create directory", &sub, e))?;
    let dest = sub.join(format!("{hex}.pack"));
    fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .map_err(|e| Error::io("set permissions of", &tmp, e))?;
    fs::rename(&tmp, &dest).map_err(|e| Error::io("rename pack into", &dest, e))?;
    crate::durable::sync_dir(&sub)?;
    crate::durable::sync_dir(&dir)?;
    Ok(dest)
}

impl Store {
    /// Open (creating if needed) the store at `root` and load its index.
    /// Damaged packs are reported through `progress` and left out.
    pub fn open(root: &Path, progress: &dyn Progress) -> Result<Store> {
        for d in [pack_dir(root), tmp_dir(root)] {
            fs::create_dir_all(&d).map_err(|e| Error::io("create directory", &d, e))?;
        }
        let mut paths = Vec::new();
        let top = pack_dir(root);
        for sub in fs::read_dir(&top).map_err(|e| Error::io("list", &top, e))? {
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
        let loaded: Vec<(PathBuf, Result<OpenPack>)> = paths
            .into_par_iter()
            .map(|p| {
                let r = File::open(&p)
                    .map_err(|e| Error::io("open pack", &p, e))
                    .and_then(|f| packfile::read_file_footer(&p, &f).map(|es| (f, es)));
                (p, r)
            })
            .collect();
        let damaged = load_damaged(root);
        let mut index = HashMap::new();
        let mut bad_copies: Vec<((ObjectKind, Id), Loc)> = Vec::new();
        let mut packs = Vec::new();
        let mut damaged_packs = Vec::new();
        for (path, r) in loaded {
            match r {
                Ok((file, entries)) => {
                    let n = packs.len() as u32;
                    let name = file_name(&path);
                    for e in entries {
                        let loc = Loc {
                            pack: n,
                            codec: e.codec,
                            offset: e.offset,
                            stored_len: e.stored_len,
                            raw_len: e.raw_len,
                        };
                        if damaged.contains(&(name.clone(), e.kind, e.id)) {
                            bad_copies.push(((e.kind, e.id), loc));
                        } else {
                            index.entry((e.kind, e.id)).or_insert(loc);
                        }
                    }
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
        // A damaged copy is still indexed when it is the only one, so that
        // reads report the damage rather than a missing object.
        let mut known_bad = HashSet::new();
        for (key, loc) in bad_copies {
            if let std::collections::hash_map::Entry::Vacant(v) = index.entry(key) {
                v.insert(loc);
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

    /// Whether the whole content of file `id` is available: a manifest, a
    /// single chunk with that id, or nothing needed for an empty file.
    pub fn has_file(&self, id: &Id, size: u64) -> bool {
        size == 0 || self.contains(ObjectKind::Manifest, id) || self.contains(ObjectKind::Chunk, id)
    }

    /// Number of blobs indexed.
    pub fn len(&self) -> usize {
        self.index.read().expect("index lock poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Store `raw` as blob `(kind, id)` unless it is already present.
    pub fn put(&self, kind: ObjectKind, id: Id, raw: &[u8]) -> Result<Put> {
        if self.contains(kind, &id) {
            return Ok(Put::Existing);
        }
        if raw.len() > max_raw_len(kind) {
            return Err(Error::BlobTooLarge {
                kind,
                len: raw.len() as u64,
                limit: max_raw_len(kind) as u64,
            });
        }
        if !self.reserve(kind, id) {
            return Ok(Put::Existing);
        }
        let packed = codec::compress(raw);
        let r = match &packed {
            Some(p) => self.append(kind, id, Codec::Zstd, p, raw.len()),
            None => self.append(kind, id, Codec::Raw, raw, raw.len()),
        };
        self.settle(kind, id, r)
    }

    /// Store a blob that arrives already encoded (from a remote pack),
    /// unless it is present. The bytes are decoded and checked against the
    /// id first: nothing unverified enters the cache.
    pub fn put_encoded(
        &self,
        kind: ObjectKind,
        id: Id,
        codec: Codec,
        stored: &[u8],
        raw_len: u32,
    ) -> Result<Put> {
        if self.contains(kind, &id) {
            return Ok(Put::Existing);
        }
        if let Err(cause) = check_encoded(kind, &id, codec, stored, raw_len) {
            // Not from any pack of the cache: the bytes arrived from elsewhere.
            return Err(Error::CorruptObject {
                kind,
                id,
                pack: None,
                cause: Box::new(cause),
            });
        }
        if !self.reserve(kind, id) {
            return Ok(Put::Existing);
        }
        let r = self.append(kind, id, codec, stored, raw_len as usize);
        self.settle(kind, id, r)
    }

    /// Claim `(kind, id)` for this thread; `false` if someone else has it.
    fn reserve(&self, kind: ObjectKind, id: Id) -> bool {
        let mut idx = self.index.write().expect("index lock poisoned");
        if let Some(l) = idx.get(&(kind, id)) {
            if l.pack == RESERVED || !self.is_known_bad(kind, &id) {
                return false;
            }
        }
        idx.insert(
            (kind, id),
            Loc {
                pack: RESERVED,
                codec: Codec::Raw,
                offset: 0,
                stored_len: 0,
                raw_len: 0,
            },
        );
        true
    }

    /// Drop the reservation of a write that failed.
    fn settle(&self, kind: ObjectKind, id: Id, r: Result<Put>) -> Result<Put> {
        if r.is_err() {
            self.index
                .write()
                .expect("index lock poisoned")
                .remove(&(kind, id));
        }
        r
    }

    fn append(
        &self,
        kind: ObjectKind,
        id: Id,
        codec: Codec,
        stored: &[u8],
        raw_len: usize,
    ) -> Result<Put> {
        let slot = rayon::current_thread_index()
            .map_or(0, |i| i + 1)
            .min(self.writers.len() - 1);
        let mut w = self.writers[slot].lock().expect("writer lock poisoned");
        if w.is_none() {
            let writer = new_pack(&self.root)?;
            let path = writer.path().to_path_buf();
            let mut packs = self.packs.write().expect("packs lock poisoned");
            packs.push(Arc::new(PackSlot {
                path: RwLock::new(path),
                file: OnceLock::new(),
            }));
            *w = Some(((packs.len() - 1) as u32, writer));
        }
        let (n, writer) = w.as_mut().expect("pack writer was just created");
        let e = writer.add(kind, id, codec, stored, raw_len)?;
        let loc = Loc {
            pack: *n,
            codec,
            offset: e.offset,
            stored_len: e.stored_len,
            raw_len: e.raw_len,
        };
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
        if writer.len() >= PACK_TARGET {
            self.seal(w.take());
        }
        Ok(Put::Stored {
            stored_len: stored.len() as u64,
        })
    }

    /// Seal a pack in the background: footer, fsync, rename, dir fsync.
    fn seal(&self, open: OpenWriter) {
        let Some((n, writer)) = open else {
            return;
        };
        let slot = self.packs.read().expect("packs lock poisoned")[n as usize].clone();
        let root = self.root.clone();
        let handle = std::thread::spawn(move || {
            let dest = publish(&root, writer)?;
            // Reached by every command that stores new blobs; `add` is the
            // one whose crash matrix uses it.
            crate::failpoint::hit("store.pack_sealed");
            *slot.path.write().expect("pack path lock poisoned") = dest;
            Ok(())
        });
        self.sealing
            .lock()
            .expect("sealing lock poisoned")
            .push(handle);
    }

    /// Make every blob put so far durable. Pointers may reference them after
    /// this returns `Ok`.
    pub fn flush(&self) -> Result<()> {
        for w in &self.writers {
            let open = w.lock().expect("writer lock poisoned").take();
            self.seal(open);
        }
        let handles = std::mem::take(&mut *self.sealing.lock().expect("sealing lock poisoned"));
        let mut first_err = None;
        for h in handles {
            let r = h.join().unwrap_or_else(|_| {
                Err(Error::io(
                    "seal pack in",
                    pack_dir(&self.root),
                    std::io::Error::other("sealing thread panicked"),
                ))
            });
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn locate(&self, kind: ObjectKind, id: &Id) -> Option<(Loc, Arc<PackSlot>)> {
        let loc = *self
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

    /// Read, decode and verify one blob. `None` if the store lacks it.
    pub fn read(&self, kind: ObjectKind, id: &Id) -> Result<Option<Vec<u8>>> {
        let Some((loc, slot)) = self.locate(kind, id) else {
            return Ok(None);
        };
        let path = slot.path.read().expect("pack path lock poisoned").clone();
        let file = match slot.file.get() {
            Some(f) => f,
            None => {
                let f = File::open(&path).map_err(|e| Error::io("open pack", &path, e))?;
                slot.file.get_or_init(|| f)
            }
        };
        let mut stored = vec![0u8; loc.stored_len as usize];
        file.read_exact_at(&mut stored, loc.offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Error::CorruptPack {
                    path: path.clone(),
                    reason: "truncated",
                }
            } else {
                Error::io("read pack", &path, e)
            }
        })?;
        let decoded = match loc.codec {
            // Already the raw bytes: no second copy.
            Codec::Raw if stored.len() == loc.raw_len as usize => Ok(stored),
            _ => decode(kind, loc.codec, &stored, loc.raw_len),
        };
        let checked = decoded.and_then(|raw| check_blob(kind, id, &raw).map(|_| raw));
        match checked {
            Ok(raw) => Ok(Some(raw)),
            Err(cause) => {
                self.mark_damaged(kind, id, &path);
                Err(Error::CorruptObject {
                    kind,
                    id: *id,
                    pack: Some(path),
                    cause: Box::new(cause),
                })
            }
        }
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

/// The largest decoded size a blob of `kind` may have (FORMAT.md §6.3).
/// A chunk is never longer than the chunker's maximum; a segment lists at
/// most [`crate::format::object::SEGMENT_MAX`] chunks; manifests and listings are
/// capped far above any real file or directory so that a number read from
/// a pack or an index can never make a reader allocate gigabytes.
pub fn max_raw_len(kind: ObjectKind) -> usize {
    match kind {
        ObjectKind::Chunk => crate::format::chunking::V1.max,
        ObjectKind::Segment => 64 + crate::format::object::SEGMENT_MAX * 64,
        ObjectKind::Manifest | ObjectKind::Tree => MAX_LISTING,
    }
}

/// Cap on a manifest's or a directory listing's decoded size: about four
/// million files in one tracked directory, or a file of petabytes.
pub const MAX_LISTING: usize = 512 << 20;

/// Decode stored bytes whose decoded length a footer or index claims,
/// refusing claims beyond what the kind may hold before allocating.
fn decode(
    kind: ObjectKind,
    codec: Codec,
    stored: &[u8],
    raw_len: u32,
) -> Result<Vec<u8>, Corruption> {
    let limit = max_raw_len(kind);
    if raw_len as usize > limit {
        return Err(codec::DecodeError::TooLong {
            kind,
            claimed: raw_len as usize,
            limit,
        }
        .into());
    }
    Ok(codec::decompress(codec, stored, raw_len as usize)?)
}

/// Decode a blob's stored bytes and check them against its id (or, for a
/// manifest, its checksum). The one check every reader applies, whether the
/// bytes come from the cache or a remote.
pub fn check_encoded(
    kind: ObjectKind,
    id: &Id,
    codec: Codec,
    stored: &[u8],
    raw_len: u32,
) -> Result<(), Corruption> {
    decode(kind, codec, stored, raw_len).and_then(|raw| check_blob(kind, id, &raw))
}

fn check_blob(kind: ObjectKind, id: &Id, raw: &[u8]) -> Result<(), Corruption> {
    match kind {
        ObjectKind::Manifest => Ok(Manifest::decode(raw).map(|_| ())?),
        _ => {
            let actual = Id::of(raw);
            if actual == *id {
                Ok(())
            } else {
                Err(Corruption::HashMismatch {
                    expected: *id,
                    actual,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
