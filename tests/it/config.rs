//! `cairn config` and `cairn doctor`: every layer read, written and
//! listed with its origin, comments kept, typo'd keys warned about once
//! with the closest key, bad values refused with the file untouched, and
//! doctor's findings (an unreachable remote, a damaged pack) turning into
//! exit 1. Snapshots pin the exact output.

use std::fs;

use crate::common;

use common::snap::{assert_transcript, Transcript};
use common::TestRepo;

fn read(repo: &TestRepo, rel: &str) -> String {
    fs::read_to_string(repo.root.join(rel)).unwrap()
}

fn user_file(repo: &TestRepo) -> std::path::PathBuf {
    repo.home.join(".config/cairn/config.toml")
}

fn stderr_of(repo: &TestRepo, args: &[&str]) -> (Option<i32>, String, String) {
    let out = repo.cairn(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn get_set_unset_and_list_in_each_layer_with_origins() {
    let mut repo = TestRepo::init();
    assert_eq!(repo.cairn_ok(&["config", "core.format"]), "1\n");
    // Not set anywhere: nothing printed, exit 1 (as `git config`).
    let (code, out, err) = stderr_of(&repo, &["config", "gc.grace"]);
    assert_eq!((code, out.as_str(), err.as_str()), (Some(1), "", ""));

    repo.cairn_ok(&["config", "--user", "gc.grace", "5d"]);
    assert_eq!(
        fs::read_to_string(user_file(&repo)).unwrap(),
        "[gc]\ngrace = \"5d\"\n"
    );
    assert_eq!(repo.cairn_ok(&["config", "gc.grace"]), "5d\n");
    repo.cairn_ok(&["config", "gc.grace", "2d"]);
    assert!(read(&repo, ".cairn/config.toml").contains("[gc]\ngrace = \"2d\"\n"));
    assert_eq!(repo.cairn_ok(&["config", "gc.grace"]), "2d\n");
    repo.cairn_ok(&["config", "--local", "gc.grace", "12h"]);
    assert_eq!(
        repo.cairn_ok(&["config", "gc.grace", "--show-origin"]),
        "file:.cairn/config.local.toml\t12h\n"
    );
    // One layer at a time.
    assert_eq!(repo.cairn_ok(&["config", "--user", "gc.grace"]), "5d\n");
    assert_eq!(
        repo.cairn_ok(&["config", "--local", "--list"]),
        "gc.grace=12h\n"
    );
    // The environment wins over every file.
    repo.cairn_ok(&["config", "--local", "cache.dir", "../shared"]);
    repo.set_env("CAIRN_CACHE_DIR", "/elsewhere");
    let user = user_file(&repo).display().to_string();
    assert_eq!(
        repo.cairn_ok(&["config", "--list", "--show-origin"]),
        "env:CAIRN_CACHE_DIR\tcache.dir=/elsewhere\n\
         file:.cairn/config.toml\tcore.format=1\n\
         file:.cairn/config.local.toml\tgc.grace=12h\n"
    );
    let json = repo.cairn_json(&["config", "gc.grace", "--json"]);
    assert_eq!(json["value"], "12h");
    assert_eq!(json["origin"]["scope"], "local");

    // Unset peels the layers off one by one.
    repo.cairn_ok(&["config", "--local", "--unset", "gc.grace"]);
    assert_eq!(repo.cairn_ok(&["config", "gc.grace"]), "2d\n");
    repo.cairn_ok(&["config", "--unset", "gc.grace"]);
    assert!(!read(&repo, ".cairn/config.toml").contains("[gc]"));
    assert_eq!(
        repo.cairn_ok(&["config", "gc.grace", "--show-origin"]),
        format!("file:{user}\t5d\n")
    );
    let (_, err) = repo.cairn_fail(&["config", "--unset", "gc.grace"]);
    assert!(
        err.contains("gc.grace is not set in .cairn/config.toml"),
        "{err}"
    );
    repo.cairn_ok(&["config", "--user", "--unset", "gc.grace"]);
    assert_eq!(fs::read_to_string(user_file(&repo)).unwrap(), "");
}

#[test]
fn the_user_file_is_read_and_written_outside_a_repository() {
    let plain = TestRepo::plain();
    plain.cairn_ok(&["config", "--user", "gc.grace", "3d"]);
    assert_eq!(plain.cairn_ok(&["config", "gc.grace"]), "3d\n");
    assert_eq!(plain.cairn_ok(&["config", "--list"]), "gc.grace=3d\n");
    // A repository file needs a repository.
    let (_, err) = plain.cairn_fail(&["config", "--local", "gc.grace", "1d"]);
    assert!(err.contains("not inside a git work tree"), "{err}");
}

#[test]
fn edits_keep_comments_layout_and_unknown_keys() {
    let repo = TestRepo::builder().folder_remote("origin", "store").build();
    let path = repo.root.join(".cairn/config.toml");
    let mut before = fs::read_to_string(&path).unwrap();
    before.push_str("\n# how long gc waits\n[gc]\ngrace = \"1d\" # keep a day\n");
    fs::write(&path, &before).unwrap();
    repo.cairn_ok(&["config", "gc.grace", "2d"]);
    repo.cairn_ok(&["config", "remote.origin.retries", "5"]);
    let after = fs::read_to_string(&path).unwrap();
    assert_eq!(
        after,
        before
            .replace("grace = \"1d\" # keep a day", "grace = \"2d\" # keep a day")
            .replace(
                &format!("url = \"{}\"\n", repo.remote_dir("origin").display()),
                &format!(
                    "url = \"{}\"\nretries = 5\n",
                    repo.remote_dir("origin").display()
                )
            )
    );
    repo.cairn_ok(&["config", "--unset", "remote.origin.retries"]);
    repo.cairn_ok(&["config", "gc.grace", "1d"]);
    assert_eq!(fs::read_to_string(&path).unwrap(), before);
}

#[test]
fn a_typo_is_warned_about_once_with_the_closest_key() {
    let repo = TestRepo::init();
    fs::write(
        repo.root.join(".cairn/config.local.toml"),
        "[gc]\ngrase = \"2d\"\n",
    )
    .unwrap();
    let warning = "warning: unknown config key `gc.grase` in";
    for args in [
        &["status"][..],
        &["config", "--list"],
        &["config", "gc.grace"],
    ] {
        let (_, _, err) = stderr_of(&repo, args);
        assert_eq!(err.matches(warning).count(), 1, "{args:?}: {err}");
        assert!(err.contains("(did you mean `gc.grace`?)"), "{err}");
    }
    // Outside a repository, the user file's typos are said too.
    let plain = TestRepo::plain();
    fs::create_dir_all(user_file(&plain).parent().unwrap()).unwrap();
    fs::write(user_file(&plain), "[cahce]\ndir = \"/x\"\n").unwrap();
    let (code, _, err) = stderr_of(&plain, &["config", "--list"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        err.matches("unknown config key `cahce.dir`").count(),
        1,
        "{err}"
    );
    assert!(err.contains("did you mean `cache.dir`?"), "{err}");
}

#[test]
fn bad_keys_and_values_are_refused_and_change_nothing() {
    let repo = TestRepo::builder().folder_remote("origin", "store").build();
    let committed = read(&repo, ".cairn/config.toml");
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["config", "gc.grase", "1d"],
            "unknown config key `gc.grase`",
            "did you mean `gc.grace`?",
        ),
        (
            &["config", "gc.grace", "banana"],
            "config gc.grace = \"banana\" is invalid",
            "§8.1",
        ),
        (
            &["config", "remote.origin.retries", "99"],
            "from 0 to 20",
            "§8.1",
        ),
        (
            &["config", "remote.origin.allow_http", "yes"],
            "use true or false",
            "§8.1",
        ),
        (
            &["config", "remote.origin.endpoint", "ftp://x"],
            "an endpoint is an http:// or https:// URL",
            "§8.1",
        ),
        (
            &["config", "core.format", "2"],
            "the only supported value is 1",
            "§8.1",
        ),
        (
            &["config", "remote.origin.url", "/elsewhere"],
            "remotes are created and removed by `cairn remote`",
            "cairn remote add",
        ),
        (
            &["config", "remote.nope.region", "eu"],
            "no remote named \"nope\"",
            "remote list",
        ),
        (
            &["config", "remote.default", "nope"],
            "no remote named \"nope\"",
            "remote list",
        ),
        (
            &["config", "cache.dir", "/shared"],
            "does not set cache.dir",
            "--local cache.dir",
        ),
    ];
    for (args, message, hint) in cases {
        let (_, err) = repo.cairn_fail(args);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{args:?}: {err}");
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(message),
            "{args:?}: {err}"
        );
        assert!(
            lines[1].starts_with("hint: ") && lines[1].contains(hint),
            "{args:?}: {err}"
        );
        assert_eq!(read(&repo, ".cairn/config.toml"), committed, "{args:?}");
        assert!(!repo.root.join(".cairn/config.local.toml").exists());
    }
    // The same refusals with --local leave no local file behind.
    repo.cairn_fail(&["config", "--local", "gc.grace", "banana"]);
    assert!(!repo.root.join(".cairn/config.local.toml").exists());
    // Usage errors exit 2.
    for args in [
        &["config"][..],
        &["config", "--list", "gc.grace"],
        &["config", "--local", "--user", "--list"],
    ] {
        repo.cairn(args).assert().code(2);
    }
}

/// Cut a pack short, so its footer cannot be read.
fn damage_a_pack(repo: &TestRepo) {
    let pack = repo.packs().into_iter().next().expect("a pack");
    let bytes = fs::read(&pack).unwrap();
    fs::write(&pack, &bytes[..bytes.len() / 2]).unwrap();
}

#[test]
fn doctor_is_healthy_then_finds_an_unreachable_remote_and_a_damaged_pack() {
    let repo = TestRepo::builder()
        .folder_remote("origin", "store")
        .file("data.bin", common::random_bytes("d", 50_000))
        .add(&["data.bin"])
        .commit("data")
        .push()
        .build();
    let json = repo.cairn_json(&["doctor", "--json"]);
    assert_eq!(json["problems"], serde_json::json!([]));
    assert_eq!(json["remotes"][0]["name"], "origin");
    assert_eq!(json["remotes"][0]["reachable"], true);
    assert_eq!(json["cache"]["packs"], 1);
    assert_eq!(json["hooks_installed"], false);
    assert!(json["cache"]["bytes"].as_u64().unwrap() > 0);
    assert!(repo.cairn_ok(&["doctor"]).contains("no problems found"));

    // A folder below a file can never be created: unreachable.
    fs::write(repo.base().join("not-a-dir"), "x").unwrap();
    let gone = repo.base().join("not-a-dir/cairn-store");
    repo.cairn_ok(&["remote", "add", "gone", gone.to_str().unwrap()]);
    let (_, err) = repo.cairn_fail(&["doctor"]);
    assert!(err.contains("cairn doctor found 1 problem(s)"), "{err}");
    let out = repo.cairn(&["doctor", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["remotes"][1]["name"], "gone");
    assert_eq!(json["remotes"][1]["reachable"], false);
    assert!(json["problems"][0]
        .as_str()
        .unwrap()
        .contains("remote gone"));
    repo.cairn_ok(&["remote", "remove", "gone"]);

    // A cache that cannot be opened (its directory would be below a file).
    let blocker = repo.base().join("a-file");
    fs::write(&blocker, "x").unwrap();
    let mut elsewhere = TestRepo::clone_of(&repo);
    elsewhere.set_env("CAIRN_CACHE_DIR", blocker.join("cache").to_str().unwrap());
    let out = elsewhere.cairn(&["doctor", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["problems"][0].as_str().unwrap().starts_with("cache: "),
        "{json}"
    );

    damage_a_pack(&repo);
    let out = repo.cairn(&["doctor", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["cache"]["damaged_packs"].as_array().unwrap().len(), 1);
    assert!(json["problems"][0]
        .as_str()
        .unwrap()
        .starts_with("damaged pack"));
}

#[test]
fn doctor_calls_a_never_pushed_folder_remote_reachable_with_a_note() {
    let repo = TestRepo::init();
    let store = repo.base().join("stores/not-yet");
    repo.cairn_ok(&["remote", "add", "origin", store.to_str().unwrap()]);
    let json = repo.cairn_json(&["doctor", "--json"]);
    assert_eq!(json["problems"], serde_json::json!([]), "{json}");
    assert_eq!(json["remotes"][0]["reachable"], true);
    let note = json["remotes"][0]["note"].as_str().unwrap();
    assert!(note.contains("first push creates"), "{note}");
    // Doctor created nothing; the first push does.
    assert!(!store.exists());
    assert!(repo.cairn_ok(&["doctor"]).contains("nothing pushed yet"));
}

#[test]
fn doctor_outside_a_repository_reports_the_installation_and_succeeds() {
    let repo = TestRepo::init();
    let outside = repo.base().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let out = repo
        .cairn(&["-C", outside.to_str().unwrap(), "doctor", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["root"], serde_json::Value::Null);
    assert!(json["no_repository"]
        .as_str()
        .unwrap()
        .contains("not inside a git work tree"));
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    let text = repo.cairn_ok(&["-C", outside.to_str().unwrap(), "doctor"]);
    assert!(text.contains("repository: none"), "{text}");
    // A git repository without `cairn init` says so, too.
    let git_only = repo.base().join("git-only");
    fs::create_dir_all(&git_only).unwrap();
    let st = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(&git_only)
        .status()
        .unwrap();
    assert!(st.success());
    let text = repo.cairn_ok(&["-C", git_only.to_str().unwrap(), "doctor"]);
    assert!(text.contains("not initialised"), "{text}");
}

#[test]
fn snapshot_config_list_and_doctor() {
    let mut repo = TestRepo::builder()
        .envs(&[("RAYON_NUM_THREADS", "1")])
        .relative_folder_remote("origin", "store")
        .file("model.bin", common::random_bytes("model", 100_000))
        .add(&["model.bin"])
        .commit("model")
        .push()
        .build();
    repo.cairn_ok(&["config", "--user", "gc.grace", "2d"]);
    repo.cairn_ok(&["config", "--local", "remote.origin.connect_timeout", "2s"]);
    repo.set_env("CAIRN_REMOTE", "origin");
    let mut t = Transcript::new(&repo);
    t.ok(&repo, &["config", "--list", "--show-origin"]);
    t.ok(&repo, &["config", "--list", "--json"]);
    t.ok(&repo, &["doctor"]);
    t.ok(&repo, &["doctor", "--json"]);
    t.note("a typo and an unreachable remote");
    fs::write(
        repo.root.join(".cairn/config.local.toml"),
        "[remote.origin]\nconect_timeout = \"2s\"\n",
    )
    .unwrap();
    // Below a file: no push could ever create it.
    fs::write(repo.root.join("a-file"), "x").unwrap();
    repo.cairn_ok(&["remote", "add", "gone", "a-file/nowhere"]);
    t.expect(&repo, &["config", "--list", "--show-origin"], 0);
    t.expect(&repo, &["doctor"], 1);
    t.expect(&repo, &["doctor", "--json"], 1);
    assert_transcript!("config_doctor", t);
}

#[test]
fn a_value_of_the_wrong_type_is_fixed_with_config_itself() {
    let repo = TestRepo::init();
    let local = repo.root.join(".cairn/config.local.toml");
    fs::write(&local, "# mine\n[gc]\ngrace = 3\n").unwrap();
    let (_, err) = repo.cairn_fail(&["status"]);
    assert!(err.contains("invalid config file"), "{err}");
    let (code, _, err) = stderr_of(&repo, &["config", "--local", "gc.grace", "3d"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.starts_with("warning: invalid config file"), "{err}");
    assert_eq!(
        fs::read_to_string(&local).unwrap(),
        "# mine\n[gc]\ngrace = \"3d\"\n"
    );
    repo.cairn_ok(&["status"]);
}

/// A local address that accepts no connection: a listener whose accept
/// queue (backlog 0) is already full, so a connect hangs until its timeout.
fn blackhole() -> (std::net::TcpListener, Vec<std::net::TcpStream>, u16) {
    use std::os::fd::AsRawFd;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen(2) on a socket we own, to shrink its backlog.
    assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
    let addr = l.local_addr().unwrap();
    let mut fill = Vec::new();
    for _ in 0..4 {
        if let Ok(s) =
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200))
        {
            fill.push(s);
        }
    }
    (l, fill, addr.port())
}

#[test]
fn doctor_gives_a_silent_endpoint_seconds_whatever_the_config_allows() {
    let (_listener, _queued, port) = blackhole();
    let mut repo = TestRepo::init();
    repo.set_envs(&[
        ("AWS_ACCESS_KEY_ID", "AKIATESTTESTTESTTEST"),
        ("AWS_SECRET_ACCESS_KEY", "not-a-secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    repo.cairn_ok(&[
        "remote",
        "add",
        "origin",
        "s3://bucket/p",
        "--endpoint",
        &format!("http://127.0.0.1:{port}"),
        "--allow-http",
    ]);
    repo.cairn_ok(&["config", "remote.origin.connect_timeout", "60s"]);
    repo.cairn_ok(&["config", "remote.origin.retries", "10"]);
    let started = std::time::Instant::now();
    let out = repo.cairn(&["doctor", "--json"]).output().unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["remotes"][0]["reachable"], false);
    assert!(
        json["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("remote origin"),
        "{json}"
    );
    assert!(took < std::time::Duration::from_secs(12), "took {took:?}");
}
