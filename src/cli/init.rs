//! `cairn init`: set up `.cairn/` in a git work tree.

use std::path::Path;
use std::process::ExitCode;

use super::ui::Ui;
use crate::repo::workspace::Workspace;

pub fn run(ui: &Ui, cwd: &Path) -> anyhow::Result<ExitCode> {
    let (ws, created) = Workspace::init(cwd)?;
    if created {
        ui.info(format!(
            "Initialised cairn in {}; commit .cairn/config.toml and .cairn/.gitignore",
            ws.cairn_dir().display()
        ));
    } else {
        ui.info(format!(
            "cairn is already initialised in {}",
            ws.cairn_dir().display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}
