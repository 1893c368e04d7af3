//! Where a work tree's cache lives: the one place that decides it.
//!
//! The default cache is `cairn/cache` in git's common directory
//! (`.git/cairn/cache` in an ordinary clone), not in the work tree.
//! `git clean -fdx` is an everyday way to reset a work tree: it deletes
//! every file git ignores, and a cache kept in `.cairn/cache` went with
//! it, taking every version not yet pushed, while the pointers committed in
//! git went on naming data that now existed nowhere. Git never cleans its
//! own directory, and every linked worktree of a repository (`git worktree
//! add`) shares its common directory, so they share one cache the way they
//! share one object store, and removing a worktree removes none of the data
//! it added. Git LFS keeps its objects there for the same reasons.
//!
//! A cache where cairn kept it before (`.cairn/cache`) is still used while
//! it exists, so upgrading never hides data; the session moves it to the
//! new place (`store::relocate`). A cache placed by `cache.dir` is the
//! user's choice and always wins.

use std::path::{Path, PathBuf};

use crate::format::object::CAIRN_DIR;
use crate::repo::config::Config;
use crate::repo::git::GitRepo;

/// Where a work tree's cache is, and whether the user chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheLocation {
    /// `cache.dir` or `CAIRN_CACHE_DIR`.
    Configured(PathBuf),
    /// The default place, in git's common directory.
    Default(PathBuf),
    /// Where cairn kept the cache before, still in use until it is moved
    /// to `to`.
    Legacy { dir: PathBuf, to: PathBuf },
}

impl CacheLocation {
    /// Resolve the cache of the work tree at `root` under `config`.
    pub fn resolve(root: &Path, config: &Config) -> CacheLocation {
        if let Some(d) = &config.cache_dir {
            return CacheLocation::Configured(if d.is_absolute() {
                d.clone()
            } else {
                root.join(d)
            });
        }
        let legacy = legacy_dir(root);
        let to = default_dir(root);
        if legacy != to && legacy.is_dir() {
            CacheLocation::Legacy { dir: legacy, to }
        } else {
            CacheLocation::Default(to)
        }
    }

    /// The directory in use now.
    pub fn dir(&self) -> &Path {
        match self {
            CacheLocation::Configured(d) | CacheLocation::Default(d) => d,
            CacheLocation::Legacy { dir, .. } => dir,
        }
    }
}

/// Where cairn 0.1 before this change kept the default cache.
pub fn legacy_dir(root: &Path) -> PathBuf {
    root.join(CAIRN_DIR).join("cache")
}

/// The default cache of the work tree at `root`: `cairn/cache` in git's
/// common directory. Only a linked worktree or a submodule has a `.git`
/// file, so only they open git to find it. When git cannot say (a damaged
/// `.git` file), the cache stays in the work tree, where it was before.
pub fn default_dir(root: &Path) -> PathBuf {
    let dot_git = root.join(".git");
    let common = if dot_git.is_dir() {
        Some(dot_git)
    } else {
        GitRepo::open(root).ok().map(|g| {
            let c = g.common_dir();
            let c = if c.is_absolute() {
                c.to_path_buf()
            } else {
                root.join(c)
            };
            std::fs::canonicalize(&c).unwrap_or(c)
        })
    };
    match common {
        Some(c) => c.join("cairn").join("cache"),
        None => legacy_dir(root),
    }
}
