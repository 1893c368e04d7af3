//! History through git: `checkout REV`, `ls`, `log` over real repositories
//! with tags, branches, a merge and detached HEAD.

use crate::common;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;

use common::{assert_error_report, csv_text, random_bytes, TestRepo};

type Tree = BTreeMap<String, Vec<u8>>;

/// Every regular file under `dir`, relative to the repository.
fn files_under(repo: &TestRepo, dir: &str) -> Tree {
    let mut out = Tree::new();
    for e in walkdir::WalkDir::new(repo.path(dir)).min_depth(1) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(repo.path(""))
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            out.insert(rel, std::fs::read(e.path()).unwrap());
        }
    }
    out
}

fn v1() -> Tree {
    let mut t = Tree::new();
    t.insert("data/a.txt".into(), b"version one\n".to_vec());
    t.insert("data/b.csv".into(), csv_text(1, 300_000));
    t.insert("data/sub/c.bin".into(), random_bytes("c", 2_000_000));
    t
}

fn v2() -> Tree {
    let mut t = v1();
    t.insert("data/a.txt".into(), b"version two, longer\n".to_vec());
    t.remove("data/b.csv");
    t.insert("data/d.txt".into(), b"new in v2\n".to_vec());
    t
}

/// main: v1 (annotated tag) -> v2 (lightweight tag); branch `exp` from v1
/// adds `extra.bin`; then `exp` is merged into main.
fn history() -> TestRepo {
    TestRepo::builder()
        .tree(&v1())
        .file("model.bin", random_bytes("model-1", 700_000))
        .commit("v1")
        .git(&["tag", "-a", "v1", "-m", "version 1"])
        .git(&["branch", "exp"])
        .remove("data/b.csv")
        .tree(&v2())
        .file("model.bin", random_bytes("model-2", 900_000))
        .commit("v2")
        .tag("v2")
        .git(&["checkout", "-q", "exp"])
        .cairn(&["checkout"])
        .file("extra.bin", random_bytes("extra", 100_000))
        .commit("extra on exp")
        .git(&["checkout", "-q", "-"])
        .git(&["merge", "-q", "--no-edit", "exp"])
        .cairn(&["checkout"])
        .build()
}

#[test]
fn each_version_comes_back_byte_for_byte_in_any_order() {
    let repo = history();
    for rev in ["v1", "v2", "v1", "exp", "HEAD", "v2", "HEAD~1"] {
        repo.cairn_ok(&["checkout", rev]);
        let (want, model) = match rev {
            "v1" | "exp" => (v1(), random_bytes("model-1", 700_000)),
            _ => (v2(), random_bytes("model-2", 900_000)),
        };
        assert_eq!(files_under(&repo, "data"), want, "data at {rev}");
        assert_eq!(repo.read("model.bin"), model, "model at {rev}");
        // extra.bin exists exactly where its pointer does: exp and the merge.
        let has_extra = matches!(rev, "exp" | "HEAD");
        assert_eq!(repo.exists("extra.bin"), has_extra, "extra.bin at {rev}");
        assert_eq!(
            repo.exists("extra.bin.cairn"),
            has_extra,
            "extra.bin.cairn at {rev}"
        );
        // The pointers now match the revision, so status is clean and git
        // sees exactly the revision's pointer files.
        let st = repo.cairn_json(&["status", "--json"]);
        for row in st["paths"].as_array().unwrap() {
            assert_eq!(row["state"], "clean", "{rev}: {st}");
        }
        let diff = repo.git(&["diff", "--stat", rev, "--", "*.cairn"]);
        assert_eq!(diff, "", "pointers differ from {rev}");
    }
}

#[test]
fn only_files_whose_content_differs_are_rewritten() {
    let repo = history();
    repo.cairn_ok(&["checkout", "v1"]);
    let ino = |p: &str| std::fs::metadata(repo.path(p)).unwrap().ino();
    let unchanged = ino("data/sub/c.bin");
    let changed = ino("data/a.txt");
    let out = repo.cairn(&["checkout", "v2"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        ino("data/sub/c.bin"),
        unchanged,
        "an unchanged file was rewritten"
    );
    assert_ne!(
        ino("data/a.txt"),
        changed,
        "a changed file was not rewritten"
    );
    // a.txt, d.txt and model.bin change; c.bin does not; b.csv goes.
    assert!(stderr.contains("3 file(s) written"), "{stderr}");
    assert!(stderr.contains("1 already up to date"), "{stderr}");
    assert!(stderr.contains("1 removed"), "{stderr}");
}

#[test]
fn detached_head_and_plain_git_checkout_then_cairn_checkout() {
    let repo = history();
    repo.git(&["checkout", "-q", "--detach", "v1"]);
    repo.cairn_ok(&["checkout"]);
    assert_eq!(files_under(&repo, "data"), v1());
    repo.git(&["checkout", "-q", "v2"]);
    repo.cairn_ok(&["checkout"]);
    assert_eq!(files_under(&repo, "data"), v2());
}

#[test]
fn checkout_rev_limited_to_a_path_leaves_the_rest() {
    let repo = history();
    repo.cairn_ok(&["checkout", "v2"]);
    repo.cairn_ok(&["checkout", "v1", "model.bin"]);
    assert_eq!(repo.read("model.bin"), random_bytes("model-1", 700_000));
    assert_eq!(files_under(&repo, "data"), v2(), "data must stay at v2");
}

#[test]
fn modified_data_not_in_rev_is_kept() {
    let repo = history();
    repo.cairn_ok(&["checkout", "HEAD"]);
    repo.write("extra.bin", b"my own edits");
    let (_, err) = repo.cairn_fail(&["checkout", "v1"]);
    assert!(err.contains("extra.bin"), "{err}");
    assert_eq!(repo.read("extra.bin"), b"my own edits");
    repo.cairn_ok(&["checkout", "--force", "v1"]);
    assert!(!repo.exists("extra.bin"), "--force discards it");
}

fn pointer_line(repo: &TestRepo, rel: &str) -> String {
    let p = repo.pointer(rel);
    let files = if p["kind"] == "dir" {
        p["files"].clone()
    } else {
        "1".into()
    };
    format!(
        "{:<4} {:>10} {:>8} {} {rel}",
        p["kind"],
        human(p["size"].parse().unwrap()),
        files,
        p["id"]
    )
}

/// Sizes as `ls` prints them: decimal units, one decimal above bytes.
fn human(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

/// The header line `ls` prints above its rows.
const LS_HEADER: &str = "kind       size    files id                                                               path";

#[test]
fn ls_at_revisions_text_and_json() {
    let repo = history();
    repo.cairn_ok(&["checkout", "v1"]);
    let v1_lines = format!(
        "{LS_HEADER}\n{}\n{}\n",
        pointer_line(&repo, "data"),
        pointer_line(&repo, "model.bin")
    );
    repo.cairn_ok(&["checkout", "HEAD"]);
    assert_eq!(repo.cairn_ok(&["ls", "v1"]), v1_lines);
    let head = repo.cairn_ok(&["ls"]);
    assert_eq!(head.lines().count(), 4, "a header and 3 rows:\n{head}");
    assert!(head.lines().any(|l| l.ends_with(" extra.bin")), "{head}");
    assert_eq!(
        repo.cairn_ok(&["ls", "HEAD"]),
        head,
        "work tree = HEAD here"
    );
    assert_eq!(repo.cairn_ok(&["ls", "v1", "model.bin"]).lines().count(), 2);
    // Reflog syntax and short ids: the branch was at v2 before the merge.
    let branch = repo
        .git(&["rev-parse", "--abbrev-ref", "HEAD"])
        .trim()
        .to_string();
    let v2_lines = repo.cairn_ok(&["ls", "v2"]);
    assert_eq!(repo.cairn_ok(&["ls", &format!("{branch}@{{1}}")]), v2_lines);
    let short = repo.git(&["rev-parse", "--short", "v2"]).trim().to_string();
    assert_eq!(repo.cairn_ok(&["ls", &short]), v2_lines);

    let v = repo.cairn_json(&["ls", "--json", "v2"]);
    assert_eq!(v["rev"], "v2");
    assert_eq!(v["commit"].as_str().unwrap().len(), 40);
    let rows = v["paths"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["path"], "data");
    assert_eq!(rows[0]["kind"], "dir");
    assert_eq!(rows[0]["files"], 3);
    let size: u64 = v2().values().map(|b| b.len() as u64).sum();
    assert_eq!(rows[0]["size"], size);
    assert_eq!(rows[1]["path"], "model.bin");
    assert_eq!(rows[1]["size"], 900_000);
}

#[test]
fn log_lists_the_commits_that_changed_a_path() {
    let repo = history();
    let v = repo.cairn_json(&["log", "--json", "model.bin"]);
    let commits = v["commits"].as_array().unwrap();
    assert_eq!(commits.len(), 2, "{v}");
    assert_eq!(commits[0]["summary"], "v2");
    assert_eq!(commits[0]["change"], "modified");
    assert_eq!(commits[0]["size"], 900_000);
    assert_eq!(commits[0]["size_change"], 200_000);
    assert_eq!(commits[1]["summary"], "v1");
    assert_eq!(commits[1]["change"], "added");
    assert_eq!(commits[1]["size_change"], 700_000);
    let text = repo.cairn_ok(&["log", "extra.bin"]);
    assert_eq!(text.lines().count(), 1, "{text}");
    // First-parent history: on main, extra.bin arrived with the merge.
    assert!(text.contains("Merge branch"), "{text}");
    assert!(text.contains("+100.0 kB"), "{text}");
    assert_eq!(
        repo.cairn_json(&["log", "--json", "-n", "1", "data"])["commits"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn unknown_revision_empty_repo_and_shallow_clone_fail_clearly() {
    let repo = history();
    let (_, stderr) = repo.cairn_fail(&["checkout", "no-such-rev"]);
    assert_error_report(&stderr, &["no-such-rev", "neither a git revision"]);
    let (_, stderr) = repo.cairn_fail(&["ls", "v9"]);
    assert_error_report(&stderr, &["v9"]);

    let empty = TestRepo::init();
    let (_, stderr) = empty.cairn_fail(&["ls", "HEAD"]);
    assert_error_report(&stderr, &["no commits"]);

    let old = repo.git(&["rev-parse", "v1^{commit}"]).trim().to_string();
    let url = format!("file://{}", repo.path("").display());
    let shallow = repo.base().join("shallow");
    repo.git(&[
        "clone",
        "-q",
        "--depth",
        "1",
        &url,
        shallow.to_str().unwrap(),
    ]);
    let out = repo
        .cairn(&["-C", shallow.to_str().unwrap(), "ls", &old])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error:") && stderr.contains("shallow"),
        "{stderr}"
    );
    assert!(stderr.contains("git fetch --unshallow"), "{stderr}");
}

#[test]
fn with_hooks_plain_git_checkout_and_merge_bring_the_data() {
    let repo = history();
    let hooks = repo.path(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let log = repo.base().join("old-hook.log");
    let old = format!("#!/bin/sh\necho \"$@\" >> '{}'\n", log.display());
    std::fs::write(hooks.join("post-checkout"), &old).unwrap();
    repo.chmod(".git/hooks/post-checkout", 0o755);

    repo.cairn_ok(&["install-hooks"]);
    let first = std::fs::read(hooks.join("post-checkout")).unwrap();
    repo.cairn_ok(&["install-hooks"]);
    assert_eq!(
        std::fs::read(hooks.join("post-checkout")).unwrap(),
        first,
        "idempotent"
    );
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-checkout.pre-cairn")).unwrap(),
        old
    );

    repo.git(&["checkout", "-q", "v1"]);
    assert_eq!(
        files_under(&repo, "data"),
        v1(),
        "post-checkout restores v1"
    );
    assert!(!repo.exists("extra.bin"));
    repo.git(&["checkout", "-q", "v2"]);
    assert_eq!(
        files_under(&repo, "data"),
        v2(),
        "post-checkout restores v2"
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        2,
        "the old hook still runs"
    );

    // post-merge: a branch that changes a pointer, merged with git.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("model.bin", random_bytes("model-3", 300_000));
    repo.cairn_ok(&["add", "model.bin"]);
    repo.commit_all("model 3");
    repo.git(&["checkout", "-q", "v2"]);
    assert_eq!(repo.read("model.bin"), random_bytes("model-2", 900_000));
    repo.git(&["checkout", "-q", "-b", "target"]);
    repo.git(&["merge", "-q", "--no-edit", "feature"]);
    assert_eq!(
        repo.read("model.bin"),
        random_bytes("model-3", 300_000),
        "post-merge restores"
    );

    repo.cairn_ok(&["install-hooks", "--uninstall"]);
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-checkout")).unwrap(),
        old
    );
    assert!(!hooks.join("post-merge").exists());
    repo.git(&["checkout", "-q", "v1"]);
    assert_eq!(files_under(&repo, "data"), v2(), "no hook: data stays");
}

#[test]
fn diff_between_revisions_and_against_the_work_tree() {
    let repo = history();
    let v = repo.cairn_json(&["diff", "--json", "v1", "v2"]);
    assert_eq!(v["from"], "v1");
    assert_eq!(v["to"], "v2");
    let rows = v["paths"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    let data = &rows[0];
    assert_eq!(data["path"], "data");
    assert_eq!(data["change"], "modified");
    assert_eq!(data["kind"], "dir");
    let files: Vec<(String, String)> = data["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["change"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        files,
        vec![
            ("data/a.txt".to_string(), "modified".to_string()),
            ("data/b.csv".to_string(), "removed".to_string()),
            ("data/d.txt".to_string(), "added".to_string()),
        ]
    );
    // Only a.txt's and d.txt's bytes are new; c.bin is shared with v1.
    assert_eq!(data["new_bytes"], 20 + 10);
    let model = &rows[1];
    assert_eq!(model["path"], "model.bin");
    assert_eq!(model["old_size"], 700_000);
    assert_eq!(model["new_size"], 900_000);
    assert_eq!(model["new_bytes"], 900_000);
    assert_eq!(v["new_bytes"], 900_030);

    // Default: HEAD against the work tree's pointers.
    assert_eq!(repo.cairn_ok(&["diff"]), "no tracked data differs\n");
    repo.write("data/a.txt", b"edited in the work tree\n");
    repo.cairn_ok(&["add", "data"]);
    let text = repo.cairn_ok(&["diff"]);
    assert!(text.starts_with("modified data "), "{text}");
    assert!(
        text.contains("    modified data/a.txt  20 B -> 24 B"),
        "{text}"
    );
    assert!(text.ends_with("24 B of new data in total\n"), "{text}");
    let added = repo.cairn_json(&["diff", "--json", "v1", "HEAD"]);
    let extra = added["paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "extra.bin")
        .unwrap();
    assert_eq!(extra["change"], "added");
    assert_eq!(extra["new_bytes"], 100_000);
}

fn pack_files(repo: &TestRepo) -> BTreeMap<String, u64> {
    repo.packs()
        .iter()
        .map(|p| (p.display().to_string(), std::fs::metadata(p).unwrap().len()))
        .collect()
}

#[test]
fn gc_drops_only_unreachable_data_and_dry_run_changes_nothing() {
    let repo = history();
    // A branch with data nobody else has, then the branch and its reflog go.
    repo.git(&["checkout", "-q", "-b", "scratch"]);
    repo.write("junk.bin", random_bytes("junk", 3_000_000));
    repo.cairn_ok(&["add", "junk.bin"]);
    repo.commit_all("junk");
    repo.git(&["checkout", "-q", "-"]);
    // Without hooks, git removed the pointer but not the (ignored) data.
    repo.remove("junk.bin");
    repo.git(&["branch", "-D", "scratch"]);

    // Still in the HEAD reflog: nothing may go yet, whatever the grace.
    let before = pack_files(&repo);
    let out = repo.cairn_ok(&["gc", "--grace", "0"]);
    assert!(out.starts_with("freed 0 B: 0 object(s) dropped"), "{out}");
    assert_eq!(pack_files(&repo), before);

    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
    // The default grace period (a day) protects the fresh packs.
    let out = repo.cairn_ok(&["gc"]);
    assert!(out.starts_with("freed 0 B"), "{out}");
    assert_eq!(pack_files(&repo), before);

    let out = repo.cairn_ok(&["gc", "--dry-run", "--grace", "0"]);
    assert!(out.starts_with("would free "), "{out}");
    assert!(!out.starts_with("would free 0 B"), "{out}");
    assert_eq!(
        pack_files(&repo),
        before,
        "--dry-run must not change the cache"
    );

    let out = repo.cairn_ok(&["gc", "--grace", "0"]);
    assert!(out.starts_with("freed "), "{out}");
    let total = |m: &BTreeMap<String, u64>| m.values().sum::<u64>();
    let freed = total(&before) - total(&pack_files(&repo));
    assert!(
        freed >= 3_000_000,
        "junk.bin's 3 MB of random data must go, freed {freed}"
    );
    assert!(
        freed < 3_300_000,
        "only junk.bin's data may go, freed {freed}"
    );
    repo.cairn_ok(&["verify"]);

    // Every tagged version, the branch and the merge still come back.
    for (rev, want) in [("v1", v1()), ("v2", v2()), ("exp", v1()), ("HEAD", v2())] {
        repo.cairn_ok(&["checkout", rev]);
        assert_eq!(files_under(&repo, "data"), want, "data at {rev}");
    }
    assert_eq!(repo.read("extra.bin"), random_bytes("extra", 100_000));
    // A second collection finds nothing more.
    let out = repo.cairn_ok(&["gc", "--grace", "0"]);
    assert!(out.starts_with("freed 0 B: 0 object(s) dropped"), "{out}");
}

#[test]
fn gc_rewrites_a_mostly_dead_pack_keeping_its_live_blobs() {
    let repo = TestRepo::init();
    repo.write("base.txt", b"base\n");
    repo.cairn_ok(&["add", "base.txt"]);
    repo.commit_all("base");
    // One `add` of small files writes one pack: 3 MB dead-to-be, 1 MB live.
    repo.git(&["checkout", "-q", "-b", "scratch"]);
    repo.write("junk.bin", random_bytes("junk", 3_000_000));
    repo.write("keep.bin", random_bytes("keep", 1_000_000));
    repo.cairn_ok(&["add", "junk.bin", "keep.bin"]);
    repo.commit_all("both");
    let mixed: Vec<_> = repo.packs();
    repo.git(&["checkout", "-q", "-"]);
    repo.remove("junk.bin");
    // main keeps keep.bin (already stored: nothing new is written).
    repo.cairn_ok(&["add", "keep.bin"]);
    repo.commit_all("keep");
    assert_eq!(repo.packs(), mixed, "re-adding stored data writes no pack");
    repo.git(&["branch", "-D", "scratch"]);
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);

    let out = repo.cairn_ok(&["gc", "--grace", "0"]);
    assert!(out.contains("1 pack(s) rewritten"), "{out}");
    let after: u64 = repo
        .packs()
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(
        after < 1_100_000,
        "only keep.bin and base.txt remain: {after} bytes"
    );
    repo.cairn_ok(&["verify"]);
    repo.remove("keep.bin");
    repo.cairn_ok(&["checkout"]);
    assert_eq!(repo.read("keep.bin"), random_bytes("keep", 1_000_000));
}

#[test]
fn gc_refuses_a_cache_configured_elsewhere_unless_told() {
    let repo = TestRepo::init();
    let shared = repo.base().join("shared-cache");
    repo.write(
        ".cairn/config.local.toml",
        format!("[cache]\ndir = \"{}\"\n", shared.display()),
    );
    repo.write("a.bin", random_bytes("a", 10_000));
    repo.cairn_ok(&["add", "a.bin"]);
    repo.commit_all("a");
    let (_, stderr) = repo.cairn_fail(&["gc", "--grace", "0"]);
    assert_error_report(&stderr, &["shared", "--shared-cache"]);
    let out = repo.cairn_ok(&["gc", "--grace", "0", "--shared-cache"]);
    assert!(out.starts_with("freed 0 B"), "{out}");
    repo.remove("a.bin");
    repo.cairn_ok(&["checkout"]);
    assert_eq!(repo.read("a.bin"), random_bytes("a", 10_000));
}

#[test]
fn gc_keeps_the_good_copy_when_another_copy_is_damaged() {
    let repo = TestRepo::init();
    let keep = random_bytes("keep", 1_000_000);
    repo.write("keep.bin", &keep);
    repo.cairn_ok(&["add", "keep.bin"]);
    repo.commit_all("keep");
    // Damage one byte of keep.bin's data in its pack; verify records it.
    let pack = repo.packs()[0].clone();
    let mut bytes = std::fs::read(&pack).unwrap();
    bytes[16 + 100] ^= 0x40;
    std::fs::write(&pack, &bytes).unwrap();
    repo.cairn_fail(&["verify"]);
    // On a throw-away branch, one `add` stores junk and (keep.bin being
    // re-read) a good copy of the damaged chunk: both in one new pack.
    repo.git(&["checkout", "-q", "-b", "scratch"]);
    repo.write("junk.bin", random_bytes("junk", 3_000_000));
    repo.write("keep.bin", &keep); // new mtime: keep.bin is read again
    repo.cairn_ok(&["add", "junk.bin", "keep.bin"]);
    repo.commit_all("junk");
    repo.git(&["checkout", "-q", "-"]);
    repo.remove("junk.bin");
    repo.git(&["branch", "-D", "scratch"]);
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);

    repo.cairn_ok(&["gc", "--grace", "0"]);
    // The junk went, the good copy of the damaged chunk did not.
    repo.remove("keep.bin");
    repo.cairn_ok(&["checkout"]);
    assert!(
        repo.read("keep.bin") == keep,
        "keep.bin must come back intact"
    );
}

/// `log` dates a commit on the author's calendar, as `git log` does: a
/// commit made at 23:30 in New York is on the 1st there, though it is
/// already the 2nd in UTC.
#[test]
fn log_dates_commits_in_the_authors_offset() {
    let mut repo = TestRepo::init();
    repo.write("model.bin", random_bytes("offset-model", 1000));
    repo.cairn_ok(&["add", "model.bin"]);
    repo.set_env("GIT_AUTHOR_DATE", "2026-01-01T23:30:00-05:00");
    repo.commit_all("late in New York");
    let log = repo.cairn_json(&["log", "--json", "model.bin"]);
    assert_eq!(log["commits"][0]["date"], "2026-01-01", "{log}");
    // 2026-01-02T04:30:00Z
    assert_eq!(log["commits"][0]["time"], 1_767_328_200, "{log}");
}
