//! What this clone knows to be complete on a remote, so a push need not
//! walk it again.
//!
//! A plain push sends the data of every tag, and walking each version's
//! listings and manifests on every push would cost time in proportion to
//! the whole history. So after a push, the pointers (by their top id: a
//! file's id or a listing's id) whose every object the push found on the
//! remote or sent are recorded, with the names of the index files the
//! remote listed then. The record is only a cache. It stands while the
//! remote can have lost nothing since: every index file it names is still
//! listed (remote gc replaces index files when it deletes packs) and no
//! damage note, damaged index file or condemnation is in sight. Otherwise a
//! push walks everything again, and writes a new record.
//!
//! The file is `cache/remotes/<key>/walked` (FORMAT.md §15.3): UTF-8 lines,
//! `cairn-walked 1`, then `index <path>` lines, then `complete <id hex>`
//! lines. Anything unreadable is an empty record.
//!
//! [`Located`] is the same kind of record for locators (FORMAT.md §15.8):
//! the roots whose locator this clone wrote, in `located` (header
//! `cairn-located 1`). A locator stays true until gc moves the blobs it
//! names, and gc replaces the index files when it does, so the record
//! stands under the same rule, and a push rewrites the locators of the
//! roots it walks once it does not.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use crate::hash::Id;
use crate::remote::index;
use crate::remote::Location;

const HEADER: &str = "cairn-walked 1";
const FILE: &str = "walked";
const LOCATED_HEADER: &str = "cairn-located 1";
const LOCATED_FILE: &str = "located";

/// What a push saw of the remote's catalogue, enough to tell whether a
/// record written earlier still stands.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RemoteView {
    /// The index files listed (paths below the remote's root).
    pub indexes: Vec<String>,
    /// Whether the remote may have lost data since an earlier push: damage
    /// notes apply, an index file is damaged, or packs are condemned.
    pub troubled: bool,
}

/// Pointers known complete on one remote.
#[derive(Debug, Default)]
pub struct Walked {
    indexes: BTreeSet<String>,
    complete: HashSet<Id>,
}

fn path(cache_root: &Path, location: &Location) -> PathBuf {
    index::cache_dir(cache_root, location).join(FILE)
}

/// Roots whose locator this clone wrote to one remote.
#[derive(Debug, Default)]
pub struct Located(Walked);

impl Located {
    /// The record for the remote at `location`; empty when there is none
    /// or it cannot be read.
    pub fn load(cache_root: &Path, location: &Location) -> Located {
        let file = index::cache_dir(cache_root, location).join(LOCATED_FILE);
        Located(Walked::load_from(&file, LOCATED_HEADER))
    }

    /// Whether the record still stands against what the remote lists now.
    pub fn stands(&self, now: &RemoteView) -> bool {
        self.0.stands(now)
    }

    /// Whether this clone wrote the locator of `root`.
    pub fn contains(&self, root: &Id) -> bool {
        self.0.contains(root)
    }

    /// The roots recorded.
    pub fn roots(&self) -> impl Iterator<Item = Id> + '_ {
        self.0.complete.iter().copied()
    }

    /// Record `roots` as located as of `view` (best effort).
    pub fn save(
        cache_root: &Path,
        location: &Location,
        view: &RemoteView,
        roots: impl IntoIterator<Item = Id>,
    ) {
        let file = index::cache_dir(cache_root, location).join(LOCATED_FILE);
        Walked::save_to(&file, LOCATED_HEADER, view, roots);
    }
}

impl Walked {
    /// The record for the remote at `location`; empty when there is none
    /// or it cannot be read.
    pub fn load(cache_root: &Path, location: &Location) -> Walked {
        Walked::load_from(&path(cache_root, location), HEADER)
    }

    fn load_from(file: &Path, header: &str) -> Walked {
        let Ok(text) = std::fs::read_to_string(file) else {
            return Walked::default();
        };
        Walked::parse(&text, header).unwrap_or_default()
    }

    fn parse(text: &str, header: &str) -> Option<Walked> {
        let mut lines = text.lines();
        if lines.next()? != header {
            return None;
        }
        let mut w = Walked::default();
        for line in lines {
            match line.split_once(' ')? {
                ("index", p) => {
                    w.indexes.insert(p.to_string());
                }
                ("complete", hex) => {
                    w.complete.insert(Id::from_hex(hex)?);
                }
                _ => return None,
            }
        }
        Some(w)
    }

    /// Whether the record still stands against what the remote lists now.
    pub fn stands(&self, now: &RemoteView) -> bool {
        !now.troubled && self.indexes.iter().all(|i| now.indexes.contains(i))
    }

    /// Whether the pointer with top id `id` was complete on the remote.
    pub fn contains(&self, id: &Id) -> bool {
        self.complete.contains(id)
    }

    /// Record `complete` (pointer top ids) as of `view`. Best effort: a
    /// record that cannot be written only costs a walk next time.
    pub fn save(
        cache_root: &Path,
        location: &Location,
        view: &RemoteView,
        complete: impl IntoIterator<Item = Id>,
    ) {
        Walked::save_to(&path(cache_root, location), HEADER, view, complete);
    }

    fn save_to(
        file: &Path,
        header: &str,
        view: &RemoteView,
        complete: impl IntoIterator<Item = Id>,
    ) {
        let mut ids: Vec<String> = complete.into_iter().map(|id| id.to_hex()).collect();
        ids.sort();
        ids.dedup();
        let mut text = format!("{header}\n");
        let mut names = view.indexes.clone();
        names.sort();
        for n in names {
            text.push_str(&format!("index {n}\n"));
        }
        for id in ids {
            text.push_str(&format!("complete {id}\n"));
        }
        let _ = crate::durable::write_atomic(file, text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_stands_until_the_remote_may_have_lost_something() {
        let dir = tempfile::tempdir().unwrap();
        let loc = Location::Folder(dir.path().join("store"));
        let view = RemoteView {
            indexes: vec!["index/a.idx".into(), "index/b.idx".into()],
            troubled: false,
        };
        Walked::save(dir.path(), &loc, &view, [Id::of(b"x")]);
        let w = Walked::load(dir.path(), &loc);
        assert!(w.contains(&Id::of(b"x")) && !w.contains(&Id::of(b"y")));
        assert!(w.stands(&view));
        let mut more = view.clone();
        more.indexes.push("index/c.idx".into());
        assert!(w.stands(&more), "a new index file loses nothing");
        let merged = RemoteView {
            indexes: vec!["index/c.idx".into()],
            troubled: false,
        };
        assert!(!w.stands(&merged), "gc replaced the index files");
        let troubled = RemoteView {
            troubled: true,
            ..view
        };
        assert!(!w.stands(&troubled));
        std::fs::write(path(dir.path(), &loc), "cairn-walked 1\ncomplete zz\n").unwrap();
        assert!(!Walked::load(dir.path(), &loc).contains(&Id::of(b"x")));
    }

    #[test]
    fn the_located_record_is_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let loc = Location::Folder(dir.path().join("store"));
        let view = RemoteView {
            indexes: vec!["index/a.idx".into()],
            troubled: false,
        };
        Walked::save(dir.path(), &loc, &view, [Id::of(b"w")]);
        Located::save(dir.path(), &loc, &view, [Id::of(b"l")]);
        let l = Located::load(dir.path(), &loc);
        assert!(l.contains(&Id::of(b"l")) && !l.contains(&Id::of(b"w")));
        assert!(l.stands(&view));
        assert_eq!(l.roots().collect::<Vec<_>>(), vec![Id::of(b"l")]);
        assert!(Walked::load(dir.path(), &loc).contains(&Id::of(b"w")));
        let merged = RemoteView {
            indexes: vec!["index/b.idx".into()],
            troubled: false,
        };
        assert!(!l.stands(&merged), "gc replaced the index files");
    }
}
