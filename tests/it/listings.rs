//! Format-v2 directory listings (docs/FORMAT.md §5.6) through the verbs:
//! a big directory's listing is a tree of `CTR1` leaves under `CTN2`
//! nodes, so an edit stores a few nodes instead of a new flat listing;
//! small directories keep their v1 id and pointer; a non-canonical tree in
//! the cache is damage; and every verb reads a layered listing. The
//! structure itself is tested in `listing_tree.rs`.

use crate::common;
use crate::listing_tree::{node_over, plain};

use std::collections::HashMap;
use std::fs;
use std::time::Instant;

use cairn::format::kind::ObjectKind;
use cairn::format::listing;
use cairn::format::object::{self, Mode, TreeEntry};
use cairn::format::pack::read_footer;
use cairn::hash::Id;
use common::TestRepo;

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

/// A non-canonical tree in a real cache: `verify` and `checkout` name it
/// as damaged, with the reason, and nothing panics.
#[test]
fn a_non_canonical_listing_in_the_cache_is_reported_as_damage() {
    let repo = TestRepo::init();
    let e = plain(3000);
    let mut nodes = HashMap::new();
    let root = node_over(1, &[&e[..1500], &e[1500..]], &mut nodes);
    let store = cairn::store::Store::open(&repo.path(".git/cairn/cache"), &cairn::progress::Silent)
        .unwrap();
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
    // A path inside the directory: only the nodes that hold it are fetched,
    // and that is enough to check it out.
    c.cairn_ok(&["pull", "data/d004"]);
    let got = common::data::files_under(&c, "data");
    assert_eq!(got.len(), 1000, "only data/d004");
    assert_eq!(got["data/d004/f004321.bin"], b"00004321");

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

/// A repository from version 1: a directory of 3,000 files under one flat
/// listing. Every verb still reads it, `status` calls it clean (the files
/// did not change, only the way a new `add` would list them), and `add`
/// moves it to a layered listing once, naming no changed file.
#[test]
fn a_flat_listing_from_version_1_still_works() {
    let repo = TestRepo::init();
    write_files(&repo, "old", 3000);
    let entries: Vec<TreeEntry> = (0..3000)
        .map(|i| TreeEntry {
            path: format!("d{:03}/f{i:06}.bin", i / 1000),
            mode: Mode::Regular,
            size: 8,
            id: Id::of(format!("{i:08}").as_bytes()),
        })
        .collect();
    let flat = object::encode_tree(&entries);
    let flat_id = Id::of(&flat);
    assert_ne!(flat_id, listing::root_id(&entries), "version 2 layers it");
    let store = cairn::store::Store::open(&repo.path(".git/cairn/cache"), &cairn::progress::Silent)
        .unwrap();
    for i in 0..3000 {
        let bytes = format!("{i:08}");
        store
            .put(
                ObjectKind::Chunk,
                Id::of(bytes.as_bytes()),
                bytes.as_bytes(),
            )
            .unwrap();
    }
    store.put(ObjectKind::Tree, flat_id, &flat).unwrap();
    store.flush().unwrap();
    drop(store);
    let v1 = format!("cairn-pointer 1\nkind dir\nid {flat_id}\nsize 24000\nfiles 3000\n");
    repo.write("old.cairn", &v1);
    repo.write(".gitignore", "/old\n");
    repo.commit_all("from version 1");

    let clean = |what: &str| {
        let st = repo.cairn_json(&["status", "--json"]);
        assert_eq!(
            common::status_rows(&st)["old"]["state"],
            "clean",
            "{what}: {st}"
        );
    };
    clean("as version 1 left it");
    repo.cairn_ok(&["verify"]);
    let want = common::data::files_under(&repo, "old");
    fs::remove_dir_all(repo.path("old")).unwrap();
    repo.cairn_ok(&["checkout", "old"]);
    common::data::assert_same_tree(&common::data::files_under(&repo, "old"), &want, "checkout");
    clean("checked out");
    assert_eq!(repo.cairn_ok(&["cat", "old/d002/f002999.bin"]), "00002999");

    repo.cairn_ok(&["add", "old"]);
    assert!(repo
        .read_string("old.cairn")
        .starts_with("cairn-pointer 2\n"));
    clean("re-added");
    let d = repo.cairn_json(&["diff", "--json"]);
    assert_eq!(d["paths"][0]["path"], "old", "{d}");
    assert_eq!(
        d["paths"][0]["files"],
        serde_json::json!([]),
        "no file changed: {d}"
    );
    repo.git(&["checkout", "--", "old.cairn"]);
    clean("back at the version-1 pointer");
}
