//! `cairn checkout [REV] [PATH…]`: make the work tree's data match the
//! pointers (of REV when given).

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Context;
use clap::Args;

use super::ui::{human, Ui};
use crate::git::GitRepo;
use crate::history::{filter, pointers_at, pointers_in_work_tree, split_rev, Tracked};
use crate::pointer::SUFFIX;
use crate::restore::Restore;
use crate::stat_index::StatIndex;
use crate::status::{State, Status};
use crate::store::Store;
use crate::workspace::{write_atomic, Workspace};

#[derive(Debug, Args)]
pub struct CheckoutArgs {
    /// A git revision (commit, tag, branch, HEAD~2, main@{1}) whose data to
    /// restore, and/or tracked paths (or paths inside tracked directories)
    /// to limit it to. Without a revision, the work tree's pointers are used.
    #[arg(value_name = "REV|PATH")]
    pub args: Vec<String>,
}

pub fn run(ui: &Ui, cwd: &Path, args: CheckoutArgs) -> anyhow::Result<ExitCode> {
    run_with(ui, cwd, args, Vec::new())
}

/// `checkout`, also retiring `gone`: tracked paths whose pointers a git
/// operation has just removed (the hooks pass these in).
pub fn run_with(
    ui: &Ui,
    cwd: &Path,
    args: CheckoutArgs,
    gone: Vec<Tracked>,
) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(cwd)?;
    let _lock = ws.lock()?;
    let bar = ui.progress();
    let store = Store::open(&ws.cache_dir(), &bar)?;
    let mut index = StatIndex::load(&ws.stat_index_path())?;
    let git = GitRepo::open(ws.root()).ok();
    let (rev, paths) = split_rev(&ws, git.as_ref(), cwd, &args.args)?;

    // What to restore: (tracked path, pointer, sub-path inside a directory).
    let mut plan = Vec::new();
    // Tracked paths that REV does not have: their pointers (and clean data) go.
    let mut dropped = gone;
    match (&rev, &git) {
        (Some(r), Some(g)) => {
            let target = filter(pointers_at(g, r)?, &paths);
            let current = filter(pointers_in_work_tree(&ws, &ui.progress())?, &paths);
            for (rel, old) in current {
                if !target.iter().any(|(t, _)| *t == rel) {
                    dropped.push((rel, old));
                }
            }
            plan.extend(target.into_iter().map(|(rel, p)| (rel, p, None, true)));
        }
        _ => {
            let tracked = ws.find_tracked()?;
            for (rel, only) in super::select_tracked_rel(&ws, &tracked, &paths)? {
                if let Some(ptr) = crate::status::read_pointer_or_skip(&ws, &rel, &bar)? {
                    plan.push((rel, ptr, only, false));
                }
            }
        }
    }

    let restore = Restore::new(&ws, &store, &mut index, &bar);
    let mut result = Ok(());
    for (rel, ptr, only, write_pointer) in &plan {
        let r = restore
            .restore(rel, ptr, only.as_deref())
            .and_then(|_| {
                if !write_pointer {
                    return Ok(());
                }
                // The data is in place and verified; now the pointer.
                let path = ws.safe_abs(&format!("{rel}{SUFFIX}"))?;
                let text = ptr.encode();
                if std::fs::read(&path).ok().as_deref() != Some(text.as_bytes()) {
                    write_atomic(&path, text.as_bytes())?;
                }
                ws.ensure_ignored(rel)
            })
            .with_context(|| format!("could not check out {rel}"));
        if let Err(e) = r {
            result = Err(e);
            break;
        }
    }
    let c = &restore.counters;
    let written = c.files_written.load(Ordering::Relaxed);
    let same = c.files_unchanged.load(Ordering::Relaxed);
    let mut removed = c.files_removed.load(Ordering::Relaxed);
    let bytes = c.bytes_written.load(Ordering::Relaxed);

    if result.is_ok() && !dropped.is_empty() {
        // Only data that matches its pointer (so it can be restored again
        // from the cache) is deleted; anything else is kept and reported.
        let status = Status::new(&ws, &store, &mut index, &crate::progress::Silent);
        let mut doomed = Vec::new();
        for (rel, ptr) in &dropped {
            let st = status.path(rel, ptr)?;
            match st.state {
                State::Clean if st.stored => doomed.push(rel.clone()),
                State::Missing => doomed.push(rel.clone()),
                _ => ui.warn(format!(
                    "kept {rel}: it is not in {} and has changes or is not in the cache",
                    rev.as_deref().unwrap_or("REV")
                )),
            }
        }
        for rel in doomed {
            let data = ws.safe_abs(&rel)?;
            if let Ok(meta) = std::fs::symlink_metadata(&data) {
                if meta.is_dir() {
                    std::fs::remove_dir_all(&data)
                        .with_context(|| format!("could not remove {rel}"))?;
                } else {
                    std::fs::remove_file(&data)
                        .with_context(|| format!("could not remove {rel}"))?;
                }
                removed += 1;
            }
            index.remove_tree(&rel);
            let ptr_path = ws.safe_abs(&format!("{rel}{SUFFIX}"))?;
            if ptr_path.exists() {
                std::fs::remove_file(&ptr_path)
                    .with_context(|| format!("could not remove {rel}{SUFFIX}"))?;
            }
        }
    }
    // Record what was written even if a later path failed.
    index.save()?;
    result?;
    ui.info(format!(
        "checked out {} path(s){}: {written} file(s) written ({}), {same} already up to date, {removed} removed",
        plan.len(),
        rev.as_deref().map(|r| format!(" at {r}")).unwrap_or_default(),
        human(bytes)
    ));
    Ok(ExitCode::SUCCESS)
}
