//! Everyday git workflows: remotes at any commit and given as URLs, files
//! written with the modes users expect, data git already tracks, clones that
//! bring their data along, and the README's first session run as written.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{assert_error_report, random_bytes, TestRepo};

/// A command (`program ARGS`) with the repository's isolated environment,
/// run in `dir`.
fn run_in(repo: &TestRepo, dir: &Path, program: &str, args: &[&str]) -> Output {
    let proto = repo.cairn_std(&[]);
    let mut cmd = Command::new(program);
    for (k, v) in proto.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.current_dir(dir)
        .args(args)
        .output()
        .expect("run a command")
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn mode_of(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A repository with `data.bin` at v1 (tag v1), a folder remote `origin`
/// at ../store added in a later commit, and everything pushed.
fn repo_with_remote_added_later() -> TestRepo {
    TestRepo::builder()
        .file("data.bin", random_bytes("v1", 200_000))
        .commit("v1")
        .tag("v1")
        .relative_folder_remote("origin", "store")
        .commit("remote")
        .push()
        .build()
}

#[test]
fn a_commit_from_before_remote_add_uses_the_default_branchs_remote() {
    let a = repo_with_remote_added_later();
    a.git(&["checkout", "-q", "v1"]);
    assert!(!a.read_string(".cairn/config.toml").contains("[remote"));
    std::fs::remove_dir_all(a.path(".git/cairn/cache")).unwrap();
    a.remove("data.bin");
    a.cairn_ok(&["pull"]);
    assert_eq!(a.read("data.bin"), random_bytes("v1", 200_000));

    // -v says where the remote came from.
    let out = a
        .cairn(&["-v", "verify", "--remote", "origin"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("remote origin (../store), from .cairn/config.toml on main"),
        "{stderr}"
    );
    let v = a.cairn_json(&["remote", "list", "--json"]);
    let rows = v["remotes"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["name"], "origin");
    assert_eq!(rows[0]["layer"], "default-branch");
    assert_eq!(rows[0]["default"], true);

    // An edited config is the user's word, not an old commit's: no fallback.
    let cfg = a.read_string(".cairn/config.toml");
    a.write(".cairn/config.toml", format!("{cfg}# edited\n"));
    let (_, stderr) = a.cairn_fail(&["verify", "--remote", "origin"]);
    assert_error_report(&stderr, &["no remote named \"origin\""]);
    a.git(&["checkout", "--", ".cairn/config.toml"]);

    // A clone at that tag: the remote-tracking HEAD names the remote.
    let c = TestRepo::clone_of(&a);
    c.git(&["checkout", "-q", "v1"]);
    let store = a.base().join("store");
    let local = format!("[remote.origin]\nurl = \"{}\"\n", store.display());
    c.write(".cairn/config.local.toml", local);
    c.cairn_ok(&["pull"]);
    assert_eq!(c.read("data.bin"), random_bytes("v1", 200_000));
}

#[test]
fn dash_r_takes_a_url_as_well_as_a_name() {
    let a = TestRepo::init();
    a.write("data.bin", random_bytes("u", 100_000));
    a.cairn_ok(&["add", "data.bin"]);
    a.commit_all("data");
    let (_, stderr) = a.cairn_fail(&["push"]);
    assert_error_report(&stderr, &["no remote"]);
    a.cairn_ok(&["push", "-r", "../by-url"]);
    let abs = a.base().join("by-url");
    assert!(abs.is_dir(), "the URL's folder holds the data");
    let abs = abs.to_str().unwrap().to_string();
    a.cairn_ok(&["verify", "--remote", &abs]);
    a.cairn_ok(&["gc", "--remote", &format!("file://{abs}"), "--dry-run"]);
    std::fs::remove_dir_all(a.path(".git/cairn/cache")).unwrap();
    a.remove("data.bin");
    a.cairn_ok(&["pull", "-r", &abs]);
    assert_eq!(a.read("data.bin"), random_bytes("u", 100_000));
    // Nothing was written to the config.
    assert!(!a.read_string(".cairn/config.toml").contains("[remote"));

    // cairn get: a relative -r is relative to where the user is.
    let other = TestRepo::plain();
    let out = run_in(
        &other,
        &other.root,
        common::cairn_bin().to_str().unwrap(),
        &["get", a.root.to_str().unwrap(), "data.bin", "-r", &abs],
    );
    ok(out, "cairn get -r URL");
    assert_eq!(other.read("data.bin"), random_bytes("u", 100_000));
}

#[test]
fn remote_add_local_writes_only_the_uncommitted_file() {
    let a = TestRepo::init();
    a.cairn_ok(&["remote", "add", "origin", "s3://team/data"]);
    a.commit_all("remote");
    let committed = a.read_string(".cairn/config.toml");
    a.cairn_ok(&["remote", "add", "--local", "mine", "../mine"]);
    assert_eq!(a.read_string(".cairn/config.toml"), committed);
    let local = a.read_string(".cairn/config.local.toml");
    assert!(local.contains("[remote.mine]"), "{local}");
    assert!(
        !local.contains("default"),
        "a local remote does not take over: {local}"
    );
    assert_eq!(a.git(&["status", "--porcelain"]), "", "nothing to commit");
    assert_eq!(
        a.cairn_ok(&["remote", "list"]),
        "origin\ts3://team/data (default)\nmine\t../mine\t[local]\n"
    );
    a.cairn_ok(&["remote", "remove", "mine"]);
    assert!(!a.read_string(".cairn/config.local.toml").contains("mine"));
}

#[test]
fn remote_list_shows_every_layer_and_flags_a_broken_entry() {
    let a = TestRepo::init();
    a.cairn_ok(&["remote", "add", "origin", "s3://team/data"]);
    let user = a.home.join(".config/cairn/config.toml");
    std::fs::create_dir_all(user.parent().unwrap()).unwrap();
    std::fs::write(&user, "[remote.personal]\nurl = \"gs://me/cache\"\n").unwrap();
    a.write(
        ".cairn/config.local.toml",
        "[remote.broken]\nurl = 3\n[remote.bad-url]\nurl = \"ftp://x\"\n[remote.ok]\nurl = \"../ok\"\n",
    );
    let v = a.cairn_json(&["remote", "list", "--json"]);
    let rows: Vec<(String, String, bool)> = v["remotes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["layer"].as_str().unwrap().to_string(),
                r["error"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("personal".into(), "user".into(), true),
            ("origin".into(), "committed".into(), true),
            ("broken".into(), "local".into(), false),
            ("bad-url".into(), "local".into(), false),
            ("ok".into(), "local".into(), true),
        ]
    );
    let out = a.cairn(&["remote", "list"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("broken\tINVALID ("), "{text}");
    assert!(text.contains("ok\t../ok\t[local]"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning:"));
}

#[test]
fn written_files_keep_their_mode_and_new_ones_follow_the_umask() {
    let a = TestRepo::init();
    a.write("data.bin", random_bytes("m", 10_000));
    let cairn = common::cairn_bin().to_str().unwrap().to_string();
    let sh = |script: &str| {
        let script = format!("umask 022 && {script}");
        ok(run_in(&a, &a.root, "sh", &["-c", &script]), &script)
    };
    sh(&format!("'{cairn}' add data.bin"));
    assert_eq!(a.mode("data.bin.cairn"), 0o644);
    assert_eq!(a.mode(".gitignore"), 0o644);

    // Rewritten files keep whatever mode they had.
    a.chmod(".gitignore", 0o640);
    a.chmod("data.bin.cairn", 0o664);
    a.chmod(".cairn/config.toml", 0o600);
    a.write("more.bin", random_bytes("n", 10_000));
    a.write("data.bin", random_bytes("m2", 10_000));
    sh(&format!("'{cairn}' add data.bin more.bin"));
    sh(&format!("'{cairn}' remote add origin ../store"));
    assert_eq!(a.mode(".gitignore"), 0o640);
    assert_eq!(a.mode("data.bin.cairn"), 0o664);
    assert_eq!(a.mode(".cairn/config.toml"), 0o600);
    assert_eq!(a.mode("more.bin.cairn"), 0o644);
    // Another umask: new files follow it.
    a.write("third.bin", random_bytes("t", 1000));
    ok(
        run_in(
            &a,
            &a.root,
            "sh",
            &["-c", &format!("umask 027 && '{cairn}' add third.bin")],
        ),
        "add under umask 027",
    );
    assert_eq!(a.mode("third.bin.cairn"), 0o640);
}

#[test]
fn get_works_for_every_tracked_path_shape() {
    let files = [
        ("root.bin", "r"),
        ("models/model.bin", "m"),
        ("deep/er/weights.bin", "w"),
        ("data/a.csv", "a"),
        ("data/sub/b.csv", "b"),
    ];
    let mut a = TestRepo::builder().relative_folder_remote("origin", "store");
    for (p, seed) in files {
        a = a.file(p, random_bytes(seed, 50_000));
    }
    let a = a
        .add(&[
            "root.bin",
            "models/model.bin",
            "deep/er/weights.bin",
            "data",
        ])
        .commit("data")
        .push()
        .build();
    let other = TestRepo::plain();
    let url = a.root.to_str().unwrap();
    let get = |args: &[&str]| {
        let mut all = vec!["get", url];
        all.extend_from_slice(args);
        other.cairn_ok(&all);
    };
    get(&["root.bin"]);
    assert_eq!(other.read("root.bin"), random_bytes("r", 50_000));
    get(&["models/model.bin"]);
    assert_eq!(other.read("model.bin"), random_bytes("m", 50_000));
    get(&["deep/er/weights.bin", "-o", "w.bin"]);
    assert_eq!(other.read("w.bin"), random_bytes("w", 50_000));
    get(&["data"]);
    assert_eq!(other.read("data/sub/b.csv"), random_bytes("b", 50_000));
    get(&["data/sub/b.csv", "-o", "b.csv"]);
    assert_eq!(other.read("b.csv"), random_bytes("b", 50_000));
    // The files got ordinary modes, not tempfile's 0600.
    assert_ne!(
        mode_of(&other.path("model.bin")) & 0o077,
        0,
        "group/other bits"
    );
}

#[test]
fn add_refuses_data_git_already_tracks_unless_asked_to_untrack_it() {
    let a = TestRepo::init();
    a.write("big.csv", random_bytes("g", 30_000));
    a.write("tables/one.csv", random_bytes("1", 30_000));
    a.write("tables/two.csv", random_bytes("2", 30_000));
    a.commit_all("oops, data in git");

    let (_, stderr) = a.cairn_fail(&["add", "big.csv"]);
    assert_error_report(&stderr, &["big.csv", "tracked by git", "git rm --cached"]);
    assert!(!a.exists("big.csv.cairn"), "nothing written");
    assert!(!a.exists(".gitignore"), "nothing ignored");
    let (_, stderr) = a.cairn_fail(&["add", "tables"]);
    assert_error_report(&stderr, &["tables", "2 path(s)", "--untrack-git"]);
    assert!(!a.exists("tables.cairn"));

    a.cairn_ok(&["add", "--untrack-git", "big.csv", "tables"]);
    assert_eq!(a.git(&["ls-files", "big.csv", "tables"]), "");
    assert_eq!(
        a.read("big.csv"),
        random_bytes("g", 30_000),
        "the file stays"
    );
    assert!(a.exists("big.csv.cairn") && a.exists("tables.cairn"));
    a.git(&["add", "-A"]);
    let staged = a.git(&["diff", "--cached", "--name-status"]);
    assert!(staged.contains("D\tbig.csv"), "{staged}");
    assert!(staged.contains("A\tbig.csv.cairn"), "{staged}");
    assert!(!staged.contains("A\tbig.csv\n"), "{staged}");
}

/// The isolated environment's global git config.
fn global_git(a: &TestRepo, args: &[&str]) -> Output {
    let mut all = vec!["config", "--global"];
    all.extend_from_slice(args);
    run_in(a, &a.root, "git", &all)
}

#[test]
fn after_global_install_hooks_a_fresh_clone_restores_data_on_git_checkout() {
    let a = TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .file("data.bin", random_bytes("h1", 100_000))
        .commit("v1")
        .tag("v1")
        .push()
        .file("data.bin", random_bytes("h2", 100_000))
        .commit("v2")
        .push()
        .build();

    a.cairn_ok(&["install-hooks", "--global"]);
    let template = ok(
        global_git(&a, &["--get", "init.templateDir"]),
        "templateDir",
    );
    let template = PathBuf::from(template.trim());
    assert!(template.starts_with(&a.home), "{}", template.display());
    assert!(template.join("hooks/post-checkout").is_file());

    // A fresh clone (same user, no cache) has its data at once ...
    let clone = a.base().join("clone");
    a.git(&[
        "clone",
        "-q",
        a.root.to_str().unwrap(),
        clone.to_str().unwrap(),
    ]);
    assert!(clone.join(".git/hooks/post-checkout").is_file());
    assert_eq!(
        std::fs::read(clone.join("data.bin")).unwrap(),
        random_bytes("h2", 100_000)
    );
    // ... and `git checkout TAG` brings that tag's data.
    ok(
        run_in(&a, &clone, "git", &["checkout", "-q", "v1"]),
        "git checkout v1",
    );
    assert_eq!(
        std::fs::read(clone.join("data.bin")).unwrap(),
        random_bytes("h1", 100_000)
    );

    // In a repository without cairn the hooks do nothing, quietly.
    let plain = a.base().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    ok(run_in(&a, &plain, "git", &["init", "-q"]), "git init");
    assert!(plain.join(".git/hooks/post-checkout").is_file());
    std::fs::write(plain.join("f.txt"), "x\n").unwrap();
    ok(run_in(&a, &plain, "git", &["add", "f.txt"]), "git add");
    ok(
        run_in(&a, &plain, "git", &["commit", "-qm", "f"]),
        "git commit",
    );
    let out = run_in(&a, &plain, "git", &["checkout", "-q", "-b", "other"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "hooks spoke up");

    // Uninstall: the setting goes, new clones get no hooks.
    a.cairn_ok(&["install-hooks", "--global", "--uninstall"]);
    assert!(!global_git(&a, &["--get", "init.templateDir"])
        .status
        .success());
    assert!(!template.join("hooks/post-checkout").exists());
    let clone2 = a.base().join("clone2");
    a.git(&[
        "clone",
        "-q",
        a.root.to_str().unwrap(),
        clone2.to_str().unwrap(),
    ]);
    assert!(!clone2.join(".git/hooks/post-checkout").exists());

    // Someone else's template is not replaced.
    ok(
        global_git(&a, &["init.templateDir", "/srv/their-template"]),
        "set templateDir",
    );
    let (_, stderr) = a.cairn_fail(&["install-hooks", "--global"]);
    assert_error_report(&stderr, &["/srv/their-template", "init.templateDir"]);
    let now = ok(global_git(&a, &["--get", "init.templateDir"]), "get");
    assert_eq!(now.trim(), "/srv/their-template");

    // A global core.hooksPath would bypass the template's hooks: said so.
    ok(global_git(&a, &["--unset", "init.templateDir"]), "unset");
    ok(
        global_git(&a, &["core.hooksPath", "/srv/hooks"]),
        "set hooksPath",
    );
    let out = a.cairn(&["install-hooks", "--global"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning:") && stderr.contains("core.hooksPath"),
        "{stderr}"
    );
}

/// The first ```sh block under `## A first session` in README.md.
fn readme_first_session() -> Vec<String> {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("\n## A first session")
        .expect("README has a `## A first session` section");
    let rest = &readme[start..];
    let open = rest.find("```sh\n").expect("a ```sh block in that section") + 6;
    let len = rest[open..].find("```").expect("the block is closed");
    rest[open..open + len].lines().map(str::to_string).collect()
}

#[test]
fn readme_first_session_runs_as_written() {
    // The harness itself stops at a failing line, even inside `&&`.
    let bad: Vec<String> = ["true", "cd / && false  # comment", "true"]
        .map(String::from)
        .to_vec();
    let out = common::shell::run_session(&bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2: cd / && false"));

    let lines = readme_first_session();
    assert!(lines.iter().any(|l| l.contains("cairn ")), "{lines:?}");
    let out = common::shell::run_session(&lines);
    assert!(
        out.status.success(),
        "the README session failed\nstderr:\n{}\nstdout:\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
}
