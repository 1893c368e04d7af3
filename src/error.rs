//! The library's error type.
//!
//! Every failure carries the facts a user needs (which path, which object,
//! what was expected and what was found) as typed fields, with its cause as
//! the typed `source()` where there is one. Each error type knows the one
//! hint that helps most ([`Hint`]; this one's are in `hint.rs`). The CLI
//! prints `error:`, the `Caused by:` chain and `hint:` (through
//! `crate::explain`); the library never formats for a terminal itself.
//!
//! This module depends only on the format, the hash and the standard
//! library (and names the git error type it wraps), so every layer can
//! return it.

use std::io;
use std::path::PathBuf;

use crate::format::kind::ObjectKind;
use crate::hash::Id;

mod corruption;
mod hint;
mod reasons;
mod text;
pub use corruption::Corruption;
pub use hint::is_disk_full;
pub use reasons::{GcRefusal, IndexError, MissingData, RemoteFailure};
use text::{in_pack, list, plural, verify_failed};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} is not inside a git work tree", path.display())]
    NotGitRepo { path: PathBuf },

    #[error("cairn is not initialised in {}", root.display())]
    NotInitialized { root: PathBuf },

    #[error("cairn's .cairn/config.toml is committed but missing from the work tree at {}", root.display())]
    ConfigNotCheckedOut { root: PathBuf },

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

    /// A merge left both sides in a pointer file (`<<<<<<<`, `=======`,
    /// `>>>>>>>` lines): neither version is chosen yet.
    #[error("pointer file {} holds git merge conflict markers: the merge has not chosen a version of this data", path.display())]
    PointerConflict { path: PathBuf },

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

    /// `NotTracked`, met by a verb that works on tracked paths only
    /// (`rm`, `mv`), where "track it first" is no answer.
    #[error("{} is not tracked by cairn (no {}.cairn pointer)", path.display(), path.display())]
    NotTrackedHere { path: PathBuf },

    #[error("cannot read ignore rules in {}: {reason}", path.display())]
    IgnoreFile { path: PathBuf, reason: String },

    #[error("{} already exists", path.display())]
    DestinationExists { path: PathBuf },

    #[error("cannot move {} to {}: {reason}", from.display(), to.display())]
    CannotMove {
        from: PathBuf,
        to: PathBuf,
        reason: &'static str,
    },

    #[error("{kind} {id} is not in the cache (needed for {})", path.display())]
    MissingObject {
        kind: ObjectKind,
        id: Id,
        path: PathBuf,
    },

    /// A checkout met data the cache lacks. `pull` is the command that
    /// fetches the revision this checkout asked for (`cairn pull v1`), so a
    /// fresh clone is told what to run instead of a bare `cairn pull`,
    /// which would fetch the work tree's revision, not this one.
    #[error("{source}")]
    NotCached {
        pull: String,
        #[source]
        source: Box<Error>,
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
    Git(#[from] crate::repo::git::error::GitError),

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

    #[error("{path} is not a file cairn tracks at {rev}")]
    NoFileAt { path: String, rev: String },

    #[error("{path} is not tracked by cairn at {rev} in {url}")]
    NotTrackedAt {
        path: String,
        rev: String,
        url: String,
    },

    #[error("no remote is configured")]
    NoRemote,

    #[error("the listing of {path} is not in the cache, and no remote provided it")]
    ListingNotCached { path: String },

    #[error("{path} is not tracked by cairn at any commit in HEAD's history")]
    NeverTracked { path: String },

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

    #[error("{} exists and so does {}; move one of them away, then run `cairn install-hooks` again", path.display(), chained.display())]
    HookInTheWay { path: PathBuf, chained: PathBuf },

    #[error("{} exists and was not written by cairn; move it away, then run `cairn install-hooks --global` again", path.display())]
    TemplateHookInTheWay { path: PathBuf },

    #[error("neither HOME nor XDG_CONFIG_HOME is set: there is no user config directory")]
    NoUserConfigDir,

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

    #[error("unknown config key `{key}`")]
    UnknownConfigKey {
        key: String,
        suggestion: Option<String>,
    },

    #[error("config {key} = {value:?} is invalid: {reason}")]
    BadConfigValue {
        key: String,
        value: String,
        reason: String,
    },

    #[error("cairn config does not {action} {key}: {reason}")]
    ConfigKeyRefused {
        key: String,
        action: &'static str,
        reason: &'static str,
        hint: &'static str,
    },

    #[error("{key} is not set in {file}")]
    ConfigNotSet { key: String, file: String },

    #[error("cairn doctor found {problems} problem(s)")]
    Unhealthy { problems: usize },

    #[error("malformed import map {} (line {line}): {reason}", path.display())]
    ImportMapSyntax {
        path: PathBuf,
        line: usize,
        reason: &'static str,
    },

    #[error("cannot read {path} (from {tool}): {source}")]
    Foreign {
        path: String,
        tool: &'static str,
        #[source]
        source: crate::format::foreign::ForeignError,
    },

    #[error("{count} path(s) could not be imported; everything else was")]
    ImportIncomplete { count: usize },
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
