//! `gc --remote` never destroys live data: interrupted at any durable step
//! it leaves a remote every clone can pull from, and run while another clone
//! pushes data it reuses from old packs, it never deletes what that push
//! needs. Deletion has two phases (FORMAT.md §15.6): a dead pack is
//! condemned in `index/<id>.cnd`, and only a run a grace period later
//! deletes it.
//!
//! Crash tests use the named failpoints of src/failpoint.rs, compiled in by
//! `scripts/test` (cargo feature `failpoints`); without it they are ignored.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{random_bytes, TestRepo};

/// The files a clone must get back, by path.
type Files = BTreeMap<String, Vec<u8>>;

fn store(a: &TestRepo) -> PathBuf {
    a.base().join("store")
}

/// Make everything unreachable from refs and reflogs truly unreachable.
fn forget_history(repo: &TestRepo) {
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
}

/// Push `files` on a throw-away branch (one pack holding all of them),
/// then drop the branch: its data is garbage unless main also uses it.
fn push_on_scratch(a: &TestRepo, branch: &str, files: &[(&str, Vec<u8>)]) {
    a.git(&["checkout", "-q", "-b", branch]);
    for (p, b) in files {
        a.write(p, b);
    }
    let paths: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
    a.cairn_ok(&[&["add"][..], &paths].concat());
    a.commit_all(branch);
    a.cairn_ok(&["push"]);
    a.git(&["checkout", "-q", "main"]);
    a.git(&["branch", "-q", "-D", branch]);
    // The branch's data stays behind, untracked on main: remove it, or a
    // later `git add -A` would put it in git.
    for (p, _) in files {
        if a.exists(p) {
            a.remove(p);
        }
    }
}

/// Track `path` on main with `bytes` and push (nothing is uploaded when
/// the remote already holds the data).
fn keep_on_main(a: &TestRepo, path: &str, bytes: &[u8], want: &mut Files) {
    a.write(path, bytes);
    a.cairn_ok(&["add", path]);
    a.commit_all(&format!("keep {path}"));
    a.cairn_ok(&["push"]);
    want.insert(path.to_string(), bytes.to_vec());
}

/// A remote with a pack main needs whole (`keep.bin`), a pack main needs
/// only a small part of (so gc rewrites it) and a pack main does not need
/// at all. Returns the repository and what a clone of main must get.
fn garbage_remote() -> (TestRepo, Files) {
    let a = TestRepo::init();
    a.cairn_ok(&["remote", "add", "origin", "../store"]);
    let mut want = Files::new();
    keep_on_main(&a, "keep.bin", &random_bytes("keep", 150_000), &mut want);
    let live = random_bytes("live", 60_000);
    push_on_scratch(
        &a,
        "mixed",
        &[
            ("live.bin", live.clone()),
            ("dead.bin", random_bytes("dead", 500_000)),
        ],
    );
    push_on_scratch(&a, "gone", &[("gone.bin", random_bytes("gone", 200_000))]);
    keep_on_main(&a, "live.bin", &live, &mut want);
    forget_history(&a);
    (a, want)
}

fn gc_args(grace: &str) -> Vec<&str> {
    vec!["gc", "--remote", "origin", "--grace", grace]
}

/// Everything a user would check: the cache, the remote, and a fresh
/// clone pulling main byte for byte.
fn assert_whole(a: &TestRepo, want: &Files, clone_name: &str) {
    a.cairn_ok(&["verify"]);
    a.cairn_ok(&["verify", "--remote", "origin"]);
    let c = a.clone_beside(clone_name);
    c.cairn_ok(&["pull"]);
    for (p, bytes) in want {
        assert!(c.read(p) == *bytes, "{clone_name}: {p} differs after pull");
    }
}

fn pack_files(dir: &Path) -> BTreeMap<String, u64> {
    walkdir::WalkDir::new(dir.join("packs"))
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "pack"))
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, e.metadata().unwrap().len())
        })
        .collect()
}

fn notes(dir: &Path, suffix: &str) -> Vec<String> {
    std::fs::read_dir(dir.join("index"))
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(suffix))
                .collect()
        })
        .unwrap_or_default()
}

fn copy_dir(from: &Path, to: &Path) {
    if to.exists() {
        std::fs::remove_dir_all(to).unwrap();
    }
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
            let m = e.metadata().unwrap().modified().unwrap();
            std::fs::File::options()
                .write(true)
                .open(&dest)
                .unwrap()
                .set_modified(m)
                .unwrap();
        }
    }
}

#[test]
fn gc_remote_condemns_first_and_deletes_a_grace_period_later() {
    let (a, want) = garbage_remote();
    let dir = store(&a);
    let before = pack_files(&dir);
    // Old enough to collect, but just condemned: nothing is deleted.
    common::backdate(&dir);
    let out = a.cairn_ok(&gc_args("1h"));
    assert!(
        out.starts_with("freed 0 B") && out.contains("condemned, 2 newly"),
        "{out}"
    );
    assert_eq!(notes(&dir, ".cnd").len(), 1);
    let after_condemn = pack_files(&dir);
    for p in before.keys() {
        assert!(
            after_condemn.contains_key(p),
            "{p} deleted while condemning"
        );
    }
    // Within the grace period of the condemnation: still nothing.
    let out = a.cairn_ok(&gc_args("1h"));
    assert!(out.starts_with("freed 0 B"), "{out}");
    assert_eq!(pack_files(&dir), after_condemn);
    assert_whole(&a, &want, "during");
    // A grace period later the dead packs go, and only they.
    common::backdate(&dir.join("index"));
    let out = a.cairn_ok(&gc_args("1h"));
    assert!(out.contains("2 pack(s) deleted"), "{out}");
    // keep.bin's pack and the rewritten copy of live.bin stay.
    let after = pack_files(&dir);
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(after.values().sum::<u64>() < 250_000, "{after:?}");
    assert!(notes(&dir, ".cnd").is_empty(), "{:?}", notes(&dir, ".cnd"));
    assert_whole(&a, &want, "after");
    // Nothing left to do.
    let out = a.cairn_ok(&gc_args("0"));
    assert!(
        out.starts_with("freed 0 B") && out.contains("0 pack(s) (0 B) condemned"),
        "{out}"
    );
}

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs --features failpoints (scripts/test)"
)]
fn gc_remote_crash_after_rewrite_upload_keeps_live_data() {
    let (a, want) = garbage_remote();
    let dir = store(&a);
    assert!(common::crash::crash_at(
        &a,
        &gc_args("0"),
        "gc_remote.rewrite_uploaded"
    ));
    for _ in 0..3 {
        a.cairn_ok(&gc_args("0"));
    }
    assert_whole(&a, &want, "fresh");
    // The garbage did go: only the kept pack and the rewritten copy stay.
    let packs = pack_files(&dir);
    assert_eq!(packs.len(), 2, "{packs:?}");
    assert!(packs.values().sum::<u64>() < 300_000, "{packs:?}");
}

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs --features failpoints (scripts/test)"
)]
fn gc_remote_interrupted_at_any_durable_step_never_loses_live_data() {
    let (a, mut want) = garbage_remote();
    let dir = store(&a);
    // One run condemns (and rewrites); new garbage arrives; the run under
    // test then rewrites, condemns, deletes, in every phase at once.
    a.cairn_ok(&gc_args("0"));
    let live2 = random_bytes("live2", 40_000);
    push_on_scratch(
        &a,
        "mixed2",
        &[
            ("live2.bin", live2.clone()),
            ("dead2.bin", random_bytes("dead2", 400_000)),
        ],
    );
    keep_on_main(&a, "live2.bin", &live2, &mut want);
    forget_history(&a);
    let snapshot = a.base().join("store-snapshot");
    copy_dir(&dir, &snapshot);

    let points = common::crash::points(&a, &gc_args("0"));
    common::crash::assert_reached(
        &points,
        &[
            "gc_remote.rewrite_uploaded",
            "gc_remote.index_written",
            "gc_remote.condemned_written",
            "gc_remote.notes_deleted",
            "gc_remote.pack_deleted",
        ],
    );
    let mut crashed = 0;
    for name in &points {
        copy_dir(&snapshot, &dir);
        crashed += usize::from(common::crash::crash_at(&a, &gc_args("0"), name));
        // Right after the crash the remote serves every clone ...
        let tag = name.replace(['.', '@'], "-");
        assert_whole(&a, &want, &format!("crashed-{tag}"));
        // ... and after later runs too, with the garbage gone.
        a.cairn_ok(&gc_args("0"));
        a.cairn_ok(&gc_args("0"));
        assert_whole(&a, &want, &format!("rerun-{tag}"));
        let packs = pack_files(&dir);
        assert!(
            packs.values().sum::<u64>() < 400_000,
            "{name}: garbage left {packs:?}"
        );
    }
    eprintln!(
        "gc --remote failpoint matrix: {} failpoints, {crashed} crashed runs",
        common::crash::distinct(&points),
    );
}

/// The data of round `r`'s commit: one of three versions, in the order
/// 0 1 0 2, so a push often reuses data the previous commit dropped (still
/// on the remote, dead to a clone that has not fetched the push's commit)
/// and sometimes data gc has condemned meanwhile. Version 2 is one small
/// chunk: re-sending it under a new name needs another encoding.
fn round_data(r: usize) -> Vec<u8> {
    match [0, 1, 0, 2][r % 4] {
        0 => random_bytes("round-0", 300_000),
        1 => random_bytes("round-1", 250_000),
        _ => random_bytes("round-2", 12_000),
    }
}

fn deleted_count(gc_out: &str) -> usize {
    gc_out
        .split(" pack(s) deleted")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no deleted count in {gc_out:?}"))
}

#[test]
fn gc_remote_on_a_stale_clone_never_deletes_what_a_concurrent_push_reuses() {
    let a = TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .file("data.bin", round_data(0))
        .commit("round 0")
        .push()
        .build();
    let b = a.clone_beside("b");
    let dir = store(&a);
    let (mut deleted, mut resent, mut reused) = (0, 0, 0);
    let rounds = 20;
    for r in 1..=rounds {
        // Everything on the remote is old; in every other round the
        // condemnations are too, so gc deletes what it condemned before.
        for sub in ["packs", "index"] {
            for e in walkdir::WalkDir::new(dir.join(sub)) {
                let e = e.unwrap();
                let cnd = e.path().extension().is_some_and(|x| x == "cnd");
                if e.file_type().is_file() && (!cnd || r % 2 == 0) {
                    common::backdate(e.path());
                }
            }
        }
        // A's single commit now holds data an earlier round dropped.
        let data = round_data(r);
        a.write("data.bin", &data);
        a.cairn_ok(&["add", "data.bin"]);
        a.git(&["add", "-A"]);
        a.git(&["commit", "-q", "--amend", "-m", &format!("round {r}")]);
        forget_history(&a);
        // B's refs still show the previous round: to it, A's data is dead.
        let gc = |b: &TestRepo| {
            let out = b.cairn_std(&["gc", "--remote", "origin"]).output().unwrap();
            assert!(out.status.success(), "round {r}: gc failed: {out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        let (pushed, gc_out) = if r % 4 < 2 {
            // At the same time ...
            let child = b
                .cairn_std(&["gc", "--remote", "origin"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let p = a.cairn_json(&["push", "--json"]);
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {r}: gc failed: {out:?}");
            (p, String::from_utf8(out.stdout).unwrap())
        } else {
            // ... or the worst case: the push reuses, then gc runs.
            let p = a.cairn_json(&["push", "--json"]);
            (p, gc(&b))
        };
        deleted += deleted_count(&gc_out);
        if pushed["objects"].as_u64() == Some(0) {
            reused += 1;
        } else {
            resent += 1;
        }
        // The push's commit reaches git; a fresh clone gets the data.
        let c = a.clone_beside(&format!("fresh-{r}"));
        c.cairn_ok(&["pull"]);
        assert!(c.read("data.bin") == data, "round {r}: pulled data differs");
        std::fs::remove_dir_all(&c.root).unwrap();
        // B catches up (as FORMAT.md §15.6 asks before every gc).
        b.git(&["fetch", "-q", "origin"]);
        b.git(&["reset", "-q", "--hard", "origin/main"]);
        forget_history(&b);
    }
    a.cairn_ok(&["verify", "--remote", "origin"]);
    eprintln!(
        "push/gc race: {rounds} rounds, {deleted} pack(s) deleted, {reused} push(es) reused remote data, {resent} sent data"
    );
    assert!(deleted > 0, "the deletion phase never ran");
    assert!(reused > 0, "no push reused data gc saw as dead");
    assert!(resent > 0, "no push had to send data again");
}

#[test]
fn push_resends_data_only_condemned_packs_hold_under_new_names() {
    let a = TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .commit("remote")
        .build();
    let dir = store(&a);
    // One pack of a single small chunk, one of several chunks.
    let files = [
        ("small.bin", random_bytes("small", 12_000)),
        ("big.bin", random_bytes("big", 300_000)),
    ];
    for (i, (p, b)) in files.iter().enumerate() {
        push_on_scratch(&a, &format!("s{i}"), &[(p, b.clone())]);
    }
    forget_history(&a);
    common::backdate(&dir);
    let out = a.cairn_ok(&gc_args("1h"));
    assert!(out.contains("2 pack(s) ("), "{out}");
    let condemned = pack_files(&dir);
    assert_eq!(condemned.len(), 2);
    // Main takes the data back, one file per push, so each push would
    // build exactly a condemned pack: it must send it under another name.
    let mut want = Files::new();
    for (p, b) in &files {
        keep_on_main(&a, p, b, &mut want);
        let now = pack_files(&dir);
        let new: Vec<_> = now.keys().filter(|k| !condemned.contains_key(*k)).collect();
        assert_eq!(new.len(), want.len(), "{p}: no new pack: {now:?}");
    }
    assert_whole(&a, &want, "before");
    // A grace period later the condemned packs go; the data stays.
    common::backdate(&dir.join("index"));
    let out = a.cairn_ok(&gc_args("1h"));
    assert!(out.contains("2 pack(s) deleted"), "{out}");
    assert!(pack_files(&dir).keys().all(|k| !condemned.contains_key(k)));
    assert_whole(&a, &want, "after");
}
