//! Format-v2 directory listings (docs/FORMAT.md §5.6): a big directory's
//! listing is a tree of `CTR1` leaves under `CTN2` nodes, so an edit
//! stores a few nodes instead of a new flat listing; small directories
//! keep their v1 id and pointer; the tree is a function of the entries
//! alone; hostile trees are refused as damage; and every verb reads it.

use crate::common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::time::Instant;

use cairn::format::kind::ObjectKind;
use cairn::format::listing::{self, Built, Child, Inner, Walk, WalkError};
use cairn::format::object::{self, Mode, ObjectError, TreeEntry};
use cairn::format::pack::read_footer;
use cairn::hash::Id;
use common::TestRepo;
use proptest::prelude::*;

/// Write `n` files of 8 bytes under `dir`, 1,000 per subdirectory; file
/// `i` holds `i` in decimal. Four threads: creating files is syscall-bound.
fn write_files(repo: &TestRepo, dir: &str, n: usize) {
    let subs: Vec<usize> = (0..n.div_ceil(1000)).collect();
    std::thread::scope(|s| {
        for part in subs.chunks(subs.len().div_ceil(4)) {
            s.spawn(move || {
                for &d in part {
                    let sub = repo.root.join(format!("{dir}/d{d:03}"));
                    fs::create_dir_all(&sub).unwrap();
                    for i in d * 1000..((d + 1) * 1000).min(n) {
                        fs::write(sub.join(format!("f{i:06}.bin")), format!("{i:08}")).unwrap();
                    }
                }
            });
        }
    });
}

/// The listing blobs in the cache's packs: (count, raw bytes, stored bytes).
fn listing_blobs(repo: &TestRepo) -> (u64, u64, u64) {
    let mut out = (0, 0, 0);
    for pack in repo.packs() {
        let bytes = fs::read(&pack).unwrap();
        let entries = read_footer(&pack, bytes.len() as u64, |off, n| {
            Ok(bytes[off as usize..off as usize + n].to_vec())
        })
        .unwrap();
        for e in entries.iter().filter(|e| e.kind == ObjectKind::Tree) {
            out.0 += 1;
            out.1 += e.raw_len as u64;
            out.2 += e.stored_len as u64;
        }
    }
    out
}

/// The criterion: after editing one file of a 100,000-file
/// directory, adding it again stores under 64 KiB of listing data.
#[test]
fn editing_one_file_of_100k_stores_under_64k_of_listing() {
    let t = Instant::now();
    let repo = TestRepo::init();
    write_files(&repo, "data", 100_000);
    let written = t.elapsed();
    repo.cairn_ok(&["add", "data"]);
    assert!(repo
        .read_string("data.cairn")
        .starts_with("cairn-pointer 2\n"));
    let first_add = t.elapsed();
    let before = listing_blobs(&repo);
    fs::write(repo.path("data/d050/f050000.bin"), b"edited!!").unwrap();
    let report = repo.cairn_json(&["add", "data", "--json"]);
    let after = listing_blobs(&repo);
    let (nodes, raw, stored) = (after.0 - before.0, after.1 - before.1, after.2 - before.2);
    eprintln!(
        "100k files: first listing {} blobs, {} B raw, {} B stored; the edit stored {nodes} \
         listing blobs, {raw} B raw, {stored} B stored (add reported {} B in all); \
         writing files {written:?}, first add {:?}, total {:?}",
        before.0,
        before.1,
        before.2,
        report["bytes_stored"],
        first_add - written,
        t.elapsed()
    );
    assert!(
        before.1 > 5 << 20,
        "the whole listing is megabytes: {before:?}"
    );
    assert!(nodes <= 4, "one leaf and the nodes above it: {nodes}");
    assert!(stored < 64 << 10, "{stored} bytes of listing stored");
    assert!(raw < 128 << 10, "{raw} bytes of listing before compression");
    let st = repo.cairn_json(&["status", "--json"]);
    assert_eq!(common::status_rows(&st)["data"]["state"], "clean", "{st}");
    eprintln!("100k files: status clean at {:?}", t.elapsed());
}

/// Up to 1,024 files a listing is one `CTR1` blob: the same id and the
/// same `cairn-pointer 1` text as v1 wrote.
#[test]
fn a_directory_of_1024_files_keeps_its_v1_id_and_pointer() {
    let repo = TestRepo::init();
    write_files(&repo, "small", 1024);
    repo.cairn_ok(&["add", "small"]);
    let entries: Vec<TreeEntry> = (0..1024)
        .map(|i| {
            let bytes = format!("{i:08}");
            TreeEntry {
                path: format!("d{:03}/f{i:06}.bin", i / 1000),
                mode: Mode::Regular,
                size: 8,
                id: Id::of(bytes.as_bytes()),
            }
        })
        .collect();
    let v1 = Id::of(&object::encode_tree(&entries));
    assert_eq!(v1.to_hex(), SMALL_DIR_ID, "the v1 id of this listing");
    assert_eq!(
        repo.read_string("small.cairn"),
        format!("cairn-pointer 1\nkind dir\nid {SMALL_DIR_ID}\nsize 8192\nfiles 1024\n")
    );
    let built = listing::build(&entries);
    assert_eq!((built.root, built.nodes.len()), (v1, 1));
    assert!(!built.layered());
}

const SMALL_DIR_ID: &str = "6840e70656333cfd3e816f84484482a2b8865abc554b6502321ac43742c62708";

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
fn plain(n: usize) -> Vec<TreeEntry> {
    (0..n)
        .map(|i| entry(&format!("p/{i:05}"), i as u64))
        .collect()
}

/// A node over `leaves` (each stored in `nodes`), returning its id.
fn node_over(level: u8, kids: &[&[TreeEntry]], nodes: &mut HashMap<Id, Vec<u8>>) -> Id {
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

/// A non-canonical tree in a real cache: `verify` and `checkout` name it
/// as damaged, with the reason, and nothing panics.
#[test]
fn a_non_canonical_listing_in_the_cache_is_reported_as_damage() {
    let repo = TestRepo::init();
    let e = plain(3000);
    let mut nodes = HashMap::new();
    let root = node_over(1, &[&e[..1500], &e[1500..]], &mut nodes);
    let store =
        cairn::store::Store::open(&repo.path(".cairn/cache"), &cairn::progress::Silent).unwrap();
    for (id, raw) in &nodes {
        store.put(ObjectKind::Tree, *id, raw).unwrap();
    }
    store.flush().unwrap();
    drop(store);
    let size: u64 = e.iter().map(|x| x.size).sum();
    repo.write(
        "bad.cairn",
        format!("cairn-pointer 2\nkind dir\nid {root}\nsize {size}\nfiles 3000\n"),
    );
    for args in [&["verify"][..], &["checkout", "bad"][..]] {
        let (stdout, stderr) = repo.cairn_fail(args);
        assert!(
            format!("{stdout}{stderr}").contains("not the canonical listing"),
            "{args:?}: {stdout}{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// Every verb on a directory big enough to have `CTN2` nodes.
#[test]
fn every_verb_reads_a_layered_listing() {
    let a = TestRepo::builder().folder_remote("origin", "store").build();
    write_files(&a, "data", 5000);
    a.cairn_ok(&["add", "data"]);
    assert!(a.read_string("data.cairn").starts_with("cairn-pointer 2\n"));
    let st = a.cairn_json(&["status", "--json"]);
    assert_eq!(common::status_rows(&st)["data"]["state"], "clean", "{st}");
    a.commit_all("v1");

    // One edit: status and diff name exactly that file.
    fs::write(a.path("data/d002/f002500.bin"), b"changed!").unwrap();
    let st = a.cairn_json(&["status", "--json"]);
    let row = &common::status_rows(&st)["data"];
    assert_eq!(row["state"], "modified", "{st}");
    assert_eq!(
        row["changes"],
        serde_json::json!([{"change": "modified", "path": "data/d002/f002500.bin"}]),
        "{st}"
    );
    let d = a.cairn_json(&["diff", "--json"]);
    let files: Vec<&str> = d["paths"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["data/d002/f002500.bin"], "{d}");
    a.cairn_ok(&["add", "data"]);
    a.commit_all("v2");
    let d = a.cairn_json(&["diff", "HEAD~1", "HEAD", "--json"]);
    assert_eq!(d["paths"][0]["files"].as_array().unwrap().len(), 1, "{d}");

    // ls -R lists every file; cat reads one through the nodes.
    let ls = a.cairn_json(&["ls", "-R", "--json"]);
    let text = ls.to_string();
    assert_eq!(
        text.matches("data/d").count(),
        5000,
        "ls -R names every file"
    );
    assert_eq!(a.cairn_ok(&["cat", "data/d004/f004999.bin"]), "00004999");

    // A version added but never committed: gc drops its nodes and keeps
    // everything live.
    fs::write(a.path("data/d000/f000001.bin"), b"dropped!").unwrap();
    a.cairn_ok(&["add", "data"]);
    a.git(&["checkout", "--", "data.cairn"]);
    a.cairn_ok(&["checkout", "data"]);
    let before = listing_blobs(&a).0;
    a.cairn_ok(&["gc", "--grace", "0"]);
    assert!(
        listing_blobs(&a).0 < before,
        "the dangling version's nodes went"
    );
    a.cairn_ok(&["verify"]);

    // Checkout after rm -rf restores every byte.
    let want = common::data::files_under(&a, "data");
    fs::remove_dir_all(a.path("data")).unwrap();
    a.cairn_ok(&["checkout", "data"]);
    common::data::assert_same_tree(&common::data::files_under(&a, "data"), &want, "checkout");

    // Push, remote gc, then a fresh clone pulls it all back.
    a.cairn_ok(&["push"]);
    a.cairn_ok(&["push", "HEAD~1"]);
    a.cairn_ok(&["gc", "--remote", "origin", "--grace", "0"]);
    a.cairn_ok(&["verify", "--remote", "origin"]);
    // A clone without the data: ls -R fetches the listing's nodes alone,
    // level by level; cat then fetches one file.
    let c = a.clone_beside("c");
    let ls = c.cairn_json(&["ls", "-R", "--json"]);
    assert_eq!(
        ls.to_string().matches("data/d").count(),
        5000,
        "ls -R in a clone"
    );
    assert_eq!(c.cairn_ok(&["cat", "data/d003/f003333.bin"]), "00003333");
    assert!(!c.exists("data"));

    let b = a.clone_beside("b");
    b.cairn_ok(&["pull"]);
    common::data::assert_same_tree(&common::data::files_under(&b, "data"), &want, "pull");
    b.cairn_ok(&["verify"]);
    // The old version too, level by level from the remote.
    b.git(&["checkout", "-q", "HEAD~1"]);
    b.cairn_ok(&["pull"]);
    assert_eq!(b.read("data/d002/f002500.bin"), b"00002500");
    b.cairn_ok(&["verify"]);
    let st = b.cairn_json(&["status", "--json"]);
    assert_eq!(common::status_rows(&st)["data"]["state"], "clean", "{st}");
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
