//! `cairn doctor`: run `ops::doctor`'s checks and render them; exit 1 with
//! a summary when something is wrong.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::args::Format;
use super::ui::{human, Ui};
use crate::ops::doctor::{doctor, doctor_outside, DoctorReport};
use crate::ops::Session;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub format: Format,
}

pub fn run(_ui: &Ui, cwd: &Path, args: DoctorArgs) -> anyhow::Result<ExitCode> {
    // Not `open_session`: the config warnings it would print are findings
    // of the report, said once there.
    let report = match Session::open(cwd) {
        Ok(session) => doctor(&session)?,
        // Outside a repository there is still an installation to check.
        Err(e @ (crate::Error::NotGitRepo { .. } | crate::Error::NotInitialized { .. })) => {
            doctor_outside(&e)?
        }
        Err(e) => return Err(e.into()),
    };
    if args.format.json {
        super::ui::print_json(&report)?;
    } else {
        print!("{}", render(&report));
    }
    if !report.healthy() {
        return Err(crate::Error::Unhealthy {
            problems: report.problems.len(),
        }
        .into());
    }
    Ok(ExitCode::SUCCESS)
}

fn render(r: &DoctorReport) -> String {
    let mut out = format!("cairn {}\n", r.version);
    match (&r.root, &r.no_repository) {
        (Some(root), _) => out.push_str(&format!("repository: {}\n", root.display())),
        (None, why) => out.push_str(&format!(
            "repository: none ({})\n",
            why.as_deref().unwrap_or("not inside one")
        )),
    }
    out.push_str("config:\n");
    if r.config.is_empty() {
        out.push_str("  (nothing set)\n");
    }
    for e in &r.config {
        out.push_str(&format!("  {} = {}  ({})\n", e.key, e.text(), e.origin));
    }
    if r.root.is_none() {
        out.push_str("remotes and cache: see inside a repository\nno problems found\n");
        return out;
    }
    out.push_str("remotes:\n");
    if r.remotes.is_empty() {
        out.push_str("  (none; `cairn remote add NAME URL` adds one)\n");
    }
    for rem in &r.remotes {
        let default = if rem.default { ", default" } else { "" };
        let state = match (&rem.error, rem.reachable) {
            (Some(e), _) => format!("unreachable: {e}"),
            (None, true) => match &rem.note {
                Some(n) => format!("reachable ({n})"),
                None => "reachable".into(),
            },
            (None, false) => "not checked".into(),
        };
        out.push_str(&format!(
            "  {} {} ({}{default}, {})  {state}\n",
            rem.name,
            rem.url.as_deref().unwrap_or("-"),
            rem.layer,
            rem.source,
        ));
    }
    if let Some(c) = &r.cache {
        out.push_str(&format!(
            "cache: {}\n  {} pack(s), {} object(s), {} ({} bytes)\n",
            c.dir.display(),
            c.packs,
            c.objects,
            human(c.bytes),
            c.bytes
        ));
    }
    out.push_str(if r.hooks_installed {
        "hooks: installed\n"
    } else {
        "hooks: not installed (`cairn install-hooks` makes data follow git checkout)\n"
    });
    if r.problems.is_empty() {
        out.push_str("no problems found\n");
    }
    for p in &r.problems {
        out.push_str(&format!("problem: {p}\n"));
    }
    out
}
