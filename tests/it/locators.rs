//! Locators (FORMAT.md §15.8): a fetch reads the metadata of what it
//! fetches, not of the whole remote, and a locator that is missing,
//! damaged, lying or stale never costs correctness, only the whole-index
//! read it was meant to save.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cairn::hash::Id;
use cairn::remote::locator::{locator_path, Locator};
use cairn::remote::synth::{files as synth_files, Spec};
use common::s3::S3Server;
use common::{random_bytes, TestRepo};

type Files = BTreeMap<String, Vec<u8>>;

/// A directory of `n` files of `each` bytes plus one lone file.
fn dataset(repo: &TestRepo, n: usize, each: usize) -> Files {
    let mut want = Files::new();
    for i in 0..n {
        let p = format!("data/part-{i:03}.bin");
        let b = random_bytes(&format!("part{i}"), each);
        repo.write(&p, &b);
        want.insert(p, b);
    }
    let b = random_bytes("model", 3 * each);
    repo.write("model.bin", &b);
    want.insert("model.bin".into(), b);
    want
}

fn assert_same(c: &TestRepo, want: &Files, what: &str) {
    for (p, bytes) in want {
        assert!(c.read(p) == *bytes, "{what}: {p} differs after pull");
    }
}

/// The remote's locator files (folder remotes), by root id.
fn locators(store: &Path) -> BTreeMap<Id, PathBuf> {
    walkdir::WalkDir::new(store.join("loc"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let id = Id::from_hex(name.trim_end_matches(".loc")).expect("a locator name");
            (id, e.path().to_path_buf())
        })
        .collect()
}

fn pointer_id(repo: &TestRepo, rel: &str) -> Id {
    Id::from_hex(&repo.pointer(rel)["id"]).unwrap()
}

/// A repository with `data/` and `model.bin` pushed to the folder remote
/// `../store`, and what a clone must get back.
fn pushed() -> (TestRepo, Files) {
    let repo = TestRepo::init();
    let want = dataset(&repo, 8, 40_000);
    repo.cairn_ok(&["add", "data", "model.bin"]);
    repo.cairn_ok(&["remote", "add", "origin", "../store"]);
    repo.commit_all("data");
    let out = repo.cairn_json(&["push", "--json"]);
    assert_eq!(out["locators"], 2, "one per pointer: {out}");
    (repo, want)
}

#[test]
fn a_push_writes_one_locator_per_pointer_and_an_unchanged_push_none() {
    let (repo, _) = pushed();
    let store = repo.base().join("store");
    let locs = locators(&store);
    for rel in ["data", "model.bin"] {
        let root = pointer_id(&repo, rel);
        let bytes = std::fs::read(store.join(locator_path(&root))).unwrap();
        let l = Locator::decode(&root, &bytes).expect("a well-formed locator");
        assert!(l.blobs() >= 2, "{rel}: {l:?}");
        for p in &l.packs {
            let pack = store.join(cairn::remote::index::pack_path(&p.id));
            assert_eq!(std::fs::metadata(pack).unwrap().len(), p.len, "{rel}");
        }
    }
    assert_eq!(locs.len(), 2, "{locs:?}");
    let again = repo.cairn_json(&["push", "--json"]);
    assert_eq!(again["locators"], 0, "{again}");
    assert!(
        again["requests"]["writes"].as_u64().unwrap() == 0,
        "{again}"
    );
}

#[test]
fn a_pull_works_without_locators_and_with_damaged_or_lying_ones() {
    let (repo, want) = pushed();
    let store = repo.base().join("store");
    let good: BTreeMap<Id, (PathBuf, Vec<u8>)> = locators(&store)
        .into_iter()
        .map(|(id, p)| {
            let b = std::fs::read(&p).unwrap();
            (id, (p, b))
        })
        .collect();
    let c = repo.clone_beside("with");
    c.cairn_ok(&["pull"]);
    assert_same(&c, &want, "with locators");

    // Garbage, a torn copy, and a well-formed locator of another root.
    let roots: Vec<&Id> = good.keys().collect();
    let (first, second) = (&good[roots[0]], &good[roots[1]]);
    std::fs::write(&first.0, b"not a locator at all").unwrap();
    std::fs::write(&second.0, &second.1[..second.1.len() / 2]).unwrap();
    let c = repo.clone_beside("damaged");
    c.cairn_ok(&["pull"]);
    assert_same(&c, &want, "damaged locators");
    std::fs::write(&first.0, &second.1).unwrap();
    let c = repo.clone_beside("other-root");
    c.cairn_ok(&["pull"]);
    assert_same(&c, &want, "another root's locator");

    // Lies that pass every shape check: shifted offsets, swapped ids, a
    // pack that does not exist. Each blob is checked against its id.
    for (name, lie) in [("shifted", 0usize), ("swapped", 1), ("no-such-pack", 2)] {
        for (root, (path, bytes)) in &good {
            let mut l = Locator::decode(root, bytes).unwrap();
            let p = &mut l.packs[0];
            match lie {
                0 => {
                    for e in &mut p.entries {
                        e.offset += 1;
                        e.stored_len -= 1;
                    }
                }
                1 => {
                    let ids: Vec<Id> = p.entries.iter().map(|e| e.id).collect();
                    for (e, id) in p.entries.iter_mut().zip(ids.iter().rev()) {
                        e.id = *id;
                    }
                    p.entries.rotate_left(1);
                    p.entries.sort_by_key(|e| e.offset);
                }
                _ => p.id = Id::of(b"a pack that was never written"),
            }
            std::fs::write(path, l.encode()).unwrap();
        }
        let c = repo.clone_beside(name);
        c.cairn_ok(&["pull"]);
        assert_same(&c, &want, name);
    }

    // No locators at all: the index files, as before locators existed.
    std::fs::remove_dir_all(store.join("loc")).unwrap();
    let c = repo.clone_beside("without");
    c.cairn_ok(&["pull"]);
    assert_same(&c, &want, "without locators");
}

fn forget_history(repo: &TestRepo) {
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
}

#[test]
fn gc_keeps_locators_true_and_a_stale_one_still_pulls() {
    let a = TestRepo::init();
    a.cairn_ok(&["remote", "add", "origin", "../store"]);
    let store = a.base().join("store");
    let mut want = Files::new();
    let keep = random_bytes("keep", 150_000);
    a.write("keep.bin", &keep);
    a.cairn_ok(&["add", "keep.bin"]);
    a.commit_all("keep");
    a.cairn_ok(&["push"]);
    want.insert("keep.bin".into(), keep);
    // A scratch branch pushes live.bin beside much dead data, in one pack.
    let live = random_bytes("live", 60_000);
    a.git(&["checkout", "-q", "-b", "scratch"]);
    a.write("live.bin", &live);
    a.write("dead.bin", random_bytes("dead", 500_000));
    a.cairn_ok(&["add", "live.bin", "dead.bin"]);
    a.commit_all("scratch");
    a.cairn_ok(&["push"]);
    a.git(&["checkout", "-q", "main"]);
    a.git(&["branch", "-q", "-D", "scratch"]);
    a.remove("dead.bin");
    a.remove("live.bin");
    // main keeps live.bin only: gc rewrites that pack.
    a.write("live.bin", &live);
    a.cairn_ok(&["add", "live.bin"]);
    a.commit_all("live");
    a.cairn_ok(&["push"]);
    want.insert("live.bin".into(), live);
    forget_history(&a);
    let live_root = pointer_id(&a, "live.bin");
    let live_loc = store.join(locator_path(&live_root));
    let stale = std::fs::read(&live_loc).unwrap();
    let old_pack = Locator::decode(&live_root, &stale).unwrap().packs[0].id;
    assert_eq!(locators(&store).len(), 3, "keep, live and dead");

    // Condemning run: the rewritten pack's locators follow the copy.
    common::backdate(&store);
    let out = a.cairn_json(&["gc", "--remote", "origin", "--grace", "1h", "--json"]);
    assert_eq!(
        out["locators_rewritten"], 1,
        "live.bin's follows the copy: {out}"
    );
    assert_eq!(out["locators_deleted"], 1, "dead.bin's goes: {out}");
    let check = |when: &str| {
        let locs = locators(&store);
        assert_eq!(locs.len(), 2, "{when}: only the live ones stay: {locs:?}");
        for (root, path) in locs {
            let l = Locator::decode(&root, &std::fs::read(path).unwrap()).unwrap();
            for p in &l.packs {
                assert_ne!(p.id, old_pack, "{when}: a locator names the condemned pack");
                let pack = store.join(cairn::remote::index::pack_path(&p.id));
                assert!(pack.exists(), "{when}: a locator names a missing pack");
            }
        }
    };
    check("after condemning");
    // Deleting run.
    common::backdate(&store.join("index"));
    let out = a.cairn_ok(&["gc", "--remote", "origin", "--grace", "1h"]);
    assert!(out.contains("pack(s) deleted"), "{out}");
    assert!(!store
        .join(cairn::remote::index::pack_path(&old_pack))
        .exists());
    check("after deleting");
    let c = a.clone_beside("after-gc");
    c.cairn_ok(&["pull"]);
    assert_same(&c, &want, "after gc");

    // A stale locator (as a concurrent reader or a crashed gc could leave
    // one) names the deleted pack: the pull steps around it.
    std::fs::write(&live_loc, &stale).unwrap();
    let c = a.clone_beside("stale");
    c.cairn_ok(&["pull"]);
    assert_same(&c, &want, "stale locator");
}

/// `scripts/count-proxy.py` in front of an S3 server: every request, with
/// its response bytes, in a log.
pub(crate) struct Proxy {
    pub(crate) endpoint: String,
    log: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Proxy {
    pub(crate) fn start(upstream: &str) -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("requests.log");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/scripts/count-proxy.py"
            ))
            .args([&port.to_string(), upstream, log.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start scripts/count-proxy.py");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the counting proxy did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Proxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
            child,
            _dir: dir,
        }
    }

    /// Forget what was counted so far.
    pub(crate) fn reset(&self) {
        std::fs::write(&self.log, b"").unwrap();
    }

    /// (requests, response bytes) of listings since the last reset (for
    /// the report: they are part of the metadata `counts` gives).
    fn listings(&self) -> (u64, u64) {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter(|l| l.split(' ').nth(1).is_some_and(|p| p.contains("list-type")))
            .fold((0, 0), |(n, b), l| {
                let out: u64 = l
                    .split(' ')
                    .nth(3)
                    .and_then(|b| b.parse().ok())
                    .unwrap_or(0);
                (n + 1, b + out)
            })
    }

    /// (requests, response bytes) since the last reset: of pack reads, and
    /// of everything else (listings, index files, locators, notes).
    pub(crate) fn counts(&self) -> ((u64, u64), (u64, u64)) {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let (mut packs, mut meta) = ((0, 0), (0, 0));
        for line in text.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            let out: u64 = f.get(3).and_then(|b| b.parse().ok()).unwrap_or(0);
            let slot = if f.get(1).is_some_and(|p| p.contains("/packs/")) {
                &mut packs
            } else {
                &mut meta
            };
            slot.0 += 1;
            slot.1 += out;
        }
        (packs, meta)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The criterion: a remote that also describes 100 GiB of other
/// data (synthetic index files), a 10 MB dataset pushed to it, and a fresh
/// clone's pull reads less than 1 MB of remote metadata, counted at the
/// server. Without locators the same pull reads the whole index.
#[test]
fn a_fresh_pull_reads_little_metadata_from_a_remote_describing_100_gib() {
    let server = S3Server::shared();
    let bucket = server.bucket("locators");
    let spec = Spec::of_size(100 << 30, "other data");
    let mut described = 0u64;
    for (path, bytes) in synth_files(&spec) {
        described += bytes.len() as u64;
        let (status, body) = server.request("PUT", &format!("/{bucket}/p/{path}"), &bytes);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
    let proxy = Proxy::start(&server.endpoint);
    let mut env = server.env();
    for (k, v) in &mut env {
        if k == "AWS_ENDPOINT" {
            v.clone_from(&proxy.endpoint);
        }
    }
    let mut repo = TestRepo::init();
    repo.set_envs(&env);
    let want = dataset(&repo, 20, 440_000);
    repo.cairn_ok(&["add", "data", "model.bin"]);
    repo.cairn_ok(&["remote", "add", "origin", &format!("s3://{bucket}/p")]);
    repo.commit_all("10 MB of data");
    repo.cairn_ok(&["push"]);

    let pull = |name: &str| {
        let mut c = repo.clone_beside(name);
        c.set_envs(&env);
        proxy.reset();
        let out = c.cairn_json(&["pull", "--json"]);
        assert_same(&c, &want, name);
        let counts = proxy.counts();
        eprintln!(
            "{name}: packs {:?}, metadata {:?} (of which listings {:?}): {out}",
            counts.0,
            counts.1,
            proxy.listings()
        );
        counts
    };
    let ((_, data), (meta_requests, meta_bytes)) = pull("fresh");
    assert!(data >= 10_000_000, "the data itself came: {data}");
    assert!(
        meta_bytes < 1_000_000,
        "{meta_bytes} bytes of metadata in {meta_requests} requests"
    );

    // The same pull once the locators are gone reads every index file.
    // (Deleted with a signed request: objects cairn wrote are not the
    // anonymous user's.)
    let locs: Vec<String> = server
        .list(&bucket, "p/loc/")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(locs.len(), 2, "one locator per pointer: {locs:?}");
    let script = "import boto3, sys\n\
        s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',\n\
            aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])\n\
        for k in sys.argv[5:]:\n    s3.delete_object(Bucket=sys.argv[4], Key=k)\n";
    let out = Command::new(common::s3::moto_python())
        .args(["-c", script, &server.endpoint])
        .args([common::s3::ACCESS_KEY, common::s3::SECRET_KEY, &bucket])
        .args(&locs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(server.list(&bucket, "p/loc/").is_empty());
    let (_, (_, without)) = pull("without-locators");
    assert!(
        without > described,
        "{without} bytes read, the index holds {described}"
    );
}

/// Killed after its index, before its locators: nothing names a pack that
/// is not there, a fresh clone pulls through the index, and the next push
/// writes the locators (its record was never saved).
#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs --features failpoints (scripts/test)"
)]
fn a_push_killed_before_its_locators_writes_them_next_time() {
    let mut repo = TestRepo::init();
    let want = dataset(&repo, 4, 30_000);
    repo.cairn_ok(&["add", "data", "model.bin"]);
    repo.cairn_ok(&["remote", "add", "origin", "../store"]);
    repo.commit_all("data");
    repo.set_env("CAIRN_FAILPOINTS", "push.listing_written");
    let out = repo.cairn(&["push"]).output().unwrap();
    assert!(!out.status.success(), "the push was to be killed");
    repo.set_env("CAIRN_FAILPOINTS", "");
    let store = repo.base().join("store");
    assert!(locators(&store).is_empty());
    let c = repo.clone_beside("killed");
    c.cairn_ok(&["pull"]);
    assert_same(&c, &want, "after the killed push");
    let again = repo.cairn_json(&["push", "--json"]);
    assert_eq!(again["objects"], 0, "{again}");
    assert_eq!(again["locators"], 2, "{again}");
    let c = repo.clone_beside("located");
    c.cairn_ok(&["pull"]);
    assert_same(&c, &want, "after the next push");
}
