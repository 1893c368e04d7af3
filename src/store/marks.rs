//! Mark sets over the store's index: which blobs a walk has reached, at
//! one bit per indexed blob.
//!
//! `verify` and `gc` mark everything the live pointers reach. At a million
//! files a hash set of (kind, id) keys costs 70–100 MB beside the index's
//! 56 MB; a bit per index position costs 125 KB. Keys without a position
//! (blobs written during this command, still in the index's small map, and
//! blobs the store lacks) go to a hash set of their own, which holds only
//! those.
//!
//! It guarantees that a mark set answers exactly as a set of keys would:
//! a key is marked once marked, whichever structure holds it. A mark set
//! pins the index's positions while it lives ([`super::index::Pin`]), so
//! writes to the store meanwhile cannot move them; it must be used only
//! with the store that made it (checked in debug builds).

use std::collections::HashSet;

use super::index::{Key, Pin};
use super::Store;
use crate::format::kind::ObjectKind;
use crate::hash::Id;

/// A set of marked blobs (see the module documentation).
pub struct Marks {
    bits: Vec<u64>,
    /// Marked keys that have no position.
    extra: HashSet<Key>,
    /// How many keys are marked.
    count: usize,
    positions: usize,
    _pin: Pin,
}

impl std::fmt::Debug for Marks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Marks")
            .field("count", &self.count)
            .field("positions", &self.positions)
            .finish()
    }
}

impl Marks {
    /// How many distinct keys are marked.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn bit(&self, pos: usize) -> bool {
        self.bits[pos / 64] & (1 << (pos % 64)) != 0
    }
}

impl Store {
    /// An empty mark set over this store's index.
    pub fn marks(&self) -> Marks {
        let index = self.index.read().expect("index lock poisoned");
        let positions = index.positions();
        Marks {
            bits: vec![0; positions.div_ceil(64)],
            extra: HashSet::new(),
            count: 0,
            positions,
            _pin: index.pin(),
        }
    }

    fn position(&self, m: &Marks, kind: ObjectKind, id: &Id) -> Option<usize> {
        let index = self.index.read().expect("index lock poisoned");
        debug_assert_eq!(index.positions(), m.positions, "marks of another store");
        index.position(&(kind, *id))
    }

    /// Mark `(kind, id)`; `true` if it was not marked before.
    pub fn mark(&self, m: &mut Marks, kind: ObjectKind, id: &Id) -> bool {
        let fresh = match self.position(m, kind, id) {
            Some(pos) => {
                let word = &mut m.bits[pos / 64];
                let mask = 1u64 << (pos % 64);
                let fresh = *word & mask == 0;
                *word |= mask;
                fresh
            }
            None => m.extra.insert((kind, *id)),
        };
        m.count += usize::from(fresh);
        fresh
    }

    /// Whether `(kind, id)` is marked.
    pub fn is_marked(&self, m: &Marks, kind: ObjectKind, id: &Id) -> bool {
        match self.position(m, kind, id) {
            Some(pos) => m.bit(pos),
            None => !m.extra.is_empty() && m.extra.contains(&(kind, *id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;
    use proptest::prelude::*;
    use std::fs;

    fn key(k: u8, n: u16) -> (ObjectKind, Id) {
        let kind = ObjectKind::from_u8(k % 4 + 1).unwrap();
        (kind, Id::of(&n.to_le_bytes()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Against a HashSet model: keys in the store (some stored twice,
        /// in two packs), keys it lacks, and keys written while the set is
        /// alive, past the point where the index would sort them into a
        /// run, so they keep no position.
        #[test]
        fn marks_answer_like_a_set(
            stored in prop::collection::vec((0u8..4, 0u16..300), 0..120),
            again in prop::collection::vec((0u8..4, 0u16..300), 0..40),
            marked in prop::collection::vec((0u8..4, 0u16..400), 0..300),
            late in 0usize..3,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let other = tempfile::tempdir().unwrap();
            // Two caches, the second's packs then moved into the first, so
            // keys of `again` may be in two packs at once.
            for (root, batch) in [(dir.path(), &stored), (other.path(), &again)] {
                let s = Store::open(root, &Silent).unwrap();
                for (k, n) in batch {
                    let (kind, id) = key(*k, *n);
                    s.put(kind, id, id.as_bytes()).unwrap();
                }
                s.flush().unwrap();
            }
            let moved = dir.path().join("packs").join("moved");
            fs::create_dir_all(&moved).unwrap();
            for sub in fs::read_dir(other.path().join("packs")).unwrap() {
                for f in fs::read_dir(sub.unwrap().path()).unwrap() {
                    let f = f.unwrap();
                    fs::rename(f.path(), moved.join(f.file_name())).unwrap();
                }
            }
            let store = Store::open(dir.path(), &Silent).unwrap();
            let mut m = store.marks();
            // Written now: past RECENT_MAX they would spill, but the marks pin them.
            for i in 0..late * (super::super::index::RECENT_MAX / 2 + 1) {
                let id = Id::of(&(i as u64 + 1_000_000).to_le_bytes());
                store.index.write().unwrap().insert(
                    (ObjectKind::Chunk, id),
                    super::super::index::Loc {
                        pack: 0,
                        codec: crate::format::codec::Codec::Raw,
                        offset: 0,
                        stored_len: 0,
                        raw_len: 0,
                    },
                );
            }
            let mut model = HashSet::new();
            for (i, (k, n)) in marked.iter().enumerate() {
                let (kind, id) = if i % 7 == 3 && late > 0 {
                    (ObjectKind::Chunk, Id::of(&(*n as u64 + 1_000_000).to_le_bytes()))
                } else {
                    key(*k, *n)
                };
                prop_assert_eq!(store.mark(&mut m, kind, &id), model.insert((kind, id)));
            }
            prop_assert_eq!(m.len(), model.len());
            for k in 0..4 {
                for n in 0..400u16 {
                    let (kind, id) = key(k, n);
                    prop_assert_eq!(store.is_marked(&m, kind, &id), model.contains(&(kind, id)));
                }
            }
            for n in 0..400u64 {
                let id = Id::of(&(n + 1_000_000).to_le_bytes());
                prop_assert_eq!(
                    store.is_marked(&m, ObjectKind::Chunk, &id),
                    model.contains(&(ObjectKind::Chunk, id))
                );
            }
        }
    }
}
