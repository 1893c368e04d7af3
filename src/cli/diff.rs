//! `cairn diff [A] [B]`: data that changed between two revisions (default:
//! HEAD and the work tree's pointers), with sizes and the bytes that are
//! really new (`ops::diff`), as text or JSON.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::args::{ExitCodeFlag, Format};
use super::session::open_session;
use super::ui::{human, Ui};
use crate::ops::diff::{diff, DiffOptions};

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old revision (default: HEAD).
    #[arg(value_name = "A")]
    pub from: Option<String>,
    /// The new revision (default: the work tree's pointers).
    #[arg(value_name = "B")]
    pub to: Option<String>,
    #[command(flatten)]
    pub format: Format,
    #[command(flatten)]
    pub exit_code: ExitCodeFlag,
}

pub fn run(ui: &Ui, cwd: &Path, args: DiffArgs) -> anyhow::Result<ExitCode> {
    let session = open_session(ui, cwd)?;
    let opts = DiffOptions {
        from: args.from,
        to: args.to,
    };
    let report = diff(&session, opts, &ui.progress())?;
    let code = args.exit_code.code(!report.paths.is_empty());
    if args.format.json {
        super::ui::print_json(&report)?;
        return Ok(code);
    }
    let size = |s: Option<u64>| s.map(human).unwrap_or_else(|| "-".into());
    for p in &report.paths {
        println!(
            "{:<8} {}  {} -> {}  ({} new)",
            p.change,
            p.path,
            size(p.old_size),
            size(p.new_size),
            human(p.new_bytes)
        );
        for f in &p.files {
            println!(
                "    {:<8} {}  {} -> {}",
                f.change,
                f.path,
                size(f.old_size),
                size(f.new_size)
            );
        }
    }
    if report.paths.is_empty() {
        println!("no tracked data differs");
    } else {
        println!("{} new in total", human(report.new_bytes));
    }
    if !report.complete {
        ui.warn("some objects are not in the cache; new-byte counts may be low (fetch them, or add the data)");
    }
    Ok(code)
}
