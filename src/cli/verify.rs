//! `cairn verify [--remote NAME|URL]`: re-hash what is stored and check
//! that the pointers' data is there (`ops::verify`), and render it.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::args::{Format, Jobs};
use super::session::open_session;
use super::ui::Ui;
use crate::ops::verify::{verify_cache, CacheVerify, RemoteVerify};
use crate::ops::Session;
use crate::remote::index::index_id_of;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Verify a remote instead of the cache: download every pack its index
    /// lists and re-hash every object.
    #[arg(long, value_name = "NAME|URL")]
    pub remote: Option<String>,
    #[command(flatten)]
    pub jobs: Jobs,
    #[command(flatten)]
    pub format: Format,
}

pub fn run(ui: &Ui, cwd: &Path, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut session = open_session(ui, cwd)?;
    session.set_jobs(args.jobs.get());
    if let Some(name) = &args.remote {
        return verify_remote(ui, &session, name, args.format.json);
    }
    let bar = ui.progress();
    let report = verify_cache(&session, &bar)?;
    if args.format.json {
        super::ui::print_json(&report)?;
    } else {
        for d in &report.damage {
            match d.object {
                Some((kind, id)) => {
                    println!("damaged {kind} {id} in {}: {}", d.pack.display(), d.reason)
                }
                None => println!("damaged pack {}: {}", d.pack.display(), d.reason),
            }
        }
        for m in &report.missing {
            println!("missing {} {} (needed by {})", m.kind, m.id, m.needed_by);
        }
        for u in &report.unreadable {
            println!("unreadable {}: {}", u.path, u.error);
        }
    }
    let CacheVerify {
        objects,
        damage,
        missing,
        unreadable,
        malformed,
    } = report;
    let problems = damage.len() + missing.len() + unreadable.len();
    if problems > 0 {
        return Err(crate::Error::VerifyFailed {
            damaged: damage.len() + unreadable.len() - malformed.len(),
            missing: missing.len(),
            malformed_pointers: malformed,
        }
        .into());
    }
    ui.info(format!(
        "verified {objects} object(s): all intact, and every tracked path's data is present"
    ));
    Ok(ExitCode::SUCCESS)
}

fn verify_remote(
    ui: &Ui,
    session: &Session,
    name: &str,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    // `-v` names the remote and the config layer it came from.
    super::remote::resolve(ui, session, Some(name))?;
    let v = crate::ops::verify::verify_remote(session, name, &ui.progress(), Some(ui.waits()))?;
    if json_out {
        super::ui::print_json(&v)?;
    } else {
        for d in &v.check.damage {
            match d.blob {
                Some((kind, id)) => println!("damaged {kind} {id} in {}: {}", d.object, d.reason),
                None => println!("damaged {}: {}", d.object, d.reason),
            }
        }
        for g in &v.gaps {
            println!(
                "missing {} {} on {}: {} at {} needs it; fix: `{}` in a clone that has the data",
                g.kind, g.id, v.remote, g.path, g.revision, g.fix
            );
        }
    }
    let RemoteVerify {
        remote: name,
        check: report,
        gaps,
        ..
    } = v;
    for d in report
        .damage
        .iter()
        .filter(|d| index_id_of(&d.object).is_some())
    {
        ui.warn(format!(
            "{} is damaged, so no clone sees the packs it lists: `cairn push -r {name}` from the clone that pushed them uploads its verified copy again; from any other clone with the data it sends that data again",
            d.object
        ));
    }
    // On failure the error's hint says the damage was noted.
    if let (Some(path), true) = (&report.noted, report.damage.is_empty()) {
        ui.info(format!(
            "noted the damaged copies on {name} ({path}): every client now avoids them, and `cairn push` from any clone with the data replaces them"
        ));
    }
    if let Some(why) = &report.note_failed {
        ui.warn(format!(
            "could not note the damage on {name} (is it read-only?): {why}"
        ));
    }
    if report.repaired > 0 && report.damage.is_empty() {
        ui.info(format!(
            "{} damaged cop(ies) have intact copies in other packs; `cairn gc --remote {name}` drops them",
            report.repaired
        ));
    }
    if !report.damage.is_empty() || !gaps.is_empty() {
        return Err(crate::Error::RemoteVerifyFailed {
            remote: name,
            count: report.damage.len() + gaps.len(),
        }
        .into());
    }
    ui.info(format!(
        "verified {} pack(s) on {name} ({} object(s), {}): all intact, and it holds all the data of the work tree, HEAD and every tag{}",
        report.packs,
        report.blobs,
        super::ui::human(report.bytes),
        if report.unindexed > 0 {
            format!(
                "; {} pack(s) not yet listed by an index (an interrupted or running push)",
                report.unindexed
            )
        } else {
            String::new()
        }
    ));
    Ok(ExitCode::SUCCESS)
}
