//! Data left behind by a pointer git removed without cairn's hooks: a
//! checkout of every path removes it when nothing is lost (so the work tree
//! matches the revision, as git's own `status` shows), and keeps and names
//! it when it holds changes or the cache lacks it. Files git tracks itself,
//! paths `cairn rm` untracked, and checkouts of some paths leave it alone.

use crate::common;

use common::TestRepo;

/// v1: a.bin. v2 adds b.bin and the directory d/ (two files). Pushed to a
/// folder remote, so a clone can pull v2. b.bin is over the 256 KiB up to
/// which `pull --no-cache` still caches a file's data.
fn two_versions() -> TestRepo {
    TestRepo::builder()
        .folder_remote("origin", "store")
        .file("a.bin", common::data::random_bytes("left a", 300_000))
        .commit("v1")
        .tag("v1")
        .file("b.bin", common::data::random_bytes("left b", 400_000))
        .file("d/x.csv", "x,y\n1,2\n".repeat(5000))
        .file("d/sub/y.csv", "p,q\n3,4\n".repeat(5000))
        .commit("v2")
        .push()
        .build()
}

/// A clone at v2 with its data pulled, then `git checkout v1` (no hooks).
fn clone_moved_to_v1(repo: &TestRepo) -> TestRepo {
    let clone = repo.pulled_clone();
    assert!(clone.exists("b.bin") && clone.exists("d/sub/y.csv"));
    clone.git(&["checkout", "-q", "v1"]);
    assert!(!clone.exists("b.bin.cairn"), "git removed the pointer");
    clone
}

fn fates(report: &serde_json::Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = report["left_behind"]
        .as_array()
        .expect("left_behind is a list")
        .iter()
        .map(|l| {
            (
                l["path"].as_str().unwrap().to_string(),
                l["fate"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn checkout_after_git_checkout_without_hooks_removes_data_whose_pointer_git_removed() {
    let repo = two_versions();
    let a = repo.read("a.bin");
    let clone = clone_moved_to_v1(&repo);
    assert!(
        clone.git(&["status", "--porcelain"]).contains("b.bin"),
        "before: git sees the stray data"
    );
    // Status names it, and says what a checkout does.
    let st = clone.cairn(&["status"]).output().unwrap();
    let text = String::from_utf8_lossy(&st.stdout) + String::from_utf8_lossy(&st.stderr);
    assert!(text.contains("left behind: b.bin\n"), "{text}");
    assert!(text.contains("left behind: d/x.csv\n"), "{text}");
    assert!(text.contains("`cairn checkout` removes"), "{text}");
    let st = clone.cairn_json(&["status", "--json"]);
    assert_eq!(fates(&st).len(), 3, "{st}");
    clone.cairn(&["status", "--exit-code"]).assert().code(3);
    let out = clone.cairn_json(&["checkout", "--json"]);
    assert_eq!(
        fates(&out),
        [
            ("b.bin".to_string(), "removable".to_string()),
            ("d/sub/y.csv".to_string(), "removable".to_string()),
            ("d/x.csv".to_string(), "removable".to_string()),
        ]
    );
    assert_eq!(out["files_removed"], 3, "{out}");
    assert!(!clone.exists("b.bin") && !clone.exists("d"), "{out}");
    assert!(clone.read("a.bin") == a);
    // The work tree is v1's: git sees nothing untracked, cairn nothing to do.
    assert_eq!(clone.git(&["status", "--porcelain"]), "");
    assert_eq!(fates(&clone.cairn_json(&["status", "--json"])), []);
    clone.cairn(&["status", "--exit-code"]).assert().code(0);
    let again = clone.cairn_json(&["checkout", "--json"]);
    assert_eq!(fates(&again), [], "{again}");
    assert_eq!(again["files_removed"], 0, "{again}");
    clone.cairn_ok(&["verify"]);
    // Nothing was lost: back at v2 everything returns from the cache.
    clone.git(&["checkout", "-q", "main"]);
    clone.cairn_ok(&["checkout"]);
    assert!(clone.read("b.bin") == repo.read("b.bin"));
    assert!(clone.read("d/sub/y.csv") == repo.read("d/sub/y.csv"));
}

#[test]
fn pull_after_git_checkout_without_hooks_removes_data_whose_pointer_git_removed() {
    let repo = two_versions();
    let clone = clone_moved_to_v1(&repo);
    let (_, err) = {
        let out = clone.cairn(&["pull"]).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(
        err.contains("removed 3 file(s) whose pointers git removed"),
        "{err}"
    );
    assert!(!clone.exists("b.bin") && !clone.exists("d"));
    assert_eq!(clone.git(&["status", "--porcelain"]), "");
}

#[test]
fn data_left_behind_with_an_edit_is_kept_and_named() {
    let repo = two_versions();
    let clone = clone_moved_to_v1(&repo);
    clone.write("b.bin", b"an edit nobody added");
    let out = clone.cairn(&["checkout"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("left b.bin as it is: git removed its pointer, but it holds changes cairn has not recorded"),
        "{err}"
    );
    assert!(err.contains("hint: `cairn add <path>`"), "{err}");
    assert_eq!(clone.read("b.bin"), b"an edit nobody added");
    // The unchanged directory went; the edit is still named next time.
    assert!(!clone.exists("d"));
    let again = clone.cairn_json(&["checkout", "--json"]);
    assert_eq!(
        fates(&again),
        [("b.bin".to_string(), "changed".to_string())]
    );
    let st = clone.cairn_ok(&["status"]);
    assert!(
        st.contains("left behind: b.bin (holds changes cairn has not recorded)"),
        "{st}"
    );
    // `--force` discards changes to tracked data only; this file is not.
    clone.cairn_ok(&["checkout", "--force"]);
    assert_eq!(clone.read("b.bin"), b"an edit nobody added");
}

#[test]
fn data_left_behind_that_the_cache_lacks_is_kept() {
    let repo = two_versions();
    let clone = TestRepo::clone_of(&repo);
    clone.cairn_ok(&["pull", "--no-cache"]);
    clone.git(&["checkout", "-q", "v1"]);
    let out = clone.cairn_json(&["pull", "--no-cache", "--json"]);
    // b.bin's data never entered the cache: kept. d/'s small files did.
    assert_eq!(
        fates(&out["checkout"]),
        [
            ("b.bin".to_string(), "not-stored".to_string()),
            ("d/sub/y.csv".to_string(), "removable".to_string()),
            ("d/x.csv".to_string(), "removable".to_string()),
        ],
        "{out}"
    );
    assert!(clone.exists("b.bin") && !clone.exists("d"));
}

#[test]
fn a_file_git_tracks_itself_is_never_data_left_behind() {
    let repo = two_versions();
    // Move b.bin from cairn to git by hand: its pointer goes, git adds it.
    repo.remove("b.bin.cairn");
    repo.git(&["add", "-f", "b.bin"]);
    repo.commit_all("b.bin in git");
    let out = repo.cairn_json(&["checkout", "--json"]);
    assert_eq!(fates(&out), [], "{out}");
    assert!(repo.read("b.bin") == TestRepo::clone_of(&repo).read("b.bin"));
}

#[test]
fn cairn_rm_keeps_data_that_a_later_checkout_leaves_alone() {
    let repo = two_versions();
    repo.cairn_ok(&["rm", "b.bin"]);
    repo.commit_all("stop tracking b.bin");
    assert!(repo.exists("b.bin"));
    let out = repo.cairn_json(&["checkout", "--json"]);
    assert_eq!(fates(&out), [], "{out}");
    assert!(repo.exists("b.bin"));
}

#[test]
fn a_checkout_of_some_paths_leaves_data_left_behind_alone() {
    let repo = two_versions();
    let clone = clone_moved_to_v1(&repo);
    let out = clone.cairn_json(&["checkout", "a.bin", "--json"]);
    assert_eq!(fates(&out), [], "{out}");
    assert!(clone.exists("b.bin"));
}

/// A crash at every durable step of the checkout that removes data left
/// behind, then the re-run: the data is gone, nothing else is, and
/// `verify` passes.
#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature (scripts/test)"
)]
fn checkout_removing_data_left_behind_crashed_at_any_step_reruns_to_the_revision() {
    let repo = two_versions();
    let probe = clone_moved_to_v1(&repo);
    let points = common::crash::points(&probe, &["checkout"]);
    common::crash::assert_reached(
        &points,
        &["checkout.left_behind_removed", "checkout.index_saved"],
    );
    let mut crashed = 0;
    for point in &points {
        let clone = clone_moved_to_v1(&repo);
        crashed += usize::from(common::crash::crash_at(&clone, &["checkout"], point));
        clone.cairn_ok(&["verify"]);
        clone.cairn_ok(&["checkout"]);
        assert!(!clone.exists("b.bin") && !clone.exists("d"), "{point}");
        assert!(clone.read("a.bin") == repo.read("a.bin"), "{point}");
        assert_eq!(clone.git(&["status", "--porcelain"]), "", "{point}");
        clone.cairn_ok(&["verify"]);
    }
    assert!(crashed >= 2, "only {crashed} crashed runs: {points:?}");
}

/// With the hooks, git's checkout names an edited file whose pointer it
/// removed once (kept, as the hook keeps any edit), and a later plain
/// checkout still names it as left behind.
#[test]
fn an_edit_a_hook_kept_is_named_once_and_then_as_left_behind() {
    let repo = two_versions();
    let clone = repo.pulled_clone();
    clone.cairn_ok(&["install-hooks"]);
    clone.write("b.bin", b"an edit nobody added");
    let out = clone.git_cmd(&["checkout", "-q", "v1"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("left b.bin as it is").count(), 1, "{err}");
    assert_eq!(clone.read("b.bin"), b"an edit nobody added");
    assert!(
        !clone.exists("d"),
        "the hook removed the unchanged directory"
    );
    let again = clone.cairn_json(&["checkout", "--json"]);
    assert_eq!(
        fates(&again),
        [("b.bin".to_string(), "changed".to_string())]
    );
}
