//! Writing and reading locators (`remote::locator`): per-root records of
//! where a pointer's blobs live, so a fetch reads one small object per
//! pointer instead of every index file of the remote.
//!
//! Writers (push, gc) build a locator only from what they know to be on
//! the remote and kept: each blob the root reaches must sit in an indexed
//! pack that is neither condemned nor damaged, or the root gets no locator
//! (a locator on the remote is always complete when written). They write it
//! after the packs it names are durable and indexed, never before.
//!
//! Readers trust nothing in a locator beyond its shape: every blob read
//! through one is checked against its id as any fetched blob is, and a
//! locator that is missing, malformed, stale or lying only sends the fetch
//! back to the index files for what is still missing.

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};

use super::pushed::{locator_body, Known};
use super::spool::Body;
use super::walked::{Located, RemoteView};
use super::Connection;
use crate::engine::reach::Reach;
use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::pack::Entry;
use crate::format::pointer::Pointer;
use crate::hash::Id;
use crate::remote::index::RemoteIndex;
use crate::remote::locator::{locator_path, locator_root_of, LocatedPack, Locator, LOCATOR_DIR};
use crate::store::Store;

/// Every blob pointer `ptr` needs, by walking the metadata in `store`;
/// `None` if a listing or segment it needs is not in the cache (what it
/// names is then unknown here). A file whose manifest is not in the cache
/// is taken for a one-chunk file, stored as that chunk: if it is not one,
/// the remote has no such chunk and [`build`] writes no locator.
pub fn root_blobs(
    store: &Store,
    rel: &str,
    ptr: &Pointer,
) -> Result<Option<Vec<(ObjectKind, Id)>>> {
    let mut r = Reach::default();
    r.add_pointer(store, rel, ptr)?;
    let mut out: Vec<(ObjectKind, Id)> = r.objects.into_iter().collect();
    for m in r.missing {
        match m.kind {
            ObjectKind::Chunk | ObjectKind::Manifest => out.push((ObjectKind::Chunk, m.id)),
            _ => return Ok(None),
        }
    }
    out.sort_by_key(|(k, id)| (k.to_u8(), *id));
    out.dedup();
    Ok(Some(out))
}

/// The locator of `root`, whose blobs are `blobs`, from what `idx` says the
/// remote keeps; `None` unless every blob has a kept copy (in a pack that
/// is neither condemned nor damaged): a locator is complete or absent.
pub fn build(root: Id, blobs: &[(ObjectKind, Id)], idx: &RemoteIndex) -> Option<Locator> {
    let mut by_pack: HashMap<Id, Vec<Entry>> = HashMap::new();
    for (kind, id) in blobs {
        let (pack, e) = idx.get(*kind, id)?;
        if idx.condemned.contains(&pack) {
            return None;
        }
        by_pack.entry(pack).or_default().push(e);
    }
    if by_pack.is_empty() {
        return None;
    }
    let mut packs = Vec::with_capacity(by_pack.len());
    for (id, mut entries) in by_pack {
        let record = idx.packs.get(&id)?;
        entries.sort_by_key(|e| e.offset);
        entries.dedup_by_key(|e| e.offset);
        packs.push(LocatedPack {
            id,
            len: record.len,
            footer_entries: idx.footer_entries(&id)?,
            entries,
        });
    }
    packs.sort_by_key(|p| p.id);
    Some(Locator { root, packs })
}

/// Merge locators into one index-shaped map of what they say. A pack named
/// by several with different lengths keeps the first claim; entries are
/// merged by offset. Nothing here is trusted: the fetch checks every blob.
/// Fetches use the compact [`super::blob_map::BlobMap`] instead; this is the
/// model its tests compare it with.
#[cfg(test)]
pub fn merge(locators: Vec<Locator>) -> RemoteIndex {
    let mut idx = RemoteIndex::default();
    for l in locators {
        for p in l.packs {
            idx.add_located(p.id, p.len, p.footer_entries, &p.entries);
        }
    }
    idx
}

/// Encoded locators a push holds before writing them: past this many
/// bytes they are written, so many roots never add up in memory.
const WRITE_BATCH: usize = 16 << 20;
/// A locator larger than this (about 20,000 blobs) is written to a spool
/// (`super::spool`) pack by pack rather than encoded in memory.
const SPOOL_OVER: usize = 1 << 20;

/// After a push: write the locators of `roots` (pointers whose data is
/// complete on the remote; `known` is the remote's index as the push read
/// it and the packs it indexed), except those this clone wrote while its
/// record (`walked::Located`) still stands against `view`, and those in
/// `found` (the push read their locator and it named only kept packs).
/// Each is streamed from one walk of its root (`pushed::locator_body`),
/// and a large one is written to a spool, not held in memory.
/// Returns how many were written.
pub fn write_for<'a>(
    conn: &Connection,
    store: &Store,
    cache_root: &std::path::Path,
    view: &RemoteView,
    roots: impl Iterator<Item = (&'a String, &'a Pointer)>,
    known: &Known,
    found: &HashSet<Id>,
) -> Result<usize> {
    let location = &conn.remote.location;
    let record = Located::load(cache_root, location);
    let stands = record.stands(view);
    let mut seen = HashSet::new();
    let mut batch: Vec<(Id, Body)> = Vec::new();
    let mut held = 0;
    let mut spooled = false;
    let mut written = Vec::new();
    for (_, ptr) in roots {
        let root = ptr.id();
        if !seen.insert(root) || (stands && record.contains(&root)) || found.contains(&root) {
            continue;
        }
        if let Some(body) = locator_body(store, ptr, known, Some(SPOOL_OVER))? {
            // A spooled one is sent at once: it holds a file, not memory.
            spooled |= matches!(body, Body::Spooled(_));
            held += body.held();
            batch.push((root, body));
        }
        if held >= WRITE_BATCH || spooled {
            spooled = false;
            written.extend(conn.write_encoded_locators(std::mem::take(&mut batch))?);
            held = 0;
        }
    }
    if written.is_empty() && batch.is_empty() && stands {
        return Ok(0);
    }
    written.extend(conn.write_encoded_locators(batch)?);
    let count = written.len();
    let kept: Vec<Id> = if stands {
        record.roots().collect()
    } else {
        Vec::new()
    };
    Located::save(cache_root, location, view, kept.into_iter().chain(written));
    Ok(count)
}

/// Which blobs a live pointer (by top id) needs; `None` for one gc does
/// not know (its locator is then deleted rather than rewritten).
pub type LiveRoots<'a> = &'a dyn Fn(&Id) -> Option<Vec<(ObjectKind, Id)>>;

/// What gc did to the remote's locators.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Refreshed {
    pub rewritten: usize,
    pub deleted: usize,
}

/// After `gc --remote` has written its new index (`idx`: the packs that
/// stay, condemned ones marked) and before it deletes any pack: every
/// locator naming a pack outside `good` (the packs that stay and are not
/// condemned) is rewritten from `idx` when its root is live (`live` gives
/// the blobs a live root needs, `None` for a root gc does not know), and
/// deleted otherwise, as are malformed ones. Readers fall back to the
/// index files for a root without a locator, so deleting is always safe.
pub fn refresh_after_gc(
    conn: &Connection,
    good: &HashSet<Id>,
    idx: &RemoteIndex,
    live: LiveRoots,
) -> Result<Refreshed> {
    let roots: Vec<Id> = conn
        .list(LOCATOR_DIR)?
        .iter()
        .filter_map(|l| locator_root_of(&l.path))
        .collect();
    let found: HashMap<Id, Locator> = conn
        .read_locators(&roots)
        .into_iter()
        .map(|l| (l.root, l))
        .collect();
    let mut rewrite = Vec::new();
    let mut delete = Vec::new();
    for root in roots {
        let stale = found
            .get(&root)
            .is_none_or(|l| l.packs.iter().any(|p| !good.contains(&p.id)));
        if !stale {
            continue;
        }
        match live(&root).and_then(|blobs| build(root, &blobs, idx)) {
            Some(l) => rewrite.push(l),
            None => delete.push(root),
        }
    }
    let done = Refreshed {
        rewritten: rewrite.len(),
        deleted: delete.len(),
    };
    conn.write_locators(rewrite)?;
    conn.delete_locators(&delete)?;
    crate::failpoint::hit("gc_remote.locators_refreshed");
    Ok(done)
}

impl Connection {
    /// Write `locators` (each complete, naming only packs that are durable
    /// and indexed); returns the roots written.
    pub fn write_locators(&self, locators: Vec<Locator>) -> Result<Vec<Id>> {
        self.write_encoded_locators(
            locators
                .into_iter()
                .map(|l| (l.root, Body::Bytes(l.encode())))
                .collect(),
        )
    }

    /// Write encoded locators, (root, bytes or spool), each complete and
    /// naming only packs that are durable and indexed; returns the roots
    /// written.
    pub fn write_encoded_locators(&self, locators: Vec<(Id, Body)>) -> Result<Vec<Id>> {
        let written: Vec<(Id, String)> = self.rt.block_on(async {
            futures::stream::iter(locators)
                .map(|(root, body)| async move {
                    let rel = locator_path(&root);
                    self.put_body_async(&rel, body).await?;
                    Ok::<_, Error>((root, rel))
                })
                .buffer_unordered(self.jobs().uploads)
                .try_collect()
                .await
        })?;
        let paths: Vec<String> = written.iter().map(|(_, p)| p.clone()).collect();
        self.sync_folder(&paths)?;
        crate::failpoint::hit("locators.written");
        Ok(written.into_iter().map(|(id, _)| id).collect())
    }

    /// The locators of `roots` that exist and are well formed (each
    /// checked to be the locator of the root asked for). Anything else (no
    /// locator, a malformed one, a failed read) is left out: the caller
    /// falls back to the index files, which report real remote failures.
    pub fn read_locators(&self, roots: &[Id]) -> Vec<Locator> {
        self.rt.block_on(async {
            futures::stream::iter(roots.iter().copied())
                .map(|root| async move {
                    let bytes = self.get_async(&locator_path(&root)).await.ok()?;
                    Locator::decode(&root, &bytes).ok()
                })
                .buffer_unordered(self.jobs().downloads)
                .filter_map(|l| async move { l })
                .collect()
                .await
        })
    }

    /// Delete the locators of `roots` (missing ones are no error).
    pub fn delete_locators(&self, roots: &[Id]) -> Result<()> {
        self.rt.block_on(async {
            futures::stream::iter(roots)
                .map(|r| async move { self.delete_async(&locator_path(r)).await })
                .buffer_unordered(self.jobs().uploads)
                .try_collect::<Vec<()>>()
                .await
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::codec::Codec;
    use crate::format::pack::{pack_id, ENTRY_LEN, HEADER_LEN, TRAILER_LEN};
    use crate::remote::index::PackRecord;

    fn record(seed: &str, n: u64) -> PackRecord {
        let entries: Vec<Entry> = (0..n)
            .map(|i| Entry {
                id: Id::of(format!("{seed}{i}").as_bytes()),
                kind: ObjectKind::Chunk,
                codec: Codec::Raw,
                offset: HEADER_LEN + 10 * i,
                stored_len: 10,
                raw_len: 10,
            })
            .collect();
        PackRecord {
            id: pack_id(&entries),
            len: HEADER_LEN + 10 * n + n * ENTRY_LEN as u64 + TRAILER_LEN as u64,
            entries,
        }
    }

    #[test]
    fn a_locator_is_built_only_from_kept_copies() {
        let (a, b) = (record("a", 3), record("b", 2));
        let mut idx = RemoteIndex::default();
        idx.add(vec![a.clone(), b.clone()]);
        let blobs = vec![
            (ObjectKind::Chunk, a.entries[2].id),
            (ObjectKind::Chunk, a.entries[0].id),
            (ObjectKind::Chunk, b.entries[1].id),
        ];
        let l = build(Id::of(b"r"), &blobs, &idx).unwrap();
        assert_eq!(l.blobs(), 3);
        let pa = l.packs.iter().find(|p| p.id == a.id).unwrap();
        assert_eq!((pa.len, pa.footer_entries), (a.len, 3));
        assert!(pa.entries.windows(2).all(|w| w[0].offset < w[1].offset));
        // Decodes as what it is.
        assert_eq!(Locator::decode(&l.root, &l.encode()).unwrap(), l);
        // A blob the remote lacks, or keeps only in a condemned pack: none.
        let absent = [(ObjectKind::Chunk, Id::of(b"nowhere"))];
        assert!(build(Id::of(b"r"), &absent, &idx).is_none());
        // A manifest the remote holds as a chunk is not that manifest.
        let as_manifest = [(ObjectKind::Manifest, a.entries[0].id)];
        assert!(build(Id::of(b"r"), &as_manifest, &idx).is_none());
        idx.condemned.insert(b.id);
        assert!(build(Id::of(b"r"), &blobs, &idx).is_none());
    }

    #[test]
    fn merged_locators_keep_the_first_claim_of_a_pack() {
        let a = record("a", 3);
        let mut idx = RemoteIndex::default();
        idx.add(vec![a.clone()]);
        let one = build(Id::of(b"1"), &[(ObjectKind::Chunk, a.entries[0].id)], &idx).unwrap();
        let two = build(Id::of(b"2"), &[(ObjectKind::Chunk, a.entries[1].id)], &idx).unwrap();
        let mut liar = two.clone();
        liar.packs[0].len += 1;
        liar.packs[0].entries[0].id = Id::of(b"lie");
        let m = merge(vec![one, two, liar]);
        assert_eq!(m.packs[&a.id].entries.len(), 2);
        assert!(m.contains(ObjectKind::Chunk, &a.entries[1].id));
        assert!(!m.contains(ObjectKind::Chunk, &Id::of(b"lie")));
    }
}
