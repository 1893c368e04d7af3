//! Writing one file from the store, verified, under a temporary name.
//!
//! A file's chunk list comes from its manifest (or is the one chunk named
//! like the file). Chunks are decoded in batches ahead of the writer, on
//! every core, each at its offset in one of two buffers the writer and the
//! decoders swap (nothing is allocated per chunk), each checked against
//! the length its manifest gives before anything is read; the
//! whole file is hashed beside the write and compared with the pointer's id
//! before the temporary file is renamed over the target, so a failure
//! leaves the old file (or nothing), and no unverified byte ever becomes
//! visible. That one hash covers every chunk of a file of several chunks,
//! so their ids are checked only when it fails, to name the damaged one; a
//! file of one chunk is checked against its id as it is read. Chunks the
//! store lacks may come from a remote chunk source ([`Restore::chunks`],
//! `pull`, `pull --no-cache`), which checks each against its id; a batch
//! the store holds none of is decoded by the source straight into its
//! buffer.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rayon::prelude::*;

use super::chunks::{chunk_list, require};
use super::{ahead, Job, Restore};
use crate::error::{Corruption, Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::object::{Mode, Piece};
use crate::hash::Hasher;
use crate::repo::stat_index::Stat;
use crate::store::max_raw_len;

/// Chunks decoded ahead of the writer, per file. Small enough that a
/// batch is still in the caches when it is written and hashed, and that
/// the first batch (decoded before anything can be written) and the last
/// (written and hashed with nothing left to decode) are short; large
/// enough that each batch spreads over the cores. Against 16 MiB, checkout
/// of the 1 GiB CSV took about a tenth less CPU and half the memory
/// (bench/RESULTS.md, co-text).
const BATCH_BYTES: u64 = 4 << 20;

/// Batches when chunks come from a remote chunk source (`pull`,
/// `pull --no-cache`): each batch is one round of ranged reads, and on an
/// object store a round costs a request latency whatever its size, so
/// fewer, larger rounds (4 MiB batches made a 1 GiB file 520 requests;
/// 16 MiB, 150).
const REMOTE_BATCH_BYTES: u64 = 16 << 20;

/// A batch goes to the file in writes of this size. One write of a whole
/// multi-MiB batch took the kernel several times longer to copy into the
/// page cache than the same bytes in 64–128 KiB writes (measured on this
/// project's reference VM, Linux 6.18: 1 GiB in 16 MiB writes 1.3–2.7
/// s of system time, in 128 KiB writes 0.33 s).
const WRITE_BYTES: usize = 128 << 10;

/// Files at least this large are preallocated before they are written
/// (`durable::preallocate`: ext4 then reserves their blocks at once instead
/// of page by page). A smaller file goes out in one or a few writes, for
/// which the extra `fallocate` call costs more than it saves: at 100,000
/// files of a few hundred bytes it was one syscall in ten.
const PREALLOCATE_MIN: u64 = 1 << 20;

impl Restore<'_> {
    /// The chunk list of `job`; with a remote chunk source, a file whose
    /// manifest is not cached is its one chunk, which the source must
    /// then have (and checks against the file's id).
    fn job_chunks(&self, job: &Job) -> Result<Vec<Piece>> {
        match chunk_list(self.store, &job.id, job.size, &job.abs) {
            Err(Error::MissingObject {
                kind: ObjectKind::Manifest,
                ..
            }) if self.chunks.is_some() && !self.store.contains(ObjectKind::Manifest, &job.id) => {
                Ok(vec![Piece {
                    id: job.id,
                    len: job.size,
                }])
            }
            r => r,
        }
    }

    /// A temporary file in `dir`, creating `dir` (and the directories
    /// above it) only when it is missing: the common case, a directory
    /// that exists, costs one `open` and no `mkdir` or `stat` per file.
    /// Directories this creates are remembered as fresh (see
    /// [`Restore::in_fresh_dir`]).
    fn temp_in(&self, dir: &Path) -> Result<tempfile::NamedTempFile> {
        let make = || {
            tempfile::Builder::new()
                .prefix(crate::durable::TMP_PREFIX)
                .tempfile_in(dir)
        };
        match make() {
            Ok(t) => return Ok(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("create temporary file in", dir, e)),
        }
        self.create_dirs(dir)?;
        make().map_err(|e| Error::io("create temporary file in", dir, e))
    }

    /// `create_dir_all`, recording each directory it made itself (not one
    /// that existed or that another thread made first) as fresh.
    fn create_dirs(&self, dir: &Path) -> Result<()> {
        match fs::create_dir(dir) {
            Ok(()) => {
                self.fresh_dirs
                    .lock()
                    .expect("fresh dirs lock poisoned")
                    .insert(dir.to_path_buf());
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let parent = dir
                    .parent()
                    .ok_or_else(|| Error::io("create directory", dir, e))?;
                self.create_dirs(parent)?;
                self.create_dirs(dir)
            }
            Err(e) => Err(Error::io("create directory", dir, e)),
        }
    }

    pub(super) fn write_file(&self, job: &Job) -> Result<Stat> {
        let chunks = self.job_chunks(job)?;
        let dir = job.abs.parent().expect("a repository path has a parent");
        let mut tmp = self.temp_in(dir)?;
        if job.size >= PREALLOCATE_MIN {
            crate::durable::preallocate(tmp.as_file(), job.size);
        }
        let mut hasher = Hasher::new();
        let mut written = 0u64;
        // A file of one chunk is that chunk, checked against its id as it
        // is read. A longer one is hashed as a whole beside the write (no
        // extra time on the writing thread), and that one check covers
        // every byte before the file becomes visible, so its chunks are
        // decoded without hashing each against its id as well (a fifth of
        // checkout's CPU); when the whole-file check fails, `name_damage`
        // re-reads them verified to name the bad one.
        let whole_hash = chunks.len() > 1;
        let batch_bytes = match self.chunks {
            Some(_) => REMOTE_BATCH_BYTES,
            None => BATCH_BYTES,
        };
        let batches = batches(&chunks, batch_bytes);
        // Chunks the store lacks are fetched several batches ahead of the
        // writer (`ahead`), so the network never waits on it.
        let depth = match self.chunks {
            Some(_) => ahead::DEPTH,
            None => 0,
        };
        // Whole rounds' buffers, handed back by the writer once written and
        // taken by the next round: the rounds and the writer hold at most
        // `DEPTH` + 2 of them, allocated once per file. (A fresh 16 MiB
        // buffer per round pushed a 2 GiB pull's peak from 121 to 223 MB:
        // the allocator kept the freed ones.)
        let spares: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
        let fetch = |k: usize| self.fetch_round(batches[k], &spares);
        ahead::with(batches.len(), depth, &fetch, |fetched| -> Result<()> {
            // Two buffers, swapped after each batch: the writer and the hasher
            // read one while the cores decode the next batch into the other.
            // Each is allocated (and its pages touched) once per file, not once
            // per chunk.
            let mut cur = Vec::new();
            let mut spare = Vec::new();
            if let Some(b) = batches.first() {
                let round = fetched.take(0)?;
                self.decode(b, round, &job.abs, whole_hash, &mut cur, &spares)?;
            }
            for k in 1..=batches.len() {
                let next_batch = batches.get(k);
                // One writer, in order: buffered writes to one file serialise
                // on its inode lock anyway, and measured no faster spread over
                // both cores (bench/RESULTS.md, 2026-12-01 perf-io); the cores
                // decode the next batch meanwhile.
                let write = || -> std::io::Result<()> {
                    for piece in cur.chunks(WRITE_BYTES) {
                        tmp.write_all(piece)?;
                    }
                    Ok(())
                };
                let mut hash = || {
                    if whole_hash {
                        hasher.update(&cur);
                    }
                };
                let mut next = || {
                    next_batch.map(|b| {
                        let round = fetched.take(k)?;
                        self.decode(b, round, &job.abs, whole_hash, &mut spare, &spares)
                    })
                };
                let (w, next) = if depth > 0 {
                    // Rounds come from the ahead pool: taking one mostly
                    // waits. The thread that waits hashes first, so the
                    // hash runs beside the write. (Nested as for a local
                    // batch, the wait was stolen first and blocked the
                    // pool's other thread while the hash queued behind the
                    // write on this one: write and hash ran one after the
                    // other, the writer became the pull's slowest stage,
                    // and a core sat idle a fifth of the time.)
                    rayon::join(write, || {
                        hash();
                        next()
                    })
                } else {
                    let ((w, ()), next) = rayon::join(|| rayon::join(write, hash), next);
                    (w, next)
                };
                w.map_err(|e| Error::io("write", tmp.path(), e))?;
                let n = cur.len() as u64;
                written += n;
                self.progress.advance(n);
                match next {
                    Some(r) => {
                        r?;
                        std::mem::swap(&mut cur, &mut spare);
                    }
                    None => break,
                }
            }
            Ok(())
        })?;
        let actual = if chunks.len() == 1 && written == job.size {
            // A single verified chunk is the file: its id was just checked.
            chunks[0].id
        } else {
            hasher.finalize()
        };
        if actual != job.id || written != job.size {
            if whole_hash {
                self.name_damage(&chunks, &job.abs)?;
            }
            return Err(Error::ContentMismatch {
                path: job.abs.clone(),
                expected: job.id,
                actual,
            });
        }
        let perm = match job.mode {
            Mode::Executable => 0o755,
            Mode::Regular => 0o644,
        };
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(perm))
            .map_err(|e| Error::io("set permissions of", tmp.path(), e))?;
        let file = tmp
            .persist(&job.abs)
            .map_err(|e| Error::io("rename into place", &job.abs, e.error))?;
        crate::failpoint::hit("checkout.file_written");
        let meta = file
            .metadata()
            .map_err(|e| Error::io("stat", &job.abs, e))?;
        Ok(Stat::of(&meta))
    }

    /// After a failed whole-file check: read every chunk the store holds
    /// again, verified, so the damaged one is named (and recorded in the
    /// damage list) by [`Store::read`]. `Ok` when every chunk is sound,
    /// which leaves the whole-file mismatch as the error.
    fn name_damage(&self, chunks: &[Piece], path: &Path) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for c in chunks {
            // Chunks `decode` fetched from the remote source (those the
            // store does not count as present) were checked against their
            // ids there; every other one came from the store.
            let fetched = self.chunks.is_some() && !self.store.contains(ObjectKind::Chunk, &c.id);
            if seen.insert(c.id) && !fetched {
                require(self.store, ObjectKind::Chunk, &c.id, path)?;
            }
        }
        Ok(())
    }

    /// Chunks of `batch` the store lacks, fetched from the remote chunk
    /// source if there is one (which checks each against its id), by
    /// position in the batch; `None` for every chunk the store holds.
    fn fetch_absent(&self, batch: &[Piece]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut remote: Vec<Option<Vec<u8>>> = vec![None; batch.len()];
        if let Some(source) = &self.chunks {
            let absent: Vec<usize> = (0..batch.len())
                .filter(|&i| !self.store.contains(ObjectKind::Chunk, &batch[i].id))
                .collect();
            if !absent.is_empty() {
                let wanted: Vec<Piece> = absent.iter().map(|&i| batch[i]).collect();
                for (i, bytes) in absent.into_iter().zip(source.fetch(&wanted)?) {
                    remote[i] = Some(bytes);
                }
            }
        }
        Ok(remote)
    }

    /// A batch's remote chunks, fetched as one round (by `ahead`, several
    /// rounds at once). A batch the store holds none of (a large file
    /// `pull` reads by range) is decoded by the source straight into a
    /// buffer of the batch's length, each chunk checked in its place: no
    /// chunk is decoded into a buffer of its own and copied (a tenth of
    /// pull's CPU), and the buffer is the one the writer then writes. The
    /// lengths are bounded first, as `decode_fetched` bounds them.
    fn fetch_round(&self, batch: &[Piece], spares: &Mutex<Vec<Vec<u8>>>) -> Result<Round> {
        if let Some(source) = &self.chunks {
            let longest = max_raw_len(ObjectKind::Chunk) as u64;
            if batch.iter().all(|c| c.len <= longest)
                && !batch
                    .iter()
                    .any(|c| self.store.contains(ObjectKind::Chunk, &c.id))
            {
                let total = batch.iter().map(|c| c.len).sum::<u64>() as usize;
                let mut out = lock(spares).pop().unwrap_or_default();
                // Every byte is overwritten (or the round fails), so only
                // growth is zero-filled.
                if out.len() < total {
                    out.resize(total, 0);
                }
                out.truncate(total);
                source.fetch_into(batch, &mut out)?;
                return Ok(Round::Whole(out));
            }
        }
        self.fetch_absent(batch).map(Round::Parts)
    }

    /// Decode `batch` into `out` from its `round` (see
    /// [`Restore::decode_fetched`]); a whole round becomes `out`, and the
    /// buffer it replaces goes to `spares` for a later round.
    fn decode(
        &self,
        batch: &[Piece],
        round: Round,
        path: &Path,
        whole_hash: bool,
        out: &mut Vec<u8>,
        spares: &Mutex<Vec<Vec<u8>>>,
    ) -> Result<()> {
        match round {
            Round::Whole(bytes) => {
                let old = std::mem::replace(out, bytes);
                if old.capacity() > 0 {
                    lock(spares).push(old);
                }
                Ok(())
            }
            Round::Parts(remote) => self.decode_fetched(batch, remote, path, whole_hash, out),
        }
    }

    /// Decode `batch` in parallel into `out`, each chunk at its offset
    /// (`out` ends up exactly as long as the batch; its earlier contents
    /// are overwritten, and it grows, zero-filled, only past its longest
    /// use so far). Each chunk is checked against its listed length and,
    /// unless `whole_hash` (the caller hashes the whole file before it is
    /// visible), against its id. Chunks the store lacks are `remote`, by
    /// position in `batch`, as [`Restore::fetch_absent`] returns them
    /// (fetched ahead, so one batch is fetched while another decodes).
    /// Every length is checked before `out` is sized, so a listed length no
    /// chunk can have allocates nothing.
    fn decode_fetched(
        &self,
        batch: &[Piece],
        remote: Vec<Option<Vec<u8>>>,
        path: &Path,
        whole_hash: bool,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let longest = max_raw_len(ObjectKind::Chunk) as u64;
        for (c, fetched) in batch.iter().zip(&remote) {
            let actual = match fetched {
                Some(bytes) => bytes.len() as u64,
                None if c.len > longest => self.stored_chunk(c, path)?.len() as u64,
                None => continue,
            };
            if actual != c.len {
                let cause = Corruption::ChunkLength {
                    expected: c.len,
                    actual,
                };
                return Err(self.store.corrupt(ObjectKind::Chunk, c.id, cause));
            }
        }
        let total: u64 = batch.iter().map(|c| c.len).sum();
        out.resize(total as usize, 0);
        let mut slots = Vec::with_capacity(batch.len());
        let mut rest = &mut out[..];
        for c in batch {
            let (slot, tail) = rest.split_at_mut(c.len as usize);
            slots.push(slot);
            rest = tail;
        }
        batch
            .par_iter()
            .zip(slots)
            .zip(remote)
            .try_for_each(|((c, slot), fetched)| match fetched {
                Some(bytes) => {
                    slot.copy_from_slice(&bytes);
                    Ok(())
                }
                None if self.store.read_chunk_into(&c.id, slot, !whole_hash)? => Ok(()),
                None => Err(Error::MissingObject {
                    kind: ObjectKind::Chunk,
                    id: c.id,
                    path: path.to_path_buf(),
                }),
            })
    }

    /// A chunk whose listed length no chunk can have, read the way every
    /// blob is (its stored length bounded by its kind), so the error says
    /// what it really holds without allocating what the listing claims.
    fn stored_chunk(&self, c: &Piece, path: &Path) -> Result<Vec<u8>> {
        self.store
            .read_unhashed(ObjectKind::Chunk, &c.id)?
            .ok_or_else(|| Error::MissingObject {
                kind: ObjectKind::Chunk,
                id: c.id,
                path: path.to_path_buf(),
            })
    }
}

/// A batch's remote chunks as one round delivers them.
enum Round {
    /// The whole batch, decoded in place by the source.
    Whole(Vec<u8>),
    /// The chunks the store lacks, by position ([`Restore::fetch_absent`]).
    Parts(Vec<Option<Vec<u8>>>),
}

fn batches(chunks: &[Piece], batch_bytes: u64) -> Vec<&[Piece]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, c) in chunks.iter().enumerate() {
        bytes += c.len;
        if bytes >= batch_bytes {
            out.push(&chunks[start..=i]);
            start = i + 1;
            bytes = 0;
        }
    }
    if start < chunks.len() {
        out.push(&chunks[start..]);
    }
    out
}

/// The spare buffers, usable even if a round panicked holding the lock
/// (a buffer's bytes are never trusted: each use overwrites them).
fn lock(spares: &Mutex<Vec<Vec<u8>>>) -> MutexGuard<'_, Vec<Vec<u8>>> {
    spares.lock().unwrap_or_else(|p| p.into_inner())
}
