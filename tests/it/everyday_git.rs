//! Everyday git moves a new user makes, each ending where nothing is lost
//! and every version still restores: gc in a shallow CI clone, a `git push`
//! of several commits through the pre-push hook, switching between a
//! directory tracked whole and its files tracked one by one, a pointer
//! moved with `git mv`, a sparse checkout that leaves `.cairn/` out, a
//! clone kept where a relative folder remote names no folder, `git pull
//! --rebase` with the hooks, and a commit whose data was never pushed.

use crate::common;

use common::data::{clone_beside, shallow_clone_beside};
use common::{random_bytes, TestRepo};

/// A repository whose model.bin has two versions, each pushed on its own
/// (so each has packs of its own on the folder remote `../store`); v1 is
/// tagged.
fn two_pushed_versions() -> (TestRepo, [Vec<u8>; 2]) {
    let v1 = random_bytes("model v1", 300_000);
    let v2 = random_bytes("model v2", 300_000);
    let a = TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .file("model.bin", &v1)
        .commit("v1")
        .tag("v1")
        .push()
        .file("model.bin", &v2)
        .commit("v2")
        .push()
        .build();
    (a, [v1, v2])
}

#[test]
fn gc_in_a_shallow_clone_refuses_so_older_tags_keep_their_data() {
    let (a, [v1, _]) = two_pushed_versions();
    let ci = shallow_clone_beside(&a, "ci");
    ci.cairn_ok(&["pull"]);
    // Twice: the first run condemns, the second deletes what is still dead.
    for _ in 0..2 {
        let (_, err) = ci.cairn_fail(&["gc", "--remote", "origin", "--grace", "0"]);
        assert!(err.contains("shallow clone"), "{err}");
        assert!(err.contains("git fetch --unshallow"), "{err}");
    }
    let (_, err) = ci.cairn_fail(&["gc", "--grace", "0"]);
    assert!(err.contains("shallow clone"), "{err}");

    let full = clone_beside(&a, &a.root, "full");
    full.cairn_ok(&["pull", "v1"]);
    assert_eq!(full.read("model.bin"), v1, "v1's data left the remote");
}

#[test]
fn pre_push_hook_sends_the_data_of_every_commit_git_pushes() {
    let a = TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .commit("cairn")
        .build();
    let hub = a.add_bare_hub();
    a.cairn_ok(&["install-hooks"]);
    a.git(&["push", "-q", "hub", "main"]);
    let versions: Vec<Vec<u8>> = (1..=3)
        .map(|i| random_bytes(&format!("v{i}"), 100_000))
        .collect();
    for (i, v) in versions.iter().enumerate() {
        a.write("model.bin", v);
        a.cairn_ok(&["add", "model.bin"]);
        a.commit_all(&format!("v{}", i + 1));
    }
    // One git push of three commits, then two more on a new branch.
    a.git(&["push", "-q", "hub", "main"]);
    a.git(&["switch", "-q", "-c", "feature"]);
    let feature: Vec<Vec<u8>> = (1..=2)
        .map(|i| random_bytes(&format!("f{i}"), 100_000))
        .collect();
    for (i, v) in feature.iter().enumerate() {
        a.write("model.bin", v);
        a.cairn_ok(&["add", "model.bin"]);
        a.commit_all(&format!("f{}", i + 1));
    }
    a.git(&["push", "-q", "hub", "feature"]);

    let c = clone_beside(&a, &hub, "clone");
    for (back, v) in versions.iter().rev().enumerate() {
        let rev = format!("origin/main~{back}");
        c.cairn_ok(&["pull", &rev]);
        assert_eq!(&c.read("model.bin"), v, "{rev}");
    }
    c.cairn_ok(&["pull", "origin/feature~1"]);
    assert_eq!(c.read("model.bin"), feature[0], "origin/feature~1");
}

/// main tracks `d` whole; branch `files` tracks `d/x.csv` and `d/y.csv`
/// one by one. Returns the repository (on `files`) and the two files.
fn whole_and_files() -> (TestRepo, Vec<u8>, Vec<u8>) {
    let x = b"x,1\nx,2\n".to_vec();
    let y = b"y,1\ny,2\ny,3\n".to_vec();
    let r = TestRepo::builder()
        .file("d/x.csv", &x)
        .file("d/y.csv", &y)
        .commit("d whole")
        .git(&["switch", "-q", "-c", "files"])
        .cairn(&["rm", "d"])
        .add(&["d/x.csv", "d/y.csv"])
        .commit("d file by file")
        .build();
    (r, x, y)
}

#[test]
fn checkout_between_a_whole_directory_and_its_files_keeps_every_file() {
    let (r, x, y) = whole_and_files();
    r.cairn_ok(&["checkout", "main"]);
    assert_eq!(r.read("d/x.csv"), x);
    assert_eq!(r.read("d/y.csv"), y);
    assert!(r.exists("d.cairn") && !r.exists("d/x.csv.cairn"));
    r.cairn_ok(&["status", "--exit-code"]);
    r.cairn_ok(&["checkout", "files"]);
    assert_eq!(r.read("d/x.csv"), x, "the files' checkout removed x.csv");
    assert_eq!(r.read("d/y.csv"), y, "the files' checkout removed y.csv");
    assert!(r.exists("d/x.csv.cairn") && r.exists("d/y.csv.cairn"));
    assert!(!r.exists("d.cairn"));
    r.cairn_ok(&["status", "--exit-code"]);
    let git_status = r.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert_eq!(git_status, "", "the round trip left git changes");
}

#[test]
fn git_switch_between_a_whole_directory_and_its_files_keeps_every_file() {
    let (r, x, y) = whole_and_files();
    r.cairn_ok(&["install-hooks"]);
    r.git(&["switch", "-q", "main"]);
    assert_eq!(r.read("d/x.csv"), x, "switch to main");
    assert_eq!(r.read("d/y.csv"), y, "switch to main");
    r.cairn_ok(&["status", "--exit-code"]);
    r.git(&["switch", "-q", "files"]);
    assert_eq!(r.read("d/x.csv"), x, "switch to files");
    assert_eq!(r.read("d/y.csv"), y, "switch to files");
    r.cairn_ok(&["status", "--exit-code"]);

    // An edit that was never added stays, and so does the rest of d.
    r.write("d/x.csv", b"edited\n");
    let out = r.git_cmd(&["switch", "-q", "main"]).output().unwrap();
    assert!(!out.status.success(), "the hook says the edit was left");
    assert_eq!(r.read("d/x.csv"), b"edited\n");
    assert_eq!(r.read("d/y.csv"), y, "y.csv was taken out of d");
}

#[test]
fn checkout_after_git_mv_of_a_pointer_keeps_the_data_out_of_git() {
    let model = random_bytes("model", 100_000);
    let r = TestRepo::builder()
        .file("model.bin", &model)
        .commit("v1")
        .build();
    r.git(&["mv", "model.bin.cairn", "weights.bin.cairn"]);
    r.cairn_ok(&["checkout"]);
    assert_eq!(r.read("weights.bin"), model);
    let untracked = r.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(
        !untracked.contains("weights.bin\n"),
        "git would commit the data:\n{untracked}"
    );
    r.cairn_ok(&["status", "--exit-code"]);
}

#[test]
fn a_sparse_checkout_without_cairn_dir_says_how_to_bring_it_in() {
    let a = TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .file("dir1/a.csv", b"a\n")
        .file("dir2/b.csv", b"b\n")
        .add(&["dir1/a.csv", "dir2/b.csv"])
        .commit("data")
        .push()
        .build();
    let s = clone_beside(&a, &a.root, "sparse");
    s.git(&["sparse-checkout", "set", "dir1"]);
    assert!(!s.exists(".cairn/config.toml"));
    let (_, err) = s.cairn_fail(&["pull"]);
    assert!(err.contains("git sparse-checkout add .cairn"), "{err}");
    assert!(!err.contains("run `cairn init`"), "{err}");
    assert!(!s.exists(".cairn/config.toml"), "nothing written");

    s.git(&["sparse-checkout", "add", ".cairn"]);
    s.cairn_ok(&["pull"]);
    assert_eq!(s.read("dir1/a.csv"), b"a\n");
    assert!(!s.exists("dir2"));
    s.cairn_ok(&["status", "--exit-code"]);
}

#[test]
fn a_clone_kept_elsewhere_is_told_how_to_name_a_relative_folder_remote() {
    let a = TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .file("a.csv", b"a\n")
        .commit("data")
        .push()
        .build();
    std::fs::create_dir_all(a.base().join("deeper")).unwrap();
    let c = clone_beside(&a, &a.root, "deeper/clone");
    let (_, err) = c.cairn_fail(&["pull"]);
    assert!(
        err.contains("cairn remote add origin PATH --local"),
        "{err}"
    );
    let store = a.base().join("store");
    c.cairn_ok(&[
        "remote",
        "add",
        "origin",
        store.to_str().unwrap(),
        "--local",
    ]);
    c.cairn_ok(&["pull"]);
    assert_eq!(c.read("a.csv"), b"a\n");
}

#[test]
fn git_pull_rebase_with_the_hooks_leaves_the_rebased_data_in_place() {
    let a = TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .file("a.csv", b"a1\n")
        .file("b.csv", b"b1\n")
        .commit("v1")
        .push()
        .build();
    let hub = a.base().join("hub.git");
    a.git(&["clone", "-q", "--bare", ".", hub.to_str().unwrap()]);
    let one = clone_beside(&a, &hub, "one");
    let two = clone_beside(&a, &hub, "two");
    for c in [&one, &two] {
        c.cairn_ok(&["pull"]);
        c.cairn_ok(&["install-hooks"]);
    }
    one.write("a.csv", b"a2\n");
    one.cairn_ok(&["add", "a.csv"]);
    one.commit_all("a2");
    one.git(&["push", "-q", "origin", "main"]);

    two.write("b.csv", b"b3\n");
    two.cairn_ok(&["add", "b.csv"]);
    two.commit_all("b3");
    two.git(&["pull", "-q", "--rebase", "origin", "main"]);
    assert_eq!(two.read("a.csv"), b"a2\n", "the other clone's change");
    assert_eq!(two.read("b.csv"), b"b3\n", "this clone's rebased change");
    // Every path matches its pointer and is cached; only this clone's own
    // change is not on the remote yet (the other clone's came from there).
    let v = two.cairn_json(&["status", "--json"]);
    let rows = common::status_rows(&v);
    assert!(
        rows.values()
            .all(|r| r["state"] == "clean" && r["stored"] == true),
        "{v}"
    );
    assert_eq!(v["not_pushed"], serde_json::json!(["b.csv"]), "{v}");
    two.cairn_ok(&["push"]);
    two.cairn_ok(&["status", "--exit-code"]);
}

#[test]
fn status_after_a_pull_that_found_no_data_says_a_push_is_needed() {
    let a = TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .file("a.csv", b"a1\n")
        .commit("v1")
        .push()
        .file("a.csv", b"a2\n")
        .commit("v2, committed but never cairn-pushed")
        .build();
    let c = clone_beside(&a, &a.root, "clone");
    c.cairn_fail(&["pull"]);
    let v = c.cairn_json(&["status", "--json"]);
    assert_eq!(v["not_on_remote"], serde_json::json!(["a.csv"]));
    let out = c.cairn(&["status"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("origin lacked the data of a.csv when last seen: `cairn push`"),
        "{err}"
    );
    assert!(!err.contains("`cairn pull` restores missing data"), "{err}");

    a.cairn_ok(&["push"]);
    c.cairn_ok(&["pull"]);
    let v = c.cairn_json(&["status", "--json"]);
    assert_eq!(v["not_on_remote"], serde_json::json!([]));
}
