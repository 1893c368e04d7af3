//! `cairn init`: set up `.cairn/` in a git work tree (`ops::init`).

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::ui::Ui;
use crate::ops::init::init;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ui: &Ui, cwd: &Path, args: InitArgs) -> anyhow::Result<ExitCode> {
    let r = init(cwd)?;
    if args.json {
        super::ui::print_json(&r)?;
    } else if r.created {
        let files = if r.gitattributes_written {
            ".cairn/config.toml, .cairn/.gitignore and .gitattributes (.gitignore files merge by union)"
        } else {
            ".cairn/config.toml and .cairn/.gitignore"
        };
        ui.info(format!(
            "Initialised cairn in {}; commit {files}",
            r.cairn_dir.display()
        ));
    } else if r.gitattributes_written {
        ui.info(format!(
            "cairn is already initialised in {}; added `.gitignore merge=union` to .gitattributes \
             (commit it, so branches that each track a new path merge cleanly)",
            r.cairn_dir.display()
        ));
    } else {
        ui.info(format!(
            "cairn is already initialised in {}",
            r.cairn_dir.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}
