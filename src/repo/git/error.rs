//! The errors of git access, each with the remedy a user needs.
//!
//! Failures are told apart by what the user can do about them (an empty
//! repository, a shallow clone, an unknown revision, a corrupt object);
//! the hint of each lives beside it (`crate::error` makes it a `Hint`, so
//! `crate::explain` finds it wherever the error sits in a chain). This module
//! depends on nothing else of cairn, so the error type can wrap it.

use std::path::PathBuf;

/// Errors of [`GitRepo`](super::GitRepo). Use [`GitError::hint`] for a suggestion to show the
/// user.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// No git repository was found at `path` or any of its parents.
    #[error("not a git repository (or any parent up to the root): {}", path.display())]
    NotARepo {
        path: PathBuf,
        #[source]
        source: Box<gix::Error>,
    },
    /// `HEAD` is unborn and no ref points anywhere: nothing was committed yet.
    #[error("the git repository has no commits yet")]
    NoCommits,
    /// The revision does not name anything in this repository.
    #[error("unknown revision '{rev}'")]
    UnknownRevision {
        rev: String,
        #[source]
        source: Option<Box<gix::Error>>,
    },
    /// The revision names something that is not a commit (e.g. `HEAD^{tree}`, a tag of a blob,
    /// or the index forms `:path` / `:N:path`, which are refused so the index is never read).
    #[error("revision '{rev}' names a {kind}, not a commit")]
    NotACommit { rev: String, kind: &'static str },
    /// Object `id` is a `found` where git's data says it must be an `expected`.
    #[error("object {id} is a {found}, expected a {expected}: the repository is corrupt")]
    WrongKind {
        id: String,
        expected: &'static str,
        found: &'static str,
    },
    /// An object that `rev` needs is absent from a shallow clone.
    #[error("revision '{rev}' is beyond the history of this shallow clone")]
    Shallow { rev: String },
    /// An object that `rev` needs is absent (repository is not shallow: partial clone or corruption).
    #[error("object {id} needed by '{rev}' is missing from the repository")]
    MissingObject { rev: String, id: String },
    /// Reading a reflog failed.
    #[error("could not read git data")]
    Io(#[from] std::io::Error),
    /// `git fetch` of another repository (for `cairn get`) failed.
    #[error("could not fetch '{rev}' from {url}: {stderr}")]
    FetchFailed {
        url: String,
        rev: String,
        stderr: String,
    },
    /// A `git` command (`ls-files`, `rm --cached`, `config --global`) failed.
    #[error("`git {what}` failed: {stderr}")]
    CommandFailed { what: String, stderr: String },
    /// Any other gix failure (corrupt object, unreadable ref, bad config …).
    #[error("git operation failed")]
    Gix(#[source] Box<gix::Error>),
}

impl From<gix::Error> for GitError {
    fn from(e: gix::Error) -> Self {
        GitError::Gix(Box::new(e))
    }
}

impl GitError {
    /// A short suggestion for the user, if there is one.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            GitError::NotARepo { .. } => {
                Some("run cairn inside a git work tree, or create one with `git init`")
            }
            GitError::NoCommits => Some("commit something first (`git commit`)"),
            GitError::FetchFailed { .. } => Some(
                "check the repository URL and that git can reach it (`git ls-remote URL`), and that the revision exists there",
            ),
            GitError::UnknownRevision { .. } => {
                Some("use a commit id, branch, tag, or forms like HEAD~2 or main@{1}")
            }
            GitError::NotACommit { .. } => Some("name a commit, e.g. a branch, tag or commit id"),
            GitError::Shallow { .. } => Some("fetch the full history with `git fetch --unshallow`"),
            GitError::MissingObject { .. } => Some(
                "fetch the missing history (`git fetch --unshallow` or `git fetch`); \
                 `git fsck` checks for corruption",
            ),
            GitError::WrongKind { .. } => Some("`git fsck` checks the repository for corruption"),
            GitError::CommandFailed { .. } => {
                Some("check that `git` is installed and works in this repository")
            }
            GitError::Io(_) | GitError::Gix(_) => None,
        }
    }
}
