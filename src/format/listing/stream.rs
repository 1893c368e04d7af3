//! Walking a listing leaf by leaf, holding one leaf at a time.
//!
//! [`walk`](super::walk::walk) collects every entry of a listing and then
//! rebuilds the whole tree to check that it is canonical: fine for
//! thousands of files, about 200 bytes per file at a million. This walk
//! hands each leaf's entries to a callback instead and checks canonicity
//! node by node as it goes, which is equivalent: the cuts of a level are
//! chosen greedily left to right, restarting after each cut, so a tree is
//! the one [`build`](super::build) makes exactly when, in every node, no
//! item but the last ends a run and the last one does (except in the last
//! node of its level), the root has at least two children and more than
//! [`FLAT_MAX`] files, and no file is also a directory of another. Memory
//! is one leaf, the node ids read, and the path of the current ancestors.
//!
//! The same checks of fit (levels, totals, order) as the collecting walk
//! are applied. A canonicity failure is reported once the walk is complete
//! and nothing was absent, as [`check_canonical`](super::check_canonical)
//! does; callers that must not act on a non-canonical tree walk it once
//! first.

use std::collections::HashSet;

use super::walk::{Load, WalkError};
use super::{
    decode_node, is_cut, Child, Node, CHILD_FIXED, ENTRY_FIXED, FLAT_MAX, LEAF_HEADER, MAX_FANOUT,
    MAX_NODE_LEN, NODE_HEADER,
};
use crate::format::object::{ObjectError, TreeEntry};
use crate::hash::Id;

/// What a streaming walk saw besides the entries.
#[derive(Debug, Default)]
pub struct Streamed {
    /// Every node read, the root first.
    pub nodes: Vec<Id>,
    /// Nodes the callback did not have: their subtrees are unread.
    pub absent: Vec<Id>,
    /// Whether the root is a `CTR1` leaf (a one-blob listing, as v1 wrote).
    pub flat: bool,
    /// Entries handed to the callback.
    pub files: u64,
}

/// Where a node sits (see the collecting walk), and whether it is the last
/// node of its level.
struct Place<'a> {
    parent: Id,
    level: u8,
    child: &'a Child,
    lower: Option<&'a str>,
    rightmost: bool,
}

struct Streamer<'a, 'f, E> {
    load: &'a mut Load<'a, E>,
    within: Option<&'a str>,
    /// Subtrees not to read (shared with another listing, for a diff).
    skip: Option<&'a HashSet<Id>>,
    each: &'f mut dyn FnMut(Vec<TreeEntry>) -> Result<(), E>,
    out: Streamed,
    /// Files that every path since them has started with: the only ones
    /// a later path can lie below.
    open_files: Vec<String>,
    /// The first way the tree differs from the canonical one.
    non_canonical: Option<ObjectError>,
}

fn is_within(path: &str, within: &str) -> bool {
    path == within
        || path
            .strip_prefix(within)
            .is_some_and(|r| r.starts_with('/'))
}

fn overlaps(within: &str, lower: Option<&str>, last: &str) -> bool {
    let hi = format!("{within}0");
    last.as_bytes() >= within.as_bytes() && lower.is_none_or(|l| l.as_bytes() < hi.as_bytes())
}

/// Whether the items of one node are one greedy run at `level`: no item
/// but the last ends a run, and the last does unless the node is the last
/// of its level.
fn is_canonical_run<T>(
    items: &[T],
    level: u8,
    header: usize,
    rightmost: bool,
    len: impl Fn(&T) -> usize,
    key: impl Fn(&T) -> &str,
) -> bool {
    let mut bytes = header;
    for (i, item) in items.iter().enumerate() {
        bytes += len(item);
        let n = i + 1;
        let ends = ((level == 0 || n >= 2) && is_cut(level, key(item)))
            || n >= MAX_FANOUT
            || bytes >= MAX_NODE_LEN;
        let last = i + 1 == items.len();
        if ends != last && (ends || !rightmost) {
            return false;
        }
    }
    true
}

impl<E> Streamer<'_, '_, E> {
    /// Whether this walk sees the whole tree, so that its cuts can be
    /// checked: not below a path, nothing skipped.
    fn whole(&self) -> bool {
        self.within.is_none() && self.skip.is_none()
    }

    fn flag(&mut self, e: ObjectError) {
        self.non_canonical.get_or_insert(e);
    }

    /// The streaming form of `check_no_file_dir_clash`: in path order,
    /// every path between a file and a path below it starts with that
    /// file's path, so only files that are prefixes of the current path
    /// need remembering.
    fn check_clash(&mut self, path: &str) {
        while let Some(f) = self.open_files.last() {
            if path.starts_with(f.as_str()) {
                break;
            }
            self.open_files.pop();
        }
        if self.open_files.iter().any(|f| {
            path.strip_prefix(f.as_str())
                .is_some_and(|r| r.starts_with('/'))
        }) {
            self.flag(ObjectError::Path);
        }
        self.open_files.push(path.to_string());
    }

    fn visit(&mut self, id: Id, place: Option<Place<'_>>) -> Result<(), WalkError<E>> {
        let Some(raw) = (self.load)(&id).map_err(WalkError::Load)? else {
            self.out.absent.push(id);
            return Ok(());
        };
        let damaged = |id: Id| move |cause| WalkError::Damaged { id, cause };
        self.out.nodes.push(id);
        let node = decode_node(&raw).map_err(damaged(id))?;
        drop(raw);
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
        let rightmost = place.as_ref().is_none_or(|p| p.rightmost);
        match &place {
            None => {
                self.out.flat = matches!(node, Node::Leaf(_));
                if let Node::Inner(n) = &node {
                    if n.children.len() < 2 || n.files <= FLAT_MAX as u64 {
                        self.flag(ObjectError::NonCanonical);
                    }
                }
            }
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
            Node::Leaf(entries) => {
                if !self.out.flat && self.whole() {
                    let ok = is_canonical_run(
                        &entries,
                        0,
                        LEAF_HEADER,
                        rightmost,
                        |e| ENTRY_FIXED + e.path.len(),
                        |e| &e.path,
                    );
                    if !ok {
                        self.flag(ObjectError::NonCanonical);
                    }
                    for e in &entries {
                        self.check_clash(&e.path);
                    }
                }
                let kept: Vec<TreeEntry> = match self.within {
                    None => entries,
                    Some(w) => entries
                        .into_iter()
                        .filter(|e| is_within(&e.path, w))
                        .collect(),
                };
                self.out.files += kept.len() as u64;
                if !kept.is_empty() {
                    (self.each)(kept).map_err(WalkError::Load)?;
                }
            }
            Node::Inner(n) => {
                if self.whole() {
                    let ok = is_canonical_run(
                        &n.children,
                        n.level,
                        NODE_HEADER,
                        rightmost,
                        |c| CHILD_FIXED + c.last.len(),
                        |c| &c.last,
                    );
                    if !ok {
                        self.flag(ObjectError::NonCanonical);
                    }
                }
                let mut lower = place.and_then(|p| p.lower.map(str::to_string));
                let count = n.children.len();
                for (i, c) in n.children.iter().enumerate() {
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
                            rightmost: rightmost && i + 1 == count,
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

/// Walk listing `root` through `load` (`None`: absent), handing the
/// entries of each leaf read, in path order, to `each` (with `within`,
/// only entries at or below it, and only subtrees that can hold them are
/// read). A complete walk of a layered listing without `within` that is
/// not the canonical tree of its entries ends in
/// `Damaged { id: root, .. }`, after the callback has seen every leaf.
pub fn walk_leaves<E>(
    root: &Id,
    load: &mut Load<'_, E>,
    within: Option<&str>,
    each: &mut dyn FnMut(Vec<TreeEntry>) -> Result<(), E>,
) -> Result<Streamed, WalkError<E>> {
    let (out, non_canonical) = stream(root, load, within, None, each)?;
    if let Some(cause) = non_canonical {
        if out.absent.is_empty() && within.is_none() && !out.flat {
            return Err(WalkError::Damaged { id: *root, cause });
        }
    }
    Ok(out)
}

/// The one walk both forms are made of: what it saw, and the first way the
/// tree differs from the canonical one (checked only when nothing is
/// skipped and there is no `within`; meaningful only when nothing was
/// absent).
pub(super) fn stream<E>(
    root: &Id,
    load: &mut Load<'_, E>,
    within: Option<&str>,
    skip: Option<&HashSet<Id>>,
    each: &mut dyn FnMut(Vec<TreeEntry>) -> Result<(), E>,
) -> Result<(Streamed, Option<ObjectError>), WalkError<E>> {
    let mut s = Streamer {
        load,
        within,
        skip,
        each,
        out: Streamed::default(),
        open_files: Vec::new(),
        non_canonical: None,
    };
    s.visit(*root, None)?;
    Ok((s.out, s.non_canonical))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::format::listing::{build, check_canonical, encode_inner, walk, Inner};
    use crate::format::object::{encode_tree, Mode};
    use proptest::prelude::*;

    fn entry(path: String, n: u64) -> TreeEntry {
        TreeEntry {
            path,
            id: Id::of(&n.to_le_bytes()),
            size: n % 7,
            mode: Mode::Regular,
        }
    }

    type Nodes = HashMap<Id, Vec<u8>>;

    fn stream(
        nodes: &Nodes,
        root: &Id,
        within: Option<&str>,
    ) -> Result<(Vec<TreeEntry>, Streamed), String> {
        let mut load = |id: &Id| Ok::<_, String>(nodes.get(id).cloned());
        let mut got = Vec::new();
        let mut each = |es: Vec<TreeEntry>| {
            got.extend(es);
            Ok(())
        };
        let s = walk_leaves(root, &mut load, within, &mut each).map_err(|e| format!("{e:?}"))?;
        Ok((got, s))
    }

    fn collect(nodes: &Nodes, root: &Id, within: Option<&str>) -> Result<Vec<TreeEntry>, String> {
        let mut load = |id: &Id| Ok::<_, String>(nodes.get(id).cloned());
        let w = walk(root, &mut load, within).map_err(|e| format!("{e:?}"))?;
        if within.is_none() && w.absent.is_empty() {
            check_canonical(root, &w).map_err(|e| format!("{e:?}"))?;
        }
        Ok(w.entries)
    }

    fn listing(n: usize, stride: usize) -> Vec<TreeEntry> {
        (0..n)
            .map(|i| {
                let e = entry(format!("d{:02}/f{:07}.csv", i % 13, i * stride), i as u64);
                (e.path.clone(), e)
            })
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_values()
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Both walks see exactly the listed entries, in order, whole or
        /// below a path.
        #[test]
        fn streams_what_the_walk_collects(n in 0usize..12_000, stride in 1usize..5, sub in 0usize..13) {
            let mut entries = listing(n, stride);
            entries.sort_by(|a, b| a.path.cmp(&b.path));
            let built = build(&entries);
            let nodes: Nodes = built.nodes.iter().cloned().collect();
            let (got, s) = stream(&nodes, &built.root, None).unwrap();
            prop_assert_eq!(&got, &entries);
            prop_assert_eq!(s.files, entries.len() as u64);
            prop_assert_eq!(s.nodes.len(), built.nodes.len());
            let within = format!("d{sub:02}");
            let (part, _) = stream(&nodes, &built.root, Some(&within)).unwrap();
            let below: Vec<TreeEntry> = entries.iter().filter(|e| is_within(&e.path, &within)).cloned().collect();
            prop_assert_eq!(&part, &below);
            prop_assert_eq!(collect(&nodes, &built.root, Some(&within)).unwrap(), below);
            prop_assert_eq!(collect(&nodes, &built.root, None).unwrap(), entries);
        }
    }

    /// A tree of the same entries cut elsewhere (here: the leaves of the
    /// canonical tree with the first two merged) is refused by both walks.
    #[test]
    fn a_tree_cut_elsewhere_is_refused() {
        let mut entries = listing(6_000, 1);
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        let built = build(&entries);
        let nodes: Nodes = built.nodes.iter().cloned().collect();
        let (_, s) = stream(&nodes, &built.root, None).unwrap();
        assert!(!s.flat);
        // Re-cut: two leaves where the canonical tree has one run boundary
        // moved by one entry.
        let mut load = |id: &Id| Ok::<_, String>(nodes.get(id).cloned());
        let w = walk(&built.root, &mut load, None).unwrap();
        let first_leaf = crate::format::object::decode_tree(&nodes[&w.nodes[1]]).unwrap();
        let k = first_leaf.len() + 1;
        let (a, b) = entries.split_at(k);
        let mut bad: Nodes = HashMap::new();
        let mut children = Vec::new();
        for run in [a, b] {
            let raw = encode_tree(run);
            let id = Id::of(&raw);
            bad.insert(id, raw);
            children.push(Child {
                id,
                files: run.len() as u64,
                bytes: run.iter().map(|e| e.size).sum(),
                last: run.last().unwrap().path.clone(),
            });
        }
        let root = Inner {
            level: 1,
            files: entries.len() as u64,
            bytes: entries.iter().map(|e| e.size).sum(),
            children,
        };
        let raw = encode_inner(&root);
        let rid = Id::of(&raw);
        bad.insert(rid, raw);
        let streamed = stream(&bad, &rid, None).unwrap_err();
        let collected = collect(&bad, &rid, None).unwrap_err();
        assert!(streamed.contains("NonCanonical"), "{streamed}");
        assert!(collected.contains("NonCanonical"), "{collected}");
        // Below a path, neither walk checks the cuts.
        assert!(stream(&bad, &rid, Some("d01")).is_ok());
    }

    #[test]
    fn a_file_that_is_also_a_directory_is_refused() {
        let mut entries = listing(3_000, 1);
        entries.push(entry("d03".into(), 1));
        entries.push(entry("d03.x".into(), 2));
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        let built = build(&entries);
        let nodes: Nodes = built.nodes.iter().cloned().collect();
        let streamed = stream(&nodes, &built.root, None).unwrap_err();
        let collected = collect(&nodes, &built.root, None).unwrap_err();
        assert!(streamed.contains("Path"), "{streamed}");
        assert!(collected.contains("Path"), "{collected}");
    }

    #[test]
    fn absent_nodes_are_reported_not_refused() {
        let mut entries = listing(6_000, 1);
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        let built = build(&entries);
        let mut nodes: Nodes = built.nodes.iter().cloned().collect();
        let leaf = built.nodes[0].0;
        nodes.remove(&leaf);
        let (got, s) = stream(&nodes, &built.root, None).unwrap();
        assert_eq!(s.absent, vec![leaf]);
        assert!(got.len() < entries.len());
    }
}
