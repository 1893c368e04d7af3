//! Inspection: `ls -R` into tracked directories, `log` of a file inside
//! one, `diff` with edits not yet added, `du`, and their bad-input cases
//! (one error line, a hint, the exit code, nothing changed on disk).

use crate::common;

use std::collections::BTreeMap;

use common::{assert_error_report, data::du as disk_usage, random_bytes, TestRepo};
use serde_json::Value;

/// main: v1 then v2 of `data/` (a.txt edited, b.csv removed, d.txt added,
/// sub/c.bin unchanged) and `model.bin`, with a folder remote `origin` at
/// `../store` that has both versions.
fn two_versions() -> TestRepo {
    TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .file("data/a.txt", "version one\n")
        .file("data/b.csv", "x,y\n1,2\n")
        .file("data/sub/c.bin", random_bytes("c", 300_000))
        .file("model.bin", random_bytes("model", 200_000))
        .commit("v1")
        .tag("v1")
        .push_rev("v1")
        .remove("data/b.csv")
        .file("data/a.txt", "version two, longer\n")
        .file("data/d.txt", "new in v2\n")
        .commit("v2")
        .tag("v2")
        .push()
        .build()
}

/// `ls --json` rows by path: (kind, size).
fn rows(v: &Value) -> BTreeMap<String, (String, u64)> {
    v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                (
                    r["kind"].as_str().unwrap().to_string(),
                    r["size"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

/// What a failing command must leave alone: the work tree, git's view of
/// it and the files of the cache (an empty cache skeleton and its lock
/// file, made by opening it, hold nothing).
fn snapshot(repo: &TestRepo) -> (String, Vec<String>) {
    let mut files: Vec<String> = walkdir::WalkDir::new(repo.path(""))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.file_name() != "lock")
        .filter(|e| !e.path().components().any(|c| c.as_os_str() == ".git"))
        .map(|e| {
            let len = e.metadata().map(|m| m.len()).unwrap_or(0);
            format!("{} {len}", e.path().display())
        })
        .collect();
    files.sort();
    (repo.git(&["status", "--porcelain"]), files)
}

#[test]
fn ls_recursive_lists_the_files_inside_tracked_directories() {
    let repo = two_versions();
    let v1 = rows(&repo.cairn_json(&["ls", "-R", "--json", "v1"]));
    let want: BTreeMap<String, (String, u64)> = [
        ("data", "dir", 300_020),
        ("data/a.txt", "file", 12),
        ("data/b.csv", "file", 8),
        ("data/sub/c.bin", "file", 300_000),
        ("model.bin", "file", 200_000),
    ]
    .into_iter()
    .map(|(p, k, s)| (p.to_string(), (k.to_string(), s)))
    .collect();
    assert_eq!(v1, want);
    // Without -R: the tracked paths only, as before.
    let flat = rows(&repo.cairn_json(&["ls", "--json", "v1"]));
    assert_eq!(flat.keys().collect::<Vec<_>>(), ["data", "model.bin"]);
    // A path below a tracked directory lists only what is under it.
    let sub = rows(&repo.cairn_json(&["ls", "--json", "v2", "data/sub"]));
    assert_eq!(sub.keys().collect::<Vec<_>>(), ["data/sub/c.bin"]);
    let one = rows(&repo.cairn_json(&["ls", "--json", "data/d.txt"]));
    assert_eq!(one.keys().collect::<Vec<_>>(), ["data/d.txt"]);
    // Human output: a header, human sizes.
    let out = repo.cairn_ok(&["ls", "-R", "v2", "data"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("kind") && lines[0].ends_with("path"),
        "{out}"
    );
    assert!(out.contains("300.0 kB") && out.contains("20 B"), "{out}");
    assert!(!out.contains("300000"), "sizes are human:\n{out}");
}

#[test]
fn ls_recursive_fetches_only_the_listing_a_clone_lacks() {
    let repo = two_versions();
    let clone = repo.clone_beside("fresh");
    let listed = rows(&clone.cairn_json(&["ls", "-R", "--json", "v1", "data"]));
    assert_eq!(listed["data/sub/c.bin"], ("file".to_string(), 300_000));
    // Metadata only: far less than the 300 kB of data the listing names.
    let cached = disk_usage(&clone.path(".git/cairn/cache"));
    assert!(cached < 20_000, "ls fetched {cached} bytes");
    assert!(!clone.exists("data/a.txt"), "ls never writes the work tree");
}

#[test]
fn ls_recursive_without_the_listing_anywhere_fails_and_says_to_fetch() {
    let repo = two_versions();
    // A clone in a directory of its own: `../store` names nothing there.
    let clone = TestRepo::clone_of(&repo);
    let before = snapshot(&clone);
    let out = clone.cairn(&["ls", "-R", "v2"]).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_error_report(&stderr, &["listing of data", "cairn fetch"]);
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error")).count(), 1);
    assert!(out.get_output().stdout.is_empty());
    assert_eq!(snapshot(&clone), before, "nothing changes on disk");
    // Without -R nothing needs a listing.
    assert_eq!(rows(&clone.cairn_json(&["ls", "--json", "v2"])).len(), 2);
}

#[test]
fn log_follows_a_file_inside_a_tracked_directory() {
    let repo = two_versions();
    let changes = |path: &str| -> Vec<(String, String, Option<u64>)> {
        repo.cairn_json(&["log", "--json", path])["commits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["summary"].as_str().unwrap().to_string(),
                    c["change"].as_str().unwrap().to_string(),
                    c["size"].as_u64(),
                )
            })
            .collect()
    };
    let s = |x: &str| x.to_string();
    assert_eq!(
        changes("data/a.txt"),
        [
            (s("v2"), s("modified"), Some(20)),
            (s("v1"), s("added"), Some(12))
        ]
    );
    assert_eq!(
        changes("data/b.csv"),
        [
            (s("v2"), s("removed"), None),
            (s("v1"), s("added"), Some(8))
        ]
    );
    assert_eq!(changes("data/d.txt"), [(s("v2"), s("added"), Some(10))]);
    // Unchanged in v2: only the commit that added it.
    assert_eq!(
        changes("data/sub/c.bin"),
        [(s("v1"), s("added"), Some(300_000))]
    );
    // A directory inside a tracked one: the commits where a file below it
    // changed (none in v2 for sub/, whose only file is unchanged).
    assert_eq!(changes("data/sub"), [(s("v1"), s("added"), Some(300_000))]);
    repo.write("data/sub/more.txt", "more\n");
    repo.cairn_ok(&["add", "data"]);
    repo.commit_all("v3");
    assert_eq!(
        changes("data/sub"),
        [
            (s("v3"), s("modified"), Some(300_005)),
            (s("v1"), s("added"), Some(300_000))
        ]
    );
    // -n counts the file's commits, not the directory's.
    let n1 = repo.cairn_json(&["log", "--json", "-n", "1", "data/a.txt"]);
    assert_eq!(n1["commits"].as_array().unwrap().len(), 1);
    let text = repo.cairn_ok(&["log", "data/a.txt"]);
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[test]
fn log_of_a_file_in_a_clone_fetches_listings_or_names_the_commits_it_could_not_read() {
    let repo = two_versions();
    let beside = repo.clone_beside("fresh");
    let v = beside.cairn_json(&["log", "--json", "data/a.txt"]);
    assert_eq!(v["commits"].as_array().unwrap().len(), 2);
    assert!(v.get("unread").is_none(), "{v}");
    // No remote reachable: the commits whose listing is missing are named.
    let alone = TestRepo::clone_of(&repo);
    let out = alone
        .cairn(&["log", "--json", "data/a.txt"])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["unread"].as_array().unwrap().len(), 2, "{v}");
    let out = alone.cairn(&["log", "data/a.txt"]).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("could not be read"), "{stderr}");
}

#[test]
fn log_of_a_path_never_tracked_fails_with_a_hint() {
    let repo = two_versions();
    let before = snapshot(&repo);
    for path in ["nosuch", "data/nosuch.txt", "data/sub/none"] {
        let out = repo.cairn(&["log", path]).assert().code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert_error_report(
            &stderr,
            &[path, "not tracked by cairn at any commit", "cairn ls -R"],
        );
        assert_eq!(
            stderr.lines().count(),
            2,
            "one error line and a hint:\n{stderr}"
        );
        assert!(out.get_output().stdout.is_empty());
    }
    assert_eq!(snapshot(&repo), before, "nothing changes on disk");
    // Added but not committed yet is no error: there is just no history.
    repo.write("fresh.bin", "fresh\n");
    repo.cairn_ok(&["add", "fresh.bin"]);
    let v = repo.cairn_json(&["log", "--json", "fresh.bin"]);
    assert_eq!(v["commits"].as_array().unwrap().len(), 0);
}

/// `diff --json` rows by path.
fn diff_rows(v: &Value) -> BTreeMap<String, Value> {
    v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["path"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

#[test]
fn diff_without_b_includes_edits_not_yet_added_as_status_does() {
    let repo = two_versions();
    assert!(diff_rows(&repo.cairn_json(&["diff", "--json"])).is_empty());
    repo.write("data/a.txt", "edited, not added\n");
    repo.write("data/e.txt", "a new file\n");
    repo.write("model.bin", random_bytes("model-edit", 1_000));
    let status = repo.cairn_json(&["status", "--json"]);
    let modified: Vec<&str> = status["paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["state"] == "modified")
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    let d = diff_rows(&repo.cairn_json(&["diff", "--json"]));
    assert_eq!(d.keys().map(String::as_str).collect::<Vec<_>>(), modified);
    let data = &d["data"];
    assert_eq!(data["unadded"], true);
    assert_eq!(data["new_size"], 300_000 + 18 + 10 + 11);
    let files: Vec<(&str, &str)> = data["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["change"].as_str().unwrap()))
        .collect();
    assert_eq!(files, [("data/a.txt", "modified"), ("data/e.txt", "added")]);
    // The files not in the cache count whole as new data.
    assert_eq!(data["new_bytes"], 18 + 11);
    assert_eq!(d["model.bin"]["new_bytes"], 1_000);
    // Against a revision too, as `git diff REV` compares with the work tree.
    let against_v1 = diff_rows(&repo.cairn_json(&["diff", "--json", "v1"]));
    assert_eq!(against_v1["data"]["unadded"], true);
    // Between two commits the work tree plays no part.
    let commits = diff_rows(&repo.cairn_json(&["diff", "--json", "v1", "v2"]));
    assert_eq!(commits["data"]["unadded"], false);
    assert_eq!(commits["data"]["new_size"], 300_000 + 20 + 10);
    let text = repo.cairn_ok(&["diff"]);
    assert!(text.contains("of new data, not added"), "{text}");
    // Once added, the same change is no longer marked.
    repo.cairn_ok(&["add", "data"]);
    let added = diff_rows(&repo.cairn_json(&["diff", "--json"]));
    assert_eq!(added["data"]["unadded"], false);
    assert_eq!(added["data"]["new_size"], 300_000 + 18 + 10 + 11);
}

#[test]
fn diff_with_an_unknown_revision_is_one_error_line() {
    let repo = two_versions();
    let before = snapshot(&repo);
    for args in [&["diff", "nosuch"][..], &["diff", "v1", "nosuch"]] {
        let out = repo.cairn(args).assert().code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert_error_report(&stderr, &["unknown revision 'nosuch'"]);
        assert!(!stderr.contains("Caused by"), "{stderr}");
        assert_eq!(stderr.lines().count(), 2, "{stderr}");
    }
    assert_eq!(snapshot(&repo), before, "nothing changes on disk");
}

/// `du --json` rows by path.
fn du_rows(v: &Value) -> BTreeMap<String, Value> {
    diff_rows(v)
}

#[test]
fn du_counts_logical_unique_cached_and_remote_bytes() {
    let repo = TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .file("a.bin", random_bytes("shared", 400_000))
        .file("b.bin", random_bytes("shared", 400_000))
        .file("data/own.bin", random_bytes("own", 100_000))
        .file("data/small.txt", "small\n")
        .commit("v1")
        .build();
    let v = repo.cairn_json(&["du", "--json"]);
    let r = du_rows(&v);
    assert_eq!(r["a.bin"]["logical_bytes"], 400_000);
    // a.bin and b.bin hold the same bytes: neither owns them.
    assert_eq!(r["a.bin"]["unique_bytes"], 0);
    assert_eq!(r["b.bin"]["unique_bytes"], 0);
    assert_eq!(r["data"]["unique_bytes"], 100_006);
    assert_eq!(r["data"]["files"], 2);
    let stored = |p: &str| r[p]["stored_bytes"].as_u64().unwrap();
    assert!(stored("a.bin") >= 400_000 && stored("a.bin") == stored("b.bin"));
    // The total counts shared objects once.
    let total = &v["total"];
    assert_eq!(total["logical_bytes"], 900_006);
    assert_eq!(total["stored_bytes"], stored("a.bin") + stored("data"));
    assert_eq!(total["remote_bytes"], Value::Null);
    assert_eq!(v["complete"], true);
    // Before a push the (empty) remote has none of it; after, all of it.
    std::fs::create_dir_all(repo.remote_dir("origin")).unwrap();
    let before = repo.cairn_json(&["du", "--json", "-r", "origin"]);
    assert_eq!(before["total"]["remote_bytes"], 0);
    assert_eq!(before["remote"], "origin");
    repo.cairn_ok(&["push"]);
    let after = repo.cairn_json(&["du", "--json", "-r", "origin"]);
    let on_remote = after["total"]["remote_bytes"].as_u64().unwrap();
    assert!(on_remote >= 500_000, "{after}");
    assert_eq!(
        du_rows(&after)["a.bin"]["remote_bytes"],
        du_rows(&after)["b.bin"]["remote_bytes"]
    );
    // Paths limit the rows, not what counts as shared.
    let only = repo.cairn_json(&["du", "--json", "a.bin"]);
    assert_eq!(du_rows(&only).len(), 1);
    assert_eq!(du_rows(&only)["a.bin"]["unique_bytes"], 0);
    // At a revision, and in human form with a header and a total row.
    repo.write("a.bin", "now small\n");
    repo.cairn_ok(&["add", "a.bin"]);
    let head = du_rows(&repo.cairn_json(&["du", "--json", "HEAD"]));
    assert_eq!(head["a.bin"]["logical_bytes"], 400_000);
    let text = repo.cairn_ok(&["du", "-r", "origin"]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains("logical") && lines[0].contains("remote"),
        "{text}"
    );
    assert!(lines.last().unwrap().ends_with("total"), "{text}");
    assert!(text.contains("400.0 kB"), "{text}");
}

#[test]
fn du_bad_input_is_one_error_with_a_hint() {
    let repo = two_versions();
    let before = snapshot(&repo);
    for (args, mention) in [
        (&["du", "nope"][..], "neither a git revision"),
        (&["du", "-r", "nosuch"], "nosuch"),
    ] {
        let out = repo.cairn(args).assert().code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert_error_report(&stderr, &[mention]);
        assert!(out.get_output().stdout.is_empty());
    }
    assert_eq!(snapshot(&repo), before, "nothing changes on disk");
    let out = repo.cairn(&["du", "--bogus"]).assert().code(2);
    assert!(out.get_output().stdout.is_empty());
}

#[test]
fn du_says_when_the_cache_lacks_metadata() {
    let repo = two_versions();
    let clone = TestRepo::clone_of(&repo);
    let out = clone.cairn(&["du", "--json"]).assert().success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["complete"], false);
    assert_eq!(du_rows(&v)["data"]["logical_bytes"], 300_030);
    assert_eq!(du_rows(&v)["data"]["stored_bytes"], 0);
    let text = clone.cairn(&["du"]).assert().success();
    let stderr = String::from_utf8_lossy(&text.get_output().stderr).to_string();
    assert!(stderr.contains("cairn fetch"), "{stderr}");
}

#[test]
fn diff_ignores_what_cairnignore_excludes_as_status_does() {
    let repo = TestRepo::init();
    repo.write("ds/.cairnignore", "__pycache__/\n");
    repo.write("ds/a.csv", "x\n");
    repo.cairn_ok(&["add", "ds"]);
    repo.commit_all("ds");
    repo.write("ds/__pycache__/m.pyc", "bytecode");
    assert!(diff_rows(&repo.cairn_json(&["diff", "--json"])).is_empty());
    repo.write("ds/b.csv", "y\n");
    let d = diff_rows(&repo.cairn_json(&["diff", "--json"]));
    let files: Vec<&str> = d["ds"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["ds/b.csv"]);
    assert_eq!(d["ds"]["new_bytes"], 2);
}
