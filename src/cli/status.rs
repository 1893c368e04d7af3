//! `cairn status`: which tracked data differs from its pointers
//! (`ops::status`), rendered with the hints that fit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::args::{ExitCodeFlag, Format};
use super::session::open_session;
use super::ui::Ui;
use crate::engine::left_behind::Fate;
use crate::engine::status::State;
use crate::ops::select;
use crate::ops::status::status;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Limit to these tracked paths.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub format: Format,
    #[command(flatten)]
    pub exit_code: ExitCodeFlag,
}

pub fn run(ui: &Ui, cwd: &Path, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let session = open_session(ui, cwd)?;
    let rels = select::paths(&session, cwd, &args.paths)?;
    let bar = ui.progress();
    let report = status(&session, &rels, &bar)?;
    // Everything status lists counts: data that differs from its pointer
    // or is not in the cache, and data the remote lacks.
    let differs = report
        .paths
        .iter()
        .any(|r| r.state != State::Clean || !r.stored)
        || report.not_pushed.as_ref().is_some_and(|p| !p.is_empty())
        || !report.left_behind.is_empty()
        || !report.conflicted.is_empty();
    let code = args.exit_code.code(differs);
    if args.format.json {
        super::ui::print_json(&report)?;
        return Ok(code);
    }
    let rows = &report.paths;
    let not_pushed = report.not_pushed.clone().unwrap_or_default();
    let (hashed, stat_only) = (report.files_read, report.files_stat_only);
    let mut dirty = 0;
    let (mut modified, mut stale, mut missing, mut uncached) = (false, false, false, false);
    for r in rows {
        let label = match r.state {
            State::Clean if r.stored => continue,
            State::Clean => "not in cache",
            State::Modified => "modified",
            State::Stale => "out of date",
            State::Missing => "missing",
        };
        dirty += 1;
        modified |= r.state == State::Modified;
        stale |= r.state == State::Stale;
        missing |= r.state == State::Missing;
        uncached |= !r.stored;
        let cache_note = if !r.stored && r.state != State::Clean {
            " (not in cache)"
        } else {
            ""
        };
        println!("{label:>13}: {}{cache_note}", r.path);
        for c in &r.changes {
            let what = match c.change {
                crate::engine::status::Change::Added => "new file",
                crate::engine::status::Change::Modified => "modified",
                crate::engine::status::Change::Deleted => "deleted",
            };
            println!("{:>17}{what}: {}", "", c.path);
        }
    }
    for p in &not_pushed {
        println!("{:>13}: {p}", "not pushed");
    }
    for p in &report.conflicted {
        println!("{:>13}: {p}", "conflicted");
    }
    if !report.conflicted.is_empty() {
        dirty += 1;
        ui.info("hint: conflicted: a git merge left both versions in these pointers; keep one with `git checkout --ours -- <path>.cairn` (or `--theirs`) and then `cairn checkout <path>`, or record the data in the work tree with `cairn add <path>`; then `git add <path>.cairn`");
    }
    for l in &report.left_behind {
        let note = match l.fate {
            Fate::Changed => " (holds changes cairn has not recorded)",
            Fate::NotStored => " (not in cache)",
            Fate::Removable | Fate::Gone => "",
        };
        println!("{:>13}: {}{note}", "left behind", l.path);
    }
    if !report.left_behind.is_empty() {
        dirty += 1;
        ui.info("hint: left behind: git removed these files' pointers (a checkout or pull without cairn's hooks); `cairn checkout` removes those whose data is in the cache, and `cairn add <path>` tracks one again");
    }
    if let (Some(r), false) = (&report.remote, not_pushed.is_empty()) {
        ui.info(format!("hint: `cairn push` sends them to {r}"));
    }
    if dirty == 0 {
        println!(
            "{} tracked path(s), all match their pointers and are in the cache",
            rows.len()
        );
    }
    let restore = if uncached {
        "`cairn pull`"
    } else {
        "`cairn checkout`"
    };
    // Paths a pull could not restore when it last tried: say who must act.
    let lacking = report.not_on_remote.clone().unwrap_or_default();
    if let (Some(r), false) = (&report.remote, lacking.is_empty()) {
        ui.info(format!(
            "hint: {r} lacked the data of {} when last seen: `cairn push` in a clone that has it sends it, then `cairn pull` restores it",
            lacking.join(", ")
        ));
    }
    // When every path the cache lacks is one of those, a bare `cairn
    // pull` would only fail again.
    let told = uncached
        && rows
            .iter()
            .filter(|r| !r.stored)
            .all(|r| lacking.contains(&r.path));
    if stale && !told {
        ui.info(format!(
            "hint: out of date: the pointers moved (a git checkout or pull) but the data did not; {restore} brings it up to date"
        ));
        if !super::hooks::installed(&session) {
            ui.info("hint: `cairn install-hooks` makes `git checkout` and `git pull` do that from now on (`cairn install-hooks --global` for every clone)");
        }
    } else if missing && !told {
        ui.info(format!("hint: {restore} restores missing data"));
    }
    if modified {
        ui.info("hint: `cairn add <path>` records changes; `cairn checkout --force <path>` discards them");
    }
    ui.detail(format!(
        "{hashed} file(s) read, {stat_only} vouched for by the stat index"
    ));
    Ok(code)
}
