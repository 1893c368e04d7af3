//! `pull [REV] [PATH…]`: fetch, then check out — what CI runs after
//! `git clone` (and `git checkout TAG`) to get an experiment's exact data.
//!
//! A pull restores every path whose data it could get. Paths whose data is
//! on no remote are left as they are and reported, each with the revision
//! that needs it, so the caller can fail naming them and the command that
//! fixes it, instead of restoring nothing at all.

use serde::Serialize;

use super::checkout::{checkout, CheckoutOptions, CheckoutReport};
use super::fetch::{fetch, FetchOutcome, RevisionNames};
use super::select::select_at;
use super::Session;
use crate::error::{MissingData, Result};
use crate::progress::Progress;

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    pub rev: Option<String>,
    /// Repository-relative paths to limit it to; empty: all.
    pub paths: Vec<String>,
    /// The remote (a name or URL); default: the configured one.
    pub remote: Option<String>,
    /// Overwrite changes cairn has not recorded.
    pub force: bool,
    /// Restore straight from the remote without storing data in the cache
    /// (`--no-cache`, for CI): see [`super::pull_direct`].
    pub no_cache: bool,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct PullReport {
    pub fetch: FetchOutcome,
    pub checkout: CheckoutReport,
    /// Tracked paths left unrestored because no remote has their data.
    pub missing: Vec<MissingData>,
}

pub fn pull(
    s: &Session,
    opts: PullOptions,
    progress: &dyn Progress,
    waits: super::Waits,
) -> Result<PullReport> {
    if opts.no_cache {
        return super::pull_direct::pull_direct(s, opts, progress, waits);
    }
    let selected = select_at(s, opts.rev.as_deref(), &opts.paths, progress)?;
    let fetched = fetch(s, &selected, opts.remote.as_deref(), progress, waits)?;
    let co = CheckoutOptions {
        force: opts.force,
        only_complete: true,
        ..CheckoutOptions::new(opts.rev.clone(), opts.paths.clone())
    };
    let report = checkout(s, co, progress)?;
    Ok(finish(s, opts.rev.as_deref(), fetched, report))
}

/// The report of a pull whose checkout left `report.incomplete` paths
/// without their data: each named with the revision it was wanted at.
pub(super) fn finish(
    s: &Session,
    rev: Option<&str>,
    fetched: FetchOutcome,
    report: CheckoutReport,
) -> PullReport {
    let names = RevisionNames::new(s.git(), rev);
    let missing = report
        .incomplete
        .iter()
        .map(|path| MissingData {
            path: path.clone(),
            rev: names.of(s.workspace(), path),
        })
        .collect();
    PullReport {
        fetch: fetched,
        checkout: report,
        missing,
    }
}
