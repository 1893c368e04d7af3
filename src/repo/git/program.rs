//! The parts of git access that run the `git` program instead of reading
//! through gix: fetching another repository (every transport and credential
//! helper the user's git is set up for), asking and changing git's index
//! (`ls-files`, `rm --cached`: sparse and split indexes read exactly as git
//! reads them) and the user's global git config (`init.templateDir` for
//! `install-hooks --global`). Each returns git's first error line on
//! failure, and never prompts (`GIT_TERMINAL_PROMPT=0`).

use std::path::Path;

use gix::bstr::ByteSlice;

use super::{GitError, GitRepo, Result};

impl GitRepo {
    /// Fetch one revision of another repository, history depth 1, into a
    /// new repository at `into`, and open it; the revision is `FETCH_HEAD`.
    /// This runs the `git` program: it speaks every transport the user's
    /// git is set up for (ssh keys, credential helpers), which is what
    /// `cairn get` must honour. Blobs over 1 MiB are left out where the
    /// server supports it: pointers and config are small.
    pub fn fetch_one(url: &str, rev: &str, into: &Path) -> Result<GitRepo> {
        let run = |args: &[&str]| -> Result<()> {
            let out = std::process::Command::new("git")
                .args(args)
                .env("GIT_TERMINAL_PROMPT", "0")
                .output()
                .map_err(GitError::Io)?;
            if out.status.success() {
                Ok(())
            } else {
                let last = first_error_line(&out.stderr);
                Err(GitError::FetchFailed {
                    url: crate::redact::redact(url),
                    rev: rev.to_string(),
                    stderr: last,
                })
            }
        };
        let dir = into.to_string_lossy();
        run(&["init", "-q", &dir])?;
        run(&[
            "-C",
            &dir,
            "fetch",
            "-q",
            "--no-tags",
            "--depth=1",
            "--filter=blob:limit=1m",
            url,
            rev,
        ])?;
        GitRepo::open(into)
    }

    /// Which of the repository-relative `paths` (files, or directories meaning everything
    /// below them) git's index holds, as the index's paths. Runs `git ls-files`, so sparse
    /// indexes, split indexes and every index version are read the way git reads them.
    pub fn indexed(&self, paths: &[String]) -> Result<Vec<String>> {
        let Some(dir) = self.repo.workdir() else {
            return Ok(Vec::new());
        };
        let mut args = vec!["ls-files", "-z", "--cached", "--full-name", "--"];
        args.extend(paths.iter().map(|p| p.as_str()));
        let out = run_git(Some(dir), &args)?;
        Ok(out
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| p.to_str_lossy().into_owned())
            .collect())
    }

    /// Remove `paths` from git's index only (`git rm --cached -r`): the files stay in the work
    /// tree untouched, and the next commit records their removal from git.
    pub fn untrack(&self, paths: &[String]) -> Result<()> {
        let Some(dir) = self.repo.workdir() else {
            return Ok(());
        };
        let mut args = vec!["rm", "--cached", "-r", "-q", "--"];
        args.extend(paths.iter().map(|p| p.as_str()));
        run_git(Some(dir), &args).map(|_| ())
    }
}

impl GitRepo {
    /// Stage `paths` as they are in the work tree, removals included
    /// (`git add -A --`), for `cairn import`, which leaves its whole change
    /// staged for one commit. Paths git ignores are skipped, not refused.
    pub fn stage(&self, paths: &[String]) -> Result<()> {
        let Some(dir) = self.repo.workdir() else {
            return Ok(());
        };
        if paths.is_empty() {
            return Ok(());
        }
        let mut args = vec!["add", "-A", "--ignore-errors", "--"];
        args.extend(paths.iter().map(|p| p.as_str()));
        run_git(Some(dir), &args).map(|_| ())
    }

    /// Download Git LFS objects into `.git/lfs/objects` with the installed
    /// `git lfs` (`git lfs fetch`, or `--all` for every ref), for `cairn
    /// import lfs` when an object is not there yet.
    pub fn lfs_fetch(&self, all: bool) -> Result<()> {
        let Some(dir) = self.repo.workdir() else {
            return Ok(());
        };
        let args: &[&str] = if all {
            &["lfs", "fetch", "--all"]
        } else {
            &["lfs", "fetch"]
        };
        run_git(Some(dir), args).map(|_| ())
    }
}

/// Run `git ARGS` (in `dir` when given) and return its stdout; a failure carries git's first
/// error line.
fn run_git(dir: Option<&Path>, args: &[&str]) -> Result<Vec<u8>> {
    let mut cmd = std::process::Command::new("git");
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let out = cmd
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(GitError::Io)?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    Err(GitError::CommandFailed {
        what: args.iter().take(3).copied().collect::<Vec<_>>().join(" "),
        stderr: first_error_line(&out.stderr),
    })
}

fn first_error_line(stderr: &[u8]) -> String {
    let stderr = String::from_utf8_lossy(stderr);
    stderr
        .lines()
        .find(|l| l.starts_with("fatal:") || l.starts_with("error:"))
        .or_else(|| stderr.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or("git failed")
        .trim()
        .to_string()
}

/// A value of the user's global git config (`git config --global --get KEY`); `None` when unset.
pub fn global_config(key: &str) -> Result<Option<String>> {
    let out = std::process::Command::new("git")
        .args(["config", "--global", "--get", key])
        .output()
        .map_err(GitError::Io)?;
    match out.status.code() {
        Some(0) => Ok(Some(
            String::from_utf8_lossy(&out.stdout).trim_end().to_string(),
        )),
        // git config exits 1 for a key that is not set.
        Some(1) => Ok(None),
        _ => Err(GitError::CommandFailed {
            what: format!("config --global --get {key}"),
            stderr: first_error_line(&out.stderr),
        }),
    }
}

/// Set (or, with `None`, unset) a key in the user's global git config.
pub fn set_global_config(key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => run_git(None, &["config", "--global", key, v]).map(|_| ()),
        None => run_git(None, &["config", "--global", "--unset", key]).map(|_| ()),
    }
}
