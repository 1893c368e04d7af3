//! Synthetic remote metadata, for benchmarks and tests: index files (in
//! the exact format of [`super::index`], so every reader check passes)
//! describing packs that do not exist.
//!
//! Metadata costs grow with what a remote holds, and holding 100 GB or
//! 1 TB of packs just to measure them is impractical. These index files
//! make a remote *look* that large to anything that reads its catalogue
//! (push, fetch through the index, gc, verify), at 52 bytes per blob, as a
//! real one of that size would. Only reading the packs themselves fails
//! (they are absent), which is what a fetch that needs none of them never
//! does. Not used by any command: `tests/it/locators.rs` and
//! `bench/locators.sh` (through `examples/synth_remote.rs`) use it.
//!
//! Generation is deterministic in its parameters: the same spec gives the
//! same files, byte for byte.

use super::index::{self, PackRecord, INDEX_DIR};
use crate::format::codec::Codec;
use crate::format::kind::ObjectKind;
use crate::format::pack::{pack_id, Entry, ENTRY_LEN, HEADER_LEN, TRAILER_LEN};
use crate::hash::Id;

/// What to describe.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Blob bytes described in all (rounded up to whole packs).
    pub bytes: u64,
    /// Bytes per blob (cairn's average chunk is 64 KiB).
    pub blob: u32,
    /// Blobs per pack (512 blobs of 64 KiB fill a 32 MiB pack).
    pub blobs_per_pack: u32,
    /// Packs per index file (one index file per push of that size).
    pub packs_per_index: u32,
    /// Distinguishes the ids of one synthetic remote from another's.
    pub seed: String,
}

impl Spec {
    /// `bytes` of 64 KiB blobs in 32 MiB packs, 1 GiB per index file.
    pub fn of_size(bytes: u64, seed: &str) -> Spec {
        Spec {
            bytes,
            blob: 64 << 10,
            blobs_per_pack: 512,
            packs_per_index: 32,
            seed: seed.to_string(),
        }
    }

    fn packs(&self) -> u64 {
        let per_pack = self.blob as u64 * self.blobs_per_pack.max(1) as u64;
        self.bytes.div_ceil(per_pack.max(1))
    }

    /// How many index files [`files`] yields for this spec.
    pub fn index_files(&self) -> u64 {
        self.packs().div_ceil(self.packs_per_index.max(1) as u64)
    }
}

/// Pack number `n` of `spec`: blobs laid out from offset 16, raw chunks
/// with ids derived from the seed, the pack id computed as a reader checks
/// it (§6.6).
pub fn pack(spec: &Spec, n: u64) -> PackRecord {
    let count = spec.blobs_per_pack.max(1);
    let mut entries = Vec::with_capacity(count as usize);
    let mut offset = HEADER_LEN;
    for i in 0..count {
        let key = format!("cairn synth {} {n} {i}", spec.seed);
        entries.push(Entry {
            id: Id::of(key.as_bytes()),
            kind: ObjectKind::Chunk,
            codec: Codec::Raw,
            offset,
            stored_len: spec.blob,
            raw_len: spec.blob,
        });
        offset += spec.blob as u64;
    }
    PackRecord {
        id: pack_id(&entries),
        len: offset + (count as usize * ENTRY_LEN + TRAILER_LEN) as u64,
        entries,
    }
}

/// The index files, one at a time: (remote path, bytes).
pub fn files(spec: &Spec) -> impl Iterator<Item = (String, Vec<u8>)> + '_ {
    let packs = spec.packs();
    let per = spec.packs_per_index.max(1) as u64;
    (0..spec.index_files()).map(move |f| {
        let records: Vec<PackRecord> = (f * per..((f + 1) * per).min(packs))
            .map(|n| pack(spec, n))
            .collect();
        let (id, bytes) = index::encode(&records);
        (format!("{INDEX_DIR}/{}.idx", id.to_hex()), bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_index_files_pass_every_reader_check() {
        let spec = Spec {
            bytes: 10 << 20,
            blob: 64 << 10,
            blobs_per_pack: 16,
            packs_per_index: 3,
            seed: "t".into(),
        };
        let all: Vec<(String, Vec<u8>)> = files(&spec).collect();
        assert_eq!(all.len() as u64, spec.index_files());
        assert_eq!(all.len(), 4, "10 packs, 3 per file");
        let mut blobs = 0u64;
        for (path, bytes) in &all {
            let id = index::index_id_of(path).unwrap();
            let records = index::decode(&id, bytes).unwrap();
            blobs += records.iter().map(|r| r.entries.len() as u64).sum::<u64>();
        }
        assert_eq!(blobs * (64 << 10), 10 << 20);
        // Deterministic, and distinct per seed.
        assert_eq!(files(&spec).next(), all.first().cloned());
        let other = Spec {
            seed: "u".into(),
            ..spec.clone()
        };
        assert_ne!(files(&other).next(), all.first().cloned());
    }
}
