//! Carrying out a plan of `gc --remote`, in the order that keeps every
//! step safe to interrupt.
//!
//! Live blobs are copied out of mostly-dead packs (verified, never
//! recompressed) and uploaded first; then one index lists every pack not
//! deleted now, then one condemnation note names the pending packs, then
//! the files read are removed, then locators naming packs that go are
//! rewritten or deleted, and only then are the packs due deleted,
//! each only if it is still the object that was condemned and no index
//! just written lists it.

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};

use super::{Collected, Doomed, RemotePlan};
use crate::error::{Error, Result};
use crate::failpoint;
use crate::format::pack::{Entry, PackBuilder};
use crate::hash::Id;
use crate::progress::Progress;
use crate::remote::index::{self, PackRecord, RemoteIndex};
use crate::remote::notes::Condemned;
use crate::transfer::locate;
use crate::transfer::{stamp, Connection};

/// Carry out a plan.
pub fn execute(
    conn: &Connection,
    plan: &RemotePlan,
    live: locate::LiveRoots,
    progress: &dyn Progress,
) -> Result<Collected> {
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
            .buffer_unordered(conn.jobs().uploads)
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
    let mut records: Vec<PackRecord> = plan.keep.iter().map(|p| (*p).clone()).collect();
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
    let mut done = Collected::default();
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
    // 5. Locators naming a pack that goes, or is condemned, are rewritten
    // (live roots) or deleted, before any pack is: a reader never follows
    // one to a deleted pack while gc could have said better (and one that
    // does only falls back to the index).
    let pending_ids: HashSet<Id> = pending.iter().map(|d| d.id).collect();
    let listed_now: HashSet<Id> = records.iter().map(|r| r.id).collect();
    let good: HashSet<Id> = listed_now
        .iter()
        .filter(|id| !pending_ids.contains(id))
        .copied()
        .collect();
    let mut now_index = RemoteIndex::default();
    now_index.condemned = pending_ids.clone();
    now_index.damaged = plan
        .damage_left
        .iter()
        .map(|n| (n.pack, n.blob()))
        .collect();
    // Moved, not copied: at a million blobs a copy is 56 MB more.
    now_index.add(records);
    done.locators = locate::refresh_after_gc(conn, &good, &now_index, live)?;
    // 6. Delete the packs due, if each is still the object condemned.
    if !plan.delete.is_empty() {
        let now: HashMap<Id, u64> = conn
            .list(index::PACK_DIR)?
            .into_iter()
            .filter_map(|l| index::pack_id_of(&l.path).map(|id| (id, stamp(l.modified))))
            .collect();
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
                .buffer_unordered(conn.jobs().uploads)
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
