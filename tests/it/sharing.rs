//! More of the remote story over folder remotes: `cairn get` from another
//! repository, `gc --remote`, the pre-push hook, `status`'s "not pushed"
//! and `fetch REV` followed by an offline `checkout REV`.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::data::{assert_same_tree, clone_beside, data_and_model, files_under, write_tree, Tree};
use common::{assert_error_report, not_pushed_lines, random_bytes, TestRepo};
use serde_json::{json, Value};

/// Version 1 or 2 of a small dataset (a directory) and a model file.
fn version(v: u8) -> Tree {
    let mut t = Tree::new();
    t.insert("data/a.txt".into(), format!("version {v}\n").into_bytes());
    t.insert(
        "data/sub/file.bin".into(),
        random_bytes(&format!("file-{v}"), 300_000),
    );
    t.insert("data/sub/same.bin".into(), random_bytes("same", 100_000));
    t.insert(
        "model.bin".into(),
        random_bytes(&format!("model-{v}"), 200_000),
    );
    t
}

/// The entries of `t` below `from/` (or `from` itself), renamed to `to`.
fn moved(t: &Tree, from: &str, to: &str) -> Tree {
    t.iter()
        .filter_map(|(p, b)| {
            let rest = p.strip_prefix(from)?;
            (rest.is_empty() || rest.starts_with('/')).then(|| (format!("{to}{rest}"), b.clone()))
        })
        .collect()
}

/// Repository A: the folder remote `origin` at `../store` (relative, in the
/// committed config), tags v1 and v2 with different data, both pushed.
fn tagged_repo() -> TestRepo {
    TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .commit("cairn and its remote")
        .tree(&version(1))
        .commit("v1")
        .tag("v1")
        .push_rev("v1")
        .remove("data")
        .tree(&version(2))
        .commit("v2")
        .tag("v2")
        .push_rev("v2")
        .build()
}

fn store(a: &TestRepo) -> PathBuf {
    a.base().join("store")
}

/// Names in `dir` that look like cairn's scratch directories.
fn scratch_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".cairn-tmp-"))
        .collect()
}

/// `cairn get` from `here` (run in `dir`, relative to `here`'s root):
/// every form, then every refusal. `url` names repository A.
fn get_story(here: &TestRepo, dir: &str, url: &str, a: &TestRepo) {
    let cwd = here.path(dir);
    std::fs::create_dir_all(&cwd).unwrap();
    let get = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["-C", dir, "get", url];
        all.extend_from_slice(args);
        here.cairn_ok(&all);
        scratch_in(&cwd)
    };
    let at = |p: &str| {
        if dir == "." {
            p.to_string()
        } else {
            format!("{dir}/{p}")
        }
    };
    let (v1, v2) = (version(1), version(2));

    assert_eq!(get(&["data"]), Vec::<String>::new(), "scratch left behind");
    assert_same_tree(
        &files_under(here, &at("data")),
        &moved(&v2, "data", &at("data")),
        "HEAD",
    );
    get(&["data", "--rev", "v1", "-o", "old"]);
    assert_same_tree(
        &files_under(here, &at("old")),
        &moved(&v1, "data", &at("old")),
        "v1",
    );
    get(&["data/sub/file.bin"]);
    assert_eq!(here.read(&at("file.bin")), v2["data/sub/file.bin"]);
    assert!(!here.exists(&at("same.bin")), "only the file asked for");
    get(&["model.bin", "--rev", "v1"]);
    assert_eq!(here.read(&at("model.bin")), v1["model.bin"]);
    assert_eq!(
        files_under(here, dir).len(),
        3 + 3 + 1 + 1,
        "nothing but what was asked for"
    );

    // Refusals: exit 1, error and hint, nothing touched, no scratch left.
    let before = here.read(&at("model.bin"));
    let nowhere = a.base().join("nowhere");
    let plain_git = TestRepo::new();
    plain_git.write("README", "no cairn here\n");
    plain_git.commit_all("plain");
    let cases: [(Vec<&str>, &str); 5] = [
        (vec![url, "model.bin"], "already exists"),
        (vec![url, "data", "-o", "model.bin"], "already exists"),
        (vec![url, "nope.bin", "-o", "n1"], "not tracked"),
        (
            vec![nowhere.to_str().unwrap(), "data", "-o", "n2"],
            "could not fetch",
        ),
        (
            vec![plain_git.root.to_str().unwrap(), "data", "-o", "n3"],
            "not initialised",
        ),
    ];
    for (args, mention) in cases {
        let mut all = vec!["-C", dir, "get"];
        all.extend_from_slice(&args);
        let (_, stderr) = here.cairn_fail(&all);
        assert_error_report(&stderr, &[mention]);
        assert_eq!(
            scratch_in(&cwd),
            Vec::<String>::new(),
            "{args:?}: scratch left"
        );
        for n in ["n1", "n2", "n3"] {
            assert!(!here.exists(&at(n)), "{args:?} created {n}");
        }
    }
    assert_eq!(
        here.read(&at("model.bin")),
        before,
        "the existing file is untouched"
    );
}

#[test]
fn get_from_a_plain_directory() {
    let a = tagged_repo();
    let plain = TestRepo::plain();
    assert!(!plain.path(".git").exists());
    get_story(&plain, ".", a.root.to_str().unwrap(), &a);
}

#[test]
fn get_from_inside_another_cairn_repository_uses_its_cache() {
    let a = tagged_repo();
    let b = TestRepo::init();
    b.write("own.txt", "b's own data\n");
    b.cairn_ok(&["add", "own.txt"]);
    b.commit_all("b");
    let packs = b.packs().len();
    get_story(&b, "sub", a.root.to_str().unwrap(), &a);
    assert!(b.packs().len() > packs, "the data went to b's cache");
    // b's own tracking is unchanged: the got data is not tracked there.
    assert_eq!(
        b.git(&["status", "--porcelain", "--untracked-files=no"]),
        ""
    );
    let st = b.cairn_json(&["status", "--json"]);
    assert_eq!(st["paths"].as_array().unwrap().len(), 1, "{st}");
}

/// A repository named by a path relative to where `get` runs (the fetch
/// itself runs in a scratch directory, where `../A` means something else).
#[test]
fn get_with_a_relative_repository_path() {
    let a = tagged_repo();
    // base/repo is A; base/elsewhere is a plain directory beside it.
    let dir = a.base().join("elsewhere");
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = a.cairn_std(&["get", "../repo", "model.bin"]);
    let out = cmd.current_dir(&dir).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(dir.join("model.bin")).unwrap(),
        version(2)["model.bin"]
    );
}

/// A path inside a tracked directory that the directory lacks is reported
/// as not tracked, like an unknown top-level path.
#[test]
fn get_of_a_missing_file_inside_a_tracked_directory_says_not_tracked() {
    let a = tagged_repo();
    let plain = TestRepo::plain();
    let (_, stderr) = plain.cairn_fail(&["get", a.root.to_str().unwrap(), "data/nope.bin"]);
    let error = stderr.lines().find(|l| l.starts_with("error: "));
    assert!(
        error.is_some_and(|l| l.contains("not tracked")) && stderr.contains("\nhint: "),
        "{stderr}"
    );
    assert_eq!(scratch_in(&plain.root), Vec::<String>::new());
}

type Files = BTreeMap<String, (u64, std::time::SystemTime)>;

/// Relative path -> (size, mtime) of every file in a folder remote.
fn remote_files(dir: &Path) -> Files {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let m = e.metadata().unwrap();
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, (m.len(), m.modified().unwrap()))
        })
        .collect()
}

fn pack_bytes(files: &Files) -> u64 {
    files
        .iter()
        .filter(|(k, _)| k.ends_with(".pack"))
        .map(|(_, (len, _))| len)
        .sum()
}

#[test]
fn gc_remote_drops_data_no_ref_reaches_and_keeps_the_rest() {
    const OLD: u64 = 1_000_000;
    let v2: Tree = [
        ("data/big.bin", random_bytes("new", 400_000)),
        ("data/a.txt", b"two\n".to_vec()),
    ]
    .into_iter()
    .map(|(p, b)| (p.to_string(), b))
    .collect();
    let a = TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .file("keep.bin", random_bytes("keep", 150_000))
        .commit("base")
        .push()
        // v1 on a branch, pushed; then v2 on main, pushed.
        .git(&["checkout", "-q", "-b", "scratch"])
        .file("data/big.bin", random_bytes("old", OLD as usize))
        .file("data/a.txt", "one\n")
        .commit("v1")
        .push()
        .git(&["checkout", "-q", "main"])
        .remove("data")
        .tree(&v2)
        .commit("v2")
        .push()
        // Only v2 is reachable once the branch and every reflog are gone.
        .git(&["branch", "-D", "scratch"])
        .git(&["reflog", "expire", "--expire=now", "--all"])
        .build();

    let dir = store(&a);
    let before = remote_files(&dir);
    let out = a.cairn_ok(&["gc", "--remote", "origin", "--grace", "0", "--dry-run"]);
    // Nothing is condemned yet, so nothing is due: v1's pack would be
    // condemned (FORMAT.md §15.6).
    assert!(
        out.starts_with("would free 0 B") && out.contains("condemned, 1 newly"),
        "{out}"
    );
    assert_eq!(remote_files(&dir), before, "--dry-run changed the remote");
    // The default grace period (1d) protects every young pack.
    let out = a.cairn_ok(&["gc", "--remote", "origin"]);
    assert!(out.starts_with("freed 0 B on origin"), "{out}");
    // (It may still merge the index files into one: §15.6's order.)
    let packs = |m: &Files| -> Files {
        m.iter()
            .filter(|(k, _)| k.starts_with("packs/"))
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    };
    let after_default = remote_files(&dir);
    assert_eq!(
        packs(&after_default),
        packs(&before),
        "gc touched young packs"
    );

    // Deletion has two phases (FORMAT.md §15.6): the first run condemns
    // the dead packs, a run a grace period later deletes them.
    let out = a.cairn_ok(&["gc", "--remote", "origin", "--grace", "0"]);
    assert!(out.starts_with("freed 0 B"), "{out}");
    assert_eq!(
        packs(&remote_files(&dir)),
        packs(&before),
        "the condemning run deleted packs"
    );
    let out = a.cairn_ok(&["gc", "--remote", "origin", "--grace", "0"]);
    assert!(
        out.starts_with("freed ") && !out.starts_with("freed 0 B"),
        "{out}"
    );
    let after = remote_files(&dir);
    let freed = pack_bytes(&before) - pack_bytes(&after);
    assert!(
        (OLD..OLD + 100_000).contains(&freed),
        "v1's {OLD} random bytes (and only they) must go: freed {freed}\n{out}"
    );
    // One index now (plus `index.list`, kept for plain-HTTP readers).
    let names: Vec<&str> = after.keys().map(String::as_str).collect();
    let idx = names.iter().filter(|n| n.ends_with(".idx")).count();
    let odd: Vec<_> = names
        .iter()
        .filter(|n| {
            !["packs/", "index/", "loc/"]
                .iter()
                .any(|d| n.starts_with(d))
        })
        .filter(|n| **n != "index.list")
        .collect();
    assert!(idx == 1 && odd.is_empty(), "{names:?}");
    let v = a.cairn_json(&["verify", "--remote", "origin", "--json"]);
    assert_eq!(v["damaged"], json!([]), "{v}");
    a.cairn_ok(&["verify", "--remote", "origin"]);

    // A fresh clone gets v2 (and keep.bin) byte for byte.
    let c = a.clone_beside("clone");
    c.cairn_ok(&["pull"]);
    assert_same_tree(&files_under(&c, "data"), &v2, "v2 after remote gc");
    assert_eq!(c.read("keep.bin"), random_bytes("keep", 150_000));
    // Nothing more to collect; pushing again sends nothing.
    let out = a.cairn_ok(&["gc", "--remote", "origin", "--grace", "0"]);
    assert!(out.starts_with("freed 0 B"), "{out}");
    let p = a.cairn_json(&["push", "--json"]);
    assert_eq!(p["objects"], 0, "{p}");
}

/// `git ARGS` in the repository, whatever its exit status.
fn git_output(repo: &TestRepo, args: &[&str]) -> Output {
    let proto = repo.cairn_std(&[]);
    let mut cmd = Command::new("git");
    cmd.current_dir(&repo.root);
    for (k, v) in proto.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.args(args).output().expect("run git")
}

#[test]
fn pre_push_hook_sends_the_data_first_and_stops_git_when_it_cannot() {
    let a = TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .commit("cairn")
        .build();
    let hub = a.add_bare_hub();
    a.cairn_ok(&["install-hooks"]);
    let v1 = version(1);
    write_tree(&a, &v1);
    a.cairn_ok(&["add", "data", "model.bin"]);
    a.commit_all("v1");
    assert!(!store(&a).exists(), "no cairn push yet");

    let out = git_output(&a, &["push", "-q", "hub", "main"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = clone_beside(&a, &hub, "clone");
    c.cairn_ok(&["pull"]);
    assert_same_tree(&data_and_model(&c), &v1, "data pushed by the hook");

    // v2, committed; the cairn remote cannot be written: git must not push.
    a.remove("data");
    write_tree(&a, &version(2));
    a.cairn_ok(&["add", "data", "model.bin"]);
    a.commit_all("v2");
    let hub_main = || a.git(&["--git-dir", hub.to_str().unwrap(), "rev-parse", "main"]);
    let old = hub_main();
    let aside = a.base().join("store-aside");
    std::fs::rename(store(&a), &aside).unwrap();
    std::fs::write(store(&a), "not a folder\n").unwrap();
    let out = git_output(&a, &["push", "-q", "hub", "main"]);
    assert!(!out.status.success(), "git push went ahead");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: remote origin (../store)"),
        "{stderr}"
    );
    assert_eq!(hub_main(), old, "the hub's main moved");

    // The remote is back but the data is not in the cache: still refused.
    std::fs::remove_file(store(&a)).unwrap();
    std::fs::rename(&aside, store(&a)).unwrap();
    std::fs::remove_dir_all(a.path(".git/cairn/cache")).unwrap();
    let out = git_output(&a, &["push", "-q", "hub", "main"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: ") && stderr.contains("not in the cache"),
        "{stderr}"
    );
    assert!(
        !out.status.success(),
        "git push went ahead without the data"
    );
    assert_eq!(hub_main(), old, "the hub's main moved");

    // Once the data is stored again, git push sends both.
    a.cairn_ok(&["add", "data", "model.bin"]);
    let out = git_output(&a, &["push", "-q", "hub", "main"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(hub_main(), old);
    c.git(&["pull", "-q"]);
    c.cairn_ok(&["pull"]);
    assert_same_tree(&data_and_model(&c), &version(2), "v2 pushed by the hook");
}

#[test]
fn status_names_data_the_remote_lacks_until_it_is_pushed() {
    let a = TestRepo::init();
    a.write("data/a.bin", random_bytes("a", 50_000));
    a.cairn_ok(&["add", "data"]);
    a.commit_all("data");
    let st = a.cairn_json(&["status", "--json"]);
    assert_eq!(st["remote"], Value::Null, "{st}");
    assert_eq!(st["not_pushed"], Value::Null, "no remote: {st}");
    assert_eq!(
        not_pushed_lines(&a.cairn_ok(&["status"])),
        Vec::<String>::new()
    );

    a.cairn_ok(&["remote", "add", "origin", "../store"]);
    a.commit_all("remote");
    a.cairn_ok(&["push"]);
    let st = a.cairn_json(&["status", "--json"]);
    assert_eq!(st["not_pushed"], json!([]), "{st}");

    a.write("new.bin", random_bytes("new", 80_000));
    a.cairn_ok(&["add", "new.bin"]);
    let text = a.cairn_ok(&["status"]);
    assert_eq!(not_pushed_lines(&text), ["new.bin"], "{text}");
    let st = a.cairn_json(&["status", "--json"]);
    assert_eq!(st["remote"], "origin", "{st}");
    assert_eq!(st["not_pushed"], json!(["new.bin"]), "{st}");

    a.cairn_ok(&["push"]);
    let text = a.cairn_ok(&["status"]);
    assert_eq!(not_pushed_lines(&text), Vec::<String>::new(), "{text}");
    let st = a.cairn_json(&["status", "--json"]);
    assert_eq!(st["not_pushed"], json!([]), "{st}");
}

#[test]
fn fetch_of_a_revision_fills_the_cache_only_and_checkout_then_works_offline() {
    let a = tagged_repo();
    let c = a.clone_beside("clone");
    let pointers = c.read("data.cairn");
    let f = c.cairn_json(&["fetch", "v1", "--json"]);
    assert_eq!(f["remote"], "origin", "{f}");
    assert!(f["objects"].as_u64().unwrap() > 0, "{f}");
    assert!(
        !c.exists("data") && !c.exists("model.bin"),
        "fetch wrote data"
    );
    assert_eq!(c.read("data.cairn"), pointers, "fetch changed a pointer");
    assert_eq!(c.git(&["status", "--porcelain"]), "");
    let again = c.cairn_json(&["fetch", "v1", "--json"]);
    assert_eq!(again["objects"], 0, "{again}");

    // Offline: the remote is gone, the cache has all of v1.
    std::fs::remove_dir_all(store(&a)).unwrap();
    c.cairn_ok(&["checkout", "v1"]);
    assert_same_tree(&data_and_model(&c), &version(1), "v1 offline");
    c.cairn_ok(&["verify"]);
}

/// `ls --repo URL --rev TAG` lists another repository's data without a
/// clone: its pointers at that tag, with `-R` the files inside directories
/// (listings fetched from its remote), and no scratch left behind.
#[test]
fn ls_of_another_repository_at_a_tag_needs_no_clone() {
    let a = tagged_repo();
    let here = TestRepo::init();
    let url = a.root.to_str().unwrap();
    let v1 = here.cairn_json(&["ls", "--json", "--repo", url, "--rev", "v1", "-R"]);
    assert_eq!(v1["rev"], "v1", "{v1}");
    let rows: BTreeMap<String, u64> = v1["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["size"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: BTreeMap<String, u64> = version(1)
        .iter()
        .map(|(p, b)| (p.clone(), b.len() as u64))
        .chain([(
            "data".to_string(),
            version(1)
                .iter()
                .filter(|(p, _)| p.starts_with("data/"))
                .map(|(_, b)| b.len() as u64)
                .sum(),
        )])
        .collect();
    assert_eq!(rows, want);
    // Another tag lists other data; a path limits it.
    let v2 = here.cairn_json(&["ls", "--json", "--repo", url, "--rev", "v2", "model.bin"]);
    let only: Vec<&str> = v2["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(only, ["model.bin"]);
    assert_eq!(v2["paths"][0]["size"], 200_000);
    // An unknown tag: one error and a hint, nothing left behind.
    let (_, stderr) = here.cairn_fail(&["ls", "--repo", url, "--rev", "nosuch"]);
    assert_error_report(&stderr, &["nosuch"]);
    assert!(scratch_in(&here.path(".cairn")).is_empty());
    assert!(scratch_in(&here.root).is_empty());
    assert!(!here.exists("data") && !here.exists("model.bin.cairn"));
}
