//! A remote whose damage is never hidden: a cached index file is trusted
//! only while the remote still lists the same object, `verify --remote`
//! reads every index file afresh and checks that the remote holds all the
//! data of the work tree, HEAD and every tag, a push repairs a damaged index
//! file from its verified copy, and push and pull survive a crash at every
//! durable step.

use crate::common;

use std::path::{Path, PathBuf};

use common::data::{assert_same_tree, data_and_model, write_tree, Tree};
use common::{assert_error_report, random_bytes, TestRepo};

/// A small dataset: a directory and a model, at version 1 or 2 (v2 drops
/// `data/gone.bin`, edits `data/a.txt` and the model).
fn version(v: u8) -> Tree {
    let mut t = Tree::new();
    t.insert("data/a.txt".into(), format!("version {v}\n").into_bytes());
    t.insert("data/same.bin".into(), random_bytes("same", 150_000));
    if v == 1 {
        t.insert("data/gone.bin".into(), random_bytes("gone", 120_000));
    }
    t.insert(
        "model.bin".into(),
        random_bytes(&format!("model-{v}"), 400_000),
    );
    t
}

/// A repository with folder remote `origin` and version `v` committed.
fn repo_at_v1() -> (TestRepo, PathBuf) {
    let a = TestRepo::builder()
        .folder_remote("origin", "remote-store")
        .tree(&version(1))
        .commit("v1")
        .build();
    let store = a.remote_dir("origin");
    (a, store)
}

/// Replace the work tree's data by version 2 and commit it.
fn commit_v2(a: &TestRepo) {
    a.remove("data");
    write_tree(a, &version(2));
    a.cairn_ok(&["add", "data", "model.bin"]);
    a.commit_all("v2");
}

/// The index files of a folder remote, newest first.
fn index_files(store: &Path) -> Vec<PathBuf> {
    let mut out: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(store.join("index"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "idx"))
                .map(|p| (std::fs::metadata(&p).unwrap().modified().unwrap(), p))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.into_iter().rev().map(|(_, p)| p).collect()
}

/// `index/<name>` of a remote index file.
fn rel_of(p: &Path) -> String {
    format!("index/{}", p.file_name().unwrap().to_str().unwrap())
}

/// A fresh clone pulls `expected` byte for byte.
fn fresh_clone_pulls(a: &TestRepo, expected: &Tree, what: &str) {
    let b = a.pulled_clone();
    assert_same_tree(&data_and_model(&b), expected, what);
}

#[test]
fn flipped_remote_index_byte_is_seen_by_the_clone_that_pushed() {
    let (a, store) = repo_at_v1();
    a.cairn_ok(&["push"]);
    let newest = index_files(&store)[0].clone();
    let rel = rel_of(&newest);
    let mut bytes = std::fs::read(&newest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&newest, &bytes).unwrap();

    // The clone that pushed it, with the index in its cache, sees it.
    let (stdout, stderr) = a.cairn_fail(&["verify", "--remote", "origin"]);
    assert!(stdout.contains(&format!("damaged {rel}")), "{stdout}");
    assert_error_report(&stderr, &["push", &rel]);
    assert!(
        stdout.contains("missing") && stdout.contains("model.bin"),
        "what the index hid is named: {stdout}"
    );

    // A fresh clone's pull needs no index file: the pointers' locators
    // say where their data is (FORMAT.md §15.8), and every blob is checked.
    let b = TestRepo::clone_of(&a);
    b.cairn_ok(&["pull"]);
    assert_same_tree(
        &data_and_model(&b),
        &data_and_model(&a),
        "pulled by locators",
    );
    // Without them, its pull names the damaged index file and what to do.
    let locators = store.join("loc");
    let aside = store.with_extension("loc-aside");
    std::fs::rename(&locators, &aside).unwrap();
    let b = TestRepo::clone_of(&a);
    let (_, stderr) = b.cairn_fail(&["pull"]);
    std::fs::rename(&aside, &locators).unwrap();
    assert_error_report(
        &stderr,
        &[&rel, "damaged", "verify --remote origin", "push"],
    );

    // The pushing clone repairs it from its verified copy.
    let out = a.cairn(&["push", "--json"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["repaired_indexes"], serde_json::json!([rel]), "{json}");
    assert_eq!(json["objects"], 0, "nothing needs sending again: {json}");
    assert_eq!(std::fs::read(&newest).unwrap(), {
        bytes[mid] ^= 0x01;
        bytes
    });
    a.cairn_ok(&["verify", "--remote", "origin"]);
    // And the next push trusts its cache again: one listing, no download.
    let json = a.cairn_json(&["push", "--json"]);
    assert_eq!(json["requests"]["reads"], 1, "{json}");
    b.cairn_ok(&["pull"]);
    assert_same_tree(&data_and_model(&b), &version(1), "after the repair");
    fresh_clone_pulls(&a, &version(1), "a fresh clone after the repair");
}

/// A damaged index file the pushing clone has no copy of (another clone
/// pushed it): its blobs count as absent and the push sends them again.
#[test]
fn a_damaged_index_file_without_a_good_copy_is_replaced_by_sending_the_data_again() {
    let (a, store) = repo_at_v1();
    a.cairn_ok(&["push"]);
    let c = a.pulled_clone();
    std::fs::remove_dir_all(a.path(".git/cairn/cache/remotes")).unwrap();
    let idx = index_files(&store)[0].clone();
    let mut bytes = std::fs::read(&idx).unwrap();
    bytes[20] ^= 0x10;
    std::fs::write(&idx, &bytes).unwrap();
    // `a` has no copy any more: its push sends the data again.
    let json = a.cairn_json(&["push", "--json"]);
    assert_eq!(json["damaged_indexes"], serde_json::json!([rel_of(&idx)]));
    assert!(json["objects"].as_u64().unwrap() > 0, "{json}");
    // The index it wrote lists the same pack, so it has the same name:
    // the damaged object was replaced by a good one.
    a.cairn_ok(&["verify", "--remote", "origin"]);
    assert_eq!(std::fs::read(&idx).unwrap(), {
        bytes[20] ^= 0x10;
        bytes
    });
    fresh_clone_pulls(&a, &version(1), "after sending the data again");
    // `c` still trusts nothing stale: one listing, one download (the
    // index file changed since it read it), nothing to send.
    let json = c.cairn_json(&["push", "--json"]);
    assert_eq!(json["objects"], 0, "{json}");
    assert_eq!(json["requests"]["reads"], 2, "{json}");
}

#[test]
fn verify_remote_reports_data_head_needs_that_the_remote_lacks() {
    let (a, store) = repo_at_v1();
    a.git(&["tag", "v1"]);
    commit_v2(&a);
    // Only v2 (HEAD, also the work tree) is pushed: tag v1's data is not
    // there. (A plain push would send every tag's.)
    a.cairn_ok(&["push", "HEAD"]);
    let (stdout, stderr) = a.cairn_fail(&["verify", "--remote", "origin"]);
    assert_error_report(&stderr, &["missing", "push"]);
    assert!(
        stdout.contains("data/gone.bin at v1 needs it")
            && stdout.contains("`cairn push -r origin v1`"),
        "{stdout}"
    );
    assert!(!stdout.contains("the work tree"), "{stdout}");
    let (stdout, _) = a.cairn_fail(&["verify", "--remote", "origin", "--json"]);
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let missing = json["missing"].as_array().unwrap();
    assert!(!missing.is_empty(), "{json}");
    assert!(missing.iter().all(|m| m["rev"] == "v1"), "{json}");
    assert_eq!(json["damaged"], serde_json::json!([]), "packs are intact");
    a.cairn_ok(&["push", "v1"]);
    a.cairn_ok(&["verify", "--remote", "origin"]);

    // A push that raced a gc: the data of HEAD vanished with its index
    // file and pack, leaving a consistent remote that lacks it.
    a.write("data/new.bin", random_bytes("new", 90_000));
    a.cairn_ok(&["add", "data"]);
    a.commit_all("v3");
    let before: Vec<PathBuf> = index_files(&store);
    let packs_before = packs(&store);
    a.cairn_ok(&["push"]);
    for p in index_files(&store) {
        if !before.contains(&p) {
            std::fs::remove_file(p).unwrap();
        }
    }
    for p in packs(&store) {
        if !packs_before.contains(&p) {
            std::fs::remove_file(p).unwrap();
        }
    }
    std::fs::remove_dir_all(a.path(".git/cairn/cache/remotes")).unwrap();
    let (stdout, _) = a.cairn_fail(&["verify", "--remote", "origin"]);
    assert!(
        stdout.contains("data/new.bin at the work tree needs it")
            && stdout.contains("`cairn push -r origin`"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("damaged"),
        "no damage, only a gap: {stdout}"
    );
    a.cairn_ok(&["push"]);
    a.cairn_ok(&["verify", "--remote", "origin"]);
}

/// Every pack file of a folder remote.
fn packs(store: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(store.join("packs"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

/// `index.list` names every index file (plain HTTP readers see all).
fn assert_listing_complete(store: &Path, point: &str) {
    let mut names: Vec<String> = index_files(store).iter().map(|p| rel_of(p)).collect();
    names.sort();
    let listing = std::fs::read_to_string(store.join("index.list")).unwrap();
    let listed: Vec<&str> = listing.lines().filter(|l| l.ends_with(".idx")).collect();
    assert_eq!(listed, names, "index.list after a crash at {point}");
}

#[test]
fn push_crash_matrix_a_rerun_completes_and_nothing_is_lost() {
    // v1 pushed, v2 committed with 17 MiB more data, so the crashed push
    // sends v2 as two packs (repacked packs are cut at 16 MiB).
    let mut v2 = version(2);
    v2.insert("big.bin".into(), random_bytes("big", 17 << 20));
    let setup = || {
        let (a, store) = repo_at_v1();
        a.cairn_ok(&["push"]);
        commit_v2(&a);
        a.write("big.bin", &v2["big.bin"]);
        a.cairn_ok(&["add", "big.bin"]);
        a.commit_all("big");
        (a, store)
    };
    let points = {
        let (a, _) = setup();
        common::crash::points(&a, &["push"])
    };
    common::crash::assert_reached(
        &points,
        &[
            "push.pack_spooled@2",
            "push.pack_uploaded@2",
            "push.packs_synced",
            "push.index_written",
            "push.listing_written",
        ],
    );
    let mut crashed = 0;
    for point in &points {
        let (a, store) = setup();
        crashed += usize::from(common::crash::crash_at(&a, &["push"], point));
        // Spooled packs are anonymous files: a killed push leaves none.
        let stray: Vec<_> = std::fs::read_dir(a.path(".git/cairn/cache"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tmp"))
            .collect();
        assert!(stray.is_empty(), "left after a crash at {point}: {stray:?}");
        a.cairn_ok(&["push"]);
        assert_listing_complete(&store, point);
        a.cairn_ok(&["verify"]);
        a.cairn_ok(&["verify", "--remote", "origin"]);
        let b = a.pulled_clone();
        let mut got = data_and_model(&b);
        got.insert("big.bin".into(), b.read("big.bin"));
        assert_same_tree(
            &got,
            &v2,
            &format!("a fresh clone after a crash at {point}"),
        );
    }
    eprintln!(
        "push crash matrix: {} failpoint(s), {crashed} crashed run(s)",
        common::crash::distinct(&points),
    );
}

#[test]
fn fetch_crash_matrix_a_rerun_completes_and_nothing_is_lost() {
    let (a, store) = repo_at_v1();
    a.git(&["tag", "v1"]);
    a.cairn_ok(&["push"]);
    commit_v2(&a);
    a.cairn_ok(&["push"]);
    // Through locators first, then through the index files alone.
    crash_matrix(&a, &["fetch.span_stored", "fetch.round_flushed"]);
    std::fs::remove_dir_all(store.join("loc")).unwrap();
    crash_matrix(
        &a,
        &[
            "fetch.index_cached",
            "fetch.span_stored",
            "fetch.round_flushed",
        ],
    );
}

fn crash_matrix(a: &TestRepo, must_reach: &[&str]) {
    let points = {
        let b = TestRepo::clone_of(a);
        common::crash::points(&b, &["pull"])
    };
    common::crash::assert_reached(&points, must_reach);
    let mut crashed = 0;
    for point in &points {
        let b = TestRepo::clone_of(a);
        crashed += usize::from(common::crash::crash_at(&b, &["pull"], point));
        b.cairn_ok(&["pull"]);
        b.cairn_ok(&["verify"]);
        b.cairn_ok(&["verify", "--remote", "origin"]);
        assert_same_tree(
            &data_and_model(&b),
            &version(2),
            &format!("after a crash at {point}"),
        );
        b.git(&["checkout", "-q", "v1"]);
        b.cairn_ok(&["pull"]);
        assert_same_tree(&data_and_model(&b), &version(1), "v1 after the crash");
    }
    eprintln!(
        "fetch crash matrix: {} failpoint(s), {crashed} crashed run(s)",
        common::crash::distinct(&points),
    );
}

/// A damaged manifest in the cache is repaired from the remote: after
/// `verify` has noted it, `pull` fetches a good copy instead of failing on
/// the damaged one.
#[test]
fn pull_replaces_a_damaged_cached_manifest_from_the_remote() {
    let (a, _store) = repo_at_v1();
    a.cairn_ok(&["push"]);
    let b = a.pulled_clone();
    let want = data_and_model(&b);
    let manifest = cairn::hash::Id::from_hex(&b.pointer("model.bin")["id"]).unwrap();
    // Flip one byte of the model's manifest, wherever the cache holds it.
    let mut flipped = 0;
    for pack in walkdir::WalkDir::new(b.path(".git/cairn/cache/packs"))
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
    {
        let mut bytes = std::fs::read(pack.path()).unwrap();
        let entries = cairn::format::pack::read_footer(pack.path(), bytes.len() as u64, |at, n| {
            Ok(bytes[at as usize..at as usize + n].to_vec())
        })
        .unwrap();
        for e in entries {
            if e.kind == cairn::format::kind::ObjectKind::Manifest && e.id == manifest {
                bytes[e.offset as usize + e.stored_len as usize / 2] ^= 0x55;
                flipped += 1;
            }
        }
        std::fs::write(pack.path(), bytes).unwrap();
    }
    assert_eq!(flipped, 1, "the model has a manifest in the cache");
    b.cairn_fail(&["verify"]);
    b.remove("model.bin");
    b.cairn_ok(&["pull"]);
    assert_same_tree(&data_and_model(&b), &want, "after the repair");
    b.cairn_ok(&["verify"]);
}

/// Damage spread over every cached pack (a byte flipped every 4 KiB: blobs,
/// footers and trailers alike), found by `verify`, then a pull of the
/// deleted data: everything is fetched again and restored byte for byte.
/// Before fetch and checkout shared one store per command, the checkout
/// reopened the cache and, for some layouts of the damage and orders of
/// the fetched blobs, left paths unrestored: over these 41 data sets the
/// old build failed the pull in 6 of 6 runs. `CAIRN_DAMAGE_SEEDS=1,2,…`
/// picks other data sets.
#[test]
fn pull_after_verify_restores_data_whose_every_cached_pack_is_damaged() {
    let seeds: Vec<u64> = match std::env::var("CAIRN_DAMAGE_SEEDS") {
        Ok(s) => s.split(',').map(|x| x.parse().unwrap()).collect(),
        Err(_) => (0..41).collect(),
    };
    for seed in seeds {
        let a = TestRepo::init();
        let store = a.base().join("remote-store");
        a.cairn_ok(&["remote", "add", "origin", store.to_str().unwrap()]);
        for j in 1..=3usize {
            a.write(
                &format!("data/f{j}.bin"),
                random_bytes(&format!("{seed}-f{j}"), 200_000 * j),
            );
        }
        a.write("model.bin", random_bytes(&format!("{seed}-model"), 500_000));
        a.cairn_ok(&["add", "data", "model.bin"]);
        a.commit_all("v1");
        a.cairn_ok(&["push"]);
        let b = TestRepo::clone_of(&a);
        b.cairn_ok(&["pull"]);
        let want = data_and_model(&b);
        for pack in walkdir::WalkDir::new(b.path(".git/cairn/cache/packs"))
            .into_iter()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
        {
            let mut bytes = std::fs::read(pack.path()).unwrap();
            let end = bytes.len().saturating_sub(4096).max(64);
            for at in (64..end).step_by(4096) {
                bytes[at] ^= 0x55;
            }
            std::fs::write(pack.path(), bytes).unwrap();
        }
        b.cairn(&["verify"]).assert().failure();
        b.remove("data");
        b.remove("model.bin");
        let out = b.cairn(&["pull"]).output().unwrap();
        assert!(
            out.status.success(),
            "seed {seed}: pull failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_same_tree(&data_and_model(&b), &want, &format!("seed {seed}"));
    }
}

/// A concurrent `gc --remote` deletes the condemnation notes it
/// supersedes (and index files it merged); one can go between a command's
/// listing of `index/` and its read of that file. The command lists again
/// and goes on, instead of failing with "the remote is missing data its
/// index lists" (seen as a rare failure of
/// `gc_remote_on_a_stale_clone_never_deletes_what_a_concurrent_push_reuses`).
#[test]
fn a_note_that_vanishes_between_listing_and_reading_is_listed_again() {
    let (a, store) = repo_at_v1();
    a.cairn_ok(&["push"]);
    // Data nothing will reach any more, condemned by a remote gc.
    a.write("junk.bin", random_bytes("vanishing-junk", 300_000));
    a.cairn_ok(&["add", "junk.bin"]);
    a.commit_all("junk");
    a.cairn_ok(&["push"]);
    a.git(&["reset", "-q", "--hard", "HEAD~1"]);
    a.git(&["reflog", "expire", "--expire=now", "--all"]);
    a.cairn_ok(&["gc", "--remote", "origin", "--grace", "0s"]);
    let notes = |ext: &str| -> usize {
        std::fs::read_dir(store.join("index"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == ext)
            })
            .count()
    };
    assert!(notes("cnd") > 0, "gc condemned the junk's pack");
    let want = data_and_model(&a);
    // A fresh clone (nothing cached, and no locators to go by, so it reads
    // the index): right after its pull lists index/, the condemnation
    // notes go, as a concurrent gc would drop them.
    std::fs::remove_dir_all(store.join("loc")).unwrap();
    let mut b = TestRepo::clone_of(&a);
    b.set_env(
        "CAIRN_FAILPOINTS_RUN",
        &format!("index.listed=rm -f '{}'/index/*.cnd", store.display()),
    );
    b.cairn_ok(&["pull"]);
    assert_eq!(notes("cnd"), 0, "the notes went during the pull");
    assert_same_tree(&data_and_model(&b), &want, "the pull");
}
