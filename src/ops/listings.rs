//! The listings of tracked directories, for the verbs that look inside
//! them (`ls -R`, `log` of a file in a directory, `du`).
//!
//! A directory pointer names only its listing; what it holds is in the
//! listing object. Reading one goes through the store, so every listing
//! returned has been checked against its id. A listing the cache lacks is
//! fetched from the default remote, its nodes alone (metadata, never the
//! files' chunks), when a remote is configured; what can still not be read
//! is returned as missing so the caller can name it instead of guessing.

use std::collections::HashMap;

use crate::engine::listing;
use crate::engine::reach::Missing;
use crate::error::Result;
use crate::format::kind::ObjectKind;
use crate::format::object::TreeEntry;
use crate::hash::Id;
use crate::progress::Progress;
use crate::store::Store;
use crate::transfer::{self, Connection};

use super::Session;

/// Listings by directory id, and the directories (id, the path that needs
/// it) whose listing could be read from neither the cache nor a remote.
#[derive(Debug, Default)]
pub struct Listings {
    pub read: HashMap<Id, Vec<TreeEntry>>,
    pub missing: Vec<(Id, String)>,
}

/// The listings of `dirs` (listing id, the tracked path it belongs to, for
/// messages), each read once. Missing ones are fetched from the default
/// remote when one is configured; a remote that cannot be reached is not
/// an error here, the listing is reported missing.
pub fn read(s: &Session, dirs: &[(Id, String)], progress: &dyn Progress) -> Result<Listings> {
    let store = s.store(progress)?;
    let mut out = Listings::default();
    let mut wanted: Vec<(Id, String)> = Vec::new();
    for (id, rel) in dirs {
        if out.read.contains_key(id) || wanted.iter().any(|(w, _)| w == id) {
            continue;
        }
        match cached(store, id)? {
            Some(entries) => {
                out.read.insert(*id, entries);
            }
            None => wanted.push((*id, rel.clone())),
        }
    }
    if wanted.is_empty() {
        return Ok(out);
    }
    if s.remote(None).is_ok() {
        // A missing or unreachable remote leaves the listings missing; the
        // caller names them and the hint says how to get them.
        let _ = fetch_listings(s, &wanted, progress);
    }
    let store = s.store(progress)?;
    for (id, rel) in wanted {
        match cached(store, &id)? {
            Some(entries) => {
                out.read.insert(id, entries);
            }
            None => out.missing.push((id, rel)),
        }
    }
    Ok(out)
}

/// A listing from the cache, verified and decoded; `None` if it is not
/// there (a damaged copy counts as absent, so a fetch can replace it).
fn cached(store: &Store, id: &Id) -> Result<Option<Vec<TreeEntry>>> {
    let w = listing::walk(store, id, None, true)?;
    Ok(w.absent.is_empty().then_some(w.entries))
}

/// Fetch just the listing objects `wanted` from the default remote.
fn fetch_listings(s: &Session, wanted: &[(Id, String)], progress: &dyn Progress) -> Result<()> {
    let (store, _lock) = s.store_locked(progress)?;
    let resolved = s.remote(None)?;
    let conn = Connection::open(resolved, &s.workspace().cache_dir(), false)?;
    // Level by level: a fetched `CTN2` node names the nodes below it.
    let mut needs = |st: &Store| -> Result<Vec<Missing>> {
        let mut out = Vec::new();
        for (id, rel) in wanted {
            for node in listing::walk(st, id, None, true)?.absent {
                out.push(Missing {
                    id: node,
                    kind: ObjectKind::Tree,
                    needed_by: rel.clone(),
                });
            }
        }
        Ok(out)
    };
    transfer::fetch::fetch(&conn, store, &mut needs, progress)?;
    Ok(())
}
