//! The lifecycle verbs and `.cairnignore`: `rm` stops tracking (and leaves
//! exactly what git should then see), `mv` keeps `status` clean and shows
//! git a rename, a kill at any step of either is finished by a re-run, and
//! files `.cairnignore` excludes inside a tracked directory are neither
//! stored, nor reported, nor removed. Bad inputs change nothing on disk.

use crate::common;

use std::collections::BTreeMap;

use common::{assert_error_report, random_bytes, status_rows, TestRepo};

/// `data/` (two files) and `model.bin`, added and committed, with a user's
/// own line in the root `.gitignore`.
fn committed() -> TestRepo {
    let repo = TestRepo::init();
    repo.write(".gitignore", "*.log\n");
    repo.write("data/a.csv", "a,b\n1,2\n");
    repo.write("data/sub/b.bin", random_bytes("b", 20_000));
    repo.write("model.bin", random_bytes("model", 50_000));
    repo.backdate("data");
    repo.backdate("model.bin");
    repo.cairn_ok(&["add", "data", "model.bin"]);
    repo.commit_all("data and model");
    repo
}

/// `git status --porcelain` as sorted lines.
fn porcelain(repo: &TestRepo) -> Vec<String> {
    let mut v: Vec<String> = repo
        .git(&["status", "--porcelain"])
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// Stage what a `next: git add -A -- PATHS && git commit` hint names, and
/// commit it.
fn follow_hint(repo: &TestRepo, stderr: &str) {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("next: git add -A -- "))
        .unwrap_or_else(|| panic!("no `next:` hint in {stderr:?}"));
    let paths = line
        .strip_suffix(" && git commit")
        .expect("hint ends in commit");
    let mut args = vec!["add", "-A", "--"];
    args.extend(paths.split(' '));
    repo.git(&args);
    repo.git(&["commit", "-q", "-m", "lifecycle"]);
}

fn stderr_of(repo: &TestRepo, args: &[&str]) -> String {
    let out = repo.cairn(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stderr).unwrap()
}

fn all_clean(repo: &TestRepo) -> BTreeMap<String, serde_json::Value> {
    let rows = status_rows(&repo.cairn_json(&["status", "--json"]));
    for row in rows.values() {
        assert_eq!(row["state"], "clean", "{row}");
    }
    rows
}

#[test]
fn rm_keeps_the_data_and_git_then_sees_it_untracked() {
    let repo = committed();
    let before = repo.read("data/sub/b.bin");
    let err = stderr_of(&repo, &["rm", "data.cairn"]);
    assert!(err.contains("stopped tracking data"), "{err}");
    assert!(!repo.exists("data.cairn"));
    assert_eq!(repo.read("data/sub/b.bin"), before, "the data stays");
    // Exactly cairn's line is gone; the user's and model's stay.
    assert_eq!(repo.read_string(".gitignore"), "*.log\n/model.bin\n");
    // What a user should see: the pointer deleted, .gitignore edited, and
    // the data, no longer ignored, as untracked files.
    assert_eq!(
        porcelain(&repo),
        [" D data.cairn", " M .gitignore", "?? data/"]
    );
    follow_hint(&repo, &err);
    assert_eq!(porcelain(&repo), ["?? data/"]);
    let rows = all_clean(&repo);
    assert_eq!(rows.keys().collect::<Vec<_>>(), ["model.bin"]);
}

#[test]
fn rm_drops_a_gitignore_left_empty_and_keeps_a_file_mode() {
    let repo = committed();
    repo.write("deep/x.bin", random_bytes("x", 1000));
    repo.cairn_ok(&["add", "deep/x.bin"]);
    assert_eq!(repo.read_string("deep/.gitignore"), "/x.bin\n");
    repo.chmod(".gitignore", 0o640);
    let v = repo.cairn_json(&["rm", "--json", "deep/x.bin", "model.bin"]);
    assert_eq!(v["paths"][0]["path"], "deep/x.bin");
    assert_eq!(v["paths"][0]["kind"], "file");
    assert_eq!(v["paths"][0]["data"], "kept");
    // deep/ was never committed: only what exists or git knows is staged.
    assert_eq!(
        v["to_commit"],
        serde_json::json!(["model.bin.cairn", ".gitignore"])
    );
    assert!(!repo.exists("deep/.gitignore"), "it held only cairn's line");
    assert_eq!(repo.read_string(".gitignore"), "*.log\n/data\n");
    assert_eq!(repo.mode(".gitignore") & 0o777, 0o640);
}

#[test]
fn rm_delete_data_deletes_only_what_the_cache_can_bring_back() {
    let repo = committed();
    repo.write("data/.cairnignore", "__pycache__/\n");
    repo.write("data/__pycache__/m.pyc", "junk");
    repo.write("model.bin", "an edit never added");
    let snap = repo.snapshot();
    let (stdout, stderr) = repo.cairn_fail(&["rm", "--delete-data", "data", "model.bin"]);
    assert_eq!(stdout, "");
    assert_error_report(&stderr, &["model.bin", "--force"]);
    assert_eq!(repo.snapshot(), snap, "nothing changed");

    // data holds a new .cairnignore: an unrecorded change too.
    repo.cairn_ok(&["add", "data"]);
    let v = repo.cairn_json(&["rm", "--json", "--delete-data", "data"]);
    assert_eq!(v["paths"][0]["data"], "deleted");
    assert!(!repo.exists("data/a.csv") && !repo.exists("data/sub"));
    assert_eq!(
        repo.read_string("data/__pycache__/m.pyc"),
        "junk",
        "ignored files are not data: they stay"
    );
    repo.cairn_ok(&["rm", "--delete-data", "--force", "model.bin"]);
    assert!(!repo.exists("model.bin") && !repo.exists("model.bin.cairn"));
    assert_eq!(repo.read_string(".gitignore"), "*.log\n");
}

#[test]
fn rm_bad_inputs_change_nothing() {
    let repo = committed();
    let snap = repo.snapshot();
    for args in [
        &["rm", "nothing"][..],
        &["rm", "data/a.csv"],
        &["rm", "model.bin", "nothing"],
        &["rm", "../outside"],
    ] {
        let (stdout, stderr) = repo.cairn_fail(args);
        assert_eq!(stdout, "", "{args:?}");
        assert_error_report(&stderr, &[]);
        assert_eq!(
            stderr.lines().filter(|l| l.starts_with("error:")).count(),
            1
        );
        assert_eq!(repo.snapshot(), snap, "{args:?} changed the tree");
    }
    let out = repo
        .cairn(&["rm", "--force", "model.bin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--force needs --delete-data");
    assert_eq!(repo.snapshot(), snap);
}

#[test]
fn mv_keeps_status_clean_and_git_sees_a_rename() {
    let repo = committed();
    std::fs::create_dir(repo.path("models")).unwrap();
    let err = stderr_of(&repo, &["mv", "model.bin", "models"]);
    assert!(err.contains("moved model.bin -> models/model.bin"), "{err}");
    let rows = all_clean(&repo);
    assert_eq!(
        rows.keys().collect::<Vec<_>>(),
        ["data", "models/model.bin"]
    );
    assert_eq!(repo.read_string("models/.gitignore"), "/model.bin\n");
    assert_eq!(repo.read_string(".gitignore"), "*.log\n/data\n");
    follow_hint(&repo, &err);
    let show = repo.git(&["diff", "--name-status", "-M", "HEAD~1", "HEAD"]);
    assert!(
        show.lines()
            .any(|l| l.starts_with('R') && l.ends_with("\tmodel.bin.cairn\tmodels/model.bin.cairn")),
        "{show}"
    );
    assert_eq!(porcelain(&repo), Vec::<String>::new());

    // Back to the top, from inside a subdirectory: `.` is the root.
    let out = repo
        .cairn(&["mv", "model.bin", ".."])
        .current_dir(repo.path("models"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(repo.exists("model.bin") && repo.exists("model.bin.cairn"));
    assert!(!repo.exists("models/model.bin.cairn") && !repo.exists("models/.gitignore"));
    assert_eq!(repo.read_string(".gitignore"), "*.log\n/data\n/model.bin\n");
    all_clean(&repo);

    // A directory keeps its files' stat records: status reads nothing.
    let v = repo.cairn_json(&["mv", "--json", "data", "dataset"]);
    assert_eq!(v["from"], "data");
    assert_eq!(v["to"], "dataset");
    assert_eq!(v["kind"], "dir");
    assert_eq!(v["data_moved"], true);
    let st = repo.cairn_json(&["status", "--json"]);
    assert_eq!(st["files_read"], 0, "{st}");
    all_clean(&repo);
    repo.git(&["add", "-A"]);
    assert!(
        porcelain(&repo).contains(&"R  data.cairn -> dataset.cairn".to_string()),
        "{:?}",
        porcelain(&repo)
    );

    // Directories on the way to DST are created.
    repo.cairn_ok(&["mv", "dataset", "archive/2024/"]);
    assert!(
        !repo.exists("archive/2024/dataset"),
        "2024 did not exist: a rename"
    );
    assert_eq!(repo.read_string("archive/.gitignore"), "/2024\n");
    repo.cairn_ok(&["mv", "archive/2024", "old/2024/ds"]);
    assert_eq!(repo.read_string("old/2024/.gitignore"), "/ds\n");
    assert!(!repo.exists("archive/.gitignore"));
    let rows = all_clean(&repo);
    assert_eq!(
        rows.keys().collect::<Vec<_>>(),
        ["model.bin", "old/2024/ds"]
    );
}

#[test]
fn mv_bad_inputs_change_nothing() {
    let repo = committed();
    repo.write("taken.bin", "someone else's");
    let outside = repo.base().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, repo.path("out")).unwrap();
    let snap = repo.snapshot();
    let cases: [(&[&str], &[&str]); 10] = [
        (&["mv", "model.bin", "out"], &["symbolic link"]),
        // `DST/` that is no directory is refused, as coreutils' mv does,
        // not taken as a rename to `DST`.
        (&["mv", "model.bin", "newdir/"], &["trailing `/`"]),
        (
            &["mv", "model.bin", "taken.bin"],
            &["already exists", "--force"],
        ),
        (&["mv", "model.bin", "data"], &["already exists"]),
        (
            &["mv", "model.bin", "../elsewhere.bin"],
            &["outside the repository"],
        ),
        (
            &["mv", "model.bin", "data/sub/m.bin"],
            &["inside a tracked directory"],
        ),
        (&["mv", "data", "data/inner"], &["inside the source"]),
        (&["mv", "nothing", "x"], &["not tracked"]),
        (
            &["mv", "model.bin", ".git/m.bin"],
            &["inside .git or .cairn"],
        ),
        (&["mv", "model.bin", "m.cairn"], &["pointer files"]),
    ];
    for (args, mentions) in cases {
        let (stdout, stderr) = repo.cairn_fail(args);
        assert_eq!(stdout, "", "{args:?}");
        assert_error_report(&stderr, mentions);
        assert_eq!(repo.snapshot(), snap, "{args:?} changed the tree");
    }
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    let out = repo.cairn(&["mv", "model.bin"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "DST is required");

    // --force replaces what is there.
    repo.cairn_ok(&["mv", "--force", "model.bin", "taken.bin"]);
    assert_eq!(repo.read("taken.bin"), random_bytes("model", 50_000));
    all_clean(&repo);
}

#[test]
fn mv_into_a_missing_directory_hints_at_mkdir() {
    let repo = committed();
    let (_, stderr) = repo.cairn_fail(&["mv", "model.bin", "newdir/"]);
    assert_error_report(&stderr, &["trailing `/`", "mkdir -p"]);
    assert!(!repo.exists("newdir"));
}

#[cfg(feature = "failpoints")]
#[test]
fn a_killed_mv_or_rm_is_finished_by_a_re_run() {
    use common::crash::{assert_reached, crash_at, points};
    let names = [
        "mv.pointer_written",
        "mv.data_moved",
        "mv.index_saved",
        "mv.old_ignore_removed",
    ];
    let probe = committed();
    assert_reached(&points(&probe, &["mv", "data", "moved"]), &names);
    for name in names {
        let repo = committed();
        let data = repo.read("data/sub/b.bin");
        assert!(crash_at(&repo, &["mv", "data", "moved"], name), "{name}");
        repo.cairn_ok(&["mv", "data", "moved"]);
        assert_eq!(repo.read("moved/sub/b.bin"), data, "{name}");
        assert!(!repo.exists("data") && !repo.exists("data.cairn"), "{name}");
        assert_eq!(
            repo.read_string(".gitignore"),
            "*.log\n/model.bin\n/moved\n"
        );
        let rows = all_clean(&repo);
        assert_eq!(rows.keys().collect::<Vec<_>>(), ["model.bin", "moved"]);
    }
    let rm = ["rm", "--delete-data", "data"];
    assert_reached(
        &points(&committed(), &rm),
        &["rm.data_removed", "rm.gitignore_written"],
    );
    for name in ["rm.data_removed", "rm.gitignore_written"] {
        let repo = committed();
        assert!(crash_at(&repo, &rm, name), "{name}");
        repo.cairn_ok(&rm);
        assert!(!repo.exists("data") && !repo.exists("data.cairn"), "{name}");
        assert_eq!(repo.read_string(".gitignore"), "*.log\n/model.bin\n");
    }
}

/// A tracked directory with Python and macOS junk, and the rules for it.
fn with_junk(repo: &TestRepo) {
    repo.write(".cairnignore", "__pycache__/\n");
    repo.write("ds/.cairnignore", ".DS_Store\n");
    repo.write("ds/a.csv", "x\n");
    repo.write("ds/sub/b.csv", "y\n");
    repo.write("ds/__pycache__/mod.cpython-312.pyc", "bytecode");
    repo.write("ds/sub/__pycache__/x.pyc", "bytecode");
    repo.write("ds/.DS_Store", "finder");
    repo.write("ds/sub/.DS_Store", "finder");
}

#[test]
fn cairnignored_files_are_neither_stored_nor_reported() {
    let repo = TestRepo::init();
    with_junk(&repo);
    let v = repo.cairn_json(&["add", "--json", "ds"]);
    // a.csv, sub/b.csv and the .cairnignore itself, which travels with
    // the data.
    assert_eq!(v["paths"][0]["files"], 3, "{v}");
    assert_eq!(repo.pointer("ds")["files"], "3");
    assert_eq!(v["bytes_read"], 2 + 2 + 10, "{v}");
    all_clean(&repo);
    // New junk, edited junk, deleted junk: no change.
    repo.write("ds/sub/__pycache__/new.pyc", "more");
    repo.write("ds/.DS_Store", "finder, again");
    repo.remove("ds/sub/.DS_Store");
    let rows = all_clean(&repo);
    assert!(rows["ds"].get("changes").is_none(), "{:?}", rows["ds"]);
    // A real change is still one, and lists no junk.
    repo.write("ds/c.csv", "z\n");
    let rows = status_rows(&repo.cairn_json(&["status", "--json"]));
    assert_eq!(rows["ds"]["state"], "modified");
    assert_eq!(
        common::changes(&rows["ds"]),
        [("ds/c.csv".to_string(), "added".to_string())]
    );
}

#[test]
fn a_listing_stored_before_the_rule_still_restores_the_file() {
    let repo = TestRepo::init();
    repo.write("ds/a.csv", "x\n");
    repo.write("ds/cache/tmp.bin", "old junk");
    repo.cairn_ok(&["add", "ds"]);
    assert_eq!(repo.pointer("ds")["files"], "2");
    repo.commit_all("with junk");
    // The rule comes later (at the root, so the listing is unchanged).
    repo.write(".cairnignore", "cache/\n");
    all_clean(&repo);
    repo.remove("ds/cache");
    all_clean(&repo); // not "deleted": the rule covers it
    repo.cairn_ok(&["checkout"]);
    assert_eq!(repo.read_string("ds/cache/tmp.bin"), "old junk");

    // A revision that drops the path removes the data but not the junk.
    repo.write("ds/cache/local.bin", "mine");
    repo.git(&["checkout", "-q", "-b", "empty"]);
    repo.cairn_ok(&["rm", "ds"]);
    repo.remove("ds/a.csv");
    repo.git(&["add", "-A", "--", "ds.cairn", ".gitignore"]);
    repo.git(&["commit", "-q", "-m", "no ds"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.cairn_ok(&["checkout"]);
    assert_eq!(repo.read_string("ds/a.csv"), "x\n");
    repo.cairn_ok(&["checkout", "empty"]);
    assert!(!repo.exists("ds/a.csv") && !repo.exists("ds.cairn"));
    assert_eq!(repo.read_string("ds/cache/local.bin"), "mine");
}
