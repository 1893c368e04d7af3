//! `status [PATH…]`: which tracked data differs from its pointers, and what
//! the default remote lacks as this cache last saw it (no network, so
//! status stays instant and works offline).
//!
//! The comparison itself is `crate::engine::status` (stat index first, hashing only
//! what it cannot vouch for; stale data told from edits). This use case
//! selects the pointers, runs it, saves what was learnt when no other cairn
//! is writing, and reports.

use std::ops::Range;
use std::sync::atomic::Ordering;

use serde::Serialize;

use crate::engine::left_behind::{self, Fate, LeftBehind};
use crate::engine::status::{read_pointer_or_skip, Status};
use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::pointer::Pointer;
use crate::hash::Id;
use crate::progress::Progress;
use crate::remote::ResolvedRemote;
use crate::repo::stat_index::StatIndex;
use crate::store::LazyStore;

use super::Session;

/// The rows of a status report.
pub use crate::engine::status::{Change, FileChange, PathStatus, State};

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub paths: Vec<PathStatus>,
    /// Files whose contents had to be read (the stat index could not vouch).
    pub files_read: u64,
    pub files_stat_only: u64,
    /// The default remote, if one is configured.
    pub remote: Option<String>,
    /// Clean, cached paths whose data the default remote lacked when this
    /// cache last talked to it: listed by no cached index file, and found
    /// complete there by no push or fetch of this clone. `None` if the
    /// cache knows nothing of the remote. Data the cache held before a
    /// pull (which the pull never looked for) may be named until a push.
    pub not_pushed: Option<Vec<String>>,
    /// Paths whose data the cache lacks and the default remote lacked too
    /// when this cache last talked to it (so `pull` could not restore
    /// them then); `None` if no index file of it is cached.
    pub not_on_remote: Option<Vec<String>>,
    /// Files cairn wrote or added whose pointer git has since removed
    /// (`engine::left_behind`), with what a checkout would do to each.
    /// Only a status of every path looks for them.
    pub left_behind: Vec<LeftBehind>,
    /// Tracked paths whose pointer a git merge left with conflict markers
    /// (neither version chosen yet); not compared.
    pub conflicted: Vec<String>,
}

/// Status of the tracked paths at or below `rels` (repository-relative;
/// empty: all).
pub fn status(s: &Session, rels: &[String], progress: &dyn Progress) -> Result<StatusReport> {
    let index_path = s.workspace().stat_index_path();
    std::thread::scope(|sc| {
        // The stat index is read and checked (its whole file) on another
        // thread while git is asked which paths are tracked; the pool the
        // walk runs on starts meanwhile too.
        let loading = sc.spawn(|| {
            rayon::current_num_threads();
            StatIndex::load(&index_path)
        });
        let pointers = tracked_pointers(s, rels, progress);
        let remote = s.remote(None).ok();
        let index = match loading.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        // A damaged index is reported first, as when it was read first.
        let index = index?;
        let (pointers, conflicted) = pointers?;
        let mut report = compare(
            s,
            &pointers,
            &conflicted,
            remote,
            index,
            rels.is_empty(),
            progress,
        )?;
        report.conflicted = conflicted;
        Ok(report)
    })
}

/// Tracked paths and their pointers, in path order.
type Pointers = Vec<(String, Pointer)>;

/// The selected tracked paths and their pointers, in path order, and the
/// paths whose pointer a merge left conflicted.
fn tracked_pointers(
    s: &Session,
    rels: &[String],
    progress: &dyn Progress,
) -> Result<(Pointers, Vec<String>)> {
    let ws = s.workspace();
    let mut tracked = ws.find_tracked()?;
    // A work tree at a revision from before `cairn import` (git opened
    // once, for this and the remote's committed config).
    let foreign = crate::repo::foreign::in_git_work_tree(ws.root(), s.git(), &tracked)?;
    tracked.extend(foreign.iter().map(|(p, _)| p.clone()));
    tracked.sort();
    let selected = crate::repo::history::select_tracked_rel(ws, &tracked, rels)?;
    let mut pointers = Vec::new();
    let mut conflicted = Vec::new();
    for (rel, _) in selected {
        let ptr = match foreign.iter().find(|(p, _)| *p == rel) {
            Some((_, p)) => p.clone(),
            // A file that merely ends in .cairn is skipped, with a warning.
            None => match read_pointer_or_skip(ws, &rel, progress) {
                Ok(Some(p)) => p,
                Ok(None) => continue,
                Err(Error::PointerConflict { .. }) => {
                    conflicted.push(rel);
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        pointers.push((rel, ptr));
    }
    Ok((pointers, conflicted))
}

/// Compare each pointer with the work tree, and report.
fn compare(
    s: &Session,
    pointers: &[(String, Pointer)],
    conflicted: &[String],
    remote: Option<ResolvedRemote>,
    mut index: StatIndex,
    every_path: bool,
    progress: &dyn Progress,
) -> Result<StatusReport> {
    let ws = s.workspace();
    // Opened only if a directory differs from its record: the "stored"
    // flags of a clean tree come from the pack footers alone
    // (`LazyStore::contains_each`), read while the work tree is walked.
    let store = LazyStore::new(&ws.cache_dir());
    // Per pointer, the blobs of which any one shows its data there: its top
    // object (none for an empty file). In the cache they make it count as
    // stored; on the default remote, as this cache last saw it, pushed,
    // since a push sends everything below the top object before the index
    // that lists it. One list answers both, `spans[i]` being pointer i's
    // part; both are asked on another thread while the work tree is walked
    // (the remote's answer is a few MB of index files to check, and the
    // walk waits on the kernel).
    let mut keys: Vec<(ObjectKind, Id)> = Vec::new();
    let mut spans: Vec<Range<usize>> = Vec::with_capacity(pointers.len());
    for (_, p) in pointers {
        let at = keys.len();
        keys.extend(Status::stored_keys(p));
        spans.push(at..keys.len());
    }
    let cache = ws.cache_dir();
    let st = Status::lazy(ws, &store, &mut index, progress);
    let (rows, has, seen) = std::thread::scope(|sc| {
        // Which pointers the cache holds, and what the remote lacked, on
        // another thread while this one walks.
        let (store, keys, cache, remote) = (&store, &keys, &cache, &remote);
        let side = sc.spawn(move || {
            let has = store.contains_each(keys, progress);
            let seen = remote.as_ref().map(|r| Seen {
                listed: crate::remote::index::cached_lists(cache, &r.location, keys),
                complete: crate::transfer::walked::seen_complete(cache, &r.location),
            });
            (has, seen)
        });
        let rows: Result<Vec<PathStatus>> =
            pointers.iter().map(|(rel, p)| st.state(rel, p)).collect();
        let (has, seen) = match side.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        (rows, has, seen)
    });
    let mut rows = rows?;
    let has = has?;
    for ((row, (_, ptr)), span) in rows.iter_mut().zip(pointers).zip(&spans) {
        row.stored = st.stored_with(ptr, &has[span.clone()]);
    }
    let files_read = st.counters.files_hashed.load(Ordering::Relaxed);
    let files_stat_only = st.counters.files_stat_only.load(Ordering::Relaxed);
    drop(st);
    let left_behind = if every_path {
        // A conflicted pointer still tracks its path: its data is not
        // left behind.
        let tracked: Vec<String> = pointers
            .iter()
            .map(|(rel, _)| rel.clone())
            .chain(conflicted.iter().cloned())
            .collect();
        find_left_behind(s, &store, &mut index, &tracked, progress)?
    } else {
        Vec::new()
    };
    // Remember what was just hashed, if no other cairn is busy writing.
    if index.is_dirty() && s.try_lock() {
        index.save()?;
    }
    // Only clean, cached paths are reported as not pushed.
    let seen = seen.unwrap_or_default();
    let on_remote = |i: usize| {
        let span = &spans[i];
        span.is_empty()
            || seen
                .listed
                .as_ref()
                .is_some_and(|has| has[span.clone()].iter().any(|&h| h))
            || seen
                .complete
                .as_ref()
                .is_some_and(|c| c.contains(&pointers[i].1.id()))
    };
    let listed = |keep: &dyn Fn(&PathStatus) -> bool| -> Vec<String> {
        rows.iter()
            .enumerate()
            .filter(|(i, row)| keep(row) && !on_remote(*i))
            .map(|(_, row)| row.path.clone())
            .collect()
    };
    // A clone that only pulled through locators keeps no index file, yet
    // its fetches recorded what they found: enough to name what it added
    // since. Data it had before a pull, which the pull never looked for,
    // is named too, until a push (sending nothing) records it.
    let not_pushed = (seen.listed.is_some() || seen.complete.is_some())
        .then(|| listed(&|row| row.stored && row.state == State::Clean));
    // What the cache lacks is judged only against index files: the records
    // know nothing of a root no fetch or push of this clone met.
    let not_on_remote = seen.listed.is_some().then(|| listed(&|row| !row.stored));
    Ok(StatusReport {
        paths: rows,
        files_read,
        files_stat_only,
        remote: remote.map(|r| r.name),
        not_pushed,
        not_on_remote,
        left_behind,
        conflicted: Vec::new(),
    })
}

/// What the cache last saw of the default remote, read offline.
#[derive(Default)]
struct Seen {
    /// Which of the pointers' top objects the cached index files list;
    /// `None` when none is cached.
    listed: Option<Vec<bool>>,
    /// The roots the cache's records saw complete there
    /// (`transfer::walked::seen_complete`); `None` when they hold none.
    complete: Option<std::collections::HashSet<Id>>,
}

/// Data left behind by pointers git removed, judged as a checkout would
/// judge it; the store is opened only when there is some.
fn find_left_behind(
    s: &Session,
    store: &LazyStore,
    index: &mut StatIndex,
    tracked: &[String],
    progress: &dyn Progress,
) -> Result<Vec<LeftBehind>> {
    let found = super::checkout::left_behind_candidates(s, index, tracked)?;
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let store = store.get(progress)?;
    let status = Status::new(s.workspace(), store, index, progress);
    let mut judged = left_behind::judge(&status, store, &found)?;
    judged.retain(|l| l.fate != Fate::Gone);
    Ok(judged)
}
