//! What scripts and CI rely on: `--exit-code` on status and diff, `-j` and
//! `transfer.jobs`, usage errors for bad flag values (also as JSON), and
//! progress bars that `--no-progress` turns off and that fit in 80
//! columns, counting in the units messages use.

use crate::common;

use common::{random_bytes, TestRepo};

/// `cairn ARGS` in `repo`: (exit code, stdout, stderr).
fn run(repo: &TestRepo, args: &[&str]) -> (i32, String, String) {
    let out = repo.cairn(args).output().expect("run cairn");
    (
        out.status.code().expect("an exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Two tagged versions of `model.bin`, pushed to the folder remote `origin`.
fn two_versions() -> TestRepo {
    TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .file("model.bin", random_bytes("m1", 50_000))
        .commit("v1")
        .tag("v1")
        .file("model.bin", random_bytes("m2", 50_000))
        .commit("v2")
        .tag("v2")
        .push()
        .build()
}

#[test]
fn status_exit_code_is_3_when_something_differs_and_errors_keep_1() {
    let repo = two_versions();
    assert_eq!(run(&repo, &["status", "--exit-code"]).0, 0);
    repo.write("model.bin", b"changed");
    let (code, stdout, _) = run(&repo, &["status", "--exit-code"]);
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.contains("modified: model.bin"), "{stdout}");
    // Without the flag a difference is no failure.
    assert_eq!(run(&repo, &["status"]).0, 0);
    assert_eq!(run(&repo, &["status", "--json", "--exit-code"]).0, 3);
    // An error is an error, with or without the flag.
    let plain = TestRepo::plain();
    assert_eq!(run(&plain, &["status", "--exit-code"]).0, 1);
}

#[test]
fn status_exit_code_counts_data_the_remote_lacks() {
    let repo = two_versions();
    repo.write("more.bin", random_bytes("more", 10_000));
    repo.cairn_ok(&["add", "more.bin"]);
    let (code, stdout, _) = run(&repo, &["status", "--exit-code"]);
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.contains("not pushed: more.bin"), "{stdout}");
    repo.cairn_ok(&["push"]);
    assert_eq!(run(&repo, &["status", "--exit-code"]).0, 0);
}

#[test]
fn diff_exit_code_is_3_when_revisions_differ() {
    let repo = two_versions();
    assert_eq!(run(&repo, &["diff", "--exit-code", "v2", "v2"]).0, 0);
    assert_eq!(run(&repo, &["diff", "--exit-code"]).0, 0);
    let (code, stdout, _) = run(&repo, &["diff", "--exit-code", "v1", "v2"]);
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.contains("model.bin"), "{stdout}");
    assert_eq!(run(&repo, &["diff", "v1", "v2"]).0, 0);
    assert_eq!(run(&repo, &["diff", "--exit-code", "v1", "nosuch"]).0, 1);
}

#[test]
fn bad_flag_values_are_usage_errors_naming_the_flag() {
    let repo = two_versions();
    for (args, flag) in [
        (&["gc", "--grace", "banana"][..], "--grace"),
        (&["push", "-j", "0"][..], "--jobs"),
        (&["pull", "--jobs", "65"][..], "--jobs"),
        (&["fetch", "-j", "many"][..], "--jobs"),
        (&["log", "-n", "x", "model.bin"][..], "--max-count"),
    ] {
        let (code, stdout, stderr) = run(&repo, args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.contains(flag), "{args:?} names {flag}: {stderr}");
    }
    // With --json the usage error is JSON on stdout, still exit 2.
    let (code, stdout, stderr) = run(&repo, &["gc", "--json", "--grace", "banana"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["schema"], 1);
    assert_eq!(v["error"]["kind"], "usage");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("--grace"),
        "{v}"
    );
    // Nothing was collected.
    assert_eq!(run(&repo, &["gc", "--dry-run"]).0, 0);
}

#[test]
fn errors_with_json_are_json_on_stdout_with_the_same_exit_code() {
    let repo = two_versions();
    let (code, stdout, stderr) = run(&repo, &["push", "--json", "-r", "nosuch"]);
    assert_eq!(code, 1);
    assert!(stderr.is_empty(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["schema"], 1);
    assert_eq!(v["error"]["kind"], "unknown_remote");
    assert!(
        v["error"]["hint"].as_str().unwrap().contains("remote list"),
        "{v}"
    );
    assert!(v["error"]["causes"].as_array().unwrap().is_empty(), "{v}");
    // `--json` after `--` is a path, not the flag.
    let (code, stdout, stderr) = run(&repo, &["add", "--", "--json"]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.starts_with("error:"), "{stderr}");
}

#[test]
fn jobs_from_the_flag_or_the_config_transfer_the_same_data() {
    let repo = two_versions();
    std::fs::write(
        repo.path(".cairn/config.local.toml"),
        "[transfer]\njobs = 1\n",
    )
    .unwrap();
    let clone = repo.clone_beside("clone");
    std::fs::write(
        clone.path(".cairn/config.local.toml"),
        "[transfer]\njobs = 64\n",
    )
    .unwrap();
    clone.cairn_ok(&["pull", "-j", "2", "v1"]);
    assert!(clone.read("model.bin") == random_bytes("m1", 50_000));
    clone.cairn_ok(&["pull", "HEAD"]);
    assert!(clone.read("model.bin") == random_bytes("m2", 50_000));
    repo.write("more.bin", random_bytes("more", 20_000));
    repo.cairn_ok(&["add", "more.bin"]);
    repo.cairn_ok(&["push", "--jobs", "64"]);
    repo.cairn_ok(&["verify", "--remote", "origin", "-j", "3"]);
    repo.cairn_ok(&["gc", "--remote", "origin", "-j", "5", "--dry-run"]);
}

#[test]
fn transfer_jobs_out_of_range_is_a_config_error() {
    let repo = two_versions();
    for bad in ["0", "65", "-1"] {
        std::fs::write(
            repo.path(".cairn/config.local.toml"),
            format!("[transfer]\njobs = {bad}\n"),
        )
        .unwrap();
        let (code, _, stderr) = run(&repo, &["push"]);
        assert_eq!(code, 1, "{bad}: {stderr}");
        assert!(stderr.contains("transfer.jobs"), "{bad}: {stderr}");
    }
}

/// `cairn ARGS` on an 80-column terminal (a pty from `script`): what it
/// drew on it.
fn on_a_terminal(repo: &TestRepo, args: &str) -> String {
    let cmd = format!(
        "stty cols 80 rows 24; cd '{}' && '{}' {args}",
        repo.root.display(),
        common::cairn_bin().display()
    );
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &cmd, "/dev/null"]);
    script.env("HOME", &repo.home);
    script.env("XDG_CONFIG_HOME", repo.home.join(".config"));
    script.env_remove("NO_COLOR");
    let out = script.output().expect("run script");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bars_fit_in_80_columns_in_decimal_units_and_no_progress_hides_them() {
    let repo = TestRepo::init();
    repo.write("big.bin", random_bytes("big", 8_000_000));
    let drawn = on_a_terminal(&repo, "add big.bin");
    assert!(drawn.contains("adding ["), "no bar drawn: {drawn:?}");
    assert!(drawn.contains("8.00 MB"), "{drawn:?}");
    assert!(!drawn.contains("MiB"), "{drawn:?}");
    for frame in drawn.split(['\r', '\n']) {
        let text = frame.replace("\x1b[2K", "");
        let text = text.trim_end();
        assert!(
            text.chars().count() <= 80,
            "{} columns: {text:?}",
            text.len()
        );
    }

    let repo = TestRepo::init();
    repo.write("big.bin", random_bytes("big", 8_000_000));
    let drawn = on_a_terminal(&repo, "--no-progress add big.bin");
    assert!(!drawn.contains("adding ["), "{drawn:?}");
    assert!(drawn.contains("added big.bin"), "messages stay: {drawn:?}");
}
