//! `cat [REV:]PATH`: one tracked file, or one file inside a tracked
//! directory, streamed to a writer (what `git show REV:path` is for git).
//!
//! Only the metadata that file needs (the directory listing, the file's
//! manifest) is fetched into the cache; chunks the cache lacks are read
//! from the remote by range as the stream goes (`ops::open`), never
//! written to disk. No data in the work tree is written or read, so it
//! works at any revision without a checkout. The bytes come through
//! `engine::read::FileReader`: every chunk is verified, memory holds a
//! window of a few MiB, and the whole file's hash is checked at the end.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use super::fetch::FetchOutcome;
use super::open::prepare;
use super::Session;
use crate::engine::read::FileReader;
use crate::error::{Error, Result};
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
    /// What was fetched: metadata into the cache, chunks read from the
    /// remote (nothing when the cache had it all).
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
    let prepared = prepare(
        s,
        opts.rev.as_deref(),
        opts.rev.as_deref(),
        &opts.path,
        opts.remote.as_deref(),
        progress,
        waits,
    )?;
    let store = s.store(progress)?;
    let mut reader = FileReader::open(
        store,
        prepared.id,
        prepared.size,
        PathBuf::from(&opts.path),
        prepared.source(),
    )?;
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
        size: prepared.size,
        fetch: prepared.outcome(),
    })
}
