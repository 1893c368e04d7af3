//! `cairn push [REV] [PATH…]`: send the data the pointers name to a remote.
//! Only what the remote lacks moves; a push with nothing new reads the
//! remote's index listing and stops.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::fetch::{reach, select};
use super::ui::{human, Ui};
use crate::remote;
use crate::store::Store;
use crate::transfer::{push, Connection};
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct PushArgs {
    /// A git revision whose data to push, and/or tracked paths. Default:
    /// everything the work tree's pointers and HEAD's name.
    #[arg(value_name = "REV|PATH")]
    pub args: Vec<String>,
    /// The remote to push to (default: the configured default remote).
    #[arg(short, long, value_name = "NAME")]
    pub remote: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ui: &Ui, cwd: &Path, args: PushArgs) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(cwd)?;
    let (_, selected) = select(&ws, cwd, &args.args, &ui.progress())?;
    // With no arguments, HEAD's data goes too: it is what a clone gets,
    // even when the work tree holds another revision's data just now.
    let mut also = Vec::new();
    if args.args.is_empty() {
        if let Ok(git) = crate::git::GitRepo::open(ws.root()) {
            if let Ok(at_head) = crate::history::pointers_at(&git, "HEAD") {
                also.extend(at_head.into_iter().map(|(rel, ptr)| (rel, ptr, None)));
            }
        }
    }
    push_with(ui, &ws, &selected, &also, args.remote.as_deref(), args.json)
}

pub(crate) fn push_selected(
    ui: &Ui,
    ws: &Workspace,
    selected: &super::fetch::Selected,
    remote_name: Option<&str>,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    push_with(ui, ws, selected, &[], remote_name, json_out)
}

/// Push what `selected` needs (all of it must be in the cache or on the
/// remote) plus whatever of `also` the cache holds.
fn push_with(
    ui: &Ui,
    ws: &Workspace,
    selected: &super::fetch::Selected,
    also: &[(String, crate::pointer::Pointer, Option<String>)],
    remote_name: Option<&str>,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    let resolved = remote::resolve(&ws.cairn_dir(), ws.root(), remote_name)?;
    let name = resolved.name.clone();
    let store = Store::open(&ws.cache_dir(), &crate::progress::Silent)?;
    let mut r = reach(&store, selected)?;
    if !also.is_empty() {
        // The same walk goes on: HEAD's pointers mostly name what the work
        // tree's do, and objects already reached are not read again. What
        // only `also` needs is pushed if the cache has it, never required.
        let required: std::collections::HashSet<_> =
            r.missing.iter().map(|m| (m.kind, m.id)).collect();
        let strict = r.missing.len();
        for (rel, ptr, only) in also {
            r.add_pointer_only(&store, rel, ptr, only.as_deref())?;
        }
        r.missing.truncate(strict);
        r.objects
            .retain(|(k, id)| required.contains(&(*k, *id)) || store.contains(*k, id));
    }
    let mut conn = Connection::open(resolved, &ws.cache_dir(), true)?;
    conn.report_waits_to(ui.waits());
    let bar = ui.progress();
    let report = push::push(&conn, &store, &r.objects, &r.missing, &bar)?;
    if json_out {
        println!(
            "{}",
            json!({
                "remote": name,
                "objects": report.objects,
                "packs": report.packs,
                "resumed_packs": report.resumed,
                "bytes": report.bytes,
                "requests": {"reads": conn.reads(), "writes": conn.writes()},
            })
        );
    } else if report.objects == 0 {
        ui.info(format!(
            "{name} is up to date ({} request(s))",
            conn.reads()
        ));
    } else {
        ui.info(format!(
            "pushed {} object(s) to {name}: {} pack(s), {}{}; {} request(s)",
            report.objects,
            report.packs,
            human(report.bytes),
            if report.resumed > 0 {
                format!(
                    ", {} pack(s) already sent by an interrupted push",
                    report.resumed
                )
            } else {
                String::new()
            },
            conn.reads() + conn.writes()
        ));
    }
    Ok(ExitCode::SUCCESS)
}
