//! A remote's catalogue: reading its index files and damage notes (through
//! a local cache of these immutable, content-named objects) and writing
//! new ones. Split from the connection itself, which only moves bytes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures::TryStreamExt;

use super::{stamp, Connection, DamageSet, IndexState, Listed};
use crate::error::{Error, Result};
use crate::hash::Id;
use crate::remote::index::{self, INDEX_DIR};
use crate::remote::notes;

/// Times a load lists `index/` again after a listed file vanished.
const VANISHED_RETRIES: usize = 3;

impl Connection {
    /// The remote's index, from its index files and damage notes (both
    /// cached locally by name). A damaged index file is left out and
    /// reported in the state, so one bad file cannot stop pushes (they
    /// re-send what it listed).
    pub fn load_index(&self) -> Result<IndexState> {
        self.load_index_with(&DamageSet::new())
    }

    /// [`Connection::load_index`], also avoiding the copies in `extra`
    /// (damage this process found and could not record on the remote).
    pub fn load_index_with(&self, extra: &DamageSet) -> Result<IndexState> {
        self.load_index_within(extra, None)
    }

    /// [`Connection::load_index`], reading at most `budget` bytes of index
    /// files that this clone has no copy of, newest first (by the
    /// listing's last-modified time); the rest are named in
    /// [`IndexState::unread`]. Index files it has a copy of (valid or not),
    /// damage notes and condemnation notes are always read. For a push:
    /// what it learns this way is exact, the recent pushes are the likeliest
    /// to share data with this one, and the cost no longer grows with the
    /// remote (FORMAT.md §15.3).
    pub fn load_index_bounded(&self, budget: u64) -> Result<IndexState> {
        self.load_index_within(&DamageSet::new(), Some(budget))
    }

    /// [`Connection::load_index_with`], reading index files newest first
    /// only until `done` says the index read so far has what the caller
    /// wants (or none is left): the first load reads only the files this
    /// clone has a copy of, the next at most 64 KiB of others, each next
    /// one four times more (files already read come from the local copy,
    /// and count for no budget). For a fetch of
    /// a root without a locator: recent data is found in recent index
    /// files, and a remote of any size costs what the search needs.
    pub fn load_index_until(
        &self,
        extra: &DamageSet,
        done: &mut dyn FnMut(&crate::remote::index::RemoteIndex) -> bool,
    ) -> Result<IndexState> {
        let mut budget: u64 = 0;
        loop {
            let state = self.load_index_within(extra, Some(budget))?;
            if state.unread.is_empty() || done(&state.index) {
                return Ok(state);
            }
            budget = budget.saturating_mul(4).max(64 << 10);
        }
    }

    fn load_index_within(&self, extra: &DamageSet, budget: Option<u64>) -> Result<IndexState> {
        // A file listed a moment ago can be gone when it is read: a
        // concurrent `gc --remote` merges index files (writing the merged
        // one first) and drops superseded notes. A fresh listing then shows
        // what replaced it, so list again, a few times, before giving up.
        let mut tries = 0;
        loop {
            match self.load_index_once(extra, budget) {
                Err(Error::Remote {
                    failure: crate::error::RemoteFailure::NotFound,
                    ..
                }) if tries < VANISHED_RETRIES => tries += 1,
                other => return other,
            }
        }
    }

    fn load_index_once(&self, extra: &DamageSet, budget: Option<u64>) -> Result<IndexState> {
        let mut state = IndexState::default();
        let mut wanted = Vec::new();
        let listed = self.list(INDEX_DIR)?;
        crate::failpoint::hit("index.listed");
        for l in listed {
            if let Some(id) = index::index_id_of(&l.path) {
                wanted.push((id, l.path.clone()));
                state.files.push(l);
            } else if let Some(id) = notes::damage_id_of(&l.path) {
                wanted.push((id, l.path.clone()));
                state.notes.push(l);
            } else if let Some(id) = notes::condemn_id_of(&l.path) {
                wanted.push((id, l.path.clone()));
                state.condemn_notes.push(l);
            }
        }
        if let Some(budget) = budget {
            let unread = self.over_budget(&state.files, budget);
            wanted.retain(|(_, path)| !unread.contains(path));
            state.unread = state
                .files
                .iter()
                .filter(|l| unread.contains(&l.path))
                .cloned()
                .collect();
        }
        let bodies = self.read_named(wanted, &state.files, &state.notes)?;
        let mut notes = Vec::new();
        for (id, path, bytes) in &bodies {
            if notes::damage_id_of(path).is_some() && Id::of(bytes) == *id {
                notes.extend(notes::decode_notes(&String::from_utf8_lossy(bytes)));
            }
        }
        let mut damage = extra.clone();
        if !notes.is_empty() && self.listable() {
            // A note applies while its pack is the object it was written
            // about (or still missing): a re-upload retires it. (Over plain
            // HTTP, where packs cannot be listed, every note applies.)
            let packs: std::collections::HashMap<Id, u64> = self
                .list(index::PACK_DIR)?
                .into_iter()
                .filter_map(|l| index::pack_id_of(&l.path).map(|id| (id, stamp(l.modified))))
                .collect();
            notes.retain(|n| match n.stamp {
                None => !packs.contains_key(&n.pack),
                Some(t) => packs.get(&n.pack) == Some(&t),
            });
            damage.extend(notes.iter().map(|n| (n.pack, n.blob())));
        }
        state.notes_applying = notes;
        state.index.damaged = damage;
        self.read_condemned(&mut state, &bodies);
        for (id, path, bytes) in bodies {
            if index::index_id_of(&path).is_none() {
                continue;
            }
            let decoded = index::decode(&id, &bytes);
            // The file's bytes go before its records are indexed: at a
            // million blobs they are 52 MB the index no longer needs.
            drop(bytes);
            match decoded {
                Ok(records) => {
                    state
                        .packs_of
                        .insert(path, records.iter().map(|r| r.id).collect());
                    state.index.add(records);
                }
                Err(e) => state.damaged.push((path, e)),
            }
        }
        Ok(state)
    }

    /// The index files (paths) of `files` left unread under `budget`: of
    /// those without a local copy, newest first, every one from the first
    /// that would take the bytes read past it. (So what is read is exactly
    /// the latest pushes, a window that older files cannot widen.)
    fn over_budget(&self, files: &[Listed], budget: u64) -> std::collections::HashSet<String> {
        let mut uncached: Vec<&Listed> = files
            .iter()
            .filter(|l| {
                let name = l.path.rsplit('/').next().unwrap_or_default();
                !self.index_cache.join(name).exists()
            })
            .collect();
        uncached.sort_by_key(|l| std::cmp::Reverse(l.modified));
        let mut spent = 0u64;
        let mut unread = std::collections::HashSet::new();
        for l in uncached {
            spent = spent.saturating_add(l.size);
            if spent > budget {
                unread.insert(l.path.clone());
            }
        }
        unread
    }

    /// Fill in the condemned packs from the condemnation notes read, before
    /// any index file is added (the index prefers other copies to theirs).
    fn read_condemned(&self, state: &mut IndexState, bodies: &[(Id, String, Vec<u8>)]) {
        for (id, path, bytes) in bodies {
            if notes::condemn_id_of(path).is_none() || Id::of(bytes) != *id {
                continue;
            }
            let Some(note) = state.condemn_notes.iter().find(|l| l.path == *path) else {
                continue;
            };
            let written = stamp(note.modified);
            for mut c in notes::decode_condemned(&String::from_utf8_lossy(bytes)) {
                c.since = Some(c.since.unwrap_or(written));
                state.index.condemned.insert(c.pack);
                state.condemned.push(c);
            }
        }
    }

    /// The bytes of immutable, content-named objects under `index/`: from
    /// the local cache while the remote still lists the very object that
    /// was cached (same size and last-modified time, recorded beside the
    /// copy), else downloaded (and cached once their hash matches their
    /// name). A name proves the cached bytes, not that the remote still
    /// holds them: a damaged or replaced remote copy shows in its listing.
    fn read_named(
        &self,
        items: Vec<(Id, String)>,
        files: &[Listed],
        notes: &[Listed],
    ) -> Result<Vec<(Id, String, Vec<u8>)>> {
        let listed: HashMap<&str, &Listed> = files
            .iter()
            .chain(notes)
            .map(|l| (l.path.as_str(), l))
            .collect();
        let fresh = self.fresh_index.load(Ordering::Relaxed);
        let mut out = Vec::new();
        let mut todo = Vec::new();
        for (id, path) in items {
            let name = path.rsplit('/').next().unwrap_or_default().to_string();
            let cached = self.index_cache.join(&name);
            let listing = listed.get(path.as_str()).copied();
            match std::fs::read(&cached) {
                Ok(b) if !fresh && Id::of(&b) == id && still_listed(&cached, listing) => {
                    out.push((id, path, b))
                }
                _ => todo.push((id, path, cached, listing.cloned())),
            }
        }
        if todo.is_empty() {
            return Ok(out);
        }
        std::fs::create_dir_all(&self.index_cache)
            .map_err(|e| Error::io("create directory", &self.index_cache, e))?;
        type Fetched = (Id, String, PathBuf, Option<Listed>, Bytes);
        let fetched: Vec<Fetched> = self.rt.block_on(async {
            use futures::StreamExt;
            futures::stream::iter(todo)
                .map(|(id, path, cached, listing)| async move {
                    let b = self.get_async(&path).await?;
                    Ok::<_, Error>((id, path, cached, listing, b))
                })
                .buffer_unordered(self.jobs().downloads)
                .try_collect()
                .await
        })?;
        for (id, path, cached, listing, bytes) in fetched {
            // A download that fails its name leaves the cached copy alone:
            // it is the verified good copy a push can repair the remote
            // with (`repair_indexes`).
            if Id::of(&bytes) == id {
                if std::fs::read(seen_path(&cached)).is_ok_and(|t| t == UNLISTED) {
                    self.unlisted.store(true, Ordering::Relaxed);
                }
                // Best effort: a cache we cannot write costs a download.
                if crate::durable::write_atomic(&cached, &bytes).is_ok() {
                    remember_listing(&cached, listing.as_ref());
                    crate::failpoint::hit("fetch.index_cached");
                }
            }
            out.push((id, path, bytes.to_vec()));
        }
        Ok(out)
    }

    /// Whether an index file was read that its writer wrote but did not
    /// live to name in `index.list` (it crashed in between): the caller
    /// should publish the listing.
    pub fn listing_lags(&self) -> bool {
        self.unlisted.load(Ordering::Relaxed)
    }

    /// Read every index file from the remote from now on, never from the
    /// cache (`verify --remote`: a cached copy proves nothing about the
    /// remote's).
    pub fn read_index_fresh(&self) {
        self.fresh_index.store(true, Ordering::Relaxed);
    }

    /// Record the listing of the index files this connection wrote beside
    /// their cached copies, so later commands trust those copies without a
    /// download. Only a listed size equal to the cached copy's is taken as
    /// the object written.
    pub(super) fn remember_written(&self, listed: &[Listed]) {
        let Ok(written) = self.written.lock() else {
            return;
        };
        for l in listed.iter().filter(|l| written.contains(&l.path)) {
            let name = l.path.rsplit('/').next().unwrap_or_default();
            let cached = self.index_cache.join(name);
            if std::fs::metadata(&cached).is_ok_and(|m| m.len() == l.size) {
                remember_listing(&cached, Some(l));
            }
        }
    }

    /// Re-upload damaged index files that this clone holds a verified good
    /// copy of, when every pack the copy lists is present on the remote
    /// with the length it records (`packs`: the remote's pack listing) and
    /// not noted as damaged. A repaired file's packs join `state.index`.
    /// The others stay damaged: the blobs they listed count as absent, so
    /// a push sends them again.
    pub fn repair_indexes(
        &self,
        state: &mut IndexState,
        packs: &HashMap<Id, u64>,
    ) -> Result<IndexRepair> {
        let mut report = IndexRepair::default();
        for (path, why) in std::mem::take(&mut state.damaged) {
            let Some(good) = self.good_copy(&path, packs, &state.index.damaged) else {
                report.unrepaired.push(path.clone());
                state.damaged.push((path, why));
                continue;
            };
            let (bytes, records) = good;
            self.rt.block_on(self.put_async(&path, bytes))?;
            self.sync_folder(std::slice::from_ref(&path))?;
            crate::failpoint::hit("push.index_repaired");
            if let Ok(mut w) = self.written.lock() {
                w.push(path.clone());
            }
            state
                .packs_of
                .insert(path.clone(), records.iter().map(|r| r.id).collect());
            state.index.add(records);
            report.repaired.push(path);
        }
        Ok(report)
    }

    /// The cached copy of index file `path`, if its bytes match its name,
    /// it decodes, and every pack it lists is on the remote, whole-length
    /// and not noted damaged.
    fn good_copy(
        &self,
        path: &str,
        packs: &HashMap<Id, u64>,
        damaged: &DamageSet,
    ) -> Option<(Vec<u8>, Vec<index::PackRecord>)> {
        let id = index::index_id_of(path)?;
        let name = path.rsplit('/').next()?;
        let bytes = std::fs::read(self.index_cache.join(name)).ok()?;
        let records = index::decode(&id, &bytes).ok()?;
        let all_there = records
            .iter()
            .all(|r| packs.get(&r.id) == Some(&r.len) && !damaged.contains(&(r.id, None)));
        all_there.then_some((bytes, records))
    }

    /// Record damaged copies on the remote itself, as a damage note beside
    /// the index files, so every client avoids them and any clone with good
    /// data can repair them by pushing.
    pub fn write_damage(&self, notes: &[notes::Note]) -> Result<String> {
        let text = notes::encode_notes(notes);
        let id = Id::of(text.as_bytes());
        let rel = format!("{INDEX_DIR}/{}{}", id.to_hex(), notes::DAMAGE_SUFFIX);
        self.rt
            .block_on(self.put_async(&rel, text.clone().into_bytes()))?;
        self.sync_folder(std::slice::from_ref(&rel))?;
        Ok(rel)
    }

    /// Write a condemnation note; returns its remote path.
    pub fn write_condemned(&self, entries: &[notes::Condemned]) -> Result<String> {
        let text = notes::encode_condemned(entries);
        let id = Id::of(text.as_bytes());
        let rel = format!("{INDEX_DIR}/{}{}", id.to_hex(), notes::CONDEMN_SUFFIX);
        self.rt.block_on(self.put_async(&rel, text.into_bytes()))?;
        self.sync_folder(std::slice::from_ref(&rel))?;
        Ok(rel)
    }

    /// Write an index file listing `packs`; returns its remote path.
    pub fn write_index(&self, packs: &[index::PackRecord]) -> Result<String> {
        let (id, bytes) = index::encode(packs);
        // Shared with the upload, not copied: 52 bytes per blob.
        let bytes = bytes::Bytes::from(bytes);
        let rel = format!("{INDEX_DIR}/{}.idx", id.to_hex());
        self.rt.block_on(self.put_async(&rel, bytes.clone()))?;
        self.index_uploaded(&rel, &id, |cached| {
            crate::durable::write_atomic(cached, &bytes)
        })?;
        Ok(rel)
    }

    /// What follows the upload of index file `rel` (id `id`), however it
    /// was sent: made durable on a folder remote, recorded as written, and
    /// cached by `cache` so the next command needs no download (best
    /// effort).
    fn index_uploaded<T, E>(
        &self,
        rel: &str,
        id: &Id,
        cache: impl FnOnce(&Path) -> std::result::Result<T, E>,
    ) -> Result<()> {
        self.sync_folder(&[rel.to_string()])?;
        if let Ok(mut w) = self.written.lock() {
            w.push(rel.to_string());
        }
        if std::fs::create_dir_all(&self.index_cache).is_ok() {
            let cached = self.index_cache.join(format!("{}.idx", id.to_hex()));
            // Until the listing is published and recorded, the copy stands
            // for nothing (and a reader knows `index.list` may lag).
            let _ = crate::durable::write_atomic(&seen_path(&cached), UNLISTED);
            let _ = cache(&cached);
        }
        Ok(())
    }
}

impl Connection {
    /// [`Connection::write_index`] for an index file already encoded in a
    /// spool, `id` the BLAKE3 of its bytes: uploaded and cached from the
    /// file, never held in memory (a push of a million blobs writes 52 MB).
    pub(super) fn write_index_spooled(
        &self,
        id: Id,
        mut spool: super::spool::Spool,
    ) -> Result<String> {
        let rel = format!("{INDEX_DIR}/{}.idx", id.to_hex());
        self.rt.block_on(self.put_spool_async(&rel, &mut spool))?;
        self.index_uploaded(&rel, &id, |cached| spool.copy_to(cached))?;
        Ok(rel)
    }
}

/// What a push did about damaged index files.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IndexRepair {
    /// Index files uploaded again from this clone's verified copy.
    pub repaired: Vec<String>,
    /// Damaged index files this clone could not restore; what they listed
    /// counts as absent.
    pub unrepaired: Vec<String>,
}

/// The record beside a copy of an index file this client wrote but has
/// not yet seen listed (nor named in `index.list`).
const UNLISTED: &[u8] = b"unlisted\n";

/// Where the listing entry of a cached index file is recorded.
fn seen_path(cached: &Path) -> PathBuf {
    let mut p = cached.as_os_str().to_owned();
    p.push(".seen");
    PathBuf::from(p)
}

/// A listing entry as recorded: size and last-modified time (ns).
fn seen_text(l: &Listed) -> String {
    let ns = l
        .modified
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{} {ns}\n", l.size)
}

/// Whether a listing carries no size or time (`index.list` over plain
/// HTTP): there the name is all there is to check.
fn unknown(l: &Listed) -> bool {
    l.size == 0 && l.modified == std::time::SystemTime::UNIX_EPOCH
}

/// Whether the remote still lists the object the cached copy came from.
fn still_listed(cached: &Path, listing: Option<&Listed>) -> bool {
    match listing {
        None => true,
        Some(l) if unknown(l) => true,
        Some(l) => std::fs::read_to_string(seen_path(cached)).is_ok_and(|t| t == seen_text(l)),
    }
}

/// Record (best effort) which remote object a cached copy came from.
fn remember_listing(cached: &Path, listing: Option<&Listed>) {
    if let Some(l) = listing.filter(|l| !unknown(l)) {
        let _ = crate::durable::write_atomic(&seen_path(cached), seen_text(l).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn listed(size: u64, ms: u64) -> Listed {
        Listed {
            path: "index/x.idx".into(),
            size,
            modified: SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
        }
    }

    #[test]
    fn a_cached_copy_stands_in_only_for_the_object_it_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let cached = dir.path().join("x.idx");
        std::fs::write(&cached, b"bytes").unwrap();
        let l = listed(5, 1_700_000_000_123);
        // Never recorded: not trusted.
        assert!(!still_listed(&cached, Some(&l)));
        remember_listing(&cached, Some(&l));
        assert!(still_listed(&cached, Some(&l)));
        // Rewritten on the remote: same size, another time; or resized.
        assert!(!still_listed(&cached, Some(&listed(5, 1_700_000_000_124))));
        assert!(!still_listed(&cached, Some(&listed(6, 1_700_000_000_123))));
        // Written by this client and not yet seen listed.
        std::fs::write(seen_path(&cached), UNLISTED).unwrap();
        assert!(!still_listed(&cached, Some(&l)));
        // A listing without size or time (`index.list`): the name decides.
        assert!(still_listed(&cached, Some(&listed(0, 0))));
        remember_listing(&cached, Some(&listed(0, 0)));
        assert_eq!(std::fs::read(seen_path(&cached)).unwrap(), UNLISTED);
    }
}
