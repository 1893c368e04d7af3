//! `cairn checkout [REV] [PATH…]`: make the work tree's data match the
//! pointers (of REV when given). The work is `ops::checkout`; this file
//! parses the words and renders the report.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::args::{help, Format, RevPaths, REV_PATHS};
use super::session::open_session;
use super::ui::{human, Ui};
use crate::engine::left_behind::Fate;
use crate::ops::checkout::{checkout, CheckoutOptions, CheckoutReport};
use crate::ops::select::Selection;

/// `--help` for the `REV|PATH` words.
const WORDS_HELP: &str =
    "A git revision (commit, tag, branch, HEAD~2, main@{1}) whose data to restore, \
    and/or tracked paths (or paths inside tracked directories) to limit it to. \
    Without a revision, the work tree's pointers are used";

#[derive(Debug, Args)]
#[command(mut_args(help(REV_PATHS, WORDS_HELP)))]
pub struct CheckoutArgs {
    #[command(flatten)]
    pub select: RevPaths,
    /// Overwrite or remove data even where it holds changes that were never
    /// added (they are lost).
    #[arg(short, long)]
    pub force: bool,
    #[command(flatten)]
    pub format: Format,
}

pub fn run(ui: &Ui, cwd: &Path, args: CheckoutArgs) -> anyhow::Result<ExitCode> {
    let session = open_session(ui, cwd)?;
    let Selection { rev, paths } = Selection::parse(&session, cwd, &args.select.words)?;
    let opts = CheckoutOptions {
        force: args.force,
        ..CheckoutOptions::new(rev, paths)
    };
    let bar = ui.progress();
    let report = checkout(&session, opts, &bar)?;
    if args.format.json {
        super::ui::print_json(&report)?;
    } else {
        print_report(ui, &report);
    }
    Ok(ExitCode::SUCCESS)
}

/// The one-line summary of a checkout, on stderr.
pub(crate) fn print_report(ui: &Ui, r: &CheckoutReport) {
    ui.info(format!(
        "checked out {} path(s){}: {} file(s) written ({}), {} already up to date, {} removed",
        r.paths,
        r.rev
            .as_deref()
            .map(|r| format!(" at {r}"))
            .unwrap_or_default(),
        r.files_written,
        human(r.bytes_written),
        r.files_unchanged,
        r.files_removed,
    ));
    warn_kept(ui, r);
}

/// Files a hook left alone because they hold changes that were never
/// added, and files left behind by pointers git removed.
pub(crate) fn warn_kept(ui: &Ui, r: &CheckoutReport) {
    warn_left_behind(ui, r);
    if r.kept.is_empty() {
        return;
    }
    for p in &r.kept {
        ui.warn(format!(
            "left {p} as it is: it has changes cairn has not recorded"
        ));
    }
    ui.info("hint: `cairn add <path>` records them; `cairn checkout --force <path>` discards them");
}

/// Data whose pointer git removed: what was removed, and what was kept.
fn warn_left_behind(ui: &Ui, r: &CheckoutReport) {
    let removed: Vec<&str> = r
        .left_behind
        .iter()
        .filter(|l| l.fate == Fate::Removable)
        .map(|l| l.path.as_str())
        .collect();
    if !removed.is_empty() {
        ui.info(format!(
            "removed {} file(s) whose pointers git removed (their data stays in the cache)",
            removed.len()
        ));
        for p in &removed {
            ui.detail(format!("removed {p}"));
        }
    }
    let mut kept = false;
    for l in &r.left_behind {
        let why = match l.fate {
            Fate::Changed => "it holds changes cairn has not recorded",
            Fate::NotStored => "the cache lacks some of its data",
            Fate::Removable | Fate::Gone => continue,
        };
        kept = true;
        ui.warn(format!(
            "left {} as it is: git removed its pointer, but {why}",
            l.path
        ));
    }
    if kept {
        ui.info("hint: `cairn add <path>` tracks it again; delete it yourself if it is no longer needed");
    }
}
