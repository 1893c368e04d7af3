//! Plain `cairn pull` restores large files from ranged reads and keeps the
//! chunks it read in the cache (FORMAT.md §10.2, "pull"): afterwards the
//! cache holds everything a fetch would have put there (offline checkout,
//! verify and status work), an unchanged or guarded file's data is still
//! fetched, a damaged remote chunk reaches neither the work tree nor the
//! cache, and a crash at any durable step leaves a state a re-run repairs.

use std::path::Path;

use cairn::format::kind::ObjectKind;
use cairn::hash::Id;

use crate::common::data::{assert_same_tree, damage_chunks, files_under, num, pack_entries};
use crate::common::{b3, csv_text, random_bytes, TestRepo};

/// The chunk ids of every pack under `dir`.
fn chunk_ids(dir: &Path) -> std::collections::BTreeSet<Id> {
    pack_entries(dir)
        .into_iter()
        .filter(|(_, e)| e.kind == ObjectKind::Chunk)
        .map(|(_, e)| e.id)
        .collect()
}

/// Large files (far over `ops::pull::DIRECT_MIN_CHUNKS` chunks: restored
/// from ranged reads), a small file of several chunks and files of one
/// chunk, at v1, and a new model at v2, both pushed to a folder remote.
fn pushed() -> TestRepo {
    TestRepo::builder()
        .folder_remote("origin", "store")
        .file("model.bin", random_bytes("once-v1", 9 << 20))
        .file("data/table.csv", csv_text(11, 8 << 20))
        .file("data/mid.bin", random_bytes("once-mid", 300 << 10))
        .file("data/a.txt", "a\n")
        .file("data/empty", "")
        .commit("v1")
        .tag("v1")
        .file("model.bin", random_bytes("once-v2", 8 << 20))
        .commit("v2")
        .push_rev("v1")
        .push()
        .build()
}

/// Everything tracked in `repo`, by path.
fn tracked(repo: &TestRepo) -> crate::common::data::Tree {
    let mut t = files_under(repo, "data");
    t.insert("model.bin".into(), repo.read("model.bin"));
    t
}

fn assert_clean(repo: &TestRepo) {
    let st = repo.cairn_json(&["status", "--json"]);
    for row in st["paths"].as_array().unwrap() {
        assert_eq!(row["state"], "clean", "{st}");
    }
    assert!(
        !repo.path(".git/cairn/cache/uncached").exists(),
        "a pull left pointers recorded as not cached"
    );
}

#[test]
fn pull_keeps_what_it_restored_so_the_clone_works_offline() {
    let a = pushed();
    let b = TestRepo::clone_of(&a);
    let points = crate::common::crash::points(&b, &["pull"]);
    // The large files went through the kept, ranged path.
    crate::common::crash::assert_reached(
        &points,
        &["pull.uncached_marked", "store.staged_pack_sealed"],
    );
    assert_same_tree(&tracked(&b), &tracked(&a), "after pull");
    // Every chunk the remote holds is in the cache, large files' included,
    // but those of v1's model, which this pull did not need.
    let v1_model = random_bytes("once-v1", 9 << 20);
    let v1_chunks: std::collections::BTreeSet<Id> = cairn::format::chunking::Chunker::default()
        .chunks(&v1_model)
        .map(|(o, l)| Id::of(&v1_model[o..o + l]))
        .collect();
    let cached = chunk_ids(&b.path(".git/cairn/cache/packs"));
    let remote = chunk_ids(&a.remote_dir("origin").join("packs"));
    let lacking: Vec<&Id> = remote
        .difference(&cached)
        .filter(|id| !v1_chunks.contains(id))
        .collect();
    assert!(lacking.is_empty(), "not cached: {lacking:?}");
    assert_clean(&b);
    b.cairn_ok(&["verify"]);
    // Offline: the remote is gone, and the data comes from the cache.
    std::fs::rename(a.remote_dir("origin"), a.base().join("gone")).unwrap();
    b.remove("model.bin");
    b.remove("data/table.csv");
    b.cairn_ok(&["checkout"]);
    assert_same_tree(&tracked(&b), &tracked(&a), "offline checkout");
    b.cairn_ok(&["pull"]);
    assert_clean(&b);
    b.cairn_ok(&["verify"]);
}

/// A file already in the work tree with the pulled content is not
/// rewritten, and one with an edit never added stops the pull: either
/// way its data still ends up in the cache, as a fetch would have put it.
#[test]
fn pull_caches_the_data_of_files_it_did_not_restore() {
    let a = pushed();
    let b = TestRepo::clone_of(&a);
    b.write("model.bin", a.read("model.bin"));
    let r = b.cairn_json(&["pull", "--json"]);
    assert!(num(&r["checkout"], "files_unchanged") >= 1, "{r}");
    assert_same_tree(&tracked(&b), &tracked(&a), "after pull");
    assert_clean(&b);
    b.cairn_ok(&["verify"]);

    let c = TestRepo::clone_of(&a);
    c.write("model.bin", b"an edit that was never added\n");
    let (_, err) = c.cairn_fail(&["pull"]);
    assert!(err.contains("has not recorded the changes"), "{err}");
    assert_eq!(c.read("model.bin"), b"an edit that was never added\n");

    std::fs::rename(a.remote_dir("origin"), a.base().join("gone")).unwrap();
    b.remove("model.bin");
    b.cairn_ok(&["checkout"]);
    assert_eq!(b3(&b.read("model.bin")), b3(&a.read("model.bin")));
    // The refused pull fetched everything: checkout --force needs no remote.
    c.cairn_ok(&["checkout", "--force"]);
    assert_same_tree(&tracked(&c), &tracked(&a), "forced offline checkout");
    c.cairn_ok(&["verify"]);
}

/// One chunk of the large model damaged on the remote: the pull fails
/// naming it, the model is not written, the damaged bytes are nowhere in
/// the cache, and the cache still verifies.
#[test]
fn pull_of_a_damaged_remote_chunk_writes_it_nowhere() {
    let a = pushed();
    let b = TestRepo::clone_of(&a);
    let model = random_bytes("once-v2", 8 << 20);
    let ids: Vec<Id> = cairn::format::chunking::Chunker::default()
        .chunks(&model)
        .map(|(o, l)| Id::of(&model[o..o + l]))
        .collect();
    let victim = ids[ids.len() / 2];
    let flipped = damage_chunks(&a.remote_dir("origin").join("packs"), |id| *id == victim);
    assert_eq!(flipped, 1);
    let (_, err) = b.cairn_fail(&["pull"]);
    assert!(err.contains("damaged"), "{err}");
    assert!(err.contains(&victim.to_hex()), "{err}");
    assert!(!b.exists("model.bin"), "the damaged model was written");
    assert!(
        !chunk_ids(&b.path(".git/cairn/cache/packs")).contains(&victim),
        "the damaged chunk entered the cache"
    );
    // The cache lacks the model's data (the pull failed) but holds no
    // damaged copy of anything.
    let (out, err) = b.cairn_fail(&["verify"]);
    assert!(!out.contains("damaged"), "{out}\n{err}");
    assert!(out.contains("missing"), "{out}\n{err}");
    let leftovers = b.temp_files_anywhere();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Killed at every durable step of a plain pull (fetch rounds, the record
/// of uncached pointers, each kept pack sealed, each file restored), a
/// re-run restores everything, `verify` passes and status is clean.
#[test]
fn pull_crash_matrix_a_rerun_completes() {
    let a = pushed();
    let points = crate::common::crash::points(&TestRepo::clone_of(&a), &["pull"]);
    crate::common::crash::assert_reached(
        &points,
        &[
            "fetch.round_flushed",
            "pull.uncached_marked",
            "store.staged_pack_sealed",
            "checkout.file_written",
        ],
    );
    let mut crashed = 0;
    for point in &points {
        let b = TestRepo::clone_of(&a);
        crashed += usize::from(crate::common::crash::crash_at(&b, &["pull"], point));
        b.cairn_ok(&["pull"]);
        b.cairn_ok(&["verify"]);
        assert_same_tree(
            &tracked(&b),
            &tracked(&a),
            &format!("after a crash at {point}"),
        );
        assert_clean(&b);
    }
    assert!(crashed >= 4, "{crashed} of {points:?}");
}

/// A large file that repeats its chunks (one random block twice, so most
/// of its chunks appear twice in one batch) comes back whole through the
/// ranged path, with and without the cache: each chunk is decoded into its
/// first place in the batch and copied to the others.
#[test]
fn pull_of_a_file_that_repeats_its_chunks_restores_every_copy() {
    let block = random_bytes("once-repeat", 6 << 20);
    let data = [block.clone(), block].concat();
    let a = TestRepo::builder()
        .folder_remote("origin", "store")
        .file("twice.bin", data.clone())
        .commit("v1")
        .push()
        .build();
    let b = TestRepo::clone_of(&a);
    let points = crate::common::crash::points(&b, &["pull"]);
    crate::common::crash::assert_reached(&points, &["store.staged_pack_sealed"]);
    assert!(b.read("twice.bin") == data, "pull restored other bytes");
    assert_clean(&b);
    b.cairn_ok(&["verify"]);
    let c = TestRepo::clone_of(&a);
    c.cairn_ok(&["pull", "--no-cache"]);
    assert!(
        c.read("twice.bin") == data,
        "pull --no-cache restored other bytes"
    );
}

/// Resident and total pages of the packs under `dir`.
#[cfg(target_os = "linux")]
fn pack_pages(dir: &Path) -> Option<(usize, usize)> {
    // Listed, not read: reading a pack would bring its pages back.
    let mut sum = (0, 0);
    for e in walkdir::WalkDir::new(dir) {
        let path = e.ok()?.into_path();
        if path.extension().is_none_or(|x| x != "pack") {
            continue;
        }
        let (r, t) = crate::common::data::resident_pages(&path)?;
        sum = (sum.0 + r, sum.1 + t);
    }
    Some(sum)
}

/// The packs a plain pull keeps hold blobs it has restored already: once
/// fsynced they leave the page cache (fresh pages for the work tree cost
/// more than reused ones), while packs `add` wrote stay cached for the push
/// or checkout that reads them next.
#[cfg(target_os = "linux")]
#[test]
fn a_plain_pull_leaves_the_packs_it_kept_out_of_the_page_cache() {
    let big = random_bytes("page-cache", 24 << 20);
    let a = TestRepo::builder()
        .folder_remote("origin", "store")
        .file("model.bin", big.clone())
        .commit("v1")
        .push()
        .build();
    let Some((added, added_total)) = pack_pages(&a.path(".git/cairn/cache/packs")) else {
        return;
    };
    // The control: this file system keeps a fresh pack's pages.
    if added * 2 < added_total {
        return;
    }
    let b = TestRepo::clone_of(&a);
    b.cairn_ok(&["pull"]);
    assert_eq!(b3(&b.read("model.bin")), b3(&big));
    let (kept, total) = pack_pages(&b.path(".git/cairn/cache/packs")).unwrap();
    assert!(
        total > 5000,
        "{total} pages of packs: the model was not kept"
    );
    assert!(
        kept * 10 < total,
        "{kept} of {total} pages of the kept packs are still cached"
    );
}
