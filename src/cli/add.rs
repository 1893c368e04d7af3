//! `cairn add PATH…`: store data and write its pointer files (`ops::add`),
//! and say what to commit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::args::Format;
use super::session::open_session;
use super::ui::{human, Ui};
use crate::format::pointer::SUFFIX;
use crate::ops::add::{add, AddOptions};

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Files or directories to track.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub format: Format,
    /// If git already tracks the data, take it out of git's index
    /// (`git rm --cached`; the files stay) instead of refusing.
    #[arg(long)]
    pub untrack_git: bool,
}

pub fn run(ui: &Ui, cwd: &Path, args: AddArgs) -> anyhow::Result<ExitCode> {
    let session = open_session(ui, cwd)?;
    let ws = session.workspace();
    let paths = ws.rel_paths(cwd, &args.paths)?;
    let what = paths.join(", ");
    let opts = AddOptions {
        paths,
        untrack_git: args.untrack_git,
    };
    let report =
        add(&session, opts, &ui.progress()).with_context(|| format!("could not add {what}"))?;
    if report.untracked_from_git > 0 {
        ui.info(format!(
            "removed {} path(s) from git's index (the files stay); commit to record it",
            report.untracked_from_git
        ));
    }
    if args.format.json {
        super::ui::print_json(&report)?;
    }
    for a in &report.paths {
        let what = if a.kind == "dir" {
            format!(
                "{} file{}, {}",
                a.files,
                if a.files == 1 { "" } else { "s" },
                human(a.size)
            )
        } else {
            human(a.size)
        };
        ui.info(format!("added {} ({what}) -> {}{SUFFIX}", a.path, a.path));
    }
    ui.info(format!(
        "{} new in the cache (compressed, {} objects); {} files read, {} unchanged",
        human(report.bytes_stored),
        report.blobs_stored,
        report.files_read,
        report.files_unchanged
    ));
    ui.info(format!(
        "next: git add {} && git commit",
        report.to_commit.join(" ")
    ));
    Ok(ExitCode::SUCCESS)
}
