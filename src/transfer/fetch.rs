//! `fetch`: download the blobs some pointers need and the cache lacks.
//!
//! Only the needed blobs move: they are located through the remote's index
//! and read with ranged requests, neighbours coalesced into one request
//! when the gap between them is small. Objects are discovered level by level
//! (a directory listing names manifests, a manifest names segments and
//! chunks), so a fetch runs a few rounds, each asking the caller what is
//! still missing. Every blob is decoded and checked against its id before
//! it enters the cache; damaged remote data is refused and named.

use std::collections::{HashMap, HashSet};

use super::fetch_located::{Located, Round};
pub use super::fetch_spans::{coalesce, Span};
use super::fetch_spans::{download, spans_of};
use super::Connection;
use crate::engine::reach::{Missing, Sink};
use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::pack::Entry;
use crate::hash::Id;
use crate::progress::Progress;
use crate::remote::index::RemoteIndex;
use crate::store::Store;

/// Blobs closer than this in a pack are fetched in one request.
pub const COALESCE_GAP: u64 = 256 << 10;
/// A coalesced request covers at most this many bytes.
pub const MAX_RANGE: u64 = 8 << 20;

/// Damaged remote copies a fetch steps around before giving up.
const MAX_REPAIRS: usize = 16;

/// What a streamed fetch asks each round: walk the wanted pointers
/// against the store and hand what is absent to the sink as it is found
/// (see [`crate::engine::reach::Reach::add_pointer_streaming`]).
pub type Needs<'a> = dyn FnMut(&Store, &mut Sink) -> Result<()> + 'a;

/// What a fetch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FetchReport {
    /// Objects downloaded into the cache.
    pub objects: usize,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Objects needed that are neither in the cache nor on the remote (each
    /// named once, with the tracked path that needs it). The fetch gets
    /// everything else; the caller decides whether this is an error.
    pub absent: Vec<Missing>,
}

/// Fetch until `needs` reports nothing missing. `needs` walks the wanted
/// pointers against the store and lists what is absent. Blobs are located
/// through the remote's index files.
pub fn fetch(
    conn: &Connection,
    store: &Store,
    needs: &mut dyn FnMut(&Store) -> Result<Vec<Missing>>,
    progress: &dyn Progress,
) -> Result<FetchReport> {
    fetch_roots(conn, store, &[], needs, progress)
}

/// [`fetch`], for pointers whose top ids are `roots`: their locators
/// (FORMAT.md §15.8) are read first, and the index files only when
/// something needed is in no usable locator. Blobs read through a locator
/// are checked like any other; if reading them fails in any way (a pack
/// gone, a blob that does not match, a range the pack does not have),
/// locators are dropped for the rest of the fetch and what is still
/// missing is located through the index files.
pub fn fetch_roots(
    conn: &Connection,
    store: &Store,
    roots: &[Id],
    needs: &mut dyn FnMut(&Store) -> Result<Vec<Missing>>,
    progress: &dyn Progress,
) -> Result<FetchReport> {
    fetch_roots_as(conn, store, roots, &mut listed(needs), false, progress)
}

/// [`fetch_roots`] for a `needs` that hands what is missing over as its
/// walk finds it: what is placed by the locators is downloaded in batches
/// during the walk, so the whole list is never held.
pub fn fetch_roots_streamed(
    conn: &Connection,
    store: &Store,
    roots: &[Id],
    needs: &mut Needs,
    progress: &dyn Progress,
) -> Result<FetchReport> {
    fetch_roots_as(conn, store, roots, needs, false, progress)
}

/// [`fetch_roots`] that reads the remote's index files only until they
/// place what `needs` asks for, for `pull --no-cache`. What it stores is
/// what a fetch stores: the blobs asked for and every blob inside the
/// ranges read for them (joined across at most [`COALESCE_GAP`]), so the
/// chunks of a large file reach the cache only as a run of under 256 KiB
/// lying between blobs asked for.
pub fn fetch_roots_lean(
    conn: &Connection,
    store: &Store,
    roots: &[Id],
    needs: &mut dyn FnMut(&Store) -> Result<Vec<Missing>>,
    progress: &dyn Progress,
) -> Result<FetchReport> {
    fetch_roots_as(conn, store, roots, &mut listed(needs), true, progress)
}

/// A `needs` that lists everything missing, as a streamed one.
fn listed<'a>(
    needs: &'a mut dyn FnMut(&Store) -> Result<Vec<Missing>>,
) -> impl FnMut(&Store, &mut Sink) -> Result<()> + 'a {
    move |store, sink| {
        let mut all = needs(store)?;
        sink(&mut all)
    }
}

fn fetch_roots_as(
    conn: &Connection,
    store: &Store,
    roots: &[Id],
    needs: &mut Needs,
    lean: bool,
    progress: &dyn Progress,
) -> Result<FetchReport> {
    let mut report = FetchReport::default();
    let mut remote: Option<RemoteIndex> = None;
    // What the locators say (untrusted), read at the first need; what a
    // round fetched through them is marked in their map itself.
    let mut located = Located::new(roots);
    // Fetched through the index files.
    let mut seen: HashSet<(ObjectKind, Id)> = HashSet::new();
    let mut repairs = 0;
    // Damaged or lost copies met on the way: read other copies instead.
    let mut avoid = super::DamageSet::new();
    let mut absent: HashSet<(ObjectKind, Id)> = HashSet::new();
    // Damaged index files: what they listed is unknown, and may be what
    // is missing.
    let mut damaged_files = Vec::new();
    // Why each avoided blob was avoided: when no good copy is left, that
    // damage is the error, not "not on remote".
    let mut damaged: HashMap<(ObjectKind, Id), Error> = HashMap::new();
    // The roots whose top object was found missing: once the fetch is
    // done, each that is not absent came from the remote (recorded for
    // `status`, `super::walked::Fetched`).
    let wanted_roots: HashSet<Id> = roots.iter().copied().collect();
    let mut tops: HashSet<Id> = HashSet::new();
    loop {
        // One walk: what the locators place is downloaded in batches as
        // it is found; the rest is listed for the index files.
        let mut round = Round::default();
        needs(store, &mut |items: &mut Vec<Missing>| {
            items.retain(|m| !absent.contains(&(m.kind, m.id)));
            tops.extend(
                items
                    .iter()
                    .filter(|m| m.kind != ObjectKind::Segment && wanted_roots.contains(&m.id))
                    .map(|m| m.id),
            );
            located.take(conn, store, &mut round, items, progress);
            Ok(())
        })?;
        located.settle(conn, store, &mut round, progress);
        report.objects += round.objects;
        report.bytes += round.bytes;
        if round.failed {
            located.drop_map();
            seen.clear();
            store.flush()?;
            continue;
        }
        if round.fetched {
            store.flush()?;
            crate::failpoint::hit("fetch.round_flushed");
        }
        let missing = round.rest;
        if missing.is_empty() {
            if round.fetched {
                // What just arrived may name more (a listing's files).
                continue;
            }
            record_found(conn, tops, &absent);
            return Ok(report);
        }
        let idx = match &remote {
            Some(i) => i,
            None => {
                // A lean fetch (pull --no-cache) reads index files only
                // until they place everything missing; `fetch` reads them
                // all, as gc and verify, which share this path, must.
                let state = if lean {
                    conn.load_index_until(&avoid, &mut |idx| {
                        missing.iter().all(|m| placed(idx, m.kind, &m.id))
                    })?
                } else {
                    conn.load_index_with(&avoid)?
                };
                damaged_files = state.damaged;
                remote.insert(state.index)
            }
        };
        let mut by_pack: HashMap<Id, Vec<Entry>> = HashMap::new();
        let mut want: HashSet<(ObjectKind, Id)> = HashSet::new();
        for m in &missing {
            // A file of one chunk has no manifest: the chunk has its id.
            let found = idx.get(m.kind, &m.id).or_else(|| {
                (m.kind == ObjectKind::Manifest)
                    .then(|| idx.get(ObjectKind::Chunk, &m.id))
                    .flatten()
            });
            let Some((pack, e)) = found else {
                if let Some((index, why)) = damaged_files.first() {
                    return Err(Error::RemoteIndexDamaged {
                        kind: m.kind,
                        id: m.id,
                        remote: conn.remote.name.clone(),
                        path: m.needed_by.clone().into(),
                        index: index.clone(),
                        reason: *why,
                    });
                }
                let seen_damaged = damaged
                    .remove(&(m.kind, m.id))
                    .or_else(|| damaged.remove(&(ObjectKind::Chunk, m.id)));
                if let Some(err) = seen_damaged {
                    return Err(err);
                }
                if absent.insert((m.kind, m.id)) {
                    report.absent.push(m.clone());
                }
                continue;
            };
            if want.insert((e.kind, e.id)) {
                by_pack.entry(pack).or_default().push(e);
            }
        }
        if want.is_empty() {
            continue;
        }
        if want.iter().all(|k| seen.contains(k)) {
            // Fetched already yet still missing: the store refused them.
            let m = &missing[0];
            return Err(Error::MissingObject {
                kind: m.kind,
                id: m.id,
                path: m.needed_by.clone().into(),
            });
        }
        seen.extend(want.iter().copied());
        let spans = spans_of(idx, by_pack);
        let total: u64 = spans.iter().map(|s| s.range.end - s.range.start).sum();
        progress.begin("fetching", Some(total));
        let r = download(conn, store, spans, progress);
        progress.end();
        let (objects, bytes) = match r {
            // Remember the damaged copy and read the index again: another
            // pack may hold a good copy (a repair push sends one).
            Err(err @ Error::RemoteBlobCorrupt { .. }) if repairs < MAX_REPAIRS => {
                let Error::RemoteBlobCorrupt { pack, kind, id, .. } = &err else {
                    unreachable!("matched just above")
                };
                avoid.insert((*pack, Some((*kind, *id))));
                damaged.insert((*kind, *id), err);
                repairs += 1;
                remote = None;
                seen.clear();
                store.flush()?;
                continue;
            }
            Err(Error::RemotePackMissing { pack, .. }) if repairs < MAX_REPAIRS => {
                avoid.insert((pack, None));
                repairs += 1;
                remote = None;
                seen.clear();
                store.flush()?;
                continue;
            }
            r => r?,
        };
        report.objects += objects;
        report.bytes += bytes;
        store.flush()?;
        crate::failpoint::hit("fetch.round_flushed");
    }
}

/// Record the roots whose top object was fetched (`tops`, less what was
/// absent) as found on the remote: a push sends everything below a top
/// object before the index file that lists it, and a locator is written
/// only for a root complete on the remote, so either way the root was
/// complete there. Best effort, like every record of the cache.
fn record_found(conn: &Connection, mut tops: HashSet<Id>, absent: &HashSet<(ObjectKind, Id)>) {
    let absent: HashSet<&Id> = absent.iter().map(|(_, id)| id).collect();
    tops.retain(|id| !absent.contains(id));
    let mut found: Vec<Id> = tops.into_iter().collect();
    found.sort_unstable();
    super::walked::Fetched::add_in(&conn.index_cache, &found);
}

/// Whether `idx` places `(kind, id)` (a manifest also as the chunk a file
/// of one chunk is stored as).
fn placed(idx: &RemoteIndex, kind: ObjectKind, id: &Id) -> bool {
    idx.contains(kind, id) || (kind == ObjectKind::Manifest && idx.contains(ObjectKind::Chunk, id))
}
