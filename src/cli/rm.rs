//! `cairn rm PATH…`: stop tracking paths (`ops::rm`), and say what to
//! commit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::args::Format;
use super::session::open_session;
use super::ui::Ui;
use crate::ops::rm::{rm, RmOptions};

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Tracked files or directories (or their .cairn pointer files).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Delete the data from the work tree too, if cairn has recorded all
    /// of it and the cache holds it (so a checkout of an older commit
    /// brings it back).
    #[arg(long)]
    pub delete_data: bool,
    /// With --delete-data: delete it even if it holds changes that were
    /// never added, or the cache lacks it (it is lost).
    #[arg(short, long, requires = "delete_data")]
    pub force: bool,
    #[command(flatten)]
    pub format: Format,
}

pub fn run(ui: &Ui, cwd: &Path, args: RmArgs) -> anyhow::Result<ExitCode> {
    let session = open_session(ui, cwd)?;
    let ws = session.workspace();
    let paths = ws.rel_paths(cwd, &args.paths)?;
    let opts = RmOptions {
        paths,
        delete_data: args.delete_data,
        force: args.force,
    };
    let report = rm(&session, opts, &ui.progress())?;
    if args.format.json {
        super::ui::print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    for r in &report.paths {
        let data = match r.data {
            "deleted" => "data deleted",
            "missing" => "no data in the work tree",
            _ => "data kept, no longer ignored by git",
        };
        ui.info(format!("stopped tracking {} ({data})", r.path));
    }
    if !report.to_commit.is_empty() {
        ui.info(format!(
            "next: git add -A -- {} && git commit",
            report.to_commit.join(" ")
        ));
    }
    Ok(ExitCode::SUCCESS)
}
