//! `cairn install-hooks --global [--uninstall]`: the one-time, per-user setup
//! after which every new clone (and `git init`) gets cairn's hooks.
//!
//! git copies the `hooks/` folder of its template directory into every
//! repository it creates, so cairn keeps a template of its own under the
//! user's config directory (beside `config.toml`) and names it in
//! `init.templateDir` of the global git config. A template the user already
//! has is never replaced or edited: cairn refuses and says how to combine
//! the two. Uninstalling removes only files carrying cairn's marker, and
//! unsets `init.templateDir` only when it still names cairn's template.
//! Repositories created in between keep their copies of the hooks, which do
//! nothing without `.cairn/config.toml` (`cairn install-hooks --uninstall`
//! removes them from one repository).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::hooks::{is_ours, script, HOOKS};
use super::ui::Ui;
use crate::repo::git::{global_config, set_global_config};

const KEY: &str = "init.templateDir";

/// cairn's git template directory: `git-template` beside the user config.
fn template_dir() -> anyhow::Result<PathBuf> {
    let cfg = crate::repo::config::user_config_path()
        .context("neither HOME nor XDG_CONFIG_HOME is set: there is no user config directory")?;
    let dir = cfg
        .parent()
        .context("the user config path has no directory")?;
    Ok(dir.join("git-template"))
}

/// Whether a configured template directory is `ours` (git expands `~/`).
fn same_dir(configured: &str, ours: &Path) -> bool {
    let expanded = match configured.strip_prefix("~/") {
        Some(rest) => match std::env::var_os("HOME") {
            Some(h) => PathBuf::from(h).join(rest),
            None => PathBuf::from(configured),
        },
        None => PathBuf::from(configured),
    };
    let canon = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    canon(&expanded) == canon(ours)
}

pub fn install(ui: &Ui, uninstall: bool) -> anyhow::Result<ExitCode> {
    let ours = template_dir()?;
    let hooks = ours.join("hooks");
    let current = global_config(KEY).map_err(crate::Error::from)?;
    let taken = current.as_deref().filter(|c| !same_dir(c, &ours));
    if uninstall {
        for name in HOOKS {
            let path = hooks.join(name);
            if is_ours(&path) {
                fs::remove_file(&path)
                    .with_context(|| format!("could not remove {}", path.display()))?;
            }
        }
        // Only if nothing else was put there.
        let _ = fs::remove_dir(&hooks);
        let _ = fs::remove_dir(&ours);
        if current.is_some() && taken.is_none() {
            set_global_config(KEY, None).map_err(crate::Error::from)?;
        }
        ui.info(format!(
            "new clones no longer get cairn's hooks ({} removed{}); existing repositories keep theirs until `cairn install-hooks --uninstall` there",
            ours.display(),
            if taken.is_some() {
                format!("; {KEY} still names {}, left alone", current.unwrap_or_default())
            } else {
                String::new()
            }
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(c) = taken {
        return Err(crate::Error::TemplateDirTaken {
            current: c.to_string(),
            ours,
        }
        .into());
    }
    fs::create_dir_all(&hooks).with_context(|| format!("could not create {}", hooks.display()))?;
    let exe = std::env::current_exe().context("could not find the cairn executable")?;
    for name in HOOKS {
        let path = hooks.join(name);
        if path.exists() && !is_ours(&path) {
            anyhow::bail!(
                "{} exists and was not written by cairn; move it away, then run `cairn install-hooks --global` again",
                path.display()
            );
        }
        crate::durable::write_atomic(&path, script(name, &exe).as_bytes())?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("could not make {} executable", path.display()))?;
    }
    let value = ours.to_string_lossy();
    set_global_config(KEY, Some(&value)).map_err(crate::Error::from)?;
    ui.info(format!(
        "installed {} in {} and set {KEY} in your global git config: every new clone and `git init` gets them (they do nothing in repositories without cairn)",
        HOOKS.join(", "),
        hooks.display()
    ));
    ui.info("existing repositories: run `cairn install-hooks` in each");
    // git runs hooks from core.hooksPath instead of .git/hooks when it is
    // set: the template's copies would then never run.
    if let Some(p) = global_config("core.hooksPath").map_err(crate::Error::from)? {
        ui.warn(format!(
            "your global git config sets core.hooksPath ({p}): git runs the hooks there, not the ones new clones get; copy cairn's hooks from {} into it",
            hooks.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}
