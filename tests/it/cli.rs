//! Command-line basics: help, version, completions, man page, usage errors
//! and the global flags.

use crate::common;

use predicates::prelude::*;

use common::{random_bytes, TestRepo};

#[test]
fn help_lists_every_command() {
    let repo = TestRepo::plain();
    let out = repo.cairn(&["--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for cmd in [
        "init",
        "add",
        "status",
        "checkout",
        "verify",
        "completions",
        "man",
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{cmd} "))),
            "--help does not list {cmd}:\n{help}"
        );
    }
    for flag in ["-C <DIR>", "--quiet", "--verbose"] {
        assert!(help.contains(flag), "--help does not show {flag}:\n{help}");
    }
}

#[test]
fn version_names_the_program() {
    let repo = TestRepo::plain();
    repo.cairn(&["--version"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(format!(
            "cairn {}",
            env!("CARGO_PKG_VERSION")
        )));
}

#[test]
fn completions_are_generated_for_each_shell() {
    let repo = TestRepo::plain();
    let bash = repo.cairn_ok(&["completions", "bash"]);
    assert!(bash.contains("_cairn"), "{bash}");
    assert!(bash.contains("complete "), "{bash}");
    assert!(bash.contains("checkout"), "{bash}");
    let zsh = repo.cairn_ok(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef cairn"), "{zsh}");
    let fish = repo.cairn_ok(&["completions", "fish"]);
    assert!(fish.contains("complete -c cairn"), "{fish}");
    repo.cairn(&["completions", "tcsh-2000"]).assert().code(2);
}

#[test]
fn man_page_is_roff() {
    let repo = TestRepo::plain();
    let man = repo.cairn_ok(&["man"]);
    assert!(man.lines().any(|l| l.starts_with(".TH cairn")), "{man}");
    assert!(man.contains("checkout"), "{man}");
}

#[test]
fn every_command_has_its_own_man_page() {
    let repo = TestRepo::plain();
    let add = repo.cairn_ok(&["man", "add"]);
    assert!(
        add.lines().any(|l| l.starts_with(".TH cairn-add 1")),
        "{add}"
    );
    assert!(
        add.contains("untrack"),
        "the page documents add's flags: {add}"
    );
    // A typo is a usage error naming the commands.
    repo.cairn(&["man", "ad"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no command named `ad`"));
    // --out-dir writes the overview and one page per listed command.
    let dir = repo.base().join("man");
    repo.cairn_ok(&["man", "--out-dir", dir.to_str().unwrap()]);
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    assert!(pages.contains(&"cairn.1".to_string()), "{pages:?}");
    let help = repo.cairn_ok(&["--help"]);
    let commands = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap();
    for verb in commands
        .lines()
        .filter_map(|l| l.strip_prefix("  ").filter(|l| !l.starts_with(' ')))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|v| *v != "help")
    {
        assert!(
            pages.contains(&format!("cairn-{verb}.1")),
            "no page for {verb}: {pages:?}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let repo = TestRepo::init();
    repo.cairn(&["frobnicate"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("frobnicate"));
    repo.cairn(&["add"]).assert().code(2);
    repo.cairn(&["status", "--no-such-flag"]).assert().code(2);
    repo.cairn(&["-q", "-v", "status"]).assert().code(2);
    repo.cairn(&[]).assert().code(2);
}

#[test]
fn dash_c_runs_in_another_directory() {
    let repo = TestRepo::init();
    repo.write("d.bin", random_bytes("d", 5000));
    let root = repo.root.to_str().unwrap().to_string();
    repo.cairn(&["-C", &root, "add", "d.bin"])
        .current_dir(&repo.home)
        .assert()
        .success();
    assert!(repo.exists("d.bin.cairn"));
    // -C also works after the subcommand (a global flag).
    repo.cairn(&["status", "-C", &root])
        .current_dir(&repo.home)
        .assert()
        .success();
    // And without it, the home directory is not a repository.
    repo.cairn(&["status"])
        .current_dir(&repo.home)
        .assert()
        .code(1);
}

#[test]
fn add_from_a_subdirectory_resolves_relative_paths() {
    let repo = TestRepo::init();
    repo.write("sub/dir/f.bin", random_bytes("f", 5000));
    repo.cairn(&["add", "f.bin"])
        .current_dir(repo.path("sub/dir"))
        .assert()
        .success();
    assert!(repo.exists("sub/dir/f.bin.cairn"));
    assert_eq!(repo.read_string("sub/dir/.gitignore"), "/f.bin\n");
}

#[test]
fn quiet_and_verbose() {
    let repo = TestRepo::init();
    repo.write("a.bin", random_bytes("a", 5000));
    repo.write("b.bin", random_bytes("b", 5000));
    repo.cairn(&["-q", "add", "a.bin"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    repo.cairn(&["add", "b.bin"])
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("added b.bin"));
    repo.cairn(&["status", "-v"])
        .assert()
        .success()
        .stderr(predicate::str::contains("vouched for by the stat index"));
    repo.cairn(&["status"])
        .assert()
        .success()
        .stderr(predicate::str::contains("vouched").not());
}

#[test]
fn add_json_describes_what_was_added() {
    let repo = TestRepo::init();
    let bytes = random_bytes("j", 70_000);
    repo.write("j.bin", &bytes);
    repo.write("d/x.bin", random_bytes("x", 100));
    repo.write("d/y.bin", random_bytes("y", 200));
    let v = repo.cairn_json(&["add", "--json", "j.bin", "d"]);
    let paths = v["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 2);
    assert_eq!(paths[0]["path"], "j.bin");
    assert_eq!(paths[0]["kind"], "file");
    assert_eq!(paths[0]["size"], 70_000);
    assert_eq!(paths[0]["id"].as_str().unwrap(), common::b3(&bytes));
    assert_eq!(paths[1]["path"], "d");
    assert_eq!(paths[1]["kind"], "dir");
    assert_eq!(paths[1]["files"], 2);
    assert_eq!(paths[1]["size"], 300);
    assert_eq!(v["files_read"], 3);
    assert_eq!(paths[1]["id"].as_str().unwrap(), repo.pointer("d")["id"]);
}

#[test]
fn init_remote_and_install_hooks_describe_what_they_did_in_json() {
    let repo = TestRepo::new();
    let v = repo.cairn_json(&["init", "--json"]);
    assert_eq!(v["created"], true);
    assert_eq!(v["root"], repo.root.to_str().unwrap());
    assert_eq!(v["cairn_dir"], repo.path(".cairn").to_str().unwrap());
    assert_eq!(repo.cairn_json(&["init", "--json"])["created"], false);

    let v = repo.cairn_json(&["remote", "add", "--json", "origin", "../store"]);
    assert_eq!(v["name"], "origin");
    assert_eq!(v["url"], "../store");
    assert_eq!(v["default"], true, "the first remote is the default");
    assert_eq!(v["local"], false);
    assert_eq!(
        v["config"],
        repo.path(".cairn/config.toml").to_str().unwrap()
    );
    let v = repo.cairn_json(&["remote", "add", "--json", "--local", "mine", "../mine"]);
    assert_eq!(v["default"], false, "a private remote does not take over");
    assert_eq!(v["local"], true);
    let local = repo.path(".cairn/config.local.toml");
    assert_eq!(v["config"], local.to_str().unwrap());
    // The listing keeps the exact shape and key order it always had,
    // after the schema version every output starts with.
    let committed = repo.path(".cairn/config.toml");
    assert_eq!(
        repo.cairn_ok(&["remote", "list", "--json"]),
        format!(
            "{{\"schema\":1,\"remotes\":[\
             {{\"default\":true,\"error\":null,\"layer\":\"committed\",\"name\":\"origin\",\"source\":\"{}\",\"url\":\"../store\"}},\
             {{\"default\":false,\"error\":null,\"layer\":\"local\",\"name\":\"mine\",\"source\":\"{}\",\"url\":\"../mine\"}}\
             ]}}\n",
            committed.display(),
            local.display()
        )
    );
    let v = repo.cairn_json(&["remote", "remove", "--json", "mine"]);
    assert_eq!((&v["name"], &v["local"]), (&"mine".into(), &true.into()));
    let v = repo.cairn_json(&["remote", "remove", "--json", "origin"]);
    assert_eq!(v["local"], false);
    assert_eq!(v["config"], committed.to_str().unwrap());

    // install-hooks: what was written, and which hook now runs first.
    repo.write(".git/hooks/post-merge", "#!/bin/sh\n");
    let v = repo.cairn_json(&["install-hooks", "--json"]);
    assert_eq!(v["dir"], repo.path(".git/hooks").to_str().unwrap());
    assert_eq!(
        v["hooks"],
        serde_json::json!(["post-checkout", "post-merge", "post-rewrite", "pre-push"])
    );
    assert_eq!(v["chained"], serde_json::json!(["post-merge"]));
    let v = repo.cairn_json(&["install-hooks", "--uninstall", "--json"]);
    assert_eq!(v["removed"].as_array().unwrap().len(), 4);
    assert_eq!(v["restored"], serde_json::json!(["post-merge"]));
    assert_eq!(repo.read_string(".git/hooks/post-merge"), "#!/bin/sh\n");

    // --global: the template directory in the user's config directory.
    let v = repo.cairn_json(&["install-hooks", "--global", "--json"]);
    let template = repo.home.join(".config/cairn/git-template");
    assert_eq!(v["template"], template.to_str().unwrap());
    assert_eq!(v["hooks_dir"], template.join("hooks").to_str().unwrap());
    assert_eq!(v["hooks"].as_array().unwrap().len(), 4);
    assert_eq!(v["hooks_path"], serde_json::Value::Null);
    let v = repo.cairn_json(&["install-hooks", "--global", "--uninstall", "--json"]);
    assert_eq!(v["template"], template.to_str().unwrap());
    assert_eq!(v["other_template"], serde_json::Value::Null);
    assert!(!template.exists());
}

/// `COMPLETE=<shell> cairn` completes what only the repository knows:
/// remote names after `-r`, and revisions (HEAD, branches, tags) and
/// tracked paths where a command takes `[REV] [PATH…]`.
#[test]
fn dynamic_completions_offer_remotes_revisions_and_tracked_paths() {
    let mut repo = TestRepo::init();
    repo.write("data/a.csv", "a\n");
    repo.write("model.bin", random_bytes("complete-model", 1000));
    repo.cairn_ok(&["add", "data", "model.bin"]);
    repo.cairn_ok(&["remote", "add", "origin", "../store"]);
    repo.cairn_ok(&["remote", "add", "backup", "../backup", "--local"]);
    repo.commit_all("v1");
    repo.git(&["tag", "v1"]);
    repo.git(&["branch", "experiment"]);
    repo.set_env("COMPLETE", "fish");
    let words = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["--", "cairn"];
        all.extend_from_slice(args);
        repo.cairn_ok(&all)
            .lines()
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(words(&["push", "-r", ""]), ["backup", "origin"]);
    let revs = words(&["checkout", ""]);
    for want in ["HEAD", "experiment", "v1", "data", "model.bin"] {
        assert!(revs.iter().any(|w| w == want), "{want} not in {revs:?}");
    }
    let pull = words(&["pull", "v"]);
    assert!(pull.contains(&"v1".to_string()), "{pull:?}");
    // Outside a repository: the flags, and no error.
    let plain = TestRepo::plain();
    let out = plain
        .cairn(&["--", "cairn", "push", "-r", ""])
        .env("COMPLETE", "fish")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
