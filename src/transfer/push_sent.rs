//! The records of the packs a push indexes (sent, or found sent by an
//! interrupted run), spilled to a spool as their uploads finish, in the
//! index file's record format.
//!
//! While packs are planned and sent, the plan holds the footers of the
//! local packs it reads (56 bytes a blob); keeping every sent pack's
//! footer entries beside them would double that. Here a record costs a few
//! dozen bytes in memory whatever its size. Once the upload is over (and
//! the plan gone), the index file is written from the spool to another
//! spool (records in pack id order, the same bytes `remote::index::encode`
//! gives, never encoded in memory), and the records are read back for the
//! locators. Nothing here is durable: a spool is an anonymous file.

use std::io::{BufReader, Read, Write};

use super::spool::{Spool, SpoolWriter};
use crate::error::{Error, Result};
use crate::format::pack::{Entry, ENTRY_LEN};
use crate::hash::Id;
use crate::remote::index::{PackRecord, INDEX_MAGIC, INDEX_VERSION};

/// Pack id, length, entry count: what precedes a record's entries.
const RECORD_HEAD: usize = 44;

/// One spilled record.
#[derive(Debug, Clone, Copy)]
struct Head {
    id: Id,
    len: u64,
    /// Whether this run uploaded it (else an earlier run had).
    sent: bool,
    /// Where its record starts in the spool, and its encoded size.
    at: u64,
    size: u64,
}

/// Records being spilled.
pub struct Spill {
    out: SpoolWriter,
    heads: Vec<Head>,
    at: u64,
    buf: Vec<u8>,
}

/// Records spilled, the upload over.
pub struct Spilled {
    spool: Spool,
    heads: Vec<Head>,
}

fn corrupt(what: &str) -> Error {
    Error::io(
        "read back",
        std::path::Path::new("the push's spooled records"),
        std::io::Error::other(what.to_string()),
    )
}

impl Spill {
    /// Spill into an anonymous file in `dir`.
    pub fn new(dir: &std::path::Path) -> Result<Spill> {
        Ok(Spill {
            out: SpoolWriter::new(dir)?,
            heads: Vec::new(),
            at: 0,
            buf: Vec::new(),
        })
    }

    /// Record pack `r`, uploaded by this run if `sent`: written entry by
    /// entry (a pack of 65,536 tiny blobs would encode to 3.4 MB).
    pub fn add(&mut self, r: &PackRecord, sent: bool) -> Result<()> {
        self.buf.clear();
        self.buf.extend_from_slice(r.id.as_bytes());
        self.buf.extend_from_slice(&r.len.to_le_bytes());
        self.buf
            .extend_from_slice(&(r.entries.len() as u32).to_le_bytes());
        let werr = |e| {
            Error::io(
                "write a temporary file in",
                std::path::Path::new("cache"),
                e,
            )
        };
        self.out.write_all(&self.buf).map_err(werr)?;
        for e in &r.entries {
            self.buf.clear();
            e.encode(&mut self.buf);
            self.out.write_all(&self.buf).map_err(werr)?;
        }
        let size = (RECORD_HEAD + r.entries.len() * ENTRY_LEN) as u64;
        self.heads.push(Head {
            id: r.id,
            len: r.len,
            sent,
            at: self.at,
            size,
        });
        self.at += size;
        Ok(())
    }

    pub fn finish(self) -> Result<Spilled> {
        Ok(Spilled {
            spool: self.out.finish()?,
            heads: self.heads,
        })
    }
}

impl Spilled {
    /// (id, length) of the packs this run uploaded, in the order they
    /// finished.
    pub fn sent(&self) -> impl Iterator<Item = (Id, u64)> + '_ {
        self.heads.iter().filter(|h| h.sent).map(|h| (h.id, h.len))
    }

    /// How many packs an earlier run had uploaded.
    pub fn resumed(&self) -> usize {
        self.heads.iter().filter(|h| !h.sent).count()
    }

    /// The index file naming every record, in a spool in `dir`, with its
    /// id: the bytes `remote::index::encode` gives for the records sorted
    /// by pack id.
    pub fn index(&self, dir: &std::path::Path) -> Result<(Id, Spool)> {
        let mut order = self.heads.clone();
        order.sort_by_key(|h| h.id);
        let mut out = SpoolWriter::new(dir)?;
        let mut sum = blake3::Hasher::new();
        let werr = |e| Error::io("write a temporary file in", dir, e);
        let mut put = |b: &[u8], out: &mut SpoolWriter| -> Result<()> {
            sum.update(b);
            out.write_all(b).map_err(werr)
        };
        let mut head = Vec::with_capacity(16);
        head.extend_from_slice(INDEX_MAGIC);
        head.extend_from_slice(&INDEX_VERSION.to_le_bytes());
        head.extend_from_slice(&(order.len() as u32).to_le_bytes());
        put(&head, &mut out)?;
        let mut buf = vec![0u8; 1 << 20];
        for h in &order {
            let (mut at, end) = (h.at, h.at + h.size);
            while at < end {
                let n = ((end - at) as usize).min(buf.len());
                self.spool.read_at(&mut buf[..n], at)?;
                put(&buf[..n], &mut out)?;
                at += n as u64;
            }
        }
        Ok((Id(*sum.finalize().as_bytes()), out.finish()?))
    }

    /// Every record, in the order they were added.
    pub fn records(self) -> Result<Vec<PackRecord>> {
        let mut r = BufReader::with_capacity(1 << 16, self.spool.reader()?);
        let mut out = Vec::with_capacity(self.heads.len());
        let mut head = [0u8; RECORD_HEAD];
        let mut entry = [0u8; ENTRY_LEN];
        let rerr = |e| Error::io("read back", std::path::Path::new("spooled records"), e);
        for h in &self.heads {
            r.read_exact(&mut head).map_err(rerr)?;
            let n = u32::from_le_bytes([head[40], head[41], head[42], head[43]]) as usize;
            if head[..32] != *h.id.as_bytes() || (RECORD_HEAD + n * ENTRY_LEN) as u64 != h.size {
                return Err(corrupt("a spooled record does not match its head"));
            }
            let mut entries: Vec<Entry> = Vec::with_capacity(n);
            for _ in 0..n {
                r.read_exact(&mut entry).map_err(rerr)?;
                entries.push(Entry::decode(&entry).ok_or_else(|| corrupt("a bad entry"))?);
            }
            out.push(PackRecord {
                id: h.id,
                len: h.len,
                entries,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::codec::Codec;
    use crate::format::kind::ObjectKind;
    use crate::remote::index;

    fn record(seed: &str, n: u64) -> PackRecord {
        let entries: Vec<Entry> = (0..n)
            .map(|i| Entry {
                id: Id::of(format!("{seed}{i}").as_bytes()),
                kind: ObjectKind::Chunk,
                codec: Codec::Raw,
                offset: 16 + 10 * i,
                stored_len: 10,
                raw_len: 10,
            })
            .collect();
        PackRecord {
            id: crate::format::pack::pack_id(&entries),
            len: 16 + 10 * n + n * ENTRY_LEN as u64 + 56,
            entries,
        }
    }

    /// The spilled index file is the one `index::encode` writes from the
    /// records sorted by pack id, and the records read back are the ones
    /// spilled, in order.
    #[test]
    fn the_spilled_index_is_the_encoded_one() {
        let d = tempfile::tempdir().unwrap();
        let records: Vec<PackRecord> = (0..7)
            .map(|i| record(&format!("p{i}"), [1, 3, 30_000, 2, 0, 5, 9][i]))
            .collect();
        let mut spill = Spill::new(d.path()).unwrap();
        for (i, r) in records.iter().enumerate() {
            spill.add(r, i % 3 != 0).unwrap();
        }
        let spilled = spill.finish().unwrap();
        assert_eq!(spilled.resumed(), 3);
        assert_eq!(spilled.sent().count(), 4);
        let (id, mut spool) = spilled.index(d.path()).unwrap();
        let mut sorted = records.clone();
        sorted.sort_by_key(|r| r.id);
        let (want_id, want) = index::encode(&sorted);
        assert_eq!(id, want_id);
        assert_eq!(spool.read_all().unwrap(), want);
        assert_eq!(spilled.records().unwrap(), records);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }
}
