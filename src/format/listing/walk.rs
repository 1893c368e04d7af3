//! Reading a listing tree through a `load(id)` callback.
//!
//! The store, an in-memory build or a test supplies the nodes; this module
//! only decodes them and checks that they fit together: each child is the
//! node its parent describes (level, totals, last path) and paths increase
//! across nodes. A walk may stop at absent nodes (a fetch then asks for
//! them) or skip subtrees outside a path or shared with another tree.
//! [`check_canonical`] then re-derives the cuts from the entries, so a
//! tree that is consistent but not the one the format prescribes is
//! refused: otherwise one directory could have two ids and dedup would
//! silently break.

use std::collections::HashSet;

use super::{build, decode_node, Child, Node};
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

/// Where a node sits: its parent, the parent's description of it, and the
/// last path before it (exclusive lower bound of its paths).
struct Place<'a> {
    parent: Id,
    level: u8,
    child: &'a Child,
    lower: Option<&'a str>,
}

struct Walker<'a, E> {
    load: &'a mut Load<'a, E>,
    within: Option<&'a str>,
    skip: Option<&'a HashSet<Id>>,
    out: Walk,
}

/// Whether any path at or below `within` can lie in `(lower, last]`. The
/// paths below `w` sort in `[w, w + "0")`, since `/` precedes `0`.
fn overlaps(within: &str, lower: Option<&str>, last: &str) -> bool {
    let hi = format!("{within}0");
    last.as_bytes() >= within.as_bytes() && lower.is_none_or(|l| l.as_bytes() < hi.as_bytes())
}

fn is_within(path: &str, within: &str) -> bool {
    path == within
        || path
            .strip_prefix(within)
            .is_some_and(|r| r.starts_with('/'))
}

impl<E> Walker<'_, E> {
    fn visit(&mut self, id: Id, place: Option<Place<'_>>) -> Result<(), WalkError<E>> {
        let Some(raw) = (self.load)(&id).map_err(WalkError::Load)? else {
            self.out.absent.push(id);
            return Ok(());
        };
        let damaged = |id: Id| move |cause| WalkError::Damaged { id, cause };
        self.out.nodes.push(id);
        let node = decode_node(&raw).map_err(damaged(id))?;
        let (level, files, bytes, first, last) = match &node {
            Node::Leaf(entries) => (
                0,
                entries.len() as u64,
                entries.iter().try_fold(0u64, |a, e| a.checked_add(e.size)),
                entries.first().map(|e| e.path.as_str()),
                entries.last().map(|e| e.path.as_str()),
            ),
            Node::Inner(n) => (
                n.level,
                n.files,
                Some(n.bytes),
                n.children.first().map(|c| c.last.as_str()),
                n.children.last().map(|c| c.last.as_str()),
            ),
        };
        match &place {
            None => self.out.flat = matches!(node, Node::Leaf(_)),
            Some(p) => {
                if level + 1 != p.level {
                    return Err(damaged(p.parent)(ObjectError::NonCanonical));
                }
                if files != p.child.files
                    || bytes != Some(p.child.bytes)
                    || last != Some(p.child.last.as_str())
                {
                    return Err(damaged(p.parent)(ObjectError::Totals));
                }
                if let (Some(lo), Some(f)) = (p.lower, first) {
                    if f.as_bytes() <= lo.as_bytes() {
                        return Err(damaged(p.parent)(ObjectError::Order));
                    }
                }
            }
        }
        match node {
            Node::Leaf(entries) => match self.within {
                None => self.out.entries.extend(entries),
                Some(w) => self
                    .out
                    .entries
                    .extend(entries.into_iter().filter(|e| is_within(&e.path, w))),
            },
            Node::Inner(n) => {
                let mut lower = place.and_then(|p| p.lower.map(str::to_string));
                for c in &n.children {
                    let skipped = self.skip.is_some_and(|s| s.contains(&c.id))
                        || self
                            .within
                            .is_some_and(|w| !overlaps(w, lower.as_deref(), &c.last));
                    if !skipped {
                        let place = Place {
                            parent: id,
                            level: n.level,
                            child: c,
                            lower: lower.as_deref(),
                        };
                        self.visit(c.id, Some(place))?;
                    }
                    lower = Some(c.last.clone());
                }
            }
        }
        Ok(())
    }
}

/// Walk the listing with root `root`, reading nodes through `load`
/// (`None`: absent). With `within`, only subtrees that can hold paths at
/// or below it are read, and only those entries kept.
pub fn walk<E>(
    root: &Id,
    load: &mut Load<'_, E>,
    within: Option<&str>,
) -> Result<Walk, WalkError<E>> {
    let mut w = Walker {
        load,
        within,
        skip: None,
        out: Walk::default(),
    };
    w.visit(*root, None)?;
    Ok(w.out)
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
    let side = |root: &Id, load: &mut Load<'_, E>| {
        let mut w = Walker {
            load,
            within: None,
            skip: Some(&shared),
            out: Walk::default(),
        };
        w.visit(*root, None).map(|()| w.out)
    };
    Ok((side(a, load_a)?, side(b, load_b)?))
}
