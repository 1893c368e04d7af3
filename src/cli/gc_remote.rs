//! `cairn gc --remote NAME`: the remote side of `gc`.

use std::process::ExitCode;

use anyhow::Context;
use std::time::{Duration, SystemTime};

use super::ui::{human, Ui};
use crate::error::ObjectKind;
use crate::ops::fetch::{reach, Selected};
use crate::store::Store;
use crate::transfer::{collect, fetch, Connection};
use crate::workspace::Workspace;

pub fn run(
    ui: &Ui,
    ws: &Workspace,
    store: &Store,
    name: &str,
    grace: Duration,
    grace_text: &str,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let resolved = super::remote::resolve(ui, ws, Some(name))?;
    let name = resolved.name.clone();
    let mut conn = Connection::open(resolved, &ws.cache_dir(), true)?;
    conn.report_waits_to(ui.waits());
    let selected: Selected = crate::gc::live_pointers(ws, &ui.progress())
        .context("could not tell what git's history and the work tree keep; refusing to collect")?
        .into_iter()
        .map(|(rel, ptr)| (rel, ptr, None))
        .collect();
    let state = conn.load_index()?;
    // Listings, manifests and segments the cache lacks are read from the
    // remote (they say which chunks are live); chunks themselves are not.
    let bar = ui.progress();
    let idx = &state.index;
    let mut needs = |s: &Store| {
        reach(s, &selected).map(|r| {
            r.missing
                .into_iter()
                .filter(|m| m.kind != ObjectKind::Chunk && idx.contains(m.kind, &m.id))
                .collect()
        })
    };
    fetch::fetch(&conn, store, &mut needs, &bar)?;
    let r = reach(store, &selected)?;
    let mut live = r.objects;
    for m in r.missing {
        live.insert((m.kind, m.id));
        if m.kind == ObjectKind::Manifest {
            // A one-chunk file is stored as that chunk.
            live.insert((ObjectKind::Chunk, m.id));
        }
    }
    let packs = conn.list(crate::remote::index::PACK_DIR)?;
    let plan = collect::plan(&state, &packs, &live, grace, SystemTime::now())?;
    let done = if dry_run {
        collect::Collected {
            deleted: plan.delete.len(),
            deleted_bytes: plan.due_bytes(),
            spared: 0,
        }
    } else {
        collect::execute(&conn, &plan, &bar)?
    };
    let (partial, partial_bytes) = conn.sweep_staging(grace, SystemTime::now(), dry_run)?;
    if partial > 0 {
        ui.info(format!(
            "{} {partial} partial upload(s) ({}) left by interrupted pushes",
            if dry_run { "would remove" } else { "removed" },
            human(partial_bytes)
        ));
    }
    if plan.lost > 0 {
        ui.warn(format!(
            "{} pack(s) listed on {name} are missing; {} their objects as absent, so `cairn push` from a clone with the data sends them again",
            plan.lost,
            if dry_run { "gc would record" } else { "recorded" }
        ));
    }
    if done.spared > 0 {
        ui.info(format!(
            "{} condemned pack(s) changed since they were condemned and were kept",
            done.spared
        ));
    }
    if plan.uncondemned > 0 {
        ui.info(format!(
            "{} condemned pack(s) are in use again and {} kept",
            plan.uncondemned,
            if dry_run { "would be" } else { "were" }
        ));
    }
    println!(
        "{} {} on {name}: {} pack(s) deleted, {} pack(s) rewritten keeping {}; {} pack(s) ({}) condemned, {} newly, deleted by a gc at least {grace_text} later; {} pack(s) kept ({}); {} pack(s) younger than {grace_text} untouched",
        if dry_run { "would free" } else { "freed" },
        human(done.deleted_bytes),
        done.deleted,
        plan.rewrite.len(),
        human(plan.copied_bytes()),
        plan.condemn.len(),
        human(plan.condemned_bytes()),
        plan.fresh,
        plan.keep.len(),
        human(plan.kept_bytes()),
        plan.young,
    );
    ui.detail(format!(
        "{} read and {} write request(s)",
        conn.reads(),
        conn.writes()
    ));
    Ok(ExitCode::SUCCESS)
}
