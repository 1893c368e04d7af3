//! Push dedup that does not read the whole remote (FORMAT.md §15.3): a
//! fresh clone's push of an edit against a remote whose index is far
//! larger than what the push needs reads a bounded amount of metadata (the
//! newest index files up to a budget, and the locators of the pushed paths'
//! earlier versions), yet uploads only what changed; and a locator naming a
//! condemned pack is never trusted.

use crate::common;
use crate::locators::Proxy;

use std::collections::HashSet;
use std::time::Duration;

use cairn::hash::Id;
use cairn::remote::locator::{locator_path, Locator};
use cairn::remote::notes::{encode_condemned, Condemned};
use cairn::remote::synth::{files as synth_files, Spec};
use common::s3::S3Server;
use common::{random_bytes, TestRepo};

fn pointer_id(repo: &TestRepo, rel: &str) -> Id {
    Id::from_hex(&repo.pointer(rel)["id"]).unwrap()
}

/// `data` with `len` bytes at `at` replaced.
fn edited(data: &[u8], at: usize, len: usize, seed: &str) -> Vec<u8> {
    let mut out = data.to_vec();
    out[at..at + len].copy_from_slice(&random_bytes(seed, len));
    out
}

/// The criterion for push: a 10 MB file pushed to an S3 remote,
/// then 100 GiB of other data indexed after it (synthetic index files,
/// newer than the file's), then a fresh clone (no index cached) edits
/// 100 kB of the file and pushes. Counted at the server: under 1 MB of
/// metadata read, and an upload no bigger than the changed chunks; the
/// edit then pulls back whole into another fresh clone through the
/// locator the push wrote.
#[test]
fn a_fresh_clones_push_of_an_edit_reads_little_metadata_from_a_remote_describing_100_gib() {
    let server = S3Server::shared();
    let bucket = server.bucket("push-dedup");
    let proxy = Proxy::start(&server.endpoint);
    let mut env = server.env();
    for (k, v) in &mut env {
        if k == "AWS_ENDPOINT" {
            v.clone_from(&proxy.endpoint);
        }
    }
    let mut repo = TestRepo::init();
    repo.set_envs(&env);
    let data = random_bytes("ten megabytes", 10_000_000);
    repo.write("data.bin", &data);
    repo.cairn_ok(&["add", "data.bin"]);
    repo.cairn_ok(&["remote", "add", "origin", &format!("s3://{bucket}/p")]);
    repo.commit_all("10 MB of data");
    repo.cairn_ok(&["push"]);
    // Other pushes since: newer index files (S3 times have 1 s steps).
    std::thread::sleep(Duration::from_millis(1100));
    let mut described = 0u64;
    for (path, bytes) in synth_files(&Spec::of_size(100 << 30, "other data")) {
        described += bytes.len() as u64;
        let (status, body) = server.request("PUT", &format!("/{bucket}/p/{path}"), &bytes);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }

    let mut c = repo.clone_beside("fresh");
    c.set_envs(&env);
    let edit = edited(&data, 5_000_000, 100_000, "the edit");
    c.write("data.bin", &edit);
    c.cairn_ok(&["add", "data.bin"]);
    proxy.reset();
    let out = c.cairn_json(&["push", "--json"]);
    let ((_, _), (meta_requests, meta_bytes)) = proxy.counts();
    eprintln!("push: metadata {meta_bytes} B in {meta_requests} requests: {out}");
    assert!(
        meta_bytes < 1_000_000,
        "{meta_bytes} bytes of metadata in {meta_requests} requests (the index is {described})"
    );
    let sent = out["bytes"].as_u64().unwrap();
    // The chunks the edit touched (at most a few around 100 kB, each at
    // most 256 KiB) and the new manifest: nowhere near the 10 MB file.
    assert!(sent < 100_000 + 3 * 262_144, "uploaded {sent} bytes: {out}");
    assert!(out["unavailable"].as_array().unwrap().is_empty(), "{out}");
    assert_eq!(out["locators"], 1, "{out}");

    // What it wrote is complete: another fresh clone pulls the edit.
    c.commit_all("edit");
    let mut d = c.clone_beside("check");
    d.set_envs(&env);
    d.cairn_ok(&["pull"]);
    assert!(d.read("data.bin") == edit, "the edit pulls back whole");
}

/// A folder remote larger than the push's index budget, so what the push
/// knows of the first version comes from that version's locator. Once gc
/// has condemned the packs that locator names, a fresh clone's push of an
/// edit sends the data again (under new packs) instead of counting on
/// packs gc may delete; before, the same kind of push sent only the edit.
#[test]
fn a_locator_naming_a_condemned_pack_is_not_trusted_by_a_push() {
    let repo = TestRepo::init();
    let data = random_bytes("version one", 2_000_000);
    repo.write("data.bin", &data);
    repo.cairn_ok(&["add", "data.bin"]);
    repo.cairn_ok(&["remote", "add", "origin", "../store"]);
    repo.commit_all("v1");
    repo.cairn_ok(&["push"]);
    let store = repo.base().join("store");
    std::thread::sleep(Duration::from_millis(50));
    for (path, bytes) in synth_files(&Spec::of_size(1 << 30, "other data")) {
        std::fs::write(store.join(path), bytes).unwrap();
    }
    let v1 = pointer_id(&repo, "data.bin");
    let loc = std::fs::read(store.join(locator_path(&v1))).unwrap();
    let v1_packs: HashSet<Id> = Locator::decode(&v1, &loc)
        .unwrap()
        .packs
        .iter()
        .map(|p| p.id)
        .collect();

    // Trusted while its packs are kept: only the edit goes. Committed
    // first, so the first version is found in history (HEAD~1), not as a
    // version the push sends.
    let control = repo.clone_beside("control");
    control.write("data.bin", edited(&data, 1_000_000, 1_000, "control"));
    control.cairn_ok(&["add", "data.bin"]);
    control.commit_all("edit");
    let out = control.cairn_json(&["push", "--json"]);
    let sent = out["bytes"].as_u64().unwrap();
    assert!(sent < 600_000, "uploaded {sent} of a 2 MB file: {out}");

    // gc condemns them.
    let note = encode_condemned(
        &v1_packs
            .iter()
            .map(|p| Condemned {
                pack: *p,
                stamp: 0,
                since: None,
            })
            .collect::<Vec<_>>(),
    );
    let name = format!("index/{}.cnd", Id::of(note.as_bytes()).to_hex());
    std::fs::write(store.join(name), note).unwrap();

    let c = repo.clone_beside("fresh");
    let edit = edited(&data, 1_000_000, 1_000, "after gc");
    c.write("data.bin", &edit);
    c.cairn_ok(&["add", "data.bin"]);
    let out = c.cairn_json(&["push", "--json"]);
    let sent = out["bytes"].as_u64().unwrap();
    assert!(sent > 1_900_000, "only {sent} bytes sent: {out}");
    let v2 = pointer_id(&c, "data.bin");
    let loc = std::fs::read(store.join(locator_path(&v2))).unwrap();
    let named: Vec<Id> = Locator::decode(&v2, &loc)
        .unwrap()
        .packs
        .iter()
        .map(|p| p.id)
        .collect();
    assert!(
        named.iter().all(|p| !v1_packs.contains(p)),
        "the new locator names a condemned pack"
    );
}

/// A push against a remote too large to read (its packs are then asked
/// for one by one, not listed) killed after its first pack: the re-run
/// finds what landed with one request each, sends the rest, and a fresh clone
/// pulls everything.
#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs --features failpoints (scripts/test)"
)]
fn a_push_to_a_large_remote_killed_after_a_pack_resumes() {
    let repo = TestRepo::init();
    // Two repacked packs (they are cut at 16 MiB).
    let data = random_bytes("twenty megabytes", 20 << 20);
    repo.write("big.bin", &data);
    repo.cairn_ok(&["add", "big.bin"]);
    repo.cairn_ok(&["remote", "add", "origin", "../store"]);
    repo.commit_all("big");
    let store = repo.base().join("store");
    for (path, bytes) in synth_files(&Spec::of_size(1 << 30, "other data")) {
        let path = store.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    assert!(
        common::crash::crash_at(&repo, &["push"], "push.pack_uploaded@1"),
        "the push reached its first pack"
    );
    let out = repo.cairn_json(&["push", "--json"]);
    // Uploads run concurrently, so the second pack may have landed too
    // before the process died; either way nothing that landed is re-sent.
    let resumed = out["packs_resumed"].as_u64().unwrap();
    let sent = out["packs"].as_u64().unwrap();
    assert!(resumed >= 1, "the landed pack is found, not re-sent: {out}");
    assert_eq!(resumed + sent, 2, "{out}");
    let c = repo.clone_beside("fresh");
    c.cairn_ok(&["pull"]);
    assert!(c.read("big.bin") == data, "the data pulls back whole");
}
