//! Crash safety: `kill -9` at any moment leaves a store that a re-run
//! completes and `cairn verify` passes, and the data still round-trips.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{b3, csv_text, random_bytes, TestRepo};

/// Spawn `cairn ARGS`, SIGKILL it after `delay`. Returns whether it was
/// still running when killed.
fn kill_after(repo: &TestRepo, args: &[&str], delay: Duration) -> bool {
    let mut child = repo
        .cairn_std(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    running
}

/// If a pointer exists after a crash, it must be complete, valid, and
/// refer only to data that is in the cache.
fn pointer_is_whole_or_absent(repo: &TestRepo, rel: &str) {
    let p = repo.path(&format!("{rel}.cairn"));
    if let Ok(text) = fs::read_to_string(&p) {
        assert!(
            text.starts_with("cairn-pointer 1\nkind dir\nid "),
            "{text:?}"
        );
        assert!(
            text.ends_with('\n') && text.contains("\nfiles "),
            "{text:?}"
        );
        let st = repo.cairn_json(&["status", "--json"]);
        assert_eq!(
            st["paths"][0]["stored"], true,
            "pointer to unstored data: {st}"
        );
    }
}

#[test]
fn kill_during_add_then_rerun_succeeds_and_verifies() {
    let repo = TestRepo::init();
    // About 200 MB: big incompressible files (several packs) and CSVs.
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for i in 0..3 {
        let rel = format!("data/blob-{i}.bin");
        let bytes = random_bytes(&rel, 60_000_000);
        expected.insert(rel.clone(), b3(&bytes));
        repo.write(&rel, &bytes);
    }
    for i in 0..8 {
        let rel = format!("data/csv/part-{i}.csv");
        let bytes = csv_text(i, 2_500_000);
        expected.insert(rel.clone(), b3(&bytes));
        repo.write(&rel, &bytes);
    }

    let delays_ms = [15, 90, 250, 600, 1100, 1800];
    let mut interrupted = 0;
    for ms in delays_ms {
        if kill_after(&repo, &["add", "data"], Duration::from_millis(ms)) {
            interrupted += 1;
        }
        pointer_is_whole_or_absent(&repo, "data");
        // Whatever was published before the kill is intact.
        let out = repo.cairn(&["verify"]).output().unwrap();
        assert!(
            out.status.success(),
            "verify after kill at {ms} ms:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    eprintln!(
        "{interrupted} of {} kills hit a running add",
        delays_ms.len()
    );
    assert!(
        interrupted >= 3,
        "only {interrupted} kills hit a running add; the test proves little"
    );

    // The re-run completes; the store verifies; nothing is left over.
    let v = repo.cairn_json(&["add", "--json", "data"]);
    assert_eq!(v["paths"][0]["files"], 11, "{v}");
    repo.cairn_ok(&["verify"]);
    let tmp: Vec<_> = fs::read_dir(repo.path(".git/cairn/cache/tmp"))
        .unwrap()
        .collect();
    assert!(tmp.is_empty(), "temporary packs left behind: {tmp:?}");
    let st = repo.cairn_json(&["status", "--json"]);
    assert_eq!(st["paths"][0]["state"], "clean", "{st}");
    assert_eq!(st["paths"][0]["stored"], true, "{st}");

    // And the data comes back byte for byte.
    repo.remove("data");
    repo.cairn_ok(&["checkout"]);
    for (rel, hash) in &expected {
        assert_eq!(&b3(&repo.read(rel)), hash, "{rel}");
    }
    let mut names: Vec<String> = fs::read_dir(repo.path("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["blob-0.bin", "blob-1.bin", "blob-2.bin", "csv"]);
}

/// Kill `checkout` while it is writing a file (a `.cairn-tmp-*` file is
/// visible in the data directory), then re-run it: the data directory must
/// match its pointer exactly, with no leftover temporary file.
#[test]
fn kill_during_checkout_then_rerun_leaves_a_clean_tree() {
    let repo = TestRepo::init();
    let big = random_bytes("ckbig", 80_000_000);
    let small = csv_text(4, 10_000);
    repo.write("data/big.bin", &big);
    repo.write("data/small.csv", &small);
    repo.cairn_ok(&["add", "data"]);

    let mut caught = false;
    for _attempt in 0..10 {
        if repo.exists("data") {
            repo.remove("data");
        }
        let mut child = repo
            .cairn_std(&["checkout"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let mut seen = false;
        while start.elapsed() < Duration::from_secs(20) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            let tmp_visible = fs::read_dir(repo.path("data")).is_ok_and(|mut d| {
                d.any(|e| {
                    e.unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with(".cairn-tmp-")
                })
            });
            if tmp_visible {
                seen = true;
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        if seen {
            caught = true;
            break;
        }
    }
    assert!(caught, "never caught checkout mid-write");

    repo.cairn_ok(&["checkout"]);
    assert!(repo.read("data/big.bin") == big);
    assert_eq!(repo.read("data/small.csv"), small);
    let st = repo.cairn_json(&["status", "--json"]);
    assert_eq!(
        st["paths"][0]["state"], "clean",
        "after a killed checkout and a re-run, data/ should match its pointer: {st}"
    );
    assert!(
        repo.stray_temp_files().is_empty(),
        "partial temporary files left in the work tree: {:?}",
        repo.stray_temp_files()
    );
}
