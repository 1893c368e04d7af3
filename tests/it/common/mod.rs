//! Shared helpers for the CLI integration tests.
//!
//! Every test gets its own [`TestRepo`]: a temporary directory holding a
//! fresh git repository and an isolated home directory, so neither the
//! user's git config nor their cairn config can leak in. `cairn` and `git`
//! always run with that environment.

#![allow(dead_code)]

/// The default cache, relative to a repository's root.
pub const CACHE: &str = ".git/cairn/cache";

pub mod azure;
pub mod builder;
pub mod crash;
pub mod data;
pub mod gcs;
pub mod s3;
pub mod shell;
pub mod snap;
pub mod story;

pub use data::{b3, csv_text, random_bytes, Rng};

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tempfile::TempDir;

/// The `cairn` binary cargo built for these tests.
pub fn cairn_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_cairn"))
}

/// A git repository in a temporary directory, with an isolated home.
pub struct TestRepo {
    tmp: TempDir,
    /// The repository root (canonical, so it matches paths cairn prints).
    pub root: PathBuf,
    /// The fake home directory (outside the repository).
    pub home: PathBuf,
    /// Extra environment for every cairn and git command (see
    /// [`TestRepo::set_env`]).
    env: Vec<(String, String)>,
    /// Folder remotes the [`builder`] made, by name (see
    /// [`TestRepo::remote_dir`]).
    remote_dirs: BTreeMap<String, PathBuf>,
}

impl TestRepo {
    /// A temporary directory that is *not* a git repository yet.
    pub fn plain() -> TestRepo {
        let tmp = tempfile::Builder::new()
            .prefix("cairn-test-")
            .tempdir()
            .expect("create temp dir");
        let base = fs::canonicalize(tmp.path()).expect("canonicalize temp dir");
        let home = base.join("home");
        let root = base.join("repo");
        fs::create_dir_all(home.join(".config")).unwrap();
        fs::create_dir_all(&root).unwrap();
        fs::write(
            home.join(".gitconfig"),
            "[user]\n\tname = Cairn Test\n\temail = test@example.com\n\
             [init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n",
        )
        .unwrap();
        TestRepo {
            tmp,
            root,
            home,
            env: Vec::new(),
            remote_dirs: BTreeMap::new(),
        }
    }

    /// A fresh git repository (no cairn yet).
    pub fn new() -> TestRepo {
        let repo = TestRepo::plain();
        repo.git(&["init", "-q"]);
        repo
    }

    /// A fresh git repository with `cairn init` already run.
    pub fn init() -> TestRepo {
        let repo = TestRepo::new();
        repo.cairn(&["init"]).assert().success();
        repo
    }

    /// A `git clone` of `src` in a temporary directory of its own, with its
    /// own home and no environment from `src` (no cairn cache either: only
    /// what git tracks).
    pub fn clone_of(src: &TestRepo) -> TestRepo {
        let repo = TestRepo::plain();
        repo.git(&["clone", "-q", src.root.to_str().unwrap(), "."]);
        repo
    }

    /// [`TestRepo::clone_of`] this repository, then `cairn pull` there
    /// (which must succeed): another machine that has the data.
    pub fn pulled_clone(&self) -> TestRepo {
        let clone = TestRepo::clone_of(self);
        clone.cairn_ok(&["pull"]);
        clone
    }

    /// A `git clone` of this repository at `base()/name`, beside its work
    /// tree, with the same home and environment but a cache of its own
    /// ([`data::clone_beside`]): relative folder remotes (`../store`) name
    /// the same folder from both.
    pub fn clone_beside(&self, name: &str) -> TestRepo {
        data::clone_beside(self, &self.root, name)
    }

    /// The folder of the folder remote `name` that [`TestRepo::builder`]
    /// added.
    pub fn remote_dir(&self, name: &str) -> PathBuf {
        self.remote_dirs
            .get(name)
            .unwrap_or_else(|| panic!("no folder remote {name:?} made by the builder"))
            .clone()
    }

    /// Set an environment variable for every later cairn and git command
    /// of this repository (after the parent's `AWS_*` and `GOOGLE_*` variables have been
    /// removed, so tests never depend on the developer's environment).
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// [`TestRepo::set_env`] for each pair.
    pub fn set_envs<K: AsRef<str>, V: AsRef<str>>(&mut self, vars: &[(K, V)]) {
        for (k, v) in vars {
            self.set_env(k.as_ref(), v.as_ref());
        }
    }

    /// The directory holding both the repository and the home directory.
    pub fn base(&self) -> PathBuf {
        self.root.parent().unwrap().to_path_buf()
    }

    /// A bare git repository beside this one (`hub.git`), added as its git
    /// remote `hub`: where pushes go that other clones start from.
    pub fn add_bare_hub(&self) -> PathBuf {
        let hub = self.base().join("hub.git");
        self.git(&["init", "-q", "--bare", hub.to_str().unwrap()]);
        self.git(&["remote", "add", "hub", hub.to_str().unwrap()]);
        hub
    }

    fn apply_env(&self, cmd: &mut std::process::Command) {
        cmd.current_dir(&self.root)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("GIT_CONFIG_GLOBAL", self.home.join(".gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .env("LC_ALL", "C")
            .env_remove("CAIRN_CACHE_DIR")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_CEILING_DIRECTORIES")
            .env_remove("CAIRN_REMOTE");
        // Remote credentials and endpoints come only from the test.
        for (k, _) in std::env::vars_os() {
            if k.to_str()
                .is_some_and(|k| k.starts_with("AWS_") || k.starts_with("GOOGLE_"))
            {
                cmd.env_remove(k);
            }
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }

    /// A std `Command` for cairn with the isolated environment (for
    /// spawning and killing).
    pub fn cairn_std(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(cairn_bin());
        self.apply_env(&mut cmd);
        cmd.args(args);
        cmd
    }

    /// `cairn ARGS` in the repository root.
    pub fn cairn(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("cairn").expect("cairn binary");
        let mut std_cmd = std::process::Command::new(cairn_bin());
        self.apply_env(&mut std_cmd);
        for (k, v) in std_cmd.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.current_dir(&self.root).args(args);
        cmd
    }

    /// `cairn ARGS` that must succeed; returns stdout.
    pub fn cairn_ok(&self, args: &[&str]) -> String {
        let out = self.cairn(args).output().expect("run cairn");
        assert!(
            out.status.success(),
            "cairn {args:?} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("stdout is UTF-8")
    }

    /// `cairn ARGS` (which should include `--json`) that must succeed;
    /// returns the parsed JSON document.
    pub fn cairn_json(&self, args: &[&str]) -> Value {
        let out = self.cairn_ok(args);
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("bad JSON {out:?}: {e}"))
    }

    /// `cairn ARGS` that must fail with exit code 1; returns (stdout, stderr).
    pub fn cairn_fail(&self, args: &[&str]) -> (String, String) {
        let out = self.cairn(args).output().expect("run cairn");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(1),
            "cairn {args:?} should exit 1\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        (stdout, stderr)
    }

    /// A `git ARGS` command in the repository with the isolated
    /// environment, for tests that look at a failing git (a hook's exit).
    pub fn git_cmd(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new("git");
        self.apply_env(&mut cmd);
        cmd.args(args);
        cmd
    }

    /// The extra environment set with [`TestRepo::set_env`], to give a
    /// clone the same remote credentials.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        self.env.clone()
    }

    /// `git ARGS` in the repository; must succeed; returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let mut cmd = std::process::Command::new("git");
        self.apply_env(&mut cmd);
        let out = cmd.args(args).output().expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("git output is UTF-8")
    }

    /// `git add -A && git commit`.
    pub fn commit_all(&self, msg: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", msg]);
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Write a file (creating parent directories) with mode 0644.
    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, bytes).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        fs::read(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn read_string(&self, rel: &str) -> String {
        String::from_utf8(self.read(rel)).unwrap()
    }

    pub fn exists(&self, rel: &str) -> bool {
        fs::symlink_metadata(self.path(rel)).is_ok()
    }

    pub fn remove(&self, rel: &str) {
        let p = self.path(rel);
        let m = fs::symlink_metadata(&p).unwrap_or_else(|e| panic!("remove {rel}: {e}"));
        if m.is_dir() {
            fs::remove_dir_all(&p).unwrap();
        } else {
            fs::remove_file(&p).unwrap();
        }
    }

    /// Permission bits (`mode & 0o777`).
    pub fn mode(&self, rel: &str) -> u32 {
        fs::metadata(self.path(rel)).unwrap().permissions().mode() & 0o777
    }

    pub fn chmod(&self, rel: &str, mode: u32) {
        fs::set_permissions(self.path(rel), fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Set the mtime of a file, or of every file below a directory, to
    /// 2020-01-01, so the stat index does not treat them as racy.
    pub fn backdate(&self, rel: &str) {
        backdate(&self.path(rel));
    }

    /// The pointer file of `rel`, parsed into `key -> value`.
    pub fn pointer(&self, rel: &str) -> BTreeMap<String, String> {
        let text = self.read_string(&format!("{rel}.cairn"));
        text.lines()
            .map(|l| {
                let (k, v) = l.split_once(' ').expect("pointer line is `key value`");
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    /// Every pack file in the cache.
    pub fn packs(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let top = self.path(".git/cairn/cache/packs");
        let Ok(subs) = fs::read_dir(&top) else {
            return out;
        };
        for sub in subs {
            let sub = sub.unwrap().path();
            if !sub.is_dir() {
                continue;
            }
            for f in fs::read_dir(&sub).unwrap() {
                let p = f.unwrap().path();
                if p.extension().is_some_and(|x| x == "pack") {
                    out.push(p);
                }
            }
        }
        out.sort();
        out
    }

    /// Contents of every file and symlink under the root and of the cache
    /// (`.git/cairn`), except git's own state and cairn's lock file and stat index (which are bookkeeping
    /// that a failed command may legitimately touch).
    pub fn snapshot(&self) -> BTreeMap<String, Snap> {
        let mut out = BTreeMap::new();
        snapshot_into(&self.root, &self.root, &mut out);
        // Lock files are created empty by any writer and hold no state.
        out.retain(|k, _| {
            k != ".cairn/lock" && k != ".git/cairn/cache/lock" && k != ".cairn/index"
        });
        out
    }

    /// Files whose name starts with `.cairn-tmp` anywhere under the
    /// repository's root, `.git` and `.cairn` included.
    pub fn temp_files_anywhere(&self) -> Vec<PathBuf> {
        walkdir::WalkDir::new(&self.root)
            .into_iter()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".cairn-tmp"))
            .map(|e| e.path().to_path_buf())
            .collect()
    }

    /// Files whose name starts with `.cairn-tmp-` anywhere in the work
    /// tree (outside `.git` and `.cairn`).
    pub fn stray_temp_files(&self) -> Vec<String> {
        self.snapshot()
            .keys()
            .filter(|k| !k.starts_with(".cairn/") && !k.starts_with(".git/"))
            .filter(|k| {
                k.rsplit('/')
                    .next()
                    .is_some_and(|n| n.starts_with(".cairn-tmp-"))
            })
            .cloned()
            .collect()
    }
}

/// One entry of [`TestRepo::snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Snap {
    File { mode: u32, hash: String, len: u64 },
    Symlink(PathBuf),
}

fn snapshot_into(root: &Path, dir: &Path, out: &mut BTreeMap<String, Snap>) {
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        // Git's own state is left out; the cache in it (`.git/cairn`) is not.
        if rel == ".git" {
            if p.join("cairn").is_dir() {
                snapshot_into(root, &p.join("cairn"), out);
            }
            continue;
        }
        let m = fs::symlink_metadata(&p).unwrap();
        if m.file_type().is_symlink() {
            out.insert(rel, Snap::Symlink(fs::read_link(&p).unwrap()));
        } else if m.is_dir() {
            snapshot_into(root, &p, out);
        } else {
            let bytes = fs::read(&p).unwrap();
            out.insert(
                rel,
                Snap::File {
                    mode: m.permissions().mode() & 0o777,
                    hash: blake3::hash(&bytes).to_hex().to_string(),
                    len: bytes.len() as u64,
                },
            );
        }
    }
}

/// Set mtimes to 2020-01-01 (recursively for directories).
pub fn backdate(p: &Path) {
    let m = fs::symlink_metadata(p).unwrap();
    if m.is_dir() {
        for e in fs::read_dir(p).unwrap() {
            backdate(&e.unwrap().path());
        }
    } else if m.is_file() {
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_836_800);
        let f = fs::File::options().write(true).open(p).unwrap();
        f.set_modified(when).unwrap();
    }
}

/// Assert the uv-style error report: first line `error: …`, optional
/// `  Caused by: …` lines, then a `hint: …` line; and that the report
/// mentions every string in `mentions` (case-insensitive).
pub fn assert_error_report(stderr: &str, mentions: &[&str]) {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("warning:"))
        .collect();
    assert!(
        lines.first().is_some_and(|l| l.starts_with("error: ")),
        "stderr should start with `error: `:\n{stderr}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("hint: ")),
        "stderr should have a `hint: ` line:\n{stderr}"
    );
    let lower = stderr.to_lowercase();
    for m in mentions {
        assert!(
            lower.contains(&m.to_lowercase()),
            "stderr should mention {m:?}:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains('\x1b'),
        "NO_COLOR is set: no escape codes expected:\n{stderr}"
    );
}

/// The paths `cairn status` prints as "not pushed: PATH", in order.
pub fn not_pushed_lines(status: &str) -> Vec<String> {
    status
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("not pushed: "))
        .map(String::from)
        .collect()
}

/// The `paths` rows of `status --json`, keyed by path.
pub fn status_rows(v: &Value) -> BTreeMap<String, Value> {
    v["paths"]
        .as_array()
        .expect("paths array")
        .iter()
        .map(|r| (r["path"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

/// `(path, change)` pairs of one status row.
pub fn changes(row: &Value) -> Vec<(String, String)> {
    row.get("changes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["path"].as_str().unwrap().to_string(),
                        c["change"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
