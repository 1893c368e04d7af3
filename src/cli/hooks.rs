//! `cairn install-hooks` and the hidden `cairn hook NAME` that the hooks run.
//!
//! The hook files are small shell stubs: they run the hook that was there
//! before (renamed to `NAME.pre-cairn`, so existing hooks keep working), then
//! hand over to `cairn hook NAME`, where the logic lives in Rust. After a
//! checkout or merge, data is restored only when a pointer file changed, so
//! ordinary git operations stay fast. The pre-push hook pushes the data of
//! the commits being pushed to cairn's default remote, and stops the git
//! push if that fails.
//!
//! `install-hooks --global` is the one-time, per-user setup (like `git lfs
//! install`): the same stubs go into a git template directory under the
//! user's config directory, named by `init.templateDir` in the global git
//! config, so every later `git clone` and `git init` gets them. The stubs
//! exit at once in a repository without `.cairn/config.toml`, so repositories
//! that do not use cairn are not affected. After a checkout or merge they
//! first fetch what the new pointers need (quietly; a repository without a
//! remote just restores from its cache), so a fresh clone's `git checkout
//! TAG` brings that tag's data.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::ui::Ui;
use crate::ops::Session;
use crate::repo::git::GitRepo;
use crate::repo::history::pointers_at;
use crate::repo::workspace::Workspace;

pub(super) const HOOKS: [&str; 3] = ["post-checkout", "post-merge", "pre-push"];
const MARKER: &str = "# installed by `cairn install-hooks`";
const CHAINED: &str = ".pre-cairn";

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

pub(super) fn script(name: &str, exe: &Path) -> String {
    // pre-push gets the refs being pushed on stdin; both the chained hook
    // and cairn must see them.
    let (save, feed) = if name == "pre-push" {
        ("input=$(cat)\n", "printf '%s\\n' \"$input\" | ")
    } else {
        ("", "")
    };
    format!(
        "#!/bin/sh\n{MARKER}; remove with `cairn install-hooks --uninstall`.\n\
         {save}\
         hook=\"$0{CHAINED}\"\n\
         if [ -x \"$hook\" ]; then {feed}\"$hook\" \"$@\" || exit $?; fi\n\
         # Nothing to do in a repository that does not use cairn.\n\
         top=$(git rev-parse --show-toplevel 2>/dev/null) || exit 0\n\
         [ -f \"$top/.cairn/config.toml\" ] || exit 0\n\
         cairn='{exe}'\n\
         [ -x \"$cairn\" ] || cairn=cairn\n\
         command -v \"$cairn\" >/dev/null 2>&1 || {{ echo \"cairn not found; skipping its {name} hook\" >&2; exit 0; }}\n\
         {feed}\"$cairn\" hook {name} \"$@\"\n",
        exe = exe.display().to_string().replace('\'', "'\\''"),
    )
}

pub(super) fn is_ours(path: &Path) -> bool {
    fs::read_to_string(path).is_ok_and(|s| s.contains(MARKER))
}

/// Whether cairn's post-checkout hook is installed in this repository.
pub(crate) fn installed(session: &Session) -> bool {
    session
        .git()
        .is_some_and(|g| is_ours(&g.hooks_dir().join("post-checkout")))
}

pub fn install(ui: &Ui, cwd: &Path, args: InstallHooksArgs) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(cwd)?;
    let git = GitRepo::open(ws.root()).map_err(crate::Error::from)?;
    let dir = git.hooks_dir();
    fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    let exe = std::env::current_exe().context("could not find the cairn executable")?;
    for name in HOOKS {
        let path = dir.join(name);
        let chained = dir.join(format!("{name}{CHAINED}"));
        if args.uninstall {
            if is_ours(&path) {
                fs::remove_file(&path)
                    .with_context(|| format!("could not remove {}", path.display()))?;
                if chained.exists() {
                    fs::rename(&chained, &path)
                        .with_context(|| format!("could not restore {}", path.display()))?;
                }
            }
            continue;
        }
        if path.exists() && !is_ours(&path) {
            if chained.exists() {
                anyhow::bail!(
                    "{} exists and so does {}; move one of them away, then run `cairn install-hooks` again",
                    path.display(),
                    chained.display()
                );
            }
            fs::rename(&path, &chained)
                .with_context(|| format!("could not move {}", path.display()))?;
        }
        crate::durable::write_atomic(&path, script(name, &exe).as_bytes())?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("could not make {} executable", path.display()))?;
    }
    if args.uninstall {
        ui.info(format!("removed cairn's hooks from {}", dir.display()));
    } else {
        ui.info(format!(
            "installed {} in {}: data follows `git checkout` and `git merge`",
            HOOKS.join(", "),
            dir.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether the pointer files differ between two revisions. An unknown
/// revision (such as the all-zero id git passes after a clone) counts as
/// a change.
fn pointers_changed(git: &GitRepo, a: &str, b: &str) -> bool {
    match (pointers_at(git, a), pointers_at(git, b)) {
        (Ok(x), Ok(y)) => x != y,
        _ => true,
    }
}

pub fn run_hook(_ui: &Ui, cwd: &Path, args: HookArgs) -> anyhow::Result<ExitCode> {
    let session = Session::open(cwd)?;
    let ws = session.workspace();
    let git = session.require_git()?;
    // (whether data must follow, the revision git just left)
    let (restore, prev) = match args.name.as_str() {
        // post-checkout PREV NEW FLAG (FLAG 1: branch checkout, 0: files).
        "post-checkout" => match args.args.as_slice() {
            [prev, new, flag] => (
                flag == "0" || pointers_changed(git, prev, new),
                Some(prev.as_str()),
            ),
            _ => (true, None),
        },
        "post-merge" => (
            pointers_changed(git, "ORIG_HEAD", "HEAD"),
            Some("ORIG_HEAD"),
        ),
        "pre-push" => return pre_push(&session),
        _ => (false, None),
    };
    if restore {
        // Data whose pointer git just removed: the pointer was there before.
        let gone = match prev.map(|p| pointers_at(git, p)) {
            Some(Ok(before)) => before
                .into_iter()
                .filter(|(rel, _)| {
                    !ws.root()
                        .join(format!("{rel}{}", crate::format::pointer::SUFFIX))
                        .exists()
                })
                .collect(),
            _ => Vec::new(),
        };
        let ui = super::ui::Ui::new(&super::Global {
            dir: None,
            quiet: false,
            verbose: false,
        });
        // Fetch what the new pointers lack first (a fresh clone has no
        // cache). Without a remote, or with one that cannot be reached, the
        // cache's data is still restored and the rest is named below.
        let selected = crate::ops::fetch::select_at(&session, None, &[], &ui.progress())?;
        let fetched = crate::ops::fetch::fetch(
            &session,
            &selected,
            None,
            &crate::progress::Silent,
            Some(ui.waits()),
        );
        let opts = crate::ops::checkout::CheckoutOptions {
            caller: crate::ops::checkout::Caller::Hook,
            gone,
            only_complete: true,
            ..crate::ops::checkout::CheckoutOptions::new(None, Vec::new())
        };
        // Quiet on success: a summary would interleave with git's output.
        let report = crate::ops::checkout::checkout(&session, opts, &crate::progress::Silent)?;
        super::checkout::warn_kept(&ui, &report);
        for p in &report.incomplete {
            ui.warn(format!(
                "could not restore {p}: its data is not in the cache"
            ));
        }
        if !report.incomplete.is_empty() {
            match fetched {
                Err(crate::Error::NoRemote) | Ok(_) => {}
                Err(e) => ui.warn(format!("could not fetch it: {e}")),
            }
            ui.info("hint: `cairn pull` fetches it from the remote and restores it");
        }
        if !report.kept.is_empty() || !report.incomplete.is_empty() {
            // post-checkout's exit status becomes git checkout's: say that
            // not everything was brought along.
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// pre-push: send the data of every commit being pushed to cairn's default
/// remote first, so nobody can fetch pointers whose data is not there. A
/// failure stops the git push. Without a cairn remote there is nothing to
/// do.
fn pre_push(session: &Session) -> anyhow::Result<ExitCode> {
    use std::io::BufRead;
    let git = session.require_git()?;
    match session.remote(None) {
        Err(crate::Error::NoRemote) => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    let mut selected: crate::ops::fetch::Selected = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line.context("could not read the refs git is pushing")?;
        // <local ref> <local sha> <remote ref> <remote sha>
        let Some(sha) = line.split_whitespace().nth(1) else {
            continue;
        };
        if sha.bytes().all(|b| b == b'0') {
            continue; // a deleted ref pushes no data
        }
        for (rel, ptr) in pointers_at(git, sha)? {
            selected.push((rel, ptr, None));
        }
    }
    if selected.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let ui = super::ui::Ui::new(&super::Global {
        dir: None,
        quiet: false,
        verbose: false,
    });
    let report = crate::ops::push::push_selected(
        session,
        &selected,
        &[],
        None,
        &ui.progress(),
        Some(ui.waits()),
    )?;
    super::push::render(&ui, &report, false)?;
    Ok(ExitCode::SUCCESS)
}
