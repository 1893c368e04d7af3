//! Where the cache lives: in git's directory (`.git/cairn/cache`), where
//! `git clean -fdx` cannot reach it, and how a cache an earlier cairn kept
//! in `.cairn/cache` moves there without a moment at which data is lost,
//! even when the move is cut short.

use std::path::{Path, PathBuf};

use crate::common;

use common::{crash, TestRepo, CACHE};

const LEGACY: &str = ".cairn/cache";

/// A repository with two files added by two `add`s (so two packs), and
/// committed; no remote.
fn two_packs() -> (TestRepo, Vec<u8>, Vec<u8>) {
    let a = common::data::random_bytes("location a", 500_000);
    let b = common::data::random_bytes("location b", 300_000);
    let repo = TestRepo::builder()
        .file("a.bin", &a)
        .add(&["a.bin"])
        .file("b.bin", &b)
        .add(&["b.bin"])
        .commit("data")
        .build();
    assert!(repo.packs().len() >= 2, "{:?}", repo.packs());
    (repo, a, b)
}

fn move_file(from: &Path, to_dir: &Path) {
    std::fs::create_dir_all(to_dir).unwrap();
    std::fs::rename(from, to_dir.join(from.file_name().unwrap())).unwrap();
}

/// As an earlier cairn left it: the whole cache in `.cairn/cache`.
fn make_legacy(repo: &TestRepo) {
    std::fs::rename(repo.path(CACHE), repo.path(LEGACY)).unwrap();
}

/// As a worktree that had a cache of its own left it: the last pack in
/// `.cairn/cache`, the others already in the shared cache.
fn make_split(repo: &TestRepo) -> PathBuf {
    let pack = repo.packs().pop().unwrap();
    let sub = repo
        .path(LEGACY)
        .join("packs")
        .join(pack.parent().unwrap().file_name().unwrap());
    move_file(&pack.with_extension("sum"), &sub);
    move_file(&pack, &sub);
    sub.join(pack.file_name().unwrap())
}

/// Both files come back from the cache alone, and `verify` finds it whole.
fn restores_everything(repo: &TestRepo, a: &[u8], b: &[u8], when: &str) {
    repo.remove("a.bin");
    repo.remove("b.bin");
    repo.cairn_ok(&["checkout"]);
    assert!(repo.read("a.bin") == a, "{when}");
    assert!(repo.read("b.bin") == b, "{when}");
    repo.cairn_ok(&["verify"]);
    assert!(!repo.exists(LEGACY), "{when}: the old cache is still there");
}

#[test]
fn git_clean_fdx_keeps_every_added_version() {
    let v1 = common::data::random_bytes("clean v1", 400_000);
    let v2 = common::data::random_bytes("clean v2", 400_000);
    let repo = TestRepo::builder()
        .file("model.bin", &v1)
        .commit("v1")
        .file("model.bin", &v2)
        .commit("v2")
        .build();
    // Nothing was pushed: the cache holds the only copy of v1.
    repo.git(&["clean", "-fdxq"]);
    assert!(!repo.exists("model.bin"));
    repo.cairn_ok(&["checkout"]);
    assert!(repo.read("model.bin") == v2);
    repo.git(&["checkout", "-q", "HEAD~1"]);
    repo.cairn_ok(&["checkout"]);
    assert!(repo.read("model.bin") == v1);
    repo.cairn_ok(&["verify"]);
}

#[test]
fn a_cache_an_earlier_cairn_kept_in_the_work_tree_moves_into_git() {
    let (repo, a, b) = two_packs();
    let packs = repo.packs();
    make_legacy(&repo);
    assert!(repo.packs().is_empty());
    // Any command moves it, whole, before it reads it.
    repo.cairn_ok(&["status"]);
    assert!(!repo.exists(LEGACY));
    assert_eq!(repo.packs(), packs);
    restores_everything(&repo, &a, &b, "after the move");
}

#[test]
fn a_cache_split_between_the_old_and_new_place_joins_into_one() {
    let (repo, a, b) = two_packs();
    let packs = repo.packs();
    make_split(&repo);
    assert_eq!(repo.packs().len(), packs.len() - 1);
    repo.cairn_ok(&["status"]);
    assert_eq!(repo.packs(), packs);
    restores_everything(&repo, &a, &b, "after the join");
}

#[test]
fn a_move_cut_short_at_any_step_loses_nothing_and_the_next_command_finishes_it() {
    let whole = |r: &TestRepo| make_legacy(r);
    let split = |r: &TestRepo| {
        make_split(r);
    };
    type Setup<'a> = &'a dyn Fn(&TestRepo);
    let cases: [(&str, Setup, &[&str]); 2] = [
        ("rename", &whole, &["cache.moved"]),
        (
            "join",
            &split,
            &["cache.packs_linked", "cache.old_set_aside"],
        ),
    ];
    for (case, setup, expected) in cases {
        let (repo, _, _) = two_packs();
        setup(&repo);
        let points = crash::points(&repo, &["status"]);
        crash::assert_reached(&points, expected);
        for point in points.iter().filter(|p| p.starts_with("cache.")) {
            let (repo, a, b) = two_packs();
            setup(&repo);
            assert!(
                crash::crash_at(&repo, &["status"], point),
                "{case}: {point}"
            );
            restores_everything(&repo, &a, &b, &format!("{case}, crashed at {point}"));
        }
    }
}

#[test]
fn a_cache_another_process_is_writing_stays_in_use_until_it_can_move() {
    let (repo, a, b) = two_packs();
    make_legacy(&repo);
    // A writer of the old cache (an earlier cairn, say) holds its lock.
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(repo.path(LEGACY).join("lock"))
        .or_else(|_| std::fs::File::create(repo.path(LEGACY).join("lock")))
        .unwrap();
    lock.try_lock().unwrap();
    repo.remove("a.bin");
    let out = repo.cairn_ok(&["status"]);
    assert!(out.contains("missing: a.bin"), "{out}");
    assert!(
        !out.contains("not in cache"),
        "the old cache is read: {out}"
    );
    assert!(repo.exists(LEGACY));
    drop(lock);
    repo.cairn_ok(&["checkout"]);
    restores_everything(&repo, &a, &b, "after the lock was released");
}

#[test]
fn a_cache_placed_by_cache_dir_is_never_moved() {
    let (mut repo, a, b) = two_packs();
    let elsewhere = repo.base().join("shared-cache");
    std::fs::rename(repo.path(CACHE), &elsewhere).unwrap();
    repo.set_env("CAIRN_CACHE_DIR", elsewhere.to_str().unwrap());
    repo.cairn_ok(&["status"]);
    assert!(elsewhere.join("packs").is_dir());
    assert!(!repo.exists(CACHE));
    repo.remove("a.bin");
    repo.remove("b.bin");
    repo.cairn_ok(&["checkout"]);
    assert!(repo.read("a.bin") == a && repo.read("b.bin") == b);
}
