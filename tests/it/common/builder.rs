//! [`RepoBuilder`]: the usual test setup — a repository with cairn, a
//! remote, data written, added, committed, tagged and pushed — as one
//! chain of calls instead of a page of `cairn_ok`s.
//!
//! Every step runs at once, in the order written, through the same
//! [`TestRepo`] commands a test would call itself, so a built repository
//! is exactly what the spelled-out setup made: the builder saves lines, it
//! never changes what happens. Anything it has no step for can still be
//! run with [`RepoBuilder::cairn`] and [`RepoBuilder::git`], or on the
//! built repository.

use std::collections::BTreeSet;

use super::data::Tree;
use super::TestRepo;

/// A [`TestRepo`] under construction; see [`TestRepo::builder`].
#[must_use = "a builder does nothing until `.build()` hands the repository over"]
pub struct RepoBuilder {
    repo: TestRepo,
    /// Top-level paths written with [`RepoBuilder::file`] or
    /// [`RepoBuilder::tree`] since they were last `cairn add`ed: what
    /// [`RepoBuilder::commit`] adds.
    pending: BTreeSet<String>,
    /// Whether [`RepoBuilder::file`] backdates what it writes.
    backdate: bool,
}

/// The first component of a repository-relative path (`data/a/b` ->
/// `data`): what `cairn add` is given for a file written below it.
fn top_level(rel: &str) -> String {
    rel.split('/').next().unwrap_or(rel).to_string()
}

impl TestRepo {
    /// A fresh git repository with `cairn init` run, to be set up step by
    /// step (see [`RepoBuilder`]):
    ///
    /// ```ignore
    /// let a = TestRepo::builder()
    ///     .folder_remote("origin", "remote-store")
    ///     .tree(&dataset(1))
    ///     .commit("v1")
    ///     .tag("v1")
    ///     .push()
    ///     .build();
    /// let b = a.clone_beside("b");
    /// ```
    pub fn builder() -> RepoBuilder {
        RepoBuilder {
            repo: TestRepo::init(),
            pending: BTreeSet::new(),
            backdate: false,
        }
    }
}

impl RepoBuilder {
    /// [`TestRepo::set_env`], for this and every later command.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.repo.set_env(key, value);
        self
    }

    /// [`TestRepo::set_envs`], for this and every later command.
    pub fn envs<K: AsRef<str>, V: AsRef<str>>(mut self, vars: &[(K, V)]) -> Self {
        self.repo.set_envs(vars);
        self
    }

    /// `cairn remote add NAME URL` (into the committed config, which the
    /// next [`RepoBuilder::commit`] commits).
    pub fn remote(self, name: &str, url: &str) -> Self {
        self.repo.cairn_ok(&["remote", "add", name, url]);
        self
    }

    /// A folder remote `NAME` at `dir` beside the work tree (in the test's
    /// temporary directory), named by its absolute path. The folder is
    /// [`TestRepo::remote_dir`] of the built repository.
    pub fn folder_remote(mut self, name: &str, dir: &str) -> Self {
        let path = self.repo.base().join(dir);
        self.repo.cairn_ok(&[
            "remote",
            "add",
            name,
            path.to_str().expect("UTF-8 temp dir"),
        ]);
        self.repo.remote_dirs.insert(name.to_string(), path);
        self
    }

    /// A folder remote `NAME` at `dir` beside the work tree, named by the
    /// relative URL `../DIR`: the committed config then names the same
    /// folder from every clone made with [`TestRepo::clone_beside`].
    pub fn relative_folder_remote(mut self, name: &str, dir: &str) -> Self {
        self.repo
            .cairn_ok(&["remote", "add", name, &format!("../{dir}")]);
        let path = self.repo.base().join(dir);
        self.repo.remote_dirs.insert(name.to_string(), path);
        self
    }

    /// From here on, give every file [`RepoBuilder::file`] writes the mtime
    /// 2020-01-01 ([`TestRepo::backdate`]), so the stat index trusts it at
    /// once instead of re-reading it for a while as possibly racy: counts
    /// of files read then do not depend on how fast the test runs.
    pub fn backdate_files(mut self) -> Self {
        self.backdate = true;
        self
    }

    /// Write data that the next [`RepoBuilder::commit`] tracks with cairn
    /// (it adds the path's top-level directory or file).
    pub fn file(mut self, rel: &str, bytes: impl AsRef<[u8]>) -> Self {
        self.repo.write(rel, bytes);
        if self.backdate {
            self.repo.backdate(rel);
        }
        self.pending.insert(top_level(rel));
        self
    }

    /// [`RepoBuilder::file`] for every entry of a tree.
    pub fn tree(mut self, files: &Tree) -> Self {
        for (rel, bytes) in files {
            self = self.file(rel, bytes);
        }
        self
    }

    /// Write a file that git, not cairn, tracks (a plain source file).
    pub fn git_file(self, rel: &str, bytes: impl AsRef<[u8]>) -> Self {
        self.repo.write(rel, bytes);
        self
    }

    /// Remove a file or directory (typically data before the next version
    /// is written into its place).
    pub fn remove(self, rel: &str) -> Self {
        self.repo.remove(rel);
        self
    }

    /// `cairn add PATHS` now, for paths [`RepoBuilder::commit`] would not
    /// add as it does (a file below a directory that is not tracked whole).
    pub fn add(mut self, paths: &[&str]) -> Self {
        self.repo.cairn_ok(&[&["add"][..], paths].concat());
        for p in paths {
            self.pending.remove(&top_level(p));
        }
        self
    }

    /// `cairn add` the top-level paths written since they were last added
    /// (in sorted order; nothing when none were), then `git add -A && git
    /// commit -m MSG` ([`TestRepo::commit_all`]).
    pub fn commit(mut self, msg: &str) -> Self {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            let paths: Vec<&str> = pending.iter().map(String::as_str).collect();
            self.repo.cairn_ok(&[&["add"][..], &paths].concat());
        }
        self.repo.commit_all(msg);
        self
    }

    /// `git tag NAME` (lightweight) at HEAD.
    pub fn tag(self, name: &str) -> Self {
        self.repo.git(&["tag", name]);
        self
    }

    /// `cairn push` (the work tree's data, HEAD's and every tag's).
    pub fn push(self) -> Self {
        self.repo.cairn_ok(&["push"]);
        self
    }

    /// `cairn push REV`.
    pub fn push_rev(self, rev: &str) -> Self {
        self.repo.cairn_ok(&["push", rev]);
        self
    }

    /// Any `cairn ARGS` that must succeed.
    pub fn cairn(self, args: &[&str]) -> Self {
        self.repo.cairn_ok(args);
        self
    }

    /// Any `git ARGS` that must succeed.
    pub fn git(self, args: &[&str]) -> Self {
        self.repo.git(args);
        self
    }

    /// The repository, as the steps left it (data written but never
    /// committed stays in the work tree, unadded).
    pub fn build(self) -> TestRepo {
        self.repo
    }
}
