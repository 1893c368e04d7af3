//! `cairn du [REV] [PATH…] [-r REMOTE]`: what tracked data costs
//! (`ops::du`): logical, unique, cached and remote bytes per path with a
//! totals row, or as JSON (raw byte counts).

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::args::{help, Format, Remote, RevPaths, REMOTE, REV_PATHS};
use super::session::open_session;
use super::ui::{human, Ui};
use crate::ops::du::{du, DuOptions};
use crate::ops::select::Selection;

/// `--help` for the `REV|PATH` words.
const WORDS_HELP: &str =
    "A git revision (commit, tag, branch, HEAD~2, main@{1}) and/or tracked paths to report; \
    without a revision, the work tree's pointers";

/// `--help` for `-r`.
const REMOTE_HELP: &str = "Also count the bytes on this remote (a name or URL), from its index";

#[derive(Debug, Args)]
#[command(
    mut_args(help(REV_PATHS, WORDS_HELP)),
    mut_args(help(REMOTE, REMOTE_HELP))
)]
#[command(
    after_help = "Columns: logical = the data's size; unique = uncompressed bytes in \
    chunks no other path tracked at that version shares; cache and remote = bytes as stored \
    (compressed). The total counts objects shared between paths once."
)]
pub struct DuArgs {
    #[command(flatten)]
    pub select: RevPaths,
    #[command(flatten)]
    pub remote: Remote,
    #[command(flatten)]
    pub format: Format,
}

pub fn run(ui: &Ui, cwd: &Path, args: DuArgs) -> anyhow::Result<ExitCode> {
    let session = open_session(ui, cwd)?;
    let Selection { rev, paths } = Selection::parse(&session, cwd, &args.select.words)?;
    let opts = DuOptions {
        rev,
        paths,
        remote: args.remote.remote,
    };
    let report = du(&session, opts, &ui.progress())?;
    if args.format.json {
        super::ui::print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let remote = report.remote.is_some();
    let line = |logical: u64, unique: u64, stored: u64, on: Option<u64>, path: &str| {
        let on = if remote {
            format!(" {:>10}", on.map(human).unwrap_or_default())
        } else {
            String::new()
        };
        println!(
            "{:>10} {:>10} {:>10}{on}  {path}",
            human(logical),
            human(unique),
            human(stored)
        );
    };
    let on_header = if remote {
        format!(" {:>10}", "remote")
    } else {
        String::new()
    };
    println!(
        "{:>10} {:>10} {:>10}{on_header}  path",
        "logical", "unique", "cache"
    );
    for r in &report.paths {
        line(
            r.logical_bytes,
            r.unique_bytes,
            r.stored_bytes,
            r.remote_bytes,
            &r.path,
        );
    }
    let t = &report.total;
    line(
        t.logical_bytes,
        t.unique_bytes,
        t.stored_bytes,
        t.remote_bytes,
        "total",
    );
    if !report.complete {
        let short: Vec<&str> = report
            .paths
            .iter()
            .filter(|r| !r.complete)
            .map(|r| r.path.as_str())
            .collect();
        ui.warn(format!(
            "the cache lacks part of the data of {}; its unique, cache and remote counts leave that part out (`cairn fetch` gets it)",
            short.join(", ")
        ));
    }
    Ok(ExitCode::SUCCESS)
}
