//! `log PATH`: the commits where a tracked path's data changed, newest
//! first, with its size at each and by how much it changed.
//!
//! The history is the pointer file's, read from git objects along HEAD's
//! first-parent chain (see [`crate::repo::git::GitRepo::log_path`]), so it
//! needs neither the cache nor the data: a fresh clone can see how a
//! dataset grew before fetching any of it. A pointer in history is held to
//! the same rules as one on disk; a malformed one fails, naming the commit.
//!
//! A file inside a tracked directory has no pointer of its own: its
//! history is that of the directory's pointer, keeping the commits where
//! the file's entry in the directory's listing changed (for a directory
//! inside one, any entry below it). That needs each
//! commit's listing, from the cache or fetched from the default remote
//! ([`super::listings`]); commits whose listing could not be read are
//! named in the report rather than guessed about. A path with no history
//! at all, tracked neither itself nor inside a directory, is
//! [`Error::NeverTracked`].

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::format::listing;
use crate::format::object::TreeEntry;
use crate::format::pointer::{Pointer, SUFFIX};
use crate::hash::Id;
use crate::progress::Progress;
use crate::repo::git::CommitInfo;

use super::diff::Change;
use super::{listings, Session};

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
    /// For a file inside a tracked directory: the commits (short ids)
    /// whose listing of the directory could be read from neither the cache
    /// nor a remote, so changes there may be missing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<String>,
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
pub fn log(s: &Session, opts: LogOptions, progress: &dyn Progress) -> Result<LogReport> {
    let git = s.require_git()?;
    let ptr_path = format!("{}{SUFFIX}", opts.path);
    let history = git.log_path(&ptr_path, opts.max_count)?;
    if history.is_empty() {
        // A file inside a tracked directory: the nearest directory above
        // it with a history.
        let mut dir = opts.path.as_str();
        while let Some((up, _)) = dir.rsplit_once('/') {
            dir = up;
            let h = git.log_path(&format!("{dir}{SUFFIX}"), None)?;
            if !h.is_empty() {
                return follow(s, opts.clone(), dir, h, progress);
            }
        }
        // Added but never committed: no history yet, which is no error.
        let pointer_here = s.workspace().safe_abs(&ptr_path).is_ok_and(|p| p.is_file());
        if !pointer_here {
            return Err(Error::NeverTracked { path: opts.path });
        }
    }
    // Sizes, oldest first, so each change can be given as a difference.
    let mut states = Vec::with_capacity(history.len());
    for (info, ptr) in parse_history(&ptr_path, history)? {
        let state = ptr.as_ref().map(|p| (p.id(), p.size()));
        states.push((info, state));
    }
    Ok(LogReport {
        commits: entries(states),
        path: opts.path,
        unread: Vec::new(),
    })
}

/// The pointers of a pointer file's history, oldest first.
fn parse_history(
    ptr_path: &str,
    history: Vec<(CommitInfo, Option<Vec<u8>>)>,
) -> Result<Vec<(CommitInfo, Option<Pointer>)>> {
    let mut out = Vec::with_capacity(history.len());
    for (info, blob) in history.into_iter().rev() {
        let ptr = match blob {
            Some(b) => Some(Pointer::parse(
                Path::new(&format!("{}:{ptr_path}", info.short)),
                &b,
            )?),
            None => None,
        };
        out.push((info, ptr));
    }
    Ok(out)
}

/// The history of `opts.path`, a file inside the directory tracked at
/// `dir` whose pointer's history is `history` (newest first).
fn follow(
    s: &Session,
    opts: LogOptions,
    dir: &str,
    history: Vec<(CommitInfo, Option<Vec<u8>>)>,
    progress: &dyn Progress,
) -> Result<LogReport> {
    let sub = &opts.path[dir.len() + 1..];
    let pointers = parse_history(&format!("{dir}{SUFFIX}"), history)?;
    let dirs: Vec<_> = pointers
        .iter()
        .filter_map(|(_, p)| match p {
            Some(Pointer::Dir { id, .. }) => Some((*id, dir.to_string())),
            _ => None,
        })
        .collect();
    let read = listings::read(s, &dirs, progress)?;
    let mut states = Vec::new();
    let mut unread = Vec::new();
    let mut last: Option<(Id, u64)> = None;
    for (info, ptr) in pointers {
        let now = match &ptr {
            Some(Pointer::Dir { id, .. }) => match read.read.get(id) {
                Some(entries) => entry_at(entries, sub),
                None => {
                    unread.push(info.short);
                    continue;
                }
            },
            // Removed, or tracked as a single file at that commit.
            _ => None,
        };
        if now != last {
            states.push((info, now));
            last = now;
        }
    }
    let mut commits = entries(states);
    if let Some(n) = opts.max_count {
        commits.truncate(n);
    }
    if commits.is_empty() && unread.is_empty() {
        return Err(Error::NeverTracked { path: opts.path });
    }
    unread.reverse();
    Ok(LogReport {
        commits,
        path: opts.path,
        unread,
    })
}

/// The id and size of what a listing holds at `sub`: a file's own, or
/// for a directory inside it the id its listing would have if it were
/// tracked alone (so it changes exactly when a file below it does) and
/// the sum of its files' sizes. `None`: nothing is there.
fn entry_at(entries: &[TreeEntry], sub: &str) -> Option<(Id, u64)> {
    if let Some(e) = entries.iter().find(|e| e.path == sub) {
        return Some((e.id, e.size));
    }
    let below: Vec<TreeEntry> = entries
        .iter()
        .filter_map(|e| {
            let rest = e.path.strip_prefix(sub)?.strip_prefix('/')?;
            Some(TreeEntry {
                path: rest.to_string(),
                ..e.clone()
            })
        })
        .collect();
    if below.is_empty() {
        return None;
    }
    let size = below.iter().map(|e| e.size).sum();
    Some((listing::root_id(&below), size))
}

/// Log entries, newest first, from the state (id and size; `None`:
/// absent) after each commit that changed it, given oldest first. The
/// first state is compared with absence: there is no earlier history.
fn entries(states: Vec<(CommitInfo, Option<(Id, u64)>)>) -> Vec<LogEntry> {
    let mut commits = Vec::with_capacity(states.len());
    let mut previous: Option<u64> = None;
    for (info, state) in states {
        let size = state.map(|(_, size)| size);
        let size_change = match (size, previous) {
            (Some(s), Some(p)) => Some(s as i64 - p as i64),
            (Some(s), None) => Some(s as i64),
            (None, Some(p)) => Some(-(p as i64)),
            (None, None) => None,
        };
        let change = match (size, previous) {
            (None, _) => Change::Removed,
            (Some(_), None) => Change::Added,
            (Some(_), Some(_)) => Change::Modified,
        };
        commits.push(LogEntry {
            // The author's calendar day, as `git log` shows it.
            date: date(info.time + i64::from(info.offset)),
            author: info.author,
            change,
            commit: info.id,
            id: state.map(|(id, _)| id),
            short: info.short,
            size,
            size_change,
            summary: info.summary,
            time: info.time,
        });
        previous = size;
    }
    commits.reverse();
    commits
}

/// `YYYY-MM-DD` of a Unix time (shifted by the caller to the author's
/// offset), by the civil-from-days algorithm.
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
            unread: Vec::new(),
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
