//! The git layer (`src/repo/git/`) against real repositories built with
//! the git CLI.

use std::cell::Cell;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use cairn::repo::git::{CommitInfo, GitError, GitRepo};

/// A throw-away directory with a git config of its own.
struct Sandbox {
    dir: tempfile::TempDir,
    config: PathBuf,
    clock: Cell<i64>,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("gitconfig");
        std::fs::write(
            &config,
            "[user]\n\tname = Test Author\n\temail = t@example.com\n[init]\n\tdefaultBranch = main\n\
             [advice]\n\tdetachedHead = false\n[gc]\n\tauto = 0\n[protocol \"file\"]\n\tallow = always\n",
        )
        .unwrap();
        Sandbox {
            dir,
            config,
            clock: Cell::new(1_700_000_000),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Run git in `cwd` (relative to the sandbox); each call advances the fake clock by 60 s.
    fn git_in(&self, cwd: &str, args: &[&str], stdin: Option<&[u8]>) -> String {
        let t = self.clock.get() + 60;
        self.clock.set(t);
        let date = format!("{t} +0000");
        let mut cmd = Command::new("git");
        cmd.args(args)
            .current_dir(self.path(cwd))
            .env("GIT_CONFIG_GLOBAL", &self.config)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(input).unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn write(&self, rel: &str, content: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
}

/// A repository at `<sandbox>/repo` with helpers.
struct Repo<'a> {
    sb: &'a Sandbox,
    name: &'a str,
}

impl Repo<'_> {
    fn init<'a>(sb: &'a Sandbox, name: &'a str) -> Repo<'a> {
        std::fs::create_dir_all(sb.path(name)).unwrap();
        sb.git_in(name, &["init", "-q", "-b", "main"], None);
        Repo { sb, name }
    }
    fn git(&self, args: &[&str]) -> String {
        self.sb.git_in(self.name, args, None)
    }
    fn write(&self, rel: &str, content: &str) {
        self.sb.write(&format!("{}/{rel}", self.name), content);
    }
    fn rm(&self, rel: &str) {
        self.git(&["rm", "-q", rel]);
    }
    fn commit(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }
    fn dir(&self) -> PathBuf {
        self.sb.path(self.name)
    }
    fn open(&self) -> GitRepo {
        GitRepo::open(&self.dir()).unwrap()
    }
}

fn paths(v: &[(String, Vec<u8>)]) -> Vec<&str> {
    v.iter().map(|(p, _)| p.as_str()).collect()
}

fn s(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap()
}

struct History {
    c1: String,
    c3: String,
    c4: String,
    c5: String,
    f1: String,
    merge: String,
    c6: String,
}

/// c1 - c2 - c3 - c4(light) - c5(v1.0) - M - c6   (main)
///              \                        /
///               f1 ------------------- (feature)
fn build_history(r: &Repo) -> History {
    r.write("data.cairn", "data v1\n");
    r.write("models/m.bin.cairn", "m v1\n");
    r.write("deep/a/b/c.cairn", "deep\n");
    r.write(".cairn/config.toml", "[remote]\n");
    r.write(".cairn/nested.cairn", "not a pointer\n");
    r.write("other/.cairn/hidden.cairn", "not a pointer either\n");
    r.write("sub/.cairn", "name is only the suffix\n");
    r.write("x.cairnfoo", "wrong suffix\n");
    r.write("dir.cairn/inner.txt", "a directory named like a pointer\n");
    r.write("exec.cairn", "exec\n");
    r.write("README.md", "readme 1\n");
    std::os::unix::fs::symlink("data.cairn", r.dir().join("link.cairn")).unwrap();
    r.git(&["add", "-A"]);
    // Submodule entries (gitlinks) to commits that are not in this repository.
    let fake = "1111111111111111111111111111111111111111";
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{fake},vendor/lib"),
    ]);
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{fake},vendor/mod.cairn"),
    ]);
    r.git(&["update-index", "--chmod=+x", "exec.cairn"]);
    let c1 = r.commit("first: add pointers");
    r.write("README.md", "readme 2\n");
    r.commit("c2: readme");
    r.write("data.cairn", "data v2\n");
    let c3 = r.commit("c3: data v2\n\nbody text");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("models/m.bin.cairn", "m v2\n");
    r.write("models/new.cairn", "new\n");
    let f1 = r.commit("f1: feature models");
    r.git(&["checkout", "-q", "main"]);
    r.write("README.md", "readme 3\n");
    let c4 = r.commit("c4: readme");
    r.git(&["tag", "light"]);
    r.rm("data.cairn");
    let c5 = r.commit("c5: remove data");
    r.git(&["tag", "-a", "v1.0", "-m", "release"]);
    r.git(&["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);
    let merge = r.git(&["rev-parse", "HEAD"]);
    r.write("data.cairn", "data v3\n");
    let c6 = r.commit("c6: data v3");
    History {
        c1,
        c3,
        c4,
        c5,
        f1,
        merge,
        c6,
    }
}

#[test]
fn resolve_pointers_file_at_and_log() {
    let sb = Sandbox::new();
    let r = Repo::init(&sb, "repo");
    let h = build_history(&r);
    // Opening from a subdirectory discovers the repository.
    let repo = GitRepo::open(&r.dir().join("models")).unwrap();

    let id = |rev: &str| repo.resolve(rev).unwrap().id;
    assert_eq!(id("HEAD"), h.c6);
    assert_eq!(id("HEAD~1"), h.merge);
    assert_eq!(id("HEAD~2"), h.c5);
    assert_eq!(id("HEAD~1^2"), h.f1);
    assert_eq!(id("main"), h.c6);
    assert_eq!(id("feature"), h.f1);
    assert_eq!(id("refs/heads/feature"), h.f1);
    assert_eq!(id("v1.0"), h.c5, "annotated tag is peeled to its commit");
    assert_eq!(id("light"), h.c4);
    assert_eq!(id(&h.c3[..7]), h.c3);
    assert_eq!(id(&h.c3), h.c3);
    assert_eq!(id("main@{1}"), h.merge, "reflog syntax");
    assert_eq!(id("main@{0}"), h.c6);

    let info: CommitInfo = repo.resolve("HEAD~4").unwrap();
    assert_eq!(info.id, h.c3);
    assert_eq!(info.id.len(), 40);
    assert!(
        h.c3.starts_with(&info.short) && info.short.len() >= 7,
        "{info:?}"
    );
    assert_eq!(info.summary, "c3: data v2");
    assert_eq!(info.author, "Test Author");
    let expected_time: i64 = r
        .git(&["log", "-1", "--format=%at", &h.c3])
        .parse()
        .unwrap();
    assert_eq!(info.time, expected_time);

    // Errors.
    assert!(
        matches!(repo.resolve("nope"), Err(GitError::UnknownRevision { rev, .. }) if rev == "nope")
    );
    assert!(matches!(
        repo.resolve("HEAD~100"),
        Err(GitError::UnknownRevision { .. })
    ));
    assert!(matches!(
        repo.resolve("main@{99}"),
        Err(GitError::UnknownRevision { .. })
    ));
    assert!(matches!(
        repo.resolve("HEAD^{tree}"),
        Err(GitError::NotACommit { kind: "tree", .. })
    ));
    assert!(matches!(
        repo.resolve(":data.cairn"),
        Err(GitError::NotACommit {
            kind: "index entry",
            ..
        })
    ));
    assert_eq!(id(":/c3: data"), h.c3, "commit message search");
    let err = repo.resolve("nope").unwrap_err();
    assert!(err.hint().is_some());
    assert_eq!(err.to_string(), "unknown revision 'nope'");

    // pointers_at
    let c1 = repo.pointers_at(&h.c1).unwrap();
    assert_eq!(
        paths(&c1),
        [
            "data.cairn",
            "deep/a/b/c.cairn",
            "exec.cairn",
            "models/m.bin.cairn"
        ]
    );
    assert_eq!(s(&c1[0].1), "data v1\n");
    assert_eq!(s(&c1[3].1), "m v1\n");
    let c5 = repo.pointers_at("v1.0").unwrap();
    assert_eq!(
        paths(&c5),
        ["deep/a/b/c.cairn", "exec.cairn", "models/m.bin.cairn"]
    );
    let f1 = repo.pointers_at("feature").unwrap();
    assert_eq!(
        paths(&f1),
        [
            "data.cairn",
            "deep/a/b/c.cairn",
            "exec.cairn",
            "models/m.bin.cairn",
            "models/new.cairn"
        ]
    );
    assert_eq!(s(&f1[0].1), "data v2\n");
    assert_eq!(s(&f1[3].1), "m v2\n");
    let head = repo.pointers_at("HEAD").unwrap();
    assert_eq!(s(&head[0].1), "data v3\n");
    assert_eq!(paths(&head), paths(&f1));

    // file_at
    assert_eq!(
        repo.file_at(&h.c1, "data.cairn").unwrap().as_deref(),
        Some(&b"data v1\n"[..])
    );
    assert_eq!(
        repo.file_at("light", "data.cairn").unwrap().as_deref(),
        Some(&b"data v2\n"[..])
    );
    assert_eq!(repo.file_at("v1.0", "data.cairn").unwrap(), None);
    assert_eq!(
        repo.file_at("HEAD", "models/m.bin.cairn")
            .unwrap()
            .as_deref(),
        Some(&b"m v2\n"[..])
    );
    assert_eq!(
        repo.file_at("HEAD", ".cairn/config.toml")
            .unwrap()
            .as_deref(),
        Some(&b"[remote]\n"[..])
    );
    assert_eq!(repo.file_at("HEAD", "models").unwrap(), None, "directory");
    assert_eq!(
        repo.file_at("HEAD", "vendor/lib").unwrap(),
        None,
        "submodule"
    );
    assert_eq!(repo.file_at("HEAD", "missing/x.cairn").unwrap(), None);
    assert_eq!(repo.file_at("HEAD", "data.cairn/x").unwrap(), None);
    assert!(matches!(
        repo.file_at("nope", "data.cairn"),
        Err(GitError::UnknownRevision { .. })
    ));

    // log_path (first-parent from HEAD)
    let log = |path: &str, max| -> Vec<(String, Option<String>)> {
        repo.log_path(path, max)
            .unwrap()
            .into_iter()
            .map(|(c, b)| (c.id, b.map(|b| String::from_utf8(b).unwrap())))
            .collect()
    };
    let some = |x: &str| Some(x.to_owned());
    assert_eq!(
        log("data.cairn", None),
        [
            (h.c6.clone(), some("data v3\n")),
            (h.c5.clone(), None),
            (h.c3.clone(), some("data v2\n")),
            (h.c1.clone(), some("data v1\n")),
        ]
    );
    assert_eq!(log("data.cairn", Some(2)).len(), 2);
    assert_eq!(
        log("models/m.bin.cairn", None),
        [
            (h.merge.clone(), some("m v2\n")),
            (h.c1.clone(), some("m v1\n"))
        ],
        "the merge brings the change in; f1 is not on the first-parent chain"
    );
    assert_eq!(
        log("models/new.cairn", None),
        [(h.merge.clone(), some("new\n"))]
    );
    assert_eq!(log("never.cairn", None), []);
    assert_eq!(log("models", None), [], "directories have no blob");
    assert_eq!(log("vendor/lib", None), [], "submodules have no blob");

    // Detached HEAD: history follows HEAD, not main.
    r.git(&["checkout", "-q", "--detach", "HEAD~1"]);
    let repo = r.open();
    assert_eq!(repo.resolve("HEAD").unwrap().id, h.merge);
    assert_eq!(repo.resolve("main").unwrap().id, h.c6);
    assert_eq!(repo.resolve("HEAD@{1}").unwrap().id, h.c6, "HEAD reflog");
    assert_eq!(
        log("data.cairn", None)
            .into_iter()
            .map(|(c, _)| c)
            .collect::<Vec<_>>(),
        [h.c5.clone(), h.c3.clone(), h.c1.clone()]
    );
    assert_eq!(repo.pointers_at("HEAD").unwrap().len(), 4);
}

#[test]
fn not_a_repo_and_empty_repo() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("plain")).unwrap();
    let err = GitRepo::open(&sb.path("plain")).err().unwrap();
    assert!(
        matches!(&err, GitError::NotARepo { path, .. } if path.ends_with("plain")),
        "{err:?}"
    );
    assert!(err.hint().is_some());

    let r = Repo::init(&sb, "empty");
    let repo = r.open();
    assert!(matches!(repo.resolve("HEAD"), Err(GitError::NoCommits)));
    assert!(matches!(repo.resolve("main"), Err(GitError::NoCommits)));
    assert!(matches!(repo.pointers_at("HEAD"), Err(GitError::NoCommits)));
    assert!(matches!(
        repo.file_at("HEAD", "a.cairn"),
        Err(GitError::NoCommits)
    ));
    assert!(matches!(
        repo.log_path("a.cairn", None),
        Err(GitError::NoCommits)
    ));
    assert_eq!(
        repo.reachable_pointer_blobs().unwrap(),
        Vec::<Vec<u8>>::new()
    );
    assert_eq!(
        GitError::NoCommits.to_string(),
        "the git repository has no commits yet"
    );
}

#[test]
fn shallow_clone() {
    let sb = Sandbox::new();
    let r = Repo::init(&sb, "origin");
    let h = build_history(&r);
    let url = format!("file://{}", r.dir().display());
    sb.git_in(".", &["clone", "-q", "--depth", "1", &url, "shallow"], None);
    let repo = GitRepo::open(&sb.path("shallow")).unwrap();

    assert_eq!(repo.resolve("HEAD").unwrap().id, h.c6);
    for rev in [h.c1.as_str(), h.c4.as_str(), "HEAD~1", "HEAD~3"] {
        let err = repo.resolve(rev).unwrap_err();
        assert!(
            matches!(&err, GitError::Shallow { rev: r } if r == rev),
            "{rev}: {err:?}"
        );
        assert_eq!(
            err.hint(),
            Some("fetch the full history with `git fetch --unshallow`")
        );
        assert!(matches!(
            repo.pointers_at(rev),
            Err(GitError::Shallow { .. })
        ));
    }
    assert_eq!(repo.pointers_at("HEAD").unwrap().len(), 5);
    // History stops at the shallow boundary, where the file shows up as added.
    let log = repo.log_path("data.cairn", None).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0.id, h.c6);
    assert_eq!(repo.reachable_pointer_blobs().unwrap().len(), 5);
}

#[test]
fn missing_object_in_non_shallow_repo() {
    let sb = Sandbox::new();
    let r = Repo::init(&sb, "repo");
    r.write("data.cairn", "v1\n");
    r.commit("one");
    let blob = r.git(&["rev-parse", "HEAD:data.cairn"]);
    std::fs::remove_file(
        r.dir()
            .join(format!(".git/objects/{}/{}", &blob[..2], &blob[2..])),
    )
    .unwrap();
    let repo = r.open();
    let err = repo.pointers_at("HEAD").unwrap_err();
    assert!(
        matches!(&err, GitError::MissingObject { id, .. } if *id == blob),
        "{err:?}"
    );
    assert!(err.hint().is_some());
}

#[test]
fn reachable_pointer_blobs_covers_refs_reflogs_stash_and_worktrees() {
    let sb = Sandbox::new();
    let r = Repo::init(&sb, "repo");
    r.write(".cairn/config.toml", "CONFIG");
    r.write("data.cairn", "A");
    r.write("nested/dir/n.cairn", "A");
    r.commit("c1");

    // A blob only on a deleted branch whose reflogs were expired: unreachable.
    r.git(&["checkout", "-q", "-b", "gone"]);
    r.write("gone.cairn", "G");
    r.commit("gone");
    r.git(&["checkout", "-q", "main"]);
    r.git(&["reflog", "expire", "--expire=now", "--all"]);
    r.git(&["branch", "-q", "-D", "gone"]);

    // A blob only reachable from HEAD's reflog (its branch was deleted).
    r.git(&["checkout", "-q", "-b", "tmp"]);
    r.write("data.cairn", "B");
    r.commit("tmp");
    r.git(&["checkout", "-q", "main"]);
    r.git(&["branch", "-q", "-D", "tmp"]);

    // Blobs only reachable from a remote-tracking ref and an annotated tag, built with plumbing.
    for (name, content, refname) in [
        ("r.cairn", "R", "refs/remotes/origin/r"),
        ("t.cairn", "T", ""),
    ] {
        let blob = sb.git_in(
            "repo",
            &["hash-object", "-w", "--stdin"],
            Some(content.as_bytes()),
        );
        let tree = sb.git_in(
            "repo",
            &["mktree"],
            Some(format!("100644 blob {blob}\t{name}\n").as_bytes()),
        );
        let commit = r.git(&["commit-tree", &tree, "-m", name]);
        if refname.is_empty() {
            r.git(&["tag", "-a", "t1", "-m", "tag", &commit]);
        } else {
            r.git(&["update-ref", refname, &commit]);
        }
    }

    // Stash: index state D, work tree C; pushed down by a second stash (E + untracked U).
    r.write("data.cairn", "D");
    r.git(&["add", "data.cairn"]);
    r.write("data.cairn", "C");
    r.git(&["stash", "-q"]);
    r.write("data.cairn", "E");
    r.write("u.cairn", "U");
    r.git(&["stash", "-q", "-u"]);
    assert_eq!(r.git(&["stash", "list"]).lines().count(), 2);

    // A linked work tree with a detached commit only its HEAD knows.
    r.git(&["worktree", "add", "-q", "--detach", "../wt"]);
    sb.write("wt/data.cairn", "W");
    sb.git_in("wt", &["commit", "-q", "-am", "wt"], None);

    // G is still in the object database, just unreachable.
    let g = sb.git_in("repo", &["hash-object", "--stdin"], Some(b"G"));
    r.git(&["cat-file", "-e", &g]);

    let repo = r.open();
    let start = Instant::now();
    let mut got: Vec<String> = repo
        .reachable_pointer_blobs()
        .unwrap()
        .into_iter()
        .map(|b| String::from_utf8(b).unwrap())
        .collect();
    eprintln!(
        "reachable_pointer_blobs (small repo): {:?}",
        start.elapsed()
    );
    got.sort();
    assert_eq!(got, ["A", "B", "C", "D", "E", "R", "T", "U", "W"]);
}

/// 1,000 commits via fast-import; a pointer changes in every 10th commit, other files in each.
#[test]
fn log_and_reachability_over_1000_commits() {
    let sb = Sandbox::new();
    let r = Repo::init(&sb, "big");
    // CAIRN_TEST_COMMITS=10000 for a bigger run (multiple of 10).
    let n: i64 = std::env::var("CAIRN_TEST_COMMITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut stream = String::new();
    let mut mark_of_parent = None;
    for i in 0..n {
        let t = 1_700_000_000 + i * 60;
        let msg = format!("commit {i}");
        stream.push_str(&format!(
            "commit refs/heads/main\nmark :{}\ncommitter Perf <p@example.com> {t} +0000\ndata {}\n{msg}\n",
            i + 1,
            msg.len()
        ));
        if let Some(p) = mark_of_parent {
            stream.push_str(&format!("from :{p}\n"));
        } else {
            for f in 0..200 {
                let c = format!("file {f}\n");
                stream.push_str(&format!(
                    "M 100644 inline src/d{}/f{f}.txt\ndata {}\n{c}\n",
                    f % 10,
                    c.len()
                ));
            }
        }
        let c = format!("noise {i}\n");
        stream.push_str(&format!(
            "M 100644 inline src/d{}/f{}.txt\ndata {}\n{c}\n",
            i % 10,
            i % 200,
            c.len()
        ));
        if i % 10 == 0 {
            let c = format!("pointer v{i}\n");
            stream.push_str(&format!(
                "M 100644 inline models/big/data.cairn\ndata {}\n{c}\n",
                c.len()
            ));
        }
        mark_of_parent = Some(i + 1);
    }
    sb.git_in("big", &["fast-import", "--quiet"], Some(stream.as_bytes()));
    r.git(&["reset", "-q", "--hard", "main"]);

    let repo = r.open();
    let start = Instant::now();
    let log = repo.log_path("models/big/data.cairn", None).unwrap();
    let t_log = start.elapsed();
    assert_eq!(log.len() as i64, n / 10);
    assert_eq!(log[0].0.summary, format!("commit {}", n - 10));
    assert_eq!(
        log[0].1.as_deref(),
        Some(format!("pointer v{}\n", n - 10).as_bytes())
    );
    assert_eq!(log.last().unwrap().0.summary, "commit 0");
    let start = Instant::now();
    let blobs = repo.reachable_pointer_blobs().unwrap();
    let t_reach = start.elapsed();
    assert_eq!(blobs.len() as i64, n / 10);
    let start = Instant::now();
    let log = repo.log_path("src/d0/f0.txt", Some(5)).unwrap();
    let t_short = start.elapsed();
    assert_eq!(log.len(), 5);
    eprintln!(
        "PERF {n} commits: log_path {t_log:?}; reachable_pointer_blobs {t_reach:?}; log_path max=5 {t_short:?}"
    );
}

#[test]
fn paths_are_sorted_and_relative() {
    let sb = Sandbox::new();
    let r = Repo::init(&sb, "repo");
    for p in [
        "b.cairn",
        "a/z.cairn",
        "a.cairn",
        "a-b.cairn",
        "a/b/c.cairn",
    ] {
        r.write(p, p);
    }
    r.commit("x");
    let got = r.open().pointers_at("HEAD").unwrap();
    assert_eq!(
        paths(&got),
        [
            "a-b.cairn",
            "a.cairn",
            "a/b/c.cairn",
            "a/z.cairn",
            "b.cairn"
        ]
    );
    for (p, c) in &got {
        assert_eq!(p.as_bytes(), &c[..]);
    }
}

/// Without gix's `parallel` feature gix uses `Rc`, so `GitRepo` is `!Send`; the errors are
/// `Send + Sync` so they can travel through `anyhow`.
#[test]
fn errors_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<GitError>();
}
