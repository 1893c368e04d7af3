//! `cairn diff [A] [B]`: data that changed between two revisions (default:
//! HEAD and the work tree, edits not yet added included), with sizes and
//! the bytes of new data (`ops::diff`), as text or JSON.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::args::{ExitCodeFlag, Format};
use super::session::open_session;
use super::ui::{human, Ui};
use crate::ops::diff::{diff, DiffOptions};

/// `--help`'s closing text: what the versions default to, and what the
/// byte counts mean.
const AFTER_HELP: &str = "A defaults to HEAD and B to the work tree: its pointers (changes \
    added) and also the edits `cairn status` reports that were not added yet (marked \
    \"not added\"), as `git diff HEAD` and `git diff REV` compare with the work tree. \
    `cairn diff A B` compares two commits and ignores the work tree. \
    \"New data\" is raw (uncompressed) bytes in chunks A does not have; files not added yet \
    count whole, as they are not chunked yet.";

#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct DiffArgs {
    /// The old revision (default: HEAD).
    #[arg(value_name = "A")]
    pub from: Option<String>,
    /// The new revision (default: the work tree, including edits not yet
    /// added).
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
        let note = if p.unadded { ", not added" } else { "" };
        println!(
            "{:<8} {}  {} -> {}  ({} of new data{note})",
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
        println!("{} of new data in total", human(report.new_bytes));
    }
    if !report.complete {
        ui.warn("some objects are not in the cache; new-byte counts may be low (fetch them, or add the data)");
    }
    Ok(code)
}
