//! How a push sends the blobs a remote lacks: which local packs go as they
//! are, and which blobs are repacked, decided with sorted vectors.
//!
//! It decides exactly as `Store::plan_export` does (packs in the cache's
//! order; a pack of at least `min_whole` bytes all of whose blobs are
//! wanted and not yet taken goes whole; other wanted blobs go loose, each
//! blob once, in the cache's order), so a push resumed by either builds the
//! same packs. What differs is the memory: the wanted blobs are one sorted
//! vector and "taken" one bit each, instead of two hash sets (about 70 MB
//! each at a million blobs), and a loose blob is 8 bytes (its pack and
//! entry) instead of a copy of its footer entry and path.

use crate::format::kind::ObjectKind;
use crate::format::pack::Entry;
use crate::hash::Id;
use crate::store::{SealedPack, Store};

/// The blobs to send, by local pack.
#[derive(Debug, Default)]
pub struct Plan {
    /// The local packs the plan uses (others are left out); a pack sent
    /// whole keeps its entries until the upload takes them.
    pub packs: Vec<SealedPack>,
    /// Packs (indices into `packs`) sent as they are.
    pub whole: Vec<usize>,
    /// Blobs repacked for upload, as (pack index, entry index), in the
    /// cache's order (packs by path, blobs by offset).
    pub loose: Vec<(u32, u32)>,
    /// The first wanted blob (in (kind, id) order) with no intact copy.
    pub absent: Option<(ObjectKind, Id)>,
}

impl Plan {
    /// The entry of a loose blob.
    pub fn entry(&self, (pack, entry): (u32, u32)) -> &Entry {
        &self.packs[pack as usize].entries[entry as usize]
    }

    /// Bytes to upload.
    pub fn bytes(&self) -> u64 {
        self.whole.iter().map(|p| self.packs[*p].len).sum::<u64>()
            + self
                .loose
                .iter()
                .map(|l| self.entry(*l).stored_len as u64)
                .sum::<u64>()
    }

    /// Send pack `p` (sent whole) loose instead (its name is condemned on
    /// the remote), keeping `loose` in the cache's order.
    pub fn unwhole(&mut self, p: usize) {
        self.whole.retain(|w| *w != p);
        let n = self.packs[p].entries.len();
        self.loose.extend((0..n).map(|e| (p as u32, e as u32)));
        self.sort_loose();
    }

    /// The loose blobs cut into repacked packs: runs of at least
    /// `target` stored bytes (the last may be less) or of `max_blobs`.
    pub fn groups(&self, target: u64, max_blobs: usize) -> Vec<std::ops::Range<usize>> {
        let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
        let mut size = 0u64;
        for (i, e) in self.loose.iter().map(|l| self.entry(*l)).enumerate() {
            match groups.last_mut() {
                Some(g) if size < target && g.len() < max_blobs => g.end = i + 1,
                _ => {
                    groups.push(i..i + 1);
                    size = 0;
                }
            }
            size += e.stored_len as u64;
        }
        groups
    }

    fn sort_loose(&mut self) {
        let packs = &self.packs;
        // Unstable (a stable sort allocates a scratch copy, 8 bytes a
        // blob at the push's peak), made total by the blob's place: a blob
        // is loose once unless one pack names it twice.
        // Packs are in path order (`Store::sealed_packs`), so this is the
        // cache's order: the chunks of one file stay together.
        let key = |(p, e): &(u32, u32)| (*p, packs[*p as usize].entries[*e as usize].offset, *e);
        self.loose.sort_unstable_by_key(key);
    }
}

/// Decide how to send `wanted` (sorted by (kind, id), each once).
pub fn plan(store: &Store, wanted: &[(ObjectKind, Id)], min_whole: u64) -> Plan {
    let find = |e: &Entry| {
        wanted
            .binary_search_by_key(&(e.kind.to_u8(), e.id), |(k, id)| (k.to_u8(), *id))
            .ok()
    };
    let mut taken = vec![0u64; wanted.len().div_ceil(64)];
    let is_taken = |taken: &[u64], i: usize| taken[i / 64] & (1 << (i % 64)) != 0;
    let take = |taken: &mut [u64], i: usize| taken[i / 64] |= 1 << (i % 64);
    let mut plan = Plan::default();
    for mut pack in store.sealed_packs() {
        let usable = |taken: &[u64], e: &Entry| {
            find(e).filter(|i| {
                !is_taken(taken, *i) && !store.is_damaged_copy(&pack.path, e.kind, &e.id)
            })
        };
        let all =
            !pack.entries.is_empty() && pack.entries.iter().all(|e| usable(&taken, e).is_some());
        if all && pack.len >= min_whole {
            for e in &pack.entries {
                if let Some(i) = find(e) {
                    take(&mut taken, i);
                }
            }
            plan.whole.push(plan.packs.len());
            plan.packs.push(pack);
            continue;
        }
        let p = plan.packs.len() as u32;
        let before = plan.loose.len();
        for (n, e) in pack.entries.iter().enumerate() {
            if let Some(i) = usable(&taken, e) {
                take(&mut taken, i);
                plan.loose.push((p, n as u32));
            }
        }
        if plan.loose.len() > before {
            pack.entries.shrink_to_fit();
            plan.packs.push(pack);
        }
    }
    plan.absent = wanted
        .iter()
        .enumerate()
        .find(|(i, _)| !is_taken(&taken, *i))
        .map(|(_, k)| *k);
    plan.sort_loose();
    plan
}
