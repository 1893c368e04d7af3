//! `cairn log PATH`: the commits where a tracked path changed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::ui::{human, Ui};
use crate::format::pointer::{Pointer, SUFFIX};
use crate::repo::git::GitRepo;
use crate::repo::workspace::Workspace;

#[derive(Debug, Args)]
pub struct LogArgs {
    /// The tracked file or directory (or its pointer file).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Show at most this many commits.
    #[arg(short = 'n', long, value_name = "N")]
    pub max_count: Option<usize>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `YYYY-MM-DD` (UTC) of a Unix time, by the civil-from-days algorithm.
fn date(secs: i64) -> String {
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn run(_ui: &Ui, cwd: &Path, args: LogArgs) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(cwd)?;
    let git = GitRepo::open(ws.root()).map_err(crate::Error::from)?;
    let rel = ws.rel_path(cwd, &args.path)?;
    let rel = rel.strip_suffix(SUFFIX).map(str::to_string).unwrap_or(rel);
    let ptr_path = format!("{rel}{SUFFIX}");
    let history = git
        .log_path(&ptr_path, args.max_count)
        .map_err(crate::Error::from)?;
    // Sizes, oldest first, so each change can be given as a difference.
    let mut rows = Vec::with_capacity(history.len());
    let mut previous: Option<u64> = None;
    for (info, blob) in history.iter().rev() {
        let ptr = match blob {
            Some(b) => Some(Pointer::parse(
                Path::new(&format!("{}:{ptr_path}", info.short)),
                b,
            )?),
            None => None,
        };
        let size = ptr.as_ref().map(Pointer::size);
        let delta = match (size, previous) {
            (Some(s), Some(p)) => Some(s as i64 - p as i64),
            (Some(s), None) => Some(s as i64),
            (None, Some(p)) => Some(-(p as i64)),
            (None, None) => None,
        };
        let change = match (&ptr, previous) {
            (None, _) => "removed",
            (Some(_), None) => "added",
            (Some(_), Some(_)) => "modified",
        };
        rows.push((info, ptr, delta, change));
        previous = size;
    }
    rows.reverse();
    if args.json {
        let out: Vec<_> = rows
            .iter()
            .map(|(info, ptr, delta, change)| {
                json!({
                    "commit": info.id,
                    "short": info.short,
                    "time": info.time,
                    "date": date(info.time),
                    "author": info.author,
                    "summary": info.summary,
                    "change": change,
                    "id": ptr.as_ref().map(|p| p.id().to_hex()),
                    "size": ptr.as_ref().map(Pointer::size),
                    "size_change": delta,
                })
            })
            .collect();
        println!("{}", json!({"path": rel, "commits": out}));
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("no commits change {rel}");
    }
    for (info, ptr, delta, _) in &rows {
        let size = ptr
            .as_ref()
            .map_or("removed".to_string(), |p| human(p.size()));
        let delta = delta.map_or(String::new(), |d| {
            let sign = if d < 0 { "-" } else { "+" };
            format!("{sign}{}", human(d.unsigned_abs()))
        });
        println!(
            "{} {} {:<16} {size:>10} {delta:>11}  {}",
            info.short,
            date(info.time),
            info.author,
            info.summary
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::date(0), "1970-01-01");
        assert_eq!(super::date(951_782_400), "2000-02-29");
        assert_eq!(super::date(1_795_000_000), "2026-11-18");
    }
}
