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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::object::{Form, Manifest};
    use crate::progress::Silent;

    fn bytes(seed: u8, n: usize) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
    }

    /// A store holding three chunks and a manifest listing them in
    /// `order`; returns the file (in the right order) and its id.
    fn stored(order: [usize; 3]) -> (tempfile::TempDir, Store, Vec<u8>, Id) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &Silent).unwrap();
        let chunks = [bytes(1, 100), bytes(2, 200), bytes(3, 50)];
        let file: Vec<u8> = chunks.concat();
        let id = Id::of(&file);
        for c in &chunks {
            store.put(ObjectKind::Chunk, Id::of(c), c).unwrap();
        }
        let m = Manifest {
            size: file.len() as u64,
            form: Form::Chunks,
            pieces: order
                .iter()
                .map(|&i| Piece {
                    id: Id::of(&chunks[i]),
                    len: chunks[i].len() as u64,
                })
                .collect(),
        };
        store.put(ObjectKind::Manifest, id, &m.encode()).unwrap();
        store.flush().unwrap();
        (dir, store, file, id)
    }

    #[test]
    fn reads_in_order_and_after_seeks() {
        let (_d, store, file, id) = stored([0, 1, 2]);
        let mut r = FileReader::open(&store, id, file.len() as u64, "f".into()).unwrap();
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, file);
        for (to, want) in [
            (SeekFrom::Start(150), 150usize),
            (SeekFrom::End(-10), file.len() - 10),
            (SeekFrom::Start(99), 99),
        ] {
            let at = r.seek(to).unwrap();
            assert_eq!(at as usize, want);
            let mut buf = [0u8; 10];
            let n = r.read(&mut buf).unwrap();
            assert_eq!(&buf[..n], &file[want..want + n]);
            assert!(n > 0);
        }
        assert!(r.seek(SeekFrom::Current(-1000)).is_err());
        // Past the end reads nothing.
        r.seek(SeekFrom::Start(10_000)).unwrap();
        assert_eq!(r.read(&mut [0u8; 4]).unwrap(), 0);
    }

    #[test]
    fn a_manifest_that_splices_valid_chunks_wrongly_fails_at_the_end() {
        let (_d, store, file, id) = stored([1, 0, 2]);
        let mut r = FileReader::open(&store, id, file.len() as u64, "f".into()).unwrap();
        let mut all = Vec::new();
        let e = r.read_to_end(&mut all).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let inner = e.get_ref().and_then(|r| r.downcast_ref::<Error>());
        assert!(
            matches!(inner, Some(Error::CorruptObject { .. })),
            "{inner:?}"
        );
    }

    #[test]
    fn a_size_other_than_the_manifests_is_refused() {
        let (_d, store, file, id) = stored([0, 1, 2]);
        let r = FileReader::open(&store, id, file.len() as u64 + 1, "f".into());
        assert!(r.is_err());
    }
}
