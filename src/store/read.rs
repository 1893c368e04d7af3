//! Reading blobs back out of the packs, decoded and verified.
//!
//! A read finds the blob in the index, takes its stored bytes with one
//! positioned read from the pack's open file, decodes them and, unless the
//! caller hashes the bytes itself before anyone sees them, checks them
//! against the blob's id. Bytes that do not decode or do not match are
//! damage: the copy is recorded in the damage list and the error names the
//! blob and its pack.
//!
//! Restore reads its chunks with [`Store::read_chunk_into`], into a slice
//! of a buffer it reuses for a whole batch, so reading a file allocates
//! nothing per chunk: a raw chunk is read straight into place, and a
//! compressed one through a per-thread scratch buffer that is never
//! zero-filled twice. The chunk's length is checked against the index
//! before any byte is read.

use std::cell::RefCell;
use std::fs::File;
use std::os::unix::fs::FileExt;

use super::check::{check_blob, decode, decode_into};
use super::{PackSlot, Store};
use crate::error::{Corruption, Error, Result};
use crate::format::codec::Codec;
use crate::format::kind::ObjectKind;
use crate::hash::Id;

/// Stored blobs at most this long are read through the thread's scratch
/// buffer, which keeps its size; a longer one (only a hostile footer
/// claims one for a chunk) gets a buffer of its own, freed after it.
const SCRATCH_MAX: usize = 1 << 20;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl PackSlot {
    /// The pack's open file, opening it on first use.
    fn open(&self) -> Result<&File> {
        if let Some(f) = self.file.get() {
            return Ok(f);
        }
        let path = self.path.read().expect("pack path lock poisoned").clone();
        let f = File::open(&path).map_err(|e| Error::io("open pack", &path, e))?;
        Ok(self.file.get_or_init(|| f))
    }

    /// Fill `buf` from `offset` of the pack: a pack too short for it is
    /// a damaged pack, any other failure an I/O error.
    fn read_at(&self, file: &File, buf: &mut [u8], offset: u64) -> Result<()> {
        file.read_exact_at(buf, offset).map_err(|e| {
            let path = self.path.read().expect("pack path lock poisoned").clone();
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Error::CorruptPack {
                    path,
                    reason: "truncated",
                }
            } else {
                Error::io("read pack", &path, e)
            }
        })
    }
}

impl Store {
    /// Read, decode and verify one blob. `None` if the store lacks it.
    pub fn read(&self, kind: ObjectKind, id: &Id) -> Result<Option<Vec<u8>>> {
        self.read_inner(kind, id, true)
    }

    /// Read and decode one blob (its length checked) without hashing it
    /// against its id: only for a caller that hashes the bytes itself
    /// before anyone sees them, and that calls [`Store::read`] to name and
    /// record the damaged blob when its own check fails. A stream that
    /// does not decode is still damage, recorded here.
    pub fn read_unhashed(&self, kind: ObjectKind, id: &Id) -> Result<Option<Vec<u8>>> {
        self.read_inner(kind, id, false)
    }

    fn read_inner(&self, kind: ObjectKind, id: &Id, hash: bool) -> Result<Option<Vec<u8>>> {
        let Some((loc, slot)) = self.locate(kind, id) else {
            return Ok(None);
        };
        let file = slot.open()?;
        let mut stored = vec![0u8; loc.stored_len as usize];
        slot.read_at(file, &mut stored, loc.offset)?;
        let decoded = match loc.codec {
            // Already the raw bytes: no second copy.
            Codec::Raw if stored.len() == loc.raw_len as usize => Ok(stored),
            _ => decode(kind, loc.codec, &stored, loc.raw_len),
        };
        let checked = match decoded {
            Ok(raw) if hash => check_blob(kind, id, &raw).map(|_| raw),
            other => other,
        };
        checked
            .map(Some)
            .map_err(|cause| self.damaged(kind, id, &slot, cause))
    }

    /// Read chunk `id` into `out`, which must be exactly as long as the
    /// chunk, decoded and, with `hash`, checked against its id; `false` if
    /// the store lacks it. A chunk of another length is
    /// [`Corruption::ChunkLength`], found from the index before anything is
    /// read (the chunk is not damaged: whoever listed it with this length
    /// is). Without `hash`, the same contract as [`Store::read_unhashed`].
    pub fn read_chunk_into(&self, id: &Id, out: &mut [u8], hash: bool) -> Result<bool> {
        let kind = ObjectKind::Chunk;
        let Some((loc, slot)) = self.locate(kind, id) else {
            return Ok(false);
        };
        if u64::from(loc.raw_len) != out.len() as u64 {
            let cause = Corruption::ChunkLength {
                expected: out.len() as u64,
                actual: u64::from(loc.raw_len),
            };
            return Err(self.corrupt(kind, *id, cause));
        }
        let file = slot.open()?;
        let decoded = if loc.codec == Codec::Raw && loc.stored_len == loc.raw_len {
            // Already the raw bytes: read straight into place.
            slot.read_at(file, out, loc.offset)?;
            Ok(())
        } else {
            let n = loc.stored_len as usize;
            SCRATCH.with(|cell| -> Result<std::result::Result<(), Corruption>> {
                let mut own = Vec::new();
                let mut shared = cell.borrow_mut();
                let buf = if n <= SCRATCH_MAX {
                    &mut *shared
                } else {
                    &mut own
                };
                // Grown (and zero-filled) only past its longest use so far.
                if buf.len() < n {
                    buf.resize(n, 0);
                }
                let stored = &mut buf[..n];
                slot.read_at(file, stored, loc.offset)?;
                Ok(decode_into(kind, loc.codec, stored, out))
            })?
        };
        let checked = match decoded {
            Ok(()) if hash => check_blob(kind, id, out),
            other => other,
        };
        checked
            .map(|()| true)
            .map_err(|cause| self.damaged(kind, id, &slot, cause))
    }

    /// Record the copy of `(kind, id)` in `slot` as damaged and return the
    /// error that says so.
    fn damaged(&self, kind: ObjectKind, id: &Id, slot: &PackSlot, cause: Corruption) -> Error {
        let path = slot.path.read().expect("pack path lock poisoned").clone();
        self.mark_damaged(kind, id, &path);
        Error::CorruptObject {
            kind,
            id: *id,
            pack: Some(path),
            cause: Box::new(cause),
        }
    }
}
