//! `ls [REV] [PATH…]`: the tracked data of a revision, or of the work tree,
//! as its pointers describe it.
//!
//! Listing reads pointers only (from git objects for a revision, from the
//! pointer files otherwise), never the data, so it is instant and answers
//! for data this clone has never fetched. Listing into a tracked directory
//! (`recursive`, or a path inside one) also reads the directory's listing
//! through the store, fetching that one object from the default remote if
//! the cache lacks it ([`super::listings`]); a listing that is nowhere to
//! be had is [`crate::Error::ListingNotCached`]. A path that names no
//! tracked data lists nothing rather than failing, like `git ls-files`.

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::format::pointer::Pointer;
use crate::hash::Id;
use crate::progress::Progress;

use super::listings;
use super::select::Selection;
use super::Session;

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct LsOptions {
    /// The revision; `None`: the work tree's pointers.
    pub rev: Option<String>,
    /// Repository-relative paths to limit it to; empty: all.
    pub paths: Vec<String>,
    /// Also list the files inside tracked directories.
    pub recursive: bool,
}

/// A listing. Serialised as `ls --json` prints it: keys in alphabetical
/// order, as they have always been.
#[derive(Debug, Clone, Serialize)]
pub struct LsReport {
    /// The commit the revision resolved to; `None` for the work tree.
    pub commit: Option<String>,
    /// The tracked data, sorted by path.
    pub paths: Vec<Listed>,
    pub rev: Option<String>,
}

/// One tracked file or directory (fields in alphabetical order).
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    /// Files it holds: 1 for a file.
    pub files: u64,
    pub id: Id,
    /// `file` or `dir`.
    pub kind: &'static str,
    pub path: String,
    /// Bytes of data.
    pub size: u64,
}

/// List the tracked data `opts` selects. This needs git even for the work
/// tree, as it always has; `progress` hears of stray `*.cairn` files.
///
/// ```no_run
/// use std::path::Path;
///
/// use cairn::ops::ls::{ls, LsOptions};
/// use cairn::ops::Session;
/// use cairn::progress::Silent;
///
/// let s = Session::open(Path::new("."))?;
/// let opts = LsOptions {
///     rev: Some("v1".into()),
///     ..Default::default()
/// };
/// let listing = ls(&s, opts, &Silent)?;
/// for e in &listing.paths {
///     println!("{} {} {} bytes", e.kind, e.path, e.size);
/// }
/// # Ok::<(), cairn::Error>(())
/// ```
pub fn ls(s: &Session, opts: LsOptions, progress: &dyn Progress) -> Result<LsReport> {
    let git = s.require_git()?;
    let commit = match &opts.rev {
        Some(r) => Some(git.resolve(r)?.id),
        None => None,
    };
    let selection = Selection {
        rev: opts.rev,
        paths: opts.paths,
    };
    let tracked = selection.tracked(s, progress)?;
    // The directories to list into, each with the parts of it asked for
    // (`None`: all of it).
    let mut into: Vec<(usize, Option<Vec<String>>)> = Vec::new();
    for (i, (rel, p)) in tracked.iter().enumerate() {
        if !matches!(p, Pointer::Dir { .. }) {
            continue;
        }
        let inside: Vec<String> = selection
            .paths
            .iter()
            .filter_map(|a| a.strip_prefix(&format!("{rel}/")).map(str::to_string))
            .collect();
        let whole = selection.paths.is_empty()
            || selection
                .paths
                .iter()
                .any(|a| a == rel || rel.starts_with(&format!("{a}/")));
        if whole && opts.recursive {
            into.push((i, None));
        } else if !whole && !inside.is_empty() {
            into.push((i, Some(inside)));
        }
    }
    let dirs: Vec<_> = into
        .iter()
        .map(|(i, _)| (tracked[*i].1.id(), tracked[*i].0.clone()))
        .collect();
    let read = if dirs.is_empty() {
        listings::Listings::default()
    } else {
        listings::read(s, &dirs, progress)?
    };
    if let Some((_, path)) = read.missing.first() {
        return Err(Error::ListingNotCached { path: path.clone() });
    }
    let mut paths = Vec::new();
    for (i, (rel, p)) in tracked.iter().enumerate() {
        let only = into.iter().find(|(j, _)| *j == i).map(|(_, o)| o);
        if !matches!(only, Some(Some(_))) {
            paths.push(row(rel, p));
        }
        let Some(only) = only else { continue };
        let Some(entries) = read.read.get(&p.id()) else {
            continue;
        };
        let wanted = |path: &str| match only {
            None => true,
            Some(subs) => subs.iter().any(|o| {
                path == o
                    || path
                        .strip_prefix(o.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            }),
        };
        paths.extend(entries.iter().filter(|e| wanted(&e.path)).map(|e| Listed {
            files: 1,
            id: e.id,
            kind: "file",
            path: format!("{rel}/{}", e.path),
            size: e.size,
        }));
    }
    Ok(LsReport {
        commit,
        paths,
        rev: selection.rev,
    })
}

/// [`ls`] of another repository, without cloning it: one commit of `url`
/// at `rev` is fetched (history depth 1, no large blobs) into a scratch
/// directory, its pointers listed (with `recursive`, the listings fetched
/// from that repository's default remote), and the directory removed. The
/// scratch directory is made inside `.cairn/` when `cwd` is in a cairn
/// repository (whose cache then serves and keeps the listings), else in
/// the system's temporary directory.
pub fn ls_url(
    cwd: &Path,
    url: &str,
    rev: &str,
    opts: LsOptions,
    progress: &dyn Progress,
) -> Result<LsReport> {
    let here = Session::open(cwd).ok();
    let parent = match &here {
        Some(s) => s.workspace().cairn_dir(),
        None => std::env::temp_dir(),
    };
    let scratch = tempfile::Builder::new()
        .prefix(crate::durable::TMP_PREFIX)
        .tempdir_in(&parent)
        .map_err(|e| Error::io("create a scratch directory in", &parent, e))?;
    let mut get = super::get::GetOptions::new(cwd, url, ".");
    get.rev = rev.to_string();
    let session = super::get::scratch_repository(&get, scratch.path())?;
    let mut report = ls(
        &session,
        LsOptions {
            rev: Some("FETCH_HEAD".into()),
            ..opts
        },
        progress,
    )?;
    report.rev = Some(rev.to_string());
    Ok(report)
}

/// The row of one tracked path.
fn row(rel: &str, p: &Pointer) -> Listed {
    let (kind, files) = match p {
        Pointer::File { .. } => ("file", 1),
        Pointer::Dir { files, .. } => ("dir", *files),
    };
    Listed {
        files,
        id: p.id(),
        kind,
        path: rel.to_string(),
        size: p.size(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The report serialises to the JSON `ls --json` built by hand (with
    /// `json!`) before: same keys, same order, same bytes.
    #[test]
    fn report_prints_as_it_always_has() {
        let listed = vec![
            Listed {
                files: 3,
                id: Id::of(b"dir"),
                kind: "dir",
                path: "data".into(),
                size: 30,
            },
            Listed {
                files: 1,
                id: Id::of(b"file"),
                kind: "file",
                path: "model.bin".into(),
                size: 7,
            },
        ];
        for (rev, commit) in [(Some("v1"), Some("c0ffee")), (None, None)] {
            let report = LsReport {
                commit: commit.map(str::to_string),
                paths: listed.clone(),
                rev: rev.map(str::to_string),
            };
            let rows: Vec<_> = listed
                .iter()
                .map(|e| json!({"path": e.path, "kind": e.kind, "size": e.size, "files": e.files, "id": e.id.to_hex()}))
                .collect();
            let before = json!({"rev": rev, "commit": commit, "paths": rows});
            assert_eq!(serde_json::to_string(&report).unwrap(), before.to_string());
        }
    }
}
