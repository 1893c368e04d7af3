//! The library's error type.
//!
//! Every failure carries the facts a user needs (which path, which object,
//! what was expected and what was found) as typed fields, and knows the one
//! hint that helps most. The CLI prints `error:`, the `Caused by:` chain and
//! `hint:`; the library never formats for a terminal itself.

use std::io;
use std::path::{Path, PathBuf};

use crate::format::kind::ObjectKind;
use crate::hash::Id;

mod corruption;
pub use corruption::Corruption;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} is not inside a git work tree", path.display())]
    NotGitRepo { path: PathBuf },

    #[error("cairn is not initialised in {}", root.display())]
    NotInitialized { root: PathBuf },

    #[error("could not {op} {}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("malformed pointer file {} (line {line}): {reason}", path.display())]
    PointerSyntax {
        path: PathBuf,
        line: usize,
        reason: &'static str,
    },

    #[error("pointer file {} has format version {found}; this cairn reads version {supported}", path.display())]
    PointerVersion {
        path: PathBuf,
        found: String,
        supported: u32,
    },

    #[error("refusing unsafe path {path:?}: {reason}")]
    UnsafePath { path: String, reason: &'static str },

    #[error("{} is outside the repository at {}", path.display(), root.display())]
    OutsideRepo { path: PathBuf, root: PathBuf },

    #[error("{} does not exist", path.display())]
    NoSuchPath { path: PathBuf },

    #[error("{} is a symbolic link; cairn tracks regular files and directories", path.display())]
    SymlinkNotTracked { path: PathBuf },

    #[error("{} is not a regular file or directory", path.display())]
    UnsupportedFileType { path: PathBuf },

    #[error("{} cannot be tracked: {reason}", path.display())]
    CannotTrack { path: PathBuf, reason: &'static str },

    #[error("file name {} is not valid UTF-8", path.display())]
    NonUtf8Path { path: PathBuf },

    #[error("{} changed while it was being read", path.display())]
    ChangedWhileReading { path: PathBuf },

    #[error("{} is not tracked by cairn (no {}.cairn pointer)", path.display(), path.display())]
    NotTracked { path: PathBuf },

    #[error("{kind} {id} is not in the cache (needed for {})", path.display())]
    MissingObject {
        kind: ObjectKind,
        id: Id,
        path: PathBuf,
    },

    /// `pack` is the pack file the damaged copy was read from, when the
    /// bytes came from one.
    #[error("{kind} {id}{} is damaged: {cause}", in_pack(pack.as_deref()))]
    CorruptObject {
        kind: ObjectKind,
        id: Id,
        pack: Option<PathBuf>,
        #[source]
        cause: Box<Corruption>,
    },

    #[error("pack {} is damaged: {reason}", path.display())]
    CorruptPack { path: PathBuf, reason: &'static str },

    #[error("restored {} hashes to {actual}, expected {expected}", path.display())]
    ContentMismatch {
        path: PathBuf,
        expected: Id,
        actual: Id,
    },

    #[error("the stat index {} is damaged: {reason}", path.display())]
    StatIndexCorrupt { path: PathBuf, reason: &'static str },

    #[error("invalid config file {}", path.display())]
    Config {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },

    #[error("config {key} = {value:?} is invalid: {reason}")]
    ConfigValue {
        key: &'static str,
        value: String,
        reason: &'static str,
    },

    #[error("the repository is locked by another cairn process{}", holder.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Locked {
        path: PathBuf,
        holder: Option<String>,
    },

    #[error("{kind} of {len} bytes is too large to store (the limit is {limit} bytes)")]
    BlobTooLarge {
        kind: ObjectKind,
        len: u64,
        limit: u64,
    },

    #[error("this repository uses cairn format {found}; this cairn supports format {supported}")]
    UnsupportedFormat { found: i64, supported: u32 },

    /// Shown as the git error itself, which is also its source, so the
    /// error chain reaches it (and its hint; see [`Hint`]).
    #[error("{0}")]
    Git(#[from] crate::repo::git::GitError),

    #[error("{word:?} is neither a git revision nor a path that cairn tracks")]
    NotRevisionOrPath { word: String },

    #[error("invalid remote URL {url:?}: {reason}")]
    BadRemoteUrl { url: String, reason: &'static str },

    #[error("invalid remote name {name:?} (use letters, digits, '-', '_' and '.')")]
    BadRemoteName { name: String },

    #[error("a remote named {name:?} already exists")]
    RemoteExists { name: String },

    #[error("no remote named {name:?}")]
    UnknownRemote { name: String },

    #[error("could not edit config file {}", path.display())]
    ConfigEdit {
        path: PathBuf,
        #[source]
        source: Box<toml_edit::TomlError>,
    },

    #[error("every way to pack the data for {remote} gives a pack name that `gc --remote` has condemned")]
    PackNameCondemned { remote: String },

    #[error("refusing to collect garbage: {reason}")]
    GcRefused { reason: GcRefusal },

    #[error("{}", verify_failed(*damaged, *missing, malformed_pointers))]
    VerifyFailed {
        damaged: usize,
        missing: usize,
        /// Pointer files that start like a pointer but cannot be read.
        malformed_pointers: Vec<PathBuf>,
    },

    #[error("{} is named like a cairn pointer file but is not one", path.display())]
    NotAPointer { path: PathBuf },

    #[error("{} already exists; cairn get never overwrites", path.display())]
    OutputExists { path: PathBuf },

    #[error("{path} is not tracked by cairn at {rev} in {url}")]
    NotTrackedAt {
        path: String,
        rev: String,
        url: String,
    },

    #[error("no remote is configured")]
    NoRemote,

    #[error("{} would be overwritten or removed, but cairn has not recorded the changes in {}: {}", plural(paths.len(), "file"), if paths.len() == 1 { "it" } else { "them" }, list(paths))]
    UnrecordedChanges { paths: Vec<String> },

    #[error("the data of {} is not on remote {remote}: {}", plural(missing.len(), "path"), missing.iter().map(|m| format!("{} (at {})", m.path, m.rev)).collect::<Vec<_>>().join(", "))]
    DataNotOnRemote {
        remote: String,
        missing: Vec<MissingData>,
    },

    #[error("{path} is tracked by git itself ({count} path(s) in git's index); cairn would track it twice")]
    TrackedByGit { path: String, count: usize },

    #[error("git's init.templateDir is already set to {current}")]
    TemplateDirTaken { current: String, ours: PathBuf },

    #[error("remote {remote} ({url}): {failure} while trying to {op}")]
    Remote {
        remote: String,
        /// Already redacted.
        url: String,
        op: &'static str,
        failure: RemoteFailure,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("remote {remote} is read-only (http remotes can only be fetched from)")]
    ReadOnlyRemote { remote: String },

    #[error("{kind} {id} is neither in the cache nor on remote {remote} (needed for {})", path.display())]
    NotOnRemote {
        kind: ObjectKind,
        id: Id,
        remote: String,
        path: PathBuf,
    },

    #[error("{kind} {id} (needed for {}) is not on remote {remote}, whose index file {index} is damaged ({reason})", path.display())]
    RemoteIndexDamaged {
        kind: ObjectKind,
        id: Id,
        remote: String,
        path: PathBuf,
        index: String,
        reason: IndexError,
    },

    #[error("remote {remote}: {object} is damaged: {reason}")]
    RemoteCorrupt {
        remote: String,
        object: String,
        reason: String,
    },

    #[error("remote {remote}: {kind} {id} in pack {pack} is damaged: {cause}")]
    RemoteBlobCorrupt {
        remote: String,
        pack: Id,
        kind: ObjectKind,
        id: Id,
        #[source]
        cause: Box<Corruption>,
    },

    #[error("remote {remote}: pack {pack} is listed by an index but missing")]
    RemotePackMissing { remote: String, pack: Id },

    #[error("remote {remote}: {count} damaged or missing object(s)")]
    RemoteVerifyFailed { remote: String, count: usize },
}

/// Why a remote index file was rejected (FORMAT.md §15.2). Defined here,
/// below the remote module, because errors carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    #[error("its name does not match its contents")]
    NameMismatch,
    #[error("bad magic: not a cairn index")]
    BadMagic,
    #[error("unknown index format version")]
    UnknownVersion,
    #[error("truncated")]
    Truncated,
    #[error("a pack's entries do not match its id")]
    PackIdMismatch,
    #[error("an entry points outside its pack")]
    EntryOutOfRange,
    #[error("unreadable entry")]
    BadEntry,
}

/// A tracked path whose data could not be found anywhere, and the revision
/// (as the user can name it) that needs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MissingData {
    pub path: String,
    pub rev: String,
}

/// ` in pack <file>` when the pack is known, else nothing.
fn in_pack(pack: Option<&Path>) -> String {
    pack.map(|p| format!(" in pack {}", p.display()))
        .unwrap_or_default()
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The first few items of a list, then how many more.
fn list(items: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
}

/// Why a request to a remote failed, as far as the user can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteFailure {
    /// No usable credentials were found, or they were refused.
    Credentials,
    /// The credentials work but may not do this.
    PermissionDenied,
    /// The bucket or container does not exist (or the folder).
    NoSuchBucket,
    /// The endpoint could not be reached in time.
    Unreachable,
    /// An object the remote's index names is missing.
    NotFound,
    /// The remote's settings cannot be used (a bad endpoint, region...).
    BadSettings,
    /// Anything else the server answered.
    Failed,
}

/// Why garbage collection refused to run; each reason has its own hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcRefusal {
    /// The cache lives outside the repository and may hold other
    /// repositories' data.
    SharedCache,
    /// An index file on the remote is damaged, so which packs are in use
    /// is unknown.
    DamagedRemoteIndex,
    /// A pack due for deletion is listed by the index this run just wrote:
    /// deleting it would lose data, so the run stops before any delete.
    DueButIndexed,
}

impl std::fmt::Display for GcRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GcRefusal::SharedCache => "the cache is configured elsewhere (cache.dir or CAIRN_CACHE_DIR) and may be shared with other repositories",
            GcRefusal::DamagedRemoteIndex => "an index file on the remote is damaged, so it cannot tell which packs are in use",
            GcRefusal::DueButIndexed => "a pack due for deletion is listed by the index just written",
        })
    }
}

impl std::fmt::Display for RemoteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RemoteFailure::Credentials => "the credentials are missing or were refused",
            RemoteFailure::PermissionDenied => "permission denied",
            RemoteFailure::NoSuchBucket => "the bucket does not exist",
            RemoteFailure::Unreachable => "the endpoint cannot be reached",
            RemoteFailure::NotFound => "an object is missing",
            RemoteFailure::BadSettings => "the remote's settings are invalid",
            RemoteFailure::Failed => "a request failed",
        })
    }
}

/// Whether an I/O error is, or wraps, "no space left on device" (or a
/// quota). Layers such as temporary-file helpers wrap the OS error in one
/// of their own, so the whole chain is searched.
pub fn is_disk_full(e: &io::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::StorageFull
                || io.kind() == io::ErrorKind::QuotaExceeded
                || matches!(io.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
            {
                return true;
            }
            if let Some(inner) = io.get_ref() {
                cur = Some(inner);
                continue;
            }
        }
        cur = err.source();
    }
    false
}

/// The message of [`Error::VerifyFailed`]: each kind of problem by name.
fn verify_failed(damaged: usize, missing: usize, malformed: &[PathBuf]) -> String {
    let mut parts = Vec::new();
    if damaged + missing > 0 {
        parts.push(format!(
            "{} damaged or missing object(s) in the cache",
            damaged + missing
        ));
    }
    if !malformed.is_empty() {
        let names: Vec<String> = malformed.iter().map(|p| p.display().to_string()).collect();
        parts.push(format!("malformed pointer file(s): {}", names.join(", ")));
    }
    parts.join("; ")
}

impl Error {
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// The one thing a user should try next about an error, when there is one.
///
/// Each error type of the library answers for itself; the CLI asks every
/// error in a chain (`crate::explain`), so an error that wraps another
/// (such as [`Error::Git`]) need not know the inner one's hints.
pub trait Hint {
    fn hint(&self) -> Option<String>;
}

impl Hint for Error {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Error::NotGitRepo { .. } => "run `git init` first, or pass `-C DIR` to point at a git work tree".into(),
            Error::NotInitialized { .. } => "run `cairn init` in the repository first".into(),
            Error::Io { source, .. } if is_disk_full(source) => {
                "the disk is full: free some space (`cairn gc` drops unreachable data) and run the command again".into()
            }
            Error::Io { source, .. } if source.kind() == io::ErrorKind::PermissionDenied => {
                "check the permissions of that path".into()
            }
            Error::PointerSyntax { .. } => {
                "restore the pointer with `git checkout -- <path>.cairn`, or re-create it with `cairn add <path>`".into()
            }
            Error::PointerVersion { .. } | Error::UnsupportedFormat { .. } => {
                "upgrade cairn to a version that reads this format".into()
            }
            Error::BlobTooLarge { .. } => "split the directory into several tracked directories".into(),
            Error::UnsafePath { .. } => {
                "pointer files and listings may only name paths inside the work tree; check where this pointer came from".into()
            }
            Error::OutsideRepo { .. } => "cairn only tracks paths inside the current git work tree".into(),
            Error::NoSuchPath { .. } => "check the path; `cairn status` lists what is tracked".into(),
            Error::SymlinkNotTracked { .. } => "add the file or directory the link points to instead".into(),
            Error::NonUtf8Path { .. } => "rename the file so its name is valid UTF-8".into(),
            Error::ChangedWhileReading { .. } => "wait for whatever is writing the file to finish, then add it again".into(),
            Error::NotTracked { .. } => "track it first with `cairn add <path>`".into(),
            // The git error is this one's source: its own hint answers.
            Error::Git(_) => return None,
            Error::BadRemoteUrl { .. } => {
                "examples: ../data-store, file:///srv/cairn, s3://bucket/prefix, gs://bucket, az://container, https://host/path".into()
            }
            Error::BadRemoteName { .. } => "for example `origin` or `team-s3`".into(),
            Error::RemoteExists { .. } => "remove it first with `cairn remote remove <name>`, or pick another name".into(),
            Error::UnknownRemote { .. } => "`cairn remote list` shows the configured remotes".into(),
            Error::ConfigEdit { .. } => "fix the TOML syntax of the file, then run the command again".into(),
            Error::PackNameCondemned { .. } => {
                "wait until `cairn gc --remote` has deleted the condemned packs (one grace period), or add the data again with other files, then push".into()
            }
            Error::GcRefused {
                reason: GcRefusal::SharedCache,
            } => {
                "collect only per-repository caches, or pass `--shared-cache` if no other repository's data in it must be kept".into()
            }
            Error::GcRefused {
                reason: GcRefusal::DueButIndexed,
            } => "nothing was deleted; run `cairn gc --remote` again, and report this if it repeats".into(),
            Error::GcRefused {
                reason: GcRefusal::DamagedRemoteIndex,
            } => "run `cairn verify --remote <name>` to see which index file is damaged; `gc --remote` runs again once every index file on the remote reads cleanly".into(),
            Error::NotRevisionOrPath { .. } => {
                "give a commit id, branch or tag (see `git log`), or a path listed by `cairn ls`".into()
            }
            Error::CannotTrack { .. } => {
                "move what is in the way (or track a different path), then run the command again".into()
            }
            Error::MissingObject { .. } => {
                "`cairn pull` fetches it from the remote; if the data was added on this machine and the cache lost it, `cairn add` of the original stores it again".into()
            }
            Error::VerifyFailed {
                damaged: 0,
                missing: 0,
                malformed_pointers,
            } if !malformed_pointers.is_empty() => {
                "restore each pointer with `git checkout -- <path>.cairn`, or re-create it with `cairn add <path>`".into()
            }
            Error::NotAPointer { .. } => {
                "rename the file if it is not cairn's (names ending in .cairn are pointer files), or restore the pointer with `git checkout -- <path>.cairn`".into()
            }
            Error::CorruptObject { .. } | Error::CorruptPack { .. } | Error::VerifyFailed { .. } => {
                "`cairn verify` lists every damaged object; `cairn add` of the original data stores a good copy that replaces it".into()
            }
            Error::ContentMismatch { .. } => "run `cairn verify`; the cache holds damaged data".into(),
            Error::StatIndexCorrupt { path, .. } => format!(
                "delete {} and re-run; it is only a cache and will be rebuilt",
                path.display()
            ),
            Error::Config { .. } | Error::ConfigValue { .. } => "fix the file; docs/FORMAT.md lists the keys".into(),
            Error::Locked { .. } => "wait for the other cairn command to finish, then run this one again".into(),
            Error::UnrecordedChanges { .. } => {
                "`cairn add <path>` records the changes (keep them); `--force` discards them".into()
            }
            Error::DataNotOnRemote { missing, .. } => {
                let mut revs: Vec<&str> = missing.iter().map(|m| m.rev.as_str()).collect();
                revs.sort();
                revs.dedup();
                format!(
                    "run `cairn push {}` in a clone that has the data, then pull again; everything else was restored",
                    revs.join(" ")
                )
            }
            Error::NoRemote => "add one with `cairn remote add origin s3://bucket/prefix` (or a folder path), or pass `-r NAME`".into(),
            Error::Remote { failure, remote, .. } => match failure {
                RemoteFailure::Credentials => "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the provider's equivalent, or a profile or role) for this remote; credentials never go in cairn's config".into(),
                RemoteFailure::PermissionDenied => "the credentials were accepted but lack permission on this bucket or prefix; check its policy or the role".into(),
                RemoteFailure::NoSuchBucket => "create the bucket (or folder) first, or fix the URL with `cairn remote remove` and `cairn remote add`".into(),
                RemoteFailure::Unreachable => format!("check the endpoint (remote.{remote}.endpoint in .cairn/config.local.toml, or AWS_ENDPOINT) and the network; remote.{remote}.connect_timeout and .request_timeout set how long to wait"),
                RemoteFailure::NotFound => format!("the remote is missing data its index lists; run `cairn verify --remote {remote}`, then push again from a clone that has the data"),
                RemoteFailure::BadSettings => format!("check the [remote.{remote}] settings and the provider's environment variables"),
                RemoteFailure::Failed => "run the command again; transient errors are retried, so a repeat failure needs a look at the server".into(),
            },
            Error::TrackedByGit { path, .. } => format!(
                "`git rm --cached -r {path}` removes it from git's index and keeps the file; or `cairn add --untrack-git {path}` does that for you"
            ),
            Error::TemplateDirTaken { current, ours } => format!(
                "cairn does not replace another git template: copy the hooks from {} into {current}/hooks, or `git config --global --unset init.templateDir` and install again",
                ours.join("hooks").display()
            ),
            Error::OutputExists { .. } => "choose another place with `-o OUT`, or move the existing one away".into(),
            Error::NotTrackedAt { .. } => "`cairn ls REV` in a clone of that repository lists what it tracks".into(),
            Error::ReadOnlyRemote { .. } => "push to an s3://, gs://, az:// or folder remote instead".into(),
            Error::NotOnRemote { .. } => "push it from a clone that has the data (`cairn push`), or fetch from another remote with `-r NAME`".into(),
            Error::RemoteIndexDamaged { remote, .. } => format!(
                "run `cairn verify --remote {remote}` to see what the damaged index file hides, then `cairn push` from a clone that has the data: it repairs the index file or sends the data again"
            ),
            Error::RemoteCorrupt { remote, .. }
            | Error::RemoteBlobCorrupt { remote, .. }
            | Error::RemotePackMissing { remote, .. } => format!(
                "run `cairn verify --remote {remote}`: it lists every damaged object and notes it on the remote, so that `cairn push` from any clone with good data sends it again"
            ),
            Error::RemoteVerifyFailed { remote, .. } => format!(
                "the damaged copies are now noted on the remote: `cairn push -r {remote}` from any clone with the data sends them again"
            ),
            Error::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                "check that the path exists, then run the command again".into()
            }
            Error::Io { .. } => "check that the path is accessible and the disk is healthy, then run the command again".into(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_full_gets_its_hint_even_when_wrapped() {
        let plain = io::Error::from(io::ErrorKind::StorageFull);
        let wrapped = io::Error::other(io::Error::from_raw_os_error(libc::ENOSPC));
        let twice = io::Error::other(io::Error::other(plain));
        for source in [wrapped, twice, io::Error::from_raw_os_error(libc::ENOSPC)] {
            let e = Error::io("write pack", "/x", source);
            assert!(e.hint().unwrap().contains("disk is full"), "{e:?}");
        }
        let other = Error::io("write pack", "/x", io::Error::other("boom"));
        assert!(!other.hint().unwrap().contains("disk is full"));
    }

    #[test]
    fn each_gc_refusal_has_its_own_hint() {
        let shared = Error::GcRefused {
            reason: GcRefusal::SharedCache,
        };
        let index = Error::GcRefused {
            reason: GcRefusal::DamagedRemoteIndex,
        };
        assert!(shared.hint().unwrap().contains("--shared-cache"));
        assert!(!index.hint().unwrap().contains("shared"));
        assert!(index.hint().unwrap().contains("verify --remote"));
    }
}
