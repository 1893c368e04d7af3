//! `gc --remote`: drop packs on a remote that nothing reachable needs,
//! without ever destroying data someone may still need.
//!
//! The rules are the local ones: an object is live if a ref, tag, reflog,
//! the stash or the work tree reaches it; a pack younger than the grace
//! period is never touched (nor is one an index younger than that lists),
//! so data another pusher has just uploaded survives even before its commit
//! reaches git. Deletion has two phases (FORMAT.md §15.6): a dead pack is
//! first *condemned* in a note beside the index files, and only a run at
//! least a grace period later deletes it, if it is still dead, still the
//! same object, and no index that run writes lists it. Pushes treat blobs
//! only condemned packs hold as absent and never reuse a condemned name, so
//! a push that starts after the condemnation cannot lose data to it, and
//! one that started before has a whole grace period to finish.
//!
//! Packs that are mostly dead are rewritten with their live blobs; the old
//! pack is condemned once the copy is indexed. The order keeps every step
//! safe to interrupt: rewritten packs, then one index listing every pack
//! not deleted now, then one condemnation note, then removal of the old
//! index files and notes, and only then deletion of the packs due.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use futures::{StreamExt, TryStreamExt};

use super::{stamp, Connection, IndexState, Listed, UPLOADS};
use crate::error::{Error, Result};
use crate::failpoint;
use crate::format::kind::ObjectKind;
use crate::format::pack::{Entry, PackBuilder};
use crate::hash::Id;
use crate::progress::Progress;
use crate::remote::index::{self, PackRecord};
use crate::remote::notes::{self, Condemned};

/// A pack is rewritten when less than this share of its bytes is live: the
/// retention rule of the cache, applied to remotes too.
pub use crate::engine::gc::REWRITE_BELOW;

/// With nothing to delete, gc still merges index files once there are more
/// than this many (each costs a download on a fresh clone).
pub const MERGE_INDEXES_OVER: usize = 32;

/// A dead pack: condemned, or due for deletion.
#[derive(Debug, Clone)]
pub struct Doomed {
    pub id: Id,
    pub size: u64,
    /// Its last-modified time (ms) as listed by this run.
    pub stamp: u64,
    /// When it was condemned (ms, by the store's clock); `None` if this
    /// run condemns it.
    pub since: Option<u64>,
    /// Its record, when an index lists it: condemned packs stay listed
    /// until deleted, since fetchers may still read them.
    pub record: Option<PackRecord>,
}

impl Doomed {
    fn entry(&self) -> Condemned {
        Condemned {
            pack: self.id,
            stamp: self.stamp,
            since: self.since,
        }
    }
}

/// What remote garbage collection will do.
#[derive(Debug, Default)]
pub struct RemotePlan {
    /// Indexed packs that stay as they are, not condemned.
    pub keep: Vec<PackRecord>,
    /// Mostly-dead packs and the live blobs to carry over; the old packs
    /// are condemned once the copies are indexed.
    pub rewrite: Vec<(PackRecord, Vec<Entry>)>,
    /// Dead packs condemned (by an earlier run or this one) and not due
    /// yet, the old packs of `rewrite` included.
    pub condemn: Vec<Doomed>,
    /// Condemned packs due now: dead, condemned at least a grace period
    /// ago, and unchanged since.
    pub delete: Vec<Doomed>,
    /// Packs of `condemn` that this run condemns.
    pub fresh: usize,
    /// Condemned packs that are live again (kept, no longer condemned).
    pub uncondemned: usize,
    /// Whether the set of condemned packs differs from the notes read.
    pub condemnations_changed: bool,
    /// Packs kept because they are younger than the grace period.
    pub young: usize,
    /// The index files read; replaced by one that lists the kept packs.
    pub old_indexes: Vec<String>,
    /// The damage notes read; replaced by one about the kept packs only.
    pub old_notes: Vec<String>,
    /// The condemnation notes read; replaced by one.
    pub old_condemned: Vec<String>,
    /// Noted damage that concerns packs that stay.
    pub damage_left: Vec<notes::Note>,
    /// Indexed packs that are gone; the new index drops them, so their
    /// blobs count as absent and the next push sends them again.
    pub lost: usize,
}

/// What carrying out a plan did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Collected {
    pub deleted: usize,
    pub deleted_bytes: u64,
    /// Due packs left alone because they changed since they were listed.
    pub spared: usize,
}

impl RemotePlan {
    /// Bytes the packs due now hold.
    pub fn due_bytes(&self) -> u64 {
        self.delete.iter().map(|d| d.size).sum()
    }

    /// Bytes the condemned (not yet due) packs hold.
    pub fn condemned_bytes(&self) -> u64 {
        self.condemn.iter().map(|d| d.size).sum()
    }

    pub fn kept_bytes(&self) -> u64 {
        self.keep.iter().map(|p| p.len).sum()
    }

    pub fn copied_bytes(&self) -> u64 {
        self.rewrite
            .iter()
            .flat_map(|(_, live)| live.iter().map(|e| e.stored_len as u64))
            .sum()
    }

    /// Whether running it would change anything.
    pub fn is_noop(&self) -> bool {
        self.delete.is_empty()
            && self.rewrite.is_empty()
            && !self.condemnations_changed
            && self.lost == 0
            // Merging index files alone is worth a write only when there
            // are many of them.
            && self.old_indexes.len() <= MERGE_INDEXES_OVER
            && (self.old_notes.is_empty()
                || (self.old_notes.len() == 1 && !self.damage_left.is_empty()))
    }
}

/// Decide what to do, given the live objects and the remote's listing.
pub fn plan(
    state: &IndexState,
    packs: &[Listed],
    live: &HashSet<(ObjectKind, Id)>,
    grace: Duration,
    now: SystemTime,
) -> Result<RemotePlan> {
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
    let keep_whole =
        |plan: &mut RemotePlan, staying: &mut HashSet<(ObjectKind, Id)>, p: &PackRecord| {
            staying.extend(
                p.entries
                    .iter()
                    .filter(|e| good(p, e))
                    .map(|e| (e.kind, e.id)),
            );
            if prior.contains_key(&p.id) {
                plan.uncondemned += 1;
            }
            plan.keep.push(p.clone());
        };
    let mut records: Vec<&PackRecord> = state.index.packs.values().collect();
    // Damaged packs last, so their blobs' good copies are known by then.
    records.sort_by_key(|p| (damaged_pack(&p.id), p.id));
    let mut staying: HashSet<(ObjectKind, Id)> = HashSet::new();
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
    let live_bytes = |p: &PackRecord| -> u64 {
        p.entries
            .iter()
            .filter(|e| live.contains(&(e.kind, e.id)))
            .map(|e| e.stored_len as u64)
            .sum()
    };
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
        let total: u64 = p.entries.iter().map(|e| e.stored_len as u64).sum();
        let useful: u64 = if was_condemned {
            p.entries
                .iter()
                .filter(|e| live.contains(&(e.kind, e.id)) && !staying.contains(&(e.kind, e.id)))
                .map(|e| e.stored_len as u64)
                .sum()
        } else {
            live_bytes(p)
        };
        if !damaged_pack(&p.id) && total > 0 && useful as f64 >= REWRITE_BELOW * total as f64 {
            keep_whole(&mut plan, &mut staying, p);
        } else {
            rest.push(p);
        }
    }
    for p in rest {
        let needed: Vec<Entry> = p
            .entries
            .iter()
            .filter(|e| live.contains(&(e.kind, e.id)) && !staying.contains(&(e.kind, e.id)))
            .copied()
            .collect();
        if needed.iter().any(|e| !good(p, e)) {
            // Never turn a damaged object into a missing one.
            keep_whole(&mut plan, &mut staying, p);
            continue;
        }
        staying.extend(needed.iter().map(|e| (e.kind, e.id)));
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
            plan.rewrite.push((p.clone(), needed));
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

/// Carry out a plan.
pub fn execute(conn: &Connection, plan: &RemotePlan, progress: &dyn Progress) -> Result<Collected> {
    if plan.is_noop() {
        return Ok(Collected::default());
    }
    progress.begin(
        "collecting",
        Some(plan.rewrite.iter().map(|(p, _)| p.len).sum()),
    );
    // 1. Carry live blobs out of mostly-dead packs, verified.
    let rewritten: Vec<PackRecord> = conn.rt.block_on(async {
        futures::stream::iter(&plan.rewrite)
            .map(|(old, live)| async move {
                let rel = index::pack_path(&old.id);
                let bytes = conn.get_async(&rel).await?;
                let mut b = PackBuilder::default();
                for e in live {
                    let start = e.offset as usize;
                    let stored = bytes
                        .get(start..start.saturating_add(e.stored_len as usize))
                        .ok_or_else(|| Error::RemoteCorrupt {
                            remote: conn.remote.name.clone(),
                            object: rel.clone(),
                            reason: "shorter than its index says".into(),
                        })?;
                    check(conn, old.id, e, stored)?;
                    b.add(e.kind, e.id, e.codec, stored, e.raw_len);
                }
                let (id, data, entries) = b.finish();
                let record = PackRecord {
                    id,
                    len: data.len() as u64,
                    entries,
                };
                conn.put_async(&index::pack_path(&id), data).await?;
                failpoint::hit("gc_remote.rewrite_uploaded");
                progress.advance(old.len);
                Ok::<_, Error>(record)
            })
            .buffer_unordered(UPLOADS)
            .try_collect()
            .await
    })?;
    progress.end();
    let new_paths: Vec<String> = rewritten.iter().map(|r| index::pack_path(&r.id)).collect();
    conn.sync_folder(&new_paths)?;
    // A copy may carry the name of a pack condemned earlier (an interrupted
    // run uploaded it, unindexed): it has just been written again and is
    // live, so it is no longer condemned.
    let fresh_ids: HashSet<Id> = rewritten.iter().map(|r| r.id).collect();
    let pending: Vec<&Doomed> = plan
        .condemn
        .iter()
        .filter(|d| !fresh_ids.contains(&d.id))
        .collect();
    // 2. One index for every pack not deleted now.
    let mut records: Vec<PackRecord> = plan.keep.clone();
    records.extend(pending.iter().filter_map(|d| d.record.clone()));
    records.extend(rewritten);
    records.sort_by_key(|r| r.id);
    records.dedup_by_key(|r| r.id);
    let new_index = conn.write_index(&records)?;
    failpoint::hit("gc_remote.index_written");
    let new_note = if plan.damage_left.is_empty() {
        None
    } else {
        Some(conn.write_damage(&plan.damage_left)?)
    };
    // 3. One condemnation note for the pending packs. Those due now are
    // left out: interrupted before deleting them, the next run finds them
    // unlisted and condemns them again (later, never sooner).
    let entries: Vec<Condemned> = pending.iter().map(|d| d.entry()).collect();
    let new_condemned = if entries.is_empty() {
        None
    } else {
        let rel = conn.write_condemned(&entries)?;
        failpoint::hit("gc_remote.condemned_written");
        Some(rel)
    };
    // 4. Drop the files read, except any just written again.
    let written = [Some(&new_index), new_note.as_ref(), new_condemned.as_ref()];
    let old: Vec<&String> = plan
        .old_indexes
        .iter()
        .chain(&plan.old_notes)
        .chain(&plan.old_condemned)
        .filter(|p| !written.contains(&Some(*p)))
        .collect();
    if !old.is_empty() {
        conn.rt.block_on(async {
            // In order, so packs are never unlisted while still indexed.
            for p in &old {
                conn.delete_async(p).await?;
            }
            Ok::<_, Error>(())
        })?;
        failpoint::hit("gc_remote.notes_deleted");
    }
    // 5. Delete the packs due, if each is still the object condemned.
    let mut done = Collected::default();
    if !plan.delete.is_empty() {
        let now: HashMap<Id, u64> = conn
            .list(index::PACK_DIR)?
            .into_iter()
            .filter_map(|l| index::pack_id_of(&l.path).map(|id| (id, stamp(l.modified))))
            .collect();
        let listed_now: HashSet<Id> = records.iter().map(|r| r.id).collect();
        let mut due = Vec::new();
        for d in &plan.delete {
            if fresh_ids.contains(&d.id) {
                // Rebuilt by this run under the same name: live again.
                done.spared += 1;
                continue;
            }
            if listed_now.contains(&d.id) {
                // The hard invariant: a pack the new index lists stays.
                return Err(Error::GcRefused {
                    reason: crate::error::GcRefusal::DueButIndexed,
                });
            }
            if now.get(&d.id) == Some(&d.stamp) {
                due.push(d);
            } else {
                done.spared += 1;
            }
        }
        conn.rt.block_on(async {
            futures::stream::iter(&due)
                .map(|d| async move {
                    conn.delete_async(&index::pack_path(&d.id)).await?;
                    failpoint::hit("gc_remote.pack_deleted");
                    Ok::<_, Error>(())
                })
                .buffer_unordered(UPLOADS)
                .try_collect::<Vec<()>>()
                .await
        })?;
        done.deleted = due.len();
        done.deleted_bytes = due.iter().map(|d| d.size).sum();
    }
    conn.publish_listing()?;
    Ok(done)
}

fn check(conn: &Connection, pack: Id, e: &Entry, stored: &[u8]) -> Result<()> {
    crate::store::check_encoded(e.kind, &e.id, e.codec, stored, e.raw_len).map_err(|cause| {
        Error::RemoteBlobCorrupt {
            remote: conn.remote.name.clone(),
            pack,
            kind: e.kind,
            id: e.id,
            cause: Box::new(cause),
        }
    })
}

#[cfg(test)]
#[path = "collect_tests.rs"]
mod tests;
