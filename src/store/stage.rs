//! Keeping blobs a reader fetched for itself: packs written beside the
//! store, sealed as they fill, and named in its index only once durable.
//!
//! A plain `pull` restores large files from ranged reads of the remote
//! (`transfer::ranged`) and keeps what it read in the cache as well, so each
//! byte is decoded once. Those blobs cannot go through [`Store::put_encoded`]:
//! a blob that the store's index names may be read back at once, and a read
//! of a pack still being written can see bytes not yet out of its buffer. A
//! [`Staged`] set therefore writes its own packs (through the same writer and
//! the same publish step: footer, fsync, rename into `packs/`, directory
//! fsync, FORMAT.md §10.1) without touching the index: every blob enters
//! only through [`Staged::decode_keep`], which decodes it and checks it
//! against its id before a byte is written; a full pack is sealed in the
//! background while the reader goes on; and [`Store::adopt`] waits for the
//! last seal and only then adds the blobs to the index. A crash at any
//! point leaves complete packs in `packs/` (found by the next open, as any
//! other) and a temporary file in `tmp/`, never a partial pack.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::packfile::PackWriter;
use super::{decode_checked, Loc, Store};
use crate::error::{Corruption, Error, Result};
use crate::format::codec::Codec;
use crate::format::kind::ObjectKind;
use crate::format::pack::Entry;
use crate::hash::Id;

/// A sealed pack: its final path and its entries.
type Sealed = (PathBuf, Vec<Entry>);

/// Blobs being kept beside a store (see the module comment).
pub struct Staged {
    root: PathBuf,
    open: Mutex<Option<PackWriter>>,
    /// Blobs written so far, so a blob read twice is kept once.
    kept: Mutex<HashSet<(ObjectKind, Id)>>,
    sealing: Mutex<Vec<JoinHandle<Result<Sealed>>>>,
}

impl Staged {
    /// Decode `stored` and check it against `(kind, id)`; when it passes,
    /// append it as it came (still encoded) to this set's open pack, unless
    /// it was kept before, and return the decoded bytes. A blob that fails
    /// its check is not written and the cause is returned.
    pub fn decode_keep(
        &self,
        kind: ObjectKind,
        id: &Id,
        codec: Codec,
        stored: &[u8],
        raw_len: u32,
    ) -> std::result::Result<Result<Vec<u8>>, Corruption> {
        let raw = decode_checked(kind, id, codec, stored, raw_len)?;
        Ok(self.keep(kind, *id, codec, stored, raw_len).map(|()| raw))
    }

    /// [`Staged::decode_keep`] into `out`, which is exactly as long as the
    /// blob claims to be: decoded in place (a slot of a restore's batch),
    /// checked there, and kept as it came when it passes. On failure
    /// nothing is written and `out` holds unchecked bytes.
    pub fn decode_keep_into(
        &self,
        kind: ObjectKind,
        id: &Id,
        codec: Codec,
        stored: &[u8],
        out: &mut [u8],
    ) -> std::result::Result<Result<()>, Corruption> {
        super::decode_checked_into(kind, id, codec, stored, out)?;
        let raw_len =
            u32::try_from(out.len()).map_err(|_| crate::format::codec::DecodeError::TooLong {
                kind,
                claimed: out.len(),
                limit: super::max_raw_len(kind),
            })?;
        Ok(self.keep(kind, *id, codec, stored, raw_len))
    }

    fn keep(
        &self,
        kind: ObjectKind,
        id: Id,
        codec: Codec,
        stored: &[u8],
        raw_len: u32,
    ) -> Result<()> {
        if !self.lock_kept().insert((kind, id)) {
            return Ok(());
        }
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let writer = match open.as_mut() {
            Some(w) => w,
            None => {
                // Its blobs are in the restore's hands already: nothing
                // reads this pack soon, so its pages go once it is durable.
                let mut w = super::new_pack(&self.root)?;
                w.drop_cache_when_sealed();
                open.insert(w)
            }
        };
        if let Err(e) = writer.add(kind, id, codec, stored, raw_len as usize) {
            // Not written: let a later read of the same blob try again.
            self.lock_kept().remove(&(kind, id));
            return Err(e);
        }
        if writer.is_full() {
            let full = open.take();
            drop(open);
            self.seal(full);
        }
        Ok(())
    }

    fn lock_kept(&self) -> std::sync::MutexGuard<'_, HashSet<(ObjectKind, Id)>> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seal a pack in the background, as the store seals its own.
    fn seal(&self, writer: Option<PackWriter>) {
        let Some(writer) = writer else {
            return;
        };
        let root = self.root.clone();
        let handle = std::thread::spawn(move || {
            let sealed = super::publish_with_entries(&root, writer)?;
            crate::failpoint::hit("store.staged_pack_sealed");
            Ok(sealed)
        });
        self.sealing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle);
    }

    /// Blobs kept so far.
    pub fn len(&self) -> usize {
        self.lock_kept().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Store {
    /// A set of blobs to keep beside this store, named in its index only
    /// by [`Store::adopt`].
    pub fn stage(&self) -> Arc<Staged> {
        Arc::new(Staged {
            root: self.root.clone(),
            open: Mutex::new(None),
            kept: Mutex::new(HashSet::new()),
            sealing: Mutex::new(Vec::new()),
        })
    }

    /// Seal the last pack of `staged`, wait until every one of its packs is
    /// durable, then index their blobs (those the store does not already
    /// hold intact). Returns the number of blobs newly indexed. On error
    /// (a pack that could not be sealed) the packs that were sealed are
    /// still indexed, and the first error is returned.
    pub fn adopt(&self, staged: &Staged) -> Result<usize> {
        let last = staged.open.lock().unwrap_or_else(|p| p.into_inner()).take();
        staged.seal(last);
        let handles =
            std::mem::take(&mut *staged.sealing.lock().unwrap_or_else(|p| p.into_inner()));
        let mut first_err = None;
        let mut added = 0;
        for h in handles {
            let sealed = h.join().unwrap_or_else(|_| {
                Err(Error::io(
                    "seal pack in",
                    super::pack_dir(&self.root),
                    std::io::Error::other("sealing thread panicked"),
                ))
            });
            match sealed {
                Ok((path, entries)) => added += self.index_pack(&path, entries),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(added),
        }
    }

    /// Add a sealed pack and the blobs of it the store lacks to the index.
    fn index_pack(&self, path: &Path, entries: Vec<Entry>) -> usize {
        let n = self.add_slot(path.to_path_buf());
        let mut added = 0;
        for e in entries {
            if self.contains(e.kind, &e.id) {
                continue;
            }
            self.index_blob(e.kind, e.id, Loc::of(n, &e));
            added += 1;
        }
        added
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    #[test]
    fn kept_blobs_are_checked_first_and_indexed_only_by_adopt() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &Silent).unwrap();
        let staged = store.stage();
        let raw = b"a chunk fetched by range".to_vec();
        let id = Id::of(&raw);
        let len = raw.len() as u32;
        let got = staged.decode_keep(ObjectKind::Chunk, &id, Codec::Raw, &raw, len);
        assert_eq!(got.unwrap().unwrap(), raw);
        // Twice: kept once.
        let again = staged.decode_keep(ObjectKind::Chunk, &id, Codec::Raw, &raw, len);
        assert_eq!(again.unwrap().unwrap(), raw);
        // Bytes that do not match their id are refused, and not kept.
        let wrong = Id::of(b"something else");
        let bad = staged.decode_keep(ObjectKind::Chunk, &wrong, Codec::Raw, &raw, len);
        assert!(matches!(bad, Err(Corruption::HashMismatch { .. })));
        assert_eq!(staged.len(), 1);
        assert!(!store.contains(ObjectKind::Chunk, &id));
        assert_eq!(store.adopt(&staged).unwrap(), 1);
        assert_eq!(store.read(ObjectKind::Chunk, &id).unwrap(), Some(raw));
        assert!(!store.contains(ObjectKind::Chunk, &wrong));
        // Durable and found by the next open, as any sealed pack.
        drop(store);
        let reopened = Store::open(dir.path(), &Silent).unwrap();
        assert!(reopened.contains(ObjectKind::Chunk, &id));
        assert_eq!(reopened.len(), 1);
    }
}
