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
use std::ops::Range;

use futures::StreamExt;
use rayon::prelude::*;

use super::blob_map::BlobMap;
use super::Connection;
use crate::engine::reach::Missing;
use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::pack::Entry;
use crate::hash::Id;
use crate::progress::Progress;
use crate::remote::index::{self, RemoteIndex};
use crate::store::Store;

/// Blobs closer than this in a pack are fetched in one request.
pub const COALESCE_GAP: u64 = 256 << 10;
/// A coalesced request covers at most this many bytes.
pub const MAX_RANGE: u64 = 8 << 20;

/// Damaged remote copies a fetch steps around before giving up.
const MAX_REPAIRS: usize = 16;

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

/// A byte range of one remote pack and the blobs inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub pack: Id,
    pub range: Range<u64>,
    pub blobs: Vec<Entry>,
}

/// Group the needed blobs of one pack into coalesced ranges: neighbours
/// at most `gap` bytes apart share one, up to [`MAX_RANGE`] bytes. A fetch
/// joins across [`COALESCE_GAP`] (it keeps what lies between); a streaming
/// read, which keeps nothing, across much less.
pub fn coalesce(pack: Id, mut blobs: Vec<Entry>, gap: u64) -> Vec<Span> {
    blobs.sort_by_key(|e| e.offset);
    let mut out: Vec<Span> = Vec::new();
    for e in blobs {
        let end = e.offset + e.stored_len as u64;
        match out.last_mut() {
            Some(s)
                if e.offset >= s.range.end
                    && e.offset - s.range.end <= gap
                    && end - s.range.start <= MAX_RANGE =>
            {
                s.range.end = end;
                s.blobs.push(e);
            }
            _ => out.push(Span {
                pack,
                range: e.offset..end,
                blobs: vec![e],
            }),
        }
    }
    out
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
    fetch_roots_as(conn, store, roots, needs, false, progress)
}

/// [`fetch_roots`] that stores only what `needs` asks for: ranges join
/// across at most [`super::ranged::GAP`] and the blobs in between are
/// dropped, not cached. For `pull --no-cache`, whose metadata shares packs
/// with the large files' chunks it must not write to the cache.
pub fn fetch_roots_lean(
    conn: &Connection,
    store: &Store,
    roots: &[Id],
    needs: &mut dyn FnMut(&Store) -> Result<Vec<Missing>>,
    progress: &dyn Progress,
) -> Result<FetchReport> {
    fetch_roots_as(conn, store, roots, needs, true, progress)
}

fn fetch_roots_as(
    conn: &Connection,
    store: &Store,
    roots: &[Id],
    needs: &mut dyn FnMut(&Store) -> Result<Vec<Missing>>,
    lean: bool,
    progress: &dyn Progress,
) -> Result<FetchReport> {
    let mut report = FetchReport::default();
    let mut remote: Option<RemoteIndex> = None;
    // What the locators say (untrusted), read at the first round.
    let mut located: Option<BlobMap> = None;
    let mut locators_read = roots.is_empty();
    // Fetched through the index files (what the locators placed and a
    // round fetched is marked in `located` itself).
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
    loop {
        let mut missing = needs(store)?;
        missing.retain(|m| !absent.contains(&(m.kind, m.id)));
        if missing.is_empty() {
            return Ok(report);
        }
        if !locators_read {
            locators_read = true;
            let found = conn.read_locators(roots);
            if !found.is_empty() {
                located = Some(BlobMap::merge(found));
            }
        }
        if let Some(loc) = located.as_mut() {
            // The missing list goes as it is sorted out: a million of them
            // are not held next to the spans that fetch them.
            let (want, rest) = through_locators(loc, missing);
            missing = rest;
            if !want.is_empty() {
                for &i in &want {
                    loc.mark_fetched(i);
                }
                let r = download_located(conn, store, loc, &want, lean, progress);
                drop(want);
                match r {
                    Ok((objects, bytes)) => {
                        report.objects += objects;
                        report.bytes += bytes;
                        store.flush()?;
                        crate::failpoint::hit("fetch.round_flushed");
                        if missing.is_empty() {
                            continue;
                        }
                        // The rest, in no locator, through the index.
                    }
                    Err(_) => {
                        // Stale or lying: whatever it was, the index
                        // files decide from here (they report real
                        // failures).
                        located = None;
                        seen.clear();
                        store.flush()?;
                        continue;
                    }
                }
            }
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
        let spans = spans_of(idx, by_pack, lean);
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

/// Whether `idx` places `(kind, id)` (a manifest also as the chunk a file
/// of one chunk is stored as).
fn placed(idx: &RemoteIndex, kind: ObjectKind, id: &Id) -> bool {
    idx.contains(kind, id) || (kind == ObjectKind::Manifest && idx.contains(ObjectKind::Chunk, id))
}

/// Sort `missing` by what the locators say: the records of the blobs
/// `loc` places and no earlier round fetched (each once, in pack and
/// offset order), and the missing blobs it does not place.
fn through_locators(loc: &BlobMap, missing: Vec<Missing>) -> (Vec<u32>, Vec<Missing>) {
    let mut want = Vec::new();
    let mut rest = Vec::new();
    for m in missing {
        // A file of one chunk has no manifest: the chunk has its id.
        let found = loc.find(m.kind, &m.id).or_else(|| {
            (m.kind == ObjectKind::Manifest)
                .then(|| loc.find(ObjectKind::Chunk, &m.id))
                .flatten()
        });
        match found {
            Some(i) if !loc.was_fetched(i) => want.push(i),
            _ => rest.push(m),
        }
    }
    want.sort_unstable_by_key(|&i| loc.place(i));
    want.dedup();
    (want, rest)
}

/// Blobs a located fetch downloads and stores before it plans the next
/// spans: what it holds at once (their entries, the read buffers in
/// flight) stays bounded whatever the number of files.
const BATCH_BLOBS: usize = 1 << 15;

/// What [`located_spans`] calls with each span: pack number, byte range,
/// member records.
type SpanVisitor<'a> = dyn FnMut(u32, Range<u64>, &[u32]) -> Result<()> + 'a;

/// Call `f` with each coalesced span of `want` (record numbers of `loc`
/// in pack and offset order): its pack number, byte range and members, as
/// [`coalesce`] groups them.
fn located_spans(loc: &BlobMap, want: &[u32], gap: u64, f: &mut SpanVisitor) -> Result<()> {
    let mut start = 0;
    while start < want.len() {
        let (pack, offset) = loc.place(want[start]);
        let mut range = offset..offset + u64::from(loc.at(want[start]).1.stored_len);
        let mut end = start + 1;
        while end < want.len() {
            let (p, o) = loc.place(want[end]);
            let to = o + u64::from(loc.at(want[end]).1.stored_len);
            if p != pack || o < range.end || o - range.end > gap || to - range.start > MAX_RANGE {
                break;
            }
            range.end = to;
            end += 1;
        }
        f(pack, range, &want[start..end])?;
        start = end;
    }
    Ok(())
}

/// Download the blobs `want` (see [`located_spans`]) in batches of about
/// [`BATCH_BLOBS`], each stored before the next is planned. Not `lean`:
/// every blob the locators place inside a span is stored (its bytes
/// arrive anyway); `lean`: a small gap, and only the wanted blobs.
fn download_located(
    conn: &Connection,
    store: &Store,
    loc: &BlobMap,
    want: &[u32],
    lean: bool,
    progress: &dyn Progress,
) -> Result<(usize, u64)> {
    let gap = if lean {
        super::ranged::GAP
    } else {
        COALESCE_GAP
    };
    let mut total = 0;
    located_spans(loc, want, gap, &mut |_, range, _| {
        total += range.end - range.start;
        Ok(())
    })?;
    progress.begin("fetching", Some(total));
    let (mut objects, mut bytes) = (0, 0);
    let mut batch: Vec<Span> = Vec::new();
    let mut held = 0;
    let mut flush = |batch: &mut Vec<Span>, held: &mut usize| -> Result<()> {
        let (o, b) = download(conn, store, std::mem::take(batch), progress)?;
        objects += o;
        bytes += b;
        *held = 0;
        Ok(())
    };
    let r = located_spans(loc, want, gap, &mut |pack, range, members| {
        let blobs: Vec<Entry> = if lean {
            members.iter().map(|&i| loc.at(i).1).collect()
        } else {
            loc.inside(pack, range.clone())
                .map(|i| loc.at(i).1)
                .collect()
        };
        held += blobs.len();
        batch.push(Span {
            pack: loc.pack(pack).id,
            range,
            blobs,
        });
        if held >= BATCH_BLOBS {
            flush(&mut batch, &mut held)?;
        }
        Ok(())
    })
    .and_then(|()| flush(&mut batch, &mut held));
    progress.end();
    r.map(|()| (objects, bytes))
}

/// Coalesced spans for the blobs wanted from each pack, each keeping every
/// blob `idx` knows inside its range (the bytes arrive anyway, and a later
/// round would otherwise download them again). `lean`: a small gap, and
/// only the wanted blobs are kept.
fn spans_of(idx: &RemoteIndex, by_pack: HashMap<Id, Vec<Entry>>, lean: bool) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    if lean {
        for (pack, blobs) in by_pack {
            spans.extend(coalesce(pack, blobs, super::ranged::GAP));
        }
        spans.sort_by_key(|s| (s.pack, s.range.start));
        return spans;
    }
    for (pack, blobs) in by_pack {
        let mut all = idx
            .packs
            .get(&pack)
            .map_or_else(|| blobs.clone(), |p| p.entries.clone());
        all.sort_by_key(|e| e.offset);
        for mut span in coalesce(pack, blobs, COALESCE_GAP) {
            let from = all.partition_point(|e| e.offset < span.range.start);
            span.blobs = all[from..]
                .iter()
                .take_while(|e| e.offset + e.stored_len as u64 <= span.range.end)
                .copied()
                .collect();
            spans.push(span);
        }
    }
    spans.sort_by_key(|s| (s.pack, s.range.start));
    spans
}

/// Download `spans` with bounded concurrency and store their blobs.
fn download(
    conn: &Connection,
    store: &Store,
    spans: Vec<Span>,
    progress: &dyn Progress,
) -> Result<(usize, u64)> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    std::thread::scope(|s| {
        let downloader = s.spawn(move || {
            conn.rt.block_on(async {
                let mut stream = futures::stream::iter(spans)
                    .map(|span| async move {
                        let rel = index::pack_path(&span.pack);
                        let bytes = match conn.get_range_async(&rel, span.range.clone()).await {
                            Err(Error::Remote {
                                failure: crate::error::RemoteFailure::NotFound,
                                ..
                            }) => {
                                return Err(Error::RemotePackMissing {
                                    remote: conn.remote.name.clone(),
                                    pack: span.pack,
                                })
                            }
                            r => r?,
                        };
                        Ok::<_, Error>((span, bytes))
                    })
                    .buffer_unordered(conn.jobs().downloads);
                while let Some(item) = stream.next().await {
                    let stop = item.is_err();
                    if tx.send(item).await.is_err() || stop {
                        break;
                    }
                }
            })
        });
        let mut objects = 0usize;
        let mut bytes = 0u64;
        let mut result = Ok(());
        while let Some(item) = rx.blocking_recv() {
            let r = item.and_then(|(span, data)| {
                let len = span.range.end - span.range.start;
                if data.len() as u64 != len {
                    return Err(Error::RemoteCorrupt {
                        remote: conn.remote.name.clone(),
                        object: index::pack_path(&span.pack),
                        reason: format!("a read of {len} bytes returned {}", data.len()),
                    });
                }
                span.blobs.par_iter().try_for_each(|e| {
                    let at = (e.offset - span.range.start) as usize;
                    let stored = &data[at..at + e.stored_len as usize];
                    match store.put_encoded(e.kind, e.id, e.codec, stored, e.raw_len) {
                        Err(Error::CorruptObject { cause, .. }) => Err(Error::RemoteBlobCorrupt {
                            remote: conn.remote.name.clone(),
                            pack: span.pack,
                            kind: e.kind,
                            id: e.id,
                            cause,
                        }),
                        r => r.map(|_| ()),
                    }
                })?;
                crate::failpoint::hit("fetch.span_stored");
                progress.advance(len);
                objects += span.blobs.len();
                bytes += len;
                Ok(())
            });
            if let Err(e) = r {
                result = Err(e);
                break;
            }
        }
        drop(rx);
        let _ = downloader.join();
        result.map(|_| (objects, bytes))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::codec::Codec;

    fn e(offset: u64, len: u32) -> Entry {
        Entry {
            id: Id::of(&offset.to_le_bytes()),
            kind: ObjectKind::Chunk,
            codec: Codec::Raw,
            offset,
            stored_len: len,
            raw_len: len,
        }
    }

    #[test]
    fn neighbours_coalesce_and_far_blobs_do_not() {
        let p = Id::of(b"p");
        let spans = coalesce(
            p,
            vec![e(16 + 200, 100), e(16, 100), e(16 + 10_000_000, 5)],
            COALESCE_GAP,
        );
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].range, 16..316);
        assert_eq!(spans[0].blobs.len(), 2);
        assert_eq!(spans[1].range, 10_000_016..10_000_021);
    }

    #[test]
    fn ranges_stay_bounded() {
        let p = Id::of(b"p");
        let blobs: Vec<Entry> = (0..100).map(|i| e(16 + i * (1 << 20), 1 << 20)).collect();
        let spans = coalesce(p, blobs, COALESCE_GAP);
        assert!(spans
            .iter()
            .all(|s| s.range.end - s.range.start <= MAX_RANGE));
        assert_eq!(spans.iter().map(|s| s.blobs.len()).sum::<usize>(), 100);
    }
}
