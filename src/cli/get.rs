//! `cairn get URL PATH [--rev R] [-o OUT]`: fetch one dataset or model
//! from another git repository and its default remote, without cloning it.
//!
//! Only one commit of the other repository is fetched, history depth 1 and
//! without large blobs, into a scratch repository beside OUT. Its pointer
//! and config are written there, the data is pulled as in any clone
//! (verified chunk by chunk), and the result is renamed into OUT. The
//! scratch directory is removed whatever happens; OUT is never overwritten.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::fetch::print_fetched;
use super::ui::{human, Ui};
use crate::durable::write_atomic;
use crate::error::Error;
use crate::format::pointer::SUFFIX;
use crate::ops::fetch::Selected;
use crate::ops::Session;
use crate::remote::{Location, RemoteConfig};
use crate::repo::git::GitRepo;
use crate::repo::history::pointers_at;
use crate::repo::workspace::Workspace;

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The git repository holding the pointers: any URL git understands,
    /// or a path.
    pub url: String,
    /// The tracked path in that repository, or a path inside a tracked
    /// directory.
    pub path: String,
    /// The revision to get it at (branch, tag or commit id).
    #[arg(long, default_value = "HEAD")]
    pub rev: String,
    /// Where to put it (default: the path's last component, here).
    #[arg(short, long, value_name = "OUT")]
    pub out: Option<PathBuf>,
    /// The remote to fetch from, a name or a URL (default: that
    /// repository's default remote).
    #[arg(short, long, value_name = "NAME|URL")]
    pub remote: Option<String>,
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

pub fn run(ui: &Ui, cwd: &Path, args: GetArgs) -> anyhow::Result<ExitCode> {
    let want = args.path.trim_matches('/').to_string();
    crate::format::object::check_rel_path(&want).map_err(|reason| Error::UnsafePath {
        path: want.clone(),
        reason,
    })?;
    let name = want.rsplit('/').next().unwrap_or(&want).to_string();
    let out = cwd.join(args.out.clone().unwrap_or_else(|| PathBuf::from(&name)));
    if out.symlink_metadata().is_ok() {
        return Err(Error::OutputExists { path: out }.into());
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

    // A local repository may be named relative to here, or by file://.
    let named = Path::new(args.url.strip_prefix("file://").unwrap_or(&args.url));
    let source_dir = std::fs::canonicalize(cwd.join(named))
        .ok()
        .filter(|p| p.is_dir());
    let url = match &source_dir {
        Some(p) => p.to_string_lossy().into_owned(),
        None => args.url.clone(),
    };
    let git = GitRepo::fetch_one(&url, &args.rev, tmp).map_err(Error::from)?;
    let head = "FETCH_HEAD";
    let config = git
        .file_at(head, ".cairn/config.toml")
        .map_err(Error::from)?
        .ok_or_else(|| Error::NotInitialized {
            root: PathBuf::from(crate::remote::redact(&args.url)),
        })?;
    let cairn_dir = tmp.join(crate::repo::workspace::CAIRN_DIR);
    std::fs::create_dir_all(&cairn_dir).map_err(|e| Error::io("create", &cairn_dir, e))?;
    write_atomic(&cairn_dir.join("config.toml"), &config)?;

    // Local overrides: folder remotes named relative to that repository,
    // and this repository's cache when run inside one (so data is shared).
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
    if let Ok(here) = Workspace::open(cwd) {
        local.push_str(&format!(
            "[cache]\ndir = {}\n",
            toml_str(&here.cache_dir().to_string_lossy())
        ));
    }
    write_atomic(&cairn_dir.join("config.local.toml"), local.as_bytes())?;

    let session = Session::open(tmp)?;
    let ws = session.workspace();
    let tracked = pointers_at(&git, head)?;
    let rels: Vec<String> = tracked.iter().map(|(r, _)| r.clone()).collect();
    let sel = crate::repo::history::select_tracked_rel(ws, &rels, std::slice::from_ref(&want))
        .map_err(|_| Error::NotTrackedAt {
            path: want.clone(),
            rev: args.rev.clone(),
            url: crate::remote::redact(&args.url),
        })?;
    let mut selected: Selected = Vec::new();
    for (rel, only) in sel {
        let (_, ptr) = tracked
            .iter()
            .find(|(t, _)| *t == rel)
            .expect("selected from this list");
        write_atomic(
            &ws.safe_abs(&format!("{rel}{SUFFIX}"))?,
            ptr.encode().as_bytes(),
        )?;
        selected.push((rel, ptr.clone(), only));
    }
    // A folder given as `-r` is relative to where the user is, not to the
    // scratch repository the fetch runs in.
    let remote = args.remote.as_deref().map(|r| {
        let p = Path::new(r);
        if crate::remote::settings::is_url(r) && !r.contains("://") && p.is_relative() {
            cwd.join(p).to_string_lossy().into_owned()
        } else {
            r.to_string()
        }
    });
    let f = crate::ops::fetch::fetch(
        &session,
        &selected,
        remote.as_deref(),
        &ui.progress(),
        Some(ui.waits()),
    )?;
    print_fetched(ui, &f);
    if !f.absent.is_empty() {
        return Err(Error::DataNotOnRemote {
            remote: f.remote.clone().unwrap_or_default(),
            missing: crate::ops::fetch::missing_data(
                ws,
                &f,
                &selected,
                &crate::ops::fetch::RevisionNames::new(None, Some(&args.rev)),
            ),
        }
        .into());
    }
    crate::ops::checkout::checkout(
        &session,
        crate::ops::checkout::CheckoutOptions::new(None, vec![want.clone()]),
        &crate::progress::Silent,
    )?;
    let got = ws.safe_abs(&want)?;
    if got.symlink_metadata().is_err() {
        // A path inside a tracked directory that the directory lacks.
        return Err(Error::NotTrackedAt {
            path: want,
            rev: args.rev,
            url: crate::remote::redact(&args.url),
        }
        .into());
    }
    let size = dir_size(&got);
    std::fs::rename(&got, &out).map_err(|e| Error::io("move the data to", &out, e))?;
    ui.info(format!(
        "got {want} ({}) at {} from {} into {}",
        human(size),
        args.rev,
        crate::remote::redact(&args.url),
        out.display()
    ));
    Ok(ExitCode::SUCCESS)
}

fn dir_size(p: &Path) -> u64 {
    walkdir::WalkDir::new(p)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}
