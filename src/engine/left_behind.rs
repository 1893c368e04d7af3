//! Data left behind: files cairn wrote or added whose pointer is gone.
//!
//! When git removes a pointer without cairn's hooks (a `git checkout`,
//! `git pull` or `git reset` to a commit that lacks it), the data file
//! stays: git ignores it and no pointer names it, so the work tree no
//! longer matches the revision, and nothing else would ever notice. The
//! stat index still holds the file's record, which is how it is found: a
//! record at or below no tracked path (the caller also leaves out files
//! git tracks itself).
//!
//! Such a file may be removed only when removing it loses nothing: it
//! holds exactly the bytes cairn recorded there (the record's id, decided
//! the way `status` decides a tracked file, re-reading it when its stat
//! cannot vouch for it) and the cache holds every chunk of them. Anything
//! else is kept and named. This is the rule a checkout applies to a path
//! its revision drops, for files whose pointer git removed first.

use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::engine::reach::Reach;
use crate::engine::status::{State, Status};
use crate::error::{Error, Result};
use crate::format::object::Mode;
use crate::format::pointer::Pointer;
use crate::repo::stat_index::{Record, StatIndex};
use crate::repo::workspace::Workspace;
use crate::store::Store;

/// What may become of one file left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// Exactly what cairn recorded, all of it in the cache: removing it
    /// loses nothing.
    Removable,
    /// It holds bytes cairn has not recorded: kept.
    Changed,
    /// What cairn recorded, but the cache lacks some of it: kept.
    NotStored,
    /// The file is no longer there; only its record is left.
    Gone,
}

/// One file left behind, and what may become of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftBehind {
    pub path: String,
    pub fate: Fate,
}

/// The records of `index` at or below none of the `tracked` paths whose
/// files git does not track: `git_tracked` names those among the
/// candidates it is given (called only when there are candidates).
pub fn candidates(
    index: &StatIndex,
    tracked: &[String],
    git_tracked: impl FnOnce(&[String]) -> Result<Vec<String>>,
) -> Result<Vec<(String, Record)>> {
    let mut found = index.records_outside(tracked);
    if found.is_empty() {
        return Ok(found);
    }
    let paths: Vec<String> = found.iter().map(|(p, _)| p.clone()).collect();
    let in_git: std::collections::HashSet<String> = git_tracked(&paths)?.into_iter().collect();
    found.retain(|(p, _)| !in_git.contains(p));
    Ok(found)
}

/// Decide the fate of each candidate.
pub fn judge(
    status: &Status,
    store: &Store,
    found: &[(String, Record)],
) -> Result<Vec<LeftBehind>> {
    let mut out = Vec::with_capacity(found.len());
    for (path, rec) in found {
        let recorded = Pointer::File {
            id: rec.id,
            size: rec.stat.size,
            mode: if rec.stat.exec {
                Mode::Executable
            } else {
                Mode::Regular
            },
        };
        let fate = match status.state(path, &recorded)?.state {
            State::Missing => Fate::Gone,
            State::Modified | State::Stale => Fate::Changed,
            State::Clean => {
                let mut reach = Reach::marking();
                reach.add_file_at(store, path, &rec.id, rec.stat.size)?;
                if reach.missing.is_empty() {
                    Fate::Removable
                } else {
                    Fate::NotStored
                }
            }
        };
        out.push(LeftBehind {
            path: path.clone(),
            fate,
        });
    }
    Ok(out)
}

/// Remove file `rel`, judged [`Fate::Removable`], and then each directory
/// above it that this leaves empty (as git does when it removes a file).
pub fn remove(ws: &Workspace, rel: &str) -> Result<()> {
    let abs = ws.safe_abs(rel)?;
    match fs::remove_file(&abs) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("remove", &abs, e)),
    }
    let mut dir: Option<&Path> = abs.parent();
    while let Some(d) = dir {
        if d == ws.root() || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}
