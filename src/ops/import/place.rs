//! Laying out one output of the old tool at a destination, every byte
//! verified: in the work tree (for the work tree's own outputs, keeping
//! files that already hold the recorded bytes) or in a scratch directory
//! (for an older revision's).
//!
//! A work-tree file that holds other bytes than the old tool recorded is an
//! edit that tool never recorded: it is reported and left alone, never
//! overwritten. A Git LFS pointer or a symbolic link (DVC's `symlink`
//! cache type) at the path holds no data of the user's and is replaced.

use std::path::Path;

use super::source::{matches, Expect};
use super::{Fetch, Objects};
use crate::error::{Error, Result};
use crate::format::foreign::{parse_dir_listing, parse_lfs_pointer};
use crate::format::import_map::Scheme;
use crate::repo::foreign::{ForeignOut, Old};

/// Why an output could not be laid out: a problem word of the report and
/// the detail.
pub type Refused = (&'static str, String);

fn refused(f: Fetch, what: &str) -> Refused {
    match f {
        Fetch::Got(_) => ("missing", what.to_string()),
        Fetch::Missing => (
            "missing",
            format!("{what} is in no cache or remote that cairn can read"),
        ),
        Fetch::Corrupt => (
            "corrupt",
            format!("{what}: the stored copy does not match its hash"),
        ),
        Fetch::Unreachable(url) => (
            "missing",
            format!(
                "{what} is not in the cache, and the remote {url} is of a kind cairn cannot read"
            ),
        ),
    }
}

/// Lay out one file at `dest`; which source it came from.
fn file(
    objects: &dyn Objects,
    want: &Expect,
    dest: &Path,
    work_tree: bool,
    what: &str,
) -> Result<std::result::Result<&'static str, Refused>> {
    if work_tree {
        match std::fs::symlink_metadata(dest) {
            Ok(m) if m.is_file() => {
                if matches(dest, want)? {
                    return Ok(Ok("work tree"));
                }
                let pointer = m.len() < 1024
                    && std::fs::read(dest).is_ok_and(|b| parse_lfs_pointer(&b).is_ok());
                if !pointer {
                    return Ok(Err((
                        "modified",
                        format!(
                            "{} holds other bytes than were recorded; record or undo that edit first",
                            what
                        ),
                    )));
                }
            }
            Ok(m) if m.is_dir() => {
                return Ok(Err(("modified", format!("{what} is a directory"))));
            }
            Ok(_) => {
                // A symbolic link into DVC's cache: replaced by the file.
                std::fs::remove_file(dest).map_err(|e| Error::io("remove", dest, e))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("stat", dest, e)),
        }
    }
    Ok(match objects.fetch(want, false, dest)? {
        Fetch::Got(source) => Ok(source),
        miss => Err(refused(miss, what)),
    })
}

/// Lay out `out` at `dest` (absolute). `scratch` holds temporary copies of
/// DVC `.dir` listings.
pub fn place(
    objects: &dyn Objects,
    out: &ForeignOut,
    dest: &Path,
    work_tree: bool,
    scratch: &Path,
) -> Result<std::result::Result<&'static str, Refused>> {
    let (scheme, hex, size, dir) = match &out.old {
        Old::Dvc(o) => (Scheme::Md5, o.md5.clone(), o.size, o.dir),
        Old::Lfs(p) => (Scheme::Sha256, p.oid.clone(), Some(p.size), false),
    };
    let want = Expect {
        scheme,
        hex: hex.clone(),
        size,
    };
    if !dir {
        return file(objects, &want, dest, work_tree, &out.path);
    }
    let listing = match objects.listing(&hex, scratch)? {
        Ok(bytes) => bytes,
        Err(miss) => return Ok(Err(refused(miss, &format!("the listing of {}", out.path)))),
    };
    let entries = match parse_dir_listing(&listing) {
        Ok(e) => e,
        Err(e) => {
            return Ok(Err((
                "unreadable",
                format!("the listing of {}: {e}", out.path),
            )))
        }
    };
    if work_tree && dest.is_dir() {
        if let Some(extra) = extra_file(dest, &entries)? {
            return Ok(Err((
                "modified",
                format!(
                    "{}/{extra} was never recorded; record or remove it first",
                    out.path
                ),
            )));
        }
    }
    let mut source = "work tree";
    for e in &entries {
        let want = Expect {
            scheme: Scheme::Md5,
            hex: e.md5.clone(),
            size: None,
        };
        let what = format!("{}/{}", out.path, e.relpath);
        match file(objects, &want, &dest.join(&e.relpath), work_tree, &what)? {
            Ok("work tree") => {}
            Ok(s) => source = s,
            Err(r) => return Ok(Err(r)),
        }
    }
    if entries.is_empty() {
        std::fs::create_dir_all(dest).map_err(|e| Error::io("create directory", dest, e))?;
    }
    Ok(Ok(source))
}

/// A file below `dir` that `entries` do not list (cairn's temporary files
/// aside).
fn extra_file(dir: &Path, entries: &[crate::format::foreign::DirEntry]) -> Result<Option<String>> {
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::io("walk", dir, e.into()))?;
        if entry.file_type().is_dir() || crate::durable::is_tmp_name(entry.file_name()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(dir) else {
            continue;
        };
        let rel = rel.to_string_lossy();
        if entries
            .binary_search_by(|e| e.relpath.as_bytes().cmp(rel.as_bytes()))
            .is_err()
        {
            return Ok(Some(rel.into_owned()));
        }
    }
    Ok(None)
}
