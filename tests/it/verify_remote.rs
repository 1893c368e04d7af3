//! `cairn verify --remote`: every pack a remote's index lists is downloaded
//! and re-hashed; damage and loss are reported, and a push from a clone
//! with good data repairs them.

use crate::common;

use std::path::{Path, PathBuf};

use common::data::{assert_same_tree, data_and_model, dataset, num};
use common::{assert_error_report, TestRepo};

fn largest_pack(store: &Path) -> PathBuf {
    walkdir::WalkDir::new(store.join("packs"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .max_by_key(|e| e.metadata().unwrap().len())
        .expect("a pack on the remote")
        .into_path()
}

/// `error: remote origin: K damaged or missing object(s)`, K > 0, and a hint.
fn assert_verify_failed(stderr: &str) {
    assert_error_report(stderr, &["push"]);
    let first = stderr.lines().next().unwrap();
    let count = first
        .strip_prefix("error: remote origin: ")
        .and_then(|r| r.strip_suffix(" damaged or missing object(s)"))
        .and_then(|k| k.parse::<u64>().ok());
    assert!(count.is_some_and(|k| k > 0), "{stderr}");
}

/// Every pack file on a folder remote.
fn remote_packs(store: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(store.join("packs"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

/// A repository with v1 and v2 of [`dataset`] committed (v1 tagged) and a
/// folder remote `origin` (not pushed yet).
fn two_versions() -> (TestRepo, PathBuf) {
    let a = TestRepo::builder()
        .folder_remote("origin", "remote-store")
        .tree(&dataset(1))
        .commit("v1")
        .tag("v1")
        .remove("data")
        .tree(&dataset(2))
        .commit("v2")
        .build();
    let store = a.remote_dir("origin");
    (a, store)
}

/// A repository with v1 of [`dataset`] committed and pushed to the folder
/// remote `origin`.
fn pushed_v1() -> TestRepo {
    TestRepo::builder()
        .folder_remote("origin", "remote-store")
        .tree(&dataset(1))
        .commit("v1")
        .push()
        .build()
}

/// A fresh clone gets v2, then v1, byte for byte.
fn clone_gets_both_versions(a: &TestRepo) {
    let b = a.pulled_clone();
    assert_same_tree(&data_and_model(&b), &dataset(2), "v2 in a fresh clone");
    b.git(&["checkout", "-q", "v1"]);
    b.cairn_ok(&["pull"]);
    assert_same_tree(&data_and_model(&b), &dataset(1), "v1 in a fresh clone");
}

#[test]
fn verify_remote_finds_a_damaged_pack_and_a_push_repairs_it() {
    let (a, store) = two_versions();
    a.cairn_ok(&["push", "v1"]);
    a.cairn_ok(&["push"]);
    let json = a.cairn_json(&["verify", "--remote", "origin", "--json"]);
    assert_eq!(json["damaged"], serde_json::json!([]), "{json}");

    // Flip one byte in the middle of the largest pack.
    let victim = largest_pack(&store);
    let mut bytes = std::fs::read(&victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&victim, &bytes).unwrap();
    let (stdout, stderr) = a.cairn_fail(&["verify", "--remote", "origin"]);
    assert_verify_failed(&stderr);
    assert!(stdout.contains("damaged"), "{stdout}");
    let (stdout, _) = a.cairn_fail(&["verify", "--remote", "origin", "--json"]);
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(
        !json["damaged"].as_array().unwrap().is_empty(),
        "the damage is listed: {json}"
    );

    // As the hint says, pushing from a clone with good data repairs it.
    let repair = a.cairn_json(&["push", "v1", "--json"]);
    let repair2 = a.cairn_json(&["push", "--json"]);
    assert!(
        num(&repair, "objects") + num(&repair2, "objects") > 0,
        "{repair} {repair2}"
    );
    a.cairn_ok(&["verify", "--remote", "origin"]);
    // A clone that never saw the damage still gets good data.
    clone_gets_both_versions(&a);
}

/// A lost pack, repaired by pushing both versions again from the clone
/// that has them. Once found missing, the pack stops counting (a damage
/// note on the remote), the repair sends its objects again, verify is clean
/// and a fresh clone's pull works, whichever copy it meets first.
#[test]
fn a_lost_pack_is_reported_and_a_push_repairs_it() {
    let (a, store) = two_versions();
    a.cairn_ok(&["push", "v1"]);
    let v1_packs = remote_packs(&store);
    a.cairn_ok(&["push"]);
    for p in &v1_packs {
        std::fs::remove_file(p).unwrap();
    }
    let (stdout, stderr) = a.cairn_fail(&["verify", "--remote", "origin"]);
    assert_verify_failed(&stderr);
    assert!(stdout.contains("missing"), "{stdout}");

    // A plain push repairs every named version (v1 is a tag), with packs
    // that differ from the lost ones; `push v1` then has nothing to add.
    let repair = a.cairn_json(&["push", "--json"]);
    assert!(num(&repair, "objects") > 0, "{repair}");
    let repair = a.cairn_json(&["push", "v1", "--json"]);
    assert_eq!(num(&repair, "objects"), 0, "{repair}");
    a.cairn_ok(&["verify", "--remote", "origin"]);
    clone_gets_both_versions(&a);
}

/// The hint's remedy, "push from a clone with good data", from a clone
/// other than the one that ran `verify --remote`: the damage is noted on
/// the remote itself, so every clone knows it.
#[test]
fn a_push_from_another_clone_repairs_a_lost_pack() {
    let a = pushed_v1();
    let store = a.remote_dir("origin");
    let c = a.pulled_clone();

    std::fs::remove_dir_all(store.join("packs")).unwrap();
    let (_, stderr) = a.cairn_fail(&["verify", "--remote", "origin"]);
    assert_verify_failed(&stderr);
    let repair = c.cairn_json(&["push", "--json"]);
    assert!(
        num(&repair, "objects") > 0,
        "the repair sent nothing: {repair}"
    );
    a.cairn_ok(&["verify", "--remote", "origin"]);
    let b = a.pulled_clone();
    assert_same_tree(&data_and_model(&b), &dataset(1), "data after the repair");
}

/// A push killed during a multipart upload to a folder remote leaves the
/// backend's staging file (`<pack>#<n>`); `gc --remote` removes such files
/// once older than the grace period, and only then.
#[test]
fn gc_remote_sweeps_partial_uploads_left_in_a_folder() {
    let a = pushed_v1();
    let store = a.remote_dir("origin");
    let partial = store.join("packs/ab/abababab.pack#1");
    std::fs::create_dir_all(partial.parent().unwrap()).unwrap();
    std::fs::write(&partial, vec![7u8; 1000]).unwrap();
    a.cairn_ok(&["gc", "--remote", "origin", "--grace", "1h"]);
    assert!(
        partial.exists(),
        "a young partial upload may still be in use"
    );
    let out = a
        .cairn(&["gc", "--remote", "origin", "--grace", "0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!partial.exists(), "an old partial upload is removed");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("removed 1 partial upload(s)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    a.cairn_ok(&["verify", "--remote", "origin"]);
}
