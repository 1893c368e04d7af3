//! `cat [REV:]PATH`: one tracked file, or one file inside a tracked
//! directory, streamed to a writer (what `git show REV:path` is for git).
//!
//! Only what that file needs is fetched (the directory listing, the file's
//! manifest and its chunks), into the cache; no data in the work tree is
//! written or read, so it works at any revision without a checkout. The
//! bytes come through `engine::read::FileReader`: every chunk is
//! verified, memory holds one chunk, and the whole file's hash is checked
//! at the end.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use super::fetch::{fetch, missing_data, FetchOutcome, RevisionNames};
use super::select::select_at;
use super::Session;
use crate::engine::listing;
use crate::engine::read::FileReader;
use crate::error::{Error, Result};
use crate::format::pointer::Pointer;
use crate::progress::Progress;

#[derive(Debug, Clone, Default)]
pub struct CatOptions {
    /// The revision; `None`: the work tree's pointers.
    pub rev: Option<String>,
    /// Repository-relative path of a tracked file or of a file inside a
    /// tracked directory.
    pub path: String,
    /// The remote to fetch from (a name or URL); default: the configured one.
    pub remote: Option<String>,
}

/// What was streamed. Printed to stderr with `--json`, since stdout
/// carries the file.
#[derive(Debug, Clone, Serialize)]
pub struct CatReport {
    pub path: String,
    pub rev: Option<String>,
    /// Bytes written.
    pub size: u64,
    /// What had to be fetched first (nothing when the cache had it).
    pub fetch: FetchOutcome,
}

/// Stream the file `opts` names into `out`.
///
/// ```no_run
/// use std::path::Path;
/// use cairn::ops::cat::{cat, CatOptions};
/// use cairn::ops::Session;
/// use cairn::progress::Silent;
///
/// let s = Session::open(Path::new("."))?;
/// let opts = CatOptions {
///     rev: Some("v1".into()),
///     path: "data/raw/part1.csv".into(),
///     ..Default::default()
/// };
/// let mut bytes = Vec::new();
/// let report = cat(&s, opts, &mut bytes, &Silent, None)?;
/// assert_eq!(report.size, bytes.len() as u64);
/// # Ok::<(), cairn::Error>(())
/// ```
pub fn cat(
    s: &Session,
    opts: CatOptions,
    out: &mut dyn Write,
    progress: &dyn Progress,
    waits: super::Waits,
) -> Result<CatReport> {
    let not_tracked = || Error::NoFileAt {
        path: opts.path.clone(),
        rev: opts.rev.clone().unwrap_or_else(|| "the work tree".into()),
    };
    let selected = select_at(
        s,
        opts.rev.as_deref(),
        std::slice::from_ref(&opts.path),
        progress,
    )
    .map_err(|e| match e {
        // An unknown revision, or no git, is its own error.
        Error::NotTracked { .. } => not_tracked(),
        e => e,
    })?;
    let [(rel, ptr, only)] = selected.as_slice() else {
        return Err(not_tracked());
    };
    let fetched = fetch(s, &selected, opts.remote.as_deref(), progress, waits)?;
    if !fetched.absent.is_empty() {
        let names = RevisionNames::new(s.git(), opts.rev.as_deref());
        return Err(Error::DataNotOnRemote {
            remote: fetched.remote.clone().unwrap_or_default(),
            missing: missing_data(s.workspace(), &fetched, &selected, &names),
        });
    }
    let store = s.store(progress)?;
    let (id, size) = match (ptr, only) {
        (Pointer::File { id, size, .. }, None) => (*id, *size),
        (Pointer::Dir { id, .. }, Some(inside)) => {
            // Only the nodes that can hold `inside` are read.
            let entries = listing::read_at(store, id, Some(inside), &PathBuf::from(rel))?;
            let entry = entries
                .iter()
                .find(|e| e.path == *inside)
                .ok_or_else(not_tracked)?;
            (entry.id, entry.size)
        }
        // A whole directory is not one file.
        _ => return Err(not_tracked()),
    };
    let mut reader = FileReader::open(store, id, size, PathBuf::from(&opts.path))?;
    if let Err(e) = std::io::copy(&mut reader, out) {
        // The reader's own failures (a damaged or missing chunk) travel
        // inside the io::Error; anything else is the writer's.
        if e.get_ref().is_some_and(|r| r.is::<Error>()) {
            if let Some(Ok(err)) = e.into_inner().map(|b| b.downcast::<Error>()) {
                return Err(*err);
            }
            return Err(Error::io(
                "read",
                &opts.path,
                std::io::Error::other("stream failed"),
            ));
        }
        return Err(Error::io("write", "standard output", e));
    }
    Ok(CatReport {
        path: opts.path,
        rev: opts.rev,
        size,
        fetch: fetched,
    })
}
