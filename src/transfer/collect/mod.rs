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
//!
//! Deciding ([`plan`], pure: a listing in, a plan out) is apart from doing
//! ([`execute`]), so the rules can be tested without a remote.

use crate::format::pack::Entry;
use crate::hash::Id;
use crate::remote::index::PackRecord;
use crate::remote::notes::{self, Condemned};

mod execute;
mod plan;
pub use execute::execute;
pub use plan::plan;

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

/// What remote garbage collection will do, referring to the records of
/// the index it was planned from.
#[derive(Debug, Default)]
pub struct RemotePlan<'a> {
    /// Indexed packs that stay as they are, not condemned.
    pub keep: Vec<&'a PackRecord>,
    /// Mostly-dead packs and the live blobs to carry over; the old packs
    /// are condemned once the copies are indexed.
    pub rewrite: Vec<(&'a PackRecord, Vec<Entry>)>,
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
    /// Locators rewritten or deleted because they named packs that go.
    pub locators: crate::transfer::locate::Refreshed,
}

impl RemotePlan<'_> {
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

#[cfg(test)]
mod tests;
