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
//! against its id before it is handed on; a thread of the set's own writes
//! the packs (so the threads that decode never wait on a pack's writes,
//! its checksum or another decoder's turn at the pack: with the pack
//! behind a lock that every decoder wrote through, the two decoders of a
//! pull waited on it a tenth of their time); a full pack is sealed in the
//! background while the reader goes on; and [`Store::adopt`] waits for the
//! writer and the last seal and only then adds the blobs to the index. A
//! crash at any point leaves complete packs in `packs/` (found by the next
//! open, as any other) and a temporary file in `tmp/`, never a partial
//! pack.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use bytes::Bytes;

use super::packfile::PackWriter;
use super::{decode_checked, Loc, Store};
use crate::error::{Corruption, Error, Result};
use crate::format::codec::Codec;
use crate::format::kind::ObjectKind;
use crate::format::pack::Entry;
use crate::hash::Id;

/// A sealed pack: its final path and its entries.
type Sealed = (PathBuf, Vec<Entry>);

/// Blobs checked and waiting for the pack writer. Bounded so a writer
/// slower than the decoders (incompressible data decodes at the speed of
/// a copy) holds back the decoders, not memory: a queued blob keeps the
/// whole ranged read it came in alive (up to 16 MiB). At 512 a pull of the
/// 2 GiB random file peaked at 172–190 MB against 167–170 MB without the
/// queue; 64 blobs are at most a few MiB of chunks, still far more than
/// the writer falls behind between two of its writes.
const QUEUED: usize = 64;

/// Blobs handed to the writer at once. One at a time, the writer emptied
/// the queue faster than the decoders filled it and slept after nearly
/// every blob: a pull of the 1 GiB CSV woke it about 5,500 times, two
/// fifths of the pull's context switches. A batch is under a MiB of
/// stored chunks, and [`QUEUED`] blobs are still the most waiting.
const BATCH: usize = 32;

/// One checked blob, as it arrived (still encoded), for the pack writer.
struct Blob {
    kind: ObjectKind,
    id: Id,
    codec: Codec,
    stored: Bytes,
    raw_len: u32,
}

/// Packs being sealed in the background, shared by the set and its writer.
type Sealing = Arc<Mutex<Vec<JoinHandle<Result<Sealed>>>>>;

/// The set's pack writer: where checked blobs go, and its thread.
struct Writer {
    queue: SyncSender<Vec<Blob>>,
    thread: JoinHandle<Result<()>>,
    /// Blobs not yet handed over, fewer than [`BATCH`]; `adopt` hands
    /// them over before it closes the queue.
    pending: Vec<Blob>,
}

/// Blobs being kept beside a store (see the module comment).
pub struct Staged {
    root: PathBuf,
    /// Started at the first blob kept; taken (closed) by `adopt`.
    writer: Mutex<Option<Writer>>,
    /// Blobs handed to the writer so far, so a blob read twice is kept once.
    kept: Mutex<HashSet<(ObjectKind, Id)>>,
    sealing: Sealing,
}

impl Staged {
    /// Decode `stored` and check it against `(kind, id)`; when it passes,
    /// hand it as it came (still encoded) to this set's pack writer, unless
    /// it was kept before, and return the decoded bytes. A blob that fails
    /// its check is not written and the cause is returned.
    pub fn decode_keep(
        &self,
        kind: ObjectKind,
        id: &Id,
        codec: Codec,
        stored: Bytes,
        raw_len: u32,
    ) -> std::result::Result<Result<Vec<u8>>, Corruption> {
        let raw = decode_checked(kind, id, codec, &stored, raw_len)?;
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
        stored: Bytes,
        out: &mut [u8],
    ) -> std::result::Result<Result<()>, Corruption> {
        super::decode_checked_into(kind, id, codec, &stored, out)?;
        let raw_len =
            u32::try_from(out.len()).map_err(|_| crate::format::codec::DecodeError::TooLong {
                kind,
                claimed: out.len(),
                limit: super::max_raw_len(kind),
            })?;
        Ok(self.keep(kind, *id, codec, stored, raw_len))
    }

    /// Queue a checked blob for the pack writer, in batches of [`BATCH`]
    /// (waiting only when [`QUEUED`] blobs are waiting already). Fails
    /// when the writer has stopped on an error: the error itself is
    /// `adopt`'s to return.
    fn keep(
        &self,
        kind: ObjectKind,
        id: Id,
        codec: Codec,
        stored: Bytes,
        raw_len: u32,
    ) -> Result<()> {
        if !self.lock_kept().insert((kind, id)) {
            return Ok(());
        }
        let blob = Blob {
            kind,
            id,
            codec,
            stored,
            raw_len,
        };
        let sent = {
            let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            if writer.is_none() {
                match self.start_writer() {
                    Ok(w) => *writer = Some(w),
                    Err(e) => {
                        drop(writer);
                        self.lock_kept().remove(&(kind, id));
                        return Err(e);
                    }
                }
            }
            match writer.as_mut() {
                Some(w) => {
                    w.pending.push(blob);
                    if w.pending.len() < BATCH {
                        return Ok(());
                    }
                    Some((w.queue.clone(), std::mem::take(&mut w.pending)))
                }
                None => None,
            }
        };
        // Sent outside the lock: a full queue holds back only this thread.
        let mut lost = vec![(kind, id)];
        if let Some((queue, batch)) = sent {
            lost = batch.iter().map(|b| (b.kind, b.id)).collect();
            if queue.send(batch).is_ok() {
                return Ok(());
            }
        }
        // The writer stopped on an error (or was closed): these blobs are
        // not kept, and the first reader to see it returns the writer's
        // error.
        {
            let mut kept = self.lock_kept();
            for k in &lost {
                kept.remove(k);
            }
        }
        let stopped = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        let cause = match stopped.map(|w| w.thread.join()) {
            Some(Ok(Err(e))) => return Err(e),
            Some(Err(_)) => "the pack writer panicked",
            _ => "the pack writer stopped",
        };
        Err(Error::io(
            "keep a fetched blob in",
            super::pack_dir(&self.root),
            std::io::Error::other(cause),
        ))
    }

    /// The pack writer's thread and the queue to it.
    fn start_writer(&self) -> Result<Writer> {
        let (queue, blobs) = sync_channel(QUEUED / BATCH);
        let root = self.root.clone();
        let sealing = Arc::clone(&self.sealing);
        let thread = std::thread::Builder::new()
            .name("cairn-keep".into())
            .spawn(move || write_packs(&root, &blobs, &sealing))
            .map_err(|e| Error::io("start the pack writer for", super::pack_dir(&self.root), e))?;
        Ok(Writer {
            queue,
            thread,
            pending: Vec::with_capacity(BATCH),
        })
    }

    fn lock_kept(&self) -> MutexGuard<'_, HashSet<(ObjectKind, Id)>> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Blobs kept so far.
    pub fn len(&self) -> usize {
        self.lock_kept().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The pack writer: append each blob of `blobs` to the open pack, sealing
/// it in the background when full and the last one when the queue closes.
/// On a failed write it stops (the queue's senders then fail) and returns
/// the error; the packs sealed before it still count.
fn write_packs(root: &Path, batches: &Receiver<Vec<Blob>>, sealing: &Sealing) -> Result<()> {
    let mut open: Option<PackWriter> = None;
    for b in batches.iter().flatten() {
        let writer = match open.as_mut() {
            Some(w) => w,
            None => {
                // Its blobs are in the restore's hands already: nothing
                // reads this pack soon, so its pages go once it is durable.
                let mut w = super::new_pack(root)?;
                w.drop_cache_when_sealed();
                open.insert(w)
            }
        };
        writer.add(b.kind, b.id, b.codec, &b.stored, b.raw_len as usize)?;
        if writer.is_full() {
            seal(root, sealing, open.take());
        }
    }
    seal(root, sealing, open.take());
    Ok(())
}

/// Seal a pack in the background, as the store seals its own.
fn seal(root: &Path, sealing: &Sealing, writer: Option<PackWriter>) {
    let Some(writer) = writer else {
        return;
    };
    let root = root.to_path_buf();
    let handle = std::thread::spawn(move || {
        let sealed = super::publish_with_entries(&root, writer)?;
        crate::failpoint::hit("store.staged_pack_sealed");
        Ok(sealed)
    });
    sealing
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(handle);
}

impl Store {
    /// A set of blobs to keep beside this store, named in its index only
    /// by [`Store::adopt`].
    pub fn stage(&self) -> Arc<Staged> {
        Arc::new(Staged {
            root: self.root.clone(),
            writer: Mutex::new(None),
            kept: Mutex::new(HashSet::new()),
            sealing: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Close the pack writer of `staged` (which seals its last pack), wait
    /// until every one of its packs is durable, then index their blobs
    /// (those the store does not already hold intact). Returns the number
    /// of blobs newly indexed. On error (a write or a seal that failed) the
    /// packs that were sealed are still indexed, and the first error is
    /// returned.
    pub fn adopt(&self, staged: &Staged) -> Result<usize> {
        let mut first_err = None;
        let writer = staged
            .writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(Writer {
            queue,
            thread,
            pending,
        }) = writer
        {
            // A writer that stopped has its error in `thread`; these blobs
            // are then not kept, as any sent after it stopped.
            if !pending.is_empty() {
                let _ = queue.send(pending);
            }
            drop(queue);
            let written = thread.join().unwrap_or_else(|_| {
                Err(Error::io(
                    "write pack in",
                    super::pack_dir(&self.root),
                    std::io::Error::other("pack writer panicked"),
                ))
            });
            if let Err(e) = written {
                first_err = Some(e);
            }
        }
        let handles =
            std::mem::take(&mut *staged.sealing.lock().unwrap_or_else(|p| p.into_inner()));
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
        let stored = Bytes::from(raw.clone());
        let got = staged.decode_keep(ObjectKind::Chunk, &id, Codec::Raw, stored.clone(), len);
        assert_eq!(got.unwrap().unwrap(), raw);
        // Twice: kept once.
        let again = staged.decode_keep(ObjectKind::Chunk, &id, Codec::Raw, stored.clone(), len);
        assert_eq!(again.unwrap().unwrap(), raw);
        // Bytes that do not match their id are refused, and not kept.
        let wrong = Id::of(b"something else");
        let bad = staged.decode_keep(ObjectKind::Chunk, &wrong, Codec::Raw, stored, len);
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

    /// Blobs go to the writer in batches: every one kept from threads at
    /// once, whole batches and the last, partial one, is written and
    /// indexed by `adopt`, and a blob kept twice is kept once.
    #[test]
    fn every_blob_of_whole_and_partial_batches_is_adopted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &Silent).unwrap();
        let staged = store.stage();
        let n = 5 * BATCH + 3;
        let raws: Vec<Vec<u8>> = (0..n).map(|i| format!("blob {i}").into_bytes()).collect();
        std::thread::scope(|s| {
            for half in raws.chunks(n / 2 + 1) {
                let staged = &staged;
                s.spawn(move || {
                    // Each blob twice: kept once.
                    for raw in half.iter().chain(half) {
                        let (id, len) = (Id::of(raw), raw.len() as u32);
                        let stored = Bytes::from(raw.clone());
                        let got =
                            staged.decode_keep(ObjectKind::Chunk, &id, Codec::Raw, stored, len);
                        assert_eq!(&got.unwrap().unwrap(), raw);
                    }
                });
            }
        });
        assert_eq!(staged.len(), n);
        assert_eq!(store.adopt(&staged).unwrap(), n);
        for raw in &raws {
            let got = store.read(ObjectKind::Chunk, &Id::of(raw)).unwrap();
            assert_eq!(got.as_ref(), Some(raw));
        }
        drop(store);
        assert_eq!(Store::open(dir.path(), &Silent).unwrap().len(), n);
    }
}
