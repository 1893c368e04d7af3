//! `cairn pull [REV] [PATH…]`: fetch, then check out (`ops::pull`).

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::ui::Ui;
use crate::ops::pull::{pull, PullOptions};
use crate::ops::select::Selection;
use crate::ops::Session;

#[derive(Debug, Args)]
pub struct PullArgs {
    /// A git revision whose data to restore, and/or tracked paths (or
    /// paths inside tracked directories). Default: the work tree's pointers.
    #[arg(value_name = "REV|PATH")]
    pub args: Vec<String>,
    /// The remote to fetch from: a name or a URL (default: the configured
    /// default remote).
    #[arg(short, long, value_name = "NAME|URL")]
    pub remote: Option<String>,
    /// Overwrite or remove data even where it holds changes that were never
    /// added (they are lost).
    #[arg(short, long)]
    pub force: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ui: &Ui, cwd: &Path, args: PullArgs) -> anyhow::Result<ExitCode> {
    let session = Session::open(cwd)?;
    let Selection { rev, paths } = Selection::parse(&session, cwd, &args.args)?;
    let opts = PullOptions {
        rev,
        paths,
        remote: args.remote,
        force: args.force,
    };
    let bar = ui.progress();
    let report = pull(&session, opts, &bar, Some(ui.waits()))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        super::fetch::print_fetched(ui, &report.fetch);
        super::checkout::print_report(ui, &report.checkout);
        if report.checkout.files_written > 0 && !super::hooks::installed(&session) {
            ui.info("hint: `cairn install-hooks` makes `git checkout` and `git pull` restore data by themselves");
        }
    }
    if !report.missing.is_empty() {
        let remote = report
            .fetch
            .remote
            .clone()
            .unwrap_or_else(|| "the remote".into());
        return Err(crate::Error::DataNotOnRemote {
            remote,
            missing: report.missing,
        }
        .into());
    }
    Ok(ExitCode::SUCCESS)
}
