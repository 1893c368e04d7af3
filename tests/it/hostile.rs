//! Hostile inputs and surroundings: a committed config cannot choose where
//! cairn writes, a lying remote cannot exhaust memory, a hung remote cannot
//! hang cairn, a closed stdout ends cairn quietly, and each failure gets its
//! own message and hint. Also the crash matrices of `add` and `gc`.

use crate::common;

use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cairn::format::codec::Codec;
use cairn::format::kind::ObjectKind;
use cairn::format::pack::PackBuilder;
use cairn::hash::Id;
use cairn::remote::index::{self, PackRecord};
use common::{assert_error_report, random_bytes, TestRepo};

// ------------------------------------ a closed stdout ends cairn quietly

/// A repository whose `status`, `log data` and `diff v1 v2` print many lines.
fn chatty_repo() -> TestRepo {
    let repo = TestRepo::init();
    for v in 1..=2 {
        for i in 0..300 {
            repo.write(&format!("data/f{i:03}.csv"), format!("v{v} {i}\n"));
        }
        repo.cairn_ok(&["add", "data"]);
        repo.commit_all(&format!("v{v}"));
        repo.git(&["tag", &format!("v{v}")]);
    }
    for i in 0..300 {
        repo.write(&format!("data/f{i:03}.csv"), format!("v3 {i}\n"));
    }
    repo
}

/// Run `cairn ARGS | head -1` and check cairn neither panicked nor exited
/// with a Rust panic status; also run it with a reader that is already
/// gone, which makes the very first write fail.
fn quiet_on_closed_pipe(repo: &TestRepo, args: &[&str]) {
    let bin = common::cairn_bin().to_str().unwrap().to_string();
    let line = format!(
        "set -o pipefail; '{bin}' {} | head -1; echo \"status=${{PIPESTATUS[0]}}\" >&2",
        args.join(" ")
    );
    let mut sh = Command::new("bash");
    sh.arg("-c").arg(&line);
    let cmd = repo.cairn_std(&[]);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    let out = sh.current_dir(&repo.root).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(!stderr.contains("panicked"), "cairn {args:?}: {stderr}");
    assert!(
        stderr.contains("status=0") || stderr.contains("status=141"),
        "cairn {args:?} | head -1: {stderr}"
    );

    let mut child = repo
        .cairn_std(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "cairn {args:?}: {err}");
    assert_ne!(status.code(), Some(101), "cairn {args:?}: {err}");
}

#[test]
fn status_piped_to_head_exits_quietly() {
    let repo = chatty_repo();
    quiet_on_closed_pipe(&repo, &["status"]);
}

#[test]
fn log_piped_to_head_exits_quietly() {
    let repo = chatty_repo();
    quiet_on_closed_pipe(&repo, &["log", "data"]);
}

#[test]
fn diff_piped_to_head_exits_quietly() {
    let repo = chatty_repo();
    quiet_on_closed_pipe(&repo, &["diff", "v1", "v2"]);
}

// ------------------- a committed config cannot choose where cairn writes

#[test]
fn committed_cache_dir_is_ignored_with_a_warning() {
    let repo = TestRepo::init();
    let elsewhere = repo.base().join("somewhere-else");
    let config = repo.read_string(".cairn/config.toml");
    repo.write(
        ".cairn/config.toml",
        format!("{config}\n[cache]\ndir = \"{}\"\n", elsewhere.display()),
    );
    repo.write("a.bin", random_bytes("a", 300_000));
    let out = repo.cairn(&["add", "a.bin"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning:")
            && stderr.contains("cache.dir")
            && stderr.contains("config.local.toml"),
        "{stderr}"
    );
    assert!(!elsewhere.exists(), "nothing may be written there");
    assert!(
        !repo.packs().is_empty(),
        "packs go to the repository's cache"
    );

    // The same value in the local file is honoured, without a warning.
    // (The committed one is removed, not renamed: an unknown table would
    // be warned about in its own right.)
    fs::write(repo.path(".cairn/config.toml"), &config).unwrap();
    repo.write(
        ".cairn/config.local.toml",
        format!("[cache]\ndir = \"{}\"\n", elsewhere.display()),
    );
    repo.write("b.bin", random_bytes("b", 300_000));
    let out = repo.cairn(&["add", "b.bin"]).output().unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning:"));
    assert!(elsewhere.join("packs").is_dir());
}

/// The ignored setting is said exactly once by every command that opens the
/// repository, however many of its parts the command uses, and not by
/// `get`, which works in a repository of its own.
#[test]
fn committed_cache_dir_warning_is_said_once_per_command() {
    let repo = TestRepo::builder()
        .folder_remote("origin", "store")
        .file("a.bin", random_bytes("a", 300_000))
        .commit("a")
        .tag("v1")
        .push()
        .build();
    let config = repo.read_string(".cairn/config.toml");
    repo.write(
        ".cairn/config.toml",
        format!("{config}\n[cache]\ndir = \"/nowhere\"\n"),
    );
    repo.commit_all("a committed cache.dir");
    let said = |args: &[&str]| {
        let out = repo.cairn(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (stderr.matches("ignoring cache.dir").count(), stderr)
    };
    for args in [
        &["status"][..],
        &["ls", "v1", "a.bin"],
        &["log", "a.bin"],
        &["diff", "v1"],
        &["verify"],
        &["fetch", "v1"],
        &["checkout", "v1"],
        &["pull"],
        &["push", "v1"],
        &["gc", "--dry-run"],
        &["add", "a.bin"],
    ] {
        let (n, stderr) = said(args);
        assert_eq!(n, 1, "{args:?}:\n{stderr}");
    }
    let (n, stderr) = said(&["get", repo.root.to_str().unwrap(), "a.bin", "-o", "copy"]);
    assert_eq!(n, 0, "get:\n{stderr}");
    assert!(repo.exists("copy"), "{stderr}");
}

// ---------------------------------- a lying remote cannot exhaust memory

/// The one index file of a folder remote, decoded.
fn remote_index(store: &Path) -> (PathBuf, Vec<PackRecord>) {
    let dir = store.join("index");
    let file = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "idx"))
        .expect("an index file");
    let id = index::index_id_of(file.to_str().unwrap()).unwrap();
    let recs = index::decode(&id, &fs::read(&file).unwrap()).unwrap();
    (file, recs)
}

/// Replace every copy of chunk `id` on the folder remote by one pack that
/// holds `stored` (zstd) and claims it decodes to `raw_len` bytes.
fn plant_lying_chunk(store: &Path, id: Id, stored: &[u8], raw_len: u32) -> Id {
    let (old_index, recs) = remote_index(store);
    let mut b = PackBuilder::default();
    b.add(ObjectKind::Chunk, id, Codec::Zstd, stored, raw_len);
    let (pack, bytes, entries) = b.finish();
    let path = store.join(index::pack_path(&pack));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, &bytes).unwrap();
    let mut kept: Vec<PackRecord> = recs
        .into_iter()
        .filter(|r| !r.entries.iter().any(|e| e.id == id))
        .collect();
    kept.push(PackRecord {
        id: pack,
        len: bytes.len() as u64,
        entries,
    });
    let (iid, ibytes) = index::encode(&kept);
    fs::remove_file(old_index).unwrap();
    fs::write(store.join(format!("index/{}.idx", iid.to_hex())), ibytes).unwrap();
    let _ = fs::remove_file(store.join(index::LISTING));
    // The locators still name the old copy: without them, the planted one
    // is the only copy any reader is told of.
    let _ = fs::remove_dir_all(store.join("loc"));
    pack
}

/// A repository that pushed `small.bin` to a folder remote: small enough
/// to be one chunk, whose id is the file id. Returns the repository, the
/// remote folder and that id.
fn pushed_one_chunk_file() -> (TestRepo, std::path::PathBuf, Id) {
    let a = TestRepo::builder()
        .folder_remote("origin", "remote-store")
        .file("small.bin", random_bytes("small", 100_000))
        .commit("small")
        .push()
        .build();
    let store = a.remote_dir("origin");
    let id = Id::from_hex(&a.pointer("small.bin")["id"]).unwrap();
    (a, store, id)
}

#[test]
fn a_chunk_claiming_gigabytes_is_reported_damaged_without_allocating_them() {
    let (a, store, id) = pushed_one_chunk_file();
    // A few kB of zstd that really holds 256 MiB of zeros, claiming 4 GiB.
    let zeros = vec![0u8; 256 << 20];
    let stored = zstd::bulk::compress(&zeros, 3).unwrap();
    drop(zeros);
    let pack = plant_lying_chunk(&store, id, &stored, u32::MAX);

    let b = TestRepo::clone_of(&a);
    // With 3 GiB of address space, trusting the claim would abort.
    let bin = common::cairn_bin().to_str().unwrap().to_string();
    let mut sh = Command::new("bash");
    sh.arg("-c")
        .arg(format!("ulimit -v 3145728; exec '{bin}' pull"));
    for (k, v) in b.cairn_std(&[]).get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    let out = sh.current_dir(&b.root).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_error_report(
        &stderr,
        &[
            "origin",
            "damaged",
            &pack.to_hex(),
            "chunk",
            &id.to_hex(),
            "verify --remote",
        ],
    );
    assert!(!stderr.contains("not on remote"), "{stderr}");
    assert!(!stderr.contains("neither in the cache"), "{stderr}");
    assert!(!b.exists("small.bin"), "nothing unverified is written");
}

#[test]
fn a_damaged_remote_copy_is_skipped_for_a_good_one() {
    let (a, store, id) = pushed_one_chunk_file();
    let (good_index, _) = remote_index(&store);
    let good = fs::read(&good_index).unwrap();
    let lie = zstd::bulk::compress(&vec![0u8; 1 << 20], 3).unwrap();
    plant_lying_chunk(&store, id, &lie, 1 << 20);
    // Put the good index back beside the lying one: two copies listed.
    fs::write(&good_index, good).unwrap();
    let b = a.pulled_clone();
    assert_eq!(b.read("small.bin"), a.read("small.bin"));
}

// --------------------------------------- a hung remote cannot hang cairn

/// A repository with data to push to an S3 remote at `endpoint` (a local
/// port), with dummy credentials.
fn s3_repo_at(port: u16, extra: &str) -> TestRepo {
    let mut repo = TestRepo::init();
    repo.set_envs(&[
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ]);
    repo.cairn_ok(&["remote", "add", "origin", "s3://bucket/prefix"]);
    repo.write(
        ".cairn/config.local.toml",
        format!(
            "[remote.origin]\nendpoint = \"http://127.0.0.1:{port}\"\nallow_http = true\n{extra}"
        ),
    );
    repo.write("a.bin", random_bytes("a", 100_000));
    repo.cairn_ok(&["add", "a.bin"]);
    repo
}

#[test]
fn push_to_a_closed_port_fails_fast_with_a_hint() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let repo = s3_repo_at(port, "");
    let start = Instant::now();
    let (_, stderr) = repo.cairn_fail(&["push"]);
    eprintln!("push to a closed port failed after {:?}", start.elapsed());
    assert_error_report(&stderr, &["origin", "cannot be reached", "endpoint"]);
}

#[test]
fn push_to_an_endpoint_that_never_answers_gives_up_and_says_it_waits() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept every connection and never answer.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c);
        }
    });
    let repo = s3_repo_at(port, "request_timeout = \"7s\"\nretries = 1\n");
    let start = Instant::now();
    let mut child = repo
        .cairn_std(&["push"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Not a speed target: a guard so a regression cannot hang the suite.
    let deadline = Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > deadline {
            child.kill().unwrap();
            panic!("push to a silent endpoint still running after {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    eprintln!(
        "push to a silent endpoint failed after {:?}",
        start.elapsed()
    );
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.lines().any(|l| l.starts_with("warning:")
            && l.contains("origin")
            && l.contains("has not answered")),
        "a wait must be reported while it lasts:\n{stderr}"
    );
    assert_error_report(&stderr, &["origin", "cannot be reached", "request_timeout"]);
}

// ------------------------------------------------------- crash matrices

fn verify_clean(repo: &TestRepo, when: &str) {
    let out = repo.cairn(&["verify"]).output().unwrap();
    assert!(
        out.status.success(),
        "verify {when}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

type Files = Vec<(&'static str, Vec<u8>)>;

fn add_inputs() -> Files {
    vec![
        ("data/a.bin", random_bytes("a", 3_000_000)),
        ("data/b.csv", common::csv_text(1, 2_000_000)),
        ("model.bin", random_bytes("m", 2_500_000)),
        ("notes/readme.txt", b"small\n".to_vec()),
    ]
}

fn write_files(repo: &TestRepo, files: &Files) {
    for (rel, bytes) in files {
        repo.write(rel, bytes);
    }
}

fn assert_files(repo: &TestRepo, files: &Files, when: &str) {
    for (rel, bytes) in files {
        assert!(repo.read(rel) == *bytes, "{rel} differs {when}");
    }
}

const ADD_ARGS: &[&str] = &["add", "data", "model.bin", "notes/readme.txt"];

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature (scripts/test)"
)]
fn add_crashed_at_any_durable_step_reruns_to_a_verified_store() {
    let files = add_inputs();
    let probe = TestRepo::init();
    write_files(&probe, &files);
    let points = common::crash::points(&probe, ADD_ARGS);
    for step in [
        "store.pack_sealed",
        "add.packs_durable",
        "add.pointer_written",
        "add.gitignore_written",
        "add.stat_index_saved",
    ] {
        assert!(
            points.iter().any(|p| p.starts_with(&format!("{step}@"))),
            "{step} not reached: {points:?} (is the failpoints feature on?)"
        );
    }
    let mut crashed = 0;
    for point in &points {
        let repo = TestRepo::init();
        write_files(&repo, &files);
        crashed += usize::from(common::crash::crash_at(&repo, ADD_ARGS, point));
        verify_clean(&repo, &format!("right after a crash at {point}"));
        repo.cairn_ok(ADD_ARGS);
        verify_clean(&repo, &format!("after re-running add crashed at {point}"));
        for (rel, _) in &files {
            repo.remove(rel);
        }
        repo.cairn_ok(&["checkout"]);
        assert_files(&repo, &files, &format!("after a crash at {point}"));
    }
    eprintln!(
        "add crash matrix: {} points, {crashed} crashed runs",
        common::crash::distinct(&points),
    );
}

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature (scripts/test)"
)]
fn gc_crashed_at_any_durable_step_reruns_to_a_verified_store() {
    // v1: a big file (its chunks spread over the writers' packs) and a
    // file in a pack of its own; v2 keeps a quarter of the big file and
    // drops the other, so gc both rewrites and deletes packs.
    let big = random_bytes("big", 8_000_000);
    let kept: Files = vec![("big.bin", big[..2_000_000].to_vec())];
    let setup = || {
        let repo = TestRepo::builder()
            .file("big.bin", &big)
            .add(&["big.bin"])
            .file("gone.bin", random_bytes("gone", 1_000_000))
            .add(&["gone.bin"])
            .commit("v1")
            .file("big.bin", &kept[0].1)
            .add(&["big.bin"])
            .remove("gone.bin")
            .remove("gone.bin.cairn")
            .commit("v2")
            .build();
        // Only the current commit is kept: forget v1.
        let branch = repo.git(&["rev-parse", "--abbrev-ref", "HEAD"]);
        repo.git(&["checkout", "-q", "--orphan", "only"]);
        repo.commit_all("only v2");
        repo.git(&["branch", "-D", branch.trim()]);
        let _ = repo.git(&["reflog", "expire", "--expire=now", "--all"]);
        repo
    };
    let gc = ["gc", "--grace", "0"];
    let probe = setup();
    let points = common::crash::points(&probe, &gc);
    for step in ["gc.pack_sealed", "gc.pack_deleted"] {
        assert!(
            points.iter().any(|p| p.starts_with(&format!("{step}@"))),
            "{step} not reached: {points:?} (is the failpoints feature on?)"
        );
    }
    let mut crashed = 0;
    for point in &points {
        let repo = setup();
        crashed += usize::from(common::crash::crash_at(&repo, &gc, point));
        verify_clean(&repo, &format!("right after gc crashed at {point}"));
        repo.cairn_ok(&gc);
        verify_clean(&repo, &format!("after re-running gc crashed at {point}"));
        repo.remove("big.bin");
        repo.cairn_ok(&["checkout"]);
        assert_files(&repo, &kept, &format!("after gc crashed at {point}"));
    }
    eprintln!(
        "gc crash matrix: {} points, {crashed} crashed runs",
        common::crash::distinct(&points),
    );
}

// ---------------------------- each failure gets its own message and hint

#[test]
fn verify_names_a_malformed_pointer_file() {
    let repo = TestRepo::init();
    repo.write("a.bin", random_bytes("a", 50_000));
    repo.write("b.bin", random_bytes("b", 50_000));
    repo.cairn_ok(&["add", "a.bin", "b.bin"]);
    let text = repo.read_string("a.bin.cairn");
    repo.write("a.bin.cairn", text.replace("\nsize ", "\nsize x"));
    let (_, stderr) = repo.cairn_fail(&["verify"]);
    assert_error_report(
        &stderr,
        &["malformed pointer", "a.bin.cairn", "git checkout"],
    );
    assert!(!stderr.contains("in the cache"), "{stderr}");
}

#[test]
fn a_data_file_named_like_a_pointer_is_skipped_with_a_warning() {
    let repo = TestRepo::init();
    repo.write("a.bin", random_bytes("a", 50_000));
    repo.cairn_ok(&["add", "a.bin"]);
    repo.commit_all("a");
    // Some tool's small data file that happens to end in .cairn.
    repo.write("results.cairn", [0u8, 1, 2, 3, 200, 201]);
    repo.write("notes.cairn", "just some notes\n");
    for args in [
        &["status"][..],
        &["verify"][..],
        &["gc", "--grace", "0", "--dry-run"][..],
        &["ls"][..],
    ] {
        let out = repo.cairn(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "cairn {args:?}:\n{stderr}");
        for name in ["results.cairn", "notes.cairn"] {
            assert!(
                stderr
                    .lines()
                    .any(|l| l.starts_with("warning:") && l.contains(name)),
                "cairn {args:?} must name {name}:\n{stderr}"
            );
        }
    }
    let st = repo.cairn_ok(&["status"]);
    assert!(st.contains("1 tracked path"), "{st}");
    // Nothing was deleted that a.bin needs.
    repo.remove("a.bin");
    repo.cairn_ok(&["checkout"]);
    assert_eq!(repo.read("a.bin"), random_bytes("a", 50_000));
}

/// Run `cairn ARGS` in a private mount namespace with a 1 MiB tmpfs
/// mounted at `at`. `None` if this machine cannot make one.
fn with_tiny_disk(repo: &TestRepo, at: &Path, args: &[&str]) -> Option<std::process::Output> {
    let probe = Command::new("unshare")
        .args(["-rm", "true"])
        .output()
        .ok()?;
    if !probe.status.success() {
        return None;
    }
    fs::create_dir_all(at).unwrap();
    let bin = common::cairn_bin().to_str().unwrap().to_string();
    let script = format!(
        "mount -t tmpfs -o size=1m tmpfs '{}' && exec '{bin}' {}",
        at.display(),
        args.join(" ")
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-rm", "sh", "-c", &script]);
    for (k, v) in repo.cairn_std(&[]).get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    Some(cmd.current_dir(&repo.root).output().unwrap())
}

#[test]
fn a_full_disk_during_add_and_checkout_gets_the_disk_full_hint() {
    let mut repo = TestRepo::init();
    let data = random_bytes("big", 3_000_000);
    repo.write("data/big.bin", &data);
    // add: the cache is on a 1 MiB file system.
    let cache = repo.base().join("tiny-cache");
    repo.set_env("CAIRN_CACHE_DIR", cache.to_str().unwrap());
    let Some(out) = with_tiny_disk(&repo, &cache, &["add", "data"]) else {
        panic!("this test needs `unshare -rm` and tmpfs (user and mount namespaces)");
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_error_report(&stderr, &["disk is full"]);
    assert!(
        !repo.exists("data.cairn"),
        "no pointer to data that is not stored"
    );

    // checkout: the work tree's data directory is on a 1 MiB file system.
    let repo = TestRepo::init();
    repo.write("data/big.bin", &data);
    repo.cairn_ok(&["add", "data"]);
    repo.remove("data/big.bin");
    let out = with_tiny_disk(&repo, &repo.path("data"), &["checkout"]).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_error_report(&stderr, &["disk is full"]);
}

#[test]
fn an_s3_url_with_credentials_is_refused_for_that_reason_and_redacted() {
    let repo = TestRepo::init();
    for url in [
        "s3://user:s3cret@bucket/p",
        "gs://user:s3cret@bucket",
        "az://k:s3cret@c",
    ] {
        let (_, stderr) = repo.cairn_fail(&["remote", "add", "origin", url]);
        assert_error_report(&stderr, &["credentials do not belong"]);
        assert!(!stderr.contains("s3cret"), "{stderr}");
        assert!(!stderr.contains("bucket nam"), "{stderr}");
    }
}

#[test]
fn remote_list_flags_a_url_with_credentials_and_lists_the_others() {
    let repo = TestRepo::init();
    let store = repo.base().join("store");
    repo.cairn_ok(&["remote", "add", "good", store.to_str().unwrap()]);
    let config = repo.read_string(".cairn/config.toml");
    repo.write(
        ".cairn/config.toml",
        format!("{config}\n[remote.leaky]\nurl = \"s3://AKIA:s3cret@bucket/p\"\n"),
    );
    let out = repo.cairn(&["remote", "list"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.lines().any(|l| l.starts_with("good\t")), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("leaky\t")
            && l.contains("INVALID")
            && l.contains("credentials")),
        "{stdout}"
    );
    assert!(stderr.contains("warning:"), "{stderr}");
    assert!(!stdout.contains("s3cret") && !stderr.contains("s3cret"));
    let v = repo.cairn_json(&["remote", "list", "--json"]);
    assert_eq!(v["remotes"].as_array().unwrap().len(), 2, "{v}");
}

#[test]
fn gc_remote_refusing_a_damaged_index_says_why_without_the_shared_cache_hint() {
    let repo = TestRepo::builder()
        .folder_remote("origin", "store")
        .file("a.bin", random_bytes("a", 50_000))
        .commit("a")
        .push()
        .build();
    let (index_file, _) = remote_index(&repo.remote_dir("origin"));
    let mut bytes = fs::read(&index_file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&index_file, bytes).unwrap();
    // A clone: no good copy of the index in its cache.
    let b = TestRepo::clone_of(&repo);
    let (_, stderr) = b.cairn_fail(&["gc", "--remote", "origin", "--grace", "0"]);
    assert_error_report(
        &stderr,
        &["index file on the remote is damaged", "verify --remote"],
    );
    assert!(!stderr.contains("--shared-cache"), "{stderr}");
}
