//! `cairn remote add/list/remove` (issue "cairn remotes", first step):
//! remotes live in the committed config, so a fresh clone knows them.

mod common;

use common::{assert_error_report, TestRepo};

#[test]
fn add_list_remove_and_a_fresh_clone_knows_the_remotes() {
    let repo = TestRepo::init();
    repo.cairn_ok(&["remote", "add", "origin", "s3://team-bucket/datasets"]);
    repo.cairn_ok(&["remote", "add", "backup", "../backup-store"]);
    assert_eq!(
        repo.cairn_ok(&["remote", "list"]),
        "origin\ts3://team-bucket/datasets (default)\nbackup\t../backup-store\n"
    );
    repo.cairn_ok(&["remote", "add", "--default", "local", "file:///srv/cairn"]);
    let v = repo.cairn_json(&["remote", "list", "--json"]);
    let rows = v["remotes"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2]["name"], "local");
    assert_eq!(rows[2]["default"], true);
    assert_eq!(rows[0]["default"], false);

    // The committed file keeps its comments and gains plain tables.
    let cfg = repo.read_string(".cairn/config.toml");
    assert!(cfg.contains("# cairn repository configuration"), "{cfg}");
    assert!(
        cfg.contains("[remote.origin]\nurl = \"s3://team-bucket/datasets\""),
        "{cfg}"
    );

    repo.cairn_ok(&["remote", "remove", "local"]);
    assert_eq!(repo.cairn_ok(&["remote", "list"]).lines().count(), 2);

    repo.commit_all("remotes");
    let clone = repo.base().join("clone");
    repo.git(&[
        "clone",
        "-q",
        repo.path("").to_str().unwrap(),
        clone.to_str().unwrap(),
    ]);
    let out = repo
        .cairn(&["-C", clone.to_str().unwrap(), "remote", "list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "origin\ts3://team-bucket/datasets\nbackup\t../backup-store\n"
    );
}

#[test]
fn bad_names_urls_and_duplicates_fail_clearly_and_change_nothing() {
    let repo = TestRepo::init();
    repo.cairn_ok(&["remote", "add", "origin", "gs://bucket"]);
    let before = repo.read_string(".cairn/config.toml");
    for (args, mention) in [
        (
            vec!["remote", "add", "origin", "s3://other"],
            "already exists",
        ),
        (vec!["remote", "add", "x", "ftp://host/x"], "unknown scheme"),
        (vec!["remote", "add", "x", "s3://"], "bucket"),
        (
            vec!["remote", "add", "x", "https://user:secret@host/x"],
            "credentials",
        ),
        (
            vec!["remote", "add", "a b", "s3://b"],
            "invalid remote name",
        ),
        (vec!["remote", "remove", "nope"], "no remote named"),
    ] {
        let (_, stderr) = repo.cairn_fail(&args);
        assert_error_report(&stderr, &[mention]);
        assert!(!stderr.contains("secret"), "a secret leaked: {stderr}");
        assert_eq!(
            repo.read_string(".cairn/config.toml"),
            before,
            "{args:?} changed the config"
        );
    }
}
