//! Chunks read straight from a remote's packs by byte range, for a reader
//! that streams one file (`engine::read::FileReader`) without fetching it
//! into the cache first.
//!
//! The pointer's locator (FORMAT.md §15.8), when the remote has one, says
//! which pack holds each chunk and where; otherwise, or when the locator
//! fails in any way (a chunk it lacks, a pack gone, bytes that do not
//! match), the remote's index files do (through their local cache, as a
//! fetch reads them, newest first and only until they place the chunks
//! asked for, so a remote's size does not set the cost). The chunks
//! of one request are grouped per pack into ranges, neighbours closer than
//! [`GAP`] sharing one ranged read, and the ranges are read concurrently.
//! Every chunk is decoded and checked against its id before it is handed
//! over; a damaged copy is an error naming the pack, never bytes. A
//! restore takes a batch with [`ChunkFetch::fetch_into`], which decodes
//! each chunk straight into its place in the batch and checks it there,
//! so no chunk is decoded into a buffer of its own and copied. By
//! default nothing is written to the cache: what a reader reads once is not
//! worth keeping, and a file read this way costs no disk. A plain `pull`
//! keeps them ([`RangedChunks::keeping`]): each chunk, once checked, is
//! appended as it arrived (still compressed) to packs the store adopts
//! after the restore (`store::Staged`), so the cache ends up holding what a
//! fetch would have put there while every byte is decoded once.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::{StreamExt, TryStreamExt};
use rayon::prelude::*;

use super::blob_map::BlobMap;
use super::fetch::{coalesce, Span};
use super::Connection;
use crate::engine::read::ChunkFetch;
use crate::error::{Error, RemoteFailure, Result};
use crate::format::kind::ObjectKind;
use crate::format::object::Piece;
use crate::format::pack::Entry;
use crate::hash::Id;
use crate::remote::index::{self, RemoteIndex};
use crate::store::Staged;

/// Chunks closer than this in a pack are read in one request. Smaller than
/// a fetch's gap: a reader that seeks wants few bytes it did not ask for.
pub const GAP: u64 = 32 << 10;

/// The longest ranged read: one part ([`crate::remote::PART`], 16 MiB),
/// the most a download in flight may hold (`transfer::jobs`). A restore
/// asks for 16 MiB of a file at a time; cut at a fetch's 8 MiB, each such
/// round was two full reads and a third of a few KiB (the bytes by which
/// its chunks, stored, overran 16 MiB), half again as many requests.
pub const MAX_READ: u64 = crate::remote::PART as u64;

/// The index, once read, and the damaged index files it could not use.
struct Loaded {
    index: RemoteIndex,
    /// Every index file was read (else absent means "not found yet").
    complete: bool,
    damaged: Vec<(String, index::IndexError)>,
}

/// Chunks of one remote, read by range.
pub struct RangedChunks {
    conn: Connection,
    loaded: Mutex<Option<Arc<Loaded>>>,
    /// The roots whose locators are tried first.
    roots: Vec<Id>,
    /// What the locators say (untrusted): `None` until read, then
    /// `Some(None)` once there are none or one failed.
    located: Mutex<Option<Option<Arc<BlobMap>>>>,
    /// The tracked path being read, for errors.
    needed_by: String,
    objects: AtomicU64,
    bytes: AtomicU64,
    /// Where checked chunks are kept, if anywhere.
    keep: Option<Arc<Staged>>,
}

impl RangedChunks {
    /// Read chunks of `needed_by` (a tracked path, for messages) from the
    /// remote `conn` is connected to, through the locators of `roots` (the
    /// pointer's id) first.
    pub fn new(conn: Connection, needed_by: impl Into<String>, roots: Vec<Id>) -> RangedChunks {
        RangedChunks {
            conn,
            loaded: Mutex::new(None),
            roots,
            located: Mutex::new(None),
            needed_by: needed_by.into(),
            objects: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            keep: None,
        }
    }

    /// Also keep every chunk read, once checked, in `staged` (which the
    /// caller hands to `Store::adopt` when the reading is done).
    pub fn keeping(mut self, staged: Arc<Staged>) -> RangedChunks {
        self.keep = Some(staged);
        self
    }

    /// The connection, for other transfers on the same remote.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Chunks handed over so far, and the bytes downloaded for them.
    pub fn downloaded(&self) -> (u64, u64) {
        (
            self.objects.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }

    /// The index files read so far, read further (newest first) until they
    /// place every chunk of `ids` or none is left: a file of recent data
    /// costs recent index files, not the whole remote's.
    fn index(&self, ids: &[Id]) -> Result<Arc<Loaded>> {
        let mut slot = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = &*slot {
            if l.complete || ids.iter().all(|id| l.index.contains(ObjectKind::Chunk, id)) {
                return Ok(Arc::clone(l));
            }
        }
        let state = self
            .conn
            .load_index_until(&super::DamageSet::new(), &mut |idx| {
                ids.iter().all(|id| idx.contains(ObjectKind::Chunk, id))
            })?;
        let l = Arc::new(Loaded {
            complete: state.unread.is_empty(),
            index: state.index,
            damaged: state.damaged,
        });
        *slot = Some(Arc::clone(&l));
        Ok(l)
    }

    /// The locators' index, read at the first call.
    fn located(&self) -> Option<Arc<BlobMap>> {
        let mut slot = self.located.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            let found = if self.roots.is_empty() {
                Vec::new()
            } else {
                self.conn.read_locators(&self.roots)
            };
            *slot = Some((!found.is_empty()).then(|| Arc::new(BlobMap::merge(found))));
        }
        slot.clone().flatten()
    }

    /// Stop trusting the locators for the rest of this reader's life.
    fn drop_locators(&self) {
        *self.located.lock().unwrap_or_else(|p| p.into_inner()) = Some(None);
    }

    /// `pieces` through the locators, when they place every one, read by
    /// `get` (a download); `None` when they do not, or fail (the index
    /// files decide then).
    fn through_locators<T>(
        &self,
        pieces: &[Piece],
        get: impl FnOnce(Vec<Span>) -> Result<T>,
    ) -> Option<T> {
        let loc = self.located()?;
        let mut by_pack: HashMap<Id, Vec<Entry>> = HashMap::new();
        let mut seen = HashSet::new();
        for p in pieces {
            if seen.insert(p.id) {
                let (pack, e) = loc.get(ObjectKind::Chunk, &p.id)?;
                by_pack.entry(pack).or_default().push(e);
            }
        }
        let spans = by_pack
            .into_iter()
            .flat_map(|(pack, blobs)| reads(pack, blobs))
            .collect();
        match get(spans) {
            Ok(raw) => Some(raw),
            Err(_) => {
                self.drop_locators();
                None
            }
        }
    }

    /// Where each of `pieces` is, grouped into ranged reads.
    fn plan(&self, loaded: &Loaded, pieces: &[Piece]) -> Result<Vec<Span>> {
        let mut by_pack: HashMap<Id, Vec<Entry>> = HashMap::new();
        let mut seen = HashSet::new();
        for p in pieces {
            if !seen.insert(p.id) {
                continue;
            }
            let Some((pack, e)) = loaded.index.get(ObjectKind::Chunk, &p.id) else {
                if let Some((file, why)) = loaded.damaged.first() {
                    return Err(Error::RemoteIndexDamaged {
                        kind: ObjectKind::Chunk,
                        id: p.id,
                        remote: self.conn.remote.name.clone(),
                        path: self.needed_by.clone().into(),
                        index: file.clone(),
                        reason: *why,
                    });
                }
                return Err(Error::NotOnRemote {
                    kind: ObjectKind::Chunk,
                    id: p.id,
                    remote: self.conn.remote.name.clone(),
                    path: self.needed_by.clone().into(),
                });
            };
            by_pack.entry(pack).or_default().push(e);
        }
        let mut spans: Vec<Span> = by_pack
            .into_iter()
            .flat_map(|(pack, blobs)| reads(pack, blobs))
            .collect();
        spans.sort_by_key(|s| (s.pack, s.range.start));
        Ok(spans)
    }

    /// Download `spans` concurrently and decode and check every blob in
    /// them, by id.
    fn download(&self, spans: Vec<Span>) -> Result<HashMap<Id, Vec<u8>>> {
        let mut out = HashMap::new();
        for (span, data) in self.get_spans(spans)? {
            let decoded: Vec<(Id, Vec<u8>)> = span
                .blobs
                .par_iter()
                .map(|e| {
                    let stored = stored_in(&span, &data, e);
                    let checked = match &self.keep {
                        Some(keep) => keep.decode_keep(e.kind, &e.id, e.codec, stored, e.raw_len),
                        None => {
                            crate::store::decode_checked(e.kind, &e.id, e.codec, &stored, e.raw_len)
                                .map(Ok)
                        }
                    };
                    self.named(&span, e, checked)
                        .and_then(|raw| raw.map(|raw| (e.id, raw)))
                })
                .collect::<Result<_>>()?;
            out.extend(decoded);
        }
        Ok(out)
    }

    /// Download `spans` and decode and check each blob in them straight
    /// into its place in `out`, where `pieces` lie end to end (see
    /// [`ChunkFetch::fetch_into`]): no blob is decoded into a buffer of
    /// its own and then copied. A chunk `pieces` repeats is decoded into
    /// its first place and copied to the others.
    fn download_into(&self, spans: Vec<Span>, pieces: &[Piece], out: &mut [u8]) -> Result<()> {
        let mut first: HashMap<Id, usize> = HashMap::new();
        let mut places = Vec::with_capacity(pieces.len());
        let mut slots: Vec<Option<&mut [u8]>> = Vec::with_capacity(pieces.len());
        let mut rest = &mut out[..];
        let mut at = 0;
        for (k, p) in pieces.iter().enumerate() {
            let len = usize::try_from(p.len).unwrap_or(usize::MAX);
            if len > rest.len() {
                return Err(crate::engine::read::length_error(p, rest.len() as u64));
            }
            let (slot, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            places.push(at..at + len);
            at += len;
            let is_first = *first.entry(p.id).or_insert(k) == k;
            slots.push(is_first.then_some(slot));
        }
        for (span, data) in self.get_spans(spans)? {
            let mut jobs = Vec::with_capacity(span.blobs.len());
            for e in &span.blobs {
                let Some(slot) = first.get(&e.id).and_then(|&k| slots[k].take()) else {
                    continue;
                };
                if u64::from(e.raw_len) != slot.len() as u64 {
                    let k = first[&e.id];
                    return Err(crate::engine::read::length_error(
                        &pieces[k],
                        u64::from(e.raw_len),
                    ));
                }
                jobs.push((e, slot));
            }
            jobs.into_par_iter().try_for_each(|(e, slot)| {
                let stored = stored_in(&span, &data, e);
                let checked = match &self.keep {
                    Some(keep) => keep.decode_keep_into(e.kind, &e.id, e.codec, stored, slot),
                    None => {
                        crate::store::decode_checked_into(e.kind, &e.id, e.codec, &stored, slot)
                            .map(Ok)
                    }
                };
                self.named(&span, e, checked).and_then(|r| r)
            })?;
        }
        if let Some(k) = slots.iter().position(Option::is_some) {
            return Err(Error::MissingObject {
                kind: ObjectKind::Chunk,
                id: pieces[k].id,
                path: self.needed_by.clone().into(),
            });
        }
        for (k, p) in pieces.iter().enumerate() {
            let from = places[first[&p.id]].clone();
            if from.start != places[k].start {
                if from.len() != places[k].len() {
                    return Err(crate::engine::read::length_error(p, from.len() as u64));
                }
                out.copy_within(from, places[k].start);
            }
        }
        Ok(())
    }

    /// A blob's check, failing as the damaged copy in `span`'s pack.
    fn named<T>(
        &self,
        span: &Span,
        e: &Entry,
        checked: std::result::Result<T, crate::error::Corruption>,
    ) -> Result<T> {
        checked.map_err(|cause| Error::RemoteBlobCorrupt {
            remote: self.conn.remote.name.clone(),
            pack: span.pack,
            kind: e.kind,
            id: e.id,
            cause: Box::new(cause),
        })
    }

    /// Download `spans` concurrently, each read checked for its length.
    fn get_spans(&self, spans: Vec<Span>) -> Result<Vec<(Span, bytes::Bytes)>> {
        let conn = &self.conn;
        let got: Vec<(Span, bytes::Bytes)> = conn.rt.block_on(
            futures::stream::iter(spans)
                .map(|span| async move {
                    let rel = index::pack_path(&span.pack);
                    match conn.get_range_async(&rel, span.range.clone()).await {
                        Ok(b) => Ok((span, b)),
                        Err(Error::Remote {
                            failure: RemoteFailure::NotFound,
                            ..
                        }) => Err(Error::RemotePackMissing {
                            remote: conn.remote.name.clone(),
                            pack: span.pack,
                        }),
                        Err(e) => Err(e),
                    }
                })
                .buffer_unordered(conn.jobs().downloads)
                .try_collect(),
        )?;
        for (span, data) in &got {
            let len = span.range.end - span.range.start;
            if data.len() as u64 != len {
                return Err(Error::RemoteCorrupt {
                    remote: conn.remote.name.clone(),
                    object: index::pack_path(&span.pack),
                    reason: format!("a read of {len} bytes returned {}", data.len()),
                });
            }
            self.bytes.fetch_add(len, Ordering::Relaxed);
        }
        Ok(got)
    }
}

/// The ranged reads that bring `blobs` of `pack`: neighbours closer than
/// [`GAP`] share a read ([`coalesce`], unbounded), and a run longer than
/// [`MAX_READ`] is split into the fewest reads of at most that length, of
/// about equal size (so they take about as long, in parallel), at blob
/// boundaries.
fn reads(pack: Id, blobs: Vec<Entry>) -> Vec<Span> {
    coalesce(pack, blobs, GAP, u64::MAX)
        .into_iter()
        .flat_map(split_evenly)
        .collect()
}

/// `run` in the fewest reads of at most [`MAX_READ`], of about equal size.
fn split_evenly(run: Span) -> Vec<Span> {
    let Span { pack, range, blobs } = run;
    let start = range.start;
    let len = range.end - start;
    let end_of = |e: &Entry| e.offset + e.stored_len as u64;
    // A blob goes to the share its end falls in, so a read overruns its
    // share by less than one blob: shares leave room for the largest.
    let largest = blobs.iter().map(|e| e.stored_len as u64).max().unwrap_or(0);
    let room = MAX_READ.saturating_sub(largest).max(1);
    let parts = len.div_ceil(room).max(1);
    let share = len.div_ceil(parts).max(1);
    let mut out: Vec<Span> = Vec::new();
    let mut in_part = None;
    for e in blobs {
        // (Saturating: a remote may list a blob of no bytes.)
        let part = ((end_of(&e) - start).saturating_sub(1) / share).min(parts - 1);
        match out.last_mut() {
            Some(s) if in_part == Some(part) => {
                s.range.end = end_of(&e);
                s.blobs.push(e);
            }
            _ => {
                in_part = Some(part);
                out.push(Span {
                    pack,
                    range: e.offset..end_of(&e),
                    blobs: vec![e],
                });
            }
        }
    }
    out
}

impl ChunkFetch for RangedChunks {
    /// By the remote's index files (read until they place it, or all),
    /// which a locator, a hint only, cannot replace here.
    fn has_chunk(&self, id: &Id) -> Result<bool> {
        Ok(self.index(&[*id])?.index.contains(ObjectKind::Chunk, id))
    }

    fn fetch(&self, pieces: &[Piece]) -> Result<Vec<Vec<u8>>> {
        let mut raw = match self.through_locators(pieces, |spans| self.download(spans)) {
            Some(raw) => raw,
            None => {
                let ids: Vec<Id> = pieces.iter().map(|p| p.id).collect();
                let loaded = self.index(&ids)?;
                let spans = self.plan(&loaded, pieces)?;
                self.download(spans)?
            }
        };
        let mut out = Vec::with_capacity(pieces.len());
        for (k, p) in pieces.iter().enumerate() {
            // A chunk the file repeats is handed over once per place.
            let again = pieces[k + 1..].iter().any(|q| q.id == p.id);
            let bytes = if again {
                raw.get(&p.id).cloned()
            } else {
                raw.remove(&p.id)
            };
            let bytes = bytes.ok_or_else(|| Error::MissingObject {
                kind: ObjectKind::Chunk,
                id: p.id,
                path: self.needed_by.clone().into(),
            })?;
            out.push(bytes);
        }
        self.objects.fetch_add(out.len() as u64, Ordering::Relaxed);
        Ok(out)
    }

    /// Each chunk decoded and checked in its place (`download_into`).
    fn fetch_into(&self, pieces: &[Piece], out: &mut [u8]) -> Result<()> {
        let located = self.through_locators(pieces, |spans| self.download_into(spans, pieces, out));
        if located.is_none() {
            let ids: Vec<Id> = pieces.iter().map(|p| p.id).collect();
            let loaded = self.index(&ids)?;
            let spans = self.plan(&loaded, pieces)?;
            self.download_into(spans, pieces, out)?;
        }
        self.objects
            .fetch_add(pieces.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// The stored bytes of blob `e` in `data`, the bytes `span` read (a view
/// of them, which a kept blob holds until it is written).
fn stored_in(span: &Span, data: &bytes::Bytes, e: &Entry) -> bytes::Bytes {
    let at = (e.offset - span.range.start) as usize;
    data.slice(at..at + e.stored_len as usize)
}

#[cfg(test)]
#[path = "ranged_tests.rs"]
mod tests;
