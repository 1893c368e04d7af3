//! Snapshots of everything cairn prints, so that a change to any message,
//! hint, exit code or JSON field shows up as a reviewed diff: the human
//! output (stdout and stderr apart) and the `--json` output of every verb,
//! over fixed data and folder remotes. A changed `.snap` file is either
//! the intended new output (accept it) or a regression.
//!
//! Every snapshot goes through the same filters ([`Transcript::settings`]):
//! paths, content ids, commit ids, dates and pids are replaced; sizes and
//! counts are literal, since the data is fixed.
//!
//! When output changes on purpose, `INSTA_UPDATE=always cargo test --test
//! it snapshots` (or `cargo insta review`) rewrites the `.snap` files;
//! review their diff like code. Under `CI=true` a mismatch only fails.

use crate::common;

use common::builder::RepoBuilder;
use common::data::Tree;
use common::snap::{assert_transcript, Transcript};
use common::{csv_text, random_bytes, TestRepo};

/// One worker thread for every cairn command here: the thread that stores
/// an object picks the pack that holds it, so with more threads the number
/// of packs in the cache (which `gc` reports) varies from run to run.
const ONE_THREAD: [(&str, &str); 1] = [("RAYON_NUM_THREADS", "1")];

/// [`TestRepo::builder`] with [`ONE_THREAD`], backdating the data it
/// writes (so counts of files read do not depend on the test's speed).
fn builder() -> RepoBuilder {
    TestRepo::builder().envs(&ONE_THREAD).backdate_files()
}

/// `repo` with [`ONE_THREAD`].
fn one_thread(mut repo: TestRepo) -> TestRepo {
    repo.set_envs(&ONE_THREAD);
    repo
}

/// Version 1 or 2 of a small dataset (a directory) and a model file.
fn version(v: u8) -> Tree {
    let mut t = Tree::new();
    if v == 1 {
        t.insert("data/a.txt".into(), b"version one\n".to_vec());
        t.insert("data/b.csv".into(), csv_text(1, 20_000));
    } else {
        t.insert("data/a.txt".into(), b"version two, longer\n".to_vec());
        t.insert("data/d.txt".into(), b"new in v2\n".to_vec());
    }
    t.insert("data/sub/c.bin".into(), random_bytes("c", 150_000));
    t.insert(
        "model.bin".into(),
        random_bytes(&format!("model-{v}"), 300_000),
    );
    t
}

/// v1 (tagged) and v2 (tagged, checked out), committed with the folder
/// remote `origin` at `../store` (not pushed).
fn two_versions() -> RepoBuilder {
    builder()
        .relative_folder_remote("origin", "store")
        .tree(&version(1))
        .commit("v1")
        .tag("v1")
        .remove("data")
        .tree(&version(2))
        .commit("v2")
        .tag("v2")
}

/// Flip one byte in the middle of `path`.
fn flip_byte(path: &std::path::Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(path, bytes).unwrap();
}

/// The largest file below `dir`.
fn largest_file(dir: &std::path::Path) -> std::path::PathBuf {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .max_by_key(|e| e.metadata().unwrap().len())
        .expect("a file")
        .into_path()
}

/// [`two_versions`], pushed, plus data committed and pushed on a branch
/// that is then deleted with every reflog: garbage in the cache and on the
/// remote.
fn with_garbage() -> TestRepo {
    two_versions()
        .push()
        .git(&["checkout", "-q", "-b", "scratch"])
        .file("scratch.bin", random_bytes("scratch", 200_000))
        .commit("scratch")
        .push()
        .git(&["checkout", "-q", "main"])
        .git(&["branch", "-q", "-D", "scratch"])
        .remove("scratch.bin")
        .git(&["reflog", "expire", "--expire=now", "--all"])
        .build()
}

#[test]
fn init() {
    let plain = one_thread(TestRepo::plain());
    let repo = one_thread(TestRepo::new());
    let fresh = one_thread(TestRepo::new());
    let mut t = Transcript::new(&repo)
        .also(&plain, "PLAIN")
        .also(&fresh, "FRESH");
    t.ok(&repo, &["init"]);
    t.note("again");
    t.ok(&repo, &["init"]);
    t.note("outside a git work tree");
    t.expect(&plain, &["init"], 1);
    t.note("as JSON");
    t.ok(&fresh, &["init", "--json"]);
    t.ok(&fresh, &["init", "--json"]);
    t.expect(&plain, &["init", "--json"], 1);
    assert_transcript!("init", t);
}

#[test]
fn add() {
    let repo = builder().tree(&version(1)).build();
    let mut t = Transcript::new(&repo);
    t.ok(&repo, &["add", "data", "model.bin"]);
    t.note("nothing changed");
    t.ok(&repo, &["add", "--json", "data", "model.bin"]);
    t.note("one file edited, one added");
    repo.write("data/a.txt", "version one, edited\n");
    repo.write("data/new.txt", "new\n");
    repo.backdate("data");
    t.ok(&repo, &["add", "data"]);
    repo.write("data/a.txt", "version one, edited again\n");
    repo.backdate("data");
    t.ok(&repo, &["add", "--json", "data"]);
    t.note("quiet and verbose");
    t.ok(&repo, &["-q", "add", "model.bin"]);
    t.ok(&repo, &["-v", "add", "model.bin"]);
    t.note("data git already tracks");
    repo.write("tracked.csv", "a,b\n");
    repo.commit_all("a csv in git");
    t.expect(&repo, &["add", "tracked.csv"], 1);
    t.ok(&repo, &["add", "--untrack-git", "tracked.csv"]);
    t.note("a path that does not exist");
    t.expect(&repo, &["add", "nothing.bin"], 1);
    t.expect(&repo, &["add", "--json", "nothing.bin"], 1);
    assert_transcript!("add", t);
}

#[test]
fn status() {
    let repo = two_versions().push().build();
    let mut t = Transcript::new(&repo);
    t.note("clean");
    t.ok(&repo, &["status"]);
    t.ok(&repo, &["status", "--json"]);
    t.note("modified and missing");
    repo.write("data/a.txt", "an edit\n");
    repo.write("data/e.txt", "a new file\n");
    repo.remove("data/d.txt");
    repo.remove("model.bin");
    t.ok(&repo, &["status"]);
    t.ok(&repo, &["status", "--json"]);
    t.ok(&repo, &["status", "model.bin"]);
    t.note("not pushed");
    repo.remove("data/e.txt");
    t.ok(&repo, &["checkout", "--force"]);
    // What checkout wrote counts as racy for two seconds: make it old, so
    // the counts below do not depend on the test's speed.
    repo.backdate("data");
    repo.backdate("model.bin");
    repo.write("new.bin", random_bytes("new", 1000));
    repo.backdate("new.bin");
    repo.cairn_ok(&["add", "new.bin"]);
    t.ok(&repo, &["status"]);
    t.ok(&repo, &["status", "--json"]);
    repo.cairn_ok(&["push"]);
    repo.commit_all("new.bin");
    t.note("stale: git moved the pointers to v1 (no hooks)");
    repo.git(&["checkout", "-q", "v1"]);
    t.ok(&repo, &["status"]);
    t.ok(&repo, &["status", "--json"]);
    t.note("a clone that has not pulled");
    let clone = repo.clone_beside("clone");
    t.ok(&clone, &["status"]);
    t.ok(&clone, &["status", "--json"]);
    assert_transcript!("status", t);
}

#[test]
fn checkout() {
    let repo = two_versions().build();
    let mut t = Transcript::new(&repo);
    t.note("restore what is missing");
    repo.remove("model.bin");
    t.ok(&repo, &["checkout"]);
    t.ok(&repo, &["checkout", "--json"]);
    t.note("a revision, then back");
    t.ok(&repo, &["checkout", "v1"]);
    t.ok(&repo, &["checkout", "--json", "v2"]);
    t.ok(&repo, &["checkout", "v1", "model.bin"]);
    t.ok(&repo, &["checkout", "HEAD"]);
    t.note("an edit that was never added is not overwritten");
    repo.write("data/a.txt", "an edit\n");
    t.expect(&repo, &["checkout", "v1"], 1);
    t.expect(&repo, &["checkout", "--json", "v1"], 1);
    t.expect(&repo, &["checkout", "data"], 1);
    t.ok(&repo, &["checkout", "--force", "v1"]);
    t.note("unknown revision or path");
    t.expect(&repo, &["checkout", "nope"], 1);
    assert_transcript!("checkout", t);
}

#[test]
fn rm() {
    let repo = two_versions().build();
    let mut t = Transcript::new(&repo);
    t.ok(&repo, &["rm", "model.bin"]);
    t.note("the pointer's name works too; the data is deleted");
    t.ok(&repo, &["rm", "--json", "--delete-data", "data.cairn"]);
    t.note("not tracked (any more)");
    t.expect(&repo, &["rm", "model.bin"], 1);
    t.expect(&repo, &["rm", "--json", "data"], 1);
    t.note("data holding an edit that was never added is not deleted");
    repo.cairn_ok(&["checkout", "--force", "v1"]);
    repo.write("model.bin", "an edit\n");
    t.expect(&repo, &["rm", "--delete-data", "model.bin"], 1);
    t.ok(&repo, &["rm", "--delete-data", "--force", "model.bin"]);
    t.note("--force alone");
    t.expect(&repo, &["rm", "--force", "data"], 2);
    assert_transcript!("rm", t);
}

#[test]
fn mv() {
    let repo = two_versions().build();
    let mut t = Transcript::new(&repo);
    repo.write("models/README", "models go here\n");
    t.ok(&repo, &["mv", "model.bin", "models"]);
    t.ok(&repo, &["mv", "--json", "data", "dataset"]);
    t.ok(&repo, &["status"]);
    t.note("refused");
    t.expect(&repo, &["mv", "dataset", "models/README"], 1);
    t.expect(&repo, &["mv", "--json", "dataset", "models/README"], 1);
    t.expect(&repo, &["mv", "dataset", "../elsewhere"], 1);
    t.expect(&repo, &["mv", "models/model.bin", "dataset/sub"], 1);
    t.expect(&repo, &["mv", "nothing", "x"], 1);
    t.expect(&repo, &["mv", "dataset"], 2);
    assert_transcript!("mv", t);
}

#[test]
fn verify() {
    let repo = two_versions().push().build();
    let mut t = Transcript::new(&repo);
    t.ok(&repo, &["verify"]);
    t.ok(&repo, &["verify", "--json"]);
    t.ok(&repo, &["verify", "--remote", "origin"]);
    t.ok(&repo, &["verify", "--remote", "origin", "--json"]);
    t.note("a damaged pack in the cache");
    let packs = repo.packs();
    let biggest = packs
        .iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    flip_byte(biggest);
    t.expect(&repo, &["verify"], 1);
    t.expect(&repo, &["verify", "--json"], 1);
    t.note("a damaged pack on the remote");
    flip_byte(&largest_file(&repo.remote_dir("origin").join("packs")));
    t.expect(&repo, &["verify", "--remote", "origin"], 1);
    t.expect(&repo, &["verify", "--remote", "origin", "--json"], 1);
    assert_transcript!("verify", t);
}

#[test]
fn ls_log_diff() {
    let repo = two_versions().build();
    let mut t = Transcript::new(&repo);
    t.ok(&repo, &["ls"]);
    t.ok(&repo, &["ls", "--json"]);
    t.ok(&repo, &["ls", "v1"]);
    t.ok(&repo, &["ls", "--json", "v1", "data"]);
    t.expect(&repo, &["ls", "nope"], 1);
    t.ok(&repo, &["ls", "-R", "v1"]);
    t.ok(&repo, &["ls", "--json", "-R", "data"]);
    t.note("log");
    t.ok(&repo, &["log", "data"]);
    t.ok(&repo, &["log", "--json", "data"]);
    t.ok(&repo, &["log", "-n", "1", "model.bin.cairn"]);
    t.expect(&repo, &["log", "nothing"], 1);
    t.note("diff");
    t.ok(&repo, &["diff"]);
    t.ok(&repo, &["diff", "--json"]);
    t.ok(&repo, &["diff", "v1", "v2"]);
    t.ok(&repo, &["diff", "--json", "v1", "v2"]);
    repo.write("data/a.txt", "an edit\n");
    repo.cairn_ok(&["add", "data"]);
    t.ok(&repo, &["diff"]);
    t.ok(&repo, &["diff", "--json", "v1"]);
    repo.write("data/a.txt", "an edit not added yet\n");
    t.ok(&repo, &["diff"]);
    t.note("du");
    t.ok(&repo, &["du"]);
    t.ok(&repo, &["du", "--json", "v1"]);
    assert_transcript!("ls_log_diff", t);
}

#[test]
fn gc() {
    let repo = with_garbage();
    let mut t = Transcript::new(&repo);
    t.note("the cache: every pack is young");
    t.ok(&repo, &["gc", "--dry-run"]);
    t.ok(&repo, &["gc"]);
    t.ok(&repo, &["gc", "--json"]);
    t.note("the cache, without a grace period");
    t.ok(&repo, &["gc", "--dry-run", "--grace", "0"]);
    t.ok(&repo, &["gc", "--json", "--dry-run", "--grace", "0"]);
    t.ok(&repo, &["gc", "--grace", "0"]);
    t.ok(&repo, &["gc", "--json", "--grace", "0"]);
    t.note("a bad flag value is a usage error that names the flag");
    t.expect(&repo, &["gc", "--grace", "soon"], 2);
    t.expect(&repo, &["gc", "--json", "--grace", "soon"], 2);
    t.note("the remote: condemned first, deleted by a later run");
    t.ok(&repo, &["gc", "--remote", "origin"]);
    t.ok(
        &repo,
        &["gc", "--remote", "origin", "--dry-run", "--grace", "0"],
    );
    t.ok(&repo, &["gc", "--remote", "origin", "--grace", "0"]);
    t.ok(
        &repo,
        &[
            "gc",
            "--remote",
            "origin",
            "--json",
            "--dry-run",
            "--grace",
            "0",
        ],
    );
    t.ok(
        &repo,
        &["gc", "--remote", "origin", "--json", "--grace", "0"],
    );
    t.ok(&repo, &["gc", "--remote", "origin", "--grace", "0"]);
    assert_transcript!("gc", t);
}

#[test]
fn push() {
    let repo = builder().tree(&version(1)).commit("v1").tag("v1").build();
    let mut t = Transcript::new(&repo);
    t.note("no remote yet");
    t.expect(&repo, &["push"], 1);
    repo.cairn_ok(&["remote", "add", "origin", "../store"]);
    repo.commit_all("remote");
    t.ok(&repo, &["push"]);
    t.ok(&repo, &["push", "--json"]);
    t.note("a new version");
    repo.remove("data");
    common::data::write_tree(&repo, &version(2));
    repo.backdate("data");
    repo.backdate("model.bin");
    repo.cairn_ok(&["add", "data", "model.bin"]);
    repo.commit_all("v2");
    t.ok(&repo, &["push", "--json"]);
    t.ok(&repo, &["push", "v1"]);
    t.ok(&repo, &["push", "-r", "../elsewhere", "--all-commits"]);
    let beside = repo.base().join("by-path");
    t.ok(&repo, &["push", "-r", beside.to_str().unwrap(), "v1"]);
    t.note("data that is not in the cache");
    std::fs::remove_dir_all(repo.path(".git/cairn/cache")).unwrap();
    t.expect(&repo, &["push", "-r", "../third"], 1);
    assert_transcript!("push", t);
}

#[test]
fn fetch_and_pull() {
    // Two pushes, so v1's data and v2's new data are in separate packs.
    let repo = two_versions().push_rev("v1").push().build();
    let clone = repo.clone_beside("clone");
    let mut t = Transcript::new(&repo);
    t.note("in a fresh clone");
    t.ok(&clone, &["fetch", "--json", "v1"]);
    t.ok(&clone, &["fetch"]);
    t.ok(&clone, &["fetch", "--json"]);
    t.ok(&clone, &["pull"]);
    t.ok(&clone, &["pull", "--json"]);
    t.ok(&clone, &["pull", "v1"]);
    t.ok(&clone, &["pull", "--json", "v2"]);
    t.note("an edit that was never added is not overwritten");
    clone.git(&["checkout", "-q", "v1"]);
    clone.write("data/a.txt", "an edit\n");
    t.expect(&clone, &["pull"], 1);
    t.ok(&clone, &["pull", "--force"]);
    t.note("data that was committed but never pushed");
    repo.write("late.bin", random_bytes("late", 5_000));
    repo.cairn_ok(&["add", "late.bin"]);
    repo.commit_all("late");
    repo.git(&["tag", "v3"]);
    clone.git(&["checkout", "-q", "main"]);
    clone.git(&["pull", "-q", "--tags"]);
    t.expect(&clone, &["pull"], 1);
    t.expect(&clone, &["fetch", "--json"], 1);
    assert_transcript!("fetch_and_pull", t);
}

#[test]
fn get() {
    let repo = two_versions().push().build();
    let other = one_thread(TestRepo::plain());
    let mut t = Transcript::new(&repo).also(&other, "OTHER");
    let url = repo.root.to_str().unwrap();
    t.ok(&other, &["get", url, "data"]);
    t.ok(&other, &["get", url, "data/sub/c.bin", "-o", "c.bin"]);
    t.ok(
        &other,
        &["get", "--rev", "v1", url, "model.bin", "-o", "model-v1.bin"],
    );
    t.note("refusals");
    t.expect(&other, &["get", url, "model.bin", "-o", "c.bin"], 1);
    t.expect(&other, &["get", url, "nothing.bin"], 1);
    t.expect(&other, &["get", "--rev", "nope", url, "data", "-o", "d"], 1);
    assert_transcript!("get", t);
}

#[test]
fn remote() {
    let repo = one_thread(TestRepo::init());
    let mut t = Transcript::new(&repo);
    t.ok(&repo, &["remote", "list"]);
    t.ok(&repo, &["remote", "list", "--json"]);
    t.ok(&repo, &["remote", "add", "origin", "../store"]);
    t.ok(&repo, &["remote", "add", "--local", "mine", "../mine"]);
    t.ok(
        &repo,
        &[
            "remote",
            "add",
            "team",
            "s3://team-bucket/data",
            "--region",
            "eu-west-1",
            "--endpoint",
            "http://127.0.0.1:9",
            "--allow-http",
            "--default",
        ],
    );
    t.ok(&repo, &["remote", "list"]);
    t.ok(&repo, &["remote", "list", "--json"]);
    t.note("refusals");
    t.expect(&repo, &["remote", "add", "origin", "../other"], 1);
    t.expect(&repo, &["remote", "add", "x", "ftp://host/x"], 1);
    t.expect(&repo, &["remote", "remove", "nope"], 1);
    t.note("removal");
    t.ok(&repo, &["remote", "remove", "team"]);
    t.ok(&repo, &["remote", "remove", "mine"]);
    t.ok(&repo, &["remote", "list"]);
    t.note("as JSON");
    t.ok(&repo, &["remote", "add", "--json", "backup", "../backup"]);
    t.ok(
        &repo,
        &["remote", "add", "--json", "--local", "here", "../here"],
    );
    t.expect(&repo, &["remote", "add", "--json", "backup", "../b"], 1);
    t.ok(&repo, &["remote", "remove", "--json", "backup"]);
    t.ok(&repo, &["remote", "remove", "--json", "here"]);
    t.expect(&repo, &["remote", "remove", "--json", "nope"], 1);
    assert_transcript!("remote", t);
}

#[test]
fn install_hooks() {
    let repo = one_thread(TestRepo::init());
    let mut t = Transcript::new(&repo);
    t.ok(&repo, &["install-hooks"]);
    t.ok(&repo, &["install-hooks"]);
    t.ok(&repo, &["install-hooks", "--uninstall"]);
    t.ok(&repo, &["install-hooks", "--uninstall"]);
    t.note("with a hook of the user's own in place");
    repo.write(".git/hooks/post-merge", "#!/bin/sh\necho mine\n");
    repo.chmod(".git/hooks/post-merge", 0o755);
    t.ok(&repo, &["install-hooks"]);
    t.ok(&repo, &["install-hooks", "--uninstall"]);
    t.note("once per user");
    t.ok(&repo, &["install-hooks", "--global"]);
    t.ok(&repo, &["install-hooks", "--global", "--uninstall"]);
    t.note("as JSON");
    t.ok(&repo, &["install-hooks", "--json"]);
    t.ok(&repo, &["install-hooks", "--json", "--uninstall"]);
    t.ok(&repo, &["install-hooks", "--json", "--global"]);
    t.ok(
        &repo,
        &["install-hooks", "--json", "--global", "--uninstall"],
    );
    assert_transcript!("install_hooks", t);
}

/// A repository locked by another process: the lock's pid is filtered.
#[test]
fn locked() {
    let repo = two_versions().build();
    let lock = std::fs::File::options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(repo.path(".cairn/lock"))
        .unwrap();
    lock.lock().unwrap();
    std::fs::write(
        repo.path(".cairn/lock"),
        format!("pid {}", std::process::id()),
    )
    .unwrap();
    let mut t = Transcript::new(&repo);
    t.expect(&repo, &["add", "data"], 1);
    drop(lock);
    assert_transcript!("locked", t);
}
