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

use std::sync::Arc;

use super::checkout::{checkout, CheckoutOptions};
use super::fetch::FetchOutcome;
use super::pull::{PullOptions, PullReport};
use super::select::select_at;
use super::Session;
use crate::engine::reach::{Missing, Reach};
use crate::engine::read::{ChunkFetch, ChunkSource};
use crate::error::Result;
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
    let ws = s.workspace();
    let selected = select_at(s, opts.rev.as_deref(), &opts.paths, progress)?;
    let (store, _) = s.store_locked(progress)?;
    let resolved = s.remote(opts.remote.as_deref())?;
    let name = resolved.name.clone();
    let mut conn = Connection::open(resolved, &ws.cache_dir(), false)?;
    conn.set_jobs(s.jobs());
    if let Some(w) = waits {
        conn.report_waits_to(w);
    }
    let mut roots: Vec<Id> = selected.iter().map(|(_, ptr, _)| ptr.id()).collect();
    roots.sort();
    roots.dedup();
    let needed_by = match selected.as_slice() {
        [(rel, _, _)] => rel.clone(),
        _ => "the pulled paths".to_string(),
    };
    let source = Arc::new(RangedChunks::new(conn, needed_by, roots.clone()));
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
