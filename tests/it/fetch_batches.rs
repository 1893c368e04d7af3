//! A fetch hands what its walk finds missing over in batches and downloads
//! each batch through the locators while the walk goes on, so a million
//! missing files are never listed at once. These tests lower the batch
//! size (`CAIRN_FETCH_BATCH`, read only by builds with the `failpoints`
//! feature) so a few files cross many batches, and check that everything
//! arrives and verifies, with honest, lying or no locators, and after a
//! crash at any durable step.

use crate::common;

use std::collections::BTreeMap;

use cairn::hash::Id;
use cairn::remote::locator::Locator;
use common::{random_bytes, TestRepo};

type Files = BTreeMap<String, Vec<u8>>;

/// Files in `data/` (three subdirectories) pushed to `../store`.
const FILES: usize = 40;

fn pushed() -> (TestRepo, Files) {
    let repo = TestRepo::init();
    let mut want = Files::new();
    for i in 0..FILES {
        let p = format!("data/d{}/f{i:03}.csv", i % 3);
        let b = random_bytes(&format!("file{i}"), 100 + i * 7);
        repo.write(&p, &b);
        want.insert(p, b);
    }
    repo.cairn_ok(&["add", "data"]);
    repo.cairn_ok(&["remote", "add", "origin", "../store"]);
    repo.commit_all("data");
    repo.cairn_ok(&["push"]);
    (repo, want)
}

fn assert_same(c: &TestRepo, want: &Files, what: &str) {
    for (p, bytes) in want {
        assert!(c.read(p) == *bytes, "{what}: {p} differs after pull");
    }
    c.cairn_ok(&["verify"]);
}

fn reads(pull: &serde_json::Value) -> u64 {
    pull["fetch"]["requests"]["reads"].as_u64().unwrap()
}

#[test]
fn a_pull_in_batches_of_three_fetches_and_verifies_everything() {
    let (repo, want) = pushed();
    let whole = repo.clone_beside("whole");
    let one = reads(&whole.cairn_json(&["pull", "--json"]));
    assert_same(&whole, &want, "one batch");

    let mut c = repo.clone_beside("batched");
    c.set_env("CAIRN_FETCH_BATCH", "3");
    let out = c.cairn_json(&["pull", "--json"]);
    assert_same(&c, &want, "batches of three");
    // Each batch reads its own ranges: many batches, many more reads than
    // the one range that holds all the files.
    assert!(
        reads(&out) >= one + (FILES / 3) as u64 / 2,
        "batched {} reads against {one}: {out}",
        reads(&out)
    );
    let again = c.cairn_json(&["pull", "--json"]);
    assert_eq!(again["fetch"]["objects"], 0, "{again}");
}

#[test]
fn batches_fall_back_to_the_index_when_a_locator_lies_or_is_gone() {
    let (repo, want) = pushed();
    let store = repo.base().join("store");
    let root = Id::from_hex(&repo.pointer("data")["id"]).unwrap();
    let path = store.join(cairn::remote::locator::locator_path(&root));
    let good = std::fs::read(&path).unwrap();
    // Offsets shifted by one: the first batch through them fails its
    // check, and the rest of the walk goes to the index files.
    let mut l = Locator::decode(&root, &good).unwrap();
    for p in &mut l.packs {
        for e in &mut p.entries {
            e.offset += 1;
            e.stored_len -= 1;
        }
    }
    std::fs::write(&path, l.encode()).unwrap();
    let mut c = repo.clone_beside("lying");
    c.set_env("CAIRN_FETCH_BATCH", "3");
    c.cairn_ok(&["pull"]);
    assert_same(&c, &want, "a lying locator");

    std::fs::remove_file(&path).unwrap();
    let mut c = repo.clone_beside("none");
    c.set_env("CAIRN_FETCH_BATCH", "3");
    c.cairn_ok(&["pull"]);
    assert_same(&c, &want, "no locator");
}

#[test]
fn a_batched_pull_killed_at_any_step_completes_when_run_again() {
    let (repo, want) = pushed();
    let points = {
        let mut b = repo.clone_beside("points");
        b.set_env("CAIRN_FETCH_BATCH", "3");
        common::crash::points(&b, &["pull"])
    };
    common::crash::assert_reached(&points, &["fetch.span_stored", "fetch.round_flushed"]);
    // More than one batch: a span stored in each.
    assert!(
        points
            .iter()
            .filter(|p| p.starts_with("fetch.span_stored"))
            .count()
            > 3,
        "{points:?}"
    );
    for (i, point) in points.iter().enumerate() {
        let mut b = repo.clone_beside(&format!("crash{i}"));
        b.set_env("CAIRN_FETCH_BATCH", "3");
        common::crash::crash_at(&b, &["pull"], point);
        b.cairn_ok(&["pull"]);
        assert_same(&b, &want, &format!("after a crash at {point}"));
    }
}
