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
//! open directories). The walk is an explicit stack, so it can stop at a
//! full batch and resume: while one batch is `lstat`ed and looked up, the
//! next is read from the directories on the other core (`rayon::join`),
//! and the listing is built from each batch in order. Memory is bounded by
//! two batches and the widest directories on the way, never by the tree.
//! A directory that its stat-index record may settle is walked in parts
//! instead ([`Walker::split`], driven by `parts.rs`). `.cairnignore` is
//! honoured as `repo::walk` honours it: an ignored directory is not
//! entered, and a directory's own rules apply to what lies below it.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use rayon::prelude::*;

use super::stat_at::{Dir, Lstat, Names};
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
/// Most directories one batch keeps open (two batches are in flight): a
/// tree of many small directories must not run out of descriptors.
const MAX_DIRS: usize = 128;
/// Fewest files per parallel task: an `lstat` is a microsecond, so smaller
/// tasks would cost more to hand out than to run.
pub(super) const MIN_TASK: usize = 256;

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
    /// Whether every file's record now holds exactly its current stat and
    /// bytes (what a directory record rests on, `StatIndex::set_dir`).
    pub exact: bool,
    /// The ignore rules it was read by.
    pub ignore: CairnIgnore,
}

/// A file met by the walk, waiting for its batch.
pub(super) struct Pending {
    /// Its directory in [`Batch::dirs`].
    pub(super) dir: u32,
    /// Where its path below the tracked directory (the listing's path)
    /// lies in [`Batch::paths`]: one buffer for the batch, not one
    /// allocation per file.
    sub_at: u32,
    sub_len: u32,
    /// Where its name starts in that path.
    pub(super) name_at: u32,
    pub(super) st: Option<Lstat>,
    /// (id, holds the bytes cairn recorded, has a record), for a regular
    /// file once known.
    id: Option<(Id, bool, bool)>,
    /// Whether its record holds its current stat and id.
    exact: bool,
}

/// Files in walk order and the directories they are in.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) dirs: Vec<Arc<Dir>>,
    pub(super) files: Vec<Pending>,
    /// The paths of `files`, back to back.
    pub(super) paths: String,
}

impl Batch {
    /// File `f`'s path below the tracked directory.
    pub(super) fn sub(&self, f: &Pending) -> &str {
        path_in(&self.paths, f)
    }
}

/// File `f`'s path in `paths` (its batch's [`Batch::paths`]).
pub(super) fn path_in<'p>(paths: &'p str, f: &Pending) -> &'p str {
    &paths[f.sub_at as usize..(f.sub_at + f.sub_len) as usize]
}

/// A directory being read: its names in listing order and how far.
struct Frame {
    dir: Arc<Dir>,
    names: Names,
    sorted: Vec<usize>,
    next: usize,
    /// The lengths of the walk's `prefix` and `full` outside it.
    prefix_len: usize,
    full_len: usize,
    /// Its slot in the batch being filled, and which batch.
    slot: Option<(u64, u32)>,
}

/// A part of a split walk ([`Walker::split`]): ready, or a subdirectory
/// of the tracked directory, opened when the part is taken.
pub(super) enum Part<'s> {
    Ready(Walker<'s>),
    Dir { parent: Arc<Dir>, name: String },
}

/// The walk, resumable a batch at a time.
pub(super) struct Walker<'s> {
    abs: &'s Path,
    ig: CairnIgnore,
    stack: Vec<Frame>,
    /// The path below the tracked directory of the directory being read,
    /// `/`-terminated unless empty.
    prefix: String,
    /// `rel/` and `prefix`: the repository-relative path the ignore rules
    /// are asked about.
    full: String,
    /// Bumped for every batch, so a directory knows its slot is gone.
    generation: u64,
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
        // The store is opened only when nodes are to be kept (a directory
        // that differs from its record), never for a clean one.
        let store = if keep { Some(self.store()?) } else { None };
        let mut kept = Vec::new();
        let mut sink = |id: Id, raw: Vec<u8>| {
            if store.is_some_and(|s| !s.contains(ObjectKind::Tree, &id)) {
                kept.push((id, raw));
            }
            Ok(())
        };
        let mut builder = Builder::new(&mut sink);
        let (mut entries, mut all_recorded, mut with_record) = (Vec::new(), true, 0u64);
        let mut exact = true;
        let mut walk = Walker::new(self.ws.root(), rel, abs)?;
        let mut batch = walk.next_batch()?;
        while !batch.files.is_empty() {
            // This batch's lstats and lookups on one core, the next
            // batch's directories on the other.
            let (done, next) =
                rayon::join(|| self.settle(rel, abs, &mut batch), || walk.next_batch());
            done?;
            for f in std::mem::take(&mut batch.files) {
                let (Some(st), Some((id, recorded, has))) = (f.st, f.id) else {
                    continue;
                };
                all_recorded &= recorded;
                with_record += has as u64;
                exact &= f.exact;
                let e = TreeEntry {
                    path: batch.sub(&f).to_string(),
                    mode: Mode::from_permissions(st.mode),
                    size: st.stat.size,
                    id,
                };
                if collect {
                    entries.push(e.clone());
                }
                builder.push(e)?;
            }
            batch = next?;
        }
        let root = builder.finish()?;
        Ok(Scan {
            root,
            kept,
            entries,
            all_recorded,
            with_record,
            exact,
            ignore: walk.ig,
        })
    }

    /// `lstat` every file of `batch`, take the ids the stat index vouches
    /// for in one ordered pass, and hash the rest.
    fn settle(&self, rel: &str, abs: &Path, batch: &mut Batch) -> Result<()> {
        let Batch { dirs, files, paths } = batch;
        let paths = &*paths;
        files
            .par_iter_mut()
            .with_min_len(MIN_TASK)
            .try_for_each(|f| {
                let sub = path_in(paths, f);
                let name = &sub.as_bytes()[f.name_at as usize..];
                let st = dirs[f.dir as usize]
                    .lstat_name(name)
                    .map_err(|e| Error::io("stat", abs.join(sub), e))?;
                f.st = Some(st);
                Ok::<_, Error>(())
            })?;
        dirs.clear();

        let mut misses = Vec::new();
        let mut hits = 0u64;
        {
            let idx = self.index.read().unwrap_or_else(PoisonError::into_inner);
            let from = format!("{rel}/{}", files.first().map_or("", |f| path_in(paths, f)));
            let mut ord = idx.ordered(&from);
            for (i, f) in files.iter_mut().enumerate() {
                let Some(st) = f.st.filter(Lstat::is_file) else {
                    continue;
                };
                match ord.lookup(rel, path_in(paths, f), &st.stat) {
                    Some(id) => {
                        f.id = Some((id, true, true));
                        f.exact = true;
                        hits += 1;
                    }
                    None => misses.push((i, st.stat)),
                }
            }
        }
        self.counters
            .files_stat_only
            .fetch_add(hits, Ordering::Relaxed);
        let hashed: Vec<(usize, (Id, bool, bool), bool)> = misses
            .par_iter()
            .map(|&(i, stat)| {
                let sub = path_in(paths, &files[i]);
                let path = format!("{rel}/{sub}");
                let got = self.content_id(&path, &abs.join(sub), stat)?;
                let idx = self.index.read().unwrap_or_else(PoisonError::into_inner);
                let exact = idx
                    .get(&path)
                    .is_some_and(|r| r.id == got.0 && r.stat == stat);
                Ok((i, got, exact))
            })
            .collect::<Result<_>>()?;
        for (i, got, exact) in hashed {
            files[i].id = Some(got);
            files[i].exact = exact;
        }
        Ok(())
    }
}

impl<'s> Walker<'s> {
    pub(super) fn new(root: &Path, rel: &str, abs: &'s Path) -> Result<Walker<'s>> {
        let top = Dir::open(abs).map_err(|e| Error::io("walk", abs, e))?;
        let mut w = Walker {
            abs,
            ig: CairnIgnore::for_tracked(root, rel)?,
            stack: Vec::new(),
            prefix: String::new(),
            full: format!("{rel}/"),
            generation: 0,
        };
        w.enter(Arc::new(top), 0, w.full.len(), true)?;
        Ok(w)
    }

    /// Read directory `dir` (at `self.prefix`) and put it on the stack;
    /// `prefix_len` and `full_len` are the lengths to go back to after it.
    fn enter(
        &mut self,
        dir: Arc<Dir>,
        prefix_len: usize,
        full_len: usize,
        top: bool,
    ) -> Result<()> {
        let walk_err = |e| Error::io("walk", self.abs.join(&self.prefix), e);
        let mut names = dir.names().map_err(walk_err)?;
        for i in 0..names.len() {
            if names.is_dir(i).is_none() {
                // The file system did not say (DT_UNKNOWN): ask it.
                let st = dir.lstat(names.c_name(i)).map_err(walk_err)?;
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
        self.stack.push(Frame {
            dir,
            names,
            sorted,
            next: 0,
            prefix_len,
            full_len,
            slot: None,
        });
        Ok(())
    }

    /// This walk, fresh from [`Walker::new`], as parts that can be walked
    /// side by side: one for each subdirectory of the tracked directory
    /// that the rules keep, and one for the files directly in it, each
    /// yielding its files in walk order. A subdirectory is opened only
    /// when its part is taken ([`Walker::part`]), so no more directories
    /// are open than one walk keeps. `None`, and this walk left as it was,
    /// when there are fewer than two subdirectories.
    pub(super) fn split(&mut self) -> Option<Vec<Part<'s>>> {
        let top = self
            .stack
            .last()
            .filter(|t| self.stack.len() == 1 && t.next == 0)?;
        let subdirs = (0..top.names.len())
            .filter(|&i| top.names.is_dir(i) == Some(true))
            .count();
        if subdirs < 2 {
            return None;
        }
        let mut top = self.stack.pop()?;
        let base = self.full.len();
        let mut parts = Vec::new();
        let mut files = Vec::new();
        for &i in &top.sorted {
            if top.names.is_dir(i) != Some(true) {
                // Its name is checked (UTF-8, ignored, temporary) when
                // the files' part yields it, as a whole walk would.
                files.push(i);
                continue;
            }
            let Ok(name) = std::str::from_utf8(top.names.name(i)) else {
                continue;
            };
            self.full.truncate(base);
            self.full.push_str(name);
            if !self.ig.is_ignored(&self.full, true) {
                parts.push(Part::Dir {
                    parent: top.dir.clone(),
                    name: name.to_string(),
                });
            }
        }
        self.full.truncate(base);
        top.sorted = files;
        self.stack.push(top);
        parts.push(Part::Ready(Walker {
            abs: self.abs,
            ig: self.ig.clone(),
            stack: std::mem::take(&mut self.stack),
            prefix: String::new(),
            full: self.full.clone(),
            generation: 0,
        }));
        Some(parts)
    }

    /// The walk of `part` of this walk's [`Walker::split`].
    pub(super) fn part(&self, part: Part<'s>) -> Result<Walker<'s>> {
        let (parent, name) = match part {
            Part::Ready(w) => return Ok(w),
            Part::Dir { parent, name } => (parent, name),
        };
        let c_name = std::ffi::CString::new(name.as_bytes()).map_err(|_| {
            Error::io(
                "walk",
                self.abs.join(&name),
                std::io::ErrorKind::InvalidInput.into(),
            )
        })?;
        let sub = parent
            .open_at(&c_name)
            .map_err(|e| Error::io("walk", self.abs.join(&name), e))?;
        let mut w = Walker {
            abs: self.abs,
            ig: self.ig.clone(),
            stack: Vec::new(),
            full: format!("{}{name}/", self.full),
            prefix: format!("{name}/"),
            generation: 0,
        };
        let full_len = w.full.len();
        w.enter(Arc::new(sub), 0, full_len, false)?;
        Ok(w)
    }

    /// The next files in walk order, at most [`BATCH`] of them in at most
    /// [`MAX_DIRS`] directories; empty once the walk is over.
    pub(super) fn next_batch(&mut self) -> Result<Batch> {
        let mut batch = Batch::default();
        self.fill(&mut batch)?;
        Ok(batch)
    }

    /// [`Walker::next_batch`] into `batch`, emptied first: a walk that
    /// handles one batch at a time reuses its buffers.
    pub(super) fn fill(&mut self, batch: &mut Batch) -> Result<()> {
        batch.dirs.clear();
        batch.files.clear();
        batch.paths.clear();
        self.generation += 1;
        let gen = self.generation;
        while let Some(f) = self.stack.last_mut() {
            let Some(&i) = f.sorted.get(f.next) else {
                self.prefix.truncate(f.prefix_len);
                self.full.truncate(f.full_len);
                self.stack.pop();
                continue;
            };
            f.next += 1;
            let raw = f.names.name(i);
            // A name that is not UTF-8 cannot be listed (add refuses it).
            let Ok(name) = std::str::from_utf8(raw) else {
                continue;
            };
            let is_dir = f.names.is_dir(i) == Some(true);
            let full_len = self.full.len();
            self.full.push_str(name);
            let ignored = self.ig.is_ignored(&self.full, is_dir);
            if ignored || (!is_dir && is_tmp_name(OsStr::from_bytes(raw))) {
                self.full.truncate(full_len);
                continue;
            }
            if is_dir {
                let sub = match f.dir.open_at(f.names.c_name(i)) {
                    Ok(d) => d,
                    Err(e) => {
                        let path = self.abs.join(format!("{}{name}", self.prefix));
                        return Err(Error::io("walk", path, e));
                    }
                };
                self.full.push('/');
                let prefix_len = self.prefix.len();
                self.prefix.push_str(name);
                self.prefix.push('/');
                self.enter(Arc::new(sub), prefix_len, full_len, false)?;
                continue;
            }
            self.full.truncate(full_len);
            let at = match f.slot {
                Some((g, at)) if g == gen => at,
                _ => {
                    if batch.dirs.len() >= MAX_DIRS {
                        // Full of directories: this file starts the next.
                        f.next -= 1;
                        return Ok(());
                    }
                    batch.dirs.push(f.dir.clone());
                    let at = (batch.dirs.len() - 1) as u32;
                    f.slot = Some((gen, at));
                    at
                }
            };
            let sub_at = batch.paths.len() as u32;
            batch.paths.push_str(&self.prefix);
            batch.paths.push_str(name);
            batch.files.push(Pending {
                dir: at,
                sub_at,
                sub_len: batch.paths.len() as u32 - sub_at,
                name_at: self.prefix.len() as u32,
                st: None,
                id: None,
                exact: false,
            });
            if batch.files.len() >= BATCH {
                return Ok(());
            }
        }
        Ok(())
    }
}
