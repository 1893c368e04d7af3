//! `cairn gc [--remote NAME|URL]`: drop data that nothing reachable refers
//! to (`ops::gc`), and render what it did.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::args::{Format, Jobs};
use super::session::open_session;
use super::ui::{human, Ui};
use crate::ops::gc::{gc, GcOptions, GcReport, RemoteGc};

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Only report what would be deleted and how much space it would free.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep every pack younger than this (e.g. 0, 30m, 12h, 1d, 2w);
    /// default: `gc.grace` from the config, else 1d.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
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
    #[command(flatten)]
    pub jobs: Jobs,
    #[command(flatten)]
    pub format: Format,
}

/// `--grace`'s value, checked as clap parses it so that a bad one is a
/// usage error (exit 2) that names the flag; kept as text, which the
/// report repeats.
fn duration(text: &str) -> Result<String, String> {
    match crate::repo::config::parse_duration(text) {
        Some(_) => Ok(text.to_string()),
        None => Err(
            "expected a number with an optional unit s, m, h, d or w (e.g. 0, 30m, 12h, 1d, 2w)"
                .into(),
        ),
    }
}

pub fn run(ui: &Ui, cwd: &Path, args: GcArgs) -> anyhow::Result<ExitCode> {
    let mut session = open_session(ui, cwd)?;
    session.set_jobs(args.jobs.get());
    if let Some(r) = &args.remote {
        // `-v` names the remote and the config layer it came from.
        super::remote::resolve(ui, &session, Some(r))?;
    }
    let opts = GcOptions {
        grace: args.grace,
        dry_run: args.dry_run,
        shared_cache: args.shared_cache,
        remote: args.remote,
    };
    let report = gc(&session, opts, &ui.progress(), Some(ui.waits()))?;
    if args.format.json {
        super::ui::print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    match report {
        GcReport::Cache(r) => println!(
            "{} {}: {} object(s) dropped, {} pack(s) deleted, {} pack(s) rewritten keeping {}; {} pack(s) younger than {} kept",
            if r.dry_run { "would free" } else { "freed" },
            human(r.freed_bytes),
            r.objects_dropped,
            r.packs_deleted,
            r.packs_rewritten,
            human(r.bytes_kept_by_rewrites),
            r.packs_young,
            r.grace,
        ),
        GcReport::Remote(r) => render_remote(ui, &r),
    }
    Ok(ExitCode::SUCCESS)
}

fn render_remote(ui: &Ui, r: &RemoteGc) {
    let name = &r.remote;
    if r.partial_uploads > 0 {
        ui.info(format!(
            "{} {} partial upload(s) ({}) left by interrupted pushes",
            if r.dry_run { "would remove" } else { "removed" },
            r.partial_uploads,
            human(r.partial_bytes)
        ));
    }
    if r.packs_lost > 0 {
        ui.warn(format!(
            "{} pack(s) listed on {name} are missing; {} their objects as absent, so `cairn push` from a clone with the data sends them again",
            r.packs_lost,
            if r.dry_run { "gc would record" } else { "recorded" }
        ));
    }
    if r.packs_spared > 0 {
        ui.info(format!(
            "{} condemned pack(s) changed since they were condemned and were kept",
            r.packs_spared
        ));
    }
    if r.packs_uncondemned > 0 {
        ui.info(format!(
            "{} condemned pack(s) are in use again and {} kept",
            r.packs_uncondemned,
            if r.dry_run { "would be" } else { "were" }
        ));
    }
    println!(
        "{} {} on {name}: {} pack(s) deleted, {} pack(s) rewritten keeping {}; {} pack(s) ({}) condemned, {} newly, deleted by a gc at least {} later; {} pack(s) kept ({}); {} pack(s) younger than {} untouched",
        if r.dry_run { "would free" } else { "freed" },
        human(r.freed_bytes),
        r.packs_deleted,
        r.packs_rewritten,
        human(r.bytes_kept_by_rewrites),
        r.packs_condemned,
        human(r.bytes_condemned),
        r.packs_newly_condemned,
        r.grace,
        r.packs_kept,
        human(r.bytes_kept),
        r.packs_young,
        r.grace,
    );
    ui.detail(format!(
        "{} read and {} write request(s)",
        r.requests.reads, r.requests.writes
    ));
}
