//! Pack files: many blobs in one file, with an index at the end.
//!
//! Packing is what lets cairn push 20,000 small files in tens of requests
//! instead of 20,000. A pack is a header, the blobs' stored bytes back to back,
//! then a footer that lists every blob (id, kind, codec, offset, lengths) and a
//! fixed-size trailer that locates and checksums the footer. Because the
//! footer travels inside the pack, a pack is self-describing: an index can
//! always be rebuilt from the packs alone. A pack's id is the BLAKE3 of its
//! footer entries, which name every blob by its content hash, so the name
//! commits to what the pack holds. Layouts are specified in docs/FORMAT.md.

use std::path::Path;

use crate::error::{Error, Result};
use crate::format::codec::Codec;
use crate::format::kind::ObjectKind;
use crate::hash::{Id, ID_LEN};

pub const PACK_MAGIC: &[u8; 8] = b"CAIRNPK\x01";
pub const TRAILER_MAGIC: &[u8; 8] = b"CAIRNIX\x01";
pub const HEADER_LEN: u64 = 16;
pub const ENTRY_LEN: usize = 52;
pub const TRAILER_LEN: usize = 56;
pub const FORMAT_VERSION: u32 = 1;

/// One blob's record in a pack footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub id: Id,
    pub kind: ObjectKind,
    pub codec: Codec,
    pub offset: u64,
    pub stored_len: u32,
    pub raw_len: u32,
}

impl Entry {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.id.as_bytes());
        out.push(self.kind.to_u8());
        out.push(self.codec as u8);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.stored_len.to_le_bytes());
        out.extend_from_slice(&self.raw_len.to_le_bytes());
    }

    pub fn decode(b: &[u8]) -> Option<Entry> {
        if b.len() != ENTRY_LEN || b[34] != 0 || b[35] != 0 {
            return None;
        }
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&b[..32]);
        Some(Entry {
            id: Id(id),
            kind: ObjectKind::from_u8(b[32])?,
            codec: Codec::from_u8(b[33])?,
            offset: u64::from_le_bytes(b[36..44].try_into().ok()?),
            stored_len: u32::from_le_bytes(b[44..48].try_into().ok()?),
            raw_len: u32::from_le_bytes(b[48..52].try_into().ok()?),
        })
    }
}

/// The id of a pack: BLAKE3 over its encoded footer entries.
pub fn pack_id(entries: &[Entry]) -> Id {
    // Fed 256 entries (13 KiB) at a time: given one 52-byte entry per
    // update, blake3 compresses one block per call and never uses its
    // parallel lanes, which made this a visible cost of every `status`
    // that checks a remote's cached index. The id does not depend on how
    // the bytes are fed.
    let mut h = blake3::Hasher::new();
    let mut buf = Vec::with_capacity(ENTRY_LEN * 256);
    for run in entries.chunks(256) {
        buf.clear();
        for e in run {
            e.encode(&mut buf);
        }
        h.update(&buf);
    }
    Id(*h.finalize().as_bytes())
}

pub fn header() -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[..8].copy_from_slice(PACK_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h
}

/// Encode footer entries plus trailer for blobs that end at `footer_offset`.
pub fn encode_footer(entries: &[Entry], footer_offset: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * ENTRY_LEN + TRAILER_LEN);
    for e in entries {
        e.encode(&mut out);
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(&footer_offset.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(checksum.as_bytes());
    out.extend_from_slice(TRAILER_MAGIC);
    out
}

/// Parse and check a pack's footer, given the pack's total length and a way
/// to read byte ranges of it (a local file or, later, a remote object).
pub fn read_footer(
    path: &Path,
    len: u64,
    read_at: impl Fn(u64, usize) -> std::io::Result<Vec<u8>>,
) -> Result<Vec<Entry>> {
    let corrupt = |reason| Error::CorruptPack {
        path: path.to_path_buf(),
        reason,
    };
    if len < HEADER_LEN + TRAILER_LEN as u64 {
        return Err(corrupt("too short to be a pack (truncated?)"));
    }
    let io = |e| Error::io("read pack", path, e);
    let head = read_at(0, HEADER_LEN as usize).map_err(io)?;
    if &head[..8] != PACK_MAGIC {
        return Err(corrupt("bad magic: not a cairn pack"));
    }
    let version = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(corrupt("unknown pack format version"));
    }
    let t = read_at(len - TRAILER_LEN as u64, TRAILER_LEN).map_err(io)?;
    if &t[48..56] != TRAILER_MAGIC {
        return Err(corrupt("bad trailer (truncated or overwritten)"));
    }
    let footer_offset = u64::from_le_bytes(t[0..8].try_into().expect("8 bytes"));
    let count = u32::from_le_bytes(t[8..12].try_into().expect("4 bytes")) as u64;
    let footer_len = count * ENTRY_LEN as u64;
    let version_copy = u32::from_le_bytes(t[12..16].try_into().expect("4 bytes"));
    if version_copy != FORMAT_VERSION || head[12..16] != [0, 0, 0, 0] {
        return Err(corrupt("unknown pack format version"));
    }
    let end = footer_offset
        .checked_add(footer_len)
        .and_then(|x| x.checked_add(TRAILER_LEN as u64));
    if footer_offset < HEADER_LEN || end != Some(len) {
        return Err(corrupt("footer does not fit the file"));
    }
    let raw = read_at(footer_offset, footer_len as usize).map_err(io)?;
    if blake3::hash(&raw).as_bytes() != &t[16..48] {
        return Err(corrupt("footer checksum mismatch"));
    }
    let mut entries = Vec::with_capacity(count as usize);
    for b in raw.chunks_exact(ENTRY_LEN) {
        let e = Entry::decode(b).ok_or_else(|| corrupt("unreadable footer entry"))?;
        if e.offset < HEADER_LEN || e.offset.saturating_add(e.stored_len as u64) > footer_offset {
            return Err(corrupt("footer entry points outside the blob area"));
        }
        entries.push(e);
    }
    Ok(entries)
}

/// Builds a whole pack in memory, for packs that are uploaded rather than
/// kept (a push repacking loose blobs). Same layout as the cache's `store::packfile::PackWriter`.
pub struct PackBuilder {
    buf: Vec<u8>,
    entries: Vec<Entry>,
}

impl Default for PackBuilder {
    fn default() -> Self {
        PackBuilder {
            buf: header().to_vec(),
            entries: Vec::new(),
        }
    }
}

impl PackBuilder {
    pub fn len(&self) -> u64 {
        self.buf.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn add(&mut self, kind: ObjectKind, id: Id, codec: Codec, stored: &[u8], raw_len: u32) {
        self.entries.push(Entry {
            id,
            kind,
            codec,
            offset: self.buf.len() as u64,
            stored_len: stored.len() as u32,
            raw_len,
        });
        self.buf.extend_from_slice(stored);
    }

    /// The finished pack: its id, bytes and footer entries.
    pub fn finish(mut self) -> (Id, Vec<u8>, Vec<Entry>) {
        let footer = encode_footer(&self.entries, self.buf.len() as u64);
        self.buf.extend_from_slice(&footer);
        (pack_id(&self.entries), self.buf, self.entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_round_trip() {
        let e = Entry {
            id: Id::of(b"x"),
            kind: ObjectKind::Tree,
            codec: Codec::Zstd,
            offset: 1 << 40,
            stored_len: 7,
            raw_len: 9,
        };
        let mut b = Vec::new();
        e.encode(&mut b);
        assert_eq!(b.len(), ENTRY_LEN);
        assert_eq!(Entry::decode(&b), Some(e));
        b[32] = 9;
        assert_eq!(Entry::decode(&b), None);
    }

    /// The id is BLAKE3 of the footer bytes however many entries there
    /// are (it is fed a run of entries at a time).
    #[test]
    fn pack_id_is_the_hash_of_the_footer_bytes() {
        for n in [0usize, 1, 255, 256, 257, 600] {
            let entries: Vec<Entry> = (0..n)
                .map(|i| Entry {
                    id: Id::of(&i.to_le_bytes()),
                    kind: ObjectKind::Chunk,
                    codec: Codec::Raw,
                    offset: HEADER_LEN + i as u64,
                    stored_len: 1,
                    raw_len: 1,
                })
                .collect();
            let mut footer = Vec::new();
            for e in &entries {
                e.encode(&mut footer);
            }
            assert_eq!(pack_id(&entries), Id::of(&footer), "{n} entries");
        }
    }
}
