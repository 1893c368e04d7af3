//! Which pointers (by top id) the cache holds only the metadata of: what
//! `pull --no-cache` restored straight from the remote, leaving the chunks
//! of its files of several chunks out of the cache by design.
//!
//! The store cannot tell cheaply that a directory's data is complete (that
//! takes a walk of every file), and its listing and manifests are in the
//! cache, so without this record `status` would call such data cached.
//! The record is a file in the cache (`uncached`, one hex id per line,
//! FORMAT.md §10.7), written atomically under the store lock by the pull
//! that skipped the chunks and by a fetch that completed them; a missing
//! or unreadable file reads as empty, and only its first 16 MiB is read,
//! so the worst a lost or hostile record does is what status did before. It describes the cache, so clones sharing a cache share it.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::Result;
use crate::hash::Id;

use crate::store::{MAX_UNCACHED_BYTES as MAX_LEN, UNCACHED_FILE as NAME};

/// The pointers recorded as lacking their chunks in the cache at `cache`.
pub fn load(cache: &Path) -> BTreeSet<Id> {
    let mut text = Vec::new();
    let read = std::fs::File::open(cache.join(NAME))
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_LEN), &mut text));
    if read.is_err() {
        return BTreeSet::new();
    }
    String::from_utf8_lossy(&text)
        .lines()
        .filter_map(Id::from_hex)
        .collect()
}

/// Record `partial` as lacking chunks and `complete` as no longer lacking
/// any (a pointer in both counts as partial). Call with the store locked.
pub fn update(cache: &Path, partial: &[Id], complete: &[Id]) -> Result<()> {
    let before = load(cache);
    let mut after = before.clone();
    for id in complete {
        after.remove(id);
    }
    after.extend(partial.iter().copied());
    if after == before {
        return Ok(());
    }
    let path = cache.join(NAME);
    if after.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(crate::error::Error::io("remove", &path, e))
            }
            _ => Ok(()),
        };
    }
    let text: String = after
        .iter()
        .map(|id| format!("{}\n", id.to_hex()))
        .collect();
    crate::durable::write_atomic(&path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_wins_and_complete_clears() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (Id::of(b"a"), Id::of(b"b"));
        assert!(load(dir.path()).is_empty());
        update(dir.path(), &[a, b], &[]).unwrap();
        assert_eq!(load(dir.path()).len(), 2);
        update(dir.path(), &[b], &[a, b]).unwrap();
        assert_eq!(load(dir.path()).into_iter().collect::<Vec<_>>(), vec![b]);
        update(dir.path(), &[], &[b]).unwrap();
        assert!(!dir.path().join(NAME).exists());
    }

    /// A huge or damaged record is read only up to its bound: lines past it
    /// are ignored, and junk lines never stop the ones that parse.
    #[test]
    fn a_record_is_read_only_up_to_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (Id::of(b"a"), Id::of(b"b"));
        let mut text = format!("{}\nnot an id\n", a.to_hex());
        while (text.len() as u64) < MAX_LEN {
            text.push_str(&"x".repeat(1023));
            text.push('\n');
        }
        text.push_str(&format!("{}\n", b.to_hex()));
        std::fs::write(dir.path().join(NAME), text).unwrap();
        assert_eq!(load(dir.path()).into_iter().collect::<Vec<_>>(), vec![a]);
    }
}
