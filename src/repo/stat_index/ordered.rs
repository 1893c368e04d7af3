//! Lookups in the order of a sorted walk, as a merge-join over the index.
//!
//! `status` asks about every file of a tracked directory in listing order;
//! a search per file (block table, then block) and a joined path per file
//! were most of its user time on an unchanged tree. [`Ordered`] answers the
//! same questions as [`StatIndex::get`] and [`StatIndex::lookup`] by moving
//! one cursor forward.

use super::run::Cursor;
use super::{Record, Stat, StatIndex, RACY_NS};
use crate::hash::Id;

impl StatIndex {
    /// A reader for lookups made in increasing path order from `from` on
    /// (a sorted walk): see [`Ordered`].
    pub fn ordered(&self, from: &str) -> Ordered<'_> {
        let single = self.overlay.is_empty() && self.removed.is_empty() && self.runs.len() <= 1;
        Ordered {
            idx: self,
            cursor: single.then(|| self.runs.first().map(|r| r.cursor(from))),
            joined: String::new(),
        }
    }
}

/// Lookups in increasing path order, as a merge-join: while the index is
/// one run on disk (the state after a load, which is what a status of an
/// unchanged tree sees), each answer moves one cursor forward over the
/// sorted records, comparing bytes in place, so a walk of N files costs N
/// short comparisons and no search, allocation or lock per file. Any other
/// state (changes in memory, spilled runs, removed trees) answers each
/// lookup with [`StatIndex::get`], which is always right.
pub struct Ordered<'a> {
    idx: &'a StatIndex,
    /// `Some` while the index is at most one run: its cursor (`None` for
    /// an empty index).
    cursor: Option<Option<Cursor<'a>>>,
    /// The joined path, built only for the general case.
    joined: String,
}

impl Ordered<'_> {
    /// The record of path `dir/sub`. Each call must name a path after the
    /// previous call's (bytewise), and after `from`.
    pub fn get(&mut self, dir: &str, sub: &str) -> Option<Record> {
        let Some(cursor) = &mut self.cursor else {
            self.joined.clear();
            self.joined.push_str(dir);
            self.joined.push('/');
            self.joined.push_str(sub);
            return self.idx.get(&self.joined);
        };
        let c = cursor.as_mut()?;
        loop {
            match cmp_joined(c.peek_bytes()?, dir.as_bytes(), sub.as_bytes()) {
                std::cmp::Ordering::Less => c.advance(),
                std::cmp::Ordering::Equal => return c.record(),
                std::cmp::Ordering::Greater => return None,
            }
        }
    }

    /// The id of `dir/sub` if `stat` matches its record and the record is
    /// not racy: [`StatIndex::lookup`], in order.
    pub fn lookup(&mut self, dir: &str, sub: &str, stat: &Stat) -> Option<Id> {
        let saved_at = self.idx.saved_at_ns;
        let r = self.get(dir, sub)?;
        (r.stat == *stat && r.stat.mtime_ns < saved_at - RACY_NS).then_some(r.id)
    }
}

/// The order of path `p` against the path `dir/sub`, without joining them.
pub fn cmp_joined(p: &[u8], dir: &[u8], sub: &[u8]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let n = dir.len();
    if p.len() <= n {
        // `p` is at most as long as `dir`, and the joined path is longer.
        return p.cmp(&dir[..p.len()]).then(Ordering::Less);
    }
    p[..n]
        .cmp(dir)
        .then(p[n].cmp(&b'/'))
        .then_with(|| p[n + 1..].cmp(sub))
}

impl StatIndex {
    /// Every record at or below none of the `tracked` paths, in path
    /// order: files cairn hashed or wrote that no pointer names any more
    /// (`engine::left_behind`). A record inside a tracked directory skips
    /// the rest of that directory with one seek, so the walk costs about
    /// one step per tracked path, not one per record.
    pub fn records_outside(&self, tracked: &[String]) -> Vec<(String, Record)> {
        let set: std::collections::HashSet<&str> = tracked.iter().map(String::as_str).collect();
        let mut out = Vec::new();
        let mut it = self.merged("");
        while let Some((path, rec)) = it.next() {
            if set.contains(path.as_str()) {
                continue;
            }
            let inside = path
                .match_indices('/')
                .map(|(i, _)| &path[..i])
                .find(|dir| set.contains(dir));
            match inside {
                // '0' is the byte after '/': the first path past `dir/…`.
                Some(dir) => it = self.merged(&format!("{dir}0")),
                None => out.push((path, rec)),
            }
        }
        out
    }
}
