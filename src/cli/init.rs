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
        ui.info(format!(
            "Initialised cairn in {}; commit .cairn/config.toml and .cairn/.gitignore",
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
