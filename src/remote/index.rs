//! Remote index files: which packs a remote holds and what is in them.
//!
//! A remote's packs are self-describing, but reading every pack's footer
//! would cost one request per pack. So every push ends by writing one index
//! file listing the packs it completed, with their footer entries. A client
//! lists `index/`, downloads only the index files it has not seen (keeping
//! them in the cache), and knows the whole remote in one or two requests.
//!
//! An index file is named by the BLAKE3 of its bytes, so a damaged or
//! truncated download is detected, and files are immutable: readers may
//! cache them forever. An index is written only after every pack it lists
//! is complete, so a listed pack is always whole.

use std::collections::{HashMap, HashSet};

use super::copies::Copies;
pub use super::copies::Packs;
use crate::format::kind::ObjectKind;
use crate::format::pack::{self, Entry, ENTRY_LEN, HEADER_LEN, TRAILER_LEN};
use crate::hash::Id;

pub const INDEX_MAGIC: &[u8; 8] = b"CAIRNRI\x01";
pub const INDEX_VERSION: u32 = 1;
/// Index files live under this directory of the remote, as `<id>.idx`.
pub const INDEX_DIR: &str = "index";
/// The names under `index/`, one per line, for readers that cannot list
/// (plain HTTP).
pub const LISTING: &str = "index.list";
/// Packs live under this directory, as `<xx>/<id>.pack` like the cache.
pub const PACK_DIR: &str = "packs";

/// One pack as an index file lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackRecord {
    pub id: Id,
    pub len: u64,
    pub entries: Vec<Entry>,
}

pub use crate::error::IndexError;

/// The remote path of pack `id`.
pub fn pack_path(id: &Id) -> String {
    let hex = id.to_hex();
    format!("{PACK_DIR}/{}/{hex}.pack", &hex[..2])
}

/// The pack id in a remote pack path (`packs/xx/<id>.pack`), if it is one.
pub fn pack_id_of(path: &str) -> Option<Id> {
    let name = path.rsplit('/').next()?;
    Id::from_hex(name.strip_suffix(".pack")?)
}

/// The index id in a remote index path (`index/<id>.idx`), if it is one.
pub fn index_id_of(path: &str) -> Option<Id> {
    let name = path.rsplit('/').next()?;
    Id::from_hex(name.strip_suffix(".idx")?)
}

/// Encode an index file. Returns its id (its name) and bytes.
pub fn encode(packs: &[PackRecord]) -> (Id, Vec<u8>) {
    let n: usize = packs.iter().map(|p| 44 + p.entries.len() * ENTRY_LEN).sum();
    let mut out = Vec::with_capacity(16 + n);
    out.extend_from_slice(INDEX_MAGIC);
    out.extend_from_slice(&INDEX_VERSION.to_le_bytes());
    out.extend_from_slice(&(packs.len() as u32).to_le_bytes());
    for p in packs {
        out.extend_from_slice(p.id.as_bytes());
        out.extend_from_slice(&p.len.to_le_bytes());
        out.extend_from_slice(&(p.entries.len() as u32).to_le_bytes());
        for e in &p.entries {
            e.encode(&mut out);
        }
    }
    (Id::of(&out), out)
}

/// Decode and check an index file whose name says its id is `id`.
pub fn decode(id: &Id, bytes: &[u8]) -> Result<Vec<PackRecord>, IndexError> {
    if Id::of(bytes) != *id {
        return Err(IndexError::NameMismatch);
    }
    if bytes.len() < 16 {
        return Err(IndexError::Truncated);
    }
    if &bytes[..8] != INDEX_MAGIC {
        return Err(IndexError::BadMagic);
    }
    let u32_at = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    if u32_at(bytes, 8) != Some(INDEX_VERSION) {
        return Err(IndexError::UnknownVersion);
    }
    let count = u32_at(bytes, 12).ok_or(IndexError::Truncated)? as usize;
    let mut at = 16;
    // Each record is at least 44 bytes: bound the allocation by the input.
    let mut packs = Vec::with_capacity(count.min(bytes.len() / 44));
    for _ in 0..count {
        let head = bytes.get(at..at + 44).ok_or(IndexError::Truncated)?;
        let mut pid = [0u8; 32];
        pid.copy_from_slice(&head[..32]);
        let len = u64::from_le_bytes(head[32..40].try_into().map_err(|_| IndexError::Truncated)?);
        let n = u32_at(head, 40).ok_or(IndexError::Truncated)? as usize;
        at += 44;
        let body_len = n.checked_mul(ENTRY_LEN).ok_or(IndexError::Truncated)?;
        let body = bytes
            .get(at..at.checked_add(body_len).ok_or(IndexError::Truncated)?)
            .ok_or(IndexError::Truncated)?;
        at += body_len;
        let mut entries = Vec::with_capacity(n);
        let blob_end = len
            .checked_sub((n * ENTRY_LEN + TRAILER_LEN) as u64)
            .ok_or(IndexError::EntryOutOfRange)?;
        for b in body.chunks_exact(ENTRY_LEN) {
            let e = Entry::decode(b).ok_or(IndexError::BadEntry)?;
            if e.offset < HEADER_LEN || e.offset.saturating_add(e.stored_len as u64) > blob_end {
                return Err(IndexError::EntryOutOfRange);
            }
            entries.push(e);
        }
        if pack::pack_id(&entries) != Id(pid) {
            return Err(IndexError::PackIdMismatch);
        }
        packs.push(PackRecord {
            id: Id(pid),
            len,
            entries,
        });
    }
    if at != bytes.len() {
        return Err(IndexError::Truncated);
    }
    Ok(packs)
}

/// Where each blob lives on a remote, merged from all its index files (or,
/// for a push that reads only part of them, from what it read and the
/// locators it trusted: see [`RemoteIndex::add_located`]).
///
/// Of several good copies of a blob, the one preferred is the first in the
/// order the packs were recorded (then by entry) whose pack is not
/// condemned, else the first. A copy `damaged` names never counts. The
/// blobs are held as sorted 12-byte slots into the pack records
/// (`copies.rs`), not as a map of their own.
#[derive(Debug, Default)]
pub struct RemoteIndex {
    /// The packs known, by id. A pack learnt from locators only holds the
    /// entries they named (its footer count is in `footers`).
    pub packs: Packs,
    /// Every good copy of every blob, sorted by blob.
    copies: Copies,
    /// Footer entry counts of the packs whose record is partial (learnt
    /// from locators, which list only the entries a root uses).
    footers: HashMap<Id, u32>,
    /// Copies `verify --remote` found damaged: a whole pack (`None`) or one
    /// blob in it. They never count as the remote having the blob, so a
    /// push sends a good copy and a fetch reads that one. Set before
    /// records are added: a copy is judged when its pack is recorded.
    pub damaged: HashSet<(Id, Option<(ObjectKind, Id)>)>,
    /// Packs `gc --remote` has condemned. Readers still use them (they are
    /// whole until deleted) but prefer other copies; for a push, a blob
    /// only they hold is absent, since they may be deleted before the
    /// push's commit reaches the clone that runs gc.
    pub condemned: HashSet<Id>,
}

impl RemoteIndex {
    /// Add whole pack records (from index files, or packs a push sent).
    /// The first record of a pack wins, except over a partial one learnt
    /// from locators, which the whole record replaces.
    pub fn add(&mut self, records: Vec<PackRecord>) {
        let mut added = Vec::with_capacity(records.len());
        for p in records {
            if self.packs.contains_key(&p.id) {
                if self.footers.remove(&p.id).is_none() {
                    continue;
                }
                self.forget(&p.id);
            }
            added.push(self.packs.insert(p));
        }
        // One sort and one merge for the whole batch, not one per pack: an
        // index file lists thousands of packs.
        self.add_copies(&added);
    }

    /// Add what a locator says about one pack: `entries` of a pack of
    /// `len` bytes whose footer holds `footer_entries`. Entries merge into
    /// a partial record (by offset; the first claim stays); a pack already
    /// known whole, or claimed with another length, is left as it is.
    /// Callers decide whether to trust a locator at all (a push does only
    /// for packs neither condemned nor damaged).
    pub fn add_located(&mut self, id: Id, len: u64, footer_entries: u32, entries: &[Entry]) {
        let Some(record) = self.packs.get(&id) else {
            self.footers.insert(id, footer_entries);
            let mut entries = entries.to_vec();
            entries.sort_by_key(|e| e.offset);
            entries.dedup_by_key(|e| e.offset);
            self.insert(PackRecord { id, len, entries });
            return;
        };
        if !self.footers.contains_key(&id) || record.len != len {
            return;
        }
        let merged = merge_claims(&record.entries, entries);
        self.forget(&id);
        self.insert(PackRecord {
            id,
            len,
            entries: merged,
        });
    }

    /// Record pack `p` (not yet known) and its good copies.
    fn insert(&mut self, p: PackRecord) {
        let n = self.packs.insert(p);
        self.add_copies(&[n]);
    }

    /// Add the good copies of the packs numbered `added` (just recorded).
    fn add_copies(&mut self, added: &[u32]) {
        let damaged = &self.damaged;
        let packs = &self.packs;
        let good = |n: u32, e: &Entry| {
            damaged.is_empty()
                || packs.by_number(n).is_some_and(|p| {
                    !damaged.contains(&(p.id, None))
                        && !damaged.contains(&(p.id, Some((e.kind, e.id))))
                })
        };
        self.copies.add(packs, added, good);
    }

    /// Drop pack `id` and its copies (to record it again, as the newest).
    fn forget(&mut self, id: &Id) {
        if let Some((n, _)) = self.packs.remove(id) {
            self.copies.drop_pack(n);
        }
    }

    /// The preferred copy of a blob and its position (see
    /// [`RemoteIndex::position`]).
    fn preferred(&self, kind: ObjectKind, id: &Id) -> Option<(usize, u32, u32)> {
        let (at, copies) = self.copies.find(&self.packs, kind, id);
        let first = copies.first()?;
        let kept = copies.iter().find(|s| {
            self.condemned.is_empty()
                || self
                    .packs
                    .by_number(s.pack)
                    .is_some_and(|p| !self.condemned.contains(&p.id))
        });
        let s = kept.unwrap_or(first);
        Some((at, s.pack, s.entry))
    }

    pub fn contains(&self, kind: ObjectKind, id: &Id) -> bool {
        !self.copies.find(&self.packs, kind, id).1.is_empty()
    }

    /// The copy of a blob this index prefers: its pack and footer entry.
    pub fn get(&self, kind: ObjectKind, id: &Id) -> Option<(Id, Entry)> {
        let (_, pack, entry) = self.preferred(kind, id)?;
        let p = self.packs.by_number(pack)?;
        Some((p.id, *p.entries.get(entry as usize)?))
    }

    /// A number for each blob with a good copy, below
    /// [`RemoteIndex::positions`], for sets of blobs kept as bits. Valid
    /// until the next record is added.
    pub fn position(&self, kind: ObjectKind, id: &Id) -> Option<usize> {
        self.preferred(kind, id).map(|(at, _, _)| at)
    }

    /// The bound of [`RemoteIndex::position`].
    pub fn positions(&self) -> usize {
        self.copies.len()
    }

    /// How many blobs the index knows.
    pub fn blob_count(&self) -> usize {
        self.copies.distinct(&self.packs)
    }

    /// How many entries the footer of pack `id` has (for a partial record,
    /// what the locator said; else the record's own count).
    pub fn footer_entries(&self, id: &Id) -> Option<u32> {
        match self.footers.get(id) {
            Some(n) => Some(*n),
            None => self.packs.get(id).map(|p| p.entries.len() as u32),
        }
    }

    /// Whether the remote keeps a good copy of the blob: one in a pack that
    /// is neither damaged nor condemned (copies in other packs are
    /// preferred, so checking the one preferred is enough).
    pub fn keeps(&self, kind: ObjectKind, id: &Id) -> bool {
        self.preferred(kind, id).is_some_and(|(_, pack, _)| {
            self.packs
                .by_number(pack)
                .is_some_and(|p| !self.condemned.contains(&p.id))
        })
    }
}

/// A set of blobs of one [`RemoteIndex`], as a bit per position (blobs
/// without a good copy there, which no gc keeps, in a small set beside).
/// `gc --remote` records the blobs staying packs keep in one: at a million
/// blobs, 125 KB instead of a hash set of about 70 MB.
pub struct BlobSet<'a> {
    index: &'a RemoteIndex,
    bits: Vec<u64>,
    others: HashSet<(ObjectKind, Id)>,
}

impl<'a> BlobSet<'a> {
    pub fn new(index: &'a RemoteIndex) -> BlobSet<'a> {
        BlobSet {
            index,
            bits: vec![0; index.positions().div_ceil(64)],
            others: HashSet::new(),
        }
    }

    pub fn insert(&mut self, kind: ObjectKind, id: &Id) {
        match self.index.position(kind, id) {
            Some(p) => self.bits[p / 64] |= 1 << (p % 64),
            None => {
                self.others.insert((kind, *id));
            }
        }
    }

    pub fn contains(&self, kind: ObjectKind, id: &Id) -> bool {
        match self.index.position(kind, id) {
            Some(p) => self.bits[p / 64] & (1 << (p % 64)) != 0,
            None => self.others.contains(&(kind, *id)),
        }
    }
}

/// Where a remote's index files are cached: one directory per remote
/// location (not per name), since index files are immutable and named by
/// content.
pub fn cache_dir(cache_root: &std::path::Path, location: &super::Location) -> std::path::PathBuf {
    let key = Id::of(location.canonical().as_bytes()).to_hex();
    cache_root.join("remotes").join(&key[..16])
}

/// The remote's index as last seen, from the cache alone (no network):
/// `None` if this cache never talked to it.
pub fn cached(cache_root: &std::path::Path, location: &super::Location) -> Option<RemoteIndex> {
    let dir = cache_dir(cache_root, location);
    let mut idx = RemoteIndex::default();
    for f in std::fs::read_dir(&dir).ok()?.flatten() {
        let name = f.file_name();
        let Some(id) = name.to_str().and_then(index_id_of) else {
            continue;
        };
        if let Ok(records) = std::fs::read(f.path()).map(|b| decode(&id, &b)) {
            idx.add(records.unwrap_or_default());
        }
    }
    Some(idx)
}

/// Which of `keys` the cached index files of `location` list, or `None`
/// if none is cached (the directory may still hold the records of
/// `transfer::walked`, which a fetch through locators alone writes): what
/// [`cached`] then `contains` would say for each, without building the
/// index. `status` asks this about a few
/// pointers, and building the index (every copy of every blob, sorted)
/// was a tenth of its time on an unchanged tree. Each file is checked
/// exactly as [`cached`] checks it.
pub fn cached_lists(
    cache_root: &std::path::Path,
    location: &super::Location,
    keys: &[(ObjectKind, Id)],
) -> Option<Vec<bool>> {
    let dir = cache_dir(cache_root, location);
    let mut sought = crate::format::kind::Sought::new(keys);
    let mut any = false;
    for f in std::fs::read_dir(&dir).ok()?.flatten() {
        let name = f.file_name();
        let Some(id) = name.to_str().and_then(index_id_of) else {
            continue;
        };
        any = true;
        let Ok(Ok(records)) = std::fs::read(f.path()).map(|b| decode(&id, &b)) else {
            continue;
        };
        for e in records.iter().flat_map(|p| &p.entries) {
            if let Some(at) = sought.find(e.kind, &e.id) {
                sought.mark(at);
            }
        }
    }
    any.then(|| sought.answers(keys))
}

/// A pack's known entries with more claimed ones added: by offset, the
/// known entry wins a clash, and each offset appears once.
fn merge_claims(known: &[Entry], claimed: &[Entry]) -> Vec<Entry> {
    let offsets: HashSet<u64> = known.iter().map(|e| e.offset).collect();
    let mut merged = known.to_vec();
    merged.extend(claimed.iter().filter(|e| !offsets.contains(&e.offset)));
    merged.sort_by_key(|e| e.offset);
    merged.dedup_by_key(|e| e.offset);
    merged
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "index_model.rs"]
mod model;
