//! Materialising stored data in the work tree (`cairn checkout`).
//!
//! Guarantees: every file is hashed against the pointer's id before it
//! becomes visible (a file of one chunk as that chunk is read, checked
//! against its id; the chunks of a longer one are checked against their ids
//! only when the whole file fails, to name the damaged one); a file is
//! written under a temporary name in its own directory and renamed over the
//! target only once complete, so a failure or a kill leaves the old file
//! (or nothing), never a partial or damaged one; every target path is
//! checked to lie inside the work tree; files whose stat and id already
//! match are not rewritten.
//!
//! It also guards the user's work: [`Restore::conflicts`] lists, before
//! anything is written, every file a restore would replace whose bytes
//! cairn has not recorded (neither what cairn last wrote or added there,
//! nor anything the cache holds), and files named in [`Restore::skip`] are
//! left exactly as they are.
//!
//! This file plans a restore (which files, checked paths, stale files to
//! drop); `conflict.rs` guards the user's work and `write.rs` writes one
//! verified file. A directory's listing is walked leaf by leaf, never held
//! whole: a restore of a million files keeps 8 bytes per file (a hash of
//! each wanted path, to find stale files) rather than a plan entry each.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::durable::{is_tmp_name, sweep_tmp};
use crate::engine::listing;
use crate::engine::read::ChunkFetch;
use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::object::{check_rel_path, Mode};
use crate::format::pointer::Pointer;
use crate::hash::Id;
use crate::progress::Progress;
use crate::repo::cairnignore::walk_dir;
use crate::repo::stat_index::{Stat, StatIndex};
use crate::repo::workspace::Workspace;
use crate::store::Store;

mod ahead;
mod chunks;
mod conflict;
mod remove;
mod write;
pub(crate) use chunks::chunk_list;

pub use remove::remove_data;

#[derive(Debug, Default)]
pub struct Counters {
    pub files_written: AtomicU64,
    pub files_unchanged: AtomicU64,
    pub files_removed: AtomicU64,
    pub bytes_written: AtomicU64,
    /// Files left alone because they hold changes cairn has not recorded.
    pub files_kept: AtomicU64,
}

pub struct Restore<'a> {
    pub ws: &'a Workspace,
    pub store: &'a Store,
    pub index: Mutex<&'a mut StatIndex>,
    pub progress: &'a dyn Progress,
    pub counters: Counters,
    /// Files (repository-relative) to leave untouched: changes a hook found
    /// that cairn has not recorded.
    pub skip: HashSet<String>,
    /// Where chunks the store lacks come from (`pull --no-cache`: a remote,
    /// read by ranges, each chunk checked); `None`: the store must have
    /// them all.
    pub chunks: Option<Arc<dyn ChunkFetch>>,
    /// Ids hashed while looking for conflicts, by path, with the stat they
    /// were hashed at, so a restore does not read the same file twice.
    hashed: Mutex<HashMap<String, (Stat, Id)>>,
    /// What the first complete walk of each directory's listing found
    /// (by tracked path, listing and sub-path), so later passes know the
    /// listing is whole and canonical before acting on it.
    dirs: Mutex<HashMap<DirKey, Arc<DirPlan>>>,
    /// Directories this run created (empty when made): a file in one is
    /// only ever this run's own, so it needs no `stat` before it is written.
    fresh_dirs: Mutex<HashSet<PathBuf>>,
    /// Whether each directory the conflict pass found a file missing in
    /// exists: files of a directory that does not exist cannot be anyone's
    /// edits, and are not `stat`ed one by one.
    dir_exists: Mutex<HashMap<PathBuf, bool>>,
}

/// Jobs handed to the workers at once: a leaf holds a few hundred files,
/// often of one directory, and workers creating files in one directory
/// contend for it; a batch of many leaves lets them spread out (a few MB).
const JOB_BATCH: usize = 16 << 10;

/// A tracked directory, its listing and the sub-path a restore is limited to.
type DirKey = (String, Id, Option<String>);

/// A directory's listing as a restore needs it besides its entries.
struct DirPlan {
    /// [`path_hash`] of every wanted repository-relative path, sorted: a
    /// collision can only make a stale file look wanted, which keeps it.
    wanted: Vec<u64>,
    /// Total bytes of the wanted files.
    bytes: u64,
}

/// A 64-bit hash of a repository-relative path.
fn path_hash(rel: &str) -> u64 {
    let d = blake3::hash(rel.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d.as_bytes()[..8]);
    u64::from_le_bytes(b)
}

/// A plan entry: one file to bring into line with the pointers.
#[derive(Clone)]
struct Job {
    rel: String,
    abs: PathBuf,
    id: Id,
    size: u64,
    mode: Mode,
}

impl<'a> Restore<'a> {
    pub fn new(
        ws: &'a Workspace,
        store: &'a Store,
        index: &'a mut StatIndex,
        progress: &'a dyn Progress,
    ) -> Restore<'a> {
        Restore {
            ws,
            store,
            index: Mutex::new(index),
            progress,
            counters: Counters::default(),
            skip: HashSet::new(),
            chunks: None,
            hashed: Mutex::new(HashMap::new()),
            dirs: Mutex::new(HashMap::new()),
            fresh_dirs: Mutex::new(HashSet::new()),
            dir_exists: Mutex::new(HashMap::new()),
        }
    }

    /// Walk the files of tracked directory `rel` (listing `id`) at or below
    /// `only` leaf by leaf, handing them to `each` as restore jobs with
    /// checked paths, in batches of about [`JOB_BATCH`].
    /// `None` when the cache lacks part of the listing. The first walk of a
    /// listing in a run only plans (the listing may turn out damaged or
    /// non-canonical at its end, and nothing must act on it before that is
    /// known); `each` sees jobs only once the listing is known good.
    fn dir_jobs(
        &self,
        rel: &str,
        id: &Id,
        only: Option<&str>,
        each: &(dyn Fn(&[Job]) -> Result<()> + Sync),
    ) -> Result<Option<Arc<DirPlan>>> {
        let plan = match self.dir_plan(rel, id, only)? {
            Some(p) => p,
            None => return Ok(None),
        };
        let mut batch: Vec<Job> = Vec::new();
        listing::walk_leaves(self.store, id, only, false, &mut |entries| {
            for e in entries {
                let r = format!("{rel}/{}", e.path);
                batch.push(Job {
                    // Checked by the planning walk, as `safe_abs` does.
                    abs: self.ws.root().join(&r),
                    rel: r,
                    id: e.id,
                    size: e.size,
                    mode: e.mode,
                });
            }
            if batch.len() < JOB_BATCH {
                return Ok(());
            }
            let r = each(&batch);
            batch.clear();
            r
        })?;
        if !batch.is_empty() {
            each(&batch)?;
        }
        Ok(Some(plan))
    }

    /// The plan of a directory, from a first walk that checks every path
    /// and that the listing is complete and canonical; `None` when the
    /// cache lacks part of it.
    fn dir_plan(&self, rel: &str, id: &Id, only: Option<&str>) -> Result<Option<Arc<DirPlan>>> {
        let key = (rel.to_string(), *id, only.map(str::to_string));
        if let Some(p) = self.dirs.lock().expect("dirs lock poisoned").get(&key) {
            return Ok(Some(p.clone()));
        }
        let mut wanted = Vec::new();
        let mut bytes = 0u64;
        // The directories on the way to a file are checked once per
        // directory (entries come sorted, a directory's files together):
        // at 100,000 files that is a `stat` per directory level saved per
        // file. Every path itself is still checked.
        let mut checked_parent = String::new();
        // Below `only`, just the nodes that can hold it: a fetch of that
        // path brought no others.
        let walk = listing::walk_leaves(self.store, id, only, false, &mut |entries| {
            for e in entries {
                let r = format!("{rel}/{}", e.path);
                let parent = r.rsplit_once('/').map_or("", |(p, _)| p);
                if parent == checked_parent {
                    check_rel_path(&r).map_err(|reason| Error::UnsafePath {
                        path: r.clone(),
                        reason,
                    })?;
                } else {
                    self.ws.safe_abs(&r)?;
                    checked_parent = parent.to_string();
                }
                wanted.push(path_hash(&r));
                bytes += e.size;
            }
            Ok(())
        })?;
        if !walk.absent.is_empty() {
            return Ok(None);
        }
        wanted.sort_unstable();
        wanted.dedup();
        let plan = Arc::new(DirPlan { wanted, bytes });
        self.dirs
            .lock()
            .expect("dirs lock poisoned")
            .insert(key, plan.clone());
        Ok(Some(plan))
    }

    /// Make tracked path `rel` match `ptr`. With `only`, restrict a
    /// directory to the files at or below that sub-path.
    pub fn restore(&self, rel: &str, ptr: &Pointer, only: Option<&str>) -> Result<()> {
        let abs = self.ws.safe_abs(rel)?;
        if let Some(parent) = abs.parent() {
            sweep_tmp(parent)?;
        }
        match ptr {
            Pointer::File { id, size, mode } => {
                if fs::symlink_metadata(&abs).is_ok_and(|m| m.is_dir()) {
                    return Err(Error::CannotTrack {
                        path: abs,
                        reason: "the pointer describes a file but a directory is in the way",
                    });
                }
                let job = Job {
                    rel: rel.to_string(),
                    abs,
                    id: *id,
                    size: *size,
                    mode: *mode,
                };
                self.progress.begin("checking out", Some(*size));
                let r = self.run(&job);
                self.progress.end();
                r
            }
            Pointer::Dir { id, .. } => {
                let missing = || Error::MissingObject {
                    kind: ObjectKind::Tree,
                    id: *id,
                    path: abs.clone(),
                };
                let plan = self.dir_plan(rel, id, only)?.ok_or_else(missing)?;
                self.restore_dir(rel, &abs, id, &plan, only)
            }
        }
    }

    fn restore_dir(
        &self,
        rel: &str,
        abs: &Path,
        id: &Id,
        plan: &DirPlan,
        only: Option<&str>,
    ) -> Result<()> {
        if fs::symlink_metadata(abs).is_ok_and(|m| !m.is_dir()) {
            return Err(Error::CannotTrack {
                path: abs.to_path_buf(),
                reason: "the pointer describes a directory but a file is in the way",
            });
        }
        // An empty tracked directory is still a directory.
        fs::create_dir_all(abs).map_err(|e| Error::io("create directory", abs, e))?;
        // Leftovers of an interrupted checkout would otherwise look like
        // new files in the directory.
        {
            for e in walkdir::WalkDir::new(abs)
                .min_depth(1)
                .into_iter()
                .flatten()
            {
                if e.file_type().is_file() && is_tmp_name(e.file_name()) {
                    fs::remove_file(e.path()).map_err(|err| Error::io("remove", e.path(), err))?;
                }
            }
        }
        // Files cairn put here before that the new listing drops: remove
        // them, but only if they are unmodified since and their content is in
        // the store, so neither a user edit nor a never-added file is lost.
        let wanted = |p: &str| plan.wanted.binary_search(&path_hash(p)).is_ok();
        // A file `.cairnignore` excludes is not data: never removed, even
        // if cairn wrote it from an older listing (read only when needed).
        let rules = std::cell::OnceCell::new();
        let ignored = |p: &str| match rules.get_or_init(|| walk_dir(self.ws.root(), rel, abs)) {
            Ok((_, ig)) => ig.is_ignored_in(rel, p),
            // Unreadable rules: the walks of add and status report them.
            Err(_) => true,
        };
        let stale: Vec<String> = {
            let idx = self.index.lock().expect("index lock poisoned");
            let mut stale = Vec::new();
            idx.for_each_under(rel, |p, _| {
                let inside = match p.get(rel.len() + 1..) {
                    Some(sub) => within(sub, only),
                    None => only.is_none(),
                };
                if !wanted(p) && !ignored(p) && inside {
                    stale.push(p.to_string());
                }
            });
            stale
        };
        for p in stale {
            let target = self.ws.safe_abs(&p)?;
            let Ok(meta) = fs::symlink_metadata(&target) else {
                self.index
                    .lock()
                    .expect("index lock poisoned")
                    .remove_tree(&p);
                continue;
            };
            let mut idx = self.index.lock().expect("index lock poisoned");
            let unchanged = idx.get(&p).is_some_and(|r| {
                r.stat == Stat::of(&meta) && self.store.has_file(&r.id, r.stat.size)
            });
            if unchanged && meta.is_file() {
                fs::remove_file(&target).map_err(|e| Error::io("remove", &target, e))?;
                idx.remove_tree(&p);
                self.counters.files_removed.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.progress.begin("checking out", Some(plan.bytes));
        let r = self
            .dir_jobs(rel, id, only, &|jobs| {
                jobs.par_iter().try_for_each(|j| self.run(j))
            })
            .and_then(|found| {
                // The cache held the whole listing a moment ago.
                found.map(|_| ()).ok_or_else(|| Error::MissingObject {
                    kind: ObjectKind::Tree,
                    id: *id,
                    path: abs.to_path_buf(),
                })
            });
        self.progress.end();
        r
    }

    fn run(&self, job: &Job) -> Result<()> {
        if self.skip.contains(&job.rel) {
            self.counters.files_kept.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        // In a directory this run made, nothing is there to compare.
        let existing = match self.in_fresh_dir(&job.abs) {
            true => None,
            false => fs::symlink_metadata(&job.abs).ok(),
        };
        if let Some(meta) = existing {
            let stat = Stat::of(&meta);
            let same_mode = Mode::from_permissions(meta.permissions().mode()) == job.mode;
            if meta.is_file() && same_mode && stat.size == job.size {
                let known = self
                    .index
                    .lock()
                    .expect("index lock poisoned")
                    .lookup(&job.rel, &stat);
                // When the index cannot vouch for the file (just written, or
                // never seen), reading it is still cheaper than rewriting it.
                let same = match known {
                    Some(id) => id == job.id,
                    None => self.hash_once(&job.rel, &job.abs, stat)? == job.id,
                };
                if same {
                    self.index.lock().expect("index lock poisoned").insert(
                        job.rel.clone(),
                        stat,
                        job.id,
                    );
                    self.counters
                        .files_unchanged
                        .fetch_add(1, Ordering::Relaxed);
                    self.progress.advance(job.size);
                    return Ok(());
                }
            }
        }
        let stat = self.write_file(job)?;
        self.counters.files_written.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes_written
            .fetch_add(job.size, Ordering::Relaxed);
        self.index
            .lock()
            .expect("index lock poisoned")
            .insert(job.rel.clone(), stat, job.id);
        Ok(())
    }
}

impl Restore<'_> {
    /// Whether `abs` lies directly in a directory this run created.
    fn in_fresh_dir(&self, abs: &Path) -> bool {
        abs.parent().is_some_and(|d| {
            self.fresh_dirs
                .lock()
                .expect("fresh dirs lock poisoned")
                .contains(d)
        })
    }
}

/// Whether `path` (inside a tracked directory) is at or below `only`.
fn within(path: &str, only: Option<&str>) -> bool {
    match only {
        None => true,
        Some(o) => path == o || path.starts_with(&format!("{o}/")),
    }
}
