//! How long-running work reports progress and warnings without printing.
//!
//! Core modules never write to the terminal: they call a [`Progress`] that
//! the CLI renders with indicatif on a TTY (and ignores elsewhere), and tests
//! can record. Every method has a no-op default so a reporter only handles
//! what it cares about.

use std::path::PathBuf;
use std::time::Duration;

/// Something worth telling the user that does not stop the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The `git` program is missing, so `add` cannot tell whether git
    /// already tracks the paths.
    NoGitProgram,
    /// A symbolic link inside a tracked directory was not followed or stored.
    SkippedSymlink { path: PathBuf },
    /// A special file (socket, fifo, device) inside a tracked directory.
    SkippedSpecial { path: PathBuf },
    /// A pack whose footer cannot be read; its blobs count as missing.
    UnreadablePack { path: PathBuf, reason: &'static str },
    /// A remote has not answered a request for `waited`; cairn keeps
    /// waiting (and retrying) for at most `limit` in all.
    RemoteWaiting {
        remote: String,
        op: &'static str,
        waited: Duration,
        limit: Duration,
    },
    /// A file named `*.cairn` that is not a pointer; it was left alone.
    NotAPointer { path: PathBuf, reason: String },
    /// `verify` found every blob of a pack intact but its sum (FORMAT.md
    /// §6.8) does not match its bytes: only a note, a push checks that
    /// pack blob by blob.
    StalePackSum { path: PathBuf },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::NoGitProgram => f.write_str(
                "the git program was not found: not checking whether git already tracks these paths",
            ),
            Warning::SkippedSymlink { path } => {
                write!(
                    f,
                    "skipped symbolic link {} (links are not tracked)",
                    path.display()
                )
            }
            Warning::SkippedSpecial { path } => {
                write!(f, "skipped {} (not a regular file)", path.display())
            }
            Warning::UnreadablePack { path, reason } => {
                write!(f, "ignoring damaged pack {}: {reason}", path.display())
            }
            Warning::RemoteWaiting {
                remote,
                op,
                waited,
                limit,
            } => write!(
                f,
                "remote {remote} has not answered for {} s ({op}); still waiting, giving up within {} s",
                waited.as_secs(),
                limit.as_secs()
            ),
            Warning::NotAPointer { path, reason } => write!(
                f,
                "skipping {}: named like a pointer file but is not one ({reason})",
                path.display()
            ),
            Warning::StalePackSum { path } => write!(
                f,
                "the sum beside pack {} does not match it (its blobs are intact): push will check it blob by blob",
                path.display()
            ),
        }
    }
}

pub trait Progress: Sync {
    /// A phase begins; `total` is in bytes when known.
    fn begin(&self, _phase: &'static str, _total: Option<u64>) {}
    /// `bytes` more of the current phase are done.
    fn advance(&self, _bytes: u64) {}
    /// The current phase is over.
    fn end(&self) {}
    fn warn(&self, _warning: Warning) {}
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {}
