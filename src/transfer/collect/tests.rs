//! The rules of `gc --remote`'s plan: condemn first, delete a grace period
//! later only what is still dead and unchanged, un-condemn what is live.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use super::*;
use crate::format::codec::Codec;
use crate::format::kind::ObjectKind;
use crate::format::pack::{ENTRY_LEN, HEADER_LEN, TRAILER_LEN};
use crate::remote::index;
use crate::transfer::{stamp, IndexState, Listed};

const DAY: Duration = Duration::from_secs(86_400);

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn record(seed: &str, sizes: &[u32]) -> PackRecord {
    let mut entries = Vec::new();
    let mut off = HEADER_LEN;
    for (i, n) in sizes.iter().enumerate() {
        entries.push(Entry {
            id: Id::of(format!("{seed}-{i}").as_bytes()),
            kind: ObjectKind::Chunk,
            codec: Codec::Raw,
            offset: off,
            stored_len: *n,
            raw_len: *n,
        });
        off += *n as u64;
    }
    PackRecord {
        id: crate::format::pack::pack_id(&entries),
        len: off + (entries.len() * ENTRY_LEN + TRAILER_LEN) as u64,
        entries,
    }
}

fn listed(p: &PackRecord, modified: SystemTime) -> Listed {
    Listed {
        path: index::pack_path(&p.id),
        size: p.len,
        modified,
    }
}

/// A remote whose packs are all indexed by one old index file.
struct Remote {
    state: IndexState,
    packs: Vec<Listed>,
}

impl Remote {
    fn new(packs: &[(&PackRecord, SystemTime)]) -> Remote {
        let mut state = IndexState::default();
        let idx = Listed {
            path: "index/old.idx".into(),
            size: 1,
            modified: now() - 10 * DAY,
        };
        state
            .packs_of
            .insert(idx.path.clone(), packs.iter().map(|(p, _)| p.id).collect());
        state.files.push(idx);
        state
            .index
            .add(packs.iter().map(|(p, _)| (*p).clone()).collect());
        Remote {
            state,
            packs: packs.iter().map(|(p, t)| listed(p, *t)).collect(),
        }
    }

    /// Condemn `p` as listed now, `ago` before now.
    fn condemn(&mut self, p: &PackRecord, ago: Duration) {
        let l = self
            .packs
            .iter()
            .find(|l| l.path == index::pack_path(&p.id));
        self.state.condemned.push(Condemned {
            pack: p.id,
            stamp: stamp(l.map_or(now(), |l| l.modified)),
            since: Some(stamp(now() - ago)),
        });
        self.state.index.condemned.insert(p.id);
        if self.state.condemn_notes.is_empty() {
            self.state.condemn_notes.push(Listed {
                path: "index/c.cnd".into(),
                size: 1,
                modified: now() - ago,
            });
        }
    }

    fn plan(&self, live: &[&PackRecord]) -> RemotePlan<'_> {
        let live: HashSet<(ObjectKind, Id)> = live
            .iter()
            .flat_map(|p| p.entries.iter().map(|e| (e.kind, e.id)))
            .collect();
        plan(
            &self.state,
            &self.packs,
            |k, id: &Id| live.contains(&(k, *id)),
            DAY,
            now(),
        )
        .unwrap()
    }
}

fn ids(v: &[Doomed]) -> Vec<Id> {
    let mut v: Vec<Id> = v.iter().map(|d| d.id).collect();
    v.sort();
    v
}

#[test]
fn dead_packs_are_condemned_not_deleted() {
    let (live, dead) = (record("live", &[100]), record("dead", &[100]));
    let orphan = record("orphan", &[100]);
    let old = now() - 10 * DAY;
    let mut r = Remote::new(&[(&live, old), (&dead, old)]);
    r.packs.push(listed(&orphan, old));
    let plan = r.plan(&[&live]);
    assert!(plan.delete.is_empty());
    let mut want = vec![dead.id, orphan.id];
    want.sort();
    assert_eq!(ids(&plan.condemn), want);
    assert_eq!(plan.fresh, 2);
    assert!(plan.condemn.iter().all(|d| d.since.is_none()));
    // The indexed one stays listed until deleted; the orphan has no record.
    let d = plan.condemn.iter().find(|d| d.id == dead.id).unwrap();
    assert_eq!(d.record.as_ref(), Some(&dead));
    assert_eq!(plan.keep, vec![&live]);
    assert!(plan.condemnations_changed && !plan.is_noop());
}

#[test]
fn a_condemned_pack_is_deleted_only_a_grace_period_later_and_unchanged() {
    let dead = record("dead", &[100]);
    let old = now() - 10 * DAY;
    let mut r = Remote::new(&[(&dead, old)]);
    r.condemn(&dead, DAY / 2);
    let plan = r.plan(&[]);
    assert!(plan.delete.is_empty(), "deleted within the grace period");
    assert_eq!(ids(&plan.condemn), vec![dead.id]);
    assert_eq!(plan.fresh, 0);
    assert_eq!(plan.condemn[0].since, Some(stamp(now() - DAY / 2)));
    assert!(plan.is_noop(), "nothing changed, nothing to write");

    let mut r = Remote::new(&[(&dead, old)]);
    r.condemn(&dead, 2 * DAY);
    let plan = r.plan(&[]);
    assert_eq!(ids(&plan.delete), vec![dead.id]);
    assert!(plan.condemn.is_empty());

    // Re-uploaded since it was condemned: condemned afresh.
    let mut r = Remote::new(&[(&dead, old)]);
    r.condemn(&dead, 2 * DAY);
    r.packs[0].modified = old + DAY;
    let plan = r.plan(&[]);
    assert!(plan.delete.is_empty());
    assert_eq!(ids(&plan.condemn), vec![dead.id]);
    assert_eq!(plan.fresh, 1);
}

#[test]
fn a_condemned_pack_that_is_live_again_is_kept_and_uncondemned() {
    let p = record("p", &[100, 100]);
    let old = now() - 10 * DAY;
    let mut r = Remote::new(&[(&p, old)]);
    r.condemn(&p, 2 * DAY);
    let plan = r.plan(&[&p]);
    assert!(plan.delete.is_empty() && plan.condemn.is_empty());
    assert_eq!(plan.keep, vec![&p]);
    assert_eq!(plan.uncondemned, 1);
    assert!(plan.condemnations_changed);
}

#[test]
fn a_due_pack_holding_the_only_copy_of_a_live_blob_is_rewritten_not_deleted() {
    // One small live blob in a big dead pack: rewritten, and the old pack
    // stays condemned (never deleted in the run that copies it).
    let p = record("p", &[10, 1000]);
    let old = now() - 10 * DAY;
    let mut r = Remote::new(&[(&p, old)]);
    r.condemn(&p, 2 * DAY);
    let mut live = HashSet::new();
    live.insert((ObjectKind::Chunk, p.entries[0].id));
    let first = plan(
        &r.state,
        &r.packs,
        |k, id: &Id| live.contains(&(k, *id)),
        DAY,
        now(),
    )
    .unwrap();
    assert!(first.delete.is_empty());
    assert_eq!(first.rewrite.len(), 1);
    assert_eq!(first.rewrite[0].1, vec![p.entries[0]]);
    assert_eq!(ids(&first.condemn), vec![p.id]);
    assert_eq!(first.condemn[0].since, Some(stamp(now() - 2 * DAY)));
    // Once another pack holds that blob, the old one is simply dead.
    let mut copy = record("copy", &[]);
    copy.entries = vec![Entry {
        offset: HEADER_LEN,
        ..p.entries[0]
    }];
    copy.id = crate::format::pack::pack_id(&copy.entries);
    copy.len = HEADER_LEN + 10 + (ENTRY_LEN + TRAILER_LEN) as u64;
    let mut r = Remote::new(&[(&p, old), (&copy, old)]);
    r.condemn(&p, 2 * DAY);
    let second = plan(
        &r.state,
        &r.packs,
        |k, id: &Id| live.contains(&(k, *id)),
        DAY,
        now(),
    )
    .unwrap();
    assert_eq!(ids(&second.delete), vec![p.id]);
    assert_eq!(second.keep, vec![&copy]);
}

#[test]
fn young_packs_are_neither_condemned_nor_deleted() {
    let young = record("young", &[100]);
    let orphan = record("orphan", &[100]);
    let mut r = Remote::new(&[(&young, now() - DAY / 4)]);
    r.packs.push(listed(&orphan, now() - DAY / 4));
    let plan = r.plan(&[]);
    assert!(plan.condemn.is_empty() && plan.delete.is_empty());
    assert_eq!(plan.young, 2);
    assert!(plan.is_noop());
}

#[test]
fn a_young_index_protects_its_packs_but_not_condemned_ones() {
    // A push's young index protects an old pack it lists (adopted from an
    // interrupted push); gc's own young index, which lists condemned packs
    // until they go, must not un-condemn them.
    let (adopted, condemned) = (record("adopted", &[100]), record("condemned", &[100]));
    let old = now() - 10 * DAY;
    let mut r = Remote::new(&[(&adopted, old), (&condemned, old)]);
    r.state.files[0].modified = now() - DAY / 4;
    r.condemn(&condemned, 2 * DAY);
    let plan = r.plan(&[]);
    assert_eq!(plan.keep, vec![&adopted]);
    assert_eq!(ids(&plan.delete), vec![condemned.id]);
}

#[test]
fn several_notes_about_one_pack_take_the_latest_date() {
    let dead = record("dead", &[100]);
    let old = now() - 10 * DAY;
    let mut r = Remote::new(&[(&dead, old)]);
    r.condemn(&dead, 3 * DAY);
    r.condemn(&dead, DAY / 2);
    r.state.condemn_notes.push(Listed {
        path: "index/d.cnd".into(),
        size: 1,
        modified: now(),
    });
    let plan = r.plan(&[]);
    assert!(plan.delete.is_empty());
    assert_eq!(plan.condemn[0].since, Some(stamp(now() - DAY / 2)));
    // Two notes are merged into one.
    assert!(plan.condemnations_changed);
}

#[test]
fn a_damaged_index_stops_gc() {
    let mut r = Remote::new(&[]);
    r.state
        .damaged
        .push(("index/x.idx".into(), index::IndexError::Truncated));
    let live: HashSet<(ObjectKind, Id)> = HashSet::new();
    assert!(plan(
        &r.state,
        &r.packs,
        |k, id: &Id| live.contains(&(k, *id)),
        DAY,
        now()
    )
    .is_err());
}

#[test]
fn a_condemnation_dated_beyond_the_clock_is_never_due() {
    let dead = record("dead", &[100]);
    let mut r = Remote::new(&[(&dead, now() - 10 * DAY)]);
    r.condemn(&dead, Duration::ZERO);
    r.state.condemned[0].since = Some(u64::MAX);
    let plan = r.plan(&[]);
    assert!(plan.delete.is_empty());
    assert_eq!(ids(&plan.condemn), vec![dead.id]);
}

#[test]
fn a_condemned_duplicate_of_a_staying_pack_stays_condemned() {
    // The push that re-sent a condemned pack's blobs made them live again,
    // in a pack of its own: the condemned copy is still dead.
    let old_pack = record("x", &[100, 100]);
    let mut again = old_pack.clone();
    again.entries.reverse();
    let mut off = HEADER_LEN;
    for e in &mut again.entries {
        e.offset = off;
        off += e.stored_len as u64;
    }
    again.id = crate::format::pack::pack_id(&again.entries);
    let old = now() - 10 * DAY;
    let mut r = Remote::new(&[(&old_pack, old), (&again, now() - DAY / 4)]);
    r.condemn(&old_pack, 2 * DAY);
    let plan = r.plan(&[&again]);
    assert_eq!(plan.keep, vec![&again]);
    assert_eq!(ids(&plan.delete), vec![old_pack.id]);
    assert_eq!(plan.uncondemned, 0);
}
