//! The walk of a tracked directory that status compares with its pointer.
//!
//! An unchanged tree is the common case, so the walk is built to settle it
//! with one `lstat` per file and nothing else per file but the listing
//! entry it must hash: each directory is opened once relative to its parent
//! and read in one pass, its names sorted in listing order (a subdirectory
//! keyed `name/`, as `repo::walk` does, so both agree), each file `lstat`ed
//! by name in its open directory, and the stat index consulted as a
//! merge-join in that same order ([`StatIndex::ordered`]) instead of a
//! search per file. Only a file the index cannot vouch for is looked at by
//! its full path: it is read and hashed (`Status::content_id`), exactly as
//! before, so a change, a racy timestamp or a missing record always costs
//! a read and is never trusted from stat alone.
//!
//! Files go through in batches (at most [`BATCH`] files, [`MAX_DIRS`]
//! open directories) whose `lstat`s and reads run on both cores; the
//! listing is built from each batch in order, so memory is bounded by the
//! batch and the widest directory, never by the tree. `.cairnignore` is
//! honoured as `repo::walk` honours it: an ignored directory is not
//! entered, and a directory's own rules apply to what lies below it.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use rayon::prelude::*;

use super::stat_at::{Dir, Lstat};
use super::Status;
use crate::durable::is_tmp_name;
use crate::engine::listing::{Builder, Root};
use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::object::{Mode, TreeEntry};
use crate::hash::Id;
use crate::repo::cairnignore::{CairnIgnore, FILE_NAME};
use crate::repo::walk::order;

/// Most files in one batch.
const BATCH: usize = crate::repo::walk::BATCH;
/// Most directories one batch keeps open: a tree of many small directories
/// must not run out of descriptors.
const MAX_DIRS: usize = 256;
/// Fewest files per parallel task: an `lstat` is a microsecond, so smaller
/// tasks would cost more to hand out than to run.
const MIN_TASK: usize = 256;

/// What a walk of a tracked directory found.
pub(super) struct Scan {
    pub root: Root,
    /// The nodes of its listing that the store lacks (when asked).
    pub kept: Vec<(Id, Vec<u8>)>,
    /// Every entry, sorted (when asked).
    pub entries: Vec<TreeEntry>,
    /// Whether every file holds the bytes cairn recorded for it.
    pub all_recorded: bool,
    /// How many of its files have a record in the stat index.
    pub with_record: u64,
    /// The ignore rules it was read by.
    pub ignore: CairnIgnore,
}

/// A file met by the walk, waiting for its batch.
struct Pending {
    /// Its directory in [`Batch::dirs`].
    dir: u32,
    /// Its path below the tracked directory (the listing's path).
    sub: String,
    /// Where its name starts in `sub`.
    name_at: u32,
    st: Option<Lstat>,
}

#[derive(Default)]
struct Batch {
    dirs: Vec<Arc<Dir>>,
    files: Vec<Pending>,
    /// Bumped at every flush, so a directory knows its slot is gone.
    generation: u64,
}

/// What the batches add up to.
struct Acc<'b> {
    builder: Builder<'b>,
    collect: bool,
    entries: Vec<TreeEntry>,
    all_recorded: bool,
    with_record: u64,
}

struct Walk<'s, 'a, 'b> {
    status: &'s Status<'a>,
    rel: &'s str,
    abs: &'s Path,
    ig: CairnIgnore,
    batch: Batch,
    /// `rel/` and the path of the directory being read, `/`-terminated:
    /// the repository-relative path the ignore rules are asked about.
    full: String,
    acc: &'s mut Acc<'b>,
}

impl Status<'_> {
    /// Walk tracked directory `rel` (at `abs`) in path order and build its
    /// listing on the way (see [`Scan`]); `collect`: keep every entry,
    /// `keep`: keep the nodes the store lacks.
    pub(super) fn scan_dir(
        &self,
        rel: &str,
        abs: &Path,
        collect: bool,
        keep: bool,
    ) -> Result<Scan> {
        let store = self.store;
        let mut kept = Vec::new();
        let mut sink = |id: Id, raw: Vec<u8>| {
            if keep && !store.contains(ObjectKind::Tree, &id) {
                kept.push((id, raw));
            }
            Ok(())
        };
        let mut acc = Acc {
            builder: Builder::new(&mut sink),
            collect,
            entries: Vec::new(),
            all_recorded: true,
            with_record: 0,
        };
        let top = Dir::open(abs).map_err(|e| Error::io("walk", abs, e))?;
        let mut walk = Walk {
            status: self,
            rel,
            abs,
            ig: CairnIgnore::for_tracked(self.ws.root(), rel)?,
            batch: Batch::default(),
            full: format!("{rel}/"),
            acc: &mut acc,
        };
        walk.visit(Arc::new(top), &mut String::new(), true)?;
        walk.flush()?;
        let ignore = walk.ig;
        let Acc {
            builder,
            entries,
            all_recorded,
            with_record,
            ..
        } = acc;
        let root = builder.finish()?;
        Ok(Scan {
            root,
            kept,
            entries,
            all_recorded,
            with_record,
            ignore,
        })
    }
}

impl Walk<'_, '_, '_> {
    /// Read directory `dir` (at `prefix` below the tracked directory,
    /// `/`-terminated unless empty) and queue its files in listing order,
    /// descending into subdirectories where they sort.
    fn visit(&mut self, dir: Arc<Dir>, prefix: &mut String, top: bool) -> Result<()> {
        let walk_err = |prefix: &str, e| Error::io("walk", self.abs.join(prefix), e);
        let mut names = dir.names().map_err(|e| walk_err(prefix, e))?;
        for i in 0..names.len() {
            if names.is_dir(i).is_none() {
                // The file system did not say (DT_UNKNOWN): ask it.
                let st = dir
                    .lstat(names.c_name(i))
                    .map_err(|e| walk_err(prefix, e))?;
                names.set_is_dir(i, st.is_dir());
            }
        }
        // The tracked directory's own rules were read with the rules above
        // it; a subdirectory's apply from here down.
        if !top && (0..names.len()).any(|i| names.name(i) == FILE_NAME.as_bytes()) {
            self.ig.enter(&self.full[..self.full.len() - 1])?;
        }
        let is_dir = |i: usize| names.is_dir(i) == Some(true);
        let mut sorted: Vec<usize> = (0..names.len()).collect();
        sorted.sort_unstable_by(|&a, &b| order(names.name(a), is_dir(a), names.name(b), is_dir(b)));
        // This directory's slot in the current batch, and which batch.
        let mut slot: Option<(u64, u32)> = None;
        for i in sorted {
            // A name that is not UTF-8 cannot be listed (add refuses it).
            let Ok(name) = std::str::from_utf8(names.name(i)) else {
                continue;
            };
            let full_len = self.full.len();
            self.full.push_str(name);
            let ignored = self.ig.is_ignored(&self.full, is_dir(i));
            if ignored || (!is_dir(i) && is_tmp_name(OsStr::from_bytes(names.name(i)))) {
                self.full.truncate(full_len);
                continue;
            }
            if is_dir(i) {
                let sub = dir
                    .open_at(names.c_name(i))
                    .map_err(|e| walk_err(&format!("{prefix}{name}"), e))?;
                self.full.push('/');
                let prefix_len = prefix.len();
                prefix.push_str(name);
                prefix.push('/');
                let r = self.visit(Arc::new(sub), prefix, false);
                prefix.truncate(prefix_len);
                self.full.truncate(full_len);
                r?;
                continue;
            }
            self.full.truncate(full_len);
            let gen = self.batch.generation;
            let at = match slot {
                Some((g, at)) if g == gen => at,
                _ => {
                    if self.batch.dirs.len() >= MAX_DIRS {
                        self.flush()?;
                    }
                    self.batch.dirs.push(dir.clone());
                    let at = (self.batch.dirs.len() - 1) as u32;
                    slot = Some((self.batch.generation, at));
                    at
                }
            };
            let mut sub = String::with_capacity(prefix.len() + name.len());
            sub.push_str(prefix);
            sub.push_str(name);
            self.batch.files.push(Pending {
                dir: at,
                sub,
                name_at: prefix.len() as u32,
                st: None,
            });
            if self.batch.files.len() >= BATCH {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// `lstat` every queued file, take the ids the stat index vouches for
    /// in one ordered pass, hash the rest, and add them to the listing.
    fn flush(&mut self) -> Result<()> {
        let (status, rel, abs) = (self.status, self.rel, self.abs);
        let mut files = std::mem::take(&mut self.batch.files);
        let dirs = std::mem::take(&mut self.batch.dirs);
        self.batch.generation += 1;
        if files.is_empty() {
            return Ok(());
        }
        files
            .par_iter_mut()
            .with_min_len(MIN_TASK)
            .try_for_each(|f| {
                let name = &f.sub.as_bytes()[f.name_at as usize..];
                let st = dirs[f.dir as usize]
                    .lstat_name(name)
                    .map_err(|e| Error::io("stat", abs.join(&f.sub), e))?;
                f.st = Some(st);
                Ok::<_, Error>(())
            })?;
        drop(dirs);

        // (id, bytes cairn recorded, has a record) of each regular file.
        let mut ids: Vec<Option<(Id, bool, bool)>> = vec![None; files.len()];
        let mut misses = Vec::new();
        {
            let idx = status.index.read().unwrap_or_else(PoisonError::into_inner);
            let mut ord = idx.ordered(&format!("{rel}/{}", files[0].sub));
            for (i, f) in files.iter().enumerate() {
                let Some(st) = f.st.filter(Lstat::is_file) else {
                    continue;
                };
                match ord.lookup(rel, &f.sub, &st.stat) {
                    Some(id) => ids[i] = Some((id, true, true)),
                    None => misses.push((i, st.stat)),
                }
            }
        }
        let hits = ids.iter().filter(|x| x.is_some()).count();
        status
            .counters
            .files_stat_only
            .fetch_add(hits as u64, Ordering::Relaxed);
        let hashed: Vec<(usize, (Id, bool, bool))> = misses
            .par_iter()
            .map(|&(i, stat)| {
                let f = &files[i];
                let got =
                    status.content_id(&format!("{rel}/{}", f.sub), &abs.join(&f.sub), stat)?;
                Ok((i, got))
            })
            .collect::<Result<_>>()?;
        for (i, got) in hashed {
            ids[i] = Some(got);
        }

        let acc = &mut *self.acc;
        for (f, id) in files.into_iter().zip(ids) {
            let (Some(st), Some((id, recorded, has))) = (f.st, id) else {
                continue;
            };
            acc.all_recorded &= recorded;
            acc.with_record += has as u64;
            let e = TreeEntry {
                path: f.sub,
                mode: Mode::from_permissions(st.mode),
                size: st.stat.size,
                id,
            };
            if acc.collect {
                acc.entries.push(e.clone());
            }
            acc.builder.push(e)?;
        }
        Ok(())
    }
}
