//! Reading one stored file as a stream, with `Read` and `Seek`, without
//! restoring it: what `cairn cat` writes to stdout and what a program (the
//! Python binding) reads a dataset's file through.
//!
//! Chunks come from the store when it has them and otherwise from a
//! [`ChunkFetch`] (a remote read by ranges, `transfer::ranged`), which
//! hands over only bytes it has checked against their ids; the store checks
//! its own the same way, and every chunk's length is checked against the
//! file's manifest, so no unverified byte is ever returned. A reader that
//! goes from the first byte to the last without seeking also hashes what it
//! returned and fails at the end if the whole does not hash to the file's
//! id, so a damaged manifest cannot splice valid chunks into wrong data.
//!
//! Memory is bounded whatever the file's size: the reader holds one window
//! of consecutive chunks (at most [`WINDOW`] bytes plus one chunk) and, while
//! it is read in order, the next window being fetched in the background. A
//! read after a seek loads only the chunks that read covers.

use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};

use crate::engine::restore::chunk_list;
use crate::error::{Corruption, Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::object::Piece;
use crate::hash::{Hasher, Id};
use crate::store::Store;

/// Bytes read ahead at once while a file is read in order: enough to keep
/// several ranged requests in flight, small enough that two windows stay
/// far below any memory budget.
pub const WINDOW: u64 = 4 << 20;

/// Where chunks the store lacks come from.
pub trait ChunkFetch: Send + Sync {
    /// The bytes of each of `pieces`, in order, each checked against its
    /// id; any failure (a chunk nowhere to be found, a damaged copy) is an
    /// error, never a wrong chunk.
    fn fetch(&self, pieces: &[Piece]) -> Result<Vec<Vec<u8>>>;

    /// [`ChunkFetch::fetch`] into `out`, the pieces laid end to end in
    /// order (`out` is exactly as long as their listed lengths together,
    /// each at most a chunk's longest): each checked against its id, and
    /// against its listed length ([`Corruption::ChunkLength`]). How a
    /// restore takes a batch of remote chunks without a copy; a source
    /// that can decode in place overrides it. On failure `out` holds
    /// unchecked bytes.
    fn fetch_into(&self, pieces: &[Piece], out: &mut [u8]) -> Result<()> {
        let mut rest = out;
        for (p, bytes) in pieces.iter().zip(self.fetch(pieces)?) {
            if bytes.len() as u64 != p.len || bytes.len() > rest.len() {
                return Err(length_error(p, bytes.len() as u64));
            }
            let (slot, tail) = std::mem::take(&mut rest).split_at_mut(bytes.len());
            slot.copy_from_slice(&bytes);
            rest = tail;
        }
        Ok(())
    }

    /// Whether [`ChunkFetch::fetch`] can be counted on for chunk `id`,
    /// before anything is read: how a restore that takes its chunks from
    /// here (`pull --no-cache`) tells a path it can restore from one whose
    /// data is nowhere. A source that cannot tell says no.
    fn has_chunk(&self, _id: &Id) -> Result<bool> {
        Ok(false)
    }
}

/// Chunk `p` is `actual` bytes, not the length its manifest lists: the
/// listing is wrong (the chunk, checked against its id, is not damaged).
pub fn length_error(p: &Piece, actual: u64) -> Error {
    Error::CorruptObject {
        kind: ObjectKind::Chunk,
        id: p.id,
        pack: None,
        cause: Box::new(Corruption::ChunkLength {
            expected: p.len,
            actual,
        }),
    }
}

/// A [`ChunkFetch`] to hand around in options (which print with `Debug`).
#[derive(Clone)]
pub struct ChunkSource(pub Arc<dyn ChunkFetch>);

impl std::fmt::Debug for ChunkSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChunkSource")
    }
}

/// Chunks fetched from a remote, with their indices in the file.
type Fetched = Vec<(usize, Vec<u8>)>;

/// Remote chunks of the next window, arriving from a background thread.
struct Ahead {
    /// Pieces `first..end` of the file.
    first: usize,
    end: usize,
    rx: mpsc::Receiver<Result<Fetched>>,
}

/// A stored file, read through its chunks. `S` is how the store is held
/// (`&Store` for a command, an owned handle for a long-lived reader).
pub struct FileReader<S: Deref<Target = Store>> {
    store: S,
    remote: Option<Arc<dyn ChunkFetch>>,
    id: Id,
    size: u64,
    pieces: Arc<[Piece]>,
    /// Offset of each piece's first byte.
    starts: Vec<u64>,
    pos: u64,
    /// Pieces `first..first + chunks.len()`, loaded.
    first: usize,
    chunks: Vec<Vec<u8>>,
    ahead: Option<Ahead>,
    /// Hash of everything returned so far, while reading in order from 0.
    whole: Option<Hasher>,
    name: PathBuf,
}

impl<S: Deref<Target = Store>> FileReader<S> {
    /// The file whose id and size are `id` and `size` (from its pointer or
    /// its entry in a listing); `name` is only used in errors. Chunks the
    /// store lacks are read from `remote`, or are an error without one.
    /// Fails when the store lacks the file's manifest and segments (or, for
    /// a one-chunk file, its chunk).
    pub fn open(
        store: S,
        id: Id,
        size: u64,
        name: PathBuf,
        remote: Option<Arc<dyn ChunkFetch>>,
    ) -> Result<FileReader<S>> {
        let pieces = chunk_list(&store, &id, size, &name)?;
        let mut starts = Vec::with_capacity(pieces.len());
        let mut at = 0u64;
        for p in &pieces {
            starts.push(at);
            at = at.saturating_add(p.len);
        }
        if at != size {
            let cause = Corruption::ManifestSize {
                described: at,
                pointer: size,
            };
            return Err(store.corrupt(ObjectKind::Manifest, id, cause));
        }
        Ok(FileReader {
            store,
            remote,
            id,
            size,
            pieces: pieces.into(),
            starts,
            pos: 0,
            first: 0,
            chunks: Vec::new(),
            ahead: None,
            whole: Some(Hasher::new()),
            name,
        })
    }

    /// The read position.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Bytes of chunk data held right now (the window; the one being
    /// fetched ahead is at most [`WINDOW`] plus a chunk more).
    pub fn held(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    /// The index of the piece holding byte `pos` (< size).
    fn piece_at(&self, pos: u64) -> usize {
        match self.starts.binary_search(&pos) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// The end (exclusive) of a run of pieces from `from` covering at
    /// least `want` bytes, stopping early at [`WINDOW`] (never fewer
    /// than one piece).
    fn run_end(&self, from: usize, want: u64) -> usize {
        let mut end = from;
        let mut bytes = 0u64;
        while end < self.pieces.len() && (end == from || bytes < want.min(WINDOW)) {
            bytes += self.pieces[end].len;
            end += 1;
        }
        end
    }

    /// Make piece `i` part of the loaded window. `want` is how many bytes
    /// from the start of piece `i` the caller needs; a read that follows the window (or starts the
    /// file) is taken as sequential and loads a whole window, and starts
    /// fetching the next in the background.
    fn load(&mut self, i: usize, want: u64) -> Result<()> {
        let loaded = self.first..self.first + self.chunks.len();
        if loaded.contains(&i) {
            return Ok(());
        }
        let sequential = i == loaded.end && (i > 0 || self.pos == 0);
        if let Some(a) = self.ahead.take() {
            if (a.first..a.end).contains(&i) {
                let got = a.rx.recv().map_err(|_| Error::MissingObject {
                    kind: ObjectKind::Chunk,
                    id: self.pieces[i].id,
                    path: self.name.clone(),
                })??;
                // Drop the old window before filling the new one.
                self.chunks = Vec::new();
                let chunks = self.fill(a.first..a.end, got)?;
                self.install(a.first, chunks);
                self.read_ahead();
                return Ok(());
            }
        }
        let end = if sequential {
            self.run_end(i, WINDOW)
        } else {
            self.run_end(i, want)
        };
        self.chunks = Vec::new();
        let remote = self.fetch_missing(i..end)?;
        let chunks = self.fill(i..end, remote)?;
        self.install(i, chunks);
        if sequential {
            self.read_ahead();
        }
        Ok(())
    }

    fn install(&mut self, first: usize, chunks: Vec<Vec<u8>>) {
        self.first = first;
        self.chunks = chunks;
    }

    /// The pieces of `range` the store lacks, fetched from the remote now
    /// (with their indices).
    fn fetch_missing(&self, range: std::ops::Range<usize>) -> Result<Fetched> {
        let (idx, wanted) = self.missing_in(range);
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let Some(remote) = &self.remote else {
            return Err(Error::MissingObject {
                kind: ObjectKind::Chunk,
                id: wanted[0].id,
                path: self.name.clone(),
            });
        };
        Ok(idx.into_iter().zip(remote.fetch(&wanted)?).collect())
    }

    fn missing_in(&self, range: std::ops::Range<usize>) -> (Vec<usize>, Vec<Piece>) {
        range
            .filter(|&j| !self.store.contains(ObjectKind::Chunk, &self.pieces[j].id))
            .map(|j| (j, self.pieces[j]))
            .unzip()
    }

    /// Start fetching the remote chunks of the window after the loaded
    /// one, unless the store holds all of them.
    fn read_ahead(&mut self) {
        let from = self.first + self.chunks.len();
        let Some(remote) = &self.remote else { return };
        if from >= self.pieces.len() {
            return;
        }
        let end = self.run_end(from, WINDOW);
        let (idx, wanted) = self.missing_in(from..end);
        if wanted.is_empty() {
            return;
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let remote = Arc::clone(remote);
        let spawned = std::thread::Builder::new()
            .name("cairn-read-ahead".into())
            .spawn(move || {
                let got = remote
                    .fetch(&wanted)
                    .map(|bytes| idx.into_iter().zip(bytes).collect());
                // The reader may be gone (dropped, or seeked away): fine.
                let _ = tx.send(got);
            });
        // Without a thread the next window is simply loaded when reached.
        if spawned.is_ok() {
            self.ahead = Some(Ahead {
                first: from,
                end,
                rx,
            });
        }
    }

    /// The bytes of pieces `range`: those in `remote` (already verified)
    /// and the rest from the store; every length checked against the
    /// manifest.
    fn fill(&self, range: std::ops::Range<usize>, remote: Fetched) -> Result<Vec<Vec<u8>>> {
        let mut remote = remote.into_iter().peekable();
        let mut out = Vec::with_capacity(range.len());
        for j in range {
            let p = self.pieces[j];
            let bytes = match remote.next_if(|(k, _)| *k == j) {
                Some((_, b)) => b,
                None => self.store.read(ObjectKind::Chunk, &p.id)?.ok_or_else(|| {
                    Error::MissingObject {
                        kind: ObjectKind::Chunk,
                        id: p.id,
                        path: self.name.clone(),
                    }
                })?,
            };
            if bytes.len() as u64 != p.len {
                let cause = Corruption::ChunkLength {
                    expected: p.len,
                    actual: bytes.len() as u64,
                };
                return Err(self.store.corrupt(ObjectKind::Chunk, p.id, cause));
            }
            out.push(bytes);
        }
        Ok(out)
    }

    /// The error `read` reports once the in-order hash disagrees.
    fn check_whole(&mut self) -> io::Result<()> {
        if let Some(h) = self.whole.take() {
            let actual = h.finalize();
            if actual != self.id {
                let e = self.store.corrupt(
                    ObjectKind::Manifest,
                    self.id,
                    Corruption::HashMismatch {
                        expected: self.id,
                        actual,
                    },
                );
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
        Ok(())
    }
}

impl<S: Deref<Target = Store>> Read for FileReader<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pos >= self.size {
            self.check_whole()?;
            return Ok(0);
        }
        let mut done = 0;
        // Fill as much of `buf` as the loaded window (plus at most one
        // load) allows, so a large read is not cut at every chunk.
        let mut loaded_once = false;
        while done < buf.len() && self.pos < self.size {
            let i = self.piece_at(self.pos);
            let in_window = (self.first..self.first + self.chunks.len()).contains(&i);
            if !in_window {
                if loaded_once && done > 0 {
                    break;
                }
                // From the start of the piece to the end of this read.
                let want = (self.pos - self.starts[i]) + (buf.len() - done) as u64;
                // The reader's failures travel inside the io::Error.
                self.load(i, want).map_err(io::Error::other)?;
                loaded_once = true;
            }
            let bytes = &self.chunks[i - self.first];
            let off = (self.pos - self.starts[i]) as usize;
            let n = (buf.len() - done).min(bytes.len() - off);
            buf[done..done + n].copy_from_slice(&bytes[off..off + n]);
            if let Some(h) = &mut self.whole {
                h.update(&buf[done..done + n]);
            }
            done += n;
            self.pos += n as u64;
        }
        if self.pos >= self.size {
            self.check_whole()?;
        }
        Ok(done)
    }
}

impl<S: Deref<Target = Store>> Seek for FileReader<S> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let Some(target) = target else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            ));
        };
        if target != self.pos {
            // Out-of-order reading: chunks are still verified one by one,
            // but the whole-file hash no longer applies.
            self.whole = None;
        }
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
