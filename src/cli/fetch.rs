//! `cairn fetch [REV] [PATH…]`: download the data some pointers need into
//! the cache, without touching the work tree. Also the selection logic that
//! `push` and `pull` share.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::ui::{human, Ui};
use crate::git::GitRepo;
use crate::history::{pointers_at, split_rev};
use crate::pointer::Pointer;
use crate::reach::Reach;
use crate::remote;
use crate::status::read_pointer_or_skip;
use crate::store::Store;
use crate::transfer::{self, Connection};
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// A git revision whose data to fetch, and/or tracked paths (or paths
    /// inside tracked directories). Default: everything the work tree's
    /// pointers name.
    #[arg(value_name = "REV|PATH")]
    pub args: Vec<String>,
    /// The remote to use (default: the configured default remote).
    #[arg(short, long, value_name = "NAME")]
    pub remote: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Pointers a transfer works on: tracked path, pointer, and the sub-path
/// inside a tracked directory when only part of it was asked for.
pub(crate) type Selected = Vec<(String, Pointer, Option<String>)>;

/// Resolve `REV|PATH…` words to pointers, at REV or in the work tree.
pub(crate) fn select(
    ws: &Workspace,
    cwd: &Path,
    words: &[String],
    progress: &dyn crate::progress::Progress,
) -> anyhow::Result<(Option<String>, Selected)> {
    let git = GitRepo::open(ws.root()).ok();
    let (rev, paths) = split_rev(ws, git.as_ref(), cwd, words)?;
    let mut out = Vec::new();
    match (&rev, &git) {
        (Some(r), Some(g)) => {
            let at = pointers_at(g, r)?;
            let rels: Vec<String> = at.iter().map(|(rel, _)| rel.clone()).collect();
            for (rel, only) in super::select_tracked_rel(ws, &rels, &paths)? {
                if let Some((_, ptr)) = at.iter().find(|(t, _)| *t == rel) {
                    out.push((rel, ptr.clone(), only));
                }
            }
        }
        _ => {
            let tracked = ws.find_tracked()?;
            for (rel, only) in super::select_tracked_rel(ws, &tracked, &paths)? {
                if let Some(ptr) = read_pointer_or_skip(ws, &rel, progress)? {
                    out.push((rel, ptr, only));
                }
            }
        }
    }
    Ok((rev, out))
}

/// Everything `selected` reaches, against `store`.
pub(crate) fn reach(store: &Store, selected: &Selected) -> crate::Result<Reach> {
    let mut r = Reach::default();
    for (rel, ptr, only) in selected {
        r.add_pointer_only(store, rel, ptr, only.as_deref())?;
    }
    Ok(r)
}

/// What a fetch did, for messages and JSON.
pub(crate) struct Fetched {
    pub remote: Option<String>,
    pub report: transfer::fetch::FetchReport,
    pub reads: u64,
}

/// Fetch what `selected` needs and the cache lacks. Connects to a remote
/// only when something is missing.
pub(crate) fn fetch_selected(
    ui: &Ui,
    ws: &Workspace,
    selected: &Selected,
    remote_name: Option<&str>,
) -> anyhow::Result<Fetched> {
    let store = Store::open(&ws.cache_dir(), &crate::progress::Silent)?;
    let _lock = store.lock()?;
    if reach(&store, selected)?.missing.is_empty() {
        return Ok(Fetched {
            remote: None,
            report: Default::default(),
            reads: 0,
        });
    }
    let resolved = remote::resolve(&ws.cairn_dir(), ws.root(), remote_name)?;
    let name = resolved.name.clone();
    let mut conn = Connection::open(resolved, &ws.cache_dir(), false)?;
    conn.report_waits_to(ui.waits());
    let bar = ui.progress();
    let mut needs = |s: &Store| reach(s, selected).map(|r| r.missing);
    let report = transfer::fetch::fetch(&conn, &store, &mut needs, &bar)?;
    Ok(Fetched {
        remote: Some(name),
        report,
        reads: conn.reads(),
    })
}

pub(crate) fn print_fetched(ui: &Ui, f: &Fetched, json_out: bool) {
    if json_out {
        println!(
            "{}",
            json!({
                "remote": f.remote,
                "objects": f.report.objects,
                "bytes": f.report.bytes,
                "requests": {"reads": f.reads, "writes": 0},
            })
        );
    } else if let Some(r) = &f.remote {
        ui.info(format!(
            "fetched {} object(s) ({}) from {r} in {} request(s)",
            f.report.objects,
            human(f.report.bytes),
            f.reads
        ));
    } else {
        ui.info("nothing to fetch: the cache has all the data");
    }
}

pub fn run(ui: &Ui, cwd: &Path, args: FetchArgs) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(cwd)?;
    let (_, selected) = select(&ws, cwd, &args.args, &ui.progress())?;
    let f = fetch_selected(ui, &ws, &selected, args.remote.as_deref())?;
    print_fetched(ui, &f, args.json);
    Ok(ExitCode::SUCCESS)
}
