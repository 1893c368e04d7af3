//! The layered listing of format 2 (docs/FORMAT.md §5.6) as a pure
//! structure, through `cairn::format::listing` and in-memory nodes: the
//! same entries give the same tree, an edit touches O(depth) nodes,
//! comparisons and lookups read only what they need, and hostile trees are
//! refused as damage without a panic. `listings.rs` drives the verbs.

use crate::common;

use std::collections::{BTreeMap, HashMap, HashSet};

use cairn::format::listing::{self, Built, Child, Inner, Walk, WalkError};
use cairn::format::object::{self, Mode, ObjectError, TreeEntry};
use cairn::hash::Id;
use proptest::prelude::*;

fn entry(path: &str, seed: u64) -> TreeEntry {
    TreeEntry {
        path: path.to_string(),
        mode: if seed.is_multiple_of(7) {
            Mode::Executable
        } else {
            Mode::Regular
        },
        size: seed % 1000,
        id: Id::of(&seed.to_le_bytes()),
    }
}

/// Sorted entries for a set of paths.
fn entries_of(paths: &[String]) -> Vec<TreeEntry> {
    let mut p = paths.to_vec();
    p.sort();
    p.dedup();
    p.iter()
        .enumerate()
        .map(|(i, p)| entry(p, i as u64))
        .collect()
}

/// Read nodes from a map; what is not there is absent.
fn memory(nodes: &HashMap<Id, Vec<u8>>) -> impl FnMut(&Id) -> Result<Option<Vec<u8>>, ()> + '_ {
    |id| Ok(nodes.get(id).cloned())
}

fn map_of(b: &Built) -> HashMap<Id, Vec<u8>> {
    b.nodes.iter().cloned().collect()
}

fn walk_all(root: &Id, nodes: &HashMap<Id, Vec<u8>>) -> Result<Walk, WalkError<()>> {
    listing::walk(root, &mut memory(nodes), None)
}

/// Number of levels of a built tree (1: a single leaf).
fn depth(b: &Built, nodes: &HashMap<Id, Vec<u8>>) -> usize {
    match listing::decode_node(&nodes[&b.root]).unwrap() {
        listing::Node::Leaf(_) => 1,
        listing::Node::Inner(n) => n.level as usize + 1,
    }
}

fn paths(n: std::ops::Range<usize>) -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec("[a-c]{1,2}/[a-z0-9]{3,10}\\.f", n)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The same entries give the same tree whatever order they came in,
    /// and the tree reads back to exactly those entries, canonical.
    #[test]
    fn same_entries_same_root_and_round_trip(names in paths(1000..4000), seed in any::<u64>()) {
        let entries = entries_of(&names);
        let built = listing::build(&entries);
        // Insert in a shuffled order, as edits over time would.
        let mut shuffled = entries.clone();
        let mut rng = common::Rng::new(seed);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut again: BTreeMap<String, TreeEntry> = BTreeMap::new();
        for e in shuffled {
            again.insert(e.path.clone(), e);
        }
        let again: Vec<TreeEntry> = again.into_values().collect();
        prop_assert_eq!(listing::build(&again).root, built.root);
        let nodes = map_of(&built);
        let w = walk_all(&built.root, &nodes).unwrap();
        prop_assert!(w.absent.is_empty());
        prop_assert_eq!(&w.entries, &entries);
        prop_assert_eq!(w.nodes.len(), built.nodes.len());
        prop_assert!(listing::check_canonical(&built.root, &w).is_ok());
        prop_assert_eq!(built.layered(), !w.flat);
        prop_assert_eq!(built.files, entries.len() as u64);
        if entries.len() <= listing::FLAT_MAX {
            prop_assert_eq!(built.root, Id::of(&object::encode_tree(&entries)));
        }
    }

    /// Changing, adding or removing one entry stores O(depth) new nodes.
    #[test]
    fn one_edit_changes_only_the_path_to_the_root(names in paths(2000..6000), pick in any::<usize>(), what in 0u8..3) {
        let entries = entries_of(&names);
        let a = listing::build(&entries);
        let mut edited = entries.clone();
        let i = pick % edited.len();
        match what {
            0 => edited[i].id = Id::of(b"new content"),
            1 => {
                let path = format!("{}~", edited[i].path);
                if edited.get(i + 1).is_none_or(|n| n.path > path) {
                    edited.insert(i + 1, entry(&path, 99));
                }
            }
            _ => {
                edited.remove(i);
            }
        }
        let b = listing::build(&edited);
        let old: HashSet<Id> = a.nodes.iter().map(|(id, _)| *id).collect();
        let new = b.nodes.iter().filter(|(id, _)| !old.contains(id)).count();
        let levels = depth(&a, &map_of(&a)).max(depth(&b, &map_of(&b)));
        let bound = if what == 0 { levels } else { 2 * levels };
        prop_assert!(new <= bound, "{} new nodes for depth {}", new, levels);
    }

    /// Random damage to any node of a valid tree is refused or harmless,
    /// never a panic.
    #[test]
    fn damaged_nodes_never_panic(names in paths(1500..3000), at in any::<usize>(), flip in 1u8..=255) {
        let built = listing::build(&entries_of(&names));
        let mut nodes = map_of(&built);
        let which = built.nodes[at % built.nodes.len()].0;
        let bytes = nodes.get_mut(&which).unwrap();
        let at = (at / 7) % bytes.len();
        bytes[at] ^= flip;
        if let Ok(w) = walk_all(&built.root, &nodes) {
            let _ = listing::check_canonical(&built.root, &w);
        }
        let _ = listing::decode_node(&nodes[&which]);
    }
}

/// Entries `p/00000` … for the hostile trees.
pub(crate) fn plain(n: usize) -> Vec<TreeEntry> {
    (0..n)
        .map(|i| entry(&format!("p/{i:05}"), i as u64))
        .collect()
}

/// A node over `leaves` (each stored in `nodes`), returning its id.
pub(crate) fn node_over(level: u8, kids: &[&[TreeEntry]], nodes: &mut HashMap<Id, Vec<u8>>) -> Id {
    let children = kids
        .iter()
        .map(|k| {
            let raw = object::encode_tree(k);
            let id = Id::of(&raw);
            nodes.insert(id, raw);
            Child {
                id,
                files: k.len() as u64,
                bytes: k.iter().map(|e| e.size).sum(),
                last: k.last().unwrap().path.clone(),
            }
        })
        .collect::<Vec<_>>();
    put_inner(
        Inner {
            level,
            files: children.iter().map(|c| c.files).sum(),
            bytes: children.iter().map(|c| c.bytes).sum(),
            children,
        },
        nodes,
    )
}

fn put_inner(n: Inner, nodes: &mut HashMap<Id, Vec<u8>>) -> Id {
    let raw = listing::encode_inner(&n);
    let id = Id::of(&raw);
    nodes.insert(id, raw);
    id
}

/// What a full read of `root` says: `Ok` only for a canonical tree.
fn full_read(root: &Id, nodes: &HashMap<Id, Vec<u8>>) -> Result<(), (Id, ObjectError)> {
    let w = walk_all(root, nodes).map_err(|e| match e {
        WalkError::Damaged { id, cause } => (id, cause),
        WalkError::Load(()) => unreachable!(),
    })?;
    assert!(w.absent.is_empty());
    listing::check_canonical(root, &w).map_err(|e| (*root, e))
}

#[test]
fn hostile_trees_are_refused_as_damage() {
    let e = plain(3000);
    let good = listing::build(&e);
    assert!(good.layered(), "3,000 entries are cut");
    assert_eq!(full_read(&good.root, &map_of(&good)), Ok(()));

    // Cut where the hash does not cut: consistent, but not canonical.
    let mut nodes = HashMap::new();
    let root = node_over(1, &[&e[..1500], &e[1500..]], &mut nodes);
    assert_eq!(
        full_read(&root, &nodes),
        Err((root, ObjectError::NonCanonical))
    );
    // A node above a listing that must stay one flat leaf.
    let mut nodes = HashMap::new();
    let small = plain(10);
    let root = node_over(1, &[&small], &mut nodes);
    assert_eq!(
        full_read(&root, &nodes),
        Err((root, ObjectError::NonCanonical))
    );
    // A level-2 node whose children are leaves.
    let mut nodes = HashMap::new();
    let root = node_over(2, &[&e[..1500], &e[1500..]], &mut nodes);
    assert_eq!(
        full_read(&root, &nodes),
        Err((root, ObjectError::NonCanonical))
    );
    // Leaves that overlap: the second starts before the first ends.
    let mut nodes = HashMap::new();
    let root = node_over(1, &[&e[..1500], &e[1400..]], &mut nodes);
    assert_eq!(full_read(&root, &nodes), Err((root, ObjectError::Order)));

    let mut nodes = map_of(&good);
    let listing::Node::Inner(top) = listing::decode_node(&nodes[&good.root]).unwrap() else {
        panic!("layered root")
    };
    // Children out of order.
    let mut swapped = top.clone();
    swapped.children.swap(0, 1);
    let root = put_inner(swapped, &mut nodes);
    assert_eq!(full_read(&root, &nodes), Err((root, ObjectError::Order)));
    // Totals that are not the children's sums.
    let mut wrong = top.clone();
    wrong.bytes += 1;
    let root = put_inner(wrong, &mut nodes);
    assert_eq!(full_read(&root, &nodes), Err((root, ObjectError::Totals)));
    // A child described with the wrong count (the node's sums agree).
    let mut lying = top.clone();
    lying.children[0].files += 1;
    lying.files += 1;
    let root = put_inner(lying, &mut nodes);
    assert_eq!(full_read(&root, &nodes), Err((root, ObjectError::Totals)));
    // A truncated node.
    let mut cut = listing::encode_inner(&top);
    cut.pop();
    let id = Id::of(&cut);
    nodes.insert(id, cut);
    assert_eq!(full_read(&id, &nodes), Err((id, ObjectError::Truncated)));
    // A file and a directory of one name in two different leaves: the
    // file ends a leaf (its hash cuts), the one below it starts the next.
    let end = (0..2999)
        .map(|i| format!("p/{i:05}"))
        .find(|p| listing::is_cut(0, p))
        .unwrap();
    let mut clash: Vec<TreeEntry> = plain(3000);
    clash.push(entry(&format!("{end}/x"), 1));
    clash.sort_by(|a, b| a.path.cmp(&b.path));
    let b = listing::build(&clash);
    assert_eq!(
        full_read(&b.root, &map_of(&b)),
        Err((b.root, ObjectError::Path))
    );
}

/// `changed` reads only the leaves two listings do not share, and a walk
/// below a path only the nodes that can hold it.
#[test]
fn comparing_and_looking_up_read_only_what_they_need() {
    let a = plain(20_000);
    let mut b = a.clone();
    b[12_345].id = Id::of(b"edited");
    let (ta, tb) = (listing::build(&a), listing::build(&b));
    let (na, nb) = (map_of(&ta), map_of(&tb));
    let leaves = ta.nodes.len() - 1;
    assert!(leaves > 20, "{leaves} leaves");
    let mut loads = 0;
    let mut load_a = |id: &Id| {
        loads += 1;
        Ok::<_, ()>(na.get(id).cloned())
    };
    let mut load_b = |id: &Id| Ok::<_, ()>(nb.get(id).cloned());
    let (old, new) = listing::changed(&ta.root, &mut load_a, &tb.root, &mut load_b).unwrap();
    // The roots (twice: their ids, then the walk) and one leaf.
    assert_eq!(loads, 3, "reads of the old listing");
    assert_eq!(old.entries.len(), new.entries.len());
    let diff: Vec<&str> = old
        .entries
        .iter()
        .zip(&new.entries)
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x.path.as_str())
        .collect();
    assert_eq!(diff, ["p/12345"]);

    let mut loads = 0;
    let mut load = |id: &Id| {
        loads += 1;
        Ok::<_, ()>(na.get(id).cloned())
    };
    let w = listing::walk(&ta.root, &mut load, Some("p/12345")).unwrap();
    assert_eq!(w.entries.len(), 1);
    assert!(loads <= 3, "{loads} nodes read to find one path");
}

/// A hostile tree that names one child many times at every level costs
/// one read per node, not one per path through it.
#[test]
fn a_node_named_many_times_is_read_once() {
    let mut nodes = HashMap::new();
    let leaf = plain(1);
    let leaf_raw = object::encode_tree(&leaf);
    let mut child = Id::of(&leaf_raw);
    nodes.insert(child, leaf_raw);
    for level in 1..=4u8 {
        let children: Vec<Child> = (0..64)
            .map(|i| Child {
                id: child,
                files: 1,
                bytes: 0,
                last: format!("p/{i:05}"),
            })
            .collect();
        child = put_inner(
            Inner {
                level,
                files: 64,
                bytes: 0,
                children,
            },
            &mut nodes,
        );
    }
    let other = listing::build(&plain(3000));
    let other_nodes = map_of(&other);
    let mut loads = 0;
    let mut load = |id: &Id| {
        loads += 1;
        Ok::<_, ()>(nodes.get(id).cloned())
    };
    let mut load_other = memory(&other_nodes);
    let r = listing::changed(&child, &mut load, &other.root, &mut load_other);
    assert!(
        matches!(r, Err(WalkError::Damaged { .. })),
        "refused: {r:?}"
    );
    assert!(loads < 20, "{loads} reads");
    assert!(walk_all(&child, &nodes).is_err());
}
