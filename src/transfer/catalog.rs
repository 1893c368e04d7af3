//! A remote's catalogue: reading its index files and damage notes (through
//! a local cache of these immutable, content-named objects) and writing
//! new ones. Split from the connection itself, which only moves bytes.

use std::path::PathBuf;

use bytes::Bytes;
use futures::TryStreamExt;

use super::{stamp, Connection, DamageSet, IndexState, DOWNLOADS};
use crate::error::{Error, Result};
use crate::hash::Id;
use crate::remote::index::{self, INDEX_DIR};

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
        let mut state = IndexState::default();
        let mut wanted = Vec::new();
        for l in self.list(INDEX_DIR)? {
            if let Some(id) = index::index_id_of(&l.path) {
                wanted.push((id, l.path.clone()));
                state.files.push(l);
            } else if let Some(id) = index::damage_id_of(&l.path) {
                wanted.push((id, l.path.clone()));
                state.notes.push(l);
            } else if let Some(id) = index::condemn_id_of(&l.path) {
                wanted.push((id, l.path.clone()));
                state.condemn_notes.push(l);
            }
        }
        let bodies = self.read_named(wanted)?;
        let mut notes = Vec::new();
        for (id, path, bytes) in &bodies {
            if index::damage_id_of(path).is_some() && Id::of(bytes) == *id {
                notes.extend(index::decode_notes(&String::from_utf8_lossy(bytes)));
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
            match index::decode(&id, &bytes) {
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

    /// Fill in the condemned packs from the condemnation notes read, before
    /// any index file is added (the index prefers other copies to theirs).
    fn read_condemned(&self, state: &mut IndexState, bodies: &[(Id, String, Vec<u8>)]) {
        for (id, path, bytes) in bodies {
            if index::condemn_id_of(path).is_none() || Id::of(bytes) != *id {
                continue;
            }
            let Some(note) = state.condemn_notes.iter().find(|l| l.path == *path) else {
                continue;
            };
            let written = stamp(note.modified);
            for mut c in index::decode_condemned(&String::from_utf8_lossy(bytes)) {
                c.since = Some(c.since.unwrap_or(written));
                state.index.condemned.insert(c.pack);
                state.condemned.push(c);
            }
        }
    }

    /// The bytes of immutable, content-named objects under `index/`: from
    /// the local cache when there, else downloaded (and cached once their
    /// hash matches their name).
    fn read_named(&self, items: Vec<(Id, String)>) -> Result<Vec<(Id, String, Vec<u8>)>> {
        let mut out = Vec::new();
        let mut todo = Vec::new();
        for (id, path) in items {
            let name = path.rsplit('/').next().unwrap_or_default().to_string();
            let cached = self.index_cache.join(&name);
            match std::fs::read(&cached) {
                Ok(b) if Id::of(&b) == id => out.push((id, path, b)),
                _ => todo.push((id, path, cached)),
            }
        }
        if todo.is_empty() {
            return Ok(out);
        }
        std::fs::create_dir_all(&self.index_cache)
            .map_err(|e| Error::io("create directory", &self.index_cache, e))?;
        let fetched: Vec<(Id, String, PathBuf, Bytes)> = self.rt.block_on(async {
            use futures::StreamExt;
            futures::stream::iter(todo)
                .map(|(id, path, cached)| async move {
                    let b = self.get_async(&path).await?;
                    Ok::<_, Error>((id, path, cached, b))
                })
                .buffer_unordered(DOWNLOADS)
                .try_collect()
                .await
        })?;
        for (id, path, cached, bytes) in fetched {
            if Id::of(&bytes) == id {
                // Best effort: a cache we cannot write costs a download.
                let _ = crate::workspace::write_atomic(&cached, &bytes);
            }
            out.push((id, path, bytes.to_vec()));
        }
        Ok(out)
    }

    /// Record damaged copies on the remote itself, as a damage note beside
    /// the index files, so every client avoids them and any clone with good
    /// data can repair them by pushing.
    pub fn write_damage(&self, notes: &[index::Note]) -> Result<String> {
        let text = index::encode_notes(notes);
        let id = Id::of(text.as_bytes());
        let rel = format!("{INDEX_DIR}/{}{}", id.to_hex(), index::DAMAGE_SUFFIX);
        self.rt
            .block_on(self.put_async(&rel, text.clone().into_bytes()))?;
        self.sync_folder(std::slice::from_ref(&rel))?;
        Ok(rel)
    }

    /// Write a condemnation note; returns its remote path.
    pub fn write_condemned(&self, entries: &[index::Condemned]) -> Result<String> {
        let text = index::encode_condemned(entries);
        let id = Id::of(text.as_bytes());
        let rel = format!("{INDEX_DIR}/{}{}", id.to_hex(), index::CONDEMN_SUFFIX);
        self.rt.block_on(self.put_async(&rel, text.into_bytes()))?;
        self.sync_folder(std::slice::from_ref(&rel))?;
        Ok(rel)
    }

    /// Write an index file listing `packs`; returns its remote path.
    pub fn write_index(&self, packs: &[index::PackRecord]) -> Result<String> {
        let (id, bytes) = index::encode(packs);
        let rel = format!("{INDEX_DIR}/{}.idx", id.to_hex());
        self.rt.block_on(self.put_async(&rel, bytes.clone()))?;
        self.sync_folder(std::slice::from_ref(&rel))?;
        // Cache it so the next command needs no download (best effort).
        if std::fs::create_dir_all(&self.index_cache).is_ok() {
            let _ = crate::workspace::write_atomic(
                &self.index_cache.join(format!("{}.idx", id.to_hex())),
                &bytes,
            );
        }
        Ok(rel)
    }
}
