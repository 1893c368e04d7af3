//! `cairn status` names the data the default remote lacks ("not pushed")
//! in every clone, also in one whose cache holds none of the remote's
//! index files: a pull through locators reads none (FORMAT.md §15.8), and
//! a push to a remote larger than its index budget reads only the newest
//! (§15.3). What the clone's pushes and fetches found complete on the
//! remote answers there, and pulled data is never named.

use crate::common;

use std::path::Path;
use std::time::Duration;

use cairn::remote::synth::{files as synth_files, Spec};
use common::{not_pushed_lines, random_bytes, TestRepo};
use serde_json::{json, Value};

/// What `status` says is not pushed, as text and as JSON (which must
/// agree, and be known).
fn not_pushed(repo: &TestRepo) -> Vec<String> {
    let text = not_pushed_lines(&repo.cairn_ok(&["status"]));
    let st = repo.cairn_json(&["status", "--json"]);
    let json: Vec<String> = match &st["not_pushed"] {
        Value::Array(a) => a.iter().map(|p| p.as_str().unwrap().to_string()).collect(),
        other => panic!("not_pushed is {other}, not a list: {st}"),
    };
    assert_eq!(text, json, "text and JSON agree: {st}");
    json
}

/// The index files a clone's cache holds copies of.
fn cached_index_files(repo: &TestRepo) -> Vec<String> {
    let dir = repo.path(".git/cairn/cache/remotes");
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".idx"))
        .collect()
}

/// A repository that pushed `m.bin` (3 MB) and `o.bin` to the folder
/// remote `../store`.
fn pushed_model() -> TestRepo {
    let a = TestRepo::init();
    a.write("m.bin", random_bytes("model", 3_000_000));
    a.write("o.bin", random_bytes("other", 100_000));
    a.cairn_ok(&["add", "m.bin", "o.bin"]);
    a.cairn_ok(&["remote", "add", "origin", "../store"]);
    a.commit_all("v1");
    a.cairn_ok(&["push"]);
    a
}

/// The issue: a fresh clone pulls through locators only, so its cache
/// keeps no index file, and status said nothing of the data it then added
/// (`not_pushed: null`), forever.
#[test]
fn status_after_a_locator_only_pull_names_new_data_not_pushed() {
    let a = pushed_model();
    let b = a.clone_beside("b");
    b.cairn_ok(&["pull", "m.bin"]);
    assert_eq!(
        cached_index_files(&b),
        Vec::<String>::new(),
        "the pull read the locator, no index file"
    );
    assert_eq!(not_pushed(&b), Vec::<String>::new(), "pulled data is there");
    // What the clone never asked for is not called missing on the remote.
    let st = b.cairn_json(&["status", "--json"]);
    assert_eq!(st["not_on_remote"], Value::Null, "{st}");

    b.write("n.bin", random_bytes("new", 2_000_000));
    b.cairn_ok(&["add", "n.bin"]);
    b.commit_all("new");
    assert_eq!(not_pushed(&b), ["n.bin"]);
    let out = b.cairn(&["status"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`cairn push` sends them to origin"), "{err}");

    b.cairn_ok(&["push"]);
    assert_eq!(not_pushed(&b), Vec::<String>::new(), "after the push");
}

/// A push from such a clone to a remote whose index is larger than the
/// push reads caches only the newest index files (and its own), not the
/// one listing the pulled data: status must still not call that data not
/// pushed, before or after the push.
#[test]
fn status_after_a_push_that_read_part_of_the_index_names_no_pulled_data() {
    let a = pushed_model();
    let store = a.base().join("store");
    // Pushes of other data since: newer index files, over the budget.
    std::thread::sleep(Duration::from_millis(50));
    for (path, bytes) in synth_files(&Spec::of_size(1 << 30, "other data")) {
        std::fs::write(store.join(path), bytes).unwrap();
    }
    let model_index = oldest_index(&store);
    let b = a.clone_beside("b");
    b.cairn_ok(&["pull"]);
    assert_eq!(not_pushed(&b), Vec::<String>::new(), "pulled data is there");

    b.write("n.bin", random_bytes("new", 2_000_000));
    b.cairn_ok(&["add", "n.bin"]);
    b.commit_all("new");
    assert_eq!(not_pushed(&b), ["n.bin"]);
    let push = b.cairn_json(&["push", "--json"]);
    assert!(push["objects"].as_u64().unwrap() > 0, "{push}");
    assert!(
        !cached_index_files(&b).contains(&model_index),
        "the push left the old index file unread, as the test needs"
    );
    assert_eq!(not_pushed(&b), Vec::<String>::new(), "after the push");
    let st = b.cairn_json(&["status", "--json"]);
    assert_eq!(st["not_on_remote"], json!([]), "{st}");
}

/// The name of the oldest index file (the one `pushed_model` wrote).
fn oldest_index(store: &Path) -> String {
    let mut files: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(store.join("index"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| {
            let when = e.metadata().unwrap().modified().unwrap();
            (when, e.file_name().to_string_lossy().into_owned())
        })
        .filter(|(_, n)| n.ends_with(".idx"))
        .collect();
    files.sort();
    files.remove(0).1
}
