//! `gc [--remote NAME|URL]`: drop data that nothing reachable needs, in the
//! cache or on a remote.
//!
//! Both sides start from the same root set, `crate::engine::gc::live_pointers`
//! (the work tree and every pointer git keeps), and the same grace period.
//! Locally, unreachable blobs in packs older than the grace period go at
//! once (`crate::engine::gc`); a shared cache, which may hold other repositories'
//! data, is refused unless asked. On a remote, dead packs are condemned and
//! deleted only by a run at least a grace period later
//! (`crate::transfer::collect`, FORMAT.md §15.6). Nothing here prints.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::fetch::Selected;
use super::Requests;
use crate::engine::reach::Reach;
use crate::error::{Error, GcRefusal, Result};
use crate::format::kind::ObjectKind;
use crate::progress::Progress;
use crate::repo::workspace::Workspace;

use super::Session;
use crate::store::Store;
use crate::transfer::{collect, fetch, Connection};

#[derive(Debug, Clone, Default)]
pub struct GcOptions {
    /// The grace period as text (`0`, `12h`, `1d`); default `gc.grace`,
    /// else one day.
    pub grace: Option<String>,
    pub dry_run: bool,
    /// Collect a cache configured elsewhere (`cache.dir`) anyway.
    pub shared_cache: bool,
    /// Collect on this remote (a name or URL) instead of the cache.
    pub remote: Option<String>,
}

/// What gc did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "where", rename_all = "kebab-case")]
pub enum GcReport {
    Cache(CacheGc),
    Remote(RemoteGc),
}

#[derive(Debug, Clone, Serialize)]
pub struct CacheGc {
    pub dry_run: bool,
    pub grace: String,
    #[serde(rename = "bytes_freed")]
    pub freed_bytes: u64,
    pub objects_dropped: usize,
    pub packs_deleted: usize,
    pub packs_rewritten: usize,
    pub bytes_kept_by_rewrites: u64,
    pub packs_young: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct RemoteGc {
    pub dry_run: bool,
    pub grace: String,
    pub remote: String,
    #[serde(rename = "bytes_freed")]
    pub freed_bytes: u64,
    pub packs_deleted: usize,
    pub packs_rewritten: usize,
    pub bytes_kept_by_rewrites: u64,
    /// Packs condemned after this run (deleted by a run a grace period
    /// later if still dead), their bytes, and how many this run added.
    pub packs_condemned: usize,
    pub bytes_condemned: u64,
    pub packs_newly_condemned: usize,
    pub packs_kept: usize,
    pub bytes_kept: u64,
    pub packs_young: usize,
    /// Condemned packs changed since their condemnation, so kept.
    pub packs_spared: usize,
    /// Condemned packs in use again, so no longer condemned.
    pub packs_uncondemned: usize,
    /// Packs an index lists but the remote lacks: their objects now count
    /// as absent, so a push sends them again.
    pub packs_lost: usize,
    /// Partial uploads of interrupted pushes removed (folder remotes).
    pub partial_uploads: usize,
    #[serde(rename = "bytes_partial_uploads")]
    pub partial_bytes: u64,
    /// Locators (FORMAT.md §15.8) that named packs this run condemned or
    /// deleted: rewritten for live pointers, deleted for the others.
    pub locators_rewritten: usize,
    pub locators_deleted: usize,
    pub requests: Requests,
}

/// Run gc as `opts` says.
pub fn gc(
    s: &Session,
    opts: GcOptions,
    progress: &dyn Progress,
    waits: super::Waits,
) -> Result<GcReport> {
    let ws = s.workspace();
    s.lock()?;
    let (store, _) = s.store_locked(progress)?;
    let (grace, grace_text) = grace(ws, opts.grace.as_deref())?;
    let git = s.require_git()?;
    // A shallow clone sees only the newest commits: everything older
    // tags and branches need (on the remote, every clone's) would look dead.
    if git.is_shallow() {
        return Err(Error::GcRefused {
            reason: GcRefusal::ShallowClone,
        });
    }
    let live = crate::engine::gc::live_pointers(ws, git, progress)?;
    if let Some(remote) = &opts.remote {
        return collect_remote(
            s, store, remote, live, grace, grace_text, &opts, progress, waits,
        )
        .map(GcReport::Remote);
    }
    if ws.config().cache_dir.is_some() && !opts.shared_cache {
        return Err(Error::GcRefused {
            reason: GcRefusal::SharedCache,
        });
    }
    let mut reach = Reach::marking();
    for (rel, ptr) in live {
        reach.add_pointer(store, &rel, &ptr)?;
    }
    let live = |kind, id: &_| reach.reached(store, kind, id);
    let plan = crate::engine::gc::plan(store, live, grace, SystemTime::now());
    if !opts.dry_run {
        crate::engine::gc::execute(store, &plan)?;
    }
    Ok(GcReport::Cache(CacheGc {
        dry_run: opts.dry_run,
        grace: grace_text,
        freed_bytes: plan.removed_bytes().saturating_sub(plan.copied_bytes()),
        objects_dropped: plan.dropped_objects(),
        packs_deleted: plan.delete.len(),
        packs_rewritten: plan.rewrite.len(),
        bytes_kept_by_rewrites: plan.copied_bytes(),
        packs_young: plan.young,
    }))
}

/// The grace period from the option, else `gc.grace`, else one day.
fn grace(ws: &Workspace, flag: Option<&str>) -> Result<(Duration, String)> {
    let text = flag
        .map(str::to_string)
        .or_else(|| ws.config().gc_grace.clone())
        .unwrap_or_else(|| "1d".to_string());
    let d = crate::engine::gc::parse_duration(&text).ok_or_else(|| Error::ConfigValue {
        key: "gc.grace",
        value: text.clone(),
        reason: "expected a number with an optional unit s, m, h, d or w",
    })?;
    Ok((d, text))
}

#[allow(clippy::too_many_arguments)]
fn collect_remote(
    s: &Session,
    store: &Store,
    remote: &str,
    live: Vec<crate::repo::history::Tracked>,
    grace: Duration,
    grace_text: String,
    opts: &GcOptions,
    progress: &dyn Progress,
    waits: super::Waits,
) -> Result<RemoteGc> {
    let ws = s.workspace();
    let resolved = s.remote(Some(remote))?;
    let name = resolved.name.clone();
    let mut conn = Connection::open(resolved, &ws.cache_dir(), true)?;
    conn.set_jobs(s.jobs());
    if let Some(w) = waits {
        conn.report_waits_to(w);
    }
    let selected: Selected = live
        .into_iter()
        .map(|(rel, ptr)| (rel, ptr, None))
        .collect();
    let state = conn.load_index()?;
    // A marking walk: what it reaches is a bit per cached blob, not a set
    // of keys (at a million files, the difference is about 100 MB).
    let mark = |s: &Store| -> Result<Reach> {
        let mut r = Reach::marking();
        for (rel, ptr, only) in &selected {
            r.add_pointer_only(s, rel, ptr, only.as_deref())?;
        }
        Ok(r)
    };
    // Listings, manifests and segments the cache lacks are read from the
    // remote (they say which chunks are live); chunks themselves are not.
    let idx = &state.index;
    let mut needs = |s: &Store| {
        mark(s).map(|r| {
            r.missing
                .into_iter()
                .filter(|m| m.kind != ObjectKind::Chunk && idx.contains(m.kind, &m.id))
                .collect()
        })
    };
    fetch::fetch(&conn, store, &mut needs, progress)?;
    let mut r = mark(store)?;
    // Everything reached is live, what the cache lacks included (the walk
    // marks it too); a file whose manifest is missing may be a one-chunk
    // file, stored as that chunk.
    let one_chunk: std::collections::HashSet<crate::hash::Id> = r
        .missing
        .drain(..)
        .filter(|m| m.kind == ObjectKind::Manifest)
        .map(|m| m.id)
        .collect();
    let live = |kind, id: &crate::hash::Id| {
        r.reached(store, kind, id) || (kind == ObjectKind::Chunk && one_chunk.contains(id))
    };
    let packs = conn.list(crate::remote::index::PACK_DIR)?;
    let plan = collect::plan(&state, &packs, live, grace, SystemTime::now())?;
    let done = if opts.dry_run {
        collect::Collected {
            deleted: plan.delete.len(),
            deleted_bytes: plan.due_bytes(),
            spared: 0,
            locators: Default::default(),
        }
    } else {
        // A live pointer's blobs, for rewriting its locator: walked in the
        // cache, which now holds every live listing, manifest and segment.
        let by_root: std::collections::HashMap<
            crate::hash::Id,
            (&String, &crate::format::pointer::Pointer),
        > = selected
            .iter()
            .map(|(rel, ptr, _)| (ptr.id(), (rel, ptr)))
            .collect();
        let live_root = |root: &crate::hash::Id| {
            let (rel, ptr) = by_root.get(root)?;
            crate::transfer::locate::root_blobs(store, rel, ptr)
                .ok()
                .flatten()
        };
        collect::execute(&conn, &plan, &live_root, progress)?
    };
    let (partial, partial_bytes) = conn.sweep_staging(grace, SystemTime::now(), opts.dry_run)?;
    Ok(RemoteGc {
        dry_run: opts.dry_run,
        grace: grace_text,
        remote: name,
        freed_bytes: done.deleted_bytes,
        packs_deleted: done.deleted,
        packs_rewritten: plan.rewrite.len(),
        bytes_kept_by_rewrites: plan.copied_bytes(),
        packs_condemned: plan.condemn.len(),
        bytes_condemned: plan.condemned_bytes(),
        packs_newly_condemned: plan.fresh,
        packs_kept: plan.keep.len(),
        bytes_kept: plan.kept_bytes(),
        packs_young: plan.young,
        packs_spared: done.spared,
        packs_uncondemned: plan.uncondemned,
        packs_lost: plan.lost,
        partial_uploads: partial,
        partial_bytes,
        locators_rewritten: done.locators.rewritten,
        locators_deleted: done.locators.deleted,
        requests: Requests {
            reads: conn.reads(),
            writes: conn.writes(),
        },
    })
}
