//! Pack sums (FORMAT.md §6.8): push checks a cache pack it sends whole by
//! the sum `add` wrote beside it instead of decoding every blob, and a
//! missing, stale or garbage sum only sends it the slow way; damage is
//! still found and refused exactly as before, and a crash around the sum's
//! write leaves a cache that verifies and pushes.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use cairn::store::packsum::{sum_path, PackSum};
use common::data::num;
use common::data::pack_entries;
use common::{random_bytes, TestRepo};

/// A repository tracking 80 MB of incompressible data, with a folder
/// remote `origin` it has not pushed to: several packs of at least
/// 16 MiB, which a push sends whole.
fn repo_with_big_data() -> TestRepo {
    let repo = TestRepo::builder()
        .folder_remote("origin", "remote-store")
        .build();
    repo.write("big.bin", random_bytes("push sum", 80_000_000));
    repo.cairn_ok(&["add", "big.bin"]);
    repo.commit_all("data");
    repo
}

/// The cache packs a push sends whole (at least 16 MiB), largest first.
fn whole_packs(repo: &TestRepo) -> Vec<PathBuf> {
    let mut packs: Vec<(u64, PathBuf)> = repo
        .packs()
        .into_iter()
        .map(|p| (fs::metadata(&p).unwrap().len(), p))
        .filter(|(len, _)| *len >= 16 << 20)
        .collect();
    packs.sort();
    packs.reverse();
    assert!(!packs.is_empty(), "no pack sent whole: {:?}", repo.packs());
    packs.into_iter().map(|(_, p)| p).collect()
}

/// Every pack file on the folder remote, by file name.
fn remote_packs(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in fs::read_dir(dir.join("packs")).into_iter().flatten() {
        for f in fs::read_dir(sub.unwrap().path()).unwrap() {
            out.push(f.unwrap().file_name().into_string().unwrap());
        }
    }
    out.sort();
    out
}

fn push_json(repo: &TestRepo) -> serde_json::Value {
    repo.cairn_json(&["push", "--json"])
}

#[test]
fn a_fresh_add_is_pushed_by_its_sums_and_pulls_back_whole() {
    let repo = repo_with_big_data();
    let whole = whole_packs(&repo);
    for p in repo.packs() {
        let sum = PackSum::decode(&fs::read(sum_path(&p)).unwrap()).unwrap();
        assert_eq!(sum.len, fs::metadata(&p).unwrap().len(), "{p:?}");
    }
    let out = push_json(&repo);
    assert_eq!(
        num(&out, "packs_verified_by_sum"),
        whole.len() as u64,
        "{out}"
    );
    assert_eq!(num(&out, "packs_verified_by_decode"), 0, "{out}");
    // Only packs travel: the sums stay in the cache.
    let sent = remote_packs(&repo.remote_dir("origin"));
    assert!(sent.iter().all(|n| n.ends_with(".pack")), "{sent:?}");
    let b = repo.pulled_clone();
    assert!(b.read("big.bin") == repo.read("big.bin"));
    b.cairn_ok(&["verify"]);
}

#[test]
fn a_flipped_byte_is_refused_as_without_sums_and_never_sent() {
    let repo = repo_with_big_data();
    let pack = whole_packs(&repo)[0].clone();
    let name = pack.file_name().unwrap().to_str().unwrap().to_string();
    let entries: Vec<_> = pack_entries(&pack).into_iter().map(|(_, e)| e).collect();
    let e = &entries[entries.len() / 2];
    let mut bytes = fs::read(&pack).unwrap();
    bytes[(e.offset + e.stored_len as u64 / 2) as usize] ^= 0x10;
    fs::write(&pack, &bytes).unwrap();

    // With its (now mismatching) sum, then without one: today's path.
    let (out_sum, err_sum) = repo.cairn_fail(&["push"]);
    fs::remove_file(sum_path(&pack)).unwrap();
    let (out_plain, err_plain) = repo.cairn_fail(&["push"]);
    assert_eq!((&out_sum, &err_sum), (&out_plain, &err_plain));
    common::assert_error_report(&err_sum, &["damaged", &e.id.to_hex(), &name]);
    let remote = repo.remote_dir("origin");
    assert!(
        !remote_packs(&remote).contains(&name),
        "the damaged pack reached the remote"
    );
    assert!(
        fs::read_dir(remote.join("index")).map_or(true, |mut d| d.next().is_none()),
        "an index was written by a failed push"
    );
}

#[test]
fn a_missing_stale_or_garbage_sum_sends_the_pack_the_slow_way() {
    let repo = repo_with_big_data();
    let whole = whole_packs(&repo);
    let [first, rest @ ..] = &whole[..] else {
        unreachable!()
    };
    // One pack without a sum, the others with a stale (well formed, wrong
    // hash) or a garbage one.
    fs::remove_file(sum_path(first)).unwrap();
    for (i, p) in rest.iter().enumerate() {
        if i % 2 == 0 {
            let mut sum = PackSum::decode(&fs::read(sum_path(p)).unwrap()).unwrap();
            sum.xxh3 ^= 1;
            fs::write(sum_path(p), sum.encode()).unwrap();
        } else {
            fs::write(sum_path(p), b"not a sum").unwrap();
        }
    }
    // verify notes a stale sum on an intact pack, and finds no damage.
    let v = repo.cairn(&["verify"]).output().unwrap();
    assert!(v.status.success(), "{v:?}");
    let stderr = String::from_utf8_lossy(&v.stderr);
    if rest.is_empty() {
        assert!(!stderr.contains("sum"), "{stderr}");
    } else {
        assert!(stderr.contains("does not match it"), "{stderr}");
    }
    let out = push_json(&repo);
    assert_eq!(num(&out, "packs_verified_by_sum"), 0, "{out}");
    assert_eq!(
        num(&out, "packs_verified_by_decode"),
        whole.len() as u64,
        "{out}"
    );
    repo.cairn_ok(&["verify"]);
    let b = repo.pulled_clone();
    assert!(b.read("big.bin") == repo.read("big.bin"));
}

/// gc deletes a pack's sum with the pack: no sum outlives its pack.
#[test]
fn gc_deletes_a_packs_sum_with_it() {
    let repo = TestRepo::init();
    repo.write("a.bin", random_bytes("old", 3_000_000));
    repo.cairn_ok(&["add", "a.bin"]);
    let old = repo.packs();
    repo.write("a.bin", random_bytes("new", 3_000_000));
    repo.cairn_ok(&["add", "a.bin"]);
    repo.commit_all("new only");
    repo.cairn_ok(&["gc", "--grace", "0"]);
    for p in &old {
        assert!(!p.exists(), "{p:?} kept");
        assert!(!sum_path(p).exists(), "the sum of deleted {p:?} kept");
    }
    for p in repo.packs() {
        assert!(sum_path(&p).exists(), "{p:?} has no sum");
    }
    repo.cairn_ok(&["verify"]);
}

/// A crash at every durable step of `add`, the sum's write among them,
/// then the re-run: `verify` passes, and push sends every whole pack by
/// its sum (a sum left without its pack is overwritten or never read).
#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature (scripts/test)"
)]
fn add_crashed_around_the_sum_reruns_to_a_store_push_checks_by_sum() {
    let data = random_bytes("crash sum", 40_000_000);
    let probe = TestRepo::init();
    probe.write("big.bin", &data);
    let points = common::crash::points(&probe, &["add", "big.bin"]);
    common::crash::assert_reached(
        &points,
        &[
            "store.pack_finished",
            "store.sum_written",
            "store.pack_sealed",
        ],
    );
    let mut crashed = 0;
    for point in points.iter().filter(|p| p.starts_with("store.")) {
        let repo = TestRepo::builder()
            .folder_remote("origin", "remote-store")
            .build();
        repo.write("big.bin", &data);
        crashed += usize::from(common::crash::crash_at(&repo, &["add", "big.bin"], point));
        repo.cairn_ok(&["verify"]);
        repo.cairn_ok(&["add", "big.bin"]);
        repo.cairn_ok(&["verify"]);
        repo.commit_all("data");
        let whole = whole_packs(&repo).len() as u64;
        let out = push_json(&repo);
        assert_eq!(num(&out, "packs_verified_by_sum"), whole, "{point}: {out}");
        assert_eq!(num(&out, "packs_verified_by_decode"), 0, "{point}: {out}");
        let tmp: Vec<_> = fs::read_dir(repo.path(".cairn/cache/tmp"))
            .unwrap()
            .collect();
        assert!(tmp.is_empty(), "{point}: left in tmp/: {tmp:?}");
        let b = repo.pulled_clone();
        assert!(b.read("big.bin") == data, "{point}");
    }
    assert!(crashed >= 2, "only {crashed} crashed runs: {points:?}");
}
