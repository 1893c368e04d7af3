//! The hint of each [`Error`]: the one thing a user should try next.
//!
//! Only this error type's own hints live here. A wrapped error (git's)
//! answers for itself through its own [`Hint`] impl, and `crate::explain`
//! asks every error of a chain, so this file needs nothing from the
//! modules whose errors cairn wraps.

use std::io;

use super::{Error, Hint};

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

impl Hint for Error {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Error::NotGitRepo { .. } => "run `git init` first, or pass `-C DIR` to point at a git work tree".into(),
            Error::NotInitialized { .. } => "run `cairn init` in the repository first".into(),
            Error::ConfigNotCheckedOut { .. } => "a sparse checkout leaves it out: `git sparse-checkout add .cairn` brings it in (if it was deleted, `git restore .cairn`); `cairn init` would write a new one".into(),
            Error::Io { source, .. } if is_disk_full(source) => {
                "the disk is full: free some space (`cairn gc` drops unreachable data) and run the command again".into()
            }
            Error::Io { source, .. } if source.kind() == io::ErrorKind::PermissionDenied => {
                "check the permissions of that path".into()
            }
            Error::PointerConflict { path } => {
                let ptr = path.display();
                let data = path.with_extension("");
                let data = data.display();
                format!(
                    "keep one side with `git checkout --ours -- {ptr}` (or `--theirs`) and then `cairn checkout {data}`, or record the data now in the work tree with `cairn add {data}`; then `git add {ptr}`"
                )
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
            Error::NotTrackedHere { .. } => {
                "`cairn status` lists the tracked paths; a file inside a tracked directory is not tracked on its own".into()
            }
            Error::IgnoreFile { .. } => "fix the file; it uses .gitignore syntax (see `git help gitignore`)".into(),
            Error::DestinationExists { .. } => "pick another name, or pass `--force` to replace it".into(),
            Error::CannotMove { reason, to, .. } if reason.contains("trailing") => format!(
                "create the directory first (`mkdir -p {}`), or give the new name without the `/`",
                to.display()
            ),
            Error::CannotMove { .. } => "pick a destination inside the work tree and outside tracked directories".into(),
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
            Error::GcRefused { reason } => reason.hint().into(),
            Error::NotRevisionOrPath { .. } => {
                "give a commit id, branch or tag (see `git log`), or a path listed by `cairn ls`".into()
            }
            Error::CannotTrack { .. } => {
                "move what is in the way (or track a different path), then run the command again".into()
            }
            Error::NotCached { pull, .. } => format!(
                "`{pull}` fetches it from the remote and restores it; if the data was added on this machine and the cache lost it, `cairn add` of the original stores it again"
            ),
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
            // Only absent data (no damage): it is on the remote, or was
            // never pushed. A fresh clone, a partial fetch and
            // `pull --no-cache` (which keeps large files' chunks out of the
            // cache by design) all end here; re-adding is not the remedy.
            Error::VerifyFailed {
                damaged: 0,
                missing: 1..,
                ..
            } => {
                "`cairn pull` fetches what the cache lacks (after `pull --no-cache` large files' data is not cached by design); `cairn verify --remote` checks the remote's copy".into()
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
            Error::UnknownConfigKey { suggestion: Some(s), .. } => format!("did you mean `{s}`?"),
            Error::UnknownConfigKey { .. } | Error::BadConfigValue { .. } => {
                "docs/FORMAT.md §8.1 lists every key and its type".into()
            }
            Error::ConfigKeyRefused { hint, .. } => (*hint).into(),
            Error::ConfigNotSet { .. } => "`cairn config --list --show-origin` shows where each key is set".into(),
            Error::Unhealthy { .. } => "the lines marked `problem:` above say what is wrong".into(),
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
            Error::Remote { failure, remote, .. } => failure.hint(remote),
            Error::TrackedByGit { path, .. } => format!(
                "`git rm --cached -r {path}` removes it from git's index and keeps the file; or `cairn add --untrack-git {path}` does that for you"
            ),
            Error::TemplateDirTaken { current, ours } => format!(
                "cairn does not replace another git template: copy the hooks from {} into {current}/hooks, or `git config --global --unset init.templateDir` and install again",
                ours.join("hooks").display()
            ),
            Error::OutputExists { .. } => "choose another place with `-o OUT`, or move the existing one away".into(),
            Error::NoFileAt { .. } => {
                "`cairn ls -R [REV]` lists the tracked files; a directory is read one file at a time (`cairn cat REV:dir/file`)".into()
            }
            Error::ListingNotCached { .. } => "fetch it with `cairn fetch [REV] PATH`, from a remote that has it (`cairn remote add` configures one)".into(),
            Error::NeverTracked { .. } => "`cairn ls -R` lists tracked data and the files inside tracked directories".into(),
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
            Error::ImportMapSyntax { .. } => {
                "restore it with `git checkout -- .cairn/import-map`, or run `cairn import` again to rebuild it".into()
            }
            Error::Foreign { .. } => {
                "fix or remove that file; cairn imports DVC 3 (`hash: md5`) and Git LFS spec v1 pointers".into()
            }
            Error::ImportIncomplete { .. } => {
                "make the missing objects available (`dvc fetch`, `git lfs fetch --all`) and run the same `cairn import` again; it only adds what is still missing".into()
            }
            _ => return None,
        })
    }
}

impl Hint for crate::repo::git::error::GitError {
    fn hint(&self) -> Option<String> {
        crate::repo::git::error::GitError::hint(self).map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::GcRefusal;

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
        let shallow = Error::GcRefused {
            reason: GcRefusal::ShallowClone,
        };
        assert!(shallow.hint().unwrap().contains("git fetch --unshallow"));
    }
}
