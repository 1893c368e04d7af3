//! Linked git worktrees (`git worktree add`): a worktree sees the data the
//! main worktree's cache holds, by hard links to its packs, so a checkout
//! there needs no remote and no second copy; each cache stays its own.

use std::os::unix::fs::MetadataExt;
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

/// Every pack file under `dir`'s default cache.
fn packs_in(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir.join(".cairn/cache/packs"))
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "pack"))
        .collect()
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
    assert!(!wt.join("data").exists(), "git checks out pointers only");
    let (ok, text) = cairn_in(&repo, &wt, &["status"]);
    assert!(ok, "{text}");
    assert!(text.contains("missing: data"), "{text}");
    assert!(!text.contains("not in cache"), "{text}");
    assert!(text.contains("`cairn checkout` restores"), "{text}");
    let (ok, text) = cairn_in(&repo, &wt, &["checkout"]);
    assert!(ok, "{text}");
    assert!(std::fs::read(wt.join("data/model.bin")).unwrap() == data);
    // The packs are the main worktree's files, not copies.
    let main_inodes: Vec<u64> = repo
        .packs()
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().ino())
        .collect();
    let borrowed = packs_in(&wt);
    assert!(!borrowed.is_empty());
    for p in &borrowed {
        let ino = std::fs::metadata(p).unwrap().ino();
        assert!(main_inodes.contains(&ino), "{p:?} is a copy");
    }
    let (ok, text) = cairn_in(&repo, &wt, &["verify"]);
    assert!(ok, "{text}");
}

#[test]
fn a_linked_worktrees_data_outlives_the_main_worktrees_cache() {
    let (repo, wt, data) = with_worktree();
    let (ok, text) = cairn_in(&repo, &wt, &["checkout"]);
    assert!(ok, "{text}");
    // Work of the worktree's own goes to its own cache only.
    std::fs::write(wt.join("extra.bin"), b"only in the worktree").unwrap();
    let (ok, text) = cairn_in(&repo, &wt, &["add", "extra.bin"]);
    assert!(ok, "{text}");
    let main_packs = repo.packs().len();
    // The main worktree loses its cache: the worktree still has every byte.
    std::fs::remove_dir_all(repo.path(".cairn/cache")).unwrap();
    std::fs::remove_dir_all(wt.join("data")).unwrap();
    std::fs::remove_file(wt.join("extra.bin")).unwrap();
    let (ok, text) = cairn_in(&repo, &wt, &["checkout"]);
    assert!(ok, "{text}");
    assert!(std::fs::read(wt.join("data/model.bin")).unwrap() == data);
    assert_eq!(
        std::fs::read(wt.join("extra.bin")).unwrap(),
        b"only in the worktree"
    );
    let (ok, text) = cairn_in(&repo, &wt, &["verify"]);
    assert!(ok, "{text}");
    assert!(
        packs_in(&wt).len() > main_packs,
        "the worktree's add wrote its own pack"
    );
}
