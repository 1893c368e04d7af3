//! `cairn remote add/list/remove`: remotes live in the committed config, so
//! a fresh clone knows them.

use crate::common;

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

/// `remote add --endpoint --region --allow-http` writes the connection
/// settings beside the URL in the committed config, and a clone reaches an
/// S3-compatible server with them and nothing but credentials in its
/// environment.
#[test]
fn endpoint_settings_in_the_committed_config_reach_an_s3_compatible_server() {
    let server = common::s3::S3Server::shared();
    let bucket = server.bucket("endpoint");
    let mut repo = TestRepo::init();
    let creds: Vec<(String, String)> = server
        .env()
        .into_iter()
        .filter(|(k, _)| k == "AWS_ACCESS_KEY_ID" || k == "AWS_SECRET_ACCESS_KEY")
        .collect();
    repo.set_envs(&creds);
    let url = format!("s3://{bucket}/p");
    repo.cairn_ok(&[
        "remote",
        "add",
        "origin",
        &url,
        "--endpoint",
        &server.endpoint,
        "--region",
        "us-east-1",
        "--allow-http",
    ]);
    let cfg = repo.read_string(".cairn/config.toml");
    assert!(
        cfg.contains(&format!(
            "[remote.origin]\nurl = \"{url}\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\nallow_http = true\n",
            server.endpoint
        )),
        "{cfg}"
    );
    repo.write("data/a.bin", vec![3u8; 300_000]);
    repo.cairn_ok(&["add", "data"]);
    repo.commit_all("data");
    repo.cairn_ok(&["push"]);
    let mut clone = TestRepo::clone_of(&repo);
    clone.set_envs(&creds);
    clone.cairn_ok(&["pull"]);
    assert_eq!(clone.read("data/a.bin"), vec![3u8; 300_000]);

    // An endpoint with credentials in it is refused, and not echoed; a
    // bad flag value is a usage error (exit 2), and the config is as it was.
    let config = repo.read(".cairn/config.toml");
    for endpoint in [
        "https://me:SuperSecret-DoNotPrint-123@minio.example",
        "banana",
    ] {
        let out = repo
            .cairn(&["remote", "add", "other", "s3://b", "--endpoint", endpoint])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{endpoint}: {stderr}");
        assert_error_report(&stderr, &["remote URL"]);
        assert!(!stderr.contains("SuperSecret-DoNotPrint-123"), "{stderr}");
        assert_eq!(repo.read(".cairn/config.toml"), config);
    }
}

/// `cairn push` with no arguments sends HEAD's data as well as the work
/// tree's: after `cairn checkout HEAD~1` (work tree at v1, HEAD at v2), a
/// clone of HEAD can still pull.
#[test]
fn push_without_arguments_also_sends_heads_data() {
    let repo = TestRepo::builder()
        .folder_remote("origin", "remote-store")
        .file("data/a.bin", vec![1u8; 100_000])
        .commit("v1")
        .file("data/a.bin", vec![2u8; 100_000])
        .commit("v2")
        .build();
    repo.cairn_ok(&["checkout", "HEAD~1"]);
    assert_eq!(repo.read("data/a.bin"), vec![1u8; 100_000]);
    repo.cairn_ok(&["push"]);
    let clone = repo.pulled_clone();
    assert_eq!(clone.read("data/a.bin"), vec![2u8; 100_000], "HEAD's data");
    clone.git(&["checkout", "-q", "HEAD~1"]);
    clone.cairn_ok(&["pull"]);
    assert_eq!(
        clone.read("data/a.bin"),
        vec![1u8; 100_000],
        "the work tree's data"
    );
}
