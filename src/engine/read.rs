//! Reading one stored file as a stream, with `Read` and `Seek`, without
//! restoring it: what `cairn cat` writes to stdout and what a program reads
//! a dataset's file through.
//!
//! Only the chunk under the read position is held in memory (at most the
//! format's largest chunk), whatever the file's size. Every chunk comes
//! from the store, which checks it against its id before handing it over,
//! and its length is checked against the file's manifest. A reader that
//! goes from the first byte to the last without seeking also hashes what it
//! returned and fails at the end if the whole does not hash to the file's
//! id, so a damaged manifest cannot splice valid chunks into wrong data.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;

use crate::engine::restore::chunk_list;
use crate::error::{Corruption, Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::object::Piece;
use crate::hash::{Hasher, Id};
use crate::store::Store;

/// A stored file, read through its chunks.
pub struct FileReader<'a> {
    store: &'a Store,
    id: Id,
    size: u64,
    pieces: Vec<Piece>,
    /// Offset of each piece's first byte.
    starts: Vec<u64>,
    pos: u64,
    /// The piece under `pos`, once read: its index and bytes.
    current: Option<(usize, Vec<u8>)>,
    /// Hash of everything returned so far, while reading in order from 0.
    whole: Option<Hasher>,
    name: PathBuf,
}

impl<'a> FileReader<'a> {
    /// The file whose id and size are `id` and `size` (from its pointer or
    /// its entry in a listing); `name` is only used in errors. Fails when the
    /// store lacks its manifest (or, for a one-chunk file, its chunk).
    pub fn open(store: &'a Store, id: Id, size: u64, name: PathBuf) -> Result<FileReader<'a>> {
        let pieces = chunk_list(store, &id, size, &name)?;
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
            id,
            size,
            pieces,
            starts,
            pos: 0,
            current: None,
            whole: Some(Hasher::new()),
            name,
        })
    }

    /// The index of the piece holding byte `pos` (< size).
    fn piece_at(&self, pos: u64) -> usize {
        match self.starts.binary_search(&pos) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    fn load(&mut self, i: usize) -> Result<()> {
        if matches!(&self.current, Some((j, _)) if *j == i) {
            return Ok(());
        }
        let p = self.pieces[i];
        let bytes =
            self.store
                .read(ObjectKind::Chunk, &p.id)?
                .ok_or_else(|| Error::MissingObject {
                    kind: ObjectKind::Chunk,
                    id: p.id,
                    path: self.name.clone(),
                })?;
        if bytes.len() as u64 != p.len {
            let cause = Corruption::ChunkLength {
                expected: p.len,
                actual: bytes.len() as u64,
            };
            return Err(self.store.corrupt(ObjectKind::Chunk, p.id, cause));
        }
        self.current = Some((i, bytes));
        Ok(())
    }
}

impl Read for FileReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pos >= self.size {
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
            return Ok(0);
        }
        let i = self.piece_at(self.pos);
        self.load(i).map_err(io::Error::other)?;
        let Some((_, bytes)) = &self.current else {
            return Ok(0);
        };
        let off = (self.pos - self.starts[i]) as usize;
        let n = buf.len().min(bytes.len() - off);
        buf[..n].copy_from_slice(&bytes[off..off + n]);
        if let Some(h) = &mut self.whole {
            h.update(&buf[..n]);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for FileReader<'_> {
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
