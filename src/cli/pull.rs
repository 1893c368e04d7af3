//! `cairn pull [REV] [PATH…]`: fetch, then check out (`ops::pull`).

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::args::{help, Format, Jobs, Remote, RevPaths, REMOTE, REV_PATHS};
use super::session::open_session;
use super::ui::Ui;
use crate::ops::pull::{pull, PullOptions};
use crate::ops::select::Selection;

/// `--help` for the `REV|PATH` words.
const WORDS_HELP: &str =
    "A git revision whose data to restore, and/or tracked paths (or paths inside \
    tracked directories). Default: the work tree's pointers";

/// `--help` for `-r/--remote`.
const REMOTE_HELP: &str = "The remote to fetch from: a name or a URL (default: the configured \
    default remote)";

#[derive(Debug, Args)]
#[command(mut_args(help(REV_PATHS, WORDS_HELP)))]
#[command(mut_args(help(REMOTE, REMOTE_HELP)))]
pub struct PullArgs {
    #[command(flatten)]
    pub select: RevPaths,
    #[command(flatten)]
    pub remote: Remote,
    /// Overwrite or remove data even where it holds changes that were never
    /// added (they are lost).
    #[arg(short, long)]
    pub force: bool,
    /// Restore files larger than one chunk straight from the remote into the
    /// work tree, writing their data once: every chunk is still checked and
    /// every file hashed before it replaces anything, but their data never
    /// enters the cache, so a later checkout or push needs the remote again
    /// (for CI).
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub jobs: Jobs,
    #[command(flatten)]
    pub format: Format,
}

pub fn run(ui: &Ui, cwd: &Path, args: PullArgs) -> anyhow::Result<ExitCode> {
    let mut session = open_session(ui, cwd)?;
    session.set_jobs(args.jobs.get());
    let Selection { rev, paths } = Selection::parse(&session, cwd, &args.select.words)?;
    let opts = PullOptions {
        rev,
        paths,
        remote: args.remote.remote,
        force: args.force,
        no_cache: args.no_cache,
    };
    let bar = ui.progress();
    let report = pull(&session, opts, &bar, Some(ui.waits()))?;
    if args.format.json {
        super::ui::print_json(&report)?;
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
