//! `cairn checkout [PATH…]`: make the work tree's data match the pointers.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Context;
use clap::Args;

use super::ui::{human, Ui};
use crate::restore::Restore;
use crate::stat_index::StatIndex;
use crate::status::read_pointer;
use crate::store::Store;
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct CheckoutArgs {
    /// Tracked paths (or paths inside tracked directories) to restore;
    /// everything when omitted.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

pub fn run(ui: &Ui, cwd: &Path, args: CheckoutArgs) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(cwd)?;
    let _lock = ws.lock()?;
    let bar = ui.progress();
    let store = Store::open(&ws.cache_dir(), &bar)?;
    let mut index = StatIndex::load(&ws.stat_index_path())?;
    let tracked = ws.find_tracked()?;
    let selected = super::select_tracked(&ws, cwd, &tracked, &args.paths)?;
    let restore = Restore::new(&ws, &store, &mut index, &bar);
    let mut result = Ok(());
    for (rel, only) in &selected {
        let r = read_pointer(&ws, rel)
            .and_then(|ptr| restore.restore(rel, &ptr, only.as_deref()))
            .with_context(|| format!("could not check out {rel}"));
        if let Err(e) = r {
            result = Err(e);
            break;
        }
    }
    let c = &restore.counters;
    let written = c.files_written.load(Ordering::Relaxed);
    let same = c.files_unchanged.load(Ordering::Relaxed);
    let removed = c.files_removed.load(Ordering::Relaxed);
    let bytes = c.bytes_written.load(Ordering::Relaxed);
    // Record what was written even if a later path failed.
    index.save()?;
    result?;
    ui.info(format!(
        "checked out {} path(s): {written} file(s) written ({}), {same} already up to date, {removed} removed",
        selected.len(),
        human(bytes)
    ));
    Ok(ExitCode::SUCCESS)
}
