//! `cairn checkout`: restores committed data, only what is asked for, and
//! never loses a user's file.

use crate::common;

use common::{csv_text, random_bytes, TestRepo};

fn repo_with_data() -> TestRepo {
    TestRepo::builder()
        .file("data/a.csv", csv_text(1, 20_000))
        .file("data/b.csv", csv_text(2, 20_000))
        .file("data/sub/c.bin", random_bytes("c", 100_000))
        .commit("data v1")
        .build()
}

#[test]
fn checkout_of_a_sub_path_restores_only_that_path() {
    let repo = repo_with_data();
    repo.remove("data/a.csv");
    repo.remove("data/sub/c.bin");
    repo.cairn_ok(&["checkout", "data/sub/c.bin"]);
    assert_eq!(repo.read("data/sub/c.bin"), random_bytes("c", 100_000));
    assert!(
        !repo.exists("data/a.csv"),
        "only the named path is restored"
    );
    // From inside the directory, a relative path works too.
    let out = repo
        .cairn(&["checkout", "a.csv"])
        .current_dir(repo.path("data"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(repo.read("data/a.csv"), csv_text(1, 20_000));
}

#[test]
fn checkout_force_discards_local_edits_to_tracked_files() {
    let repo = repo_with_data();
    repo.write("data/b.csv", "edited\n");
    repo.chmod("data/a.csv", 0o755);
    // Without --force the edit is protected (tests/workflow_safety.rs).
    let (_, err) = repo.cairn_fail(&["checkout", "data"]);
    assert!(err.contains("data/b.csv"), "{err}");
    assert_eq!(repo.read("data/b.csv"), b"edited\n");
    repo.cairn_ok(&["checkout", "--force", "data"]);
    assert_eq!(repo.read("data/b.csv"), csv_text(2, 20_000));
    assert_eq!(repo.mode("data/a.csv"), 0o644);
    let st = repo.cairn_json(&["status", "--json"]);
    assert_eq!(st["paths"][0]["state"], "clean", "{st}");
}

#[test]
fn checkout_follows_the_pointer_across_git_revisions() {
    let repo = repo_with_data();
    // v2: b.csv dropped, a.csv changed.
    repo.remove("data/b.csv");
    repo.write("data/a.csv", "v2\n");
    repo.cairn_ok(&["add", "data"]);
    repo.commit_all("data v2");

    repo.git(&["checkout", "-q", "HEAD~1", "--", "data.cairn"]);
    repo.cairn_ok(&["checkout"]);
    assert_eq!(repo.read("data/a.csv"), csv_text(1, 20_000));
    assert_eq!(repo.read("data/b.csv"), csv_text(2, 20_000));

    repo.git(&["checkout", "-q", "HEAD", "--", "data.cairn"]);
    repo.cairn_ok(&["checkout"]);
    assert_eq!(repo.read("data/a.csv"), b"v2\n");
    assert!(
        !repo.exists("data/b.csv"),
        "a file cairn wrote and v2 drops is removed"
    );
    let st = repo.cairn_json(&["status", "--json"]);
    assert_eq!(st["paths"][0]["state"], "clean", "{st}");
}

#[test]
fn checkout_keeps_a_new_file_the_user_created() {
    let repo = repo_with_data();
    repo.write("data/mine.csv", "precious, never added\n");
    repo.cairn_ok(&["checkout"]);
    assert_eq!(repo.read("data/mine.csv"), b"precious, never added\n");
}

/// Same as above, but with a `cairn status` in between. Status hashes the
/// new file and records it in the stat index; checkout must still not
/// treat it as a file cairn put there (it is in no cache, so deleting it
/// loses it for good).
#[test]
fn checkout_keeps_a_new_file_the_user_created_after_status() {
    let repo = repo_with_data();
    repo.write("data/mine.csv", "precious, never added\n");
    let st = repo.cairn_json(&["status", "--json"]);
    assert_eq!(
        common::changes(&st["paths"][0]),
        [("data/mine.csv".to_string(), "added".to_string())]
    );
    repo.cairn_ok(&["checkout"]);
    assert!(
        repo.exists("data/mine.csv"),
        "checkout deleted a file that was never added to cairn"
    );
    assert_eq!(repo.read("data/mine.csv"), b"precious, never added\n");
}

/// A user's copy of tracked content is still the user's file: its bytes
/// being in the cache does not make it one cairn may remove.
#[test]
fn checkout_keeps_a_users_copy_of_tracked_content() {
    let repo = repo_with_data();
    let original = repo.read("data/a.csv");
    repo.write("data/a-copy.csv", &original);
    repo.cairn_json(&["status", "--json"]);
    repo.cairn_ok(&["checkout"]);
    assert!(
        repo.exists("data/a-copy.csv"),
        "checkout deleted the user's copy"
    );
    assert_eq!(repo.read("data/a-copy.csv"), original);
}

#[test]
fn checkout_skips_unchanged_files() {
    let repo = TestRepo::init();
    repo.write("data/a.bin", random_bytes("a", 200_000));
    repo.write("data/b.bin", random_bytes("b", 200_000));
    repo.backdate("data");
    repo.cairn_ok(&["add", "data"]);
    let ino = |rel: &str| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(repo.path(rel)).unwrap().ino()
    };
    let before = ino("data/a.bin");
    repo.remove("data/b.bin");
    repo.cairn_ok(&["checkout"]);
    assert_eq!(ino("data/a.bin"), before, "an unchanged file was rewritten");
    assert_eq!(repo.read("data/b.bin"), random_bytes("b", 200_000));
}

/// A restore creates missing directories itself and does not `stat` the
/// files it writes into them, nor, while looking for edits, the files of a
/// directory that is missing: a file beside them in a directory that
/// exists is still compared, kept when unchanged and guarded when edited.
#[test]
fn checkout_into_missing_directories_still_guards_the_existing_ones() {
    let repo = TestRepo::builder()
        .file("data/keep.csv", csv_text(1, 5_000))
        .file("data/edit.csv", csv_text(2, 5_000))
        .file("data/deep/er/a.csv", csv_text(3, 5_000))
        .file("data/deep/er/b.csv", csv_text(4, 5_000))
        .file("data/deep/c.csv", csv_text(5, 5_000))
        .commit("data")
        .build();
    repo.remove("data/deep");
    repo.write("data/edit.csv", "the user's edit, never added\n");
    // The edit stops the checkout before anything is written.
    let (_, err) = repo.cairn_fail(&["checkout"]);
    assert!(err.contains("data/edit.csv"), "{err}");
    assert!(
        !repo.exists("data/deep"),
        "nothing is written on a conflict"
    );
    assert_eq!(
        repo.read("data/edit.csv"),
        b"the user's edit, never added\n"
    );

    repo.write("data/edit.csv", csv_text(2, 5_000));
    let report = repo.cairn_json(&["checkout", "--json"]);
    assert_eq!(repo.read("data/deep/er/a.csv"), csv_text(3, 5_000));
    assert_eq!(repo.read("data/deep/er/b.csv"), csv_text(4, 5_000));
    assert_eq!(repo.read("data/deep/c.csv"), csv_text(5, 5_000));
    // The files that were there already are compared, not rewritten
    // (edit.csv's restored bytes are hashed, as the index cannot vouch).
    assert_eq!(report["files_written"], 3, "{report}");
    assert_eq!(report["files_unchanged"], 2, "{report}");
    let st = repo.cairn_json(&["status", "--json"]);
    assert_eq!(st["paths"][0]["state"], "clean", "{st}");
}

/// Paths are checked for symbolic links once per directory: every file of
/// a directory replaced by a link is refused, not just the first.
#[test]
fn checkout_refuses_a_symlinked_directory_of_several_files() {
    let repo = TestRepo::builder()
        .file("data/a.csv", "a\n")
        .file("data/inner/x.csv", "x\n")
        .file("data/inner/y.csv", "y\n")
        .file("data/inner/z.csv", "z\n")
        .commit("data")
        .build();
    let outside = repo.base().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    repo.remove("data/inner");
    std::os::unix::fs::symlink(&outside, repo.path("data/inner")).unwrap();
    let (_, stderr) = repo.cairn_fail(&["checkout", "--force"]);
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert!(
        std::fs::read_dir(&outside).unwrap().next().is_none(),
        "checkout wrote outside the work tree"
    );
}
