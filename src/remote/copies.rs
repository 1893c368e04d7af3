//! The compact tables behind [`super::index::RemoteIndex`]: the pack
//! records by id, and every good copy of every blob as a 12-byte slot
//! (pack number, entry number and the first four bytes of the id), sorted
//! by blob and binary-searched.
//!
//! A push or gc that reads a whole remote holds one slot per remote blob.
//! As a hash map from (kind, id) to a slot that was 44 bytes per bucket, and
//! at a million blobs the map had two million buckets; the sorted slots are
//! 12 bytes per copy, and the ids are read from the pack records, which are
//! held anyway. Sorting and merging compare the inline id prefix first, so
//! they rarely reach into the records.
//!
//! It guarantees that the copies of one blob are found together and in the
//! order their packs were recorded (then by entry), which is the order the
//! index's preference rule walks.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::index::PackRecord;
use crate::format::kind::ObjectKind;
use crate::format::pack::Entry;
use crate::hash::Id;

/// The pack records an index knows, by id, each with a number (its place
/// in the order they were recorded). Answers as a `HashMap<Id, PackRecord>`
/// would for the calls callers make (`get`, `contains_key`, `values`, `[&id]`).
#[derive(Debug, Default)]
pub struct Packs {
    numbers: HashMap<Id, u32>,
    /// By number; `None` for a number whose record was replaced (it was
    /// recorded again under a new number).
    records: Vec<Option<PackRecord>>,
}

impl Packs {
    pub fn get(&self, id: &Id) -> Option<&PackRecord> {
        let n = *self.numbers.get(id)?;
        self.by_number(n)
    }

    pub fn contains_key(&self, id: &Id) -> bool {
        self.numbers.contains_key(id)
    }

    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    /// Every record, in the order they were recorded.
    pub fn values(&self) -> impl Iterator<Item = &PackRecord> {
        self.records.iter().flatten()
    }

    pub fn keys(&self) -> impl Iterator<Item = &Id> {
        self.values().map(|p| &p.id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Id, &PackRecord)> {
        self.values().map(|p| (&p.id, p))
    }

    pub(super) fn by_number(&self, n: u32) -> Option<&PackRecord> {
        self.records.get(n as usize)?.as_ref()
    }

    /// Record `p` under a new number (replacing any record of its id).
    pub(super) fn insert(&mut self, p: PackRecord) -> u32 {
        let n = self.records.len() as u32;
        if let Some(old) = self.numbers.insert(p.id, n) {
            self.records[old as usize] = None;
        }
        self.records.push(Some(p));
        n
    }

    /// Forget pack `id`; returns its number.
    pub(super) fn remove(&mut self, id: &Id) -> Option<(u32, PackRecord)> {
        let n = self.numbers.remove(id)?;
        let p = self.records.get_mut(n as usize)?.take()?;
        Some((n, p))
    }

    fn entry(&self, s: Slot) -> Option<&Entry> {
        self.by_number(s.pack)?.entries.get(s.entry as usize)
    }
}

impl std::ops::Index<&Id> for Packs {
    type Output = PackRecord;

    /// Panics if the pack is unknown, as a map's index does.
    fn index(&self, id: &Id) -> &PackRecord {
        match self.get(id) {
            Some(p) => p,
            None => panic!("no pack {id:?} in the index"),
        }
    }
}

/// One good copy of a blob: entry `entry` of pack number `pack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Slot {
    prefix: u32,
    pub pack: u32,
    pub entry: u32,
}

fn prefix(id: &Id) -> u32 {
    let b = id.as_bytes();
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Every good copy, sorted by (id, kind), then pack number, then entry.
#[derive(Debug, Default)]
pub(super) struct Copies {
    slots: Vec<Slot>,
}

impl Copies {
    /// How many copies there are (positions for a mark set).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Add the entries of the packs numbered `numbers` that `good` accepts.
    pub fn add(&mut self, packs: &Packs, numbers: &[u32], good: impl Fn(u32, &Entry) -> bool) {
        let mut new = Vec::new();
        for &n in numbers {
            let Some(p) = packs.by_number(n) else {
                continue;
            };
            new.extend(
                p.entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| good(n, e))
                    .map(|(i, e)| Slot {
                        prefix: prefix(&e.id),
                        pack: n,
                        entry: i as u32,
                    }),
            );
        }
        new.sort_unstable_by(|a, b| compare(packs, a, b));
        merge_into(packs, &mut self.slots, new);
    }

    /// Drop every copy in pack number `n`.
    pub fn drop_pack(&mut self, n: u32) {
        self.slots.retain(|s| s.pack != n);
    }

    /// The copies of `(kind, id)`, in preference order, and the position
    /// of the first.
    pub fn find(&self, packs: &Packs, kind: ObjectKind, id: &Id) -> (usize, &[Slot]) {
        let want = (prefix(id), id, kind.to_u8());
        let at = self
            .slots
            .partition_point(|s| key(packs, s).is_some_and(|k| k < want));
        let n = self.slots[at..]
            .iter()
            .take_while(|s| key(packs, s) == Some(want))
            .count();
        (at, &self.slots[at..at + n])
    }

    /// How many distinct blobs have a copy.
    pub fn distinct(&self, packs: &Packs) -> usize {
        let mut n = 0;
        let mut last = None;
        for s in &self.slots {
            let k = key(packs, s);
            if k != last {
                n += 1;
                last = k;
            }
        }
        n
    }
}

/// The sort key of a slot. Every slot names a recorded entry (slots of a
/// replaced record are dropped with it); `None` only if one did not.
fn key<'a>(packs: &'a Packs, s: &Slot) -> Option<(u32, &'a Id, u8)> {
    let e = packs.entry(*s)?;
    Some((s.prefix, &e.id, e.kind.to_u8()))
}

fn compare(packs: &Packs, a: &Slot, b: &Slot) -> Ordering {
    a.prefix
        .cmp(&b.prefix)
        .then_with(|| key(packs, a).cmp(&key(packs, b)))
        .then((a.pack, a.entry).cmp(&(b.pack, b.entry)))
}

/// Merge sorted `new` into sorted `old` in place, from the back (no second
/// copy of `old`).
fn merge_into(packs: &Packs, old: &mut Vec<Slot>, new: Vec<Slot>) {
    if old.is_empty() {
        // The first batch (often the only one): taken as it is, not copied.
        *old = new;
        return;
    }
    let (na, nb) = (old.len(), new.len());
    let Some(&filler) = new.first() else {
        return;
    };
    old.reserve_exact(nb);
    old.resize(na + nb, filler);
    let (mut i, mut j, mut k) = (na, nb, na + nb);
    while j > 0 {
        k -= 1;
        if i > 0 && compare(packs, &old[i - 1], &new[j - 1]) == Ordering::Greater {
            old[k] = old[i - 1];
            i -= 1;
        } else {
            old[k] = new[j - 1];
            j -= 1;
        }
    }
}
