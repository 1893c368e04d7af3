//! `cairn log PATH`: the commits where a tracked path changed (`ops::log`),
//! one line per commit or as JSON.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::args::Format;
use super::session::open_session;
use super::ui::{human, Ui};
use crate::ops::log::{log, LogOptions};
use crate::ops::select;

#[derive(Debug, Args)]
pub struct LogArgs {
    /// The tracked file or directory (or its pointer file), or a file or
    /// directory inside a tracked directory: then the commits where its
    /// entries in the directory's listing changed (listings the cache lacks
    /// are fetched from the default remote).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Show at most this many commits.
    #[arg(short = 'n', long, value_name = "N")]
    pub max_count: Option<usize>,
    #[command(flatten)]
    pub format: Format,
}

pub fn run(ui: &Ui, cwd: &Path, args: LogArgs) -> anyhow::Result<ExitCode> {
    let session = open_session(ui, cwd)?;
    let opts = LogOptions {
        path: select::path(&session, cwd, &args.path)?,
        max_count: args.max_count,
    };
    let report = log(&session, opts, &ui.progress())?;
    if args.format.json {
        super::ui::print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    if report.commits.is_empty() {
        println!("no commits change {}", report.path);
    }
    if !report.unread.is_empty() {
        ui.warn(format!(
            "the listing of the directory holding {} could not be read at {} (not in the cache, and no remote provided it); changes there are not shown",
            report.path,
            report.unread.join(", ")
        ));
    }
    for c in &report.commits {
        let size = c.size.map_or("removed".to_string(), human);
        let delta = c.size_change.map_or(String::new(), |d| {
            let sign = if d < 0 { "-" } else { "+" };
            format!("{sign}{}", human(d.unsigned_abs()))
        });
        println!(
            "{} {} {:<16} {size:>10} {delta:>11}  {}",
            c.short, c.date, c.author, c.summary
        );
    }
    Ok(ExitCode::SUCCESS)
}
