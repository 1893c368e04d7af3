//! Reading a listing tree through a `load(id)` callback, collected whole.
//!
//! The store, an in-memory build or a test supplies the nodes. The walk
//! itself is [`stream`](super::stream)'s, which decodes them and checks
//! that they fit together: each child is the node its parent describes
//! (level, totals, last path) and paths increase across nodes; this module
//! gathers its leaves. A walk may stop at absent nodes (a fetch then asks for
//! them) or skip subtrees outside a path or shared with another tree.
//! [`check_canonical`] then re-derives the cuts from the entries, so a
//! tree that is consistent but not the one the format prescribes is
//! refused: otherwise one directory could have two ids and dedup would
//! silently break.

use std::collections::HashSet;

use super::stream::stream;
use super::{build, decode_node, Node};
use crate::format::object::{check_no_file_dir_clash, ObjectError, TreeEntry};
use crate::hash::Id;

/// Reads one node by id: its bytes, or `None` when it is absent.
pub type Load<'a, E> = dyn FnMut(&Id) -> Result<Option<Vec<u8>>, E> + 'a;

/// Why a walk stopped.
#[derive(Debug)]
pub enum WalkError<E> {
    /// The callback failed.
    Load(E),
    /// Node `id` is damaged, or does not fit the tree it is in.
    Damaged { id: Id, cause: ObjectError },
}

/// What a walk saw.
#[derive(Debug, Default)]
pub struct Walk {
    /// The entries of the leaves read, in path order (only those at or
    /// below the walk's path, when it had one).
    pub entries: Vec<TreeEntry>,
    /// Every node read, the root first.
    pub nodes: Vec<Id>,
    /// Nodes the callback did not have: their subtrees are unread.
    pub absent: Vec<Id>,
    /// Whether the root is a `CTR1` leaf (a one-blob listing, as v1 wrote).
    pub flat: bool,
}

/// Walk the listing with root `root`, reading nodes through `load`
/// (`None`: absent). With `within`, only subtrees that can hold paths at
/// or below it are read, and only those entries kept.
pub fn walk<E>(
    root: &Id,
    load: &mut Load<'_, E>,
    within: Option<&str>,
) -> Result<Walk, WalkError<E>> {
    collect(root, load, within, None)
}

/// [`stream`]'s leaves gathered into one [`Walk`]. Canonicity is left to
/// [`check_canonical`], which rebuilds the tree: an independent check of
/// the one the streaming walk makes node by node.
fn collect<E>(
    root: &Id,
    load: &mut Load<'_, E>,
    within: Option<&str>,
    skip: Option<&HashSet<Id>>,
) -> Result<Walk, WalkError<E>> {
    let mut entries = Vec::new();
    let (s, _) = stream(root, load, within, skip, &mut |leaf| {
        entries.extend(leaf);
        Ok(())
    })?;
    Ok(Walk {
        entries,
        nodes: s.nodes,
        absent: s.absent,
        flat: s.flat,
    })
}

/// Check that a complete walk of `root` (no path, nothing absent) read
/// the canonical tree of its entries. A flat root is a v1 listing, which
/// has no cuts and is accepted whatever its size; a layered one must be
/// exactly what [`build`] makes of the entries.
pub fn check_canonical(root: &Id, w: &Walk) -> Result<(), ObjectError> {
    if w.flat {
        return Ok(());
    }
    check_no_file_dir_clash(&w.entries)?;
    if build(&w.entries).root != *root {
        return Err(ObjectError::NonCanonical);
    }
    Ok(())
}

/// The ids in the tree under `root` that are named without reading
/// leaves: the internal nodes read and every child they list.
fn named_ids<E>(root: &Id, load: &mut Load<'_, E>) -> Result<HashSet<Id>, WalkError<E>> {
    let mut out = HashSet::from([*root]);
    let mut queue = vec![*root];
    while let Some(id) = queue.pop() {
        let Some(raw) = load(&id).map_err(WalkError::Load)? else {
            continue;
        };
        if let Node::Inner(n) =
            decode_node(&raw).map_err(|cause| WalkError::Damaged { id, cause })?
        {
            for c in n.children {
                // Each node once: a hostile node may name one child many
                // times, and levels of that would read it exponentially often.
                if out.insert(c.id) && n.level > 1 {
                    queue.push(c.id);
                }
            }
        }
    }
    Ok(out)
}

/// The entries of listings `a` and `b` outside the subtrees they share:
/// a shared subtree holds the same entries in both, so comparing what
/// remains (both lists sorted) gives exactly the changes. Internal nodes
/// are read whole (about 1 in 512 of a listing); shared leaves never are.
pub fn changed<E>(
    a: &Id,
    load_a: &mut Load<'_, E>,
    b: &Id,
    load_b: &mut Load<'_, E>,
) -> Result<(Walk, Walk), WalkError<E>> {
    if a == b {
        return Ok((Walk::default(), Walk::default()));
    }
    let ids_a = named_ids(a, load_a)?;
    let ids_b = named_ids(b, load_b)?;
    let shared: HashSet<Id> = ids_a.intersection(&ids_b).copied().collect();
    Ok((
        collect(a, load_a, None, Some(&shared))?,
        collect(b, load_b, None, Some(&shared))?,
    ))
}
