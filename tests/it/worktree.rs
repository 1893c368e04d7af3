//! Linked git worktrees (`git worktree add`): every worktree of a
//! repository shares the one cache in git's common directory, so a
//! checkout there needs no remote and no second copy, what a worktree adds
//! outlives the worktree, and `gc` anywhere keeps what any of them names.

use std::path::{Path, PathBuf};

use crate::common;

use common::TestRepo;

/// `cairn ARGS` in `dir` (a linked worktree of `repo`), with `repo`'s
/// environment; returns (success, stdout + stderr).
fn cairn_in(repo: &TestRepo, dir: &Path, args: &[&str]) -> (bool, String) {
    let out = repo
        .cairn(args)
        .current_dir(dir)
        .output()
        .expect("run cairn");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// A repository with data on `main` and a branch `exp`, and a linked
/// worktree of `exp` beside it (no remote anywhere).
fn with_worktree() -> (TestRepo, PathBuf, Vec<u8>) {
    let data = common::data::random_bytes("worktree", 700_000);
    let repo = TestRepo::builder()
        .file("data/model.bin", &data)
        .file("data/notes.csv", "a,b\n1,2\n".repeat(3000))
        .commit("data")
        .build();
    repo.git(&["branch", "exp"]);
    let wt = repo.base().join("wt");
    repo.git(&["worktree", "add", "-q", wt.to_str().unwrap(), "exp"]);
    (repo, wt, data)
}

#[test]
fn a_linked_worktree_restores_the_main_worktrees_data_without_a_remote_or_a_copy() {
    let (repo, wt, data) = with_worktree();
    let packs_before = repo.packs();
    assert!(!wt.join("data").exists(), "git checks out pointers only");
    let (ok, text) = cairn_in(&repo, &wt, &["status"]);
    assert!(ok, "{text}");
    assert!(text.contains("missing: data"), "{text}");
    assert!(!text.contains("not in cache"), "{text}");
    assert!(text.contains("`cairn checkout` restores"), "{text}");
    let (ok, text) = cairn_in(&repo, &wt, &["checkout"]);
    assert!(ok, "{text}");
    assert!(std::fs::read(wt.join("data/model.bin")).unwrap() == data);
    // The data came from the one shared cache: nothing was copied, and
    // the worktree has no cache of its own.
    assert_eq!(repo.packs(), packs_before);
    assert!(!wt.join(".cairn/cache").exists());
    let (ok, text) = cairn_in(&repo, &wt, &["verify"]);
    assert!(ok, "{text}");
}

#[test]
fn data_a_linked_worktree_added_and_committed_outlives_the_worktree() {
    let (repo, wt, _) = with_worktree();
    std::fs::write(wt.join("extra.bin"), b"only added in the worktree").unwrap();
    let (ok, text) = cairn_in(&repo, &wt, &["add", "extra.bin"]);
    assert!(ok, "{text}");
    let git_in_wt = |args: &[&str]| {
        let out = repo.git_cmd(args).current_dir(&wt).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git_in_wt(&["add", "-A"]);
    git_in_wt(&["commit", "-qm", "extra"]);
    // `git worktree remove` deletes the worktree's directory and git's
    // notes of it; the data it added lives in the shared cache.
    repo.git(&["worktree", "remove", "--force", wt.to_str().unwrap()]);
    repo.git(&["checkout", "-q", "exp"]);
    repo.cairn_ok(&["checkout"]);
    assert_eq!(repo.read("extra.bin"), b"only added in the worktree");
    repo.cairn_ok(&["verify"]);
}

#[test]
fn gc_in_the_main_worktree_keeps_what_a_linked_worktree_added_but_has_not_committed() {
    let (repo, wt, _) = with_worktree();
    let extra = common::data::random_bytes("uncommitted", 300_000);
    std::fs::write(wt.join("extra.bin"), &extra).unwrap();
    let (ok, text) = cairn_in(&repo, &wt, &["add", "extra.bin"]);
    assert!(ok, "{text}");
    repo.cairn_ok(&["gc", "--grace", "0s"]);
    std::fs::remove_file(wt.join("extra.bin")).unwrap();
    let (ok, text) = cairn_in(&repo, &wt, &["checkout", "extra.bin"]);
    assert!(ok, "gc deleted data a worktree's pointer names: {text}");
    assert!(std::fs::read(wt.join("extra.bin")).unwrap() == extra);
    let (ok, text) = cairn_in(&repo, &wt, &["verify"]);
    assert!(ok, "{text}");
}

#[test]
fn a_linked_worktrees_own_cache_from_an_earlier_cairn_joins_the_shared_one() {
    let (repo, wt, _) = with_worktree();
    let before = repo.packs();
    let extra = common::data::random_bytes("own cache", 400_000);
    std::fs::write(wt.join("extra.bin"), &extra).unwrap();
    let (ok, text) = cairn_in(&repo, &wt, &["add", "extra.bin"]);
    assert!(ok, "{text}");
    // As an earlier cairn left it: the worktree's add in a cache of its own.
    let own = wt.join(".cairn/cache/packs");
    for pack in repo.packs().into_iter().filter(|p| !before.contains(p)) {
        let sub = own.join(pack.parent().unwrap().file_name().unwrap());
        std::fs::create_dir_all(&sub).unwrap();
        for f in [pack.clone(), pack.with_extension("sum")] {
            std::fs::rename(&f, sub.join(f.file_name().unwrap())).unwrap();
        }
    }
    assert_eq!(repo.packs(), before);
    let (ok, text) = cairn_in(&repo, &wt, &["status"]);
    assert!(ok, "{text}");
    assert!(!wt.join(".cairn/cache").exists(), "the old cache was moved");
    assert!(repo.packs().len() > before.len(), "its packs joined");
    std::fs::remove_file(wt.join("extra.bin")).unwrap();
    let (ok, text) = cairn_in(&repo, &wt, &["checkout"]);
    assert!(ok, "{text}");
    assert!(std::fs::read(wt.join("extra.bin")).unwrap() == extra);
    let (ok, text) = cairn_in(&repo, &wt, &["verify"]);
    assert!(ok, "{text}");
}
