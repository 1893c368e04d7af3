//! The plan of `gc --remote`: which packs stay, which are rewritten, which
//! are condemned and which are due for deletion.
//!
//! A pure function of the remote's listing, its index files and notes, the
//! live objects and the clock, so every rule of the module's safety story
//! (grace periods, young indexes, damaged copies never made missing) is
//! decided here and tested without a remote.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use super::{Doomed, RemotePlan};
use crate::engine::gc::{blobs_to_copy, keeps_whole};
use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::pack::Entry;
use crate::hash::Id;
use crate::remote::index::{self, BlobSet, PackRecord};
use crate::transfer::{stamp, IndexState, Listed};

/// Decide what to do, given which objects are live and the remote's
/// listing. The plan refers to the index's pack records rather than
/// copying them.
pub fn plan<'a>(
    state: &'a IndexState,
    packs: &[Listed],
    live: impl Fn(ObjectKind, &Id) -> bool,
    grace: Duration,
    now: SystemTime,
) -> Result<RemotePlan<'a>> {
    if !state.damaged.is_empty() {
        return Err(Error::GcRefused {
            reason: crate::error::GcRefusal::DamagedRemoteIndex,
        });
    }
    let young = |t: SystemTime| now.duration_since(t).map_or(true, |age| age < grace);
    let mut plan = RemotePlan {
        old_indexes: state.files.iter().map(|f| f.path.clone()).collect(),
        old_notes: state.notes.iter().map(|f| f.path.clone()).collect(),
        old_condemned: state.condemn_notes.iter().map(|f| f.path.clone()).collect(),
        ..RemotePlan::default()
    };
    let damaged_pack = |id: &Id| state.index.damaged.iter().any(|(p, _)| p == id);
    let listed: HashMap<Id, &Listed> = packs
        .iter()
        .filter_map(|l| index::pack_id_of(&l.path).map(|id| (id, l)))
        .collect();
    // A condemnation holds while its pack is the object it was written
    // about; with several notes (an interrupted run, or two gc runs at
    // once) the latest date wins, which only ever delays a deletion.
    let mut prior: HashMap<Id, u64> = HashMap::new();
    for c in &state.condemned {
        let Some(l) = listed.get(&c.pack) else {
            continue;
        };
        if stamp(l.modified) == c.stamp {
            let since = c.since.unwrap_or(u64::MAX);
            let e = prior.entry(c.pack).or_insert(since);
            *e = (*e).max(since);
        }
    }
    // Packs listed by a young index are young too: their pusher may still
    // be on its way to committing. Not condemned ones: no push lists those
    // (it never sends or adopts a condemned name), only gc's own index.
    let mut protected: HashSet<Id> = HashSet::new();
    for f in state.files.iter().filter(|f| young(f.modified)) {
        if let Some(ids) = state.packs_of.get(&f.path) {
            protected.extend(ids.iter().filter(|id| !prior.contains_key(id)).copied());
        }
    }
    for (id, l) in &listed {
        if young(l.modified) {
            protected.insert(*id);
        }
    }
    // A date from the remote may be anything: one beyond the clock's range
    // is never due.
    let due = |since: u64| -> bool {
        SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_millis(since))
            .and_then(|when| now.duration_since(when).ok())
            .is_some_and(|age| age >= grace)
    };
    // Dead packs: deleted when condemned long enough, else condemned.
    let doom = |plan: &mut RemotePlan, l: &Listed, id: Id, record: Option<PackRecord>| {
        let since = prior.get(&id).copied();
        let d = Doomed {
            id,
            size: l.size,
            stamp: stamp(l.modified),
            since,
            record,
        };
        match since {
            Some(s) if due(s) => plan.delete.push(d),
            Some(_) => plan.condemn.push(d),
            None => {
                plan.fresh += 1;
                plan.condemn.push(d)
            }
        }
    };
    let mut orphans: Vec<(&Listed, Id)> = listed
        .iter()
        .filter(|(id, _)| !state.index.packs.contains_key(id))
        .map(|(id, l)| (*l, *id))
        .collect();
    orphans.sort_by_key(|(_, id)| *id);
    for (l, id) in orphans {
        if protected.contains(&id) {
            plan.young += 1;
        } else {
            doom(&mut plan, l, id, None);
        }
    }
    let good = |p: &PackRecord, e: &Entry| {
        !state.index.damaged.contains(&(p.id, None))
            && !state.index.damaged.contains(&(p.id, Some((e.kind, e.id))))
    };
    // A pack left as it is keeps every blob it holds a good copy of.
    let keep_whole = |plan: &mut RemotePlan<'a>, staying: &mut BlobSet, p: &'a PackRecord| {
        for e in p.entries.iter().filter(|e| good(p, e)) {
            staying.insert(e.kind, &e.id);
        }
        if prior.contains_key(&p.id) {
            plan.uncondemned += 1;
        }
        plan.keep.push(p);
    };
    let mut records: Vec<&PackRecord> = state.index.packs.values().collect();
    // Damaged packs last, so their blobs' good copies are known by then.
    records.sort_by_key(|p| (damaged_pack(&p.id), p.id));
    // Blobs that staying packs keep: a bit per blob of the index.
    let mut staying = BlobSet::new(&state.index);
    let mut candidates = Vec::new();
    for p in records {
        if !listed.contains_key(&p.id) {
            plan.lost += 1;
            continue;
        }
        if protected.contains(&p.id) {
            plan.young += 1;
            keep_whole(&mut plan, &mut staying, p);
        } else {
            candidates.push(p);
        }
    }
    // Condemned packs come after the others and count only the live bytes
    // no staying pack holds: one whose live blobs were pushed again
    // elsewhere stays condemned instead of being kept as a duplicate.
    let (condemned, others): (Vec<&PackRecord>, Vec<&PackRecord>) = candidates
        .into_iter()
        .partition(|p| prior.contains_key(&p.id));
    let mut rest = Vec::new();
    for (p, was_condemned) in others
        .into_iter()
        .map(|p| (p, false))
        .chain(condemned.into_iter().map(|p| (p, true)))
    {
        let useful =
            |e: &Entry| live(e.kind, &e.id) && !(was_condemned && staying.contains(e.kind, &e.id));
        if !damaged_pack(&p.id) && keeps_whole(&p.entries, useful) {
            keep_whole(&mut plan, &mut staying, p);
        } else {
            rest.push(p);
        }
    }
    for p in rest {
        let needed = blobs_to_copy(&p.entries, &live, |k, id| staying.contains(k, id));
        if needed.iter().any(|e| !good(p, e)) {
            // Never turn a damaged object into a missing one.
            keep_whole(&mut plan, &mut staying, p);
            continue;
        }
        for e in &needed {
            staying.insert(e.kind, &e.id);
        }
        let Some(l) = listed.get(&p.id) else { continue };
        if needed.is_empty() {
            doom(&mut plan, l, p.id, Some(p.clone()));
        } else {
            // Condemned, never deleted, in the run that copies it: the
            // copies must be indexed first.
            plan.fresh += usize::from(!prior.contains_key(&p.id));
            plan.condemn.push(Doomed {
                id: p.id,
                size: l.size,
                stamp: stamp(l.modified),
                since: prior.get(&p.id).copied(),
                record: Some(p.clone()),
            });
            plan.rewrite.push((p, needed));
        }
    }
    let kept: HashSet<Id> = plan.keep.iter().map(|p| p.id).collect();
    plan.damage_left = state
        .notes_applying
        .iter()
        .filter(|n| kept.contains(&n.pack))
        .copied()
        .collect();
    let before: HashSet<(Id, u64)> = state
        .condemned
        .iter()
        .filter(|c| listed.contains_key(&c.pack))
        .map(|c| (c.pack, c.stamp))
        .collect();
    let after: HashSet<(Id, u64)> = plan.condemn.iter().map(|d| (d.id, d.stamp)).collect();
    plan.condemnations_changed = before != after
        || plan.old_condemned.len() > 1
        || (after.is_empty() && !plan.old_condemned.is_empty());
    Ok(plan)
}
