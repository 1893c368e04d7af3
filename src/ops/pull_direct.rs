//! `pull --no-cache`: restore straight from the remote into the work tree,
//! writing each byte once, for CI runs and other one-off clones that would
//! never read the cache again.
//!
//! The chunks of every file of more than one chunk (over 16 KiB, nearly
//! always; every file over 256 KiB) are read from the remote's packs by
//! range (`transfer::ranged`), decoded and checked against their ids
//! before a byte of them is written, and go to the work tree only. Into
//! the cache go the metadata (directory listings, manifests and segments,
//! the objects `ls` and `cat` fetch) and the files of one chunk, which have
//! no manifest and are stored as that chunk: fetched with the metadata, in
//! a few coalesced reads, as a normal pull fetches them, instead of one
//! request per file (a directory of 20,000 small files would otherwise
//! cost 20,000 requests). The data of large files thus never touches the
//! cache, which is what saves writing a large dataset twice. Everything else is a normal pull: the same plan,
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
use crate::format::kind::ObjectKind;
use crate::hash::Id;
use crate::progress::Progress;
use crate::store::Store;
use crate::transfer::ranged::RangedChunks;
use crate::transfer::{self, Connection};

/// A pull that writes no chunk to the cache (see the module comment).
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
        lacking.clear();
        for (rel, ptr, only) in &selected {
            let at = r.missing.len();
            r.add_pointer_only(st, rel, ptr, only.as_deref())?;
            let chunks = r.missing[at..].iter().any(|m| m.kind == ObjectKind::Chunk);
            lacking.push((ptr.id(), chunks, only.is_none()));
        }
        Ok(r.missing
            .into_iter()
            .filter(|m| m.kind != ObjectKind::Chunk)
            .collect())
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
