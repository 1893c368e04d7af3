//! Directory records: the listing a tracked directory's file records form.
//!
//! `status` of an unchanged directory must prove that the files now there
//! are exactly those of the pointer's listing. Rebuilding the listing from
//! the walk and hashing it proves it, at the cost of an entry, a cut hash
//! and the leaf hashing per file. A directory record proves it from the
//! stat index alone: it says "the file records at or below this path are,
//! all of them and nothing else, the entries of listing `id`, `files` of
//! them". It holds only as long as those records do, so every change that
//! could break it drops it: a record inserted with other bytes or another
//! exec bit, a new record, a removed tree (see [`StatIndex::insert`] and
//! [`StatIndex::remove_tree`]). A refreshed stat of the same bytes and mode
//! keeps it, since the listing does not change.
//!
//! Given a directory record, a walk in which every regular file is vouched
//! for by its record (stat equal, not racy, FORMAT.md §9.2) and which meets
//! exactly `files` files has met every recorded file and no other, so the
//! work tree's listing is `id`. Anything else (a miss, a racy file, one
//! file more or less) falls back to rebuilding the listing.

use std::collections::BTreeMap;

use super::run::{Scanner, Writer};
use super::StatIndex;
use crate::hash::{Id, ID_LEN};

/// What the records below a tracked directory form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirRecord {
    /// The listing's id (the directory id of FORMAT.md §5.4–5.6).
    pub id: Id,
    /// How many files it lists.
    pub files: u64,
}

impl StatIndex {
    /// The directory record of tracked directory `path`, if it still holds.
    pub fn dir(&self, path: &str) -> Option<DirRecord> {
        self.dirs.get(path).copied()
    }

    /// Record that the file records below `path` are exactly the entries of
    /// listing `rec` (the caller has checked it: every one of them was met
    /// with its recorded bytes and mode, and there is no other).
    pub fn set_dir(&mut self, path: &str, rec: DirRecord) {
        if self.dirs.get(path) != Some(&rec) {
            self.dirs.insert(path.to_string(), rec);
            self.dirty = true;
        }
    }

    /// Record `rec` for tracked directory `path` if the index holds exactly
    /// `rec.files` records below it. The caller knows every file of the
    /// listing has a record with its id, size and exec bit (it just met or
    /// wrote them all): then no other record lies below `path` (one would
    /// be a deleted or now-ignored file), and the records are the listing.
    /// Whether it was recorded.
    pub fn set_dir_if_only(&mut self, path: &str, rec: DirRecord) -> bool {
        let prefix = format!("{path}/");
        let mut n = 0u64;
        self.for_each_under(path, |p, _| n += p.starts_with(&prefix) as u64);
        if n != rec.files {
            return false;
        }
        self.set_dir(path, rec);
        true
    }

    /// Drop the directory records that a change of the records at or below
    /// `path` may break: those of `path`, of a directory above it and of
    /// any directory below it.
    pub(super) fn forget_dirs(&mut self, path: &str) {
        if self.dirs.is_empty() {
            return;
        }
        let within = |a: &str, b: &str| {
            a.len() > b.len() && a.starts_with(b) && a.as_bytes()[b.len()] == b'/'
        };
        let before = self.dirs.len();
        self.dirs
            .retain(|d, _| !(d == path || within(path, d) || within(d, path)));
        self.dirty |= self.dirs.len() != before;
    }
}

/// Append the directory records (FORMAT.md §9.1, version 2): their count,
/// then each one's path, listing id and file count, in path order.
pub(super) fn write(w: &mut Writer, dirs: &BTreeMap<String, DirRecord>) -> std::io::Result<()> {
    w.raw(&(dirs.len() as u32).to_le_bytes())?;
    for (p, d) in dirs {
        w.raw(&(p.len() as u16).to_le_bytes())?;
        w.raw(p.as_bytes())?;
        w.raw(d.id.as_bytes())?;
        w.raw(&d.files.to_le_bytes())?;
    }
    Ok(())
}

/// Read the directory records that follow the entries, up to byte `end`,
/// or say what is wrong with them.
pub(super) fn scan(
    sc: &mut Scanner<'_>,
    end: u64,
) -> std::io::Result<Result<BTreeMap<String, DirRecord>, &'static str>> {
    let mut dirs = BTreeMap::new();
    if sc.pos + 4 > end {
        return Ok(Err("truncated directory record"));
    }
    let mut n = [0u8; 4];
    n.copy_from_slice(sc.take(4)?);
    let count = u32::from_le_bytes(n);
    let mut prev: Option<String> = None;
    for _ in 0..count {
        if sc.pos + 2 > end {
            return Ok(Err("truncated directory record"));
        }
        let mut l = [0u8; 2];
        l.copy_from_slice(sc.take(2)?);
        let len = u16::from_le_bytes(l) as u64;
        if sc.pos + len + (ID_LEN + 8) as u64 > end {
            return Ok(Err("truncated directory record"));
        }
        let Ok(path) = String::from_utf8(sc.take(len as usize)?.to_vec()) else {
            return Ok(Err("path is not UTF-8"));
        };
        if prev
            .as_ref()
            .is_some_and(|p| path.as_bytes() <= p.as_bytes())
        {
            return Ok(Err("directory records are not sorted by path"));
        }
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(sc.take(ID_LEN)?);
        let mut f = [0u8; 8];
        f.copy_from_slice(sc.take(8)?);
        let rec = DirRecord {
            id: Id(id),
            files: u64::from_le_bytes(f),
        };
        prev = Some(path.clone());
        dirs.insert(path, rec);
    }
    Ok(Ok(dirs))
}
