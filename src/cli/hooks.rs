//! `cairn install-hooks` and the hidden `cairn hook NAME` that the hooks
//! run. The work is `ops::hooks`; this file parses the words, reads the
//! refs git hands the pre-push hook on stdin, and renders the reports,
//! warnings and exit statuses that git passes on to the user.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::session::open_session;
use super::ui::Ui;
use crate::ops::hooks::{self, FollowReport, Moved, HOOKS};
use crate::ops::Session;

#[derive(Debug, Args)]
pub struct InstallHooksArgs {
    /// Remove cairn's hooks and put back the ones they replaced.
    #[arg(long)]
    pub uninstall: bool,
    /// Once per user: put the hooks in a git template directory (set as
    /// init.templateDir in the global git config), so every new clone and
    /// `git init` gets them. They do nothing in repositories without cairn.
    #[arg(long)]
    pub global: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    /// The git hook being run.
    #[arg(value_parser = HOOKS)]
    pub name: String,
    /// The arguments git gave the hook.
    #[arg(allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Whether cairn's post-checkout hook is installed in this repository.
pub(crate) fn installed(session: &Session) -> bool {
    hooks::installed(session)
}

/// The cairn binary the hooks are to run: this one.
pub(super) fn current_exe() -> anyhow::Result<std::path::PathBuf> {
    std::env::current_exe().context("could not find the cairn executable")
}

pub fn install(ui: &Ui, cwd: &Path, args: InstallHooksArgs) -> anyhow::Result<ExitCode> {
    let session = open_session(ui, cwd)?;
    if args.uninstall {
        let r = hooks::uninstall(&session)?;
        if args.json {
            super::ui::print_json(&r)?;
        } else {
            ui.info(format!("removed cairn's hooks from {}", r.dir.display()));
        }
    } else {
        let r = hooks::install(&session, &current_exe()?)?;
        if args.json {
            super::ui::print_json(&r)?;
        } else {
            ui.info(format!(
                "installed {} in {}: data follows `git checkout` and `git merge`",
                r.hooks.join(", "),
                r.dir.display()
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_hook(ui: &Ui, cwd: &Path, args: HookArgs) -> anyhow::Result<ExitCode> {
    let session = open_session(ui, cwd)?;
    // git runs hooks without cairn's flags: messages are always on.
    let ui = Ui::new(&super::Global {
        dir: None,
        quiet: false,
        verbose: false,
        no_progress: false,
    });
    if args.name == "pre-push" {
        return pre_push(&ui, &session, args.args.first().map(String::as_str));
    }
    let Some(moved) = Moved::from_hook(&args.name, &args.args) else {
        return Ok(ExitCode::SUCCESS);
    };
    let report = hooks::follow(&session, &moved, &ui.progress(), Some(ui.waits()))?;
    // Quiet on success: a summary would interleave with git's output.
    warn_not_followed(&ui, &report);
    // post-checkout's exit status becomes git checkout's: say that not
    // everything was brought along.
    Ok(if report.complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What a checkout or merge left behind, and how to bring it.
fn warn_not_followed(ui: &Ui, report: &FollowReport) {
    let checkout = &report.checkout;
    super::checkout::warn_kept(ui, checkout);
    for p in &checkout.incomplete {
        ui.warn(format!(
            "could not restore {p}: its data is not in the cache"
        ));
    }
    if !checkout.incomplete.is_empty() {
        if let Some(e) = &report.fetch_error {
            ui.warn(format!("could not fetch it: {e}"));
        }
        ui.info("hint: `cairn pull` fetches it from the remote and restores it");
    }
}

/// pre-push: hand the refs git is pushing to `ops::hooks::pre_push`, whose
/// error stops the git push.
fn pre_push(ui: &Ui, session: &Session, git_remote: Option<&str>) -> anyhow::Result<ExitCode> {
    let refs = std::io::stdin()
        .lock()
        .lines()
        .collect::<Result<Vec<String>, _>>()
        .context("could not read the refs git is pushing")?;
    if let Some(report) =
        hooks::pre_push(session, &refs, git_remote, &ui.progress(), Some(ui.waits()))?
    {
        super::push::render(ui, &report, false)?;
    }
    Ok(ExitCode::SUCCESS)
}
