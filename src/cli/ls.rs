//! `cairn ls [REV] [PATH…]`: tracked data at a revision, or in the work
//! tree (`ops::ls`), one line per tracked path or as JSON.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::ui::Ui;
use crate::ops::ls::{ls, LsOptions};
use crate::ops::select::Selection;
use crate::ops::Session;

#[derive(Debug, Args)]
pub struct LsArgs {
    /// A git revision (commit, tag, branch, HEAD~2, main@{1}) and/or paths to
    /// limit the listing; without a revision, the work tree's pointers.
    #[arg(value_name = "REV|PATH")]
    pub args: Vec<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ui: &Ui, cwd: &Path, args: LsArgs) -> anyhow::Result<ExitCode> {
    let session = Session::open(cwd)?;
    let Selection { rev, paths } = Selection::parse(&session, cwd, &args.args)?;
    let report = ls(&session, LsOptions { rev, paths }, &ui.progress())?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    for e in &report.paths {
        println!(
            "{:<4} {:>14} {:>8} {} {}",
            e.kind, e.size, e.files, e.id, e.path
        );
    }
    Ok(ExitCode::SUCCESS)
}
