//! `cairn pull [REV] [PATH…]`: fetch, then check out. What CI runs after
//! `git clone` (and `git checkout TAG`) to get an experiment's exact data.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::checkout::{self, CheckoutArgs};
use super::fetch::{fetch_selected, print_fetched, select};
use super::ui::Ui;
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct PullArgs {
    /// A git revision whose data to restore, and/or tracked paths (or
    /// paths inside tracked directories). Default: the work tree's pointers.
    #[arg(value_name = "REV|PATH")]
    pub args: Vec<String>,
    /// The remote to fetch from (default: the configured default remote).
    #[arg(short, long, value_name = "NAME")]
    pub remote: Option<String>,
}

pub fn run(ui: &Ui, cwd: &Path, args: PullArgs) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(cwd)?;
    let (_, selected) = select(&ws, cwd, &args.args, &ui.progress())?;
    let f = fetch_selected(ui, &ws, &selected, args.remote.as_deref())?;
    if f.remote.is_some() {
        print_fetched(ui, &f, false);
    }
    drop(ws);
    checkout::run(ui, cwd, CheckoutArgs { args: args.args })
}
