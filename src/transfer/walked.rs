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
//!
//! [`Fetched`] is the record a fetch keeps, in `fetched` (header
//! `cairn-fetched 1`): the roots whose top object it found on the remote.
//! A fetch through locators lists no index file, so without it a clone
//! that only ever pulled would know nothing of the remote, and `status`
//! could never say what it has not pushed. Only `status` reads it, with
//! the other two records ([`seen_complete`]): it is what the remote held
//! when last seen, never a reason for a push to skip anything.

use std::collections::{BTreeSet, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::hash::Id;
use crate::remote::index;
use crate::remote::Location;

const HEADER: &str = "cairn-walked 1";
const FILE: &str = "walked";
const LOCATED_HEADER: &str = "cairn-located 1";
const LOCATED_FILE: &str = "located";
const FETCHED_HEADER: &str = "cairn-fetched 1";
const FETCHED_FILE: &str = "fetched";
/// The most roots the fetched record keeps (newest first): about 4.8 MB,
/// which `status` reads in milliseconds. A root dropped past it only makes
/// `status` call its data not pushed until a push records it.
pub const FETCHED_MAX: usize = 1 << 16;
/// Bytes of one `complete <id hex>` line.
const LINE_LEN: usize = "complete ".len() + 64 + 1;

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

/// Roots whose top object a fetch from this clone found on one remote
/// (see the module comment), newest first.
#[derive(Debug, Default)]
pub struct Fetched(Vec<Id>);

impl Fetched {
    /// The record for the remote at `location`; empty when there is none,
    /// it cannot be read, or it is larger than [`FETCHED_MAX`] roots.
    pub fn load(cache_root: &Path, location: &Location) -> Fetched {
        Fetched::load_in(&index::cache_dir(cache_root, location))
    }

    fn load_in(dir: &Path) -> Fetched {
        let limit = FETCHED_HEADER.len() + 1 + FETCHED_MAX * LINE_LEN;
        let mut text = String::new();
        let read = std::fs::File::open(dir.join(FETCHED_FILE))
            .and_then(|f| f.take(limit as u64 + 1).read_to_string(&mut text));
        if read.is_err() || text.len() > limit {
            return Fetched::default();
        }
        Fetched::parse(&text).map(Fetched).unwrap_or_default()
    }

    fn parse(text: &str) -> Option<Vec<Id>> {
        let mut lines = text.lines();
        if lines.next()? != FETCHED_HEADER {
            return None;
        }
        lines
            .map(|l| Id::from_hex(l.strip_prefix("complete ")?))
            .collect()
    }

    /// Add `roots` to the record in `dir` (the remote's directory in the
    /// cache) as the newest, keeping at most [`FETCHED_MAX`]. Best effort:
    /// a record that cannot be written only makes `status` call data not
    /// pushed that a push then finds there.
    pub fn add_in(dir: &Path, roots: &[Id]) {
        if roots.is_empty() {
            return;
        }
        let old = Fetched::load_in(dir).0;
        let mut seen = HashSet::new();
        let kept: Vec<&Id> = roots
            .iter()
            .chain(&old)
            .filter(|id| seen.insert(**id))
            .take(FETCHED_MAX)
            .collect();
        if kept.len() == old.len() && kept.iter().zip(&old).all(|(a, b)| *a == b) {
            return;
        }
        let mut text = String::with_capacity(FETCHED_HEADER.len() + 1 + kept.len() * LINE_LEN);
        text.push_str(FETCHED_HEADER);
        text.push('\n');
        for id in kept {
            text.push_str("complete ");
            text.push_str(&id.to_hex());
            text.push('\n');
        }
        let _ = crate::durable::write_atomic(&dir.join(FETCHED_FILE), text.as_bytes());
    }
}

/// Every root this cache has seen complete on the remote at `location`,
/// from the three records (what pushes walked, the locators they wrote,
/// what fetches found), or `None` when they hold none: then the cache
/// knows nothing of the remote beyond any index files it keeps. Nothing is
/// checked against the remote: `status` asks this offline.
pub fn seen_complete(cache_root: &Path, location: &Location) -> Option<HashSet<Id>> {
    let mut all = Walked::load(cache_root, location).complete;
    all.extend(Located::load(cache_root, location).0.complete);
    all.extend(Fetched::load(cache_root, location).0);
    (!all.is_empty()).then_some(all)
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

    #[test]
    fn the_fetched_record_keeps_the_newest_roots_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let loc = Location::Folder(dir.path().join("store"));
        let remote = index::cache_dir(dir.path(), &loc);
        assert!(Fetched::load(dir.path(), &loc).0.is_empty());
        assert_eq!(seen_complete(dir.path(), &loc), None, "no record at all");
        let (a, b, c) = (Id::of(b"a"), Id::of(b"b"), Id::of(b"c"));
        Fetched::add_in(&remote, &[a, b]);
        Fetched::add_in(&remote, &[c, a]);
        assert_eq!(Fetched::load(dir.path(), &loc).0, [c, a, b]);
        let text = std::fs::read_to_string(remote.join(FETCHED_FILE)).unwrap();
        assert_eq!(
            text,
            format!(
                "cairn-fetched 1\ncomplete {}\ncomplete {}\ncomplete {}\n",
                c.to_hex(),
                a.to_hex(),
                b.to_hex()
            )
        );
        // The union with the push records, which stay their own.
        let view = RemoteView::default();
        Walked::save(dir.path(), &loc, &view, [Id::of(b"w")]);
        Located::save(dir.path(), &loc, &view, [Id::of(b"l")]);
        let all = seen_complete(dir.path(), &loc).unwrap();
        assert_eq!(all.len(), 5);
        assert!(all.contains(&Id::of(b"w")) && all.contains(&Id::of(b"l")) && all.contains(&b));
        assert!(!Walked::load(dir.path(), &loc).contains(&a));
    }

    #[test]
    fn an_unreadable_or_oversized_fetched_record_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let loc = Location::Folder(dir.path().join("store"));
        let remote = index::cache_dir(dir.path(), &loc);
        let file = remote.join(FETCHED_FILE);
        std::fs::create_dir_all(&remote).unwrap();
        let line = format!("complete {}\n", Id::of(b"a").to_hex());
        for bad in [
            format!("cairn-fetched 2\n{line}"),
            format!("cairn-walked 1\n{line}"),
            format!("cairn-fetched 1\n{line}complete zz\n"),
            format!("cairn-fetched 1\n{line}index index/a.idx\n"),
            format!("cairn-fetched 1\n{}", line.repeat(FETCHED_MAX + 1)),
        ] {
            std::fs::write(&file, &bad).unwrap();
            assert!(Fetched::load(dir.path(), &loc).0.is_empty(), "{bad:.60}");
        }
        std::fs::write(
            &file,
            format!("cairn-fetched 1\n{}", line.repeat(FETCHED_MAX)),
        )
        .unwrap();
        assert_eq!(Fetched::load(dir.path(), &loc).0.len(), FETCHED_MAX);
        // Adding to a full record drops the oldest roots.
        let id = |i: u32| Id::of(&i.to_le_bytes());
        let full: Vec<Id> = (0..FETCHED_MAX as u32).map(id).collect();
        Fetched::add_in(&remote, &full);
        let fresh: Vec<Id> = (0..3).map(|i| id(FETCHED_MAX as u32 + i)).collect();
        Fetched::add_in(&remote, &fresh);
        let back = Fetched::load(dir.path(), &loc).0;
        assert_eq!(back.len(), FETCHED_MAX);
        assert_eq!(&back[..3], &fresh[..]);
        assert_eq!(back[3..], full[..FETCHED_MAX - 3]);
    }
}
