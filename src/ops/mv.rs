//! `mv SRC DST`: rename a tracked path (DVC's `move`): its data, its
//! pointer and its `.gitignore` line move together, so `status` stays
//! clean and git sees the pointer renamed.
//!
//! DST may name an existing directory that is not tracked data: SRC moves
//! into it, as `mv` does. DST must stay inside the work tree, outside
//! `.git`, `.cairn`, SRC itself and any tracked directory, and may not be
//! an existing path or pointer unless `force` is given (which replaces the
//! data there without checking it, as `checkout --force` would).
//!
//! The order never loses data and a re-run finishes an interrupted move:
//!
//! 1. write DST's pointer (SRC's, unchanged) and DST's `.gitignore` line;
//! 2. rename the data (one `rename(2)`: it is at SRC or at DST, whole);
//! 3. move the stat index entries, so status need not re-read the data;
//! 4. remove SRC's `.gitignore` line, then SRC's pointer.
//!
//! Killed after 1, both pointers exist, name the same content, and the data
//! is at SRC; killed after 2, it is at DST. Running the same `cairn mv`
//! again accepts a DST pointer identical to SRC's and data already at DST
//! when SRC has none, and completes the remaining steps.
//!
//! ```no_run
//! use std::path::Path;
//!
//! use cairn::ops::{mv, Session};
//! use cairn::progress::Silent;
//!
//! let s = Session::open(Path::new("."))?;
//! let opts = mv::MvOptions::new("data/raw".into(), "archive/raw-2024".into());
//! let report = mv::mv(&s, opts, &Silent)?;
//! println!("{} -> {}", report.from, report.to);
//! # Ok::<(), cairn::Error>(())
//! ```

use std::fs;
use std::path::Path;

use serde::Serialize;

use super::rm::{kind_of, read_tracked, strip_pointer_suffix, to_stage};
use super::Session;
use crate::durable::write_atomic;
use crate::engine::restore::remove_data;
use crate::error::{Error, Result};
use crate::format::pointer::SUFFIX;
use crate::progress::Progress;
use crate::repo::stat_index::{Record, StatIndex};

#[derive(Debug, Clone)]
pub struct MvOptions {
    /// Repository-relative tracked path (or its pointer's name).
    pub from: String,
    /// Repository-relative destination, or an existing directory to move
    /// into (`""`: the work-tree root).
    pub to: String,
    /// Replace whatever is at the destination.
    pub force: bool,
    /// The destination was written as a directory (`DST/`). A tracked file
    /// then moves into it, and is refused when it is no directory, as
    /// coreutils' `mv` does, rather than renamed to `DST`; a tracked
    /// directory may still be renamed to it.
    pub into_dir: bool,
}

impl MvOptions {
    pub fn new(from: String, to: String) -> Self {
        MvOptions {
            from,
            to,
            force: false,
            into_dir: false,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MvReport {
    pub from: String,
    pub to: String,
    pub kind: &'static str,
    /// Whether this run moved data (a path whose data is missing, or an
    /// interrupted move that had already moved it, moves only pointers).
    pub data_moved: bool,
    /// What to stage (`git add -A -- …`): both pointers and the
    /// `.gitignore` files involved.
    pub to_commit: Vec<String>,
}

/// Move the tracked path `opts.from` to `opts.to`.
pub fn mv(s: &Session, opts: MvOptions, _progress: &dyn Progress) -> Result<MvReport> {
    let ws = s.workspace();
    s.lock()?;
    let from = strip_pointer_suffix(ws, opts.from);
    let ptr = read_tracked(ws, &from)?;
    let src = ws.safe_abs(&from)?;
    let mut to = opts.to;
    let name = from.rsplit('/').next().unwrap_or(&from);
    if to.is_empty() {
        // The work-tree root: move to the top level.
        to = name.to_string();
    } else {
        let into = ws.safe_abs(&to)?;
        let to_ptr_exists = ws.root().join(format!("{to}{SUFFIX}")).exists();
        if opts.into_dir && !into.is_dir() && kind_of(&ptr) == "file" {
            return Err(Error::CannotMove {
                from: src.clone(),
                to: into,
                reason: "the destination, given as a directory (a trailing `/`), is none",
            });
        }
        if into.is_dir() && !to_ptr_exists && to != from {
            to = format!("{to}/{name}");
        }
    }
    let dst = ws.safe_abs(&to)?;
    let refuse = |reason| Error::CannotMove {
        from: src.clone(),
        to: dst.clone(),
        reason,
    };
    if to == from {
        return Err(refuse("they are the same path"));
    }
    if to.starts_with(&format!("{from}/")) {
        return Err(refuse("the destination is inside the source"));
    }
    // (`.git` and `.cairn` are refused by the workspace's path checks.)
    if to.ends_with(SUFFIX) {
        return Err(refuse("names ending in .cairn are pointer files"));
    }
    if tracked_ancestor(ws.root(), &to) {
        return Err(refuse("the destination is inside a tracked directory"));
    }

    let text = ptr.encode();
    let dst_ptr = ws.safe_abs(&format!("{to}{SUFFIX}"))?;
    let src_there = fs::symlink_metadata(&src).is_ok();
    let dst_there = fs::symlink_metadata(&dst).is_ok();
    // An interrupted `mv` of the same path left DST's pointer identical to
    // SRC's (and maybe the data already moved): finishing it is safe.
    let resumed = fs::read(&dst_ptr).ok().as_deref() == Some(text.as_bytes());
    if !opts.force {
        let already_moved = resumed && !src_there;
        if dst_there && !already_moved {
            return Err(Error::DestinationExists { path: dst.clone() });
        }
        if dst_ptr.exists() && !resumed {
            return Err(Error::DestinationExists { path: dst_ptr });
        }
    }

    let mut index = StatIndex::load(&ws.stat_index_path())?;
    if let Some(parent) = dst.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    }
    // 1. The new pointer and ignore line.
    if !resumed {
        write_atomic(&dst_ptr, text.as_bytes())?;
    }
    ws.ensure_ignored(&to)?;
    crate::failpoint::hit("mv.pointer_written");
    // 2. The data.
    if src_there {
        if dst_there {
            // Only with `force` (or the guard above refused).
            remove_data(ws, &to)?;
            if fs::symlink_metadata(&dst).is_ok_and(|m| m.is_dir()) {
                fs::remove_dir_all(&dst).map_err(|e| Error::io("remove", &dst, e))?;
            }
        }
        fs::rename(&src, &dst).map_err(|e| Error::io("rename", &src, e))?;
        crate::failpoint::hit("mv.data_moved");
    }
    // 3. The stat index follows the data.
    let mut moved: Vec<(String, Record)> = Vec::new();
    index.for_each_under(&from, |p, r| moved.push((p.to_string(), *r)));
    index.remove_tree(&to);
    for (p, r) in moved {
        index.insert(format!("{to}{}", &p[from.len()..]), r.stat, r.id);
    }
    index.remove_tree(&from);
    index.save()?;
    crate::failpoint::hit("mv.index_saved");
    // 4. The old ignore line, then the old pointer.
    ws.remove_ignored(&from)?;
    crate::failpoint::hit("mv.old_ignore_removed");
    let src_ptr = ws.safe_abs(&format!("{from}{SUFFIX}"))?;
    fs::remove_file(&src_ptr).map_err(|e| Error::io("remove", &src_ptr, e))?;
    let to_commit = to_stage(s, [from.as_str(), to.as_str()].into_iter())?;
    Ok(MvReport {
        from,
        to,
        kind: kind_of(&ptr),
        data_moved: src_there,
        to_commit,
    })
}

/// Whether a directory above repository-relative `rel` is tracked data
/// (has a pointer beside it).
fn tracked_ancestor(root: &Path, rel: &str) -> bool {
    let mut dir = rel;
    while let Some((parent, _)) = dir.rsplit_once('/') {
        if root.join(format!("{parent}{SUFFIX}")).is_file() {
            return true;
        }
        dir = parent;
    }
    false
}
