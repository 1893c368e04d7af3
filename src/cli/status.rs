//! `cairn status`: which tracked data differs from its pointers.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use clap::Args;
use serde_json::json;

use super::ui::Ui;
use crate::stat_index::StatIndex;
use crate::status::{read_pointer, State, Status};
use crate::store::Store;
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Limit to these tracked paths.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ui: &Ui, cwd: &Path, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(cwd)?;
    let bar = ui.progress();
    let store = Store::open(&ws.cache_dir(), &bar)?;
    let mut index = StatIndex::load(&ws.stat_index_path())?;
    let tracked = ws.find_tracked()?;
    let selected = super::select_tracked(&ws, cwd, &tracked, &args.paths)?;
    let st = Status::new(&ws, &store, &mut index, &bar);
    let mut rows = Vec::new();
    for (rel, _) in &selected {
        // A file that merely ends in .cairn is skipped, with a warning.
        let Some(ptr) = crate::status::read_pointer_or_skip(&ws, rel, &bar)? else {
            continue;
        };
        rows.push(st.path(rel, &ptr)?);
    }
    let hashed = st.counters.files_hashed.load(Ordering::Relaxed);
    let stat_only = st.counters.files_stat_only.load(Ordering::Relaxed);
    // Remember what was just hashed, if no other cairn is busy writing.
    if index.is_dirty() {
        if let Ok(_lock) = ws.lock() {
            index.save()?;
        }
    }

    // What the default remote lacks, as far as this cache last saw it (no
    // network: status stays instant and works offline).
    let remote = crate::remote::resolve(&ws.cairn_dir(), ws.root(), None).ok();
    let seen = remote
        .as_ref()
        .and_then(|r| crate::remote::index::cached(&ws.cache_dir(), &r.location));
    let mut not_pushed = Vec::new();
    if let Some(idx) = &seen {
        for r in rows.iter().filter(|r| r.stored && r.state == State::Clean) {
            let ptr = read_pointer(&ws, &r.path)?;
            if !pushed(idx, &ptr) {
                not_pushed.push(r.path.clone());
            }
        }
    }

    if args.json {
        let out = json!({
            "paths": rows,
            "files_read": hashed,
            "files_stat_only": stat_only,
            "remote": remote.as_ref().map(|r| r.name.clone()),
            "not_pushed": seen.as_ref().map(|_| &not_pushed),
        });
        println!("{out}");
        return Ok(ExitCode::SUCCESS);
    }
    let mut dirty = 0;
    let (mut modified, mut stale, mut missing, mut uncached) = (false, false, false, false);
    for r in &rows {
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
                crate::status::Change::Added => "new file",
                crate::status::Change::Modified => "modified",
                crate::status::Change::Deleted => "deleted",
            };
            println!("{:>17}{what}: {}", "", c.path);
        }
    }
    for p in &not_pushed {
        println!("{:>13}: {p}", "not pushed");
    }
    if let (Some(r), false) = (&remote, not_pushed.is_empty()) {
        ui.info(format!("hint: `cairn push` sends them to {}", r.name));
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
    if stale {
        ui.info(format!(
            "hint: out of date: the pointers moved (a git checkout or pull) but the data did not; {restore} brings it up to date"
        ));
        if !super::hooks::installed(&ws) {
            ui.info("hint: `cairn install-hooks` makes `git checkout` and `git pull` do that from now on (`cairn install-hooks --global` for every clone)");
        }
    } else if missing {
        ui.info(format!("hint: {restore} restores missing data"));
    }
    if modified {
        ui.info("hint: `cairn add <path>` records changes; `cairn checkout --force <path>` discards them");
    }
    ui.detail(format!(
        "{hashed} file(s) read, {stat_only} vouched for by the stat index"
    ));
    Ok(ExitCode::SUCCESS)
}

/// Whether the remote (as last seen) has the pointer's top object; a push
/// sends everything below it before the index that lists it.
fn pushed(idx: &crate::remote::index::RemoteIndex, ptr: &crate::pointer::Pointer) -> bool {
    use crate::error::ObjectKind;
    match ptr {
        crate::pointer::Pointer::File { size: 0, .. } => true,
        crate::pointer::Pointer::File { id, .. } => {
            idx.contains(ObjectKind::Manifest, id) || idx.contains(ObjectKind::Chunk, id)
        }
        crate::pointer::Pointer::Dir { id, .. } => idx.contains(ObjectKind::Tree, id),
    }
}
