//! `gc --remote`: drop packs on a remote that nothing reachable needs.
//!
//! The rules are the local ones: an object is live if a ref, tag, reflog,
//! the stash or the work tree reaches it; a pack younger than the grace
//! period is never touched (nor is one an index younger than that lists),
//! so data another pusher has just uploaded survives even before its commit
//! reaches git. Packs that are mostly dead are rewritten with their live
//! blobs. The order keeps every step safe to interrupt: new packs, then one
//! index listing every kept pack, then removal of the old index files, and
//! only then deletion of packs.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use futures::{StreamExt, TryStreamExt};

use super::{Connection, IndexState, Listed, UPLOADS};
use crate::error::{Error, ObjectKind, Result};
use crate::hash::Id;
use crate::pack::{Entry, PackBuilder};
use crate::progress::Progress;
use crate::remote::index::{self, PackRecord};

/// Rewrite a pack when less than this share of its bytes is live.
pub const REWRITE_BELOW: f64 = 0.5;

/// With nothing to delete, gc still merges index files once there are more
/// than this many (each costs a download on a fresh clone).
pub const MERGE_INDEXES_OVER: usize = 32;

/// What remote garbage collection will do.
#[derive(Debug, Default)]
pub struct RemotePlan {
    /// Indexed packs that stay as they are.
    pub keep: Vec<PackRecord>,
    /// Indexed packs with nothing live.
    pub delete: Vec<PackRecord>,
    /// Mostly-dead packs and the live blobs to carry over.
    pub rewrite: Vec<(PackRecord, Vec<Entry>)>,
    /// Packs no index lists, older than the grace period (left by pushes
    /// that were interrupted long ago).
    pub orphans: Vec<Listed>,
    /// Packs kept because they are younger than the grace period.
    pub young: usize,
    /// The index files read; replaced by one that lists the kept packs.
    pub old_indexes: Vec<String>,
    /// The damage notes read; replaced by one about the kept packs only.
    pub old_notes: Vec<String>,
    /// Noted damage that concerns packs that stay.
    pub damage_left: Vec<index::Note>,
    /// Indexed packs that are gone; the new index drops them, so their
    /// blobs count as absent and the next push sends them again.
    pub lost: usize,
}

impl RemotePlan {
    pub fn freed_bytes(&self) -> u64 {
        let dead: u64 = self.delete.iter().map(|p| p.len).sum::<u64>()
            + self.orphans.iter().map(|o| o.size).sum::<u64>()
            + self.rewrite.iter().map(|(p, _)| p.len).sum::<u64>();
        dead.saturating_sub(self.copied_bytes())
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
            && self.orphans.is_empty()
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
        ..RemotePlan::default()
    };
    let damaged_pack = |id: &Id| state.index.damaged.iter().any(|(p, _)| p == id);
    // Packs listed by a young index are young too: their pusher may still
    // be on its way to committing.
    let mut protected: HashSet<Id> = HashSet::new();
    for f in state.files.iter().filter(|f| young(f.modified)) {
        if let Some(ids) = state.packs_of.get(&f.path) {
            protected.extend(ids.iter().copied());
        }
    }
    let listed: std::collections::HashMap<Id, &Listed> = packs
        .iter()
        .filter_map(|l| index::pack_id_of(&l.path).map(|id| (id, l)))
        .collect();
    for (id, l) in &listed {
        if young(l.modified) {
            protected.insert(*id);
        }
    }
    for l in listed.values() {
        let id = index::pack_id_of(&l.path).expect("filtered above");
        if !state.index.packs.contains_key(&id) {
            if protected.contains(&id) {
                plan.young += 1;
            } else {
                plan.orphans.push((*l).clone());
            }
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
    let mut rest = Vec::new();
    for p in candidates {
        let total: u64 = p.entries.iter().map(|e| e.stored_len as u64).sum();
        if !damaged_pack(&p.id) && total > 0 && live_bytes(p) as f64 >= REWRITE_BELOW * total as f64
        {
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
        if needed.is_empty() {
            plan.delete.push(p.clone());
        } else {
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
    Ok(plan)
}

/// Carry out a plan. Returns the number of requests that changed the remote.
pub fn execute(conn: &Connection, plan: &RemotePlan, progress: &dyn Progress) -> Result<()> {
    if plan.is_noop() {
        return Ok(());
    }
    progress.begin(
        "collecting",
        Some(plan.rewrite.iter().map(|(p, _)| p.len).sum()),
    );
    // 1. Carry live blobs out of mostly-dead packs, verified.
    let mut records = plan.keep.clone();
    let rewritten: Vec<PackRecord> = conn.rt.block_on(async {
        futures::stream::iter(&plan.rewrite)
            .map(|(old, live)| async move {
                let rel = index::pack_path(&old.id);
                let bytes = conn.get_async(&rel).await?;
                let mut b = PackBuilder::default();
                for e in live {
                    let start = e.offset as usize;
                    let stored =
                        bytes
                            .get(start..start + e.stored_len as usize)
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
    records.extend(rewritten);
    records.sort_by_key(|r| r.id);
    // 2. One index for everything kept, then 3. drop the old ones.
    let new_index = conn.write_index(&records)?;
    let new_note = if plan.damage_left.is_empty() {
        None
    } else {
        Some(conn.write_damage(&plan.damage_left)?)
    };
    let mut doomed: Vec<String> = plan
        .old_indexes
        .iter()
        .chain(&plan.old_notes)
        .filter(|p| **p != new_index && Some(*p) != new_note.as_ref())
        .cloned()
        .collect();
    let indexes = doomed.len();
    // 4. Only now delete packs: nothing lists them any more.
    doomed.extend(plan.delete.iter().map(|p| index::pack_path(&p.id)));
    doomed.extend(plan.rewrite.iter().map(|(p, _)| index::pack_path(&p.id)));
    doomed.extend(plan.orphans.iter().map(|o| o.path.clone()));
    conn.rt.block_on(async {
        // Index files first, in order, so packs are never unlisted-but-indexed.
        for p in &doomed[..indexes] {
            conn.delete_async(p).await?;
        }
        futures::stream::iter(&doomed[indexes..])
            .map(|p| conn.delete_async(p))
            .buffer_unordered(UPLOADS)
            .try_collect::<Vec<()>>()
            .await
            .map(|_| ())
    })?;
    conn.publish_listing()
}

fn check(conn: &Connection, pack: Id, e: &Entry, stored: &[u8]) -> Result<()> {
    crate::store::check_encoded(e.kind, &e.id, e.codec, stored, e.raw_len).map_err(|reason| {
        Error::RemoteBlobCorrupt {
            remote: conn.remote.name.clone(),
            pack,
            kind: e.kind,
            id: e.id,
            reason,
        }
    })
}
