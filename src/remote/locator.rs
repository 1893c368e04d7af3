//! Locators: where on a remote every blob one pointer needs lives, so a
//! fetch reads metadata in proportion to what it fetches.
//!
//! Index files (see [`super::index`]) describe the whole remote: 52 bytes
//! per blob it holds, whatever a fetch needs. A locator describes one
//! *root* (a pointer's top id: a file id or a directory listing id): for
//! each pack holding a blob the root reaches, the pack's id, length and
//! entry count, and the footer entries of the blobs the root uses. A fresh
//! clone that pulls one root makes one GET for its locator, then reads the
//! blobs with ranged requests, instead of reading every index file.
//!
//! A locator lives at `loc/<xx>/<root id>.loc`. Its name is derived from
//! the root, not from its content, so any writer may overwrite it with
//! another complete version (gc does, after it moves blobs). Readers must
//! therefore not trust it: this module only checks that the bytes are a
//! well-formed locator for the root asked about (a trailing BLAKE3 catches
//! torn or damaged copies, counts are bounded by the length read, entries
//! lie inside their pack's blob area). Whether the entries tell the truth is
//! settled where blobs are read: each is checked against its id, and
//! anything missing, lying or stale sends the reader back to the index
//! files (FORMAT.md §15.8).

use crate::format::pack::{Entry, ENTRY_LEN, HEADER_LEN, TRAILER_LEN};
use crate::hash::Id;

pub const LOCATOR_MAGIC: &[u8; 8] = b"CAIRNLC\x01";
pub const LOCATOR_VERSION: u32 = 1;
/// Locators live under this directory, as `<xx>/<root id>.loc`.
pub const LOCATOR_DIR: &str = "loc";
/// Magic, version, pack count, root id.
const HEAD_LEN: usize = 48;
/// Pack id, pack length, entry count, entries that follow.
const RECORD_HEAD: usize = 48;
/// The trailing BLAKE3 of everything before it.
const SUM_LEN: usize = 32;

/// One pack a locator names, with the footer entries the root uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedPack {
    pub id: Id,
    /// Length of the pack object in bytes.
    pub len: u64,
    /// How many entries the pack's footer has (so the blob area is known).
    pub footer_entries: u32,
    /// The entries used, in offset order.
    pub entries: Vec<Entry>,
}

/// Where the blobs of one root live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locator {
    pub root: Id,
    /// In pack id order, each pack once.
    pub packs: Vec<LocatedPack>,
}

/// Why a locator was not usable. Readers ignore such a locator (and fall
/// back to the index files); the reason is for tests and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LocatorError {
    #[error("too short")]
    Truncated,
    #[error("not a locator (bad magic)")]
    BadMagic,
    #[error("unknown locator version")]
    UnknownVersion,
    #[error("checksum mismatch")]
    Checksum,
    #[error("it is the locator of another root")]
    OtherRoot,
    #[error("records do not fill it exactly")]
    Length,
    #[error("a footer entry is malformed")]
    BadEntry,
    #[error("a footer entry lies outside its pack's blob area")]
    EntryOutOfRange,
    #[error("packs or entries are out of order, repeated or empty")]
    Order,
}

/// The remote path of the locator of `root`.
pub fn locator_path(root: &Id) -> String {
    let hex = root.to_hex();
    format!("{LOCATOR_DIR}/{}/{hex}.loc", &hex[..2])
}

/// The root id in a locator path (`loc/xx/<id>.loc`), if it is one.
pub fn locator_root_of(path: &str) -> Option<Id> {
    let name = path.rsplit('/').next()?;
    Id::from_hex(name.strip_suffix(".loc")?)
}

impl Locator {
    /// Encode in the canonical form: packs by id, entries by offset, each
    /// once.
    pub fn encode(&self) -> Vec<u8> {
        let mut packs: Vec<&LocatedPack> = self.packs.iter().collect();
        packs.sort_by_key(|p| p.id);
        packs.dedup_by_key(|p| p.id);
        let blobs: usize = packs.iter().map(|p| p.entries.len()).sum();
        let mut out = Encoder::new(&self.root, packs.len(), blobs);
        for p in packs {
            let mut entries = p.entries.clone();
            entries.sort_by_key(|e| e.offset);
            entries.dedup_by_key(|e| e.offset);
            out.pack(&p.id, p.len, p.footer_entries, &entries);
        }
        out.finish()
    }

    /// Decode and check the locator read for `root`.
    pub fn decode(root: &Id, bytes: &[u8]) -> Result<Locator, LocatorError> {
        if bytes.len() < HEAD_LEN + SUM_LEN {
            return Err(LocatorError::Truncated);
        }
        if &bytes[..8] != LOCATOR_MAGIC {
            return Err(LocatorError::BadMagic);
        }
        let (body, sum) = bytes.split_at(bytes.len() - SUM_LEN);
        if Id::of(body).as_bytes() != sum {
            return Err(LocatorError::Checksum);
        }
        let u32_at = |at: usize| -> Result<u32, LocatorError> {
            let b = body.get(at..at + 4).ok_or(LocatorError::Truncated)?;
            Ok(u32::from_le_bytes(
                b.try_into().map_err(|_| LocatorError::Truncated)?,
            ))
        };
        if u32_at(8)? != LOCATOR_VERSION {
            return Err(LocatorError::UnknownVersion);
        }
        let count = u32_at(12)? as usize;
        if body[16..48] != *root.as_bytes() {
            return Err(LocatorError::OtherRoot);
        }
        let mut at = HEAD_LEN;
        // Each record takes at least RECORD_HEAD bytes: bound the
        // allocation by what was read, not by the count it claims.
        if count > (body.len() - at) / RECORD_HEAD {
            return Err(LocatorError::Length);
        }
        let mut packs: Vec<LocatedPack> = Vec::with_capacity(count);
        for _ in 0..count {
            let head = body.get(at..at + RECORD_HEAD).ok_or(LocatorError::Length)?;
            let mut pid = [0u8; 32];
            pid.copy_from_slice(&head[..32]);
            let id = Id(pid);
            let len =
                u64::from_le_bytes(head[32..40].try_into().map_err(|_| LocatorError::Length)?);
            let footer_entries = u32_at(at + 40)?;
            let m = u32_at(at + 44)? as usize;
            at += RECORD_HEAD;
            if m == 0 || m > footer_entries as usize || m > (body.len() - at) / ENTRY_LEN {
                return Err(if m == 0 || m > footer_entries as usize {
                    LocatorError::Order
                } else {
                    LocatorError::Length
                });
            }
            if packs.last().is_some_and(|p| p.id >= id) {
                return Err(LocatorError::Order);
            }
            let blob_end = len
                .checked_sub(footer_entries as u64 * ENTRY_LEN as u64 + TRAILER_LEN as u64)
                .ok_or(LocatorError::EntryOutOfRange)?;
            let mut entries: Vec<Entry> = Vec::with_capacity(m);
            for b in body[at..at + m * ENTRY_LEN].chunks_exact(ENTRY_LEN) {
                let e = Entry::decode(b).ok_or(LocatorError::BadEntry)?;
                if e.offset < HEADER_LEN || e.offset.saturating_add(e.stored_len as u64) > blob_end
                {
                    return Err(LocatorError::EntryOutOfRange);
                }
                if entries.last().is_some_and(|l| l.offset >= e.offset) {
                    return Err(LocatorError::Order);
                }
                entries.push(e);
            }
            at += m * ENTRY_LEN;
            packs.push(LocatedPack {
                id,
                len,
                footer_entries,
                entries,
            });
        }
        if at != body.len() {
            return Err(LocatorError::Length);
        }
        Ok(Locator { root: *root, packs })
    }

    /// How many blobs it locates.
    pub fn blobs(&self) -> usize {
        self.packs.iter().map(|p| p.entries.len()).sum()
    }
}

/// Writes a locator's canonical encoding one pack at a time, so a writer
/// that knows its packs in id order never holds a [`Locator`] (56 bytes
/// per blob in memory besides the 52 encoded). [`Locator::encode`] goes
/// through it too, so both write the same bytes. A writer that streams
/// (to a file) takes the bytes encoded so far after each pack
/// ([`Encoder::drain_to`]), so it holds one pack's entries at a time: the
/// checksum is kept as the bytes go.
pub struct Encoder {
    out: Vec<u8>,
    sum: blake3::Hasher,
}

/// Bytes of the locator of `packs` packs holding `blobs` entries in all.
pub fn encoded_len(packs: usize, blobs: usize) -> usize {
    HEAD_LEN + packs * RECORD_HEAD + blobs * ENTRY_LEN + SUM_LEN
}

impl Encoder {
    /// A locator of `root` with `packs` packs (each to be given once, in
    /// id order) holding `blobs` entries in all (to size the buffer: give
    /// 0 when streaming).
    pub fn new(root: &Id, packs: usize, blobs: usize) -> Encoder {
        let mut out = Vec::with_capacity(encoded_len(packs, blobs));
        out.extend_from_slice(LOCATOR_MAGIC);
        out.extend_from_slice(&LOCATOR_VERSION.to_le_bytes());
        out.extend_from_slice(&(packs as u32).to_le_bytes());
        out.extend_from_slice(root.as_bytes());
        Encoder {
            out,
            sum: blake3::Hasher::new(),
        }
    }

    /// The next pack: `entries` in offset order, each once.
    pub fn pack(&mut self, id: &Id, len: u64, footer_entries: u32, entries: &[Entry]) {
        self.out.extend_from_slice(id.as_bytes());
        self.out.extend_from_slice(&len.to_le_bytes());
        self.out.extend_from_slice(&footer_entries.to_le_bytes());
        self.out
            .extend_from_slice(&(entries.len() as u32).to_le_bytes());
        for e in entries {
            e.encode(&mut self.out);
        }
    }

    /// Write the bytes encoded so far to `w` and forget them.
    pub fn drain_to(&mut self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        self.sum.update(&self.out);
        w.write_all(&self.out)?;
        self.out.clear();
        Ok(())
    }

    /// The bytes not drained yet, then the trailing checksum (of every
    /// byte, drained or not): the whole encoding when nothing was drained.
    pub fn finish(mut self) -> Vec<u8> {
        self.sum.update(&self.out);
        let sum = self.sum.finalize();
        self.out.extend_from_slice(sum.as_bytes());
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::codec::Codec;
    use crate::format::kind::ObjectKind;

    fn pack(seed: &str, n: u32, used: &[u32]) -> LocatedPack {
        let entries = used
            .iter()
            .map(|&i| Entry {
                id: Id::of(format!("{seed}{i}").as_bytes()),
                kind: ObjectKind::Chunk,
                codec: Codec::Zstd,
                offset: HEADER_LEN + 100 * i as u64,
                stored_len: 100,
                raw_len: 300,
            })
            .collect();
        LocatedPack {
            id: Id::of(seed.as_bytes()),
            len: HEADER_LEN + 100 * n as u64 + (n as usize * ENTRY_LEN + TRAILER_LEN) as u64,
            footer_entries: n,
            entries,
        }
    }

    fn sample() -> Locator {
        Locator {
            root: Id::of(b"root"),
            packs: vec![pack("b", 4, &[3, 0]), pack("a", 2, &[1])],
        }
    }

    #[test]
    fn round_trip_is_canonical() {
        let l = sample();
        let bytes = l.encode();
        assert_eq!(
            bytes.len(),
            HEAD_LEN + 2 * RECORD_HEAD + 3 * ENTRY_LEN + SUM_LEN
        );
        let back = Locator::decode(&l.root, &bytes).unwrap();
        assert!(back.packs.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(back.blobs(), 3);
        assert_eq!(back.encode(), bytes, "one encoding per locator");
    }

    #[test]
    fn every_damage_is_refused() {
        let l = sample();
        let bytes = l.encode();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            assert!(Locator::decode(&l.root, &b).is_err(), "flip at {i}");
        }
        for cut in [0, 10, 47, 80, bytes.len() - 1] {
            assert!(
                Locator::decode(&l.root, &bytes[..cut]).is_err(),
                "cut {cut}"
            );
        }
        assert_eq!(
            Locator::decode(&Id::of(b"other"), &bytes),
            Err(LocatorError::OtherRoot)
        );
    }

    /// Checks beyond the checksum: a well-summed locator that lies about
    /// its shape is refused too (anyone may write one).
    #[test]
    fn well_summed_nonsense_is_refused() {
        let reseal = |mut b: Vec<u8>| {
            b.truncate(b.len() - SUM_LEN);
            let s = Id::of(&b);
            b.extend_from_slice(s.as_bytes());
            b
        };
        let l = sample();
        let good = l.encode();
        // A count far beyond what the bytes hold.
        let mut b = good.clone();
        b[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            Locator::decode(&l.root, &reseal(b)),
            Err(LocatorError::Length)
        );
        // More entries used than the pack has.
        let mut bad = sample();
        bad.packs[0].footer_entries = 0;
        assert_eq!(
            Locator::decode(&l.root, &bad.encode()),
            Err(LocatorError::Order)
        );
        // An entry past the blob area.
        let mut bad = sample();
        bad.packs[0].len = 100;
        assert_eq!(
            Locator::decode(&l.root, &bad.encode()),
            Err(LocatorError::EntryOutOfRange)
        );
        // Packs out of order (written by hand: `encode` sorts).
        let mut b = good[..HEAD_LEN].to_vec();
        let rec = |p: &LocatedPack, out: &mut Vec<u8>| {
            out.extend_from_slice(p.id.as_bytes());
            out.extend_from_slice(&p.len.to_le_bytes());
            out.extend_from_slice(&p.footer_entries.to_le_bytes());
            out.extend_from_slice(&(p.entries.len() as u32).to_le_bytes());
            for e in &p.entries {
                e.encode(out);
            }
        };
        let (a, z) = (pack("a", 2, &[1]), pack("b", 4, &[0]));
        let (first, second) = if a.id > z.id { (a, z) } else { (z, a) };
        rec(&first, &mut b);
        rec(&second, &mut b);
        b.extend_from_slice(&[0; SUM_LEN]);
        assert_eq!(
            Locator::decode(&l.root, &reseal(b)),
            Err(LocatorError::Order)
        );
    }

    #[test]
    fn a_drained_encoding_is_the_whole_one() {
        let l = sample();
        let mut packs = l.packs.clone();
        packs.sort_by_key(|p| p.id);
        let mut out = Encoder::new(&l.root, packs.len(), 0);
        let mut streamed = Vec::new();
        for p in &mut packs {
            p.entries.sort_by_key(|e| e.offset);
            out.pack(&p.id, p.len, p.footer_entries, &p.entries);
            out.drain_to(&mut streamed).unwrap();
        }
        streamed.extend(out.finish());
        assert_eq!(streamed, l.encode());
        assert_eq!(streamed.len(), encoded_len(2, 3));
    }

    #[test]
    fn paths() {
        let id = Id::of(b"r");
        let p = locator_path(&id);
        assert!(p.starts_with(&format!("loc/{}/", &id.to_hex()[..2])));
        assert_eq!(locator_root_of(&p), Some(id));
        assert_eq!(locator_root_of("loc/ab/x.loc"), None);
    }
}
