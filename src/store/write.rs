//! Writing blobs: dedup, packing, and durability before reference.
//!
//! A blob is stored once: a thread reserves its index entry before writing,
//! so a second thread storing the same content sees it as present without
//! holding a lock across the write. Each worker thread appends to its own
//! open pack; a full pack is sealed in the background (footer, fsync,
//! sum beside it, rename into `packs/`, directory fsync), and [`Store::flush`] returns
//! only once every pack written so far is durable. Encoded blobs from a
//! remote are checked against their id before anything is written.

use std::fs;
use std::path::{Path, PathBuf};

use super::packfile::{Finished, PackWriter};
use super::packsum;
use super::{check_encoded, max_raw_len, pack_dir, tmp_dir, Loc, OpenWriter, Store, RESERVED};
use crate::error::{Error, Result};
use crate::format::codec::{self, Codec};
use crate::format::kind::ObjectKind;
use crate::hash::Id;

/// What [`Store::put`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Existing,
    Stored { stored_len: u64 },
}

/// Start a pack under a fresh temporary name in `tmp/`.
pub(super) fn new_pack(root: &Path) -> Result<PackWriter> {
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

/// Finish a pack and publish it: footer, fsync, its sum written and
/// fsynced beside where it will be (FORMAT.md §6.8), rename to
/// `packs/xx/<id>.pack` (readable by all, so a cache can be shared), and
/// fsync both directories so the new names survive a crash. The sum goes
/// first: a pack in `packs/` without one only lacks push's fast path, and
/// a sum without its pack (a crash between the renames) is never read.
pub(super) fn publish(root: &Path, writer: PackWriter) -> Result<PathBuf> {
    publish_with_entries(root, writer).map(|(dest, _)| dest)
}

/// [`publish`], also returning the pack's entries (for a caller that
/// indexes them itself: `stage.rs`).
pub(super) fn publish_with_entries(
    root: &Path,
    writer: PackWriter,
) -> Result<(PathBuf, Vec<crate::format::pack::Entry>)> {
    let Finished {
        path: tmp,
        id,
        entries,
        sum,
    } = writer.finish()?;
    let hex = id.to_hex();
    let dir = pack_dir(root);
    let sub = dir.join(&hex[..2]);
    fs::create_dir_all(&sub).map_err(|e| Error::io("create directory", &sub, e))?;
    let dest = sub.join(format!("{hex}.pack"));
    crate::failpoint::hit("store.pack_finished");
    packsum::write_sum(&tmp_dir(root), &dest, &sum)?;
    crate::failpoint::hit("store.sum_written");
    fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .map_err(|e| Error::io("set permissions of", &tmp, e))?;
    fs::rename(&tmp, &dest).map_err(|e| Error::io("rename pack into", &dest, e))?;
    crate::durable::sync_dir(&sub)?;
    crate::durable::sync_dir(&dir)?;
    Ok((dest, entries))
}

impl Store {
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
            let n = self.add_slot(writer.path().to_path_buf());
            *w = Some((n, writer));
        }
        let (n, writer) = w.as_mut().expect("pack writer was just created");
        let e = writer.add(kind, id, codec, stored, raw_len)?;
        self.index_blob(kind, id, Loc::of(*n, &e));
        if writer.is_full() {
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
}
