//! A sorted run of stat-index records kept in a file and read a block at a
//! time: the loaded index itself, and what a big `add` spills.
//!
//! A million records held as heap objects (a map from path to record) cost
//! well over 100 bytes each. A run costs one path per [`BLOCK`] records (a
//! sparse table) and a few cached blocks, whatever its length. A lookup
//! binary-searches the table and then one decoded block; a merge walk
//! reads each block once. The files are only ever replaced by rename, so an
//! open handle keeps reading exactly the bytes that were checked when the
//! run was opened.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

use super::{Record, Stat};
use crate::hash::{Id, ID_LEN};

/// Records per block of the sparse table.
pub(super) const BLOCK: usize = 128;
/// Decoded blocks kept per run: the two workers of a parallel scan each
/// walk their own stretch of paths.
const CACHED: usize = 16;
/// Bytes of an entry after its path (FORMAT.md §9.1).
pub(super) const FIXED: usize = 8 * 4 + 1 + ID_LEN;

/// Append the encoding of one entry.
pub(super) fn encode(out: &mut Vec<u8>, path: &str, r: &Record) {
    out.extend_from_slice(&(path.len() as u16).to_le_bytes());
    out.extend_from_slice(path.as_bytes());
    for v in [
        r.stat.size,
        r.stat.mtime_ns as u64,
        r.stat.ctime_ns as u64,
        r.stat.ino,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.push(r.stat.exec as u8);
    out.extend_from_slice(r.id.as_bytes());
}

/// Decode the `FIXED` bytes after a path.
fn record(f: &[u8]) -> Record {
    let u = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&f[i * 8..i * 8 + 8]);
        u64::from_le_bytes(b)
    };
    let mut id = [0u8; ID_LEN];
    id.copy_from_slice(&f[33..33 + ID_LEN]);
    Record {
        stat: Stat {
            size: u(0),
            mtime_ns: u(1) as i64,
            ctime_ns: u(2) as i64,
            ino: u(3),
            exec: f[32] != 0,
        },
        id: Id(id),
    }
}

/// One decoded block: its bytes and where each entry starts.
pub(super) struct Block {
    bytes: Vec<u8>,
    offs: Vec<u32>,
}

impl Block {
    fn decode(bytes: Vec<u8>) -> Option<Block> {
        let mut offs = Vec::with_capacity(BLOCK);
        let mut at = 0usize;
        while at < bytes.len() {
            let len = u16::from_le_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]) as usize;
            if at + 2 + len + FIXED > bytes.len() {
                return None;
            }
            offs.push(at as u32);
            at += 2 + len + FIXED;
        }
        Some(Block { bytes, offs })
    }

    pub(super) fn len(&self) -> usize {
        self.offs.len()
    }

    pub(super) fn path(&self, i: usize) -> &str {
        // Checked to be UTF-8 when the run was opened.
        std::str::from_utf8(self.path_bytes(i)).unwrap_or("")
    }

    /// The path of entry `i` as bytes: what a merge-join compares, without
    /// re-checking UTF-8 on every step.
    pub(super) fn path_bytes(&self, i: usize) -> &[u8] {
        let at = self.offs[i] as usize;
        let len = u16::from_le_bytes([self.bytes[at], self.bytes[at + 1]]) as usize;
        &self.bytes[at + 2..at + 2 + len]
    }

    pub(super) fn record(&self, i: usize) -> Record {
        let at = self.offs[i] as usize;
        let len = u16::from_le_bytes([self.bytes[at], self.bytes[at + 1]]) as usize;
        record(&self.bytes[at + 2 + len..at + 2 + len + FIXED])
    }

    /// The first entry whose path is not below `path`.
    fn seek(&self, path: &str) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.path(mid).as_bytes() < path.as_bytes() {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// Where a block starts and its first path.
struct BlockRef {
    off: u64,
    first: Box<str>,
}

/// A sorted run of entries in `file`, between byte offsets `start` and
/// `end`.
pub(super) struct Run {
    file: File,
    end: u64,
    blocks: Vec<BlockRef>,
    /// The last path, so a lookup outside the run costs two comparisons
    /// (the spills of one big `add` cover disjoint stretches of paths).
    last: Box<str>,
    cache: Mutex<Vec<(usize, Arc<Block>)>>,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("blocks", &self.blocks.len())
            .field("end", &self.end)
            .finish()
    }
}

/// Builds the sparse table of a run while its entries are written or
/// scanned in order.
pub(super) struct Table {
    blocks: Vec<BlockRef>,
    n: usize,
    last: String,
}

impl Table {
    pub(super) fn new() -> Table {
        Table {
            blocks: Vec::new(),
            n: 0,
            last: String::new(),
        }
    }

    /// Note an entry with `path` starting at byte `off`.
    pub(super) fn push(&mut self, off: u64, path: &str) {
        if self.n.is_multiple_of(BLOCK) {
            self.blocks.push(BlockRef {
                off,
                first: path.into(),
            });
        }
        self.n += 1;
        self.last.clear();
        self.last.push_str(path);
    }

    pub(super) fn count(&self) -> usize {
        self.n
    }

    pub(super) fn finish(self, file: File, end: u64) -> Run {
        Run {
            file,
            end,
            blocks: self.blocks,
            last: self.last.into(),
            cache: Mutex::new(Vec::new()),
        }
    }
}

/// Reads entries in order from a file through one large buffer, hashing
/// every byte before `hash_end` a whole read at a time: fed field by field
/// (a few bytes each), blake3 compresses one 64-byte block per call, which
/// once made the checksum of the index the largest user cost of a clean
/// `status`; fed 256 KiB at once it hashes many chunks in parallel lanes.
pub(super) struct Scanner<'a> {
    file: &'a File,
    /// Bytes consumed so far.
    pub(super) pos: u64,
    hasher: blake3::Hasher,
    hash_end: u64,
    buf: Vec<u8>,
    /// The unread bytes are `buf[lo..hi]`; `buf[hi]` is at `file_pos`.
    lo: usize,
    hi: usize,
    file_pos: u64,
}

impl<'a> Scanner<'a> {
    pub(super) fn new(file: &'a File, hash_end: u64) -> Scanner<'a> {
        Scanner {
            file,
            pos: 0,
            hasher: blake3::Hasher::new(),
            hash_end,
            buf: vec![0u8; 256 << 10],
            lo: 0,
            hi: 0,
            file_pos: 0,
        }
    }

    /// Make at least `need` unread bytes available.
    fn fill(&mut self, need: usize) -> std::io::Result<()> {
        self.buf.copy_within(self.lo..self.hi, 0);
        self.hi -= self.lo;
        self.lo = 0;
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        while self.hi < need {
            let n = self.file.read_at(&mut self.buf[self.hi..], self.file_pos)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let hashed = (self.hash_end.saturating_sub(self.file_pos) as usize).min(n);
            self.hasher.update(&self.buf[self.hi..self.hi + hashed]);
            self.hi += n;
            self.file_pos += n as u64;
        }
        Ok(())
    }

    /// Read exactly `n` bytes (they stay in the scanner's buffer).
    pub(super) fn take(&mut self, n: usize) -> std::io::Result<&[u8]> {
        if self.hi - self.lo < n {
            self.fill(n)?;
        }
        let at = self.lo;
        self.lo += n;
        self.pos += n as u64;
        Ok(&self.buf[at..at + n])
    }

    /// Consume up to byte `end` without parsing (after a structural error,
    /// so a damaged file is reported as a checksum mismatch first).
    pub(super) fn skip_to(&mut self, end: u64) -> std::io::Result<()> {
        while self.pos < end {
            let n = ((end - self.pos) as usize).min(256 << 10);
            self.take(n)?;
        }
        Ok(())
    }

    /// The hash of every byte before `hash_end`, once they are consumed.
    pub(super) fn digest(&self) -> blake3::Hash {
        self.hasher.finalize()
    }

    /// The `FIXED` bytes after a path, decoded.
    pub(super) fn record(&mut self) -> std::io::Result<Record> {
        Ok(record(self.take(FIXED)?))
    }
}

/// Writes entries to a file in order, building the run's table. Bytes are
/// gathered in one buffer and hashed and written a buffer at a time, for
/// the same reason the [`Scanner`] reads that way.
pub(super) struct Writer {
    out: File,
    pub(super) pos: u64,
    pub(super) table: Table,
    hasher: blake3::Hasher,
    buf: Vec<u8>,
}

/// Bytes gathered before they are hashed and written.
const WRITE_AT: usize = 256 << 10;

impl Writer {
    pub(super) fn new(file: File, pos: u64) -> Writer {
        Writer {
            out: file,
            pos,
            table: Table::new(),
            hasher: blake3::Hasher::new(),
            buf: Vec::with_capacity(WRITE_AT + 1024),
        }
    }

    /// Hash and write what is gathered.
    fn drain(&mut self) -> std::io::Result<()> {
        self.hasher.update(&self.buf);
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    pub(super) fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(bytes);
        self.pos += bytes.len() as u64;
        if self.buf.len() >= WRITE_AT {
            self.drain()?;
        }
        Ok(())
    }

    pub(super) fn entry(&mut self, path: &str, r: &Record) -> std::io::Result<()> {
        self.table.push(self.pos, path);
        let before = self.buf.len();
        encode(&mut self.buf, path, r);
        self.pos += (self.buf.len() - before) as u64;
        if self.buf.len() >= WRITE_AT {
            self.drain()?;
        }
        Ok(())
    }

    /// Write the hash of every byte so far after them, unhashed: the
    /// checksum that ends a saved index.
    pub(super) fn seal(&mut self) -> std::io::Result<()> {
        self.drain()?;
        let sum = self.hasher.finalize();
        self.out.write_all(sum.as_bytes())
    }

    /// Write what is left and hand back the file, the end offset and the
    /// table.
    pub(super) fn finish(mut self) -> std::io::Result<(File, u64, Table)> {
        self.drain()?;
        Ok((self.out, self.pos, self.table))
    }
}

impl Run {
    /// Block `b`, from the cache or the file; `None` if it cannot be read
    /// (the caller then knows no record, which only costs a re-hash).
    pub(super) fn block(&self, b: usize) -> Option<Arc<Block>> {
        let mut cache = self.cache.lock().ok()?;
        if let Some(i) = cache.iter().position(|(n, _)| *n == b) {
            let hit = cache.remove(i);
            let blk = hit.1.clone();
            cache.push(hit);
            return Some(blk);
        }
        drop(cache);
        let from = self.blocks.get(b)?.off;
        let to = self.blocks.get(b + 1).map_or(self.end, |n| n.off);
        let mut bytes = vec![0u8; (to - from) as usize];
        self.file.read_exact_at(&mut bytes, from).ok()?;
        let blk = Arc::new(Block::decode(bytes)?);
        let mut cache = self.cache.lock().ok()?;
        if cache.len() >= CACHED {
            cache.remove(0);
        }
        cache.push((b, blk.clone()));
        Some(blk)
    }

    /// The block that would hold `path`.
    fn block_of(&self, path: &str) -> usize {
        self.blocks
            .partition_point(|b| b.first.as_bytes() <= path.as_bytes())
            .saturating_sub(1)
    }

    pub(super) fn get(&self, path: &str) -> Option<Record> {
        let first = self.blocks.first()?;
        if path.as_bytes() < first.first.as_bytes() || path.as_bytes() > self.last.as_bytes() {
            return None;
        }
        let blk = self.block(self.block_of(path))?;
        let i = blk.seek(path);
        (i < blk.len() && blk.path(i) == path).then(|| blk.record(i))
    }

    /// A cursor at the first entry whose path is not below `from`.
    pub(super) fn cursor(&self, from: &str) -> Cursor<'_> {
        let b = self.block_of(from);
        let mut c = Cursor {
            run: self,
            b,
            blk: None,
            i: 0,
        };
        if let Some(blk) = self.block(b) {
            c.i = blk.seek(from);
            c.blk = Some(blk);
            c.settle();
        }
        c
    }
}

/// A position in a run, moving forward.
pub(super) struct Cursor<'a> {
    run: &'a Run,
    b: usize,
    blk: Option<Arc<Block>>,
    i: usize,
}

impl Cursor<'_> {
    /// Move to the next block while the current one is used up.
    fn settle(&mut self) {
        while let Some(blk) = &self.blk {
            if self.i < blk.len() {
                return;
            }
            self.b += 1;
            self.i = 0;
            self.blk = if self.b < self.run.blocks.len() {
                self.run.block(self.b)
            } else {
                None
            };
        }
    }

    pub(super) fn peek(&self) -> Option<&str> {
        self.blk.as_ref().map(|b| b.path(self.i))
    }

    pub(super) fn peek_bytes(&self) -> Option<&[u8]> {
        self.blk.as_ref().map(|b| b.path_bytes(self.i))
    }

    pub(super) fn record(&self) -> Option<Record> {
        self.blk.as_ref().map(|b| b.record(self.i))
    }

    pub(super) fn advance(&mut self) {
        self.i += 1;
        self.settle();
    }
}
