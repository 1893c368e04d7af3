//! Turning files and directories into stored objects (`cairn add`).
//!
//! A file is read in blocks of bounded size, so memory stays bounded
//! whatever its size. One thread reads each block, cuts it into chunks and
//! feeds it to the whole-file hash; every chunk is hashed, compressed and
//! stored as its own task in the pool, and reading goes on while they run,
//! with no pause between blocks, which keeps both cores busy from the
//! first megabyte to the last. Small files are read whole and many
//! are processed at once. A file whose stat matches the stat index and whose
//! content is already stored is not read at all.
//!
//! A directory is walked in path order and its listing built as the files
//! come (see [`crate::repo::walk`]), so memory stays bounded whatever the
//! number of files.
//!
//! Ingest only stores objects and returns ids; it never writes pointers. The
//! caller writes them after [`Store::flush`] has made every object durable.

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

mod blocks;

use crate::durable::is_tmp_name;
use crate::engine::listing::Builder;
use crate::error::{Error, Result};
use crate::format::chunking::Chunker;
use crate::format::kind::ObjectKind;
use crate::format::object::{self, Form, Manifest, Mode, Piece, TreeEntry};
use crate::format::pointer::{Pointer, SUFFIX};
use crate::hash::{Hasher, Id};
use crate::progress::{Progress, Warning};
use crate::repo::stat_index::{Stat, StatIndex};
use crate::repo::walk::{walk_sorted, Found};
use crate::repo::workspace::Workspace;
use crate::store::{Put, Store};
use blocks::{Block, Blocks};

/// Files up to this size are read in one piece.
const SMALL_FILE: u64 = 8 << 20;
/// Read size for large files.
const BLOCK: usize = 8 << 20;
/// Size of a large file's first block: small, so that compression starts
/// after reading and cutting 1 MiB instead of 8 (blocks then double).
const FIRST_BLOCK: usize = 1 << 20;

/// Chunk boundaries in a buffer, as (offset, length).
type Cuts = Vec<(usize, usize)>;

/// Totals for one `add`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Files whose content was read and hashed.
    pub files_read: AtomicU64,
    /// Files skipped because the stat index vouched for them.
    pub files_cached: AtomicU64,
    /// Bytes of file content read.
    pub bytes_read: AtomicU64,
    /// Blobs newly written to the store, and their stored size.
    pub blobs_stored: AtomicU64,
    pub bytes_stored: AtomicU64,
}

impl Counters {
    fn stored(&self, p: Put) {
        if let Put::Stored { stored_len } = p {
            self.blobs_stored.fetch_add(1, Ordering::Relaxed);
            self.bytes_stored.fetch_add(stored_len, Ordering::Relaxed);
        }
    }
}

/// Everything ingest needs, shared by the worker threads.
pub struct Ingest<'a> {
    pub ws: &'a Workspace,
    pub store: &'a Store,
    pub index: Mutex<&'a mut StatIndex>,
    pub progress: &'a dyn Progress,
    pub counters: Counters,
    chunker: Chunker,
}

impl<'a> Ingest<'a> {
    pub fn new(
        ws: &'a Workspace,
        store: &'a Store,
        index: &'a mut StatIndex,
        progress: &'a dyn Progress,
    ) -> Ingest<'a> {
        Ingest {
            ws,
            store,
            index: Mutex::new(index),
            progress,
            counters: Counters::default(),
            chunker: Chunker::default(),
        }
    }

    /// Store the file or directory at repository-relative `rel` and return
    /// the pointer that describes it. Nothing is durable until
    /// [`Store::flush`].
    pub fn add_path(&self, rel: &str) -> Result<Pointer> {
        let abs = self.ws.safe_abs(rel)?;
        if rel.ends_with(SUFFIX) {
            return Err(Error::CannotTrack {
                path: abs,
                reason: "it is a cairn pointer file",
            });
        }
        let mut prefix = String::new();
        for comp in rel.split('/') {
            if !prefix.is_empty() {
                let ptr = self.ws.root().join(format!("{prefix}{SUFFIX}"));
                if ptr.is_file() {
                    return Err(Error::CannotTrack {
                        path: abs,
                        reason: "it is inside a directory that cairn already tracks; add that directory again instead",
                    });
                }
                prefix.push('/');
            }
            prefix.push_str(comp);
        }
        let meta = match fs::symlink_metadata(&abs) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NoSuchPath { path: abs })
            }
            Err(e) => return Err(Error::io("stat", &abs, e)),
        };
        let ft = meta.file_type();
        if ft.is_symlink() {
            Err(Error::SymlinkNotTracked { path: abs })
        } else if ft.is_file() {
            self.progress.begin("adding", Some(meta.len()));
            let r = self.file(rel, &abs, &meta);
            self.progress.end();
            let (id, stat) = r?;
            Ok(Pointer::File {
                id,
                size: stat.size,
                mode: Mode::from_permissions(meta.permissions().mode()),
            })
        } else if ft.is_dir() {
            self.dir(rel, &abs)
        } else {
            Err(Error::UnsupportedFileType { path: abs })
        }
    }

    /// Store a directory: its files in path order, a batch at a time, and
    /// its listing node by node as the entries arrive, so memory does not
    /// grow with the number of files. The total is not known before the
    /// walk ends, so progress counts bytes without one.
    fn dir(&self, rel: &str, abs: &Path) -> Result<Pointer> {
        self.progress.begin("adding", None);
        let r = self.dir_walk(rel, abs);
        self.progress.end();
        r
    }

    fn dir_walk(&self, rel: &str, abs: &Path) -> Result<Pointer> {
        let (store, counters) = (self.store, &self.counters);
        let mut sink = |id: Id, raw: Vec<u8>| {
            counters.stored(store.put(ObjectKind::Tree, id, &raw)?);
            Ok(())
        };
        let mut builder = Builder::new(&mut sink);
        // Files `.cairnignore` excludes are not data: never stored.
        walk_sorted(self.ws.root(), rel, abs, &mut |batch| {
            // The walk is serial; the lstat and the work on each file are
            // not (big files also parallelise internally).
            let entries: Vec<Option<TreeEntry>> = batch
                .into_par_iter()
                .map(|f| self.found(rel, f))
                .collect::<Result<_>>()?;
            for e in entries.into_iter().flatten() {
                builder.push(e)?;
            }
            Ok(())
        })?;
        let root = builder.finish()?;
        Ok(Pointer::Dir {
            id: root.id,
            size: root.bytes,
            files: root.files,
            layered: root.layered,
        })
    }

    /// Store one entry the walk of tracked directory `rel` met; `None` for
    /// what is not data (cairn's temporary files, links and special files,
    /// which are reported).
    fn found(&self, rel: &str, f: Found) -> Result<Option<TreeEntry>> {
        let path = || f.entry.path();
        let ft = f
            .entry
            .file_type()
            .map_err(|e| Error::io("stat", path(), e))?;
        if is_tmp_name(&f.entry.file_name()) {
            return Ok(None);
        }
        if ft.is_symlink() {
            self.progress.warn(Warning::SkippedSymlink { path: path() });
            return Ok(None);
        }
        if !ft.is_file() {
            self.progress.warn(Warning::SkippedSpecial { path: path() });
            return Ok(None);
        }
        let sub = f
            .sub
            .clone()
            .ok_or_else(|| Error::NonUtf8Path { path: path() })?;
        object::check_rel_path(&sub).map_err(|reason| Error::UnsafePath {
            path: format!("{rel}/{sub}"),
            reason,
        })?;
        if sub.len() > u16::MAX as usize {
            return Err(Error::CannotTrack {
                path: path(),
                reason: "its path is longer than 65535 bytes",
            });
        }
        let meta = f
            .entry
            .metadata()
            .map_err(|e| Error::io("stat", path(), e))?;
        let (id, stat) = self.file(&format!("{rel}/{sub}"), &path(), &meta)?;
        Ok(Some(TreeEntry {
            path: sub,
            mode: Mode::from_permissions(meta.permissions().mode()),
            size: stat.size,
            id,
        }))
    }

    /// Store one regular file; returns its id and the stat it was read at.
    fn file(&self, rel: &str, abs: &Path, meta: &fs::Metadata) -> Result<(Id, Stat)> {
        let stat = Stat::of(meta);
        let cached = self
            .index
            .lock()
            .expect("index lock poisoned")
            .lookup(rel, &stat);
        if let Some(id) = cached {
            if self.store.has_file(&id, stat.size) {
                self.counters.files_cached.fetch_add(1, Ordering::Relaxed);
                self.progress.advance(stat.size);
                return Ok((id, stat));
            }
        }
        let mut f = File::open(abs).map_err(|e| Error::io("open", abs, e))?;
        let id = if stat.size <= SMALL_FILE {
            self.small_file(abs, &mut f, stat.size)?
        } else {
            self.large_file(abs, &mut f)?
        };
        // A file that changed under us would get an id for bytes that were
        // never on disk all at once.
        let after = f.metadata().map_err(|e| Error::io("stat", abs, e))?;
        let after = Stat::of(&after);
        if after.size != stat.size || after.mtime_ns != stat.mtime_ns {
            return Err(Error::ChangedWhileReading {
                path: abs.to_path_buf(),
            });
        }
        self.counters.files_read.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes_read
            .fetch_add(stat.size, Ordering::Relaxed);
        self.index
            .lock()
            .expect("index lock poisoned")
            .insert(rel.to_string(), stat, id);
        Ok((id, stat))
    }

    fn small_file(&self, abs: &Path, f: &mut File, size: u64) -> Result<Id> {
        let mut data = Vec::with_capacity(size as usize);
        f.read_to_end(&mut data)
            .map_err(|e| Error::io("read", abs, e))?;
        if data.len() as u64 != size {
            return Err(Error::ChangedWhileReading {
                path: abs.to_path_buf(),
            });
        }
        let mut pieces = Vec::new();
        for (off, len) in self.chunker.chunks(&data) {
            pieces.push(self.chunk(&data[off..off + len])?);
        }
        let id = if pieces.len() == 1 {
            pieces[0].id
        } else {
            Id::of(&data)
        };
        self.progress.advance(size);
        self.finish_file(id, size, pieces)?;
        Ok(id)
    }

    fn chunk(&self, bytes: &[u8]) -> Result<Piece> {
        let id = Id::of(bytes);
        self.counters
            .stored(self.store.put(ObjectKind::Chunk, id, bytes)?);
        Ok(Piece {
            id,
            len: bytes.len() as u64,
        })
    }

    /// Store a file too large to read whole. This thread reads it block by
    /// block, cuts each block and feeds it to the whole-file hash, and hands
    /// every chunk to the rayon pool as its own task. Reading never waits
    /// for a round of chunks to end: while the pool stores one block, the
    /// next is read and cut and its chunks queue behind, so the pool always
    /// has work, and a block's buffer comes back for reuse when the last of
    /// its chunks is stored ([`Blocks`]). The first block is small, so
    /// storing starts almost at once, and blocks double up to [`BLOCK`].
    fn large_file(&self, abs: &Path, f: &mut File) -> Result<Id> {
        // The whole-file hash runs on a thread of its own, in file order,
        // so it adds nothing to the reader's path (reading and cutting is
        // the longest serial path when chunks are cheap, as for
        // incompressible data). It holds each block until it has hashed it.
        let (to_hash, hash_rx) = channel::<(Arc<Block>, usize)>();
        let mut blocks = Blocks::new(BLOCK + self.chunker.params().max);
        let stored: Mutex<Vec<(usize, Piece)>> = Mutex::new(Vec::new());
        let failed: Mutex<Option<Error>> = Mutex::new(None);
        let stop = AtomicBool::new(false);
        let (stored_ref, failed_ref, stop_ref) = (&stored, &failed, &stop);
        let mut size = 0u64;
        let mut chunks = 0usize;
        let (read, hasher) = std::thread::scope(|ts| {
            let hashing = ts.spawn(move || {
                let mut hasher = Hasher::new();
                for (block, n) in hash_rx {
                    hasher.update(&block.buf[..n]);
                }
                hasher
            });
            let read = rayon::in_place_scope(|s| -> Result<()> {
                // The block before this one and its uncut tail (offset, end).
                let mut prev: Option<Arc<Block>> = None;
                let mut tail = (0, 0);
                let mut want = FIRST_BLOCK;
                while !stop.load(Ordering::Relaxed) {
                    let mut buf = blocks.take();
                    let carry = tail.1 - tail.0;
                    if let Some(p) = prev.take() {
                        buf[..carry].copy_from_slice(&p.buf[tail.0..tail.1]);
                    }
                    let end = (carry + want).min(buf.len());
                    let (len, eof) = fill(f, abs, &mut buf[..end], carry).inspect_err(|_| {
                        // Chunks still queued need not be stored.
                        stop.store(true, Ordering::Relaxed);
                    })?;
                    let cuts = self.cut(&buf[..len], eof);
                    let consumed = cuts.last().map(|&(o, l)| o + l).unwrap_or(0);
                    let block = Arc::new(blocks.block(buf));
                    // The receiver lives until this scope ends.
                    let _ = to_hash.send((Arc::clone(&block), consumed));
                    for (o, l) in cuts {
                        let (b, at) = (Arc::clone(&block), chunks);
                        chunks += 1;
                        s.spawn(move |_| {
                            if stop_ref.load(Ordering::Relaxed) {
                                return;
                            }
                            match self.chunk(&b.buf[o..o + l]) {
                                Ok(p) => stored_ref
                                    .lock()
                                    .expect("pieces lock poisoned")
                                    .push((at, p)),
                                Err(e) => {
                                    stop_ref.store(true, Ordering::Relaxed);
                                    failed_ref
                                        .lock()
                                        .expect("error lock poisoned")
                                        .get_or_insert(e);
                                }
                            }
                        });
                    }
                    size += consumed as u64;
                    self.progress.advance(consumed as u64);
                    if eof {
                        break;
                    }
                    tail = (consumed, len);
                    prev = Some(block);
                    want = (want * 2).min(BLOCK);
                }
                Ok(())
            });
            drop(to_hash);
            let hasher = hashing.join().map_err(|_| {
                Error::io(
                    "hash",
                    abs,
                    std::io::Error::other("hashing thread panicked"),
                )
            });
            (read, hasher)
        });
        let hasher = hasher?;
        read?;
        if let Some(e) = failed.into_inner().expect("error lock poisoned") {
            return Err(e);
        }
        let mut stored = stored.into_inner().expect("pieces lock poisoned");
        debug_assert_eq!(stored.len(), chunks);
        stored.sort_unstable_by_key(|&(at, _)| at);
        let pieces: Vec<Piece> = stored.into_iter().map(|(_, p)| p).collect();
        let id = if pieces.len() == 1 {
            pieces[0].id
        } else {
            hasher.finalize()
        };
        self.finish_file(id, size, pieces)?;
        Ok(id)
    }

    fn cut(&self, buf: &[u8], eof: bool) -> Cuts {
        let mut out = Vec::with_capacity(buf.len() / (32 << 10) + 1);
        let mut pos = 0;
        while let Some(len) = self.chunker.cut(&buf[pos..], eof) {
            out.push((pos, len));
            pos += len;
        }
        out
    }

    /// Store the manifest (and segments) of a file with several chunks.
    fn finish_file(&self, id: Id, size: u64, chunks: Vec<Piece>) -> Result<()> {
        if chunks.len() <= 1 || self.store.contains(ObjectKind::Manifest, &id) {
            return Ok(());
        }
        let manifest = if chunks.len() <= object::DIRECT_LIMIT {
            Manifest {
                size,
                form: Form::Chunks,
                pieces: chunks,
            }
        } else {
            let mut pieces = Vec::new();
            for seg in object::segment(&chunks) {
                let bytes = object::encode_segment(&seg);
                let sid = Id::of(&bytes);
                self.counters
                    .stored(self.store.put(ObjectKind::Segment, sid, &bytes)?);
                pieces.push(Piece {
                    id: sid,
                    len: seg.iter().map(|c| c.len).sum(),
                });
            }
            Manifest {
                size,
                form: Form::Segments,
                pieces,
            }
        };
        self.counters.stored(
            self.store
                .put(ObjectKind::Manifest, id, &manifest.encode())?,
        );
        Ok(())
    }
}

/// Read from `f` into `buf[start..]` until `buf` is full or the file ends.
/// Returns the filled length and whether the end of the file was reached.
fn fill(f: &mut File, abs: &Path, buf: &mut [u8], start: usize) -> Result<(usize, bool)> {
    let mut filled = start;
    let mut eof = false;
    while filled < buf.len() {
        match f.read(&mut buf[filled..]) {
            Ok(0) => {
                eof = true;
                break;
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("read", abs, e)),
        }
    }
    Ok((filled, eof))
}

#[cfg(test)]
mod tests;
