//! `cairn fetch [REV] [PATH…]`: download the data some pointers need into
//! the cache, without touching the work tree (`ops::fetch`).

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::args::{help, Format, Jobs, Remote, RevPaths, REMOTE, REV_PATHS};
use super::session::open_session;
use super::ui::{human, Ui};
use crate::ops::fetch::{fetch, missing_data, FetchOutcome, RevisionNames};
use crate::ops::select::Selection;

/// `--help` for the `REV|PATH` words.
const WORDS_HELP: &str =
    "A git revision whose data to fetch, and/or tracked paths (or paths inside \
    tracked directories). Default: everything the work tree's pointers name";

/// `--help` for `-r/--remote`.
const REMOTE_HELP: &str = "The remote to use: a name or a URL (default: the configured default \
    remote)";

#[derive(Debug, Args)]
#[command(mut_args(help(REV_PATHS, WORDS_HELP)))]
#[command(mut_args(help(REMOTE, REMOTE_HELP)))]
pub struct FetchArgs {
    #[command(flatten)]
    pub select: RevPaths,
    #[command(flatten)]
    pub remote: Remote,
    #[command(flatten)]
    pub jobs: Jobs,
    #[command(flatten)]
    pub format: Format,
}

pub(crate) fn print_fetched(ui: &Ui, f: &FetchOutcome) {
    match &f.remote {
        Some(r) => ui.info(format!(
            "fetched {} object(s) ({}) from {r} in {} request(s)",
            f.objects,
            human(f.bytes),
            f.requests.reads
        )),
        None => ui.info("nothing to fetch: the cache has all the data"),
    }
}

pub fn run(ui: &Ui, cwd: &Path, args: FetchArgs) -> anyhow::Result<ExitCode> {
    let mut session = open_session(ui, cwd)?;
    session.set_jobs(args.jobs.get());
    let ws = session.workspace();
    let bar = ui.progress();
    let selection = Selection::parse(&session, cwd, &args.select.words)?;
    let selected = selection.pointers(&session, &bar)?;
    let f = fetch(
        &session,
        &selected,
        args.remote.remote.as_deref(),
        &bar,
        Some(ui.waits()),
    )?;
    if args.format.json {
        super::ui::print_json(&f)?;
    } else {
        print_fetched(ui, &f);
    }
    if !f.absent.is_empty() {
        let names = RevisionNames::new(session.git(), selection.rev.as_deref());
        let missing = missing_data(ws, &f, &selected, &names);
        return Err(crate::Error::DataNotOnRemote {
            remote: f.remote.clone().unwrap_or_default(),
            missing,
        }
        .into());
    }
    Ok(ExitCode::SUCCESS)
}
