//! The typed reasons and facts that errors carry about remotes and
//! garbage collection.
//!
//! Each is a closed set, so a caller can act on it by matching (retry on
//! [`RemoteFailure::Unreachable`], skip a damaged index file...) rather than
//! by reading text, and each knows its own hint for the user. They live
//! with the error type, below `remote` and `transfer`, because errors carry
//! them; nothing here talks to a remote.

/// Why a remote index file was rejected (FORMAT.md §15.2). Defined here,
/// below the remote module, because errors carry it
/// ([`super::Error::RemoteIndexDamaged`]).
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

impl RemoteFailure {
    /// What to try about a failure of remote `remote`.
    pub fn hint(&self, remote: &str) -> String {
        match self {
            RemoteFailure::Credentials => "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the provider's equivalent, or a profile or role) for this remote; credentials never go in cairn's config".into(),
            RemoteFailure::PermissionDenied => "the credentials were accepted but lack permission on this bucket or prefix; check its policy or the role".into(),
            RemoteFailure::NoSuchBucket => format!("create the bucket (or folder) first, or fix the URL with `cairn remote remove` and `cairn remote add`; a relative folder path is taken from the repository root, so a clone kept elsewhere names the folder for itself with `cairn remote add {remote} PATH --local`"),
            RemoteFailure::Unreachable => format!("check the endpoint (remote.{remote}.endpoint in .cairn/config.local.toml, or AWS_ENDPOINT) and the network; remote.{remote}.connect_timeout and .request_timeout set how long to wait"),
            RemoteFailure::NotFound => format!("the remote is missing data its index lists; run `cairn verify --remote {remote}`, then push again from a clone that has the data"),
            RemoteFailure::BadSettings => format!("check the [remote.{remote}] settings and the provider's environment variables"),
            RemoteFailure::Failed => "run the command again; transient errors are retried, so a repeat failure needs a look at the server".into(),
        }
    }
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
    /// The clone is shallow: the history past its boundary is invisible,
    /// so what that history needs would count as garbage.
    ShallowClone,
}

impl std::fmt::Display for GcRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GcRefusal::SharedCache => "the cache is configured elsewhere (cache.dir or CAIRN_CACHE_DIR) and may be shared with other repositories",
            GcRefusal::DamagedRemoteIndex => "an index file on the remote is damaged, so it cannot tell which packs are in use",
            GcRefusal::DueButIndexed => "a pack due for deletion is listed by the index just written",
            GcRefusal::ShallowClone => "this is a shallow clone: the data of the history it does not have would look unused",
        })
    }
}

impl GcRefusal {
    /// What to try about this refusal.
    pub fn hint(&self) -> &'static str {
        match self {
            GcRefusal::SharedCache => "collect only per-repository caches, or pass `--shared-cache` if no other repository's data in it must be kept",
            GcRefusal::DueButIndexed => "nothing was deleted; run `cairn gc --remote` again, and report this if it repeats",
            GcRefusal::ShallowClone => "nothing was deleted; fetch the whole history first (`git fetch --unshallow`), then run gc again",
            GcRefusal::DamagedRemoteIndex => "run `cairn verify --remote <name>` to see which index file is damaged; `gc --remote` runs again once every index file on the remote reads cleanly",
        }
    }
}
