//! `pull [REV] [PATH…]`: fetch, then check out — what CI runs after
//! `git clone` (and `git checkout TAG`) to get an experiment's exact data.
//!
//! A pull restores every path whose data it could get. Paths whose data is
//! on no remote are left as they are and reported, each with the revision
//! that needs it, so the caller can fail naming them and the command that
//! fixes it, instead of restoring nothing at all.
//!
//! Each byte is decoded once (FORMAT.md §10.2, "pull"). The metadata, the
//! files of one chunk and the small files of several chunks are fetched
//! into the cache first, as a fetch fetches them (few coalesced reads);
//! the chunks of large files (at least [`DIRECT_MIN_CHUNKS`] of them
//! missing) are left out of that fetch and read by range during the
//! restore instead (`transfer::ranged`, as `pull --no-cache` reads them),
//! each decoded and checked against its id once, handed to the restore
//! and kept, as it arrived, in packs beside the cache (`store::Staged`)
//! that are sealed while the restore goes on and indexed once durable.
//! What the restore did not read (files it left alone: unchanged, or
//! guarded) is then fetched as usual, so afterwards the cache holds what a
//! fetch followed by a checkout left there. Until that last step the
//! pointers whose chunks were left out are recorded as not cached
//! (`engine::uncached`), so a crash in between never makes `status` call
//! them cached. A remote whose chunk the restore finds damaged or gone
//! falls back to a plain fetch (which steps around a damaged copy when
//! another one exists) and a restore from the cache.

use serde::Serialize;

use super::checkout::{checkout, CheckoutOptions, CheckoutReport};
use super::fetch::{lacking, FetchOutcome, RevisionNames, Selected};
use super::select::select_at;
use super::Session;
use crate::engine::reach::{Missing, Reach, Sink};
use crate::error::{Error, MissingData, Result};
use crate::format::kind::ObjectKind;
use crate::hash::Id;
use crate::progress::Progress;
use crate::store::Store;
use crate::transfer::{self, Connection};

/// A file with at least this many chunks missing is restored from ranged
/// reads rather than fetched into the cache first. Below it (under about
/// 4 MiB at the average chunk size) a file is not worth a request of its
/// own: fetched with its neighbours, many small files cost a few coalesced
/// reads (20,000 files: 43), one request per file would cost hundreds.
pub const DIRECT_MIN_CHUNKS: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    pub rev: Option<String>,
    /// Repository-relative paths to limit it to; empty: all.
    pub paths: Vec<String>,
    /// The remote (a name or URL); default: the configured one.
    pub remote: Option<String>,
    /// Overwrite changes cairn has not recorded.
    pub force: bool,
    /// Restore straight from the remote without storing data in the cache
    /// (`--no-cache`, for CI): see [`super::pull_direct`].
    pub no_cache: bool,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct PullReport {
    pub fetch: FetchOutcome,
    pub checkout: CheckoutReport,
    /// Tracked paths left unrestored because no remote has their data.
    pub missing: Vec<MissingData>,
}

pub fn pull(
    s: &Session,
    opts: PullOptions,
    progress: &dyn Progress,
    waits: super::Waits,
) -> Result<PullReport> {
    if opts.no_cache {
        return super::pull_direct::pull_direct(s, opts, progress, waits);
    }
    let selected = select_at(s, opts.rev.as_deref(), &opts.paths, progress)?;
    let (store, _) = s.store_locked(progress)?;
    let roots = lacking(store, &selected)?;
    if roots.is_empty() {
        // Everything is cached: no remote is needed (nor contacted), and
        // the pointers fetched whole are complete, as a fetch records.
        let whole: Vec<Id> = selected
            .iter()
            .filter(|(_, _, only)| only.is_none())
            .map(|(_, ptr, _)| ptr.id())
            .collect();
        crate::engine::uncached::update(store.root(), &[], &whole)?;
        let report = checkout(s, plain(&opts), progress)?;
        return Ok(finish(
            s,
            opts.rev.as_deref(),
            FetchOutcome::default(),
            report,
        ));
    }
    super::pull_direct::pull_once(s, &opts, &selected, roots, progress, waits)
}

/// The checkout a pull runs: of the pulled revision and paths, restoring
/// only paths whose data is complete.
pub(super) fn plain(opts: &PullOptions) -> CheckoutOptions {
    CheckoutOptions {
        force: opts.force,
        only_complete: true,
        ..CheckoutOptions::new(opts.rev.clone(), opts.paths.clone())
    }
}

/// Take the chunks of large files (runs of at least [`DIRECT_MIN_CHUNKS`]
/// missing chunks of one file: a walk reports a file's chunks together)
/// out of `items`; whether any were taken.
pub(super) fn drop_large(items: &mut Vec<Missing>) -> bool {
    let mut large = vec![false; items.len()];
    let mut start = 0;
    while start < items.len() {
        let mut end = start + 1;
        if items[start].kind == ObjectKind::Chunk {
            while end < items.len()
                && items[end].kind == ObjectKind::Chunk
                && items[end].needed_by == items[start].needed_by
            {
                end += 1;
            }
            if end - start >= DIRECT_MIN_CHUNKS {
                large[start..end].iter_mut().for_each(|l| *l = true);
            }
        }
        start = end;
    }
    let any = large.iter().any(|&l| l);
    if any {
        let mut k = 0;
        items.retain(|_| {
            k += 1;
            !large[k - 1]
        });
    }
    any
}

/// Fetch everything the `which` of `selected` need into the cache, on
/// `conn` (a fetch's own rounds, repairs and reporting of absent data).
pub(super) fn fetch_rest(
    conn: &Connection,
    store: &Store,
    selected: &Selected,
    which: &[bool],
    roots: &[Id],
    progress: &dyn Progress,
) -> Result<transfer::fetch::FetchReport> {
    let mut needs = |st: &Store, sink: &mut Sink| {
        let mut r = Reach::for_fetch();
        for ((rel, ptr, only), _) in selected.iter().zip(which).filter(|(_, &w)| w) {
            r.add_pointer_streaming(st, rel, ptr, only.as_deref(), sink)?;
        }
        Ok(())
    };
    transfer::fetch::fetch_roots_streamed(conn, store, roots, &mut needs, progress)
}

/// Whether a restore's error is the remote's data failing it (a damaged or
/// lost copy), which a plain fetch may step around.
pub(super) fn remote_damage(e: &Error) -> bool {
    matches!(
        e,
        Error::RemoteBlobCorrupt { .. }
            | Error::RemotePackMissing { .. }
            | Error::RemoteCorrupt { .. }
            | Error::NotOnRemote { .. }
    )
}

/// The report of a pull whose checkout left `report.incomplete` paths
/// without their data: each named with the revision it was wanted at.
pub(super) fn finish(
    s: &Session,
    rev: Option<&str>,
    fetched: FetchOutcome,
    report: CheckoutReport,
) -> PullReport {
    let names = RevisionNames::new(s.git(), rev);
    let missing = report
        .incomplete
        .iter()
        .map(|path| MissingData {
            path: path.clone(),
            rev: names.of(s.workspace(), path),
        })
        .collect();
    PullReport {
        fetch: fetched,
        checkout: report,
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: ObjectKind, n: u8, by: &str) -> Missing {
        Missing {
            kind,
            id: Id::of(&[n]),
            needed_by: by.to_string(),
        }
    }

    #[test]
    fn only_long_runs_of_one_files_chunks_are_dropped() {
        let mut items = vec![m(ObjectKind::Manifest, 0, "a")];
        items.extend((0..DIRECT_MIN_CHUNKS).map(|i| m(ObjectKind::Chunk, i as u8, "big")));
        items.extend((0..DIRECT_MIN_CHUNKS - 1).map(|i| m(ObjectKind::Chunk, i as u8, "small")));
        items.push(m(ObjectKind::Segment, 1, "c"));
        assert!(drop_large(&mut items));
        assert_eq!(items.len(), DIRECT_MIN_CHUNKS + 1);
        assert!(items.iter().all(|i| i.needed_by != "big"));
        assert!(!drop_large(&mut items));
        assert_eq!(items.len(), DIRECT_MIN_CHUNKS + 1);
    }
}
