//! Everyday git workflows never lose an edit and never strand a version: the
//! versioned-model story on a folder and on S3, edits that survive every
//! command that writes data, stale data told apart from edits, and a pull
//! that restores what it can.

use crate::common;

use common::TestRepo;

const MIB: usize = 1 << 20;

/// Deterministic, incompressible bytes.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A model file in three versions: v2 changes 2 MiB in place, v3 inserts a
/// new 1 MiB tensor near the front, shifting every later offset.
fn model_versions() -> [Vec<u8>; 3] {
    let v1 = noise(1, 6 * MIB);
    let mut v2 = v1.clone();
    v2[2 * MIB..4 * MIB].copy_from_slice(&noise(2, 2 * MIB));
    let mut v3 = v2[..MIB / 2].to_vec();
    v3.extend(noise(3, MIB));
    v3.extend_from_slice(&v2[MIB / 2..]);
    [v1, v2, v3]
}

/// A repository with model.bin committed and tagged v1, v2, v3.
fn versioned_model() -> (TestRepo, [Vec<u8>; 3]) {
    let versions = model_versions();
    let mut repo = TestRepo::builder();
    for (i, v) in versions.iter().enumerate() {
        repo = repo
            .file("model.bin", v)
            .commit(&format!("model v{}", i + 1))
            .tag(&format!("v{}", i + 1));
    }
    (repo.build(), versions)
}

/// The story: versions tagged first, a remote added only after v3, one plain
/// `cairn push`; then every tag restores byte for byte in a fresh clone.
fn every_tag_restores_in_a_fresh_clone(repo: &TestRepo, versions: &[Vec<u8>; 3], url: &str) {
    repo.cairn_ok(&["remote", "add", "origin", url]);
    repo.git(&["add", ".cairn/config.toml"]);
    repo.git(&["commit", "-qm", "data remote"]);
    repo.cairn_ok(&["push"]);
    let mut clone = TestRepo::clone_of(repo);
    clone.set_envs(&repo.env_vars());
    for (i, v) in versions.iter().enumerate() {
        let tag = format!("v{}", i + 1);
        clone.git(&["checkout", "-q", &tag]);
        clone.cairn_ok(&["pull"]);
        assert!(
            clone.read("model.bin") == *v,
            "{tag} restores byte for byte"
        );
    }
}

#[test]
fn a_plain_push_makes_every_tag_restorable_from_a_folder_remote() {
    let (repo, versions) = versioned_model();
    let store = repo.base().join("store");
    every_tag_restores_in_a_fresh_clone(&repo, &versions, store.to_str().unwrap());
}

#[test]
fn a_plain_push_makes_every_tag_restorable_from_s3() {
    let server = common::s3::S3Server::shared();
    let bucket = server.bucket("tags");
    let (mut repo, versions) = versioned_model();
    repo.set_envs(&server.env());
    every_tag_restores_in_a_fresh_clone(&repo, &versions, &format!("s3://{bucket}/team"));
}

/// A fresh clone that runs `cairn checkout v1` has none of v1's data: the
/// advice must be `cairn pull v1`, which fetches v1, not a bare `cairn pull`,
/// which would fetch the work tree's revision and leave v1 unrestorable.
#[test]
fn checkout_of_a_tag_in_a_fresh_clone_advises_pulling_that_tag() {
    let (repo, versions) = versioned_model();
    let store = repo.base().join("store-advice");
    repo.cairn_ok(&["remote", "add", "origin", store.to_str().unwrap()]);
    repo.git(&["add", ".cairn/config.toml"]);
    repo.git(&["commit", "-qm", "data remote"]);
    repo.cairn_ok(&["push"]);
    let mut clone = TestRepo::clone_of(&repo);
    clone.set_envs(&repo.env_vars());

    let (_, stderr) = clone.cairn_fail(&["checkout", "v1"]);
    assert!(stderr.contains("is not in the cache"), "{stderr}");
    assert!(
        stderr.contains("hint: `cairn pull v1` fetches it"),
        "the hint names the revision: {stderr}"
    );
    let (stdout, _) = clone.cairn_fail(&["checkout", "--json", "v1"]);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["error"]["kind"], "not_cached", "{v}");
    assert!(!clone.path("model.bin").exists(), "nothing was written");

    // The advice works as given.
    clone.cairn_ok(&["pull", "v1"]);
    assert!(
        clone.read("model.bin") == versions[0],
        "v1 restored byte for byte"
    );
}

#[test]
fn a_push_with_nothing_new_walks_no_tag_again_until_the_remote_changes() {
    let (repo, versions) = versioned_model();
    let store = repo.base().join("store");
    repo.cairn_ok(&["remote", "add", "origin", store.to_str().unwrap()]);
    let first = repo.cairn_json(&["push", "--json"]);
    assert!(common::data::num(&first, "objects") > 0, "{first}");
    // Work tree and HEAD (v3) share a pointer; v1 and v2 are walked once.
    let again = repo.cairn_json(&["push", "--json"]);
    assert_eq!(common::data::num(&again, "objects"), 0, "{again}");
    assert_eq!(common::data::num(&again, "pointers_known"), 3, "{again}");
    assert_eq!(common::data::num(&again, "pointers_walked"), 1, "{again}");
    assert!(
        common::data::num(&again["requests"], "reads") <= 2,
        "one or two requests: {again}"
    );
    // The remote loses its packs (and verify notes the damage): the record
    // no longer stands, and a plain push walks and sends every tag again.
    let packs: Vec<std::path::PathBuf> = files_under(&store.join("packs"));
    let clone = TestRepo::clone_of(&repo);
    for p in &packs {
        std::fs::remove_file(p).unwrap();
    }
    repo.cairn_fail(&["verify", "--remote", "origin"]);
    let repair = repo.cairn_json(&["push", "--json"]);
    assert!(common::data::num(&repair, "objects") > 0, "{repair}");
    assert_eq!(common::data::num(&repair, "pointers_known"), 0, "{repair}");
    for (i, v) in versions.iter().enumerate() {
        clone.git(&["checkout", "-q", &format!("v{}", i + 1)]);
        clone.cairn_ok(&["pull", "-r", store.to_str().unwrap()]);
        assert!(clone.read("model.bin") == *v, "v{} after the repair", i + 1);
    }
}

/// An edit that was never added, then a command that would replace it:
/// exit 1 naming the path, the edit intact; `--force` discards it.
fn edit(repo: &TestRepo) -> Vec<u8> {
    let mut edited = repo.read("model.bin");
    edited.extend_from_slice(b"an edit that was never added\n");
    repo.write("model.bin", &edited);
    edited
}

#[test]
fn cairn_checkout_rev_keeps_an_unadded_edit() {
    let (repo, versions) = versioned_model();
    let edited = edit(&repo);
    let (_, err) = repo.cairn_fail(&["checkout", "v1"]);
    assert!(
        err.contains("model.bin") && err.contains("--force"),
        "{err}"
    );
    assert!(repo.read("model.bin") == edited, "the edit survives");
    repo.cairn_ok(&["checkout", "--force", "v1"]);
    assert!(repo.read("model.bin") == versions[0]);
}

#[test]
fn cairn_checkout_path_keeps_an_unadded_edit() {
    let (repo, versions) = versioned_model();
    let edited = edit(&repo);
    let (_, err) = repo.cairn_fail(&["checkout", "model.bin"]);
    assert!(err.contains("model.bin"), "{err}");
    assert!(repo.read("model.bin") == edited);
    repo.cairn_ok(&["checkout", "--force", "model.bin"]);
    assert!(repo.read("model.bin") == versions[2]);
}

#[test]
fn git_checkout_with_hooks_keeps_an_unadded_edit() {
    let (repo, versions) = versioned_model();
    repo.cairn_ok(&["install-hooks"]);
    let edited = edit(&repo);
    let out = repo
        .git_cmd(&["checkout", "-q", "v1"])
        .output()
        .expect("run git");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the hook's failure is git's: {err}"
    );
    assert!(err.contains("model.bin"), "{err}");
    assert!(repo.read("model.bin") == edited, "the edit survives");
    repo.cairn_ok(&["checkout", "--force"]);
    assert!(repo.read("model.bin") == versions[0]);
}

#[test]
fn cairn_pull_keeps_an_unadded_edit() {
    let (repo, versions) = versioned_model();
    let store = repo.base().join("store");
    repo.cairn_ok(&["remote", "add", "origin", store.to_str().unwrap()]);
    repo.cairn_ok(&["push"]);
    // The pointer moves under an edited file (git without cairn's hooks).
    repo.git(&["checkout", "-q", "-f", "v2"]);
    let edited = edit(&repo);
    let (_, err) = repo.cairn_fail(&["pull"]);
    assert!(err.contains("model.bin"), "{err}");
    assert!(repo.read("model.bin") == edited);
    repo.cairn_ok(&["pull", "--force"]);
    assert!(repo.read("model.bin") == versions[1]);
}

#[test]
fn checkout_across_versions_without_edits_writes_only_what_changed() {
    let repo = TestRepo::init();
    for i in 0..10u8 {
        repo.write(&format!("data/f{i}.bin"), vec![i; 50_000]);
    }
    repo.cairn_ok(&["add", "data"]);
    repo.commit_all("v1");
    repo.git(&["tag", "v1"]);
    repo.write("data/f3.bin", vec![99u8; 60_000]);
    repo.cairn_ok(&["add", "data"]);
    repo.commit_all("v2");
    let r = repo.cairn_json(&["checkout", "v1", "--json"]);
    assert_eq!(r["files_written"], 1, "{r}");
    assert_eq!(r["files_unchanged"], 9, "{r}");
    assert_eq!(repo.read("data/f3.bin"), vec![3u8; 50_000]);
    let r = repo.cairn_json(&["checkout", "HEAD", "--json"]);
    assert_eq!(r["files_written"], 1, "{r}");
}

#[test]
fn stale_data_in_a_clone_without_hooks_is_out_of_date_not_modified() {
    let (repo, versions) = versioned_model();
    let store = repo.base().join("store");
    repo.cairn_ok(&["remote", "add", "origin", store.to_str().unwrap()]);
    repo.git(&["add", ".cairn/config.toml"]);
    repo.git(&["commit", "-qm", "remote"]);
    repo.cairn_ok(&["push"]);
    let clone = repo.pulled_clone();
    clone.git(&["checkout", "-q", "v2"]);
    let out = clone.cairn(&["status"]).output().expect("run cairn");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("out of date: model.bin"), "{text}");
    assert!(
        text.contains("cairn checkout") || text.contains("cairn pull"),
        "{text}"
    );
    assert!(
        !text.contains("cairn add"),
        "never advise recording stale data: {text}"
    );
    assert!(
        text.contains("install-hooks"),
        "says how to get hooks: {text}"
    );
    let st = clone.cairn_json(&["status", "--json"]);
    assert_eq!(st["paths"][0]["state"], "stale", "{st}");
    // v2's data is not in this clone's cache: status said pull, not checkout.
    assert!(text.contains("cairn pull"), "{text}");
    clone.cairn_ok(&["pull"]);
    assert!(clone.read("model.bin") == versions[1]);
    // An edit on top of stale data is an edit.
    edit(&clone);
    let st = clone.cairn_json(&["status", "--json"]);
    assert_eq!(st["paths"][0]["state"], "modified", "{st}");
}

#[test]
fn pull_restores_what_the_remote_has_and_names_what_it_lacks() {
    let repo = TestRepo::builder()
        .folder_remote("origin", "store")
        .file("data/a.csv", "a,b\n1,2\n".repeat(1000))
        .commit("data")
        .push()
        .build();
    let store = repo.remote_dir("origin");
    let before = files_under(&store);
    repo.write("model.bin", noise(9, MIB));
    repo.cairn_ok(&["add", "model.bin"]);
    repo.commit_all("model");
    repo.git(&["tag", "v1"]);
    repo.cairn_ok(&["push"]);
    // Lose the second push on the remote: its packs and index file.
    for f in files_under(&store) {
        if !before.contains(&f) && !f.ends_with("index.list") {
            std::fs::remove_file(&f).unwrap();
        }
    }
    let clone = TestRepo::clone_of(&repo);
    let (_, err) = clone.cairn_fail(&["pull"]);
    assert!(err.contains("model.bin (at v1)"), "{err}");
    assert!(
        err.contains("cairn push v1"),
        "names the fixing command: {err}"
    );
    assert!(!err.contains("data (at"), "{err}");
    assert_eq!(
        clone.read("data/a.csv"),
        repo.read("data/a.csv"),
        "the rest is restored"
    );
    assert!(!clone.exists("model.bin"));
    // The fix works: push from where the data is, pull again.
    repo.cairn_ok(&["push", "v1"]);
    clone.cairn_ok(&["pull"]);
    assert_eq!(clone.read("model.bin"), repo.read("model.bin"));
}

/// Every file under a folder remote.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Two versions of a dataset, a model and a path only v1 has: a checkout
/// between them writes files, rewrites pointers and removes data.
fn two_versions() -> TestRepo {
    let repo = TestRepo::init();
    for i in 0..6u64 {
        repo.write(&format!("data/f{i}.bin"), noise(10 + i, 120_000));
    }
    repo.write("model.bin", noise(20, 2 * MIB));
    repo.write("old.bin", noise(30, 50_000));
    repo.cairn_ok(&["add", "data", "model.bin", "old.bin"]);
    repo.commit_all("v1");
    repo.git(&["tag", "v1"]);
    for i in 0..3u64 {
        repo.write(&format!("data/f{i}.bin"), noise(40 + i, 130_000));
    }
    repo.write("model.bin", noise(50, 2 * MIB));
    repo.remove("old.bin");
    repo.remove("old.bin.cairn");
    repo.cairn_ok(&["add", "data", "model.bin"]);
    repo.commit_all("v2");
    repo.git(&["tag", "v2"]);
    repo
}

fn verify_clean(repo: &TestRepo, when: &str) {
    let out = repo.cairn(&["verify"]).output().expect("run cairn");
    assert!(out.status.success(), "verify {when}: {out:?}");
}

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature (scripts/test)"
)]
fn checkout_crashed_at_any_durable_step_reruns_to_the_right_data() {
    let probe = two_versions();
    let v2 = common::data::data_and_model(&probe);
    probe.cairn_ok(&["checkout", "v1"]);
    let v1 = common::data::data_and_model(&probe);
    // v2 → v1 writes files and pointers and brings old.bin back; v1 → v2
    // also removes it.
    let start_at = |rev: &str| {
        let repo = two_versions();
        if rev == "v1" {
            repo.cairn_ok(&["checkout", "v1"]);
        }
        repo
    };
    let mut all = Vec::new();
    let mut crashed = 0;
    for (from, to, want) in [("v2", "v1", &v1), ("v1", "v2", &v2)] {
        let points = common::crash::points(&start_at(from), &["checkout", to]);
        for point in &points {
            let repo = start_at(from);
            crashed += usize::from(common::crash::crash_at(&repo, &["checkout", to], point));
            verify_clean(&repo, &format!("after a crash at {point}"));
            // Half-written work is cairn's own, never a change to protect.
            repo.cairn_ok(&["checkout", to]);
            assert!(
                common::data::data_and_model(&repo) == *want,
                "{to} after a crash at {point}"
            );
            assert_eq!(repo.exists("old.bin"), to == "v1", "{point}");
            let st = repo.cairn_json(&["status", "--json"]);
            assert!(
                st["paths"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|p| p["state"] == "clean"),
                "{point}: {st}"
            );
        }
        all.extend(points);
    }
    common::crash::assert_reached(
        &all,
        &[
            "checkout.file_written",
            "checkout.pointer_written",
            "checkout.dropped_removed",
            "checkout.index_saved",
        ],
    );
    eprintln!(
        "checkout crash matrix: {} failpoints, {crashed} crashed runs",
        common::crash::distinct(&all),
    );
}
