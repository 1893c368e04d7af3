//! `cairn push`, `fetch` and `pull` against real remotes: a folder, and S3
//! through a local moto server (see `common::s3`). Failure messages are in
//! `remote_errors.rs`, remote verification and repair in `verify_remote.rs`.

use crate::common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::data::{
    assert_same_tree, data_and_model, dataset, du, files_under, num, write_tree, Tree,
};
use common::s3::S3Server;
use common::{b3, random_bytes, Rng, TestRepo};

/// The CI story: push two tagged versions from A; a fresh clone B gets
/// each one back byte for byte with `cairn pull`.
fn ci_story(url: &str, env: &[(String, String)]) {
    let a = TestRepo::builder()
        .envs(env)
        .remote("origin", url)
        .tree(&dataset(1))
        .commit("v1")
        .tag("v1")
        .remove("data")
        .tree(&dataset(2))
        .commit("v2")
        .build();

    let p1 = a.cairn_json(&["push", "v1", "--json"]);
    assert_eq!(p1["remote"], "origin", "{p1}");
    assert!(num(&p1, "objects") > 0 && num(&p1, "packs") > 0, "{p1}");
    assert!(num(&p1, "bytes") > 6 << 20, "{p1}");
    assert!(
        num(&p1["requests"], "writes") >= 2,
        "a pack and an index: {p1}"
    );
    let p2 = a.cairn_json(&["push", "--json"]);
    assert!(num(&p2, "objects") > 0, "v2 has new data: {p2}");
    assert!(
        num(&p2, "bytes") < num(&p1, "bytes") / 2,
        "v2 shares most of its data with v1: {p1} {p2}"
    );
    let p3 = a.cairn_json(&["push", "--json"]);
    assert_eq!(num(&p3, "objects"), 0, "{p3}");
    assert_eq!(num(&p3, "packs"), 0, "{p3}");
    assert_eq!(num(&p3["requests"], "reads"), 1, "{p3}");
    assert_eq!(num(&p3["requests"], "writes"), 0, "{p3}");

    let mut b = TestRepo::clone_of(&a);
    b.set_envs(env);
    assert!(!b.exists("data") && !b.exists("model.bin"));
    b.cairn_ok(&["pull"]);
    assert_same_tree(&data_and_model(&b), &dataset(2), "v2 in the clone");
    b.cairn_ok(&["verify"]);

    b.git(&["checkout", "-q", "v1"]);
    b.cairn_ok(&["pull"]);
    assert_same_tree(&data_and_model(&b), &dataset(1), "v1 in the clone");
    let st = b.cairn_json(&["status", "--json"]);
    for row in st["paths"].as_array().unwrap() {
        assert_eq!(row["state"], "clean", "{st}");
    }
    // Everything is in the cache now: pulling again fetches nothing.
    let f = b.cairn_json(&["fetch", "--json"]);
    assert_eq!(f["remote"], serde_json::Value::Null, "{f}");
    assert_eq!(num(&f, "objects"), 0, "{f}");
}

#[test]
fn ci_story_with_a_folder_remote() {
    let store = tempfile::tempdir().unwrap();
    let url = store.path().join("remote-store");
    ci_story(url.to_str().unwrap(), &[]);
    // The documented layout: packs/xx/<id>.pack and index/<id>.idx.
    let mut names = Vec::new();
    for e in walkdir::WalkDir::new(&url).min_depth(1) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(&url).unwrap().to_str().unwrap();
            names.push(rel.to_string());
        }
    }
    check_layout(&names);
}

#[test]
fn ci_story_with_an_s3_remote() {
    let server = S3Server::shared();
    let bucket = server.bucket("ci-story");
    ci_story(&format!("s3://{bucket}/team/datasets"), &server.env());
    let keys: Vec<String> = server
        .list(&bucket, "")
        .into_iter()
        .map(|(k, _)| {
            k.strip_prefix("team/datasets/")
                .unwrap_or_else(|| panic!("{k} is outside the remote's prefix"))
                .to_string()
        })
        .collect();
    check_layout(&keys);
}

/// The same story on Azure Blob Storage, through the Azurite emulator.
#[test]
fn ci_story_with_an_azure_remote() {
    let server = common::azure::AzureServer::shared();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let container = format!("ci-story-{}-{nanos}", std::process::id());
    server.create_container(&container);
    ci_story(&format!("az://{container}/team"), &server.env());
}

fn check_layout(names: &[String]) {
    let is_hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let mut packs = 0;
    let mut indexes = 0;
    let mut locators = 0;
    for n in names {
        let parts: Vec<&str> = n.split('/').collect();
        match parts.as_slice() {
            ["packs", xx, file] if file.ends_with(".pack") => {
                let id = file.trim_end_matches(".pack");
                assert!(is_hex(id) && id.starts_with(xx), "{n}");
                packs += 1;
            }
            ["index", file] if file.ends_with(".idx") => {
                assert!(is_hex(file.trim_end_matches(".idx")), "{n}");
                indexes += 1;
            }
            // The listing kept for plain-HTTP readers (FORMAT.md §15.1).
            ["index.list"] => {}
            // Per-pointer locators (FORMAT.md §15.8).
            ["loc", xx, file] if file.ends_with(".loc") => {
                let id = file.trim_end_matches(".loc");
                assert!(is_hex(id) && id.starts_with(xx), "{n}");
                locators += 1;
            }
            _ => panic!("unexpected file on the remote: {n} (all: {names:?})"),
        }
    }
    assert!(packs >= 2 && indexes == 2, "two pushes: {names:?}");
    assert!(locators >= 1, "pushed pointers have locators: {names:?}");
}

#[test]
fn pushing_2000_files_and_40_mib_to_s3_takes_few_requests() {
    let server = S3Server::recording();
    let bucket = server.bucket("budget");
    let mut repo = TestRepo::init();
    repo.set_envs(&server.env());
    let mut rng = Rng::new(2000);
    for i in 0..2000 {
        let len = 64 + rng.below(8192) as usize;
        repo.write(
            &format!("small/d{:02}/f{i:04}.bin", i % 25),
            random_bytes(&format!("f{i}"), len),
        );
    }
    repo.write("big.bin", random_bytes("big", 40 << 20));
    repo.cairn_ok(&["add", "small", "big.bin"]);
    repo.commit_all("data");
    repo.cairn_ok(&["remote", "add", "origin", &format!("s3://{bucket}/p")]);

    let before = server.recorded().len();
    let push = repo.cairn_json(&["push", "--json"]);
    let seen: Vec<_> = server.recorded()[before..]
        .iter()
        .filter(|r| r.in_bucket(&bucket))
        .cloned()
        .collect();
    let writes: Vec<_> = seen.iter().filter(|r| r.is_write()).collect();
    assert!(
        writes.len() <= 100,
        "{} write requests at the server: {:?}",
        writes.len(),
        writes
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        num(&push["requests"], "writes"),
        writes.len() as u64,
        "cairn's count of writes matches the server's: {push}"
    );
    eprintln!("{} write request(s) at the server: {push}", writes.len());
    let sent: usize = writes.iter().map(|r| r.body_len).sum();
    assert!(sent as u64 >= num(&push, "bytes"), "{push}: {sent} sent");
    assert!(num(&push, "bytes") > 40 << 20, "{push}");

    // Nothing new: at most 2 requests of any kind.
    let before = server.recorded().len();
    let again = repo.cairn_json(&["push", "--json"]);
    assert_eq!(num(&again, "objects"), 0, "{again}");
    let seen: Vec<_> = server.recorded()[before..]
        .iter()
        .filter(|r| r.in_bucket(&bucket))
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect();
    assert!(seen.len() <= 2, "a push with nothing new made {seen:?}");
}

#[test]
fn pulling_one_file_of_a_large_directory_downloads_only_that_file() {
    const FILE: usize = 256 << 10;
    let server = S3Server::shared();
    let bucket = server.bucket("partial");
    let mut a = TestRepo::init();
    a.set_envs(&server.env());
    for i in 0..200 {
        a.write(
            &format!("data/f{i:03}.bin"),
            random_bytes(&format!("part-{i}"), FILE),
        );
    }
    a.cairn_ok(&["add", "data"]);
    a.cairn_ok(&["remote", "add", "origin", &format!("s3://{bucket}")]);
    a.commit_all("data");
    a.cairn_ok(&["push"]);

    let mut b = TestRepo::clone_of(&a);
    b.set_envs(&server.env());
    let f = b.cairn_json(&["fetch", "--json", "data/f123.bin"]);
    assert_eq!(f["remote"], "origin", "{f}");
    assert_eq!(num(&f["requests"], "writes"), 0, "{f}");
    let limit = 2 * FILE as u64 + (64 << 10);
    assert!(
        num(&f, "bytes") > 0 && num(&f, "bytes") < limit,
        "fetched {} bytes for one {FILE}-byte file of a 50 MiB directory: {f}",
        num(&f, "bytes")
    );
    eprintln!("fetched one file of 200: {f}");
    let cached = du(&b.path(".git/cairn/cache"));
    assert!(cached < limit, "the clone's cache holds {cached} bytes");

    b.cairn_ok(&["pull", "data/f123.bin"]);
    assert_eq!(
        b3(&b.read("data/f123.bin")),
        b3(&random_bytes("part-123", FILE))
    );
    assert!(!b.exists("data/f122.bin"), "only the asked-for file");
    // The whole directory then brings the rest.
    b.cairn_ok(&["pull"]);
    assert_same_tree(&files_under(&b, "data"), &files_under(&a, "data"), "data");
}

/// Packs fully written to a folder remote (object_store's folder backend
/// writes `NAME#N` and renames it to `NAME` when complete).
fn finished_packs(dir: &Path) -> usize {
    walkdir::WalkDir::new(dir.join("packs"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".pack"))
        .count()
}

/// Start `cairn push`, SIGKILL it as soon as `landed()` reports a pack on
/// the remote (or give up waiting). Returns the packs present after the
/// kill, or None if the push had already finished.
fn kill_push_after_first_pack(repo: &TestRepo, landed: &dyn Fn() -> usize) -> Option<usize> {
    let mut child = repo
        .cairn_std(&["push", "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "the push failed on its own: {status}");
            return None;
        }
        if landed() > 0 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    if status.success() {
        return None; // it finished between the poll and the kill
    }
    Some(landed())
}

/// Kill a push of 150 MiB part-way, push again, and check that the
/// remote is whole and a clone gets the data.
fn interrupted_push(a: &TestRepo, env: &[(String, String)], landed: &dyn Fn() -> usize) {
    let mut want = Tree::new();
    for i in 0..6 {
        want.insert(
            format!("data/shard-{i}.bin"),
            random_bytes(&format!("shard-{i}"), 25 << 20),
        );
    }
    write_tree(a, &want);
    a.cairn_ok(&["add", "data"]);
    a.commit_all("data");

    let killed = kill_push_after_first_pack(a, landed);
    let again = a.cairn_json(&["push", "--json"]);
    eprintln!("killed with {killed:?} pack(s) on the remote; then {again}");
    match killed {
        // The kill landed before the index was written (the usual case).
        Some(n) if num(&again, "objects") > 0 => {
            assert!(n > 0, "no pack landed within 60 s");
            // A request already sent when the push died may still complete
            // on the server, so more packs than counted may be there.
            assert!(
                num(&again, "packs_resumed") >= n as u64,
                "{n} pack(s) were on the remote after the kill: {again}"
            );
        }
        _ => eprintln!("note: the first push finished before it could be killed"),
    }
    a.cairn_ok(&["verify", "--remote", "origin"]);
    let json = a.cairn_json(&["verify", "--remote", "origin", "--json"]);
    assert_eq!(json["remote"], "origin", "{json}");
    assert_eq!(json["damaged"], serde_json::json!([]), "{json}");
    assert!(num(&json, "objects") >= num(&again, "objects"), "{json}");
    assert!(
        num(&json, "bytes") > 150 << 20,
        "every pack re-read: {json}"
    );
    assert_eq!(num(&json["requests"], "writes"), 0, "{json}");
    let nothing = a.cairn_json(&["push", "--json"]);
    assert_eq!(num(&nothing, "objects"), 0, "{nothing}");

    let mut b = TestRepo::clone_of(a);
    b.set_envs(env);
    b.cairn_ok(&["pull"]);
    assert_same_tree(&files_under(&b, "data"), &want, "data in a fresh clone");
}

#[test]
fn a_push_killed_part_way_to_a_folder_resumes_and_verifies() {
    let a = TestRepo::builder()
        .folder_remote("origin", "remote-store")
        .build();
    let store = a.remote_dir("origin");
    interrupted_push(&a, &[], &|| finished_packs(&store));
}

#[test]
fn a_push_killed_part_way_to_s3_resumes_and_verifies() {
    let server = S3Server::shared();
    let bucket = server.bucket("killed");
    let mut a = TestRepo::init();
    a.set_envs(&server.env());
    a.cairn_ok(&["remote", "add", "origin", &format!("s3://{bucket}/x")]);
    let landed = || {
        server
            .list(&bucket, "x/packs/")
            .iter()
            .filter(|(k, _)| k.ends_with(".pack"))
            .count()
    };
    interrupted_push(&a, &server.env(), &landed);
}
