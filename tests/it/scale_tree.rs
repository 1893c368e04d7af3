//! add, status and diff of a directory big enough to be layered (more than
//! 1,024 files), where they work without holding every file: the walk in
//! path order, the listing built as entries come, the stat index read a
//! block at a time, and diff reading only what the two versions do not
//! share. The answers must be exactly those of the whole-tree code.

use crate::common;

use std::collections::BTreeMap;
use std::fs;

use common::TestRepo;
use serde_json::Value;

/// `n` files under `dir` in 7 subdirectories (and some at the top, whose
/// names sort around the subdirectories'); file `i` holds `row i`.
fn write_tree(repo: &TestRepo, dir: &str, n: usize) {
    for i in 0..n {
        let rel = match i % 8 {
            0 => format!("{dir}/d{i:05}.csv"),
            k => format!("{dir}/d{k}/f{i:05}.csv"),
        };
        let p = repo.path(&rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, format!("row {i}\n")).unwrap();
        // Old, as in a real checkout, so no file is racily new.
        common::backdate(&p);
    }
}

fn rows(v: &Value) -> BTreeMap<String, Value> {
    common::status_rows(v)
}

fn files(row: &Value) -> Vec<(String, String)> {
    row["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["change"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn status_and_diff_of_a_layered_directory_name_exactly_the_changes() {
    let repo = TestRepo::init();
    write_tree(&repo, "data", 5000);
    repo.cairn_ok(&["add", "data"]);
    assert!(repo
        .read_string("data.cairn")
        .starts_with("cairn-pointer 2\n"));
    repo.commit_all("v1");
    let st = repo.cairn_json(&["status", "--json"]);
    assert_eq!(rows(&st)["data"]["state"], "clean", "{st}");
    assert_eq!(st["files_read"], 0, "the stat index vouches for every file");

    // New bytes in one file; another becomes a copy of a third (no new
    // bytes); one is deleted; one is added holding existing bytes.
    repo.write("data/d3/f00003.csv", "brand new bytes\n");
    repo.write("data/d5/f00005.csv", "row 13\n");
    repo.remove("data/d00016.csv");
    repo.write("data/d7/new.csv", "row 23\n");
    let st = repo.cairn_json(&["status", "--json"]);
    let row = &rows(&st)["data"];
    assert_eq!(row["state"], "modified");
    let want = [
        ("data/d00016.csv", "removed"),
        ("data/d3/f00003.csv", "modified"),
        ("data/d5/f00005.csv", "modified"),
        ("data/d7/new.csv", "added"),
    ];
    let got = common::changes(row);
    let got: Vec<(&str, &str)> = got.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    assert_eq!(got, want);

    // The work tree against HEAD: only the edit's bytes are new (the
    // cache does not hold them yet, so they count whole).
    let d = common::status_rows(&repo.cairn_json(&["diff", "--json"]));
    assert_eq!(d["data"]["unadded"], true);
    assert_eq!(d["data"]["new_bytes"], 16);
    let as_status: Vec<(String, String)> = want
        .iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect();
    assert_eq!(files(&d["data"]), as_status);

    repo.cairn_ok(&["add", "data"]);
    repo.commit_all("v2");
    let d = common::status_rows(&repo.cairn_json(&["diff", "--json", "HEAD~1", "HEAD"]));
    assert_eq!(d["data"]["new_bytes"], 16, "{:?}", d["data"]);
    assert_eq!(files(&d["data"]), as_status);
    // +10 and +1 for the two edits, -7 and +7 for the removed and added.
    assert_eq!(
        d["data"]["new_size"],
        d["data"]["old_size"].as_u64().unwrap() + 11
    );
}

#[test]
fn stale_and_deleted_files_in_a_layered_directory() {
    let repo = TestRepo::init();
    write_tree(&repo, "data", 3000);
    repo.cairn_ok(&["add", "data"]);
    repo.commit_all("v1");
    repo.write("data/d1/f00001.csv", "v2 bytes\n");
    repo.cairn_ok(&["add", "data"]);
    repo.commit_all("v2");
    // The pointer moves back under cairn's own bytes: stale, not modified.
    repo.git(&["checkout", "-q", "HEAD~1", "--", "data.cairn"]);
    let st = repo.cairn_json(&["status", "--json"]);
    assert_eq!(rows(&st)["data"]["state"], "stale", "{st}");
    // A file cairn wrote is gone as well: that is the user's change.
    repo.remove("data/d2/f00002.csv");
    let st = repo.cairn_json(&["status", "--json"]);
    assert_eq!(rows(&st)["data"]["state"], "modified", "{st}");
}

#[test]
fn re_add_reads_only_the_changed_files_and_keeps_the_id() {
    let repo = TestRepo::init();
    write_tree(&repo, "data", 2500);
    let first = repo.cairn_json(&["add", "data", "--json"]);
    assert_eq!(first["files_read"], 2500);
    let id = repo.pointer("data");
    repo.write("data/d4/f00004.csv", "changed\n");
    let again = repo.cairn_json(&["add", "data", "--json"]);
    assert_eq!(again["files_read"], 1, "{again}");
    assert_eq!(again["files_unchanged"], 2499);
    repo.write("data/d4/f00004.csv", "row 4\n");
    repo.cairn_ok(&["add", "data"]);
    assert_eq!(
        repo.pointer("data"),
        id,
        "the same files give the same listing"
    );
}
