//! `ls [REV] [PATH…]`: the tracked data of a revision, or of the work tree,
//! as its pointers describe it.
//!
//! Listing reads pointers only (from git objects for a revision, from the
//! pointer files otherwise), never the cache or the data, so it is instant
//! and answers for data this clone has never fetched. A path that names no
//! tracked data lists nothing rather than failing, like `git ls-files`.

use serde::Serialize;

use crate::error::Result;
use crate::format::pointer::Pointer;
use crate::hash::Id;
use crate::progress::Progress;

use super::select::Selection;
use super::Session;

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct LsOptions {
    /// The revision; `None`: the work tree's pointers.
    pub rev: Option<String>,
    /// Repository-relative paths to limit it to; empty: all.
    pub paths: Vec<String>,
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
    let paths = selection
        .tracked(s, progress)?
        .into_iter()
        .map(|(path, p)| {
            let (kind, files) = match p {
                Pointer::File { .. } => ("file", 1),
                Pointer::Dir { files, .. } => ("dir", files),
            };
            Listed {
                files,
                id: p.id(),
                kind,
                path,
                size: p.size(),
            }
        })
        .collect();
    Ok(LsReport {
        commit,
        paths,
        rev: selection.rev,
    })
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
