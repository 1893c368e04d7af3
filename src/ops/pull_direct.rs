//! `pull --no-cache`: restore straight from the remote into the work tree,
//! writing each byte once, for CI runs and other one-off clones that would
//! never read the cache again.
//!
//! The chunks of every file over [`DIRECT_OVER`] (256 KiB) are read from
//! the remote's packs by range (`transfer::ranged`), decoded and checked
//! against their ids before a byte of them is written, and go to the work
//! tree only. Into the cache go the metadata (directory listings,
//! manifests and segments, the objects `ls` and `cat` fetch) and the data
//! of the files up to that size: fetched with the metadata in pack order,
//! in a few coalesced reads, as a normal pull fetches them, instead of at
//! least one request per file (a directory of 20,000 small files would
//! otherwise cost thousands of requests). The data of large files thus
//! never touches the cache, which is what saves writing a large dataset
//! twice. Everything else is a normal pull: the same plan,
//! the same guard (an un-added edit stops it before anything is written,
//! unless `force`), and the same restore (each file written under a
//! temporary name beside its target, hashed whole against its pointer,
//! then renamed into place), so a damaged or missing remote chunk fails
//! that file and leaves the work tree as it was. Paths whose data the
//! remote lacks are reported in `missing`, as a normal pull reports them.
//!
//! What it gives up: the next checkout of another revision, or a `push`
//! from this clone, finds no data in the cache and has to fetch it.
//!
//! A plain `pull` restores the same way when large files need data
//! (`pull_once`), but keeps the chunks it read in the cache and then
//! fetches what the restore did not read (see `super::pull`).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::checkout::{checkout, CheckoutOptions};
use super::fetch::FetchOutcome;
use super::pull::{drop_large, fetch_rest, plain, remote_damage, PullOptions, PullReport};
use super::select::{select_at, Selected};
use super::Session;
use crate::engine::reach::{Missing, Reach, Sink};
use crate::engine::read::{ChunkFetch, ChunkSource};
use crate::error::{Error, Result};
use crate::hash::Id;
use crate::progress::Progress;
use crate::store::Store;
use crate::transfer::ranged::RangedChunks;
use crate::transfer::{self, Connection};

/// Files larger than this are read by range straight into the work tree;
/// the chunks of smaller ones are fetched into the cache with the metadata.
/// A file of at most 256 KiB costs more in requests than in bytes: read on
/// its own it would be a request per file, where the packs hold such files
/// side by side in an order unrelated to their paths (add stores them as
/// its workers finish them), so only a fetch in pack order reads them in a
/// few requests. Above it, the bytes written twice are what matters.
pub const DIRECT_OVER: u64 = 256 << 10;

/// A pull that writes no chunk of a large file to the cache (see the module comment).
pub fn pull_direct(
    s: &Session,
    opts: PullOptions,
    progress: &dyn Progress,
    waits: super::Waits,
) -> Result<PullReport> {
    let selected = select_at(s, opts.rev.as_deref(), &opts.paths, progress)?;
    let (store, _) = s.store_locked(progress)?;
    let (name, conn) = connect(s, opts.remote.as_deref(), waits)?;
    let mut roots: Vec<Id> = selected.iter().map(|(_, ptr, _)| ptr.id()).collect();
    roots.sort();
    roots.dedup();
    let source = Arc::new(RangedChunks::new(conn, needed_by(&selected), roots.clone()));
    // The chunks manifests list are read later, by range, straight into
    // the work tree; everything else (metadata, and one-chunk files, which
    // a missing manifest stands for) is fetched now.
    // Per pointer, as the last walk found it: whether chunks are missing
    // (the cache then holds its metadata only), and whether all its files
    // were walked (only then does "none missing" mean complete).
    let mut lacking: Vec<(Id, bool, bool)> = Vec::new();
    let mut needs = |st: &Store| -> Result<Vec<Missing>> {
        let mut r = Reach::for_fetch();
        r.chunks_of_files_up_to = Some(DIRECT_OVER);
        lacking.clear();
        for (rel, ptr, only) in &selected {
            let left_out = r.chunks_left_out;
            r.add_pointer_only(st, rel, ptr, only.as_deref())?;
            let chunks = r.chunks_left_out > left_out;
            lacking.push((ptr.id(), chunks, only.is_none()));
        }
        Ok(r.missing)
    };
    let mut fetched = FetchOutcome {
        remote: Some(name),
        ..FetchOutcome::default()
    };
    if !needs(store)?.is_empty() {
        let conn = source.connection();
        let report = transfer::fetch::fetch_roots_lean(conn, store, &roots, &mut needs, progress)?;
        fetched.objects = report.objects;
        fetched.bytes = report.bytes;
        fetched.absent = report.absent;
    }
    // So `status` does not call data cached whose chunks never came.
    let partial: Vec<Id> = lacking.iter().filter(|l| l.1).map(|l| l.0).collect();
    let complete: Vec<Id> = lacking
        .iter()
        .filter(|l| !l.1 && l.2)
        .map(|l| l.0)
        .collect();
    crate::engine::uncached::update(store.root(), &partial, &complete)?;
    let co = CheckoutOptions {
        force: opts.force,
        only_complete: true,
        chunks: Some(ChunkSource(source.clone() as Arc<dyn ChunkFetch>)),
        ..CheckoutOptions::new(opts.rev.clone(), opts.paths.clone())
    };
    let report = checkout(s, co, progress)?;
    let (objects, bytes) = source.downloaded();
    fetched.objects += objects as usize;
    fetched.bytes += bytes;
    fetched.requests = super::Requests {
        reads: source.connection().reads(),
        writes: source.connection().writes(),
    };
    Ok(super::pull::finish(s, opts.rev.as_deref(), fetched, report))
}

/// A connection to the remote `remote` (default: the configured one), and
/// its name.
fn connect(s: &Session, remote: Option<&str>, waits: super::Waits) -> Result<(String, Connection)> {
    let resolved = s.remote(remote)?;
    let name = resolved.name.clone();
    let mut conn = Connection::open(resolved, &s.workspace().cache_dir(), false)?;
    conn.set_jobs(s.jobs());
    if let Some(w) = waits {
        conn.report_waits_to(w);
    }
    Ok((name, conn))
}

/// What a ranged read names in its errors: the one pulled path, if one.
fn needed_by(selected: &Selected) -> String {
    match selected.as_slice() {
        [(rel, _, _)] => rel.clone(),
        _ => "the pulled paths".to_string(),
    }
}

/// A plain `pull` of `selected`, some of whose pointers (`roots`) need data
/// the cache lacks: the large files' chunks read by range during the
/// restore and kept (see `super::pull`'s module comment).
pub(super) fn pull_once(
    s: &Session,
    opts: &PullOptions,
    selected: &Selected,
    roots: Vec<Id>,
    progress: &dyn Progress,
    waits: super::Waits,
) -> Result<PullReport> {
    let (store, _) = s.store_locked(progress)?;
    let (name, conn) = connect(s, opts.remote.as_deref(), waits)?;
    let staged = store.stage();
    let source = RangedChunks::new(conn, needed_by(selected), roots.clone());
    let source = Arc::new(source.keeping(Arc::clone(&staged)));
    let conn = source.connection();
    // Per pointer: whether the fetch left some of its large files' chunks
    // for the restore to read.
    let mut dropped = vec![false; selected.len()];
    let mut needs = |st: &Store, sink: &mut Sink| {
        let mut r = Reach::for_fetch();
        for (k, (rel, ptr, only)) in selected.iter().enumerate() {
            let mut any = false;
            r.add_pointer_streaming(st, rel, ptr, only.as_deref(), &mut |items| {
                any |= drop_large(items);
                sink(items)
            })?;
            dropped[k] |= any;
        }
        Ok(())
    };
    let first = transfer::fetch::fetch_roots_streamed(conn, store, &roots, &mut needs, progress)?;
    let mut fetched = FetchOutcome {
        remote: Some(name),
        objects: first.objects,
        bytes: first.bytes,
        absent: first.absent,
        ..FetchOutcome::default()
    };
    let before = crate::engine::uncached::load(store.root());
    let partial: Vec<Id> = selected
        .iter()
        .zip(&dropped)
        .filter(|(_, &d)| d)
        .map(|((_, ptr, _), _)| ptr.id())
        .collect();
    let report = if partial.is_empty() {
        // The fetch brought everything there is: a plain checkout.
        settle_uncached(store, selected, &before, &fetched.absent)?;
        checkout(s, plain(opts), progress)?
    } else {
        // Durable before the restore: a crash from here on leaves these
        // pointers' data recorded as not cached until a fetch completes it.
        crate::engine::uncached::update(store.root(), &partial, &[])?;
        crate::failpoint::hit("pull.uncached_marked");
        let co = CheckoutOptions {
            chunks: Some(ChunkSource(source.clone() as Arc<dyn ChunkFetch>)),
            ..plain(opts)
        };
        let restored = checkout(s, co, progress);
        // Kept chunks are indexed whatever the restore's outcome: each was
        // checked before it was written.
        let adopted = store.adopt(&staged);
        let (objects, bytes) = source.downloaded();
        fetched.objects += objects as usize;
        fetched.bytes += bytes;
        let rest = match &restored {
            Err(e) if remote_damage(e) => {
                // A damaged or lost remote copy: a plain fetch of it all
                // steps around it if another copy exists (or fails naming
                // it), then the restore reads the cache.
                adopted?;
                let all = vec![true; selected.len()];
                Some(fetch_rest(conn, store, selected, &all, &roots, progress)?)
            }
            Err(Error::UnrecordedChanges { .. }) | Ok(_) => {
                // What the restore did not read, so the cache holds what a
                // fetch would have left (a refused pull included).
                adopted?;
                Some(fetch_rest(
                    conn, store, selected, &dropped, &partial, progress,
                )?)
            }
            Err(_) => None,
        };
        if let Some(rest) = rest {
            fetched.objects += rest.objects;
            fetched.bytes += rest.bytes;
            fetched.absent.extend(rest.absent);
        }
        match restored {
            Ok(report) => report,
            Err(e) if remote_damage(&e) => checkout(s, plain(opts), progress)?,
            Err(e) => {
                if matches!(e, Error::UnrecordedChanges { .. }) {
                    settle_uncached(store, selected, &before, &fetched.absent)?;
                }
                return Err(e);
            }
        }
    };
    settle_uncached(store, selected, &before, &fetched.absent)?;
    fetched.requests = super::Requests {
        reads: conn.reads(),
        writes: conn.writes(),
    };
    Ok(super::pull::finish(s, opts.rev.as_deref(), fetched, report))
}

/// After a pull's fetches: every selected pointer with nothing `absent`
/// below it is complete in the cache, except one pulled only in part
/// (a path inside a directory) that was recorded as not cached before the
/// pull (the rest of its data may still be missing).
fn settle_uncached(
    store: &Store,
    selected: &Selected,
    before: &BTreeSet<Id>,
    absent: &[Missing],
) -> Result<()> {
    let complete: Vec<Id> = selected
        .iter()
        .filter(|(rel, ptr, only)| {
            (only.is_none() || !before.contains(&ptr.id()))
                && !absent.iter().any(|m| {
                    m.needed_by == *rel
                        || m.needed_by
                            .strip_prefix(rel.as_str())
                            .is_some_and(|r| r.starts_with('/'))
                })
        })
        .map(|(_, ptr, _)| ptr.id())
        .collect();
    crate::engine::uncached::update(store.root(), &[], &complete)
}
