//! Moving a cache from where earlier versions of cairn kept it
//! (`.cairn/cache`) to where it lives now (`repo::cache_location`), without
//! a moment at which any of its data cannot be found.
//!
//! Until the old directory is gone, readers use it, so it stays whole
//! until the new one holds everything. Two cases:
//!
//! * nothing is at the new place yet: one `rename` of the whole directory,
//!   which the file system does atomically;
//! * a cache is there already (a linked worktree that had a cache of its
//!   own joins the one its repository now shares): every pack of the old
//!   cache gets a second name in the new one by a hard link, its sum first
//!   (as a sealed pack is published, FORMAT.md §6.8). Packs are immutable
//!   and named by their content, so a name the new cache already has holds
//!   the same bytes. Only then is the old directory renamed aside (atomic)
//!   and deleted.
//!
//! Both caches' write locks are held throughout, so no writer of either
//! version is between a temporary file and its rename. A move that cannot
//! happen now (a writer holds a lock, the new place is on another file
//! system) leaves everything as it was, and the old cache stays in use.
//! A crash at any step leaves a state the next run finishes.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::packsum::sum_path;
use super::{pack_dir, pack_paths, MAX_UNCACHED_BYTES, UNCACHED_FILE};
use crate::durable::{lock_file, sync_dir, write_atomic, TMP_PREFIX};
use crate::error::{Error, Result};

/// What [`move_cache`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    /// The whole directory was renamed to the new place.
    Renamed,
    /// Its packs joined the cache already there; how many were new to it.
    Merged { packs: usize },
    /// Left where it is for now: another process holds a lock on it.
    Busy,
    /// Left where it is: the new place is on another file system, where
    /// moving would mean copying every pack.
    OtherFileSystem,
}

/// Move the cache at `from` to `to` (see the module documentation).
pub fn move_cache(from: &Path, to: &Path) -> Result<Moved> {
    let _from_lock = match lock_file(&from.join("lock")) {
        Ok(l) => l,
        Err(Error::Locked { .. }) => return Ok(Moved::Busy),
        Err(e) => return Err(e),
    };
    let parent = to.parent().unwrap_or(to);
    fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    if !to.exists() {
        match fs::rename(from, to) {
            Ok(()) => {
                sync_dir(parent)?;
                if let Some(p) = from.parent() {
                    sync_dir(p)?;
                }
                crate::failpoint::hit("cache.moved");
                return Ok(Moved::Renamed);
            }
            Err(e) if e.kind() == ErrorKind::CrossesDevices => return Ok(Moved::OtherFileSystem),
            // Another process made the new cache meanwhile: join it.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::DirectoryNotEmpty | ErrorKind::AlreadyExists
                ) => {}
            Err(e) => return Err(Error::io("move", from, e)),
        }
    }
    if !same_device(from, to)? {
        return Ok(Moved::OtherFileSystem);
    }
    let _to_lock = match lock_file(&to.join("lock")) {
        Ok(l) => l,
        Err(Error::Locked { .. }) => return Ok(Moved::Busy),
        Err(e) => return Err(e),
    };
    let packs = link_packs(from, to)?;
    crate::failpoint::hit("cache.packs_linked");
    join_uncached(from, to)?;
    adopt_the_rest(from, to)?;
    // The old directory goes in one atomic step; what is left of it after
    // a failed deletion is a temporary name the next move clears.
    let aside = aside_path(from);
    if aside.exists() {
        let _ = fs::remove_dir_all(&aside);
    }
    fs::rename(from, &aside).map_err(|e| Error::io("move", from, e))?;
    if let Some(p) = from.parent() {
        sync_dir(p)?;
    }
    crate::failpoint::hit("cache.old_set_aside");
    let _ = fs::remove_dir_all(&aside);
    Ok(Moved::Merged { packs })
}

/// The temporary name an old cache is deleted under, beside it.
fn aside_path(from: &Path) -> PathBuf {
    from.with_file_name(format!("{TMP_PREFIX}old-cache"))
}

fn same_device(a: &Path, b: &Path) -> Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let dev = |p: &Path| {
        fs::metadata(p)
            .map(|m| m.dev())
            .map_err(|e| Error::io("inspect", p, e))
    };
    Ok(dev(a)? == dev(b)?)
}

/// Give every pack (and sum) of `from` a name in `to` that it lacks; how
/// many packs were new to `to`. Directories are synced before returning,
/// so the new names survive a crash before the old ones go.
fn link_packs(from: &Path, to: &Path) -> Result<usize> {
    let mut linked = 0;
    let mut dirs = std::collections::BTreeSet::new();
    for pack in pack_paths(from, false)? {
        let (Some(sub), Some(name)) = (pack.parent().and_then(Path::file_name), pack.file_name())
        else {
            continue;
        };
        let dir = pack_dir(to).join(sub);
        fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        let dest = dir.join(name);
        let sum = sum_path(&pack);
        if sum.exists() {
            link(&sum, &sum_path(&dest))?;
        }
        if link(&pack, &dest)? {
            linked += 1;
        }
        dirs.insert(dir);
    }
    for d in &dirs {
        sync_dir(d)?;
    }
    if !dirs.is_empty() {
        sync_dir(&pack_dir(to))?;
    }
    Ok(linked)
}

/// Hard-link `from` as `to`; whether a new name was made (`false`: `to`
/// exists, and names the same content).
fn link(from: &Path, to: &Path) -> Result<bool> {
    match fs::hard_link(from, to) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Error::io("link", to, e)),
    }
}

/// The new cache also lacks the chunks the old one's `uncached` list
/// names (FORMAT.md §10.7): the lists are joined. Each is read only up to
/// the bound readers honour.
fn join_uncached(from: &Path, to: &Path) -> Result<()> {
    let theirs = read_bounded(&from.join(UNCACHED_FILE));
    if theirs.is_empty() {
        return Ok(());
    }
    let mine = read_bounded(&to.join(UNCACHED_FILE));
    let mut lines: Vec<&str> = mine.lines().chain(theirs.lines()).collect();
    lines.sort_unstable();
    lines.dedup();
    let mut text = lines.join("\n");
    text.push('\n');
    write_atomic(&to.join(UNCACHED_FILE), text.as_bytes())
}

fn read_bounded(path: &Path) -> String {
    use std::io::Read;
    let mut s = String::new();
    if let Ok(f) = fs::File::open(path) {
        let _ = f.take(MAX_UNCACHED_BYTES).read_to_string(&mut s);
    }
    s
}

/// Whatever else the old cache holds (what it knew of each remote, FORMAT.md
/// §15) moves over where the new cache has nothing of that name; otherwise
/// the new cache's own, newer copy stays. Packs were linked, `tmp/` holds
/// only unsealed files, and the damage list is a hint a read rebuilds.
fn adopt_the_rest(from: &Path, to: &Path) -> Result<()> {
    adopt_entries(from, to, 0)
}

fn adopt_entries(from: &Path, to: &Path, depth: usize) -> Result<()> {
    const SKIP: [&str; 5] = ["packs", "tmp", "lock", "damaged", UNCACHED_FILE];
    let Ok(entries) = fs::read_dir(from) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if depth == 0 && SKIP.iter().any(|s| name == *s) {
            continue;
        }
        let target = to.join(&name);
        if !target.exists() {
            fs::rename(e.path(), &target).map_err(|err| Error::io("move", e.path(), err))?;
        } else if depth == 0 && target.is_dir() && e.path().is_dir() {
            // `remotes/`: one directory per remote, adopted one by one.
            adopt_entries(&e.path(), &target, depth + 1)?;
        }
    }
    sync_dir(to)
}
