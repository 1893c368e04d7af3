//! `cairn cat [REV:]PATH`: one file of any revision on stdout, byte for
//! byte, fetching only the chunks it needs; damage and bad paths fail with
//! one error and a hint (exit 1), and stdout then never carries the
//! whole file.

use std::process::Output;

use crate::common::s3::S3Server;
use crate::common::{assert_error_report, random_bytes, TestRepo};

fn stdout_of(out: &Output) -> &[u8] {
    assert!(
        out.status.success(),
        "cairn cat failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    &out.stdout
}

/// A repository with `model.bin` (several chunks) and `data/` at v1, both
/// changed at v2.
fn two_versions() -> (TestRepo, Vec<u8>, Vec<u8>) {
    let repo = TestRepo::init();
    let v1 = random_bytes("cat-model-1", 700_000);
    repo.write("model.bin", &v1);
    repo.write("data/a.csv", "id,v\n1,10\n");
    repo.write("data/sub/b.bin", random_bytes("cat-b-1", 90_000));
    repo.cairn_ok(&["add", "model.bin", "data"]);
    repo.commit_all("v1");
    repo.git(&["tag", "v1"]);
    let v2 = random_bytes("cat-model-2", 300_000);
    repo.write("model.bin", &v2);
    repo.write("data/a.csv", "id,v\n1,10\n2,20\n");
    repo.cairn_ok(&["add", "model.bin", "data"]);
    repo.commit_all("v2");
    (repo, v1, v2)
}

#[test]
fn cat_writes_a_file_of_any_revision_byte_for_byte() {
    let (repo, v1, v2) = two_versions();
    let out = repo.cairn(&["cat", "v1:model.bin"]).output().unwrap();
    assert_eq!(stdout_of(&out), v1.as_slice());
    let out = repo.cairn(&["cat", "model.bin"]).output().unwrap();
    assert_eq!(stdout_of(&out), v2.as_slice());
    // Inside a tracked directory, at a revision and in the work tree.
    let out = repo.cairn(&["cat", "v1:data/a.csv"]).output().unwrap();
    assert_eq!(stdout_of(&out), b"id,v\n1,10\n");
    let out = repo.cairn(&["cat", "data/a.csv"]).output().unwrap();
    assert_eq!(stdout_of(&out), b"id,v\n1,10\n2,20\n");
    let out = repo
        .cairn(&["cat", "HEAD:data/sub/b.bin"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), random_bytes("cat-b-1", 90_000).as_slice());
    // A path relative to where the user is, and the report on stderr.
    let out = repo
        .cairn(&["-C", "data", "cat", "a.csv", "--json"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), b"id,v\n1,10\n2,20\n");
    let report: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(report["path"], "data/a.csv");
    assert_eq!(report["size"], 15);
    assert_eq!(report["fetch"]["objects"], 0, "the cache had it");
    // Nothing in the work tree changed.
    assert_eq!(repo.read("model.bin"), v2);
}

#[test]
fn cat_json_usage_error_goes_to_stderr_keeping_stdout_for_file_bytes() {
    let (repo, _, _) = two_versions();
    for args in [
        &["cat", "--json", "--no-such-flag", "model.bin"][..],
        &["-C", ".", "cat", "--json"][..],
    ] {
        let out = repo.cairn(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: stdout must stay clean");
        let report: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
        assert_eq!(report["error"]["kind"], "usage", "{report}");
    }
    // Other verbs keep their JSON on stdout.
    let out = repo
        .cairn(&["ls", "--json", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["error"]["kind"], "usage");
}

#[test]
fn cat_of_what_is_not_a_tracked_file_fails_with_a_hint() {
    let (repo, _, _) = two_versions();
    for spec in ["v1:nosuch.bin", "v1:data", "data/nosuch.csv", "v1:data/sub"] {
        let (stdout, stderr) = repo.cairn_fail(&["cat", spec]);
        assert!(stdout.is_empty(), "{spec}: {stdout}");
        assert_error_report(&stderr, &["not a file cairn tracks"]);
    }
    let (_, stderr) = repo.cairn_fail(&["cat", "nosuchrev:model.bin"]);
    assert_error_report(&stderr, &["unknown revision 'nosuchrev'"]);
}

#[test]
fn cat_of_a_damaged_chunk_fails_instead_of_printing_wrong_bytes() {
    let repo = TestRepo::init();
    let bytes = random_bytes("cat-damaged", 200_000);
    repo.write("one.bin", &bytes);
    repo.cairn_ok(&["add", "one.bin"]);
    // Flip one stored byte in the middle of every pack's blob area.
    for pack in walkdir::WalkDir::new(repo.path(".git/cairn/cache/packs"))
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
    {
        let mut b = std::fs::read(pack.path()).unwrap();
        let at = b.len() / 3;
        b[at] ^= 0x55;
        std::fs::write(pack.path(), b).unwrap();
    }
    let out = repo.cairn(&["cat", "one.bin"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_ne!(out.stdout, bytes, "damaged data must not come out whole");
    assert_error_report(&String::from_utf8_lossy(&out.stderr), &["damaged"]);
}

/// In a fresh clone, `cat` of one file of a large pushed directory
/// downloads that file's chunks (plus the listing and its manifest), not
/// the directory: counted at the S3 server and in the report.
#[test]
fn cat_in_a_fresh_clone_downloads_only_that_files_chunks() {
    let server = S3Server::recording();
    let bucket = server.bucket("cat");
    let mut a = TestRepo::init();
    a.set_envs(&server.env());
    for i in 0..150 {
        a.write(
            &format!("big/part{i:03}.bin"),
            random_bytes(&format!("cat-part-{i}"), 64 << 10),
        );
    }
    let target = random_bytes("cat-target", 1 << 20);
    a.write("big/target.bin", &target);
    a.cairn_ok(&["add", "big"]);
    a.commit_all("big");
    a.cairn_ok(&["remote", "add", "origin", &format!("s3://{bucket}/p")]);
    a.commit_all("remote");
    a.cairn_ok(&["push"]);

    let mut b = TestRepo::clone_of(&a);
    b.set_envs(&server.env());
    let before = server.recorded().len();
    let out = b
        .cairn(&["cat", "HEAD:big/target.bin", "--json"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), target.as_slice());
    let report: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    let fetched = report["fetch"]["bytes"].as_u64().unwrap();
    // 1 MiB of incompressible chunks, plus the listing of 151 entries and
    // the manifest (a few KiB): chunks are read straight from the packs
    // with ranges that join only gaps under 32 KiB, so hardly a byte of
    // another file comes along (the directory is over 10 MiB).
    assert!(
        fetched < (1 << 20) + (64 << 10),
        "fetched {fetched} bytes for a 1 MiB file in a 10 MiB directory"
    );
    let pack_reads = server.recorded()[before..]
        .iter()
        .filter(|r| r.in_bucket(&bucket) && r.method == "GET" && r.path.contains("/packs/"))
        .count();
    // At most one read per chunk (16 of 64 KiB) plus the listing and the
    // manifest; coalescing usually makes it fewer.
    assert!(
        (1..=18).contains(&pack_reads),
        "{pack_reads} pack reads for one file"
    );
    assert!(!b.exists("big"), "cat restores nothing into the work tree");
    // The whole directory, for comparison, is more than five times as much.
    let mut c = TestRepo::clone_of(&a);
    c.set_envs(&server.env());
    let pull = c.cairn_json(&["pull", "--json"]);
    let all = pull["fetch"]["bytes"].as_u64().unwrap();
    assert!(all > 5 * fetched, "pull fetched {all} bytes, cat {fetched}");
}
