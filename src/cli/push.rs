//! `cairn push [REV…] [PATH…]`: send the data of the work tree, HEAD and
//! every tag (or of the given revisions) to a remote (`ops::push`).

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::args::{help, Format, Jobs, Remote, RevPaths, REMOTE, REV_PATHS};
use super::session::open_session;
use super::ui::{human, Ui};
use crate::ops::push::{push, PushOptions, PushReport, Scope};
use crate::ops::select::Revisions;

/// `--help` for the `REV|PATH` words.
const WORDS_HELP: &str =
    "Git revisions whose data to push, and/or tracked paths. Default: the work tree's \
    data, HEAD's and every tag's";

/// `--help` for `-r/--remote`.
const REMOTE_HELP: &str =
    "The remote to push to: a name or a URL (default: the configured default \
    remote)";

#[derive(Debug, Args)]
#[command(mut_args(help(REV_PATHS, WORDS_HELP)))]
#[command(mut_args(help(REMOTE, REMOTE_HELP)))]
pub struct PushArgs {
    #[command(flatten)]
    pub select: RevPaths,
    /// Also push the data of every local branch.
    #[arg(long, conflicts_with = "all_commits")]
    pub all_branches: bool,
    /// Push the data of every commit git keeps (refs, reflogs, stash).
    #[arg(long)]
    pub all_commits: bool,
    #[command(flatten)]
    pub remote: Remote,
    #[command(flatten)]
    pub jobs: Jobs,
    #[command(flatten)]
    pub format: Format,
}

pub fn run(ui: &Ui, cwd: &Path, args: PushArgs) -> anyhow::Result<ExitCode> {
    let mut session = open_session(ui, cwd)?;
    session.set_jobs(args.jobs.get());
    let Revisions { revs, paths } = Revisions::parse(&session, cwd, &args.select.words)?;
    let scope = if args.all_commits {
        Scope::AllCommits
    } else if args.all_branches {
        Scope::AllBranches
    } else {
        Scope::Named
    };
    let opts = PushOptions {
        revs,
        paths,
        scope,
        remote: args.remote.remote,
    };
    let bar = ui.progress();
    let report = push(&session, opts, &bar, Some(ui.waits()))?;
    render(ui, &report, args.format.json)?;
    Ok(ExitCode::SUCCESS)
}

/// Print a push report (also used by the pre-push hook).
pub(crate) fn render(ui: &Ui, report: &PushReport, json_out: bool) -> anyhow::Result<()> {
    let name = &report.remote;
    for path in &report.repaired_indexes {
        ui.info(format!(
            "repaired {path} on {name}: it was damaged there, and this clone's verified copy was uploaded again"
        ));
    }
    for path in &report.damaged_indexes {
        ui.warn(format!(
            "{path} on {name} is damaged and this clone cannot restore it (no verified copy, or a pack it lists is gone): what it listed counts as absent, and this push sent what it needs of that again"
        ));
    }
    if json_out {
        super::ui::print_json(report)?;
    } else if report.objects == 0 {
        ui.info(format!(
            "{} is up to date ({} request(s))",
            report.remote, report.requests.reads
        ));
    } else {
        ui.info(format!(
            "pushed {} object(s) to {}: {} pack(s), {}{}; {} request(s)",
            report.objects,
            report.remote,
            report.packs,
            human(report.bytes),
            if report.resumed_packs > 0 {
                format!(
                    ", {} pack(s) already sent by an interrupted push",
                    report.resumed_packs
                )
            } else {
                String::new()
            },
            report.requests.reads + report.requests.writes
        ));
    }
    for m in &report.unavailable {
        ui.warn(format!(
            "the data of {} at {} is neither in this cache nor on {}; push it from a clone that has it (`cairn push {}`)",
            m.path, m.rev, report.remote, m.rev
        ));
    }
    Ok(())
}
