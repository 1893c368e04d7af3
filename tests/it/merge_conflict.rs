//! A git merge that changes the same data on both sides leaves the pointer
//! with conflict markers. Every command then names the conflict and the
//! way out of it (pick a side, or add the work tree's data), `status`
//! lists it and carries on with the rest, and nothing is deleted meanwhile.

use crate::common;

use common::TestRepo;

/// A repository mid-merge: `main` and `feat` each changed data.csv, and
/// `git merge feat` stopped on its pointer. Also tracks other.bin, which
/// the merge leaves alone. Returns (repo, main's data, feat's data).
fn mid_merge() -> (TestRepo, Vec<u8>, Vec<u8>) {
    let repo = TestRepo::builder()
        .file("data.csv", "id,v\n1,a\n".repeat(20_000))
        .file("other.bin", common::data::random_bytes("other", 100_000))
        .commit("base")
        .build();
    repo.git(&["checkout", "-qb", "feat"]);
    let theirs = "id,v\n2,b\n".repeat(20_000).into_bytes();
    repo.write("data.csv", &theirs);
    repo.cairn_ok(&["add", "data.csv"]);
    repo.commit_all("feat");
    repo.git(&["checkout", "-q", "main"]);
    repo.cairn_ok(&["checkout"]);
    let ours = "id,v\n3,c\n".repeat(20_000).into_bytes();
    repo.write("data.csv", &ours);
    repo.cairn_ok(&["add", "data.csv"]);
    repo.commit_all("main");
    let out = repo.git_cmd(&["merge", "feat"]).output().unwrap();
    assert!(!out.status.success(), "the merge must stop on the pointer");
    let ptr = String::from_utf8(repo.read("data.csv.cairn")).unwrap();
    assert!(ptr.contains("<<<<<<<") && ptr.contains(">>>>>>>"), "{ptr}");
    (repo, ours, theirs)
}

#[test]
fn a_pointer_a_merge_left_conflicted_is_named_with_the_way_out() {
    let (repo, ours, theirs) = mid_merge();
    // Status names it and still reports the rest.
    let st = repo.cairn_json(&["status", "--json"]);
    assert_eq!(st["conflicted"], serde_json::json!(["data.csv"]), "{st}");
    assert_eq!(st["paths"][0]["path"], "other.bin", "{st}");
    assert_eq!(st["left_behind"], serde_json::json!([]), "{st}");
    let out = repo.cairn(&["status"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("conflicted: data.csv"), "{text}");
    assert!(text.contains("git checkout --ours"), "{text}");
    repo.cairn(&["status", "--exit-code"]).assert().code(3);
    // Checkout stops, says why and how out, and writes nothing.
    let (_, err) = repo.cairn_fail(&["checkout"]);
    assert!(err.contains("holds git merge conflict markers"), "{err}");
    assert!(
        err.contains("hint: keep one side with `git checkout --ours -- "),
        "{err}"
    );
    assert!(
        !err.contains("git checkout -- "),
        "git refuses that on an unmerged path: {err}"
    );
    let json = repo.cairn(&["checkout", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "pointer_conflict", "{v}");
    assert!(repo.read("data.csv") == ours);
    // Following the hint: their side, restored and clean.
    repo.git(&["checkout", "--theirs", "--", "data.csv.cairn"]);
    repo.cairn_ok(&["checkout", "data.csv"]);
    assert!(repo.read("data.csv") == theirs);
    repo.git(&["add", "data.csv.cairn"]);
    repo.git(&["commit", "-qm", "merge: theirs"]);
    let st = repo.cairn_json(&["status", "--json"]);
    assert_eq!(st["conflicted"], serde_json::json!([]), "{st}");
    assert!(
        st["paths"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"] == "clean"),
        "{st}"
    );
}

#[test]
fn add_resolves_a_pointer_conflict_with_the_work_trees_data() {
    let (repo, ours, _) = mid_merge();
    repo.cairn_ok(&["add", "data.csv"]);
    repo.git(&["add", "data.csv.cairn"]);
    repo.git(&["commit", "-qm", "merge: ours"]);
    repo.remove("data.csv");
    repo.cairn_ok(&["checkout"]);
    assert!(repo.read("data.csv") == ours);
}

#[test]
fn gc_with_a_conflicted_pointer_stops_and_deletes_nothing() {
    let (repo, _, theirs) = mid_merge();
    let before = repo.packs();
    let (_, err) = repo.cairn_fail(&["gc"]);
    assert!(err.contains("holds git merge conflict markers"), "{err}");
    assert_eq!(repo.packs(), before);
    // Both sides' data is still there to choose from.
    repo.git(&["checkout", "--theirs", "--", "data.csv.cairn"]);
    repo.cairn_ok(&["checkout", "data.csv"]);
    assert!(repo.read("data.csv") == theirs);
}

/// Two branches that each start tracking a new top-level path both append
/// a line to the root `.gitignore`. `init`'s `.gitignore merge=union` rule
/// makes git keep both lines instead of stopping the merge.
#[test]
fn branches_that_each_track_a_new_path_merge_without_a_gitignore_conflict() {
    let repo = TestRepo::builder()
        .file("base.csv", "id\n1\n".repeat(1000))
        .commit("base")
        .build();
    assert_eq!(
        String::from_utf8(repo.read(".gitattributes")).unwrap(),
        ".gitignore merge=union\n"
    );
    repo.git(&["checkout", "-qb", "feat"]);
    repo.write("theirs.bin", common::data::random_bytes("theirs", 50_000));
    repo.cairn_ok(&["add", "theirs.bin"]);
    repo.commit_all("feat");
    repo.git(&["checkout", "-q", "main"]);
    repo.cairn_ok(&["checkout"]);
    repo.write("ours.bin", common::data::random_bytes("ours", 50_000));
    repo.cairn_ok(&["add", "ours.bin"]);
    repo.commit_all("main");
    let out = repo.git_cmd(&["merge", "-q", "feat"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let ignore = String::from_utf8(repo.read(".gitignore")).unwrap();
    for line in ["/base.csv", "/ours.bin", "/theirs.bin"] {
        assert!(ignore.lines().any(|l| l == line), "{line} in {ignore}");
    }
    repo.cairn_ok(&["checkout"]);
    let status = repo.cairn_json(&["status", "--json"]);
    assert_eq!(status["paths"].as_array().unwrap().len(), 3, "{status}");
    assert!(repo.git(&["status", "--porcelain"]).is_empty());
}

/// A repository that already says how `.gitignore` files merge keeps its
/// own rule; running `init` again in an older repository adds the line.
#[test]
fn init_keeps_a_users_gitignore_merge_rule_and_adds_the_line_to_older_repos() {
    let repo = TestRepo::new();
    repo.write(".gitattributes", "*.png binary\n.gitignore merge=ours\n");
    let r = repo.cairn_json(&["init", "--json"]);
    assert_eq!(r["gitattributes_written"], false, "{r}");
    assert_eq!(
        String::from_utf8(repo.read(".gitattributes")).unwrap(),
        "*.png binary\n.gitignore merge=ours\n"
    );
    let old = TestRepo::init();
    std::fs::remove_file(old.path(".gitattributes")).unwrap();
    // doctor names the missing rule and the command that adds it.
    let out = old.cairn(&["doctor", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["gitignore_merge_rule"], false, "{d}");
    assert!(
        d["problems"][0].as_str().unwrap().contains("cairn init"),
        "{d}"
    );
    let r = old.cairn_json(&["init", "--json"]);
    assert_eq!(
        (&r["created"], &r["gitattributes_written"]),
        (&false.into(), &true.into()),
        "{r}"
    );
    assert!(old.exists(".gitattributes"));
    let d = old.cairn_json(&["doctor", "--json"]);
    assert_eq!(d["gitignore_merge_rule"], true, "{d}");
}
