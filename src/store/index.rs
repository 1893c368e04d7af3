//! The store's in-memory object index: where each blob's copy lives.
//!
//! A cache of a million small files holds a million blobs, and every
//! command that opens the store indexes all of them, so the index is kept
//! compact: sorted runs of fixed-size 56-byte records, binary-searched,
//! instead of a hash map of about 100–150 bytes per blob. Blobs written
//! during the command go into a small hash map first; when it grows past
//! [`RECENT_MAX`] entries it is sorted into a new run, and runs of similar
//! size are merged (in place, from the back), so there are O(log N) runs
//! and the work stays O(N log N) however many blobs a command writes.
//!
//! It guarantees that a lookup answers exactly as one map would: the
//! latest insert of a key wins, whichever structure holds it, and a
//! removed key reads as absent even when an older run still lists it.
//!
//! Every key the runs hold also has a *position* (its record's place in
//! the runs, the newest run that lists it winning), so a walk can mark
//! what it reaches with one bit per record (`marks.rs`) instead of a set
//! of 33-byte keys. Positions stay put while any mark set is alive: the
//! runs are then never re-sorted (the map of recent changes grows instead).

use std::collections::HashMap;
use std::sync::Arc;

use rayon::slice::ParallelSliceMut;

use crate::format::codec::Codec;
use crate::format::kind::ObjectKind;
use crate::hash::Id;

/// Blobs written by this command kept in the hash map before they are
/// sorted into a run: small enough that the map stays a few MB.
pub(super) const RECENT_MAX: usize = 1 << 15;

/// Where one copy of a blob is, or a marker ([`RESERVED`], [`REMOVED`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Loc {
    pub pack: u32,
    pub codec: Codec,
    pub offset: u64,
    pub stored_len: u32,
    pub raw_len: u32,
}

impl Loc {
    /// Where the blob of footer entry `e` of pack number `pack` is.
    pub fn of(pack: u32, e: &crate::format::pack::Entry) -> Loc {
        Loc {
            pack,
            codec: e.codec,
            offset: e.offset,
            stored_len: e.stored_len,
            raw_len: e.raw_len,
        }
    }
}

/// Marks an index entry whose blob is being written right now, so a second
/// thread storing the same content sees it as present (exact dedup) without
/// holding a lock across the write.
pub(super) const RESERVED: u32 = u32::MAX;

/// Marks a key removed during this command: it shadows older runs.
const REMOVED: u32 = u32::MAX - 1;

pub(super) type Key = (ObjectKind, Id);

/// One record of a sorted run: 56 bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rec {
    id: Id,
    offset: u64,
    pack: u32,
    stored_len: u32,
    raw_len: u32,
    kind: ObjectKind,
    codec: Codec,
}

/// The order of the runs: kind, then id.
fn order(kind: ObjectKind, id: &Id) -> (u8, &Id) {
    (kind.to_u8(), id)
}

impl Rec {
    pub fn new((kind, id): Key, l: Loc) -> Rec {
        Rec {
            id,
            offset: l.offset,
            pack: l.pack,
            stored_len: l.stored_len,
            raw_len: l.raw_len,
            kind,
            codec: l.codec,
        }
    }

    /// The same record, in pack number `pack`.
    pub fn in_pack(self, pack: u32) -> Rec {
        Rec { pack, ..self }
    }

    fn order(&self) -> (u8, &Id) {
        order(self.kind, &self.id)
    }

    fn loc(&self) -> Loc {
        Loc {
            pack: self.pack,
            codec: self.codec,
            offset: self.offset,
            stored_len: self.stored_len,
            raw_len: self.raw_len,
        }
    }
}

/// The index: sorted runs (oldest first) under a small map of recent
/// changes. See the module documentation.
#[derive(Default)]
pub(super) struct Index {
    runs: Vec<Vec<Rec>>,
    recent: HashMap<Key, Loc>,
    /// Keys present (not removed), reservations included.
    len: usize,
    /// Held (cloned) by every live mark set: while another holder exists,
    /// the runs, and so every position, stay as they are.
    pins: Arc<()>,
}

/// Keeps an index's positions valid while it lives (see [`Index::pin`]).
#[derive(Debug)]
pub(super) struct Pin(#[allow(dead_code)] Arc<()>);

impl Index {
    /// An index of the copies in `run`: of two copies of one blob the one
    /// in the lower-numbered pack (then at the lower offset) wins, as if
    /// the packs were read in order and each copy inserted only when its
    /// key is not yet present.
    pub fn build(mut run: Vec<Rec>) -> Index {
        // In place (no merge buffer); the tie-break makes it first-wins.
        run.par_sort_unstable_by(|a, b| {
            (a.order(), a.pack, a.offset).cmp(&(b.order(), b.pack, b.offset))
        });
        run.dedup_by(|later, earlier| later.order() == earlier.order());
        run.shrink_to_fit();
        let len = run.len();
        Index {
            runs: if run.is_empty() {
                Vec::new()
            } else {
                vec![run]
            },
            recent: HashMap::new(),
            len,
            pins: Arc::new(()),
        }
    }

    /// Freeze the positions until the returned pin is dropped.
    pub fn pin(&self) -> Pin {
        Pin(self.pins.clone())
    }

    /// How many positions there are: every record of every run.
    pub fn positions(&self) -> usize {
        self.runs.iter().map(Vec::len).sum()
    }

    /// The position of `key`: its record in the newest run that lists it
    /// (removed or not), numbering the runs' records oldest run first.
    /// `None` for a key only the map of recent changes holds, or none.
    pub fn position(&self, key: &Key) -> Option<usize> {
        let want = order(key.0, &key.1);
        let mut base = self.positions();
        for run in self.runs.iter().rev() {
            base -= run.len();
            if let Ok(i) = run.binary_search_by(|r| r.order().cmp(&want)) {
                return Some(base + i);
            }
        }
        None
    }

    /// The copy of `key` as indexed (a reservation included), if present.
    pub fn get(&self, key: &Key) -> Option<Loc> {
        let raw = match self.recent.get(key) {
            Some(l) => Some(*l),
            None => self.in_runs(key),
        };
        raw.filter(|l| l.pack != REMOVED)
    }

    /// The newest run's record of `key`, removals included.
    fn in_runs(&self, key: &Key) -> Option<Loc> {
        let want = order(key.0, &key.1);
        self.runs.iter().rev().find_map(|run| {
            run.binary_search_by(|r| r.order().cmp(&want))
                .ok()
                .map(|i| run[i].loc())
        })
    }

    pub fn contains_key(&self, key: &Key) -> bool {
        self.get(key).is_some()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Set the copy of `key` (or reserve it, with [`RESERVED`]).
    pub fn insert(&mut self, key: Key, loc: Loc) {
        if !self.contains_key(&key) {
            self.len += 1;
        }
        self.recent.insert(key, loc);
        if self.recent.len() >= RECENT_MAX {
            self.spill();
        }
    }

    /// Remove `key`, whichever structure holds it.
    pub fn remove(&mut self, key: &Key) {
        if !self.contains_key(key) {
            return;
        }
        self.len -= 1;
        if self.in_runs(key).is_some_and(|l| l.pack != REMOVED) {
            self.recent.insert(
                *key,
                Loc {
                    pack: REMOVED,
                    codec: Codec::Raw,
                    offset: 0,
                    stored_len: 0,
                    raw_len: 0,
                },
            );
        } else {
            self.recent.remove(key);
        }
    }

    /// Sort the settled recent entries into a new run and merge runs of
    /// similar size. Reservations stay in the map: their writers update or
    /// remove them there.
    fn spill(&mut self) {
        if Arc::strong_count(&self.pins) > 1 {
            // A mark set relies on the runs as they are.
            return;
        }
        let mut run: Vec<Rec> = Vec::new();
        self.recent.retain(|k, l| {
            if l.pack == RESERVED {
                return true;
            }
            run.push(Rec::new(*k, *l));
            false
        });
        if run.is_empty() {
            return;
        }
        // Keys in the map are unique: no dedup needed.
        run.sort_unstable_by(|a, b| a.order().cmp(&b.order()));
        self.runs.push(run);
        while let [.., older, newer] = self.runs.as_slice() {
            if older.len() > 2 * newer.len() {
                break;
            }
            let newer = self.runs.pop().unwrap_or_default();
            if let Some(older) = self.runs.last_mut() {
                merge_into(older, newer);
            }
        }
        self.recent.shrink_to(RECENT_MAX);
    }
}

/// Merge sorted run `newer` into sorted run `older` in place (from the
/// back, so no second copy of `older` is made); of equal keys `newer`'s
/// record wins.
fn merge_into(older: &mut Vec<Rec>, newer: Vec<Rec>) {
    let (na, nb) = (older.len(), newer.len());
    let Some(&filler) = newer.first() else {
        return;
    };
    older.reserve_exact(nb);
    older.resize(na + nb, filler);
    let (mut i, mut j, mut k) = (na, nb, na + nb);
    while j > 0 {
        k -= 1;
        // On a tie the older record goes behind, so the newer one comes
        // first and survives the dedup below.
        if i > 0 && older[i - 1].order() >= newer[j - 1].order() {
            older[k] = older[i - 1];
            i -= 1;
        } else {
            older[k] = newer[j - 1];
            j -= 1;
        }
    }
    older.dedup_by(|later, earlier| later.order() == earlier.order());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn loc(pack: u32, offset: u64) -> Loc {
        Loc {
            pack,
            codec: Codec::Zstd,
            offset,
            stored_len: 7,
            raw_len: 9,
        }
    }

    fn key(kind: u8, n: u8) -> Key {
        let kind = ObjectKind::from_u8(kind % 4 + 1).unwrap();
        (kind, Id::of(&[n]))
    }

    #[test]
    fn a_record_is_56_bytes() {
        assert_eq!(std::mem::size_of::<Rec>(), 56);
    }

    #[test]
    fn the_first_copy_at_build_wins() {
        let k = key(0, 1);
        let idx = Index::build(vec![
            Rec::new(k, loc(3, 10)),
            Rec::new(key(1, 1), loc(0, 5)),
            Rec::new(k, loc(1, 20)),
            Rec::new(k, loc(1, 8)),
        ]);
        assert_eq!(idx.get(&k), Some(loc(1, 8)));
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.get(&key(2, 1)), None);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u8, u32),
        Remove(u8, u8),
        Spill,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u8..4, 0u8..40, 0u32..4).prop_map(|(k, n, p)| Op::Insert(k, n, p)),
            2 => (0u8..4, 0u8..40).prop_map(|(k, n)| Op::Remove(k, n)),
            1 => Just(Op::Spill),
        ]
    }

    proptest! {
        /// Against a HashMap model: a build with duplicate copies (the
        /// lowest pack, then offset, wins), then inserts (reservations among them), removals and
        /// forced spills, including keys that older runs still list.
        #[test]
        fn answers_like_a_map(
            base in prop::collection::vec((0u8..4, 0u8..40, 0u32..4), 0..60),
            ops in prop::collection::vec(op(), 0..200),
        ) {
            let mut model: HashMap<Key, Loc> = HashMap::new();
            let mut entries = Vec::new();
            for (i, (k, n, p)) in base.into_iter().enumerate() {
                entries.push(Rec::new(key(k, n), loc(p, i as u64)));
            }
            // The model reads packs in order, each in offset order.
            let mut sorted = entries.clone();
            sorted.sort_by_key(|r| (r.pack, r.offset));
            for r in &sorted {
                model.entry((r.kind, r.id)).or_insert(r.loc());
            }
            let mut idx = Index::build(entries);
            for (i, o) in ops.into_iter().enumerate() {
                match o {
                    Op::Insert(k, n, p) => {
                        let pack = if p == 3 { RESERVED } else { p };
                        let l = loc(pack, 1000 + i as u64);
                        idx.insert(key(k, n), l);
                        model.insert(key(k, n), l);
                    }
                    Op::Remove(k, n) => {
                        idx.remove(&key(k, n));
                        model.remove(&key(k, n));
                    }
                    Op::Spill => idx.spill(),
                }
                prop_assert_eq!(idx.len(), model.len());
            }
            for k in 0..4 {
                for n in 0..40 {
                    prop_assert_eq!(idx.get(&key(k, n)), model.get(&key(k, n)).copied());
                }
            }
        }
    }

    #[test]
    fn many_inserts_spill_into_few_runs() {
        let mut idx = Index::default();
        let n = RECENT_MAX * 5 + 17;
        for i in 0..n {
            idx.insert(
                (ObjectKind::Chunk, Id::of(&(i as u64).to_le_bytes())),
                loc(1, i as u64),
            );
        }
        assert_eq!(idx.len(), n);
        assert!(idx.runs.len() <= 3, "{} runs", idx.runs.len());
        assert!(idx.recent.len() < RECENT_MAX);
        for i in (0..n).step_by(997) {
            let k = (ObjectKind::Chunk, Id::of(&(i as u64).to_le_bytes()));
            assert_eq!(idx.get(&k), Some(loc(1, i as u64)));
        }
    }
}
