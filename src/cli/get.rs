//! `cairn get URL PATH [--rev R] [-o OUT]`: fetch one dataset or model
//! from another git repository and its default remote, without cloning it
//! (`ops::get`), and say what arrived where.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::args::{help, Format, Jobs, Remote, REMOTE};
use super::fetch::print_fetched;
use super::ui::{human, Ui};
use crate::ops::get::{get, GetOptions};

/// `--help` for `-r/--remote`.
const REMOTE_HELP: &str = "The remote to fetch from, a name or a URL (default: that repository's \
    default remote)";

#[derive(Debug, Args)]
#[command(mut_args(help(REMOTE, REMOTE_HELP)))]
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
    #[command(flatten)]
    pub remote: Remote,
    #[command(flatten)]
    pub jobs: Jobs,
    #[command(flatten)]
    pub format: Format,
}

pub fn run(ui: &Ui, cwd: &Path, args: GetArgs) -> anyhow::Result<ExitCode> {
    let opts = GetOptions {
        url: args.url,
        path: args.path,
        rev: args.rev,
        out: args.out,
        remote: args.remote.remote,
        cwd: cwd.to_path_buf(),
        jobs: args.jobs.get(),
    };
    let report = get(opts, &ui.progress(), Some(ui.waits()))?;
    if args.format.json {
        super::ui::print_json(&report)?;
    } else {
        print_fetched(ui, &report.fetch);
    }
    if let Some(e) = report.failure() {
        return Err(e.into());
    }
    if args.format.json {
        return Ok(ExitCode::SUCCESS);
    }
    ui.info(format!(
        "got {} ({}) at {} from {} into {}",
        report.path,
        human(report.size),
        report.rev,
        report.url,
        report.out.display()
    ));
    Ok(ExitCode::SUCCESS)
}
