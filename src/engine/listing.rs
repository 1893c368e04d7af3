//! Directory listings against the store: the one place the engine and
//! the verbs read, write and compare listings, flat (v1) or layered (v2).
//!
//! The format rules are in [`crate::format::listing`]; this module feeds
//! it nodes from the store (each checked against its id there) and turns
//! its failures into the crate's errors: a node that does not fit its
//! tree is reported as damage to the node that names it. A full read
//! re-derives the cuts, so a non-canonical tree is refused, never used.

use std::path::Path;

use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::listing::{self, Built, Walk, WalkError};
use crate::format::object::TreeEntry;
use crate::hash::Id;
use crate::store::{Put, Store};

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

/// Store every node of a built listing; what each put did, in order.
pub fn put(store: &Store, built: &Built) -> Result<Vec<Put>> {
    built
        .nodes
        .iter()
        .map(|(id, raw)| store.put(ObjectKind::Tree, *id, raw))
        .collect()
}

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
    let mut load_new = |id: &Id| match built {
        Some(b) => Ok(b.node(id).map(<[u8]>::to_vec)),
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
