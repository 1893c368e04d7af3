//! Settling a recorded directory on both cores, a subtree per task.
//!
//! A clean directory under a directory record costs one `lstat` per file
//! and nothing else (`Status::unchanged`), so its walk is the kernel's
//! time on one core unless the files are shared out. Handing each batch of
//! a single walk to the pool costs a wake-up and a wait per batch, and the
//! reading of directories between batches runs on one core. Here the
//! tracked directory's subdirectories (and the files directly in it) are
//! walked as separate parts, each start to end by whichever thread takes
//! it, each asking the stat index in its own order from its own position
//! (`StatIndex::ordered`); the threads stop at the first file the index
//! cannot vouch for. The answer is the same as one walk's: every file
//! vouched for, and as many as the record names.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

use super::scan::{path_in, Batch, Part, Walker, MIN_TASK};
use super::stat_at::Lstat;
use super::Status;
use crate::error::Result;

impl Status<'_> {
    /// Whether tracked directory `rel` (at `abs`) holds exactly the `files`
    /// files its directory record names, each with its recorded stat: a
    /// walk with one `lstat` per file and no listing (see
    /// `repo::stat_index::DirRecord`). `false` at the first file the stat
    /// index cannot vouch for, or when the count differs; the caller then
    /// rebuilds the listing, which also reports any error met here.
    pub(super) fn unchanged(&self, rel: &str, abs: &Path, files: u64) -> Result<bool> {
        let mut walk = Walker::new(self.ws.root(), rel, abs)?;
        let Some(parts) = walk.split() else {
            return self.unchanged_in_batches(rel, walk, files);
        };
        // `walk` is now the base the parts are opened from.
        let walk = &walk;
        let parts: Vec<Mutex<Option<Part<'_>>>> =
            parts.into_iter().map(|p| Mutex::new(Some(p))).collect();
        let next = AtomicUsize::new(0);
        let seen = AtomicU64::new(0);
        let differs = AtomicBool::new(false);
        let work = || -> Result<()> {
            let mut batch = Batch::default();
            while !differs.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(slot) = parts.get(i) else {
                    return Ok(());
                };
                let taken = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
                let Some(part) = taken else {
                    continue;
                };
                let mut walk = walk.part(part)?;
                loop {
                    walk.fill(&mut batch)?;
                    if batch.files.is_empty() {
                        break;
                    }
                    match self.vouched_in_turn(rel, &batch) {
                        Some(n) if seen.fetch_add(n, Ordering::Relaxed) + n <= files => {}
                        _ => {
                            differs.store(true, Ordering::Relaxed);
                            return Ok(());
                        }
                    }
                    if differs.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                }
            }
            Ok(())
        };
        let (a, b) = rayon::join(work, work);
        a?;
        b?;
        let seen = seen.into_inner();
        if differs.into_inner() || seen != files {
            return Ok(false);
        }
        self.counters
            .files_stat_only
            .fetch_add(seen, Ordering::Relaxed);
        Ok(true)
    }

    /// How many regular files `batch` holds, if the stat index vouches for
    /// every one of them; `None` at the first it does not (or an `lstat`
    /// that fails: the file went away). Each file is `lstat`ed and looked
    /// up in turn, on this thread: the parts keep both cores busy.
    fn vouched_in_turn(&self, rel: &str, batch: &Batch) -> Option<u64> {
        let idx = self.index.read().unwrap_or_else(PoisonError::into_inner);
        let from = format!("{rel}/{}", batch.files.first().map_or("", |f| batch.sub(f)));
        let mut ord = idx.ordered(&from);
        let mut n = 0u64;
        for f in &batch.files {
            let sub = batch.sub(f);
            let name = &sub.as_bytes()[f.name_at as usize..];
            let st = batch.dirs[f.dir as usize].lstat_name(name).ok()?;
            if !Lstat::is_file(&st) {
                continue;
            }
            ord.lookup(rel, sub, &st.stat)?;
            n += 1;
        }
        Some(n)
    }

    /// [`Status::unchanged`] as one walk, for a tracked directory with
    /// fewer than two subdirectories to share out: each batch's `lstat`s
    /// on the pool while the next batch is read from the directories.
    fn unchanged_in_batches(&self, rel: &str, mut walk: Walker<'_>, files: u64) -> Result<bool> {
        let mut seen = 0u64;
        let mut batch = walk.next_batch()?;
        while !batch.files.is_empty() {
            let (done, next) = rayon::join(|| self.vouched(rel, &mut batch), || walk.next_batch());
            match done {
                Some(n) if seen + n <= files => seen += n,
                _ => return Ok(false),
            }
            batch = next?;
        }
        if seen != files {
            return Ok(false);
        }
        self.counters
            .files_stat_only
            .fetch_add(seen, Ordering::Relaxed);
        Ok(true)
    }

    /// How many regular files `batch` holds, if the stat index vouches for
    /// every one of them; `None` at the first it does not (or an `lstat`
    /// that fails: the file went away).
    fn vouched(&self, rel: &str, batch: &mut Batch) -> Option<u64> {
        let Batch { dirs, files, paths } = batch;
        files
            .par_iter_mut()
            .with_min_len(MIN_TASK)
            .try_for_each(|f| {
                let name = &path_in(paths, f).as_bytes()[f.name_at as usize..];
                f.st = Some(dirs[f.dir as usize].lstat_name(name).ok()?);
                Some(())
            })?;
        dirs.clear();
        let idx = self.index.read().unwrap_or_else(PoisonError::into_inner);
        let from = format!("{rel}/{}", files.first().map_or("", |f| path_in(paths, f)));
        let mut ord = idx.ordered(&from);
        let mut n = 0u64;
        for f in files.iter() {
            let Some(st) = f.st.filter(Lstat::is_file) else {
                continue;
            };
            ord.lookup(rel, path_in(paths, f), &st.stat)?;
            n += 1;
        }
        Some(n)
    }
}
