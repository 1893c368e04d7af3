//! `status` answers "is it in the cache" from the pack footers, read
//! afresh each run, without opening the store (`store::LazyStore`), and
//! opens the store only for a directory that differs from its record. No
//! answer is kept between runs, so each case below, made by another
//! command or by hand between two runs, must show in the next one exactly
//! as a full open of the store would show it.

use std::fs;

use crate::common;

use common::{status_rows, TestRepo};

/// `data/` (a directory of files, recorded clean by one status) and
/// `model.bin` (a file), added and committed; one status checked clean.
fn clean_repo() -> TestRepo {
    let repo = TestRepo::init();
    for f in 0..30 {
        repo.write(
            &format!("data/d{}/f{f:02}.txt", f % 3),
            format!("row {f}\n"),
        );
    }
    repo.write("model.bin", vec![7u8; 300_000]);
    repo.backdate("data");
    repo.backdate("model.bin");
    repo.cairn_ok(&["add", "data", "model.bin"]);
    repo.commit_all("v1");
    let v = repo.cairn_json(&["status", "--json"]);
    for row in status_rows(&v).values() {
        assert_eq!(row["state"], "clean", "{v}");
        assert_eq!(row["stored"], true, "{v}");
    }
    repo
}

/// (state, stored) of each tracked path, and status's stderr.
fn rows(repo: &TestRepo) -> (Vec<(String, String, bool)>, String) {
    let out = repo.cairn_std(&["status", "--json"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = status_rows(&v)
        .into_iter()
        .map(|(p, r)| {
            let state = r["state"].as_str().unwrap().to_string();
            (p, state, r["stored"].as_bool().unwrap())
        })
        .collect();
    (rows, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn row(path: &str, state: &str, stored: bool) -> (String, String, bool) {
    (path.to_string(), state.to_string(), stored)
}

#[test]
fn packs_removed_between_runs_make_the_data_not_in_cache() {
    let repo = clean_repo();
    for p in repo.packs() {
        fs::remove_file(p).unwrap();
    }
    let (got, _) = rows(&repo);
    assert_eq!(
        got,
        [
            row("data", "clean", false),
            row("model.bin", "clean", false)
        ]
    );
    let human = repo.cairn_ok(&["status"]);
    assert!(human.contains("not in cache: data"), "{human}");
    assert!(human.contains("not in cache: model.bin"), "{human}");
}

#[test]
fn a_pack_added_by_another_command_is_seen() {
    let repo = clean_repo();
    let before = repo.packs().len();
    repo.write("more/new.txt", "new data\n");
    repo.backdate("more");
    repo.cairn_ok(&["add", "more"]);
    assert!(repo.packs().len() > before, "add wrote a new pack");
    let (got, _) = rows(&repo);
    assert_eq!(
        got,
        [
            row("data", "clean", true),
            row("model.bin", "clean", true),
            row("more", "clean", true),
        ]
    );
}

/// Overwrite the last bytes of every pack (its trailer's magic).
fn damage_trailers(repo: &TestRepo) {
    for p in repo.packs() {
        let mut b = fs::read(&p).unwrap();
        let n = b.len();
        b[n - 8..].copy_from_slice(b"XXXXXXXX");
        fs::write(&p, b).unwrap();
    }
}

#[test]
fn a_damaged_pack_is_reported_and_holds_nothing() {
    let repo = clean_repo();
    damage_trailers(&repo);
    let (got, stderr) = rows(&repo);
    assert_eq!(
        got,
        [
            row("data", "clean", false),
            row("model.bin", "clean", false)
        ]
    );
    assert!(stderr.contains("ignoring damaged pack"), "{stderr}");
}

#[test]
fn a_damaged_pack_is_reported_once_when_the_store_is_opened_too() {
    // A changed directory is compared with its stored listing: the store
    // is opened while the footers are read on another thread, and
    // whichever reads them first reports the damage, the other nothing.
    // Each order is forced by holding the other side back a moment.
    for wait_for in ["store.lazy_footers", "store.lazy_open"] {
        let mut repo = clean_repo();
        damage_trailers(&repo);
        repo.write("data/d0/f00.txt", "edited\n");
        repo.set_env("CAIRN_FAILPOINTS_RUN", &format!("{wait_for}=sleep 0.5"));
        let (got, stderr) = rows(&repo);
        assert_eq!(
            got,
            [
                row("data", "modified", false),
                row("model.bin", "clean", false)
            ],
            "{wait_for}"
        );
        let packs = repo.packs().len();
        assert_eq!(
            stderr.matches("ignoring damaged pack").count(),
            packs,
            "{wait_for}: {stderr}"
        );
    }
}

#[test]
fn a_copy_on_the_damage_list_counts_as_absent() {
    let repo = clean_repo();
    let tree = repo.pointer("data")["id"].clone();
    let packs = repo.packs();
    // The damage list names a copy by pack file, kind (4: tree) and id;
    // naming it in every pack leaves no good copy.
    let list: String = packs
        .iter()
        .map(|p| format!("{} 4 {tree}\n", p.file_name().unwrap().to_str().unwrap()))
        .collect();
    fs::write(repo.path(".git/cairn/cache/damaged"), list).unwrap();
    let (got, _) = rows(&repo);
    assert_eq!(
        got,
        [row("data", "clean", false), row("model.bin", "clean", true)]
    );
}

#[test]
fn a_changed_directory_still_names_its_files_and_a_clean_one_opens_no_store() {
    let repo = clean_repo();
    // A clean tree never creates the store's directories: it is not opened.
    fs::remove_dir_all(repo.path(".git/cairn/cache/tmp")).unwrap();
    let (got, _) = rows(&repo);
    assert_eq!(
        got,
        [row("data", "clean", true), row("model.bin", "clean", true)]
    );
    repo.write("data/d1/f01.txt", "edited\n");
    let v = repo.cairn_json(&["status", "--json"]);
    let data = &status_rows(&v)["data"];
    assert_eq!(data["state"], "modified", "{v}");
    assert_eq!(data["stored"], true, "{v}");
    assert_eq!(
        common::changes(data),
        [("data/d1/f01.txt".to_string(), "modified".to_string())]
    );
}
