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
    /// everything the work tree's pointers name.
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
    let (_, selected) = select(&ws, cwd, &args.args)?;
    push_selected(ui, &ws, &selected, args.remote.as_deref(), args.json)
}

pub(crate) fn push_selected(
    ui: &Ui,
    ws: &Workspace,
    selected: &super::fetch::Selected,
    remote_name: Option<&str>,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    let resolved = remote::resolve(&ws.cairn_dir(), ws.root(), remote_name)?;
    let name = resolved.name.clone();
    let store = Store::open(&ws.cache_dir(), &crate::progress::Silent)?;
    let r = reach(&store, selected)?;
    let conn = Connection::open(resolved, &ws.cache_dir(), true)?;
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
