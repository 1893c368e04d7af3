//! `cairn fetch [REV] [PATH…]`: download the data some pointers need into
//! the cache, without touching the work tree (`ops::fetch`).

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::ui::{human, Ui};
use crate::ops::fetch::{fetch, missing_data, FetchOutcome, RevisionNames};
use crate::ops::select::Selection;
use crate::ops::Session;

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// A git revision whose data to fetch, and/or tracked paths (or paths
    /// inside tracked directories). Default: everything the work tree's
    /// pointers name.
    #[arg(value_name = "REV|PATH")]
    pub args: Vec<String>,
    /// The remote to use: a name or a URL (default: the configured default
    /// remote).
    #[arg(short, long, value_name = "NAME|URL")]
    pub remote: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
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
    let session = Session::open(cwd)?;
    let ws = session.workspace();
    let bar = ui.progress();
    let selection = Selection::parse(&session, cwd, &args.args)?;
    let selected = selection.pointers(&session, &bar)?;
    let f = fetch(
        &session,
        &selected,
        args.remote.as_deref(),
        &bar,
        Some(ui.waits()),
    )?;
    if args.json {
        println!("{}", serde_json::to_string(&f)?);
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
