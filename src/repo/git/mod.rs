//! Read-only access to the git history of the repository that holds cairn's pointer files.
//!
//! This is the only module of cairn that uses `gix` (gitoxide): everything that needs an older
//! revision of a pointer file (`cairn history`, restoring from a revision, `cairn gc`'s
//! reachability scan) goes through [`GitRepo`], so the rest of cairn never depends on gix types.
//! Guarantee: [`GitRepo`]'s history reads only *read* git objects, refs and reflogs. They never
//! write objects or refs and never read or change git's index, `HEAD` or the work tree, so they
//! are safe to call while the user is in the middle of a merge, rebase or any other git operation.
//! A few named exceptions run the `git` program (`program.rs`), because git's own rules apply:
//! [`GitRepo::indexed`] reads the index (`git ls-files`) so `cairn add` can refuse a file git
//! already tracks, [`GitRepo::untrack`] removes index entries (`git rm --cached`, never touching
//! the work tree) only when the user asked for it with `cairn add --untrack-git`, and
//! [`global_config`]/[`set_global_config`] read and write the user's global git config for
//! `cairn install-hooks --global`.
//!
//! Pointer files are blobs whose file name ends in [`POINTER_SUFFIX`] (and is longer than it);
//! anything below a directory named `.cairn` (cairn's own config) is never a pointer.
//! Paths are repo-relative and `/`-separated; file names that are not UTF-8 are converted lossily.
//!
//! Revision names are resolved in `resolve.rs`, the walk over everything git keeps is in
//! `reachable.rs`, and [`GitError`] with its hints is in `error.rs`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gix::bstr::{BStr, ByteSlice};
use gix::objs::tree::EntryKind;
use gix::objs::{CommitRefIter, Find, Kind, TreeRefIter};
use gix::ObjectId;

pub mod error;
mod foreign;
mod program;
mod reachable;
mod resolve;
pub use error::GitError;
pub use foreign::{ForeignBlob, Want};
pub use program::{global_config, set_global_config};
use resolve::kind_name;

use crate::format::pointer::SUFFIX as POINTER_SUFFIX;
/// Cairn's own directory, whose contents are never pointer files.
const CAIRN_DIR: &[u8] = crate::format::object::CAIRN_DIR.as_bytes();

/// One commit, as shown to users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// Full 40-hex commit id.
    pub id: String,
    /// Shortest unambiguous abbreviation (at least `core.abbrev`, default 7).
    pub short: String,
    /// Author time, seconds since the Unix epoch.
    pub time: i64,
    /// The author's UTC offset at that time, in seconds east of UTC.
    pub offset: i32,
    /// Author name.
    pub author: String,
    /// First line of the commit message.
    pub summary: String,
}

/// A git repository opened for reading. Neither `Send` nor `Sync` (gix uses `Rc` without its
/// `parallel` feature): open one per thread; opening is cheap.
pub struct GitRepo {
    repo: gix::Repository,
}

type Result<T, E = GitError> = std::result::Result<T, E>;

fn is_pointer_name(name: &BStr) -> bool {
    name.len() > POINTER_SUFFIX.len() && name.ends_with(POINTER_SUFFIX.as_bytes())
}

/// What a lookup of a path in a tree found.
type Entry = Option<(ObjectId, EntryKind)>;

impl GitRepo {
    /// Open the repository containing `work_tree`, searching upward like git does (and, like
    /// git, honouring `GIT_DIR`, `GIT_CEILING_DIRECTORIES` and the other `GIT_*` variables).
    pub fn open(work_tree: &Path) -> Result<GitRepo> {
        let repo = gix::discover_with_environment_overrides(work_tree).map_err(|e| {
            GitError::NotARepo {
                path: work_tree.to_path_buf(),
                source: Box::new(e),
            }
        })?;
        Ok(GitRepo { repo })
    }

    /// The main worktree's root when this is a linked worktree (`git
    /// worktree add`) of a repository that has one; `None` otherwise.
    pub fn main_worktree(&self) -> Option<std::path::PathBuf> {
        if self.repo.kind() != gix::repository::Kind::LinkedWorkTree {
            return None;
        }
        let main = self.repo.main_repo().ok()?;
        main.workdir().map(Path::to_path_buf)
    }

    /// The work trees of this repository other than this one: the main
    /// worktree and every linked one (`git worktree add`) that still
    /// exists. They share one cache, so `gc` keeps what their pointers
    /// name too.
    pub fn other_worktrees(&self) -> Result<Vec<std::path::PathBuf>> {
        let here = self.repo.workdir().map(canonical);
        let mut out = Vec::new();
        if let Some(main) = self.main_worktree() {
            out.push(main);
        }
        for worktree in self.repo.worktrees()? {
            out.push(
                worktree
                    .base()
                    .map_err(|e| GitError::Io(std::io::Error::other(e)))?,
            );
        }
        let mut out: Vec<_> = out
            .into_iter()
            .filter(|p| p.is_dir())
            .map(|p| canonical(&p))
            .filter(|p| Some(p) != here.as_ref())
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The committed file at `path` on the tip of the default branch: the remote-tracking
    /// `HEAD` (`refs/remotes/origin/HEAD`, set by `git clone`), else a local or remote-tracking
    /// `main` or `master`. Returns the ref it came from and the contents; `None` when no such
    /// branch exists or it has no such file.
    pub fn file_at_default_branch(&self, path: &str) -> Result<Option<(String, Vec<u8>)>> {
        const CANDIDATES: [&str; 5] = [
            "refs/remotes/origin/HEAD",
            "refs/heads/main",
            "refs/heads/master",
            "refs/remotes/origin/main",
            "refs/remotes/origin/master",
        ];
        for rev in CANDIDATES {
            if self.repo.try_find_reference(rev)?.is_none() {
                continue;
            }
            let short = rev
                .trim_start_matches("refs/heads/")
                .trim_start_matches("refs/remotes/");
            return Ok(self.file_at(rev, path)?.map(|b| (short.to_string(), b)));
        }
        Ok(None)
    }

    /// The top-level directory of the work tree (`None` for a bare repository).
    pub fn work_dir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// Where git runs hooks from: `core.hooksPath` (relative values are
    /// relative to the work tree, as git does), else `hooks` in the common
    /// git directory, shared by all worktrees.
    pub fn hooks_dir(&self) -> PathBuf {
        if let Some(p) = self.repo.config_snapshot().string("core.hooksPath") {
            let p = PathBuf::from(p.to_str_lossy().into_owned());
            if p.is_absolute() {
                return p;
            }
            if let Some(w) = self.repo.workdir() {
                return w.join(p);
            }
        }
        self.repo.common_dir().join("hooks")
    }

    /// Resolve `rev` (anything `git rev-parse` accepts that names one commit: ids, short ids,
    /// branches, tags, `HEAD~3`, `main@{1}`, `@{-1}` …) to a commit, peeling annotated tags.
    pub fn resolve(&self, rev: &str) -> Result<CommitInfo> {
        let id = self.resolve_id(rev)?;
        self.commit_info(id, rev)
    }

    /// Every pointer file in the tree of `rev`, with its contents, sorted by path.
    /// Submodules are not entered; blobs are returned whatever their size.
    pub fn pointers_at(&self, rev: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let commit = self.resolve_id(rev)?;
        let mut buf = Vec::new();
        let root = self.commit_tree(commit, rev, &mut buf)?;
        let mut out = Vec::new();
        let mut stack = vec![(root, String::new())];
        while let Some((tree, prefix)) = stack.pop() {
            let data = self.find(tree, Kind::Tree, rev, &mut buf)?;
            for entry in TreeRefIter::from_bytes(data, self.repo.object_hash()) {
                let entry = entry?;
                let name = entry.filename;
                match entry.mode.kind() {
                    EntryKind::Tree if name != CAIRN_DIR => {
                        stack.push((entry.oid.to_owned(), format!("{prefix}{name}/")));
                    }
                    EntryKind::Blob | EntryKind::BlobExecutable if is_pointer_name(name) => {
                        out.push((format!("{prefix}{name}"), entry.oid.to_owned()));
                    }
                    _ => {}
                }
            }
        }
        out.sort();
        out.into_iter()
            .map(|(path, id)| Ok((path, self.blob(id, rev)?)))
            .collect()
    }

    /// Contents of the file at repo-relative `path` (`/`-separated) in `rev`;
    /// `None` if there is no such file (or it is a directory, symlink or submodule).
    pub fn file_at(&self, rev: &str, path: &str) -> Result<Option<Vec<u8>>> {
        let commit = self.resolve_id(rev)?;
        let mut buf = Vec::new();
        let tree = self.commit_tree(commit, rev, &mut buf)?;
        let parts = split_path(path);
        match self.lookup(tree, &parts, rev, &mut HashMap::new())? {
            Some((id, EntryKind::Blob | EntryKind::BlobExecutable)) => {
                Ok(Some(self.blob(id, rev)?))
            }
            _ => Ok(None),
        }
    }

    /// The commits on the first-parent chain from `HEAD` (like `git log --first-parent -- path`)
    /// at which the file at `path` was added, modified or removed, newest first, each with the
    /// contents at that commit (`None`: removed). A merge counts as changing `path` when it
    /// differs from its first parent. At most `max` entries. A shallow clone's history ends at
    /// its boundary, where a present file is reported as added.
    pub fn log_path(
        &self,
        path: &str,
        max: Option<usize>,
    ) -> Result<Vec<(CommitInfo, Option<Vec<u8>>)>> {
        let head = self.resolve_id("HEAD")?;
        let parts = split_path(path);
        let shallow = self.shallow_set()?;
        let max = max.unwrap_or(usize::MAX);
        let mut memo = HashMap::new();
        let mut buf = Vec::new();
        let mut out = Vec::new();
        // The newer commit of the pair being compared, with its blob at `path`.
        let mut newer: Option<(ObjectId, Option<ObjectId>)> = None;
        let mut next = Some(head);
        while out.len() < max {
            let Some(id) = next else {
                // Past the root (or the shallow boundary): a file there was added there.
                if let Some((commit, Some(blob))) = newer {
                    out.push((
                        self.commit_info(commit, "HEAD")?,
                        Some(self.blob(blob, "HEAD")?),
                    ));
                }
                break;
            };
            let data = self.find(id, Kind::Commit, "HEAD", &mut buf)?;
            let mut iter = CommitRefIter::from_bytes(data, self.repo.object_hash());
            let tree = iter.tree_id()?;
            next = if shallow.contains(&id) {
                None
            } else {
                iter.parent_ids().next()
            };
            let blob = match self.lookup(tree, &parts, "HEAD", &mut memo)? {
                Some((id, EntryKind::Blob | EntryKind::BlobExecutable)) => Some(id),
                _ => None,
            };
            if let Some((commit, newer_blob)) = newer {
                if newer_blob != blob {
                    let content = newer_blob.map(|b| self.blob(b, "HEAD")).transpose()?;
                    out.push((self.commit_info(commit, "HEAD")?, content));
                }
            }
            newer = Some((id, blob));
        }
        Ok(out)
    }

    /// Full names of the refs under `prefix` (such as `refs/tags/` or `refs/heads/`) whose
    /// target peels to a commit, sorted. Refs that name something else (a tag of a tree) are
    /// skipped: they have no pointers to read.
    pub fn refs_under(&self, prefix: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for reference in self.repo.references()?.prefixed(prefix)? {
            let reference = reference?;
            let name = reference.name().as_bstr().to_str_lossy().into_owned();
            if self.resolve_id(&name).is_ok() {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    /// A name a user can give back to cairn for the commit `HEAD` is on: a tag that points at
    /// it (the first in sorted order), else the branch, else the abbreviated commit id.
    pub fn describe_head(&self) -> Result<String> {
        let head = self.resolve_id("HEAD")?;
        for tag in self.refs_under("refs/tags/")? {
            if self.resolve_id(&tag).ok() == Some(head) {
                return Ok(tag.trim_start_matches("refs/tags/").to_string());
            }
        }
        if let Some(name) = self.repo.head_name()? {
            return Ok(name.shorten().to_str_lossy().into_owned());
        }
        Ok(self.commit_info(head, "HEAD")?.short)
    }

    /// Read object `id`, which must exist and be of `kind`.
    fn find<'b>(
        &self,
        id: ObjectId,
        kind: Kind,
        rev: &str,
        buf: &'b mut Vec<u8>,
    ) -> Result<&'b [u8]> {
        match self.repo.objects.try_find(&id, buf)? {
            None => Err(self.missing(rev, id)),
            Some(obj) if obj.kind != kind => Err(GitError::WrongKind {
                id: id.to_string(),
                expected: kind_name(kind),
                found: kind_name(obj.kind),
            }),
            Some(obj) => Ok(obj.data),
        }
    }

    fn blob(&self, id: ObjectId, rev: &str) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.find(id, Kind::Blob, rev, &mut buf)?;
        Ok(buf)
    }

    fn commit_tree(&self, commit: ObjectId, rev: &str, buf: &mut Vec<u8>) -> Result<ObjectId> {
        let data = self.find(commit, Kind::Commit, rev, buf)?;
        Ok(CommitRefIter::from_bytes(data, self.repo.object_hash()).tree_id()?)
    }

    /// Look up `parts` below `tree`; `memo` caches results by (depth, tree id) across calls
    /// that use the same `parts`.
    fn lookup(
        &self,
        tree: ObjectId,
        parts: &[&[u8]],
        rev: &str,
        memo: &mut HashMap<(usize, ObjectId), Entry>,
    ) -> Result<Entry> {
        let mut visited = Vec::new();
        let mut buf = Vec::new();
        let mut current = tree;
        let mut found: Entry = None;
        for (depth, part) in parts.iter().enumerate() {
            if let Some(hit) = memo.get(&(depth, current)) {
                found = *hit;
                break;
            }
            visited.push((depth, current));
            let data = self.find(current, Kind::Tree, rev, &mut buf)?;
            let mut entry = None;
            for e in TreeRefIter::from_bytes(data, self.repo.object_hash()) {
                let e = e?;
                if e.filename == *part {
                    entry = Some((e.oid.to_owned(), e.mode.kind()));
                    break;
                }
            }
            match entry {
                Some((id, EntryKind::Tree)) if depth + 1 < parts.len() => current = id,
                Some(hit) if depth + 1 == parts.len() => {
                    found = Some(hit);
                    break;
                }
                _ => break,
            }
        }
        for key in visited {
            memo.insert(key, found);
        }
        Ok(found)
    }

    fn commit_info(&self, id: ObjectId, rev: &str) -> Result<CommitInfo> {
        let mut buf = Vec::new();
        let data = self.find(id, Kind::Commit, rev, &mut buf)?;
        let commit = gix::objs::CommitRef::from_bytes(data, self.repo.object_hash())?;
        let author = commit.author()?;
        let short = gix::prelude::ObjectIdExt::attach(id, &self.repo)
            .shorten_or_id()
            .to_string();
        Ok(CommitInfo {
            id: id.to_string(),
            short,
            time: author.seconds(),
            offset: author.time().map(|t| t.offset).unwrap_or(0),
            author: author.name.to_str_lossy().into_owned(),
            summary: commit.message().summary().to_str_lossy().into_owned(),
        })
    }
}

fn split_path(path: &str) -> Vec<&[u8]> {
    path.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(str::as_bytes)
        .collect()
}

fn canonical(p: &Path) -> std::path::PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
