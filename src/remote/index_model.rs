//! The compact [`RemoteIndex`] against the map it replaced: property
//! tests that it answers every question as the map would, with the same
//! choice among duplicate copies, condemned packs and damaged copies.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;

use super::*;
use crate::format::codec::Codec;

/// The index as it was before the sorted slots: a hash map from each
/// blob to its preferred copy, decided as records arrive. The compact
/// index must answer exactly as it does, with one deliberate difference
/// (in `forget`): when a partial record learnt from locators is replaced
/// by the whole one, the blobs it held go back to their first good copy
/// in other packs before the whole record is added. The old map left
/// them to the new record, or lost them if that lacked them; and a pack
/// listing one blob twice made it panic (fixed here too, in `insert`).
#[derive(Default)]
struct MapModel {
    packs: HashMap<Id, PackRecord>,
    order: Vec<Id>,
    blobs: HashMap<(ObjectKind, Id), (u32, u32)>,
    footers: HashMap<Id, u32>,
    damaged: HashSet<(Id, Option<(ObjectKind, Id)>)>,
    condemned: HashSet<Id>,
}

impl MapModel {
    fn add(&mut self, records: Vec<PackRecord>) {
        for p in records {
            if self.packs.contains_key(&p.id) {
                if self.footers.remove(&p.id).is_none() {
                    continue;
                }
                self.forget(&p.id);
            }
            self.insert(p);
        }
    }

    fn add_located(&mut self, id: Id, len: u64, footer_entries: u32, entries: &[Entry]) {
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

    fn insert(&mut self, p: PackRecord) {
        let number = self.order.len() as u32;
        let whole_bad = self.damaged.contains(&(p.id, None));
        let safe = !self.condemned.contains(&p.id);
        for (n, e) in p.entries.iter().enumerate() {
            if whole_bad || self.damaged.contains(&(p.id, Some((e.kind, e.id)))) {
                continue;
            }
            match self.blobs.entry((e.kind, e.id)) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert((number, n as u32));
                }
                std::collections::hash_map::Entry::Occupied(mut o) => {
                    // (The old map indexed `order` here before this
                    // pack was in it: a pack listing a blob twice
                    // panicked.)
                    let held = self.order.get(o.get().0 as usize).unwrap_or(&p.id);
                    if safe && self.condemned.contains(held) {
                        o.insert((number, n as u32));
                    }
                }
            }
        }
        self.order.push(p.id);
        self.packs.insert(p.id, p);
    }

    fn forget(&mut self, id: &Id) {
        let Some(p) = self.packs.remove(id) else {
            return;
        };
        // Each blob this pack held goes back to its first good copy
        // elsewhere, as if it had been recorded without this pack.
        for e in &p.entries {
            if let Some(slot) = self.blobs.get(&(e.kind, e.id)) {
                if self.order[slot.0 as usize] == *id {
                    self.blobs.remove(&(e.kind, e.id));
                }
            }
        }
        let held: Vec<(ObjectKind, Id)> = p.entries.iter().map(|e| (e.kind, e.id)).collect();
        // A pack recorded again (a partial record replaced by the whole
        // one) arrived at its latest place in `order`; its earlier places
        // are stale and must not rank it ahead of packs that came between.
        let latest: HashMap<Id, usize> = self
            .order
            .iter()
            .enumerate()
            .map(|(n, p)| (*p, n))
            .collect();
        for (number, pid) in self.order.clone().iter().enumerate() {
            if latest.get(pid) != Some(&number) {
                continue;
            }
            let Some(other) = self.packs.get(pid) else {
                continue;
            };
            if self.damaged.contains(&(*pid, None)) {
                continue;
            }
            let safe = !self.condemned.contains(pid);
            for (n, e) in other.entries.iter().enumerate() {
                let key = (e.kind, e.id);
                if !held.contains(&key) || self.damaged.contains(&(*pid, Some(key))) {
                    continue;
                }
                match self.blobs.get(&key) {
                    None => {
                        self.blobs.insert(key, (number as u32, n as u32));
                    }
                    Some(s) if safe && self.condemned.contains(&self.order[s.0 as usize]) => {
                        self.blobs.insert(key, (number as u32, n as u32));
                    }
                    Some(_) => {}
                }
            }
        }
    }

    fn get(&self, kind: ObjectKind, id: &Id) -> Option<(Id, Entry)> {
        let (pack, entry) = *self.blobs.get(&(kind, *id))?;
        let pid = self.order[pack as usize];
        Some((pid, self.packs[&pid].entries[entry as usize]))
    }

    fn keeps(&self, kind: ObjectKind, id: &Id) -> bool {
        self.blobs
            .get(&(kind, *id))
            .is_some_and(|s| !self.condemned.contains(&self.order[s.0 as usize]))
    }
}

/// A pack of entries drawn from a small set of blobs, so packs share
/// blobs (and a pack may list one twice).
fn pack_of(keys: &[(u8, u8)], salt: u8) -> PackRecord {
    let mut entries = Vec::new();
    let mut off = HEADER_LEN;
    for (k, n) in keys {
        entries.push(Entry {
            id: Id::of(&[*n]),
            kind: ObjectKind::from_u8(k % 2 + 1).unwrap(),
            codec: Codec::Raw,
            offset: off,
            stored_len: 10 + u32::from(salt),
            raw_len: 10 + u32::from(salt),
        });
        off += 10 + u64::from(salt);
    }
    let len = off + (keys.len() * ENTRY_LEN + TRAILER_LEN) as u64;
    PackRecord {
        id: pack::pack_id(&entries),
        len,
        entries,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Add(Vec<usize>),
    Located(usize, Vec<usize>),
}

proptest::proptest! {
    /// Against the map the index used to be: whole records (several
    /// holding the same blob), partial ones from locators merged and
    /// then replaced by whole ones, condemned packs and damaged copies.
    #[test]
    fn the_compact_index_answers_like_the_map(
        packs in proptest::collection::vec(
            proptest::collection::vec((0u8..2, 0u8..12), 0..8), 1..6),
        ops in proptest::collection::vec(proptest::prop_oneof![
            (proptest::collection::vec(0usize..6, 0..4)).prop_map(Op::Add),
            (0usize..6, proptest::collection::vec(0usize..8, 0..4))
                .prop_map(|(p, e)| Op::Located(p, e)),
        ], 0..12),
        condemned in proptest::collection::vec(0usize..6, 0..3),
        damaged in proptest::collection::vec((0usize..6, proptest::option::of(0usize..8)), 0..3),
    ) {
        let records: Vec<PackRecord> = packs
            .iter()
            .enumerate()
            .map(|(i, keys)| pack_of(keys, i as u8))
            .collect();
        let pick = |i: usize| &records[i % records.len()];
        let mut idx = RemoteIndex::default();
        let mut model = MapModel::default();
        for c in &condemned {
            idx.condemned.insert(pick(*c).id);
            model.condemned.insert(pick(*c).id);
        }
        for (p, e) in &damaged {
            let r = pick(*p);
            let blob = e.and_then(|e| r.entries.get(e)).map(|e| (e.kind, e.id));
            idx.damaged.insert((r.id, blob));
            model.damaged.insert((r.id, blob));
        }
        for op in &ops {
            match op {
                Op::Add(which) => {
                    let list: Vec<PackRecord> = which.iter().map(|i| pick(*i).clone()).collect();
                    idx.add(list.clone());
                    model.add(list);
                }
                &Op::Located(p, ref which) => {
                    let r = pick(p);
                    let es: Vec<Entry> = which.iter().filter_map(|i| r.entries.get(*i)).copied().collect();
                    idx.add_located(r.id, r.len, r.entries.len() as u32, &es);
                    model.add_located(r.id, r.len, r.entries.len() as u32, &es);
                }
            }
            for k in 0..2u8 {
                for n in 0..12u8 {
                    let kind = ObjectKind::from_u8(k + 1).unwrap();
                    let id = Id::of(&[n]);
                    prop_assert_eq!(idx.get(kind, &id), model.get(kind, &id));
                    prop_assert_eq!(idx.contains(kind, &id), model.blobs.contains_key(&(kind, id)));
                    prop_assert_eq!(idx.keeps(kind, &id), model.keeps(kind, &id));
                }
            }
            prop_assert_eq!(idx.blob_count(), model.blobs.len());
            prop_assert_eq!(idx.packs.len(), model.packs.len());
            for r in &records {
                prop_assert_eq!(idx.footer_entries(&r.id), model.footers.get(&r.id).copied().or_else(|| model.packs.get(&r.id).map(|p| p.entries.len() as u32)));
                prop_assert_eq!(idx.packs.get(&r.id), model.packs.get(&r.id));
            }
        }
    }
}
