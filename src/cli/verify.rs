//! `cairn verify`: re-hash every object in the cache, and check that every
//! object the work tree's pointers need is present.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::ui::Ui;
use crate::git::GitRepo;
use crate::history::{pointers_at, pointers_in_work_tree};
use crate::reach::Reach;
use crate::remote::index::index_id_of;
use crate::store::Store;
use crate::transfer::coverage::{self, Revision};
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Verify a remote instead of the cache: download every pack its index
    /// lists and re-hash every object.
    #[arg(long, value_name = "NAME|URL")]
    pub remote: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ui: &Ui, cwd: &Path, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(cwd)?;
    if let Some(name) = &args.remote {
        return verify_remote(ui, &ws, name, args.json);
    }
    let bar = ui.progress();
    let store = Store::open(&ws.cache_dir(), &crate::progress::Silent)?;
    let damage = store.verify(&bar);
    // Objects the current pointers need but the cache lacks. Damaged
    // listings or manifests were reported above; they cannot be walked.
    let mut reach = Reach::default();
    let mut unreadable = Vec::new();
    let mut malformed = Vec::new();
    for rel in ws.find_tracked()? {
        // A file that merely ends in .cairn is skipped, with a warning.
        let ptr = match crate::status::read_pointer_or_skip(&ws, &rel, &bar) {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(e) => {
                malformed.push(ws.root().join(format!("{rel}{}", crate::pointer::SUFFIX)));
                unreadable.push((rel, e.to_string()));
                continue;
            }
        };
        if let Err(e) = reach.add_pointer(&store, &rel, &ptr) {
            unreadable.push((rel, e.to_string()));
        }
    }
    let missing = reach.missing;
    if args.json {
        let damaged: Vec<_> = damage
            .iter()
            .map(|d| {
                json!({
                    "pack": d.pack,
                    "kind": d.object.map(|(k, _)| k.to_string()),
                    "id": d.object.map(|(_, id)| id.to_hex()),
                    "reason": d.reason,
                })
            })
            .collect();
        let missing_json: Vec<_> = missing
            .iter()
            .map(|m| json!({"kind": m.kind.to_string(), "id": m.id.to_hex(), "needed_by": m.needed_by}))
            .collect();
        let unreadable_json: Vec<_> = unreadable
            .iter()
            .map(|(p, e)| json!({"path": p, "error": e}))
            .collect();
        println!(
            "{}",
            json!({"objects": store.len(), "damaged": damaged, "missing": missing_json, "unreadable_pointers": unreadable_json})
        );
    } else {
        for d in &damage {
            match d.object {
                Some((kind, id)) => {
                    println!("damaged {kind} {id} in {}: {}", d.pack.display(), d.reason)
                }
                None => println!("damaged pack {}: {}", d.pack.display(), d.reason),
            }
        }
        for m in &missing {
            println!("missing {} {} (needed by {})", m.kind, m.id, m.needed_by);
        }
        for (p, e) in &unreadable {
            println!("unreadable {p}: {e}");
        }
    }
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
        "verified {} object(s): all intact, and every tracked path's data is present",
        store.len()
    ));
    Ok(ExitCode::SUCCESS)
}

fn verify_remote(ui: &Ui, ws: &Workspace, name: &str, json_out: bool) -> anyhow::Result<ExitCode> {
    let resolved = super::remote::resolve(ui, ws, Some(name))?;
    let name = resolved.name.clone();
    let mut conn = crate::transfer::Connection::open(resolved, &ws.cache_dir(), false)?;
    conn.report_waits_to(ui.waits());
    // What this clone read before proves nothing about the remote now.
    conn.read_index_fresh();
    let bar = ui.progress();
    let report = crate::transfer::check::check(&conn, &bar)?;
    let store = Store::open(&ws.cache_dir(), &crate::progress::Silent)?;
    let gaps = {
        let _lock = store.lock()?;
        let revisions = revisions(ws)?;
        coverage::check(&conn, &store, &revisions, &report.found, &bar)?
    };
    if json_out {
        let damaged: Vec<_> = report
            .damage
            .iter()
            .map(|d| {
                json!({
                    "object": d.object,
                    "kind": d.blob.map(|(k, _)| k.to_string()),
                    "id": d.blob.map(|(_, id)| id.to_hex()),
                    "reason": d.reason,
                })
            })
            .collect();
        let missing: Vec<_> = gaps
            .iter()
            .map(|g| {
                json!({
                    "kind": g.kind.to_string(),
                    "id": g.id.to_hex(),
                    "path": g.path,
                    "revision": g.revision,
                    "fix": g.fix,
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "remote": name,
                "missing": missing,
                "packs": report.packs,
                "objects": report.blobs,
                "bytes": report.bytes,
                "unindexed_packs": report.unindexed,
                "damaged_with_intact_copies": report.repaired,
                "noted": report.noted,
                "damaged": damaged,
                "requests": {"reads": conn.reads(), "writes": conn.writes()},
            })
        );
    } else {
        for d in &report.damage {
            match d.blob {
                Some((kind, id)) => println!("damaged {kind} {id} in {}: {}", d.object, d.reason),
                None => println!("damaged {}: {}", d.object, d.reason),
            }
        }
        for g in &gaps {
            println!(
                "missing {} {} on {name}: {} at {} needs it; fix: `{}` in a clone that has the data",
                g.kind, g.id, g.path, g.revision, g.fix
            );
        }
    }
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

/// The revisions whose data a remote must hold: the work tree, HEAD and
/// every tag (each once: a tag at HEAD's commit adds nothing new).
fn revisions(ws: &Workspace) -> anyhow::Result<Vec<Revision>> {
    let mut out = vec![Revision {
        label: "the work tree".into(),
        rev: None,
        pointers: pointers_in_work_tree(ws, &crate::progress::Silent)?,
    }];
    let Ok(git) = GitRepo::open(ws.root()) else {
        return Ok(out);
    };
    // The same versions a plain push sends.
    for (full, short) in crate::ops::push::named_revisions(&git)? {
        let pointers = pointers_at(&git, &full)?;
        if out.iter().all(|r| r.pointers != pointers) {
            out.push(Revision {
                label: short.clone(),
                rev: Some(short),
                pointers,
            });
        }
    }
    Ok(out)
}
