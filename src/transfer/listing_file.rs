//! `index.list`: the listing of a remote's `index/` that writers keep
//! beside it (FORMAT.md §15.1), so a remote that cannot list objects (a
//! plain HTTP server) can still be read.

use std::time::SystemTime;

use super::{Connection, Listed};
use crate::error::Result;
use crate::remote::index::{self, INDEX_DIR};
use crate::remote::notes;

/// Whether a path under `index/` is an index file or a note.
fn is_note_or_index(path: &str) -> bool {
    index::index_id_of(path).is_some()
        || notes::damage_id_of(path).is_some()
        || notes::condemn_id_of(path).is_some()
}

impl Connection {
    /// Whether the remote can list objects. Plain HTTP(S) servers cannot;
    /// for them, writers keep `index.list` (FORMAT.md §15.1).
    pub fn listable(&self) -> bool {
        !matches!(self.remote.location, crate::remote::Location::Http(_))
    }

    /// Listing through `index.list`: the index files and damage notes it
    /// names. Packs cannot be listed this way (an empty answer).
    pub(super) fn list_from_listing(&self, dir: &str) -> Result<Vec<Listed>> {
        if dir != INDEX_DIR {
            return Ok(Vec::new());
        }
        let text = self.rt.block_on(self.get_async(index::LISTING))?;
        Ok(String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| is_note_or_index(l))
            .map(|l| Listed {
                path: l.to_string(),
                size: 0,
                modified: SystemTime::UNIX_EPOCH,
            })
            .collect())
    }

    /// Rewrite `index.list` from a fresh listing of `index/`, so the remote
    /// can also be read over plain HTTP. Written after the objects it
    /// names; a racing writer's newer listing includes them too.
    pub fn publish_listing(&self) -> Result<()> {
        let listed = self.list(INDEX_DIR)?;
        self.remember_written(&listed);
        let mut names: Vec<String> = listed
            .into_iter()
            .map(|l| l.path)
            .filter(|p| is_note_or_index(p))
            .collect();
        names.sort();
        let text: String = names.iter().map(|n| format!("{n}\n")).collect();
        self.rt
            .block_on(self.put_async(index::LISTING, text.into_bytes()))?;
        self.sync_folder(&[index::LISTING.to_string()])
    }
}
