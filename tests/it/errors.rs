//! Failures: every one exits 1 with `error:` and `hint:` lines on stderr,
//! and leaves nothing half-written. Paths outside the work tree are refused,
//! and so are symlink escapes.

use crate::common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::symlink;
use std::process::{Command, Stdio};

use common::{assert_error_report, b3, csv_text, random_bytes, TestRepo};

#[test]
fn init_outside_a_git_repo() {
    let repo = TestRepo::plain();
    let (stdout, stderr) = repo.cairn_fail(&["init"]);
    assert_eq!(stdout, "");
    assert_error_report(&stderr, &["not inside a git work tree", "git init"]);
    assert!(!repo.exists(".cairn"), "nothing may be created");
    assert_eq!(fs::read_dir(&repo.root).unwrap().count(), 0);
}

#[test]
fn init_is_idempotent_and_creates_the_layout() {
    let repo = TestRepo::new();
    repo.cairn_ok(&["init"]);
    let config = repo.read_string(".cairn/config.toml");
    let ignore = repo.read_string(".cairn/.gitignore");
    assert!(ignore.lines().any(|l| l == "/cache/"), "{ignore}");
    repo.write(".cairn/config.toml", format!("{config}# my edit\n"));
    let out = repo.cairn(&["init"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already"));
    assert!(repo
        .read_string(".cairn/config.toml")
        .ends_with("# my edit\n"));
}

#[test]
fn add_without_init() {
    let repo = TestRepo::new();
    repo.write("data.csv", csv_text(1, 1000));
    let before = repo.snapshot();
    let (stdout, stderr) = repo.cairn_fail(&["add", "data.csv"]);
    assert_eq!(stdout, "");
    assert_error_report(&stderr, &["not initialised", "cairn init"]);
    assert_eq!(repo.snapshot(), before);
    assert!(!repo.exists(".cairn"));
}

#[test]
fn add_of_a_missing_path() {
    let repo = TestRepo::init();
    let before = repo.snapshot();
    let (_, stderr) = repo.cairn_fail(&["add", "nope.csv"]);
    assert_error_report(&stderr, &["nope.csv", "does not exist"]);
    assert_eq!(repo.snapshot(), before);
}

/// Malformed pointers, each with the line they should be blamed on.
// A file that does not even start with `cairn-pointer ` is not a pointer
// at all: it is skipped with a warning (tests/it/hostile.rs), not an error.
const MALFORMED: &[(&str, &str)] = &[
    ("cairn-pointer 1\nkind\n", "line 2"),
    ("cairn-pointer 1\nkind file\nid 1234\nsize 3\nmode 100644\n", "line 3"),
    (
        "cairn-pointer 1\nkind file\nid af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262\nsize 3\nmode 100777\n",
        "line 5",
    ),
    (
        "cairn-pointer 1\nkind blob\nid af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262\nsize 3\nmode 100644\n",
        "line 2",
    ),
    (
        "cairn-pointer 1\nkind file\nid af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262\nsize 3\nmode 100644",
        "missing final newline",
    ),
];

#[test]
fn malformed_pointer_files() {
    for (text, blame) in MALFORMED {
        let repo = TestRepo::init();
        repo.write("x.bin.cairn", text);
        let before = repo.snapshot();

        let (stdout, stderr) = repo.cairn_fail(&["status"]);
        assert_eq!(stdout, "", "{text:?}");
        assert_error_report(&stderr, &["malformed pointer file", "x.bin.cairn", blame]);

        let (_, stderr) = repo.cairn_fail(&["checkout"]);
        assert_error_report(&stderr, &["malformed pointer file", "x.bin.cairn"]);
        assert!(
            !repo.exists("x.bin"),
            "{text:?}: nothing may be checked out"
        );
        assert_eq!(repo.snapshot(), before, "{text:?}");
    }
}

#[test]
fn malformed_pointer_beside_existing_data_leaves_it_alone() {
    let repo = TestRepo::init();
    let data = random_bytes("keep", 50_000);
    repo.write("keep.bin", &data);
    repo.cairn_ok(&["add", "keep.bin"]);
    repo.write("keep.bin.cairn", "cairn-pointer 1\nkind file\n");
    let before = repo.snapshot();
    let (_, stderr) = repo.cairn_fail(&["checkout", "keep.bin"]);
    assert_error_report(&stderr, &["malformed pointer file"]);
    assert_eq!(repo.snapshot(), before);
    assert_eq!(repo.read("keep.bin"), data);
}

#[test]
fn unknown_pointer_format_version() {
    let repo = TestRepo::init();
    let data = random_bytes("v2", 10_000);
    repo.write("v.bin", &data);
    repo.cairn_ok(&["add", "v.bin"]);
    // Version 2 exists (directories with layered listings); 3 does not.
    let v3 = repo
        .read_string("v.bin.cairn")
        .replace("cairn-pointer 1", "cairn-pointer 3");
    repo.write("v.bin.cairn", &v3);
    repo.remove("v.bin");
    let before = repo.snapshot();
    for cmd in ["status", "checkout"] {
        let (stdout, stderr) = repo.cairn_fail(&[cmd]);
        assert_eq!(stdout, "");
        assert_error_report(
            &stderr,
            &["format version 3", "v.bin.cairn", "upgrade cairn"],
        );
        assert_eq!(repo.snapshot(), before);
    }
}

#[test]
fn damaged_stat_index() {
    let repo = TestRepo::init();
    repo.write("a.csv", csv_text(3, 10_000));
    repo.cairn_ok(&["add", "a.csv"]);
    let mut idx = repo.read(".cairn/index");
    let n = idx.len();
    idx[n / 2] ^= 0xff;
    fs::write(repo.path(".cairn/index"), &idx).unwrap();
    let (_, stderr) = repo.cairn_fail(&["status"]);
    assert_error_report(&stderr, &["stat index", "delete"]);
    // The hint works: the index is only a cache.
    fs::remove_file(repo.path(".cairn/index")).unwrap();
    repo.cairn_ok(&["status"]);
}

#[test]
fn malformed_config() {
    let repo = TestRepo::init();
    repo.write("a.csv", csv_text(3, 10_000));
    repo.write(".cairn/config.local.toml", "[cache]\ndir = 3\n");
    let before = repo.snapshot();
    let (_, stderr) = repo.cairn_fail(&["add", "a.csv"]);
    assert_error_report(&stderr, &["invalid config file", "config.local.toml"]);
    assert_eq!(repo.snapshot(), before);
}

#[test]
fn add_outside_the_repository_is_refused() {
    let repo = TestRepo::init();
    let outside = repo.base().join("outside.csv");
    fs::write(&outside, "1,2\n").unwrap();
    repo.write("in.csv", "3,4\n");
    let before = repo.snapshot();
    for arg in [
        "../outside.csv".to_string(),
        outside.to_str().unwrap().to_string(),
        "/etc/hosts".to_string(),
        "sub/../../outside.csv".to_string(),
    ] {
        let (_, stderr) = repo.cairn_fail(&["add", &arg]);
        assert_error_report(&stderr, &["outside the repository"]);
        assert_eq!(repo.snapshot(), before, "{arg}");
    }
    assert!(!repo.base().join("outside.csv.cairn").exists());
    assert!(!repo.base().join(".gitignore").exists());
    assert!(!std::path::Path::new("/etc/hosts.cairn").exists());
}

#[test]
fn add_of_git_or_cairn_internals_is_refused() {
    let repo = TestRepo::init();
    let before = repo.snapshot();
    for arg in [".git/config", ".cairn/config.toml"] {
        let (_, stderr) = repo.cairn_fail(&["add", arg]);
        assert_error_report(&stderr, &["refusing unsafe path"]);
        assert_eq!(repo.snapshot(), before, "{arg}");
    }
}

#[test]
fn add_of_a_symlink_is_refused() {
    let repo = TestRepo::init();
    repo.write("real.csv", "1\n");
    symlink("real.csv", repo.path("link.csv")).unwrap();
    let before = repo.snapshot();
    let (_, stderr) = repo.cairn_fail(&["add", "link.csv"]);
    assert_error_report(&stderr, &["symbolic link"]);
    assert_eq!(repo.snapshot(), before);
}

#[test]
fn add_through_a_symlinked_directory_is_refused() {
    let repo = TestRepo::init();
    let outside = repo.base().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("s.bin"), "secret").unwrap();
    symlink(&outside, repo.path("esc")).unwrap();
    let before = repo.snapshot();
    let (_, stderr) = repo.cairn_fail(&["add", "esc/s.bin"]);
    assert_error_report(&stderr, &["symbolic link"]);
    assert_eq!(repo.snapshot(), before);
    let names: Vec<_> = fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        ["s.bin"],
        "nothing may be written outside the work tree"
    );
}

/// Track `data/inner/x.csv` inside `data`, commit, then make paths on the
/// way to the data point outside the work tree.
#[test]
fn checkout_never_writes_through_symlinks() {
    let x = csv_text(5, 5_000);
    let repo = TestRepo::builder()
        .file("data/inner/x.csv", &x)
        .file("data/top.csv", "1\n")
        .commit("data")
        .build();
    let outside = repo.base().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let outside_is_empty = || fs::read_dir(&outside).unwrap().next().is_none();

    // A directory inside the tracked data replaced by a link outside.
    repo.remove("data/inner");
    symlink(&outside, repo.path("data/inner")).unwrap();
    let (_, stderr) = repo.cairn_fail(&["checkout"]);
    assert_error_report(&stderr, &["symbolic link"]);
    assert!(outside_is_empty(), "checkout wrote outside the work tree");

    // The tracked directory itself replaced by a link outside.
    repo.remove("data");
    symlink(&outside, repo.path("data")).unwrap();
    let out = repo.cairn(&["checkout"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
    assert!(outside_is_empty(), "checkout wrote outside the work tree");

    // With the link gone, checkout restores the data in the work tree.
    repo.remove("data");
    repo.cairn_ok(&["checkout"]);
    assert_eq!(repo.read("data/inner/x.csv"), x);
    assert!(outside_is_empty());
}

#[test]
fn checkout_replaces_a_symlink_instead_of_writing_through_it() {
    let repo = TestRepo::init();
    let data = random_bytes("model", 100_000);
    repo.write("model.bin", &data);
    repo.cairn_ok(&["add", "model.bin"]);
    let target = repo.base().join("target.bin");
    fs::write(&target, "do not touch").unwrap();
    repo.remove("model.bin");
    symlink(&target, repo.path("model.bin")).unwrap();
    repo.cairn_ok(&["checkout", "model.bin"]);
    assert_eq!(fs::read(&target).unwrap(), b"do not touch");
    let meta = fs::symlink_metadata(repo.path("model.bin")).unwrap();
    assert!(meta.is_file(), "model.bin should now be a regular file");
    assert_eq!(b3(&repo.read("model.bin")), b3(&data));
}

#[test]
fn checkout_with_the_cache_gone() {
    let repo = TestRepo::init();
    repo.write("d/a.bin", random_bytes("a", 300_000));
    repo.write("single.bin", random_bytes("s", 1000));
    repo.cairn_ok(&["add", "d", "single.bin"]);
    fs::remove_dir_all(repo.path(".git/cairn/cache")).unwrap();
    repo.remove("d");
    repo.remove("single.bin");
    let before = repo.snapshot();
    let (_, stderr) = repo.cairn_fail(&["checkout", "d"]);
    assert_error_report(&stderr, &["not in the cache", "cairn add"]);
    let (_, stderr) = repo.cairn_fail(&["checkout", "single.bin"]);
    assert_error_report(&stderr, &["not in the cache", "single.bin"]);
    assert!(!repo.exists("d"));
    assert!(!repo.exists("single.bin"));
    assert_eq!(repo.snapshot(), before);
}

/// Hold `.cairn/lock` with flock(1) in a child process; returns it once
/// the lock is held.
fn hold_lock(repo: &TestRepo) -> std::process::Child {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("exec 9>>.cairn/lock && flock -x 9 && echo held && exec sleep 60")
        .current_dir(&repo.root)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn sh (needs flock from util-linux)");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "held", "the helper could not take the lock");
    child
}

#[test]
fn a_held_lock_makes_writers_fail_cleanly() {
    let repo = TestRepo::init();
    let data = csv_text(8, 100_000);
    repo.write("data/a.csv", &data);
    let mut holder = hold_lock(&repo);
    let before = repo.snapshot();

    let (stdout, stderr) = repo.cairn_fail(&["add", "data"]);
    assert_eq!(stdout, "");
    assert_error_report(&stderr, &["locked", "wait for the other cairn command"]);
    assert_eq!(repo.snapshot(), before);
    assert!(!repo.exists("data.cairn"));
    let (_, stderr) = repo.cairn_fail(&["checkout"]);
    assert_error_report(&stderr, &["locked"]);
    // Readers do not need the lock.
    repo.cairn_ok(&["status"]);
    repo.cairn_ok(&["verify"]);

    holder.kill().unwrap();
    holder.wait().unwrap();
    repo.cairn_ok(&["add", "data"]);
    assert!(repo.exists("data.cairn"));
}

/// The work tree as seen by the user: everything but `.git` and `.cairn`.
fn work_tree(repo: &TestRepo) -> std::collections::BTreeMap<String, common::Snap> {
    let mut s = repo.snapshot();
    s.retain(|k, _| !k.starts_with(".cairn/") && !k.starts_with(".git/"));
    s
}

#[test]
fn a_failing_add_writes_no_pointer_for_any_path() {
    let repo = TestRepo::init();
    repo.write("good.bin", random_bytes("good", 400_000));
    let before = work_tree(&repo);
    let (_, stderr) = repo.cairn_fail(&["add", "good.bin", "missing.bin"]);
    assert_error_report(&stderr, &["missing.bin"]);
    assert_eq!(
        work_tree(&repo),
        before,
        "no pointer or .gitignore may be written"
    );
    repo.cairn_ok(&["verify"]);
    // A later add still works and tidies what the failed one left behind.
    repo.cairn_ok(&["add", "good.bin"]);
    let tmp: Vec<_> = fs::read_dir(repo.path(".git/cairn/cache/tmp"))
        .unwrap()
        .collect();
    assert!(tmp.is_empty(), "{tmp:?}");
}

#[test]
fn non_utf8_file_name_in_a_tracked_dir() {
    use std::os::unix::ffi::OsStrExt;
    let repo = TestRepo::init();
    repo.write("data/ok.csv", "1\n");
    let bad = repo
        .path("data")
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9.csv"));
    fs::write(&bad, "2\n").unwrap();
    let before = work_tree(&repo);
    let (_, stderr) = repo.cairn_fail(&["add", "data"]);
    assert_error_report(&stderr, &["not valid UTF-8", "rename"]);
    assert_eq!(work_tree(&repo), before);
}

#[test]
fn adding_inside_a_tracked_directory_is_refused() {
    let repo = TestRepo::init();
    repo.write("data/a.csv", "1\n");
    repo.cairn_ok(&["add", "data"]);
    let before = work_tree(&repo);
    let out = repo.cairn(&["add", "data/a.csv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("already tracks"), "{stderr}");
    assert_eq!(work_tree(&repo), before);
    assert!(!repo.exists("data/a.csv.cairn"));
}

/// Two cairn processes: while one `add` runs, a second fails at once with
/// a message naming the holder, and the first one's work is intact.
#[test]
fn a_second_cairn_fails_while_the_first_holds_the_lock() {
    let repo = TestRepo::init();
    let big = random_bytes("lockbig", 100_000_000);
    repo.write("big.bin", &big);
    repo.write("other.csv", csv_text(9, 10_000));
    let mut first = repo
        .cairn_std(&["add", "big.bin"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid_line = format!("pid {}", first.id());
    let start = std::time::Instant::now();
    while fs::read_to_string(repo.path(".cairn/lock")).unwrap_or_default() != pid_line {
        assert!(first.try_wait().unwrap().is_none(), "add finished too fast");
        assert!(start.elapsed().as_secs() < 30, "add never took the lock");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let (_, stderr) = repo.cairn_fail(&["add", "other.csv"]);
    assert_error_report(&stderr, &["locked", &pid_line]);
    assert!(first.wait().unwrap().success());
    assert!(!repo.exists("other.csv.cairn"));
    assert_eq!(repo.pointer("big.bin")["id"], b3(&big));
    repo.cairn_ok(&["verify"]);
}
