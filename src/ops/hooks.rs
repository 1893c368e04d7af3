//! git hooks: installing them (in one repository, or once per user in a
//! git template directory) and what they do when git runs them.
//!
//! The hook files are small shell stubs: they run the hook that was there
//! before (renamed to `NAME.pre-cairn`, so existing hooks keep working),
//! exit at once in a repository without `.cairn/config.toml`, then hand
//! over to `cairn hook NAME`, whose work is [`follow`] and [`pre_push`].
//! Only files carrying cairn's marker are ever replaced or removed, so a
//! user's own hook is never lost.
//!
//! After a checkout or merge, data follows only when a pointer file
//! changed, so ordinary git operations stay fast; it is fetched first
//! (quietly; without a remote the cache alone is restored from), and a file
//! holding changes cairn has not recorded is left alone and reported,
//! because git has already moved its pointer. Before a push, the data of
//! the commits being pushed goes to cairn's default remote, so nobody can
//! fetch pointers whose data is not there.
//!
//! The global install (like `git lfs install`) puts the same stubs in a
//! template directory beside the user config and names it in
//! `init.templateDir` of the global git config, so every later `git clone`
//! and `git init` gets them. A template the user already has is never
//! replaced or edited, and uninstalling unsets `init.templateDir` only
//! when it still names cairn's template.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::format::pointer::SUFFIX;
use crate::progress::{Progress, Silent};
use crate::repo::git::{global_config, set_global_config, GitRepo};
use crate::repo::history::{pointers_at, Tracked};

use super::checkout::{checkout, Caller, CheckoutOptions, CheckoutReport};
use super::fetch::{fetch, select_at, FetchOutcome};
use super::{Session, Waits};

#[path = "hooks_pre_push.rs"]
mod pre_push;
pub use pre_push::pre_push;

/// The hooks cairn installs.
pub const HOOKS: [&str; 4] = ["post-checkout", "post-merge", "post-rewrite", "pre-push"];
/// The line that marks a hook file as cairn's.
const MARKER: &str = "# installed by `cairn install-hooks`";
/// The suffix of a hook cairn's replaced and now runs first.
const CHAINED: &str = ".pre-cairn";
/// The global git config key naming the template directory.
const TEMPLATE_KEY: &str = "init.templateDir";

/// What `install-hooks` wrote in one repository.
#[derive(Debug, Clone, Serialize)]
pub struct InstallReport {
    /// The repository's hooks directory.
    pub dir: PathBuf,
    /// The hooks written.
    pub hooks: Vec<String>,
    /// Hooks that were there before: renamed `NAME.pre-cairn`, they run
    /// first.
    pub chained: Vec<String>,
}

/// What `install-hooks --uninstall` removed from one repository.
#[derive(Debug, Clone, Serialize)]
pub struct UninstallReport {
    pub dir: PathBuf,
    /// cairn's hooks removed.
    pub removed: Vec<String>,
    /// Hooks cairn's had replaced, put back.
    pub restored: Vec<String>,
}

/// What `install-hooks --global` set up.
#[derive(Debug, Clone, Serialize)]
pub struct GlobalInstallReport {
    /// cairn's git template directory, now named by `init.templateDir`.
    pub template: PathBuf,
    /// Its `hooks` directory, which git copies into every new repository.
    pub hooks_dir: PathBuf,
    pub hooks: Vec<String>,
    /// `core.hooksPath` of the global git config, when set: git then runs
    /// the hooks there, and the copies new clones get never run.
    pub hooks_path: Option<String>,
}

/// What `install-hooks --global --uninstall` undid.
#[derive(Debug, Clone, Serialize)]
pub struct GlobalUninstallReport {
    pub template: PathBuf,
    /// `init.templateDir` when it names another template, left alone.
    pub other_template: Option<String>,
}

/// Install cairn's hooks in the session's repository, chaining the hooks
/// already there; `exe` is the cairn binary the hooks run (they fall back
/// to `cairn` on the `PATH` when it is gone).
///
/// ```no_run
/// use std::path::Path;
///
/// use cairn::ops::{hooks, Session};
///
/// let s = Session::open(Path::new("."))?;
/// let exe = Path::new("/usr/local/bin/cairn");
/// let r = hooks::install(&s, exe)?;
/// println!("{} in {}", r.hooks.join(", "), r.dir.display());
/// assert!(hooks::installed(&s));
/// hooks::uninstall(&s)?;
/// # Ok::<(), cairn::Error>(())
/// ```
pub fn install(s: &Session, exe: &Path) -> Result<InstallReport> {
    let dir = s.require_git()?.hooks_dir();
    fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
    let mut chained = Vec::new();
    for name in HOOKS {
        let path = dir.join(name);
        let before = dir.join(format!("{name}{CHAINED}"));
        if path.exists() && !is_ours(&path) {
            if before.exists() {
                return Err(Error::HookInTheWay {
                    path,
                    chained: before,
                });
            }
            fs::rename(&path, &before).map_err(|e| Error::io("move", &path, e))?;
            chained.push(name.to_string());
        }
        write_hook(&path, name, exe)?;
    }
    Ok(InstallReport {
        dir,
        hooks: HOOKS.map(String::from).to_vec(),
        chained,
    })
}

/// Remove cairn's hooks from the session's repository and put back the
/// ones they replaced. Hooks cairn did not write are left alone.
pub fn uninstall(s: &Session) -> Result<UninstallReport> {
    let dir = s.require_git()?.hooks_dir();
    let mut report = UninstallReport {
        dir: dir.clone(),
        removed: Vec::new(),
        restored: Vec::new(),
    };
    for name in HOOKS {
        let path = dir.join(name);
        if !is_ours(&path) {
            continue;
        }
        fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
        report.removed.push(name.to_string());
        let before = dir.join(format!("{name}{CHAINED}"));
        if before.exists() {
            fs::rename(&before, &path).map_err(|e| Error::io("restore", &path, e))?;
            report.restored.push(name.to_string());
        }
    }
    Ok(report)
}

/// Whether cairn's post-checkout hook is installed in this repository.
pub fn installed(s: &Session) -> bool {
    s.git()
        .is_some_and(|g| is_ours(&g.hooks_dir().join("post-checkout")))
}

/// Put cairn's hooks in its git template directory and name that in
/// `init.templateDir` of the global git config. Refused when the setting
/// names another template, or the template holds a hook cairn did not
/// write.
pub fn install_global(exe: &Path) -> Result<GlobalInstallReport> {
    let ours = template_dir()?;
    let hooks_dir = ours.join("hooks");
    if let Some(current) = global_config(TEMPLATE_KEY)? {
        if !same_dir(&current, &ours) {
            return Err(Error::TemplateDirTaken { current, ours });
        }
    }
    fs::create_dir_all(&hooks_dir).map_err(|e| Error::io("create", &hooks_dir, e))?;
    for name in HOOKS {
        let path = hooks_dir.join(name);
        if path.exists() && !is_ours(&path) {
            return Err(Error::TemplateHookInTheWay { path });
        }
        write_hook(&path, name, exe)?;
    }
    set_global_config(TEMPLATE_KEY, Some(&ours.to_string_lossy()))?;
    Ok(GlobalInstallReport {
        template: ours,
        hooks_dir,
        hooks: HOOKS.map(String::from).to_vec(),
        hooks_path: global_config("core.hooksPath")?,
    })
}

/// Undo [`install_global`]: remove cairn's hooks from its template (and
/// the template, if nothing else is in it), and unset `init.templateDir`
/// if it still names it. Repositories created in between keep their
/// copies.
pub fn uninstall_global() -> Result<GlobalUninstallReport> {
    let ours = template_dir()?;
    let hooks_dir = ours.join("hooks");
    let current = global_config(TEMPLATE_KEY)?;
    let other = current.clone().filter(|c| !same_dir(c, &ours));
    for name in HOOKS {
        let path = hooks_dir.join(name);
        if is_ours(&path) {
            fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
        }
    }
    // Only if nothing else was put there.
    let _ = fs::remove_dir(&hooks_dir);
    let _ = fs::remove_dir(&ours);
    if current.is_some() && other.is_none() {
        set_global_config(TEMPLATE_KEY, None)?;
    }
    Ok(GlobalUninstallReport {
        template: ours,
        other_template: other,
    })
}

/// The stub git runs for hook `name`, handing over to `exe`.
fn script(name: &str, exe: &Path) -> String {
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

fn write_hook(path: &Path, name: &str, exe: &Path) -> Result<()> {
    crate::durable::write_atomic(path, script(name, exe).as_bytes())?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io("set the mode of", path, e))
}

fn is_ours(path: &Path) -> bool {
    fs::read_to_string(path).is_ok_and(|s| s.contains(MARKER))
}

/// cairn's git template directory: `git-template` beside the user config.
fn template_dir() -> Result<PathBuf> {
    let cfg = crate::repo::config::user_config_path().ok_or(Error::NoUserConfigDir)?;
    Ok(cfg.with_file_name("git-template"))
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

/// What git just did, as its post-checkout or post-merge hook is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    /// `post-checkout PREV NEW FLAG`: HEAD went from `prev` to `new`;
    /// `files` when FLAG is 0 (paths were checked out, not a branch).
    Checkout {
        prev: String,
        new: String,
        files: bool,
    },
    /// post-checkout without git's three arguments: anything may have
    /// changed.
    Unknown,
    /// post-merge: HEAD moved on from `ORIG_HEAD`.
    Merge,
    /// `post-rewrite rebase`: a rebase replayed commits after its own
    /// checkout of the new base, which moved the data there, and git runs
    /// no post-checkout at the end.
    Rebase,
}

impl Moved {
    /// From a hook's name and the arguments git gave it; `None` for a hook
    /// that moves no pointers.
    pub fn from_hook(name: &str, args: &[String]) -> Option<Moved> {
        match name {
            "post-checkout" => Some(match args {
                [prev, new, flag] => Moved::Checkout {
                    prev: prev.clone(),
                    new: new.clone(),
                    files: flag == "0",
                },
                _ => Moved::Unknown,
            }),
            "post-merge" => Some(Moved::Merge),
            // `amend` rewrites a commit from the index: no pointer moves.
            "post-rewrite" if args.first().is_some_and(|a| a == "rebase") => Some(Moved::Rebase),
            _ => None,
        }
    }

    /// Whether data must follow, and the revision git left.
    fn decide(&self, git: &GitRepo) -> (bool, Option<&str>) {
        match self {
            Moved::Checkout { prev, new, files } => {
                (*files || pointers_changed(git, prev, new), Some(prev))
            }
            // The data is the new base's (or partly so): no single
            // revision says what it was, and every pointer is checked.
            Moved::Unknown | Moved::Rebase => (true, None),
            Moved::Merge => (
                pointers_changed(git, "ORIG_HEAD", "HEAD"),
                Some("ORIG_HEAD"),
            ),
        }
    }
}

/// What a post-checkout or post-merge hook did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct FollowReport {
    /// Whether a pointer file changed (or may have), so data had to
    /// follow; when not, nothing else was done.
    pub followed: bool,
    /// What the fetch brought, when it ran to the end.
    pub fetch: Option<FetchOutcome>,
    /// Why the fetch failed, when a remote is configured (without one the
    /// cache alone is restored from).
    pub fetch_error: Option<String>,
    pub checkout: CheckoutReport,
}

impl FollowReport {
    /// Whether the data followed in full: nothing was left alone for
    /// holding unrecorded changes, and nothing lacked its data. The
    /// post-checkout hook's exit status becomes `git checkout`'s, so
    /// anything less fails it.
    pub fn complete(&self) -> bool {
        self.checkout.kept.is_empty() && self.checkout.incomplete.is_empty()
    }
}

/// After git moved the pointers (`cairn hook post-checkout|post-merge`):
/// when a pointer changed, fetch what the new pointers lack and restore
/// their data, leaving alone (and reporting) files with changes cairn has
/// not recorded and paths whose data is nowhere to be had. `progress`
/// hears the warnings of reading the work tree and the cache; the fetch
/// and checkout draw nothing, since git's own output is on the terminal.
///
/// ```no_run
/// use std::path::Path;
///
/// use cairn::ops::{hooks, Session};
/// use cairn::progress::Silent;
///
/// let s = Session::open(Path::new("."))?;
/// let r = hooks::follow(&s, &hooks::Moved::Merge, &Silent, None)?;
/// if !r.complete() {
///     println!("not restored: {:?}", r.checkout.incomplete);
/// }
/// # Ok::<(), cairn::Error>(())
/// ```
pub fn follow(
    s: &Session,
    moved: &Moved,
    progress: &dyn Progress,
    waits: Waits,
) -> Result<FollowReport> {
    let git = s.require_git()?;
    let (must, prev) = moved.decide(git);
    if !must {
        return Ok(FollowReport::default());
    }
    let gone = match prev.map(|p| pointers_at(git, p)) {
        Some(Ok(before)) => gone_since(s, before),
        _ => Vec::new(),
    };
    // Fetch what the new pointers lack first (a fresh clone has no cache).
    // Without a remote, or with one that cannot be reached, the cache's
    // data is still restored and the rest is reported.
    let selected = select_at(s, None, &[], progress)?;
    let (fetched, fetch_error) = match fetch(s, &selected, None, &Silent, waits) {
        Ok(f) => (Some(f), None),
        Err(Error::NoRemote) => (None, None),
        Err(e) => (None, Some(e.to_string())),
    };
    let opts = CheckoutOptions {
        caller: Caller::Hook,
        gone,
        only_complete: true,
        ..CheckoutOptions::new(None, Vec::new())
    };
    Ok(FollowReport {
        followed: true,
        fetch: fetched,
        fetch_error,
        checkout: checkout(s, opts, &Silent)?,
    })
}

/// Tracked paths of `before` whose pointer git has just removed: their
/// data goes too.
fn gone_since(s: &Session, before: Vec<Tracked>) -> Vec<Tracked> {
    let root = s.workspace().root();
    before
        .into_iter()
        .filter(|(rel, _)| !root.join(format!("{rel}{SUFFIX}")).exists())
        .collect()
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
