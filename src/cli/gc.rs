//! `cairn gc`: drop cached data that nothing reachable refers to.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use clap::Args;

use super::ui::{human, Ui};
use crate::error::Error;
use crate::gc;
use crate::reach::Reach;
use crate::store::Store;
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Only report what would be deleted and how much space it would free.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep every pack younger than this (e.g. 0, 30m, 12h, 1d, 2w);
    /// default: `gc.grace` from the config, else 1d.
    #[arg(long, value_name = "DURATION")]
    pub grace: Option<String>,
    /// Collect even though the cache is configured elsewhere (`cache.dir`)
    /// and may hold data of other repositories, which this one cannot see.
    #[arg(long)]
    pub shared_cache: bool,
    /// Collect on this remote instead of the local cache (same reachability
    /// and grace rules; packs younger than the grace period are never
    /// touched). Dead packs are condemned first and deleted by a run at
    /// least a grace period later, so pushes finishing within it are safe;
    /// run `git fetch` first, as the live set comes from this clone's refs.
    #[arg(long, value_name = "NAME|URL")]
    pub remote: Option<String>,
}

pub fn run(ui: &Ui, cwd: &Path, args: GcArgs) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(cwd)?;
    let _lock = ws.lock()?;
    let store = Store::open(&ws.cache_dir(), &ui.progress())?;
    let _cache_lock = store.lock()?;
    let (grace, grace_text) = grace(&ws, args.grace.as_deref())?;
    if let Some(name) = &args.remote {
        return super::gc_remote::run(ui, &ws, &store, name, grace, &grace_text, args.dry_run);
    }
    if ws.config().cache_dir.is_some() && !args.shared_cache {
        return Err(Error::GcRefused {
            reason: crate::error::GcRefusal::SharedCache,
        }
        .into());
    }

    let mut reach = Reach::default();
    let live = gc::live_pointers(&ws, &ui.progress())
        .context("could not tell what git's history and the work tree keep; refusing to collect")?;
    for (rel, ptr) in live {
        reach
            .add_pointer(&store, &rel, &ptr)
            .with_context(|| format!("could not read what {rel} needs"))?;
    }

    let plan = gc::plan(&store, &reach.objects, grace, SystemTime::now());
    let verb = if args.dry_run { "would free" } else { "freed" };
    if !args.dry_run {
        gc::execute(&store, &plan)?;
    }
    println!(
        "{verb} {}: {} object(s) dropped, {} pack(s) deleted, {} pack(s) rewritten keeping {}; {} pack(s) younger than {grace_text} kept",
        human(plan.removed_bytes().saturating_sub(plan.copied_bytes())),
        plan.dropped_objects(),
        plan.delete.len(),
        plan.rewrite.len(),
        human(plan.copied_bytes()),
        plan.young,
    );
    Ok(ExitCode::SUCCESS)
}

/// The grace period from the flag, else `gc.grace`, else one day.
fn grace(ws: &Workspace, flag: Option<&str>) -> anyhow::Result<(Duration, String)> {
    let text = flag
        .map(str::to_string)
        .or_else(|| ws.config().gc_grace.clone())
        .unwrap_or_else(|| "1d".to_string());
    let d = gc::parse_duration(&text).ok_or_else(|| Error::ConfigValue {
        key: "gc.grace",
        value: text.clone(),
        reason: "expected a number with an optional unit s, m, h, d or w",
    })?;
    Ok((d, text))
}
