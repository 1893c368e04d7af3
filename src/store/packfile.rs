//! Pack files in the local cache: streaming blobs into a new pack and
//! reading a sealed pack's footer.
//!
//! The layout itself is pure and lives in [`crate::format::pack`]; this
//! module adds the file handling. A pack is written under a temporary name,
//! preallocated, trimmed and fsynced before the store renames it into
//! place, so a published pack is always complete. While it grows, the
//! kernel is asked to start writing back what is already written (a hint,
//! never a substitute for the fsync), so the fsync that seals it has little
//! left to wait for. Every byte written is also fed to the pack's sum
//! (`super::packsum`), so sealing yields it without reading the pack again.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::durable::preallocate;
use crate::error::{Error, Result};
use crate::format::codec::Codec;
use crate::format::kind::ObjectKind;
use crate::format::pack::{encode_footer, header, pack_id, read_footer, Entry, HEADER_LEN};
use crate::hash::Id;

use super::packsum::{PackSum, Summer};

/// Space reserved for a new pack up front (trimmed when it is sealed).
pub const PREALLOCATE: u64 = 40 << 20;

/// Bytes written to a pack between two requests to start their writeback.
/// Large enough to cost one syscall per few hundred chunks, small enough
/// that sealing a pack waits for at most this much (plus the footer).
pub const WRITEBACK_STEP: u64 = 4 << 20;

/// Ask the kernel to start writing `len` bytes of `file` from `offset` to
/// disk without waiting for them. Durability still comes from the fsync
/// when the pack is sealed: this only moves the disk's work earlier, so it
/// overlaps with compression instead of forming a tail. Failures are
/// ignored for the same reason (a file system without it is merely slower).
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: plain syscall on a valid, owned descriptor; no memory passed.
    let _ = unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
}

/// See the Linux version: elsewhere the fsync does all the work.
#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

/// Read the footer of a local pack file.
pub fn read_file_footer(path: &Path, file: &File) -> Result<Vec<Entry>> {
    let len = file
        .metadata()
        .map_err(|e| Error::io("stat pack", path, e))?
        .len();
    read_footer(path, len, |off, n| {
        let mut buf = vec![0u8; n];
        file.read_exact_at(&mut buf, off)?;
        Ok(buf)
    })
}

/// Streams blobs into a new pack file under a temporary name.
pub struct PackWriter {
    path: PathBuf,
    out: BufWriter<File>,
    offset: u64,
    /// Bytes of the file already handed to [`start_writeback`].
    kicked: u64,
    entries: Vec<Entry>,
    /// XXH3-128 of every byte written so far, in order.
    sum: Summer,
    /// Drop the pack's pages from the page cache once it is fsynced
    /// ([`PackWriter::drop_cache_when_sealed`]).
    drop_cache: bool,
}

impl PackWriter {
    /// Start a pack at `path`, which must be a temporary name in the same
    /// file system as the pack's final home.
    pub fn create(path: PathBuf) -> Result<PackWriter> {
        let file = File::create(&path).map_err(|e| Error::io("create pack", &path, e))?;
        preallocate(&file, PREALLOCATE);
        // Small enough that full-size chunks bypass the buffer (no extra copy),
        // large enough to batch small blobs into few syscalls.
        let mut out = BufWriter::with_capacity(64 << 10, file);
        let head = header();
        out.write_all(&head)
            .map_err(|e| Error::io("write pack", &path, e))?;
        let mut sum = Summer::default();
        sum.update(&head);
        Ok(PackWriter {
            path,
            out,
            offset: HEADER_LEN,
            kicked: 0,
            entries: Vec::new(),
            sum,
            drop_cache: false,
        })
    }

    /// The pack's (temporary) path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.offset
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Blobs written so far.
    pub fn blobs(&self) -> usize {
        self.entries.len()
    }

    /// Whether the pack is full: [`PACK_TARGET`](super::PACK_TARGET) bytes
    /// or [`PACK_BLOBS`](super::PACK_BLOBS) blobs.
    pub fn is_full(&self) -> bool {
        self.len() >= super::PACK_TARGET || self.blobs() >= super::PACK_BLOBS
    }

    pub fn add(
        &mut self,
        kind: ObjectKind,
        id: Id,
        codec: Codec,
        stored: &[u8],
        raw_len: usize,
    ) -> Result<Entry> {
        self.out
            .write_all(stored)
            .map_err(|e| Error::io("write pack", &self.path, e))?;
        self.sum.update(stored);
        let entry = Entry {
            id,
            kind,
            codec,
            offset: self.offset,
            stored_len: stored.len() as u32,
            raw_len: raw_len as u32,
        };
        self.offset += stored.len() as u64;
        self.entries.push(entry);
        // What the buffer still holds has not reached the file yet.
        let in_file = self.offset - self.out.buffer().len() as u64;
        if in_file >= self.kicked + WRITEBACK_STEP {
            start_writeback(self.out.get_ref(), self.kicked, in_file - self.kicked);
            self.kicked = in_file;
        }
        Ok(entry)
    }

    /// Bytes of the pack whose writeback was started early.
    pub fn written_back(&self) -> u64 {
        self.kicked
    }

    /// Once sealed, let the kernel drop this pack's pages from the page
    /// cache (`durable::drop_cached`): for packs whose blobs the writer has
    /// already used and nothing will read soon (those a plain `pull` keeps
    /// while it restores from the same bytes). Packs `add` and fetch write
    /// keep their pages: push or checkout read them next.
    pub fn drop_cache_when_sealed(&mut self) {
        self.drop_cache = true;
    }

    /// Write the footer and fsync. The pack is complete on disk but still
    /// under its temporary name; the caller renames it into place. Returns
    /// it with its id, its entries and the sum of all its bytes.
    pub fn finish(mut self) -> Result<Finished> {
        let footer = encode_footer(&self.entries, self.offset);
        let path = self.path.clone();
        let io = |e| Error::io("write pack", &path, e);
        self.out.write_all(&footer).map_err(io)?;
        self.sum.update(&footer);
        let file = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        // Drop the unused part of the preallocation: the trailer must be
        // the last bytes of the file.
        file.set_len(self.offset + footer.len() as u64)
            .map_err(io)?;
        file.sync_all().map_err(io)?;
        if self.drop_cache {
            crate::durable::drop_cached(&file);
        }
        let id = pack_id(&self.entries);
        Ok(Finished {
            path: self.path,
            id,
            entries: self.entries,
            sum: self.sum.finish(),
        })
    }
}

/// A pack [`PackWriter::finish`] wrote and fsynced, still under its
/// temporary name.
pub struct Finished {
    pub path: PathBuf,
    pub id: Id,
    pub entries: Vec<Entry>,
    pub sum: PackSum,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::pack::TRAILER_LEN;

    /// Early writeback is started in steps as the pack grows, and the
    /// sealed pack holds every byte exactly as without it.
    #[test]
    fn writeback_starts_as_the_pack_grows() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = PackWriter::create(dir.path().join("w.tmp")).unwrap();
        let blob: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut n = 0u64;
        while n < 3 * WRITEBACK_STEP {
            assert!(w.written_back() <= n + HEADER_LEN);
            w.add(
                ObjectKind::Chunk,
                Id::of(&n.to_le_bytes()),
                Codec::Raw,
                &blob,
                blob.len(),
            )
            .unwrap();
            n += blob.len() as u64;
        }
        assert!(w.written_back() >= 2 * WRITEBACK_STEP);
        assert!(w.written_back() <= w.len());
        let Finished {
            path: p,
            entries,
            sum,
            ..
        } = w.finish().unwrap();
        let f = File::open(&p).unwrap();
        assert_eq!(super::super::packsum::sum_file(&p, &f).unwrap(), sum);
        assert_eq!(read_file_footer(&p, &f).unwrap(), entries);
        let bytes = std::fs::read(&p).unwrap();
        for e in &entries {
            let at = e.offset as usize;
            assert_eq!(&bytes[at..at + blob.len()], &blob[..]);
        }
    }

    #[test]
    fn pack_round_trip_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.tmp");
        let mut w = PackWriter::create(path.clone()).unwrap();
        w.add(ObjectKind::Chunk, Id::of(b"abc"), Codec::Raw, b"abc", 3)
            .unwrap();
        w.add(ObjectKind::Chunk, Id::of(b"de"), Codec::Raw, b"de", 2)
            .unwrap();
        let Finished {
            path: p,
            id,
            entries,
            sum,
        } = w.finish().unwrap();
        // The sum covers every byte, header to trailer.
        let whole = std::fs::read(&p).unwrap();
        assert_eq!(sum.len, whole.len() as u64);
        assert_eq!(sum.xxh3, xxhash_rust::xxh3::xxh3_128(&whole));
        let f = File::open(&p).unwrap();
        assert_eq!(read_file_footer(&p, &f).unwrap(), entries);
        assert_eq!(pack_id(&entries), id);
        assert_eq!(entries[1].offset, HEADER_LEN + 3);

        let bytes = std::fs::read(&p).unwrap();
        for cut in [0, 10, bytes.len() - 1] {
            std::fs::write(&p, &bytes[..cut]).unwrap();
            let f = File::open(&p).unwrap();
            assert!(matches!(
                read_file_footer(&p, &f),
                Err(Error::CorruptPack { .. })
            ));
        }
        let mut flipped = bytes.clone();
        let at = flipped.len() - TRAILER_LEN - 3;
        flipped[at] ^= 1;
        std::fs::write(&p, &flipped).unwrap();
        let f = File::open(&p).unwrap();
        assert!(read_file_footer(&p, &f).is_err());
    }
}
