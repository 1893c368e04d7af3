//! `log PATH`: the commits where a tracked path's data changed, newest
//! first, with its size at each and by how much it changed.
//!
//! The history is the pointer file's, read from git objects along HEAD's
//! first-parent chain (see [`crate::repo::git::GitRepo::log_path`]), so it
//! needs neither the cache nor the data: a fresh clone can see how a
//! dataset grew before fetching any of it. A pointer in history is held to
//! the same rules as one on disk; a malformed one fails, naming the commit.

use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::format::pointer::{Pointer, SUFFIX};
use crate::hash::Id;
use crate::progress::Progress;

use super::diff::Change;
use super::Session;

/// Whose history, and how much of it.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// The repository-relative path of the tracked data (not its pointer
    /// file; `ops::select::path` turns a user's argument into this).
    pub path: String,
    /// At most this many commits; `None`: all.
    pub max_count: Option<usize>,
}

/// A path's history. Serialised as `log --json` prints it: keys in
/// alphabetical order, as they have always been.
#[derive(Debug, Clone, Serialize)]
pub struct LogReport {
    /// Newest first.
    pub commits: Vec<LogEntry>,
    pub path: String,
}

/// One commit that changed the path (fields in alphabetical order).
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// Author name.
    pub author: String,
    pub change: Change,
    /// Full commit id.
    pub commit: String,
    /// `YYYY-MM-DD` (UTC) of the author time.
    pub date: String,
    /// The data's id after the commit; `None` when it removed the data.
    pub id: Option<Id>,
    /// Shortest unambiguous commit id.
    pub short: String,
    /// Bytes of data after the commit; `None` when it removed the data.
    pub size: Option<u64>,
    /// Bytes gained (negative: lost) against the previous commit shown.
    pub size_change: Option<i64>,
    /// First line of the commit message.
    pub summary: String,
    /// Author time, seconds since the Unix epoch.
    pub time: i64,
}

/// The history of the tracked data at `opts.path`; it needs git. (Reading
/// history reports no progress; `progress` is there as for every
/// operation.)
///
/// ```no_run
/// use std::path::Path;
///
/// use cairn::ops::log::{log, LogOptions};
/// use cairn::ops::Session;
/// use cairn::progress::Silent;
///
/// let s = Session::open(Path::new("."))?;
/// let opts = LogOptions {
///     path: "data/train".into(),
///     max_count: Some(10),
/// };
/// for c in log(&s, opts, &Silent)?.commits {
///     println!("{} {} {:?} {:?}", c.short, c.date, c.change, c.size_change);
/// }
/// # Ok::<(), cairn::Error>(())
/// ```
pub fn log(s: &Session, opts: LogOptions, _progress: &dyn Progress) -> Result<LogReport> {
    let git = s.require_git()?;
    let ptr_path = format!("{}{SUFFIX}", opts.path);
    let history = git.log_path(&ptr_path, opts.max_count)?;
    // Sizes, oldest first, so each change can be given as a difference.
    let mut commits = Vec::with_capacity(history.len());
    let mut previous: Option<u64> = None;
    for (info, blob) in history.into_iter().rev() {
        let ptr = match blob {
            Some(b) => Some(Pointer::parse(
                Path::new(&format!("{}:{ptr_path}", info.short)),
                &b,
            )?),
            None => None,
        };
        let size = ptr.as_ref().map(Pointer::size);
        let size_change = match (size, previous) {
            (Some(s), Some(p)) => Some(s as i64 - p as i64),
            (Some(s), None) => Some(s as i64),
            (None, Some(p)) => Some(-(p as i64)),
            (None, None) => None,
        };
        let change = match (&ptr, previous) {
            (None, _) => Change::Removed,
            (Some(_), None) => Change::Added,
            (Some(_), Some(_)) => Change::Modified,
        };
        commits.push(LogEntry {
            date: date(info.time),
            author: info.author,
            change,
            commit: info.id,
            id: ptr.as_ref().map(Pointer::id),
            short: info.short,
            size,
            size_change,
            summary: info.summary,
            time: info.time,
        });
        previous = size;
    }
    commits.reverse();
    Ok(LogReport {
        commits,
        path: opts.path,
    })
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_795_000_000), "2026-11-18");
    }

    /// The report serialises to the JSON `log --json` built by hand (with
    /// `json!`) before: same keys, same order, same bytes.
    #[test]
    fn report_prints_as_it_always_has() {
        let entry = |change, size: Option<u64>, size_change| LogEntry {
            author: "Ada".into(),
            change,
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            date: date(951_782_400),
            id: size.map(|s| Id::of(&s.to_le_bytes())),
            short: "0123456".into(),
            size,
            size_change,
            summary: "more data".into(),
            time: 951_782_400,
        };
        let report = LogReport {
            commits: vec![
                entry(Change::Removed, None, Some(-9)),
                entry(Change::Modified, Some(9), Some(-1)),
                entry(Change::Added, Some(10), Some(10)),
            ],
            path: "data".into(),
        };
        let rows: Vec<_> = report
            .commits
            .iter()
            .map(|c| {
                json!({
                    "commit": c.commit,
                    "short": c.short,
                    "time": c.time,
                    "date": c.date,
                    "author": c.author,
                    "summary": c.summary,
                    "change": c.change.to_string(),
                    "id": c.id.map(|i| i.to_hex()),
                    "size": c.size,
                    "size_change": c.size_change,
                })
            })
            .collect();
        let before = json!({"path": "data", "commits": rows});
        assert_eq!(serde_json::to_string(&report).unwrap(), before.to_string());
    }
}
