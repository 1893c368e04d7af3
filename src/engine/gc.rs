//! Garbage collection of the local cache (`cairn gc`).
//!
//! What is kept: every object reachable from a pointer in the work tree or
//! in any commit that git itself would keep (branches, tags, remote-tracking
//! refs, every reflog entry, the stash), and everything in a pack younger
//! than the grace period, so data that a concurrent `add` just stored (and
//! no commit names yet) is never at risk. Packs with nothing live are
//! deleted; packs that are mostly dead are rewritten with only their live
//! blobs, copied verified and without recompression. New packs are durable
//! before any old one is deleted, so a crash at any point loses nothing:
//! at worst some blobs exist twice until the next run.

use std::time::{Duration, SystemTime};

use crate::error::Result;
use crate::format::kind::ObjectKind;
use crate::format::pack::Entry;
use crate::hash::Id;
use crate::store::{Marks, SealedPack, Store};

pub use crate::repo::config::parse_duration;

/// Packs with less than this fraction of live bytes are rewritten.
const REWRITE_BELOW: f64 = 0.5;

/// The retention rule, one for the cache and every remote
/// (`transfer::collect`): a pack at least half of whose stored bytes are
/// `useful` stays whole; below that, its useful blobs are copied into new
/// packs and it goes (with none useful, it simply goes). Copying a mostly
/// live pack would cost more I/O than the space it frees.
pub fn keeps_whole(entries: &[Entry], useful: impl Fn(&Entry) -> bool) -> bool {
    let total: u64 = entries.iter().map(|e| e.stored_len as u64).sum();
    let kept: u64 = entries
        .iter()
        .filter(|e| useful(e))
        .map(|e| e.stored_len as u64)
        .sum();
    total > 0 && kept as f64 >= REWRITE_BELOW * total as f64
}

/// The blobs of a pack that goes which must be copied out first: the live
/// ones no staying pack already holds.
pub fn blobs_to_copy(
    entries: &[Entry],
    live: impl Fn(ObjectKind, &Id) -> bool,
    staying: impl Fn(ObjectKind, &Id) -> bool,
) -> Vec<Entry> {
    entries
        .iter()
        .filter(|e| live(e.kind, &e.id) && !staying(e.kind, &e.id))
        .copied()
        .collect()
}

/// What a collection will do.
#[derive(Debug, Default)]
pub struct Plan {
    /// Packs with nothing live: deleted.
    pub delete: Vec<SealedPack>,
    /// Mostly dead packs: their live blobs are copied, then they are deleted.
    pub rewrite: Vec<(SealedPack, Vec<Entry>)>,
    /// Packs kept as they are because they are younger than the grace period.
    pub young: usize,
    /// Packs kept as they are because they are mostly live.
    pub kept: usize,
}

impl Plan {
    /// Bytes of pack files that go away.
    pub fn removed_bytes(&self) -> u64 {
        self.delete.iter().map(|p| p.len).sum::<u64>()
            + self.rewrite.iter().map(|(p, _)| p.len).sum::<u64>()
    }

    /// Bytes of live blobs copied into new packs.
    pub fn copied_bytes(&self) -> u64 {
        self.rewrite
            .iter()
            .flat_map(|(_, live)| live.iter())
            .map(|e| e.stored_len as u64)
            .sum()
    }

    /// Blobs dropped for good.
    pub fn dropped_objects(&self) -> usize {
        let deleted: usize = self.delete.iter().map(|p| p.entries.len()).sum();
        let rewritten: usize = self
            .rewrite
            .iter()
            .map(|(p, live)| p.entries.len() - live.len())
            .sum();
        deleted + rewritten
    }
}

/// Decide what to delete and rewrite, given which objects are live (a
/// marking walk's [`crate::engine::reach::Reach::reached`]).
pub fn plan(
    store: &Store,
    live: impl Fn(ObjectKind, &Id) -> bool,
    grace: Duration,
    now: SystemTime,
) -> Plan {
    let mut packs = store.sealed_packs();
    // Oldest first, so that of two copies of a blob the newer pack keeps it.
    packs.sort_by_key(|p| p.modified);
    let is_young = |p: &SealedPack| {
        now.duration_since(p.modified)
            .map_or(true, |age| age < grace)
    };
    let mut plan = Plan::default();
    // Objects that stay where they are, in packs that are not touched: a
    // bit per indexed blob, as the live marks are.
    let mut staying = store.marks();
    // A damaged copy never counts as the copy that keeps a blob.
    let good = |p: &SealedPack, e: &Entry| !store.is_damaged_copy(&p.path, e.kind, &e.id);
    // A pack left as it is keeps every blob it holds a good copy of.
    let keep_whole = |staying: &mut Marks, p: &SealedPack| {
        for e in p.entries.iter().filter(|e| good(p, e)) {
            store.mark(staying, e.kind, &e.id);
        }
    };
    let mut candidates = Vec::new();
    for p in packs {
        if is_young(&p) {
            plan.young += 1;
            keep_whole(&mut staying, &p);
        } else {
            candidates.push(p);
        }
    }
    // Decide mostly-live packs first: they stay, and their blobs need no copy.
    let mut rest = Vec::new();
    for p in candidates {
        if keeps_whole(&p.entries, |e| live(e.kind, &e.id)) {
            plan.kept += 1;
            keep_whole(&mut staying, &p);
        } else {
            rest.push(p);
        }
    }
    for p in rest {
        let needed = blobs_to_copy(&p.entries, &live, |k, id| store.is_marked(&staying, k, id));
        // A live blob whose copy here is damaged cannot be copied; the pack
        // stays whole until the damage is repaired, rather than turning a
        // damaged object into a missing one.
        if needed.iter().any(|e| !good(&p, e)) {
            plan.kept += 1;
            keep_whole(&mut staying, &p);
            continue;
        }
        for e in &needed {
            store.mark(&mut staying, e.kind, &e.id);
        }
        if needed.is_empty() {
            plan.delete.push(p);
        } else {
            plan.rewrite.push((p, needed));
        }
    }
    plan
}

/// Carry out a plan: copy, make durable, then delete. Returns bytes copied.
pub fn execute(store: &Store, plan: &Plan) -> Result<u64> {
    let blobs: Vec<_> = plan
        .rewrite
        .iter()
        .flat_map(|(p, live)| live.iter().map(move |e| (p.path.clone(), *e)))
        .collect();
    let copied = store.copy_blobs(&blobs)?;
    for p in plan
        .delete
        .iter()
        .chain(plan.rewrite.iter().map(|(p, _)| p))
    {
        store.remove_pack(&p.path)?;
    }
    Ok(copied)
}

/// The root set of garbage collection, local and remote: every pointer the
/// work tree holds and every pointer blob git keeps (refs, reflogs, the
/// stash; the git module lists them). A pointer in history that cannot be
/// read (an unknown format) stops gc, since it cannot tell what such a
/// pointer needs; a file that merely ends in `.cairn` and is no pointer
/// refers to nothing.
pub fn live_pointers(
    ws: &crate::repo::workspace::Workspace,
    git: &crate::repo::git::GitRepo,
    progress: &dyn crate::progress::Progress,
) -> Result<Vec<crate::repo::history::Tracked>> {
    let mut out = crate::repo::history::pointers_in_work_tree(ws, progress)?;
    // Every worktree of the repository shares the cache (FORMAT.md §10.5):
    // what another one added and has not committed is live too.
    for root in git.other_worktrees()? {
        out.extend(crate::repo::history::pointers_in_work_tree(
            &ws.with_root(root),
            progress,
        )?);
    }
    // Data imported from DVC or Git LFS for old revisions stays while the
    // import map names it.
    out.extend(crate::repo::foreign::map_roots(ws.root(), Some(git))?);
    let blobs = match git.reachable_pointer_blobs() {
        Ok(b) => b,
        Err(crate::repo::git::GitError::NoCommits) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let mut seen = std::collections::HashSet::new();
    for blob in blobs {
        if !seen.insert(blob.clone()) {
            continue;
        }
        match crate::format::pointer::Pointer::parse(std::path::Path::new("<git history>"), &blob) {
            Ok(ptr) => out.push(("<git history>".to_string(), ptr)),
            Err(
                crate::Error::PointerSyntax { .. }
                | crate::Error::PointerConflict { .. }
                | crate::Error::NotAPointer { .. },
            ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
