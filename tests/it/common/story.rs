//! The CI story every backend must pass: push two tagged versions from one
//! clone; a fresh clone pulls the newest, then fetches and checks out the
//! older one, pulls again, and switches back — byte identical at each step.

use super::data::{assert_same_tree, data_and_model, dataset, num};
use super::TestRepo;

/// Run the story against the remote at `url`, with `env` (endpoints,
/// credentials) for every cairn command of both clones.
pub fn ci_checkout_story(url: &str, env: &[(String, String)]) {
    let a = TestRepo::builder()
        .envs(env)
        .remote("origin", url)
        .tree(&dataset(1))
        .commit("v1")
        .tag("v1")
        .push()
        .remove("data")
        .tree(&dataset(2))
        .commit("v2")
        .push()
        .build();

    let mut b = TestRepo::clone_of(&a);
    b.set_envs(env);
    b.cairn_ok(&["pull"]);
    assert_same_tree(&data_and_model(&b), &dataset(2), "v2 after pull");
    b.cairn_ok(&["verify"]);

    // v1's own chunks are not in the clone's cache yet: fetch them, then
    // check out from the cache alone.
    let f = b.cairn_json(&["fetch", "v1", "--json"]);
    assert!(num(&f, "objects") > 0, "v1 has data v2 lacks: {f}");
    b.cairn_ok(&["checkout", "v1"]);
    assert_same_tree(&data_and_model(&b), &dataset(1), "v1 after checkout");

    // The work tree's pointers are v1's now; pulling them needs nothing.
    b.cairn_ok(&["pull"]);
    assert_same_tree(&data_and_model(&b), &dataset(1), "v1 after pull");
    let st = b.cairn_json(&["status", "--json"]);
    for row in st["paths"].as_array().unwrap() {
        assert_eq!(row["state"], "clean", "{st}");
    }
    let f = b.cairn_json(&["fetch", "--json"]);
    assert_eq!(num(&f, "objects"), 0, "{f}");

    b.cairn_ok(&["checkout", "main"]);
    assert_same_tree(&data_and_model(&b), &dataset(2), "back to v2");
}
