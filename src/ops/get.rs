//! `get URL PATH [--rev R] [-o OUT]`: one dataset or model from another git
//! repository and its remote, without cloning it.
//!
//! Only one commit of the other repository is fetched, history depth 1 and
//! without large blobs, into a scratch repository beside OUT. Its pointer
//! and config are written there, the data is fetched and checked out as in
//! any clone (verified chunk by chunk), and the result is renamed into OUT.
//! The scratch directory is removed whatever happens; OUT is never
//! overwritten, and is only created once all the data is there. Run inside
//! a cairn repository, the data goes through (and stays in) that
//! repository's cache, so getting it again costs nothing.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::durable::write_atomic;
use crate::error::{Error, MissingData, Result};
use crate::format::pointer::SUFFIX;
use crate::progress::Progress;
use crate::remote::{Location, RemoteConfig};
use crate::repo::git::GitRepo;
use crate::repo::workspace::{Workspace, CAIRN_DIR};

use super::checkout::{checkout, CheckoutOptions};
use super::fetch::{fetch, missing_data, FetchOutcome, RevisionNames};
use super::select::Selection;
use super::Session;

/// What to get, from where, into where.
#[derive(Debug, Clone)]
pub struct GetOptions {
    /// The git repository holding the pointers: any URL git understands, or
    /// a path (relative to `cwd`).
    pub url: String,
    /// The tracked path in that repository, or a path inside a tracked
    /// directory.
    pub path: String,
    /// The revision to get it at (branch, tag or commit id).
    pub rev: String,
    /// Where to put it, relative to `cwd`; `None`: the path's last
    /// component.
    pub out: Option<PathBuf>,
    /// The remote to fetch from, a name or a URL (a folder relative to
    /// `cwd`); `None`: that repository's default remote.
    pub remote: Option<String>,
    /// The directory the user is in.
    pub cwd: PathBuf,
    /// Requests in flight at once (`-j`); `None`: `transfer.jobs` or the
    /// default.
    pub jobs: Option<usize>,
}

impl GetOptions {
    /// `path` of `url` at HEAD, into the current directory `cwd`, from the
    /// repository's default remote.
    pub fn new(cwd: impl Into<PathBuf>, url: impl Into<String>, path: impl Into<String>) -> Self {
        GetOptions {
            url: url.into(),
            path: path.into(),
            rev: "HEAD".into(),
            out: None,
            remote: None,
            cwd: cwd.into(),
            jobs: None,
        }
    }
}

/// What a get did.
#[derive(Debug, Clone, Serialize)]
pub struct GetReport {
    /// The path asked for (without surrounding slashes).
    pub path: String,
    pub rev: String,
    /// The repository, with any credentials redacted.
    pub url: String,
    /// Where the data now is.
    pub out: PathBuf,
    /// Bytes of data written there.
    pub size: u64,
    pub fetch: FetchOutcome,
    /// Data that no remote has. When not empty, nothing was written to
    /// `out`.
    pub missing: Vec<MissingData>,
    /// Whether the path was there. `false`: it names a path inside a
    /// tracked directory that the directory does not hold (learnt only
    /// once its listing was fetched), and nothing was written to `out`.
    pub found: bool,
}

impl GetReport {
    /// Why nothing was got, as the error a command fails with (after
    /// saying what was fetched); `None` when the data is at `out`.
    pub fn failure(&self) -> Option<Error> {
        if !self.missing.is_empty() {
            return Some(Error::DataNotOnRemote {
                remote: self.fetch.remote.clone().unwrap_or_default(),
                missing: self.missing.clone(),
            });
        }
        if !self.found {
            return Some(Error::NotTrackedAt {
                path: self.path.clone(),
                rev: self.rev.clone(),
                url: self.url.clone(),
            });
        }
        None
    }
}

/// Get `opts.path` of another repository into `opts.out`. `progress` hears
/// of the fetch; `waits` of requests that keep it waiting. Once something
/// was fetched, a failure is reported in the result (see
/// [`GetReport::failure`]), so the caller can say what was fetched first.
///
/// ```no_run
/// use cairn::ops::get::{get, GetOptions};
/// use cairn::progress::Silent;
///
/// let opts = GetOptions {
///     rev: "v1".into(),
///     ..GetOptions::new(".", "https://example.com/lab/models.git", "models/small")
/// };
/// let got = get(opts, &Silent, None)?;
/// if let Some(e) = got.failure() {
///     return Err(e);
/// }
/// println!("{} bytes into {}", got.size, got.out.display());
/// # Ok::<(), cairn::Error>(())
/// ```
pub fn get(opts: GetOptions, progress: &dyn Progress, waits: super::Waits) -> Result<GetReport> {
    let cwd = opts.cwd.as_path();
    let want = opts.path.trim_matches('/').to_string();
    crate::format::object::check_rel_path(&want).map_err(|reason| Error::UnsafePath {
        path: want.clone(),
        reason,
    })?;
    let name = want.rsplit('/').next().unwrap_or(&want).to_string();
    let out = cwd.join(opts.out.clone().unwrap_or_else(|| PathBuf::from(&name)));
    if out.symlink_metadata().is_ok() {
        return Err(Error::OutputExists { path: out });
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(cwd)
        .to_path_buf();
    let scratch = tempfile::Builder::new()
        .prefix(crate::durable::TMP_PREFIX)
        .tempdir_in(&parent)
        .map_err(|e| Error::io("create a scratch directory in", &parent, e))?;
    let tmp = scratch.path();
    let url = crate::remote::redact(&opts.url);

    let mut session = scratch_repository(&opts, tmp)?;
    session.set_jobs(opts.jobs);
    let ws = session.workspace();
    let head = Selection {
        rev: Some("FETCH_HEAD".into()),
        paths: vec![want.clone()],
    };
    let selected = head.pointers(&session, progress).map_err(|e| match e {
        Error::NotTracked { .. } => Error::NotTrackedAt {
            path: want.clone(),
            rev: opts.rev.clone(),
            url: url.clone(),
        },
        e => e,
    })?;
    for (rel, ptr, _) in &selected {
        write_atomic(
            &ws.safe_abs(&format!("{rel}{SUFFIX}"))?,
            ptr.encode().as_bytes(),
        )?;
    }
    // A folder given as `-r` is relative to where the user is, not to the
    // scratch repository the fetch runs in.
    let remote = opts.remote.as_deref().map(|r| {
        let p = Path::new(r);
        if crate::remote::settings::is_url(r) && !r.contains("://") && p.is_relative() {
            cwd.join(p).to_string_lossy().into_owned()
        } else {
            r.to_string()
        }
    });
    let fetched = fetch(&session, &selected, remote.as_deref(), progress, waits)?;
    let mut report = GetReport {
        path: want.clone(),
        rev: opts.rev,
        url,
        out: out.clone(),
        size: 0,
        missing: Vec::new(),
        found: true,
        fetch: fetched,
    };
    if !report.fetch.absent.is_empty() {
        let names = RevisionNames::new(None, Some(&report.rev));
        report.missing = missing_data(ws, &report.fetch, &selected, &names);
        return Ok(report);
    }
    checkout(
        &session,
        CheckoutOptions::new(None, vec![want.clone()]),
        &crate::progress::Silent,
    )?;
    let got = ws.safe_abs(&want)?;
    if got.symlink_metadata().is_err() {
        // A path inside a tracked directory that the directory lacks.
        report.found = false;
        return Ok(report);
    }
    report.size = dir_size(&got);
    std::fs::rename(&got, &out).map_err(|e| Error::io("move the data to", &out, e))?;
    Ok(report)
}

/// Fetch `opts.rev` of the other repository into `tmp` and make it a cairn
/// repository there: its committed config, plus local settings that point
/// folder remotes named relative to that repository at the right place and,
/// when run inside a cairn repository, share that repository's cache.
pub(super) fn scratch_repository(opts: &GetOptions, tmp: &Path) -> Result<Session> {
    // A local repository may be named relative to here, or by file://.
    let named = Path::new(opts.url.strip_prefix("file://").unwrap_or(&opts.url));
    let source_dir = std::fs::canonicalize(opts.cwd.join(named))
        .ok()
        .filter(|p| p.is_dir());
    let url = match &source_dir {
        Some(p) => p.to_string_lossy().into_owned(),
        None => opts.url.clone(),
    };
    let git = GitRepo::fetch_one(&url, &opts.rev, tmp)?;
    let config = git
        .file_at("FETCH_HEAD", ".cairn/config.toml")?
        .ok_or_else(|| Error::NotInitialized {
            root: PathBuf::from(crate::remote::redact(&opts.url)),
        })?;
    let cairn_dir = tmp.join(CAIRN_DIR);
    std::fs::create_dir_all(&cairn_dir).map_err(|e| Error::io("create", &cairn_dir, e))?;
    write_atomic(&cairn_dir.join("config.toml"), &config)?;

    let mut local = String::new();
    if let Some(base) = &source_dir {
        for r in RemoteConfig::load(&cairn_dir.join("config.toml"))?.list(base)? {
            if let Location::Folder(p) = &r.location {
                local.push_str(&format!(
                    "[remote.{}]\nurl = {}\n",
                    toml_str(&r.name),
                    toml_str(&p.to_string_lossy())
                ));
            }
        }
    }
    if let Ok(here) = Workspace::open(&opts.cwd) {
        local.push_str(&format!(
            "[cache]\ndir = {}\n",
            toml_str(&here.cache_dir().to_string_lossy())
        ));
    }
    write_atomic(&cairn_dir.join("config.local.toml"), local.as_bytes())?;
    Session::open(tmp)
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Bytes of the files at or below `p`.
fn dir_size(p: &Path) -> u64 {
    walkdir::WalkDir::new(p)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}
