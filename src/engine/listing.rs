//! Directory listings against the store: the one place the engine and
//! the verbs read, write and compare listings, flat (v1) or layered (v2).
//!
//! The format rules are in [`crate::format::listing`]; this module feeds
//! it nodes from the store (each checked against its id there) and turns
//! its failures into the crate's errors: a node that does not fit its
//! tree is reported as damage to the node that names it. A full read
//! re-derives the cuts, so a non-canonical tree is refused, never used.
//!
//! [`Builder`] builds the same listing as [`listing::build`] from entries
//! that arrive one at a time in path order, handing each node over as soon
//! as it is complete, so `add` and `status` of a million-file directory
//! hold one leaf of entries and one child per leaf, not every entry.

use std::path::Path;

use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::listing::{
    self, is_cut, Built, Child, Walk, WalkError, FLAT_MAX, MAX_FANOUT, MAX_NODE_LEN,
};
use crate::format::object::{self, TreeEntry};
use crate::hash::Id;
use crate::store::Store;

/// Read nodes from `store`; with `refetch`, a damaged copy (which the
/// store then counts as absent) reads as absent so a fetch replaces it.
fn loader(store: &Store, refetch: bool) -> impl FnMut(&Id) -> Result<Option<Vec<u8>>> + '_ {
    move |id| match store.read(ObjectKind::Tree, id) {
        Err(Error::CorruptObject { .. }) if refetch => Ok(None),
        r => r,
    }
}

fn error(store: &Store, e: WalkError<Error>) -> Error {
    match e {
        WalkError::Load(e) => e,
        WalkError::Damaged { id, cause } => store.corrupt(ObjectKind::Tree, id, cause),
    }
}

/// Walk listing `root` as far as the store has it (see
/// [`listing::walk`]); a complete walk without `within` is also checked
/// to be canonical.
pub fn walk(store: &Store, root: &Id, within: Option<&str>, refetch: bool) -> Result<Walk> {
    let w =
        listing::walk(root, &mut loader(store, refetch), within).map_err(|e| error(store, e))?;
    if within.is_none() && w.absent.is_empty() {
        listing::check_canonical(root, &w)
            .map_err(|e| store.corrupt(ObjectKind::Tree, *root, e))?;
    }
    Ok(w)
}

/// The entries of listing `root` at or below `within` (all without it);
/// a node the store lacks is an error naming `path`, the tracked path.
pub fn read_at(
    store: &Store,
    root: &Id,
    within: Option<&str>,
    path: &Path,
) -> Result<Vec<TreeEntry>> {
    let w = walk(store, root, within, false)?;
    match w.absent.first() {
        Some(id) => Err(Error::MissingObject {
            kind: ObjectKind::Tree,
            id: *id,
            path: path.to_path_buf(),
        }),
        None => Ok(w.entries),
    }
}

/// The entries of two listings outside the subtrees they share: the old
/// one's, then the new one's, each sorted by path.
pub type Unshared = (Vec<TreeEntry>, Vec<TreeEntry>);

/// The entries of stored listing `old` and of `new` (stored, or the
/// in-memory `built` when given) outside the subtrees both share; `None`
/// when a node of either is absent. Comparing the two lists gives the
/// changes without reading the leaves an edit did not touch.
pub fn changed(
    store: &Store,
    old: &Id,
    new: &Id,
    built: Option<&Built>,
) -> Result<Option<Unshared>> {
    let mut load_old = loader(store, false);
    // A built listing may hold only the nodes the store lacks.
    let mut load_new = |id: &Id| match built.and_then(|b| b.node(id)) {
        Some(n) => Ok(Some(n.to_vec())),
        None => store.read(ObjectKind::Tree, id),
    };
    let (a, b) =
        listing::changed(old, &mut load_old, new, &mut load_new).map_err(|e| error(store, e))?;
    if !a.absent.is_empty() || !b.absent.is_empty() {
        return Ok(None);
    }
    Ok(Some((a.entries, b.entries)))
}

/// Walk listing `root` as far as the store has it, handing each leaf's
/// entries (at or below `within`) to `each` in path order, without holding
/// more than one leaf (see [`listing::stream`]). A complete walk without
/// `within` is checked to be canonical, as [`walk`] does, but only once
/// every leaf has been seen: a caller that must not act on a non-canonical
/// listing walks it once first.
pub fn walk_leaves(
    store: &Store,
    root: &Id,
    within: Option<&str>,
    refetch: bool,
    each: &mut dyn FnMut(Vec<TreeEntry>) -> Result<()>,
) -> Result<listing::stream::Streamed> {
    listing::stream::walk_leaves(root, &mut loader(store, refetch), within, each)
        .map_err(|e| error(store, e))
}

/// Call `f` with every entry of stored listing `root`, a leaf at a time,
/// in no particular order; nodes the store lacks are skipped (the caller
/// counts what it needs as it sees fit). Memory holds one leaf and the
/// ids still to visit, not the listing.
pub fn each_entry(
    store: &Store,
    root: &Id,
    f: &mut dyn FnMut(&TreeEntry) -> Result<()>,
) -> Result<()> {
    let mut todo = vec![*root];
    while let Some(id) = todo.pop() {
        let Some(raw) = store.read(ObjectKind::Tree, &id)? else {
            continue;
        };
        match listing::decode_node(&raw).map_err(|e| store.corrupt(ObjectKind::Tree, id, e))? {
            listing::Node::Leaf(entries) => {
                for e in &entries {
                    f(e)?;
                }
            }
            listing::Node::Inner(n) => todo.extend(n.children.iter().rev().map(|c| c.id)),
        }
    }
    Ok(())
}

/// Bytes of a `CTR1` header and of one entry before its path, and of a
/// `CTN2` header and of one child before its last path (FORMAT.md §5.6;
/// the builder tests check them against [`listing::build`]).
const LEAF_HEADER: usize = 8;
const ENTRY_FIXED: usize = 46;
const NODE_HEADER: usize = 28;
const CHILD_FIXED: usize = 50;

/// The root of a listing built by [`Builder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Root {
    pub id: Id,
    pub files: u64,
    pub bytes: u64,
    /// Whether the root is a `CTN2` node (the pointer is then version 2).
    pub layered: bool,
}

/// Builds the canonical listing of entries pushed in path order (bytewise,
/// unique, checked), calling `sink` with each node (id, encoding), leaves
/// first and the root last, exactly as [`listing::build`] lists them.
pub struct Builder<'a> {
    sink: &'a mut dyn FnMut(Id, Vec<u8>) -> Result<()>,
    /// The entries of the leaf being filled; while `flat`, every entry.
    run: Vec<TreeEntry>,
    run_bytes: usize,
    /// At most [`FLAT_MAX`] entries so far: the listing may still be one
    /// flat blob, so no cut is made yet.
    flat: bool,
    leaves: Vec<Child>,
    files: u64,
    bytes: u64,
}

impl<'a> Builder<'a> {
    pub fn new(sink: &'a mut dyn FnMut(Id, Vec<u8>) -> Result<()>) -> Builder<'a> {
        Builder {
            sink,
            run: Vec::new(),
            run_bytes: LEAF_HEADER,
            flat: true,
            leaves: Vec::new(),
            files: 0,
            bytes: 0,
        }
    }

    pub fn push(&mut self, e: TreeEntry) -> Result<()> {
        self.files += 1;
        self.bytes += e.size;
        if self.flat {
            self.run.push(e);
            if self.run.len() <= FLAT_MAX {
                return Ok(());
            }
            // Too many for one blob: cut what was held back, as build does.
            self.flat = false;
            let held = std::mem::take(&mut self.run);
            for e in held {
                self.cut(e)?;
            }
            return Ok(());
        }
        self.cut(e)
    }

    /// Add `e` to the current leaf and end the leaf where build would.
    fn cut(&mut self, e: TreeEntry) -> Result<()> {
        self.run_bytes += ENTRY_FIXED + e.path.len();
        let hash = is_cut(0, &e.path);
        self.run.push(e);
        if hash || self.run.len() >= MAX_FANOUT || self.run_bytes >= MAX_NODE_LEN {
            self.leaf()?;
        }
        Ok(())
    }

    fn leaf(&mut self) -> Result<()> {
        let run = std::mem::take(&mut self.run);
        self.run_bytes = LEAF_HEADER;
        let raw = object::encode_tree(&run);
        let id = Id::of(&raw);
        self.leaves.push(Child {
            id,
            files: run.len() as u64,
            bytes: run.iter().map(|e| e.size).sum(),
            last: run.last().map(|e| e.path.clone()).unwrap_or_default(),
        });
        (self.sink)(id, raw)
    }

    pub fn finish(mut self) -> Result<Root> {
        if self.flat || !self.run.is_empty() {
            self.leaf()?;
        }
        let mut level = std::mem::take(&mut self.leaves);
        let layered = level.len() > 1;
        let mut height: u8 = 0;
        while level.len() > 1 {
            height += 1;
            let mut next = Vec::new();
            let mut start = 0;
            let mut bytes = NODE_HEADER;
            for i in 0..level.len() {
                bytes += CHILD_FIXED + level[i].last.len();
                let n = i + 1 - start;
                let hash = n >= 2 && is_cut(height, &level[i].last);
                if hash || n >= MAX_FANOUT || bytes >= MAX_NODE_LEN || i + 1 == level.len() {
                    next.push(self.inner(height, level[start..=i].to_vec())?);
                    start = i + 1;
                    bytes = NODE_HEADER;
                }
            }
            level = next;
        }
        let id = level
            .first()
            .map_or_else(|| Id::of(&object::encode_tree(&[])), |c| c.id);
        Ok(Root {
            id,
            files: self.files,
            bytes: self.bytes,
            layered,
        })
    }

    fn inner(&mut self, level: u8, children: Vec<Child>) -> Result<Child> {
        let (child, raw) = listing::inner_node(level, children);
        (self.sink)(child.id, raw)?;
        Ok(child)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::object::Mode;

    fn entries(n: usize, long: bool) -> Vec<TreeEntry> {
        let mut v: Vec<TreeEntry> = (0..n)
            .map(|i| TreeEntry {
                path: if long {
                    format!("d{:03}/{}/f{i:07}", i % 7, "x".repeat(200 + i % 300))
                } else {
                    format!("d{:03}/f{i:07}.csv", i % 1000)
                },
                mode: Mode::Regular,
                size: i as u64 % 977,
                id: Id::of(&i.to_le_bytes()),
            })
            .collect();
        v.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        v
    }

    #[test]
    fn builder_matches_build_node_for_node() {
        for (n, long) in [
            (0, false),
            (1, false),
            (1024, false),
            (1025, false),
            (5000, false),
            (60_000, false),
            (20_000, true),
        ] {
            let es = entries(n, long);
            let want = listing::build(&es);
            let mut got = Vec::new();
            let mut sink = |id, raw| {
                got.push((id, raw));
                Ok(())
            };
            let mut b = Builder::new(&mut sink);
            for e in es {
                b.push(e).unwrap();
            }
            let root = b.finish().unwrap();
            assert_eq!(root.id, want.root, "{n} entries");
            assert_eq!((root.files, root.bytes), (want.files, want.bytes));
            assert_eq!(root.layered, want.layered());
            assert_eq!(got, want.nodes, "{n} entries");
        }
    }
}
