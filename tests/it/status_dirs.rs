//! `status` settles a clean tracked directory from the stat index's
//! directory record (FORMAT.md §9.1, version 2) without rebuilding its
//! listing, and a stale record never hides a change: each case below is
//! made after the record was written, and must be reported exactly as
//! without it.

use crate::common;

use common::{changes, status_rows, TestRepo};

/// The stat index's version field: 2 once it holds a directory record.
fn index_version(repo: &TestRepo) -> u32 {
    let b = std::fs::read(repo.path(".cairn/index")).unwrap();
    u32::from_le_bytes([b[4], b[5], b[6], b[7]])
}

/// `data/`: 3 directories of 40 files and 2 at the top, backdated and
/// added, then one status (which records the directory) checked clean.
fn recorded_repo() -> TestRepo {
    let repo = TestRepo::init();
    for d in 0..3 {
        for f in 0..40 {
            repo.write(&format!("data/d{d}/f{f:02}.txt"), format!("{d} {f}\n"));
        }
    }
    repo.write("data/top.txt", "top\n");
    repo.write("data/run.sh", "#!/bin/sh\n");
    repo.backdate("data");
    repo.cairn_ok(&["add", "data"]);
    repo.commit_all("data v1");
    let v = repo.cairn_json(&["status", "--json"]);
    assert_eq!(status_rows(&v)["data"]["state"], "clean", "{v}");
    assert_eq!(index_version(&repo), 2, "the clean directory is recorded");
    repo
}

/// Status of `data`: its state and changes, and the files read.
fn data_status(repo: &TestRepo) -> (String, Vec<(String, String)>, u64) {
    let v = repo.cairn_json(&["status", "--json"]);
    let row = &status_rows(&v)["data"];
    (
        row["state"].as_str().unwrap().to_string(),
        changes(row),
        v["files_read"].as_u64().unwrap(),
    )
}

fn s(p: &str, c: &str) -> (String, String) {
    (p.to_string(), c.to_string())
}

#[test]
fn a_recorded_clean_directory_is_clean_from_stat_alone() {
    let repo = recorded_repo();
    let v = repo.cairn_json(&["status", "--json"]);
    assert_eq!(status_rows(&v)["data"]["state"], "clean", "{v}");
    assert_eq!(v["files_read"], 0, "{v}");
    assert_eq!(v["files_stat_only"], 122, "{v}");
    assert_eq!(index_version(&repo), 2);
}

#[test]
fn a_changed_file_in_a_recorded_directory_is_found() {
    let repo = recorded_repo();
    repo.write("data/d1/f07.txt", "1 X\n");
    assert_eq!(
        data_status(&repo),
        (
            "modified".to_string(),
            vec![s("data/d1/f07.txt", "modified")],
            1
        )
    );
    // Recorded by add, the directory is clean again and recorded anew.
    repo.backdate("data");
    repo.cairn_ok(&["add", "data"]);
    assert_eq!(data_status(&repo).0, "clean");
    assert_eq!(data_status(&repo), ("clean".to_string(), vec![], 0));
}

#[test]
fn new_removed_and_retyped_paths_under_a_record_are_listed() {
    let repo = recorded_repo();
    repo.write("data/d0/new.txt", "new\n");
    repo.remove("data/d2/f39.txt");
    repo.remove("data/d1");
    repo.write("data/d1", "now a file\n");
    repo.remove("data/top.txt");
    repo.write("data/top.txt/inner", "now a dir\n");
    let (state, got, _) = data_status(&repo);
    assert_eq!(state, "modified");
    let mut want = vec![s("data/d0/new.txt", "added"), s("data/d1", "added")];
    want.extend((0..40).map(|f| s(&format!("data/d1/f{f:02}.txt"), "removed")));
    want.extend([
        s("data/d2/f39.txt", "removed"),
        s("data/top.txt", "removed"),
        s("data/top.txt/inner", "added"),
    ]);
    assert_eq!(got, want);
}

#[test]
fn a_removed_file_under_a_record_is_listed() {
    // Every file left is recorded and unchanged: only the count tells.
    let repo = recorded_repo();
    repo.remove("data/d2/f39.txt");
    assert_eq!(
        data_status(&repo),
        (
            "modified".to_string(),
            vec![s("data/d2/f39.txt", "removed")],
            0
        )
    );
}

#[test]
fn one_file_removed_and_one_added_under_a_record_are_listed() {
    // The same number of files as recorded: the count alone cannot tell.
    let repo = recorded_repo();
    repo.remove("data/d0/f00.txt");
    repo.write("data/d0/f99.txt", "0 0\n");
    let (state, got, _) = data_status(&repo);
    assert_eq!(state, "modified");
    assert_eq!(
        got,
        [
            s("data/d0/f00.txt", "removed"),
            s("data/d0/f99.txt", "added")
        ]
    );
}

#[test]
fn a_mode_change_under_a_record_is_a_modification() {
    let repo = recorded_repo();
    repo.chmod("data/run.sh", 0o755);
    // Reported as without a record: the bytes are cairn's, so the directory
    // reads as out of date (what status said before directory records).
    let (state, got, read) = data_status(&repo);
    assert_ne!(state, "clean");
    assert_eq!((got, read), (vec![s("data/run.sh", "modified")], 1));
    repo.chmod("data/run.sh", 0o644);
    assert_eq!(data_status(&repo).0, "clean");
}

#[test]
fn a_same_stat_edit_within_the_racy_window_is_hashed_under_a_record() {
    let repo = TestRepo::init();
    for i in 0..10 {
        repo.write(&format!("data/f{i}.bin"), format!("racy {i}\n"));
    }
    // Not backdated: every record is racy, so every file is read, and the
    // directory is still recorded (its records are exact).
    repo.cairn_ok(&["add", "data"]);
    assert_eq!(
        data_status(&repo),
        ("clean".to_string(), vec![], 10),
        "racy files are read"
    );
    assert_eq!(index_version(&repo), 2);
    // Same size, same mtime, other bytes: only reading can tell.
    let p = repo.path("data/f3.bin");
    let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
    repo.write("data/f3.bin", "racy X\n");
    let f = std::fs::File::options().write(true).open(&p).unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    let (state, got, _) = data_status(&repo);
    assert_eq!(state, "modified");
    assert_eq!(got, [s("data/f3.bin", "modified")]);
}

#[test]
fn a_pointer_moved_by_git_under_a_record_is_not_clean() {
    let repo = recorded_repo();
    repo.write("data/d0/f00.txt", "v2\n");
    repo.remove("data/d2/f01.txt");
    repo.backdate("data");
    repo.cairn_ok(&["add", "data"]);
    repo.commit_all("data v2");
    assert_eq!(data_status(&repo), ("clean".to_string(), vec![], 0));

    // The pointer goes back to v1 under v2's files, then forward again
    // under v1's: each time the record names the other listing. (v1's
    // f01 is gone, and a recorded file deleted is an edit, §9.2.)
    repo.git(&["checkout", "-q", "HEAD~1", "--", "data.cairn"]);
    assert_eq!(
        data_status(&repo),
        (
            "modified".to_string(),
            vec![
                s("data/d0/f00.txt", "modified"),
                s("data/d2/f01.txt", "removed")
            ],
            0
        )
    );
    repo.cairn_ok(&["checkout"]);
    assert_eq!(data_status(&repo).0, "clean");
    assert_eq!(data_status(&repo).0, "clean");
    repo.git(&["checkout", "-q", "HEAD", "--", "data.cairn"]);
    let (state, got, _) = data_status(&repo);
    assert_eq!(state, "stale");
    assert_eq!(
        got,
        [
            s("data/d0/f00.txt", "modified"),
            s("data/d2/f01.txt", "added")
        ]
    );
    repo.cairn_ok(&["checkout"]);
    assert_eq!(data_status(&repo).0, "clean");
}

#[test]
fn an_ignore_rule_added_under_a_record_is_honoured() {
    let repo = recorded_repo();
    // The rule file is itself a new file; the file it ignores is a
    // recorded one, which is then no change (FORMAT.md §11).
    repo.write("data/.cairnignore", "top.txt\n");
    let (state, got, _) = data_status(&repo);
    assert_eq!(state, "modified");
    assert_eq!(got, [s("data/.cairnignore", "added")]);
}

#[test]
fn an_index_without_directory_records_is_read_and_upgraded() {
    let repo = recorded_repo();
    // The same records as a cairn before directory records wrote them:
    // version 1, without the one record of `data` (4 bytes of count, 42 +
    // 4 of record) before the checksum.
    let path = repo.path(".cairn/index");
    let b = std::fs::read(&path).unwrap();
    let mut v1 = b[..b.len() - 32 - 50].to_vec();
    v1[4..8].copy_from_slice(&1u32.to_le_bytes());
    let sum = blake3::hash(&v1);
    v1.extend_from_slice(sum.as_bytes());
    std::fs::write(&path, &v1).unwrap();
    assert_eq!(data_status(&repo), ("clean".to_string(), vec![], 0));
    assert_eq!(index_version(&repo), 2, "status recorded the directory");
    assert_eq!(data_status(&repo), ("clean".to_string(), vec![], 0));
    repo.write("data/d0/f05.txt", "changed\n");
    assert_eq!(
        data_status(&repo),
        (
            "modified".to_string(),
            vec![s("data/d0/f05.txt", "modified")],
            1
        )
    );
}

#[test]
fn add_records_the_directory_it_adds() {
    let repo = TestRepo::init();
    for f in 0..30 {
        repo.write(&format!("data/f{f:02}.txt"), format!("{f}\n"));
    }
    repo.backdate("data");
    repo.cairn_ok(&["add", "data"]);
    assert_eq!(index_version(&repo), 2, "add wrote the directory record");
    let before = std::fs::read(repo.path(".cairn/index")).unwrap();
    assert_eq!(data_status(&repo), ("clean".to_string(), vec![], 0));
    assert_eq!(
        std::fs::read(repo.path(".cairn/index")).unwrap(),
        before,
        "the first status had nothing to save"
    );
    // A deleted file's record outlives the add that drops the file, so the
    // records are not the new listing, which stays unrecorded: status
    // rebuilds it, and still finds each change.
    repo.remove("data/f07.txt");
    repo.cairn_ok(&["add", "data"]);
    assert_eq!(data_status(&repo), ("clean".to_string(), vec![], 0));
    repo.remove("data/f08.txt");
    assert_eq!(
        data_status(&repo),
        (
            "modified".to_string(),
            vec![s("data/f08.txt", "removed")],
            0
        )
    );
}

// A recorded directory is settled a part at a time on both cores (each
// subdirectory, and the files directly in it): a change in any part, and
// the ignore rules of each, must count exactly as in one walk.

#[test]
fn a_change_among_the_files_directly_in_a_recorded_directory_is_found() {
    let repo = recorded_repo();
    repo.write("data/top.txt", "top, edited\n");
    assert_eq!(
        data_status(&repo),
        (
            "modified".to_string(),
            vec![s("data/top.txt", "modified")],
            1
        )
    );
}

#[test]
fn a_new_subdirectory_of_a_recorded_directory_is_found() {
    let repo = recorded_repo();
    repo.write("data/d3/new.txt", "new\n");
    let (state, got, _) = data_status(&repo);
    assert_eq!(state, "modified");
    assert_eq!(got, [s("data/d3/new.txt", "added")]);
}

/// `data/`: as [`recorded_repo`], with an ignored subdirectory (a rule of
/// `data/`) and a rule file of its own in `data/d0`, both there when added.
fn ruled_repo() -> TestRepo {
    let repo = TestRepo::init();
    for d in 0..3 {
        for f in 0..10 {
            repo.write(&format!("data/d{d}/f{f:02}.txt"), format!("{d} {f}\n"));
        }
    }
    repo.write("data/.cairnignore", "scratch/\n");
    repo.write("data/scratch/a.txt", "scratch\n");
    repo.write("data/d0/.cairnignore", "*.tmp\n");
    repo.write("data/d0/old.tmp", "ignored\n");
    repo.backdate("data");
    repo.cairn_ok(&["add", "data"]);
    let v = repo.cairn_json(&["status", "--json"]);
    assert_eq!(status_rows(&v)["data"]["state"], "clean", "{v}");
    repo
}

#[test]
fn each_part_of_a_recorded_directory_keeps_its_ignore_rules() {
    let repo = ruled_repo();
    let v = repo.cairn_json(&["status", "--json"]);
    assert_eq!(status_rows(&v)["data"]["state"], "clean", "{v}");
    assert_eq!(v["files_read"], 0, "{v}");
    // 30 files and the two rule files; neither ignored file.
    assert_eq!(v["files_stat_only"], 32, "{v}");

    // What the rules ignore is no change, in the ignored subdirectory
    // (a rule of `data/`) or by a rule of a subdirectory's own, and the
    // record still settles it (the store, needed to rebuild the listing,
    // is not opened, so its `tmp/` is not made again).
    repo.write("data/scratch/b.txt", "more scratch\n");
    repo.write("data/d0/new.tmp", "ignored too\n");
    std::fs::remove_dir_all(repo.path(".git/cairn/cache/tmp")).unwrap();
    let v = repo.cairn_json(&["status", "--json"]);
    assert_eq!(status_rows(&v)["data"]["state"], "clean", "{v}");
    assert_eq!(v["files_stat_only"], 32, "{v}");
    assert!(
        !repo.exists(".git/cairn/cache/tmp"),
        "settled from the record"
    );

    // The subdirectory's rule holds in its own part only.
    repo.write("data/d1/new.tmp", "not ignored here\n");
    let (state, got, _) = data_status(&repo);
    assert_eq!(state, "modified");
    assert_eq!(got, [s("data/d1/new.tmp", "added")]);
}

#[test]
fn a_recorded_directory_with_one_subdirectory_is_settled_and_checked() {
    // Too few subdirectories to share out: one walk, batch by batch.
    let repo = TestRepo::init();
    for f in 0..50 {
        repo.write(&format!("data/only/f{f:02}.txt"), format!("{f}\n"));
    }
    repo.write("data/top.txt", "top\n");
    repo.backdate("data");
    repo.cairn_ok(&["add", "data"]);
    let v = repo.cairn_json(&["status", "--json"]);
    assert_eq!(status_rows(&v)["data"]["state"], "clean", "{v}");
    assert_eq!(v["files_read"], 0, "{v}");
    assert_eq!(v["files_stat_only"], 51, "{v}");
    repo.write("data/only/f49.txt", "changed\n");
    let (state, got, _) = data_status(&repo);
    assert_eq!(state, "modified");
    assert_eq!(got, [s("data/only/f49.txt", "modified")]);
}
