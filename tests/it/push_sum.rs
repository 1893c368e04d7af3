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
use common::s3::S3Server;
use common::{random_bytes, TestRepo};

/// Where a test pushes: a folder (packs copied in the kernel, summed
/// from the file first) or S3 (summed as the upload reads them).
#[derive(Clone, Copy, Debug)]
enum To {
    Folder,
    S3,
}

/// A repository tracking 80 MB of incompressible data, with a remote
/// `origin` it has not pushed to: packs of which at least one holds 16 MiB
/// or more, which a push sends whole. With the S3 bucket, for S3.
fn repo_with_big_data(to: To) -> (TestRepo, Option<String>) {
    let (repo, bucket) = match to {
        To::Folder => {
            let repo = TestRepo::builder()
                .folder_remote("origin", "remote-store")
                .build();
            (repo, None)
        }
        To::S3 => {
            let server = S3Server::shared();
            let b = server.bucket("push-sum");
            let mut repo = TestRepo::init();
            repo.set_envs(&server.env());
            repo.cairn_ok(&["remote", "add", "origin", &format!("s3://{b}/p")]);
            (repo, Some(b))
        }
    };
    // Two workers, whatever the machine: one of them then writes at least
    // 40 MB and so fills a whole pack, however the work is split.
    let mut repo = repo;
    repo.set_env("RAYON_NUM_THREADS", "2");
    repo.write("big.bin", random_bytes("push sum", 80_000_000));
    repo.cairn_ok(&["add", "big.bin"]);
    repo.commit_all("data");
    (repo, bucket)
}

/// Whether the remote holds a pack of this file name.
fn remote_has(repo: &TestRepo, bucket: &Option<String>, name: &str) -> bool {
    match bucket {
        None => remote_packs(&repo.remote_dir("origin"))
            .iter()
            .any(|n| n == name),
        Some(b) => {
            let path = format!("/{b}/p/packs/{}/{name}", &name[..2]);
            S3Server::shared().request("HEAD", &path, b"").0 == 200
        }
    }
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

/// A clone of `repo` with the same environment (the remote's
/// credentials), after `cairn pull`.
fn pulled(repo: &TestRepo) -> TestRepo {
    let mut b = TestRepo::clone_of(repo);
    b.set_envs(&repo.env_vars());
    b.cairn_ok(&["pull"]);
    b
}

fn push_json(repo: &TestRepo) -> serde_json::Value {
    repo.cairn_json(&["push", "--json"])
}

#[test]
fn a_fresh_add_is_pushed_by_its_sums_and_pulls_back_whole() {
    for to in [To::Folder, To::S3] {
        fresh_add_pushed_by_sums(to);
    }
}

fn fresh_add_pushed_by_sums(to: To) {
    let (repo, bucket) = repo_with_big_data(to);
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
    if bucket.is_none() {
        let sent = remote_packs(&repo.remote_dir("origin"));
        assert!(sent.iter().all(|n| n.ends_with(".pack")), "{sent:?}");
    }
    let b = pulled(&repo);
    assert!(b.read("big.bin") == repo.read("big.bin"));
    b.cairn_ok(&["verify"]);
}

#[test]
fn a_flipped_byte_is_refused_as_without_sums_and_never_sent() {
    for to in [To::Folder, To::S3] {
        flipped_byte_refused(to);
    }
}

fn flipped_byte_refused(to: To) {
    let (repo, bucket) = repo_with_big_data(to);
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
    assert!(
        !remote_has(&repo, &bucket, &name),
        "{to:?}: the damaged pack reached the remote"
    );
    if bucket.is_none() {
        let index = repo.remote_dir("origin").join("index");
        assert!(
            fs::read_dir(index).map_or(true, |mut d| d.next().is_none()),
            "an index was written by a failed push"
        );
    }
}

#[test]
fn a_missing_stale_or_garbage_sum_sends_the_pack_the_slow_way() {
    for to in [To::Folder, To::S3] {
        slow_way(to);
    }
}

fn slow_way(to: To) {
    let (repo, _) = repo_with_big_data(to);
    let whole = whole_packs(&repo);
    let [first, rest @ ..] = &whole[..] else {
        unreachable!()
    };
    assert!(!rest.is_empty(), "{to:?}: one whole pack only: {whole:?}");
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
    assert!(stderr.contains("does not match it"), "{stderr}");
    let out = push_json(&repo);
    assert_eq!(num(&out, "packs_verified_by_sum"), 0, "{out}");
    assert_eq!(
        num(&out, "packs_verified_by_decode"),
        whole.len() as u64,
        "{out}"
    );
    repo.cairn_ok(&["verify"]);
    let b = pulled(&repo);
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
    // One worker, so the packs are cut the same way on every run: the
    // first fills to PACK_TARGET and is sent whole however the crashed
    // run and its re-run split the work (two workers under load once
    // left four packs, none of them whole, and nothing to check).
    let mut probe = TestRepo::init();
    probe.set_env("RAYON_NUM_THREADS", "1");
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
        let mut repo = TestRepo::builder()
            .folder_remote("origin", "remote-store")
            .build();
        repo.set_env("RAYON_NUM_THREADS", "1");
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
        let tmp: Vec<_> = fs::read_dir(repo.path(".git/cairn/cache/tmp"))
            .unwrap()
            .collect();
        assert!(tmp.is_empty(), "{point}: left in tmp/: {tmp:?}");
        let b = pulled(&repo);
        assert!(b.read("big.bin") == data, "{point}");
    }
    assert!(crashed >= 2, "only {crashed} crashed runs: {points:?}");
}
