//! `cairn status` reports clean, modified (with the changed files), missing
//! and added data, and an unchanged tree costs no file reads.

use crate::common;

use common::{changes, csv_text, random_bytes, status_rows, TestRepo};

/// A repo tracking `data/` (5 files) and `model.bin`, all backdated before
/// `add` so the stat index trusts them.
fn tracked_repo() -> TestRepo {
    let repo = TestRepo::init();
    repo.write("data/a.csv", csv_text(1, 40_000));
    repo.write("data/sub/b.csv", csv_text(2, 40_000));
    repo.write("data/sub/c.csv", csv_text(3, 10_000));
    repo.write("data/d d/ü.bin", random_bytes("u", 200_000));
    repo.write("data/e.bin", random_bytes("e", 5_000));
    repo.write("model.bin", random_bytes("model", 1_500_000));
    repo.backdate("data");
    repo.backdate("model.bin");
    repo.cairn_ok(&["add", "data", "model.bin"]);
    repo
}

#[test]
fn unchanged_tree_is_clean_and_reads_no_file() {
    let repo = tracked_repo();
    let v = repo.cairn_json(&["status", "--json"]);
    let rows = status_rows(&v);
    assert_eq!(rows.keys().collect::<Vec<_>>(), ["data", "model.bin"]);
    assert_eq!(rows["data"]["kind"], "dir");
    assert_eq!(rows["model.bin"]["kind"], "file");
    for row in rows.values() {
        assert_eq!(row["state"], "clean", "{row}");
        assert_eq!(row["stored"], true, "{row}");
        assert!(changes(row).is_empty(), "{row}");
    }
    assert_eq!(v["files_read"], 0, "{v}");
    assert_eq!(v["files_stat_only"], 6, "{v}");

    // Twice, to be sure status itself keeps the index trustworthy.
    let again = repo.cairn_json(&["status", "--json"]);
    assert_eq!(again["files_read"], 0, "{again}");

    let human = repo.cairn_ok(&["status"]);
    assert!(human.contains("all match"), "{human}");
    assert!(!human.contains("modified"), "{human}");
}

#[test]
fn modified_file_in_tracked_dir_is_listed() {
    let repo = tracked_repo();
    let mut b = csv_text(2, 40_000);
    b.extend_from_slice(b"42,extra,row,1,true\n");
    repo.write("data/sub/b.csv", &b);
    let v = repo.cairn_json(&["status", "--json"]);
    let rows = status_rows(&v);
    assert_eq!(rows["data"]["state"], "modified");
    assert_eq!(
        changes(&rows["data"]),
        [("data/sub/b.csv".to_string(), "modified".to_string())]
    );
    assert_eq!(rows["model.bin"]["state"], "clean");
    // Only the edited file was read; its siblings were vouched for by stat.
    assert_eq!(v["files_read"], 1, "{v}");
    assert_eq!(v["files_stat_only"], 5, "{v}");

    let human = repo.cairn_ok(&["status"]);
    assert!(human.contains("modified: data"), "{human}");
    assert!(human.contains("data/sub/b.csv"), "{human}");
    assert!(!human.contains("model.bin"), "{human}");
}

#[test]
fn same_size_edit_with_restored_mtime_is_still_detected() {
    let repo = tracked_repo();
    let mut b = repo.read("data/a.csv");
    let n = b.len();
    b[n / 2] ^= 0x01;
    repo.write("data/a.csv", &b);
    repo.backdate("data/a.csv"); // same size, same mtime as before
    let v = repo.cairn_json(&["status", "--json"]);
    let rows = status_rows(&v);
    assert_eq!(rows["data"]["state"], "modified", "{v}");
    assert_eq!(
        changes(&rows["data"]),
        [("data/a.csv".to_string(), "modified".to_string())]
    );
}

#[test]
fn deleted_and_added_files_are_listed() {
    let repo = tracked_repo();
    repo.remove("data/sub/c.csv");
    repo.write("data/new.csv", "x,y\n1,2\n");
    repo.remove("model.bin");
    let v = repo.cairn_json(&["status", "--json"]);
    let rows = status_rows(&v);
    assert_eq!(rows["model.bin"]["state"], "missing");
    assert_eq!(rows["model.bin"]["stored"], true);
    assert_eq!(rows["data"]["state"], "modified");
    assert_eq!(
        changes(&rows["data"]),
        [
            ("data/new.csv".to_string(), "added".to_string()),
            ("data/sub/c.csv".to_string(), "removed".to_string()),
        ]
    );
    let human = repo.cairn_ok(&["status"]);
    assert!(human.contains("missing: model.bin"), "{human}");
    assert!(human.contains("new file: data/new.csv"), "{human}");
    assert!(human.contains("deleted: data/sub/c.csv"), "{human}");
}

#[test]
fn deleted_tracked_dir_is_missing() {
    let repo = tracked_repo();
    repo.remove("data");
    let v = repo.cairn_json(&["status", "--json"]);
    assert_eq!(status_rows(&v)["data"]["state"], "missing");
}

#[test]
fn exec_bit_change_is_a_modification() {
    let repo = tracked_repo();
    repo.chmod("data/e.bin", 0o755);
    repo.chmod("model.bin", 0o755);
    let v = repo.cairn_json(&["status", "--json"]);
    let rows = status_rows(&v);
    assert_eq!(rows["model.bin"]["state"], "modified");
    assert_eq!(
        changes(&rows["data"]),
        [("data/e.bin".to_string(), "modified".to_string())]
    );
}

#[test]
fn status_can_be_limited_to_a_path() {
    let repo = tracked_repo();
    repo.remove("model.bin");
    let v = repo.cairn_json(&["status", "--json", "data"]);
    let rows = status_rows(&v);
    assert_eq!(rows.keys().collect::<Vec<_>>(), ["data"]);
    assert_eq!(rows["data"]["state"], "clean");
    // From a subdirectory, a relative path names the same data.
    let out = repo
        .cairn(&["status", "--json", "../../model.bin"])
        .current_dir(repo.path("data/sub"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = status_rows(&v);
    assert_eq!(rows.keys().collect::<Vec<_>>(), ["model.bin"]);
    assert_eq!(rows["model.bin"]["state"], "missing");
}

#[test]
fn status_of_an_untracked_path_fails_with_a_hint() {
    let repo = tracked_repo();
    repo.write("other.txt", "hi");
    let (stdout, stderr) = repo.cairn_fail(&["status", "other.txt"]);
    assert_eq!(stdout, "");
    common::assert_error_report(&stderr, &["not tracked", "cairn add"]);
}

#[test]
fn status_reports_data_missing_from_the_cache() {
    let repo = tracked_repo();
    std::fs::remove_dir_all(repo.path(".git/cairn/cache")).unwrap();
    let v = repo.cairn_json(&["status", "--json"]);
    let rows = status_rows(&v);
    for row in rows.values() {
        assert_eq!(row["state"], "clean", "{row}");
        assert_eq!(row["stored"], false, "{row}");
    }
    let human = repo.cairn_ok(&["status"]);
    assert!(human.contains("not in cache: data"), "{human}");
    assert!(human.contains("not in cache: model.bin"), "{human}");
}

// The walk settles clean files from stat alone; each case below must still
// be seen, whichever batch or directory it falls in.

/// `wide/`: 300 directories of one file (more than a batch keeps open) and
/// one directory of 4,500 files (more than one batch), backdated and added.
fn wide_repo() -> TestRepo {
    let repo = TestRepo::init();
    for i in 0..300 {
        repo.write(&format!("wide/d{i:03}/f.txt"), format!("file {i}\n"));
    }
    for i in 0..4_500 {
        repo.write(&format!("wide/zz/f{i:04}.txt"), format!("row {i}\n"));
    }
    repo.backdate("wide");
    repo.cairn_ok(&["add", "wide"]);
    repo
}

#[test]
fn a_change_is_found_in_any_batch_of_a_clean_tree() {
    let repo = wide_repo();
    let v = repo.cairn_json(&["status", "--json"]);
    assert_eq!(status_rows(&v)["wide"]["state"], "clean", "{v}");
    assert_eq!(v["files_read"], 0, "{v}");
    assert_eq!(v["files_stat_only"], 4_800, "{v}");

    // One file in the first directory, one past the first batch.
    repo.write("wide/d000/f.txt", "file X\n");
    repo.write("wide/zz/f4321.txt", "row X\n");
    let v = repo.cairn_json(&["status", "--json"]);
    let row = &status_rows(&v)["wide"];
    assert_eq!(row["state"], "modified", "{v}");
    assert_eq!(
        changes(row),
        [
            ("wide/d000/f.txt".to_string(), "modified".to_string()),
            ("wide/zz/f4321.txt".to_string(), "modified".to_string()),
        ]
    );
    assert_eq!(v["files_read"], 2, "{v}");
    assert_eq!(v["files_stat_only"], 4_798, "{v}");
}

#[test]
fn new_removed_and_retyped_paths_in_a_clean_tree_are_listed() {
    let repo = wide_repo();
    repo.write("wide/d150/new.txt", "new\n");
    repo.remove("wide/zz/f0007.txt");
    // A directory replaced by a file, and a file by a directory.
    repo.remove("wide/d200");
    repo.write("wide/d200", "now a file\n");
    repo.remove("wide/zz/f0100.txt");
    repo.write("wide/zz/f0100.txt/inner", "now a dir\n");
    let v = repo.cairn_json(&["status", "--json"]);
    let row = &status_rows(&v)["wide"];
    assert_eq!(row["state"], "modified", "{v}");
    let s = |p: &str, c: &str| (p.to_string(), c.to_string());
    assert_eq!(
        changes(row),
        [
            s("wide/d150/new.txt", "added"),
            s("wide/d200", "added"),
            s("wide/d200/f.txt", "removed"),
            s("wide/zz/f0007.txt", "removed"),
            s("wide/zz/f0100.txt", "removed"),
            s("wide/zz/f0100.txt/inner", "added"),
        ]
    );
}

#[test]
fn files_changed_within_the_racy_window_are_hashed_not_trusted() {
    let repo = TestRepo::init();
    for i in 0..20 {
        repo.write(
            &format!("fresh/f{i:02}.bin"),
            random_bytes(&format!("r{i}"), 1_000),
        );
    }
    // Not backdated: every file was written in the second the index saves.
    repo.cairn_ok(&["add", "fresh"]);
    let v = repo.cairn_json(&["status", "--json"]);
    assert_eq!(status_rows(&v)["fresh"]["state"], "clean", "{v}");
    assert_eq!(v["files_read"], 20, "racy records are re-read: {v}");

    // Same size, same mtime, other bytes: only reading can tell.
    let p = repo.path("fresh/f07.bin");
    let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
    let mut b = repo.read("fresh/f07.bin");
    b[500] ^= 0xff;
    repo.write("fresh/f07.bin", &b);
    let f = std::fs::File::options().write(true).open(&p).unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    let v = repo.cairn_json(&["status", "--json"]);
    let row = &status_rows(&v)["fresh"];
    assert_eq!(row["state"], "modified", "{v}");
    assert_eq!(
        changes(row),
        [("fresh/f07.bin".to_string(), "modified".to_string())]
    );
}

#[test]
fn a_nested_cairnignore_applies_below_its_directory_only() {
    let repo = TestRepo::init();
    repo.write("data/a.csv", "a\n");
    repo.write("data/sub/b.csv", "b\n");
    repo.write("data/sub/.cairnignore", "*.log\n");
    repo.write("data/sub/deep/x.log", "ignored\n");
    repo.backdate("data");
    repo.cairn_ok(&["add", "data"]);
    // Ignored below sub/: no change. Beside it: a new file.
    repo.write("data/sub/new.log", "ignored too\n");
    repo.write("data/sub/deep/y.log", "ignored too\n");
    let v = repo.cairn_json(&["status", "--json"]);
    assert_eq!(status_rows(&v)["data"]["state"], "clean", "{v}");
    repo.write("data/top.log", "not ignored here\n");
    let v = repo.cairn_json(&["status", "--json"]);
    let row = &status_rows(&v)["data"];
    assert_eq!(
        changes(row),
        [("data/top.log".to_string(), "added".to_string())]
    );
}

#[test]
fn links_and_temporary_files_in_a_tracked_dir_are_not_data() {
    let repo = tracked_repo();
    std::os::unix::fs::symlink("a.csv", repo.path("data/link.csv")).unwrap();
    repo.write("data/sub/.cairn-tmp-leftover", "half written");
    let v = repo.cairn_json(&["status", "--json"]);
    assert_eq!(status_rows(&v)["data"]["state"], "clean", "{v}");
    assert_eq!(v["files_read"], 0, "{v}");
}
