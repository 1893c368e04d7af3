//! `verify --remote`, second half: coverage. Intact packs are not enough;
//! the remote must also hold every object that the data of the work tree,
//! HEAD and every tag needs (a push can race a `gc --remote` on another
//! clone, a pack can be lost, an index file can be damaged). Listings,
//! manifests and segments the cache lacks are fetched first, since they
//! say which chunks a file needs; chunks are only looked up in the index.
//! Each object the remote lacks is named with one path and revision that
//! need it and the command that sends it again.

use std::collections::HashSet;

use super::{fetch, Connection, DamageSet};
use crate::engine::listing;
use crate::engine::reach::Reach;
use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::pointer::Pointer;
use crate::hash::Id;
use crate::progress::Progress;
use crate::remote::index::RemoteIndex;
use crate::store::Store;

/// The pointers of one revision whose data the remote must hold.
#[derive(Debug, Clone)]
pub struct Revision {
    /// How to name it to the user: `the work tree`, `HEAD`, a tag.
    pub label: String,
    /// The revision argument of the push that sends its data (`None`: the
    /// work tree, a push without arguments).
    pub rev: Option<String>,
    pub pointers: Vec<(String, Pointer)>,
}

/// An object a revision needs that the remote lacks (or holds only
/// damaged copies of).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub kind: ObjectKind,
    pub id: Id,
    /// The tracked path (file inside a directory) that needs it.
    pub path: String,
    /// The revision's label.
    pub revision: String,
    /// The command that sends it, run in a clone that has the data.
    pub fix: String,
}

/// As `verify --remote --json` prints it, keys in alphabetical order.
impl serde::Serialize for Gap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Gap", 5)?;
        st.serialize_field("fix", &self.fix)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("path", &self.path)?;
        st.serialize_field("rev", &self.revision)?;
        st.end()
    }
}

/// Every object `revisions` need that the remote lacks, each once (with
/// the first revision and path needing it). `avoid` are damaged copies
/// this run found (they never count as present).
pub fn check(
    conn: &Connection,
    store: &Store,
    revisions: &[Revision],
    avoid: &DamageSet,
    progress: &dyn Progress,
) -> Result<Vec<Gap>> {
    let state = conn.load_index_with(avoid)?;
    let idx = &state.index;
    let all: Vec<&(String, Pointer)> = revisions.iter().flat_map(|r| &r.pointers).collect();
    let mut needs = |s: &Store| {
        let mut r = Reach::default();
        for (rel, ptr) in &all {
            r.add_pointer(s, rel, ptr)?;
        }
        Ok(r.missing
            .into_iter()
            .filter(|m| m.kind != ObjectKind::Chunk && idx.contains(m.kind, &m.id))
            .collect())
    };
    fetch::fetch(conn, store, &mut needs, progress)?;

    let mut gaps = Vec::new();
    let mut reported: HashSet<(ObjectKind, Id)> = HashSet::new();
    for rev in revisions {
        let mut r = Reach::default();
        for (rel, ptr) in &rev.pointers {
            r.add_pointer(store, rel, ptr)?;
        }
        let lacking: HashSet<(ObjectKind, Id)> = r
            .objects
            .iter()
            .copied()
            .chain(r.missing.iter().map(|m| (m.kind, m.id)))
            .filter(|o| !reported.contains(o) && !on_remote(idx, *o))
            .collect();
        if lacking.is_empty() {
            continue;
        }
        let fix = match &rev.rev {
            Some(name) => format!("cairn push -r {} {name}", conn.remote.name),
            None => format!("cairn push -r {}", conn.remote.name),
        };
        // Rare: walk again, file by file, to say who needs what.
        for (rel, ptr) in &rev.pointers {
            for (path, objects) in per_file(store, rel, ptr)? {
                let mut found: Vec<_> = objects.intersection(&lacking).copied().collect();
                found.sort_by_key(|(k, id)| (k.to_u8(), *id));
                for o in found {
                    if reported.insert(o) {
                        gaps.push(Gap {
                            kind: o.0,
                            id: o.1,
                            path: path.clone(),
                            revision: rev.label.clone(),
                            fix: fix.clone(),
                        });
                    }
                }
            }
        }
    }
    Ok(gaps)
}

/// Whether the remote has an intact copy (a file of one chunk is stored
/// as that chunk, without a manifest).
fn on_remote(idx: &RemoteIndex, (kind, id): (ObjectKind, Id)) -> bool {
    idx.contains(kind, &id)
        || (kind == ObjectKind::Manifest && idx.contains(ObjectKind::Chunk, &id))
}

/// A set of objects.
type Objects = HashSet<(ObjectKind, Id)>;

/// What each file of one pointer needs (a directory's listing counts for
/// the directory itself).
fn per_file(store: &Store, rel: &str, ptr: &Pointer) -> Result<Vec<(String, Objects)>> {
    let needed = |r: Reach| -> Objects {
        r.objects
            .into_iter()
            .chain(r.missing.into_iter().map(|m| (m.kind, m.id)))
            .collect()
    };
    let mut out = Vec::new();
    match ptr {
        Pointer::File { id, size, .. } => {
            let mut r = Reach::default();
            r.add_file_at(store, rel, id, *size)?;
            out.push((rel.to_string(), needed(r)));
        }
        Pointer::Dir { id, .. } => {
            // Every node of the listing counts for the directory itself. A
            // listing that is absent or unreadable was reported as such.
            let walk = match listing::walk(store, id, None, false) {
                Err(Error::CorruptObject { .. }) => Default::default(),
                r => r?,
            };
            let nodes = std::iter::once(*id)
                .chain(walk.nodes)
                .chain(walk.absent)
                .map(|n| (ObjectKind::Tree, n));
            out.push((rel.to_string(), nodes.collect()));
            for e in walk.entries {
                let path = format!("{rel}/{}", e.path);
                let mut r = Reach::default();
                r.add_file_at(store, &path, &e.id, e.size)?;
                out.push((path, needed(r)));
            }
        }
    }
    Ok(out)
}
