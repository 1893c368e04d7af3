//! `cairn ls [REV] [PATH…]`: tracked data at a revision, or in the work
//! tree (`ops::ls`), under a header with human sizes, or as JSON (raw
//! byte counts); `-R` lists the files inside tracked directories too.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::args::{help, Format, RevPaths, REV_PATHS};
use super::session::open_session;
use super::ui::{human, Ui};
use crate::ops::ls::{ls, ls_url, LsOptions};
use crate::ops::select::Selection;

/// `--help` for the `REV|PATH` words.
const WORDS_HELP: &str =
    "A git revision (commit, tag, branch, HEAD~2, main@{1}) and/or paths to limit the \
    listing; without a revision, the work tree's pointers";

#[derive(Debug, Args)]
#[command(mut_args(help(REV_PATHS, WORDS_HELP)))]
pub struct LsArgs {
    #[command(flatten)]
    pub select: RevPaths,
    /// Also list the files inside tracked directories (their listings are
    /// read from the cache, or fetched from the default remote).
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// List another repository's data, without cloning it: any URL git
    /// understands, or a path. The words are then paths in it.
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// With --repo: the revision to list (branch, tag or commit id).
    #[arg(long, value_name = "REV", requires = "repo", default_value = "HEAD")]
    pub rev: String,
    #[command(flatten)]
    pub format: Format,
}

pub fn run(ui: &Ui, cwd: &Path, args: LsArgs) -> anyhow::Result<ExitCode> {
    let report = match &args.repo {
        Some(url) => {
            let opts = LsOptions {
                rev: None,
                paths: args.select.words.clone(),
                recursive: args.recursive,
            };
            ls_url(cwd, url, &args.rev, opts, &ui.progress())?
        }
        None => {
            let session = open_session(ui, cwd)?;
            let Selection { rev, paths } = Selection::parse(&session, cwd, &args.select.words)?;
            let opts = LsOptions {
                rev,
                paths,
                recursive: args.recursive,
            };
            ls(&session, opts, &ui.progress())?
        }
    };
    if args.format.json {
        super::ui::print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    if report.paths.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<4} {:>10} {:>8} {:<64} path",
        "kind", "size", "files", "id"
    );
    for e in &report.paths {
        println!(
            "{:<4} {:>10} {:>8} {} {}",
            e.kind,
            human(e.size),
            e.files,
            e.id,
            e.path
        );
    }
    Ok(ExitCode::SUCCESS)
}
