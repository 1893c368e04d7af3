//! `cairn mv SRC DST`: move a tracked path with its pointer and
//! `.gitignore` line (`ops::mv`), and say what to commit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::args::Format;
use super::session::open_session;
use super::ui::Ui;
use crate::ops::mv::{mv, MvOptions};

#[derive(Debug, Args)]
pub struct MvArgs {
    /// The tracked file or directory (or its .cairn pointer file).
    #[arg(value_name = "SRC")]
    pub from: PathBuf,
    /// The new path, or an existing directory to move SRC into.
    #[arg(value_name = "DST")]
    pub to: PathBuf,
    /// Replace data or a pointer already at DST (what is there is lost).
    #[arg(short, long)]
    pub force: bool,
    #[command(flatten)]
    pub format: Format,
}

pub fn run(ui: &Ui, cwd: &Path, args: MvArgs) -> anyhow::Result<ExitCode> {
    let session = open_session(ui, cwd)?;
    let ws = session.workspace();
    let from = ws.rel_path(cwd, &args.from)?;
    // The work-tree root is no path to track, but a place to move into.
    let to = match ws.rel_path(cwd, &args.to) {
        Err(crate::Error::CannotTrack { .. })
            if std::fs::canonicalize(cwd.join(&args.to)).ok().as_deref() == Some(ws.root()) =>
        {
            String::new()
        }
        r => r?,
    };
    // `DST/` means "into the directory DST", whatever the path
    // normalisation above dropped.
    let into_dir = args
        .to
        .as_os_str()
        .to_string_lossy()
        .ends_with(std::path::MAIN_SEPARATOR)
        || args.to.as_os_str().to_string_lossy().ends_with('/');
    let opts = MvOptions {
        force: args.force,
        into_dir,
        ..MvOptions::new(from, to)
    };
    let report = mv(&session, opts, &ui.progress())?;
    if args.format.json {
        super::ui::print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    ui.info(format!("moved {} -> {}", report.from, report.to));
    ui.info(format!(
        "next: git add -A -- {} && git commit",
        report.to_commit.join(" ")
    ));
    Ok(ExitCode::SUCCESS)
}
