//! `cairn install-hooks --global [--uninstall]`: the one-time, per-user
//! setup after which every new clone (and `git init`) gets cairn's hooks.
//! The work is `ops::hooks::install_global`; this file renders what it did
//! and what the user may still need to do.

use std::process::ExitCode;

use super::hooks::{current_exe, InstallHooksArgs};
use super::ui::Ui;
use crate::ops::hooks;

pub fn install(ui: &Ui, args: InstallHooksArgs) -> anyhow::Result<ExitCode> {
    if args.uninstall {
        let r = hooks::uninstall_global()?;
        if args.json {
            super::ui::print_json(&r)?;
            return Ok(ExitCode::SUCCESS);
        }
        ui.info(format!(
            "new clones no longer get cairn's hooks ({} removed{}); existing repositories keep theirs until `cairn install-hooks --uninstall` there",
            r.template.display(),
            match &r.other_template {
                Some(other) => format!("; init.templateDir still names {other}, left alone"),
                None => String::new(),
            }
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let r = hooks::install_global(&current_exe()?)?;
    if args.json {
        super::ui::print_json(&r)?;
    } else {
        ui.info(format!(
            "installed {} in {} and set init.templateDir in your global git config: every new clone and `git init` gets them (they do nothing in repositories without cairn)",
            r.hooks.join(", "),
            r.hooks_dir.display()
        ));
        ui.info("existing repositories: run `cairn install-hooks` in each");
    }
    // git runs hooks from core.hooksPath instead of .git/hooks when it is
    // set: the template's copies would then never run.
    if let Some(p) = &r.hooks_path {
        ui.warn(format!(
            "your global git config sets core.hooksPath ({p}): git runs the hooks there, not the ones new clones get; copy cairn's hooks from {} into it",
            r.hooks_dir.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}
