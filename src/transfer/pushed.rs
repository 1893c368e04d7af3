//! What a push knows once its packs are indexed, and the locators of its
//! roots written from that without a second copy of the remote's map.
//!
//! A push ends knowing two things: the remote's index as it read it, and
//! the packs it sent. Merging the second into the first (a hash map entry
//! per blob sent) cost about 94 bytes per blob at a million files, on top
//! of the records themselves. [`Pushed`] keeps the sent records as they
//! are plus one sorted 8-byte slot per blob, and [`Known`] answers "where
//! does the remote keep this blob" exactly as the merged index would for
//! the blobs a push sends.
//!
//! [`locator_of`] then writes a root's locator (FORMAT.md §15.8) from one
//! walk of its listing and manifests: 8 bytes per blob (local pack
//! number, entry number), sorted, then encoded pack by pack. It writes the same
//! bytes as `locate::build` over `locate::root_blobs` would (the tests
//! compare them), and, like it, nothing unless every blob has a kept copy.

use std::collections::{HashMap, HashSet};

use super::spool::{Body, SpoolWriter};
use crate::engine::listing;
use crate::error::Result;
use crate::format::kind::ObjectKind;
use crate::format::object::{self, Form, Manifest};
use crate::format::pack::Entry;
use crate::format::pointer::Pointer;
use crate::hash::Id;
use crate::remote::index::{PackRecord, RemoteIndex};
use crate::remote::locator::{encoded_len, Encoder};
use crate::store::Store;
use std::io::Write;

/// The packs one push indexed (sent, or found sent by an interrupted
/// run), with their blobs sorted for lookup.
#[derive(Debug, Default)]
pub struct Pushed {
    records: Vec<PackRecord>,
    /// (record, entry) of every blob, by (kind, id), then record order.
    slots: Vec<(u32, u32)>,
}

impl Pushed {
    /// The records of the packs a push indexed, minus those `before` (the
    /// remote's index the push read) already knows whole: the merged index
    /// keeps the first whole record of a pack, so those are answered from
    /// `before`, as they were.
    pub fn new(mut records: Vec<PackRecord>, before: &RemoteIndex) -> Pushed {
        records.retain(|r| match before.packs.get(&r.id) {
            None => true,
            Some(known) => before.footer_entries(&r.id) != Some(known.entries.len() as u32),
        });
        records.sort_by_key(|r| r.id);
        records.dedup_by_key(|r| r.id);
        let mut slots: Vec<(u32, u32)> =
            Vec::with_capacity(records.iter().map(|r| r.entries.len()).sum());
        for (r, rec) in records.iter().enumerate() {
            slots.extend((0..rec.entries.len()).map(|e| (r as u32, e as u32)));
        }
        slots.sort_by(|a, b| {
            let (ea, eb) = (
                &records[a.0 as usize].entries[a.1 as usize],
                &records[b.0 as usize].entries[b.1 as usize],
            );
            (ea.kind.to_u8(), ea.id, a.0).cmp(&(eb.kind.to_u8(), eb.id, b.0))
        });
        Pushed { records, slots }
    }

    fn entry(&self, slot: (u32, u32)) -> &Entry {
        &self.records[slot.0 as usize].entries[slot.1 as usize]
    }

    /// The first pushed copy of a blob (in pack id order): its record and
    /// entry number.
    fn get(&self, kind: ObjectKind, id: &Id) -> Option<(&PackRecord, u32)> {
        let key = (kind.to_u8(), *id);
        let at = self.slots.partition_point(|s| {
            let e = self.entry(*s);
            (e.kind.to_u8(), e.id) < key
        });
        let slot = *self.slots.get(at)?;
        let e = self.entry(slot);
        ((e.kind.to_u8(), e.id) == key).then_some((&self.records[slot.0 as usize], slot.1))
    }
}

/// Where the remote keeps what a push needs: its index as the push read
/// it, and the packs the push indexed.
#[derive(Debug, Default)]
pub struct Known {
    pub index: RemoteIndex,
    pub pushed: Pushed,
}

/// A kept copy of a blob: its pack's record and footer count, and the
/// number of its entry in the record.
struct Kept<'a> {
    record: &'a PackRecord,
    footer_entries: u32,
    entry: u32,
}

impl Known {
    /// Whether the remote has a copy of the blob (kept or not), as
    /// [`RemoteIndex::contains`] on the merged index says.
    pub fn contains(&self, kind: ObjectKind, id: &Id) -> bool {
        self.index.contains(kind, id) || self.pushed.get(kind, id).is_some()
    }

    /// The copy a locator names: the index's when it keeps one (a push
    /// sends only what it does not), else the one pushed. `None` when the
    /// only copy is condemned or there is none.
    fn kept(&self, kind: ObjectKind, id: &Id) -> Option<Kept<'_>> {
        if self.index.keeps(kind, id) {
            let (pack, e) = self.index.get(kind, id)?;
            let record = self.index.packs.get(&pack)?;
            let entry = position(record, e.offset)? as u32;
            return Some(Kept {
                record,
                footer_entries: self.index.footer_entries(&pack)?,
                entry,
            });
        }
        let (record, entry) = self.pushed.get(kind, id)?;
        Some(Kept {
            record,
            footer_entries: record.entries.len() as u32,
            entry,
        })
    }
}

/// Where the entry at `offset` sits in `record` (entries are in offset
/// order in every record a pack footer, an index file or a locator
/// gives; a record that is not is searched).
fn position(record: &PackRecord, offset: u64) -> Option<usize> {
    match record.entries.binary_search_by_key(&offset, |e| e.offset) {
        Ok(at) => Some(at),
        Err(_) => record.entries.iter().position(|e| e.offset == offset),
    }
}

/// One root's blobs as they are found: each pack once (by a local number),
/// and (pack number, entry number in its record) per blob.
#[derive(Default)]
struct Collect<'a> {
    numbers: HashMap<Id, u32>,
    packs: Vec<(&'a PackRecord, u32)>,
    refs: Vec<(u32, u32)>,
    /// Manifests and segments already walked (files share them; chunks
    /// repeat harmlessly, deduplicated by the sort).
    seen: HashSet<(ObjectKind, Id)>,
    /// A blob without a kept copy, or metadata the cache lacks: no locator.
    incomplete: bool,
}

impl<'a> Collect<'a> {
    fn blob(&mut self, known: &'a Known, kind: ObjectKind, id: &Id) {
        let Some(c) = known.kept(kind, id) else {
            self.incomplete = true;
            return;
        };
        let next = self.packs.len() as u32;
        let n = *self.numbers.entry(c.record.id).or_insert(next);
        if n == next {
            self.packs.push((c.record, c.footer_entries));
        }
        self.refs.push((n, c.entry));
    }

    /// A file's blobs, as `engine::reach` walks them: its manifest and
    /// segments and their chunks, or, without a cached manifest, the file
    /// as one chunk.
    fn file(&mut self, known: &'a Known, store: &Store, id: &Id, size: u64) -> Result<()> {
        if size == 0 || self.seen.contains(&(ObjectKind::Manifest, *id)) {
            return Ok(());
        }
        let Some(raw) = store.read(ObjectKind::Manifest, id)? else {
            self.blob(known, ObjectKind::Chunk, id);
            return Ok(());
        };
        self.seen.insert((ObjectKind::Manifest, *id));
        self.blob(known, ObjectKind::Manifest, id);
        let m = Manifest::decode(&raw).map_err(|e| store.corrupt(ObjectKind::Manifest, *id, e))?;
        match m.form {
            Form::Chunks => {
                for c in &m.pieces {
                    self.blob(known, ObjectKind::Chunk, &c.id);
                }
            }
            Form::Segments => {
                for s in &m.pieces {
                    if !self.seen.insert((ObjectKind::Segment, s.id)) {
                        continue;
                    }
                    let Some(raw) = store.read(ObjectKind::Segment, &s.id)? else {
                        self.incomplete = true;
                        continue;
                    };
                    self.blob(known, ObjectKind::Segment, &s.id);
                    let pieces = object::decode_segment(&raw)
                        .map_err(|e| store.corrupt(ObjectKind::Segment, s.id, e))?;
                    for c in &pieces {
                        self.blob(known, ObjectKind::Chunk, &c.id);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The encoded locator of pointer `ptr`, from what `known` says the remote
/// keeps; `None` unless every blob it reaches has a kept copy and every
/// listing node and segment is in the cache.
#[cfg(test)]
pub fn locator_of(store: &Store, ptr: &Pointer, known: &Known) -> Result<Option<Vec<u8>>> {
    locator_body(store, ptr, known, None)?
        .map(Body::into_bytes)
        .transpose()
}

/// [`locator_of`], written to a spool in the cache directory, one pack at
/// a time, when its encoding would be over `spool_over` bytes (52 bytes
/// per blob: a million-file root's locator is never held in memory).
pub fn locator_body(
    store: &Store,
    ptr: &Pointer,
    known: &Known,
    spool_over: Option<usize>,
) -> Result<Option<Body>> {
    let mut c = Collect::default();
    match ptr {
        Pointer::File { id, size, .. } => c.file(known, store, id, *size)?,
        Pointer::Dir { id, .. } => {
            let walk = listing::walk_leaves(store, id, None, false, &mut |entries| {
                for e in entries {
                    c.file(known, store, &e.id, e.size)?;
                }
                Ok(())
            })?;
            if !walk.absent.is_empty() {
                return Ok(None);
            }
            c.blob(known, ObjectKind::Tree, id);
            for node in &walk.nodes {
                c.blob(known, ObjectKind::Tree, node);
            }
        }
    }
    if c.incomplete || c.refs.is_empty() {
        return Ok(None);
    }
    let Collect {
        packs, mut refs, ..
    } = c;
    refs.sort_unstable();
    refs.dedup();
    // Each pack's run of offsets, the packs in id order.
    let mut runs: Vec<(u32, usize, usize)> = Vec::new();
    let mut start = 0;
    while start < refs.len() {
        let n = refs[start].0;
        let end = start + refs[start..].partition_point(|r| r.0 == n);
        runs.push((n, start, end));
        start = end;
    }
    runs.sort_by_key(|(n, _, _)| packs[*n as usize].0.id);
    let spool = spool_over.is_some_and(|over| encoded_len(runs.len(), refs.len()) > over);
    let mut file = spool.then(|| SpoolWriter::new(store.root())).transpose()?;
    let err = |e| crate::error::Error::io("write a temporary file in", store.root(), e);
    // Buffers sized once, exactly: spooled, one pack's entries at a time
    // (grown by doubling they would hold up to twice that).
    let longest = runs.iter().map(|(_, a, b)| b - a).max().unwrap_or(0);
    let sized = if spool { longest } else { refs.len() };
    let mut entries: Vec<Entry> = Vec::with_capacity(longest);
    let mut out = Encoder::new(&ptr.id(), runs.len(), sized);
    for (n, start, end) in runs {
        let (record, footer_entries) = packs[n as usize];
        entries.clear();
        entries.extend(
            refs[start..end]
                .iter()
                .map(|(_, e)| record.entries[*e as usize]),
        );
        // In offset order, each once, as `locate::build` leaves them. They
        // usually are already (footers are in offset order): a stable sort
        // would allocate a scratch copy of them for nothing.
        if !entries.is_sorted_by_key(|e| e.offset) {
            entries.sort_by_key(|e| e.offset);
        }
        entries.dedup_by_key(|e| e.offset);
        out.pack(&record.id, record.len, footer_entries, &entries);
        if let Some(f) = &mut file {
            out.drain_to(f).map_err(err)?;
        }
    }
    drop(refs);
    let tail = out.finish();
    Ok(Some(match file {
        None => Body::Bytes(tail),
        Some(mut f) => {
            f.write_all(&tail).map_err(err)?;
            Body::Spooled(f.finish()?)
        }
    }))
}

#[cfg(test)]
#[path = "pushed_tests.rs"]
mod tests;
