//! Materialising stored data in the work tree (`cairn checkout`).
//!
//! Guarantees: every chunk is verified against its id as it is read and the
//! whole file is hashed again against the pointer's id before it becomes
//! visible; a file is written under a temporary name in its own directory
//! and renamed over the target only once complete, so a failure or a kill
//! leaves the old file (or nothing), never a partial or damaged one; every
//! target path is checked to lie inside the work tree; files whose stat and
//! id already match are not rewritten.
//!
//! It also guards the user's work: [`Restore::conflicts`] lists, before
//! anything is written, every file a restore would replace whose bytes
//! cairn has not recorded (neither what cairn last wrote or added there,
//! nor anything the cache holds), and files named in [`Restore::skip`] are
//! left exactly as they are.
//!
//! This file plans a restore (which files, checked paths, stale files to
//! drop); `conflict.rs` guards the user's work and `write.rs` writes one
//! verified file.

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
use crate::format::object::{Mode, TreeEntry};
use crate::format::pointer::Pointer;
use crate::hash::Id;
use crate::progress::Progress;
use crate::repo::cairnignore::walk_dir;
use crate::repo::stat_index::{Stat, StatIndex};
use crate::repo::workspace::Workspace;
use crate::store::Store;

mod conflict;
mod remove;
mod write;
pub(crate) use write::chunk_list;

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
    /// The jobs of each directory (by tracked path and sub-path), built
    /// once for the conflict check and the restore: decoding a large
    /// listing and checking every path is not free.
    jobs: Mutex<HashMap<JobsKey, Arc<Vec<Job>>>>,
}

/// A tracked directory and the sub-path a restore is limited to.
type JobsKey = (String, Option<String>);

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
            jobs: Mutex::new(HashMap::new()),
        }
    }

    /// The jobs of tracked directory `rel` (listing `id`) at or below
    /// `only`, built once per run; `None` when the cache lacks the listing.
    fn listing_jobs(
        &self,
        rel: &str,
        id: &Id,
        only: Option<&str>,
    ) -> Result<Option<Arc<Vec<Job>>>> {
        let key = (rel.to_string(), only.map(str::to_string));
        if let Some(jobs) = self.jobs.lock().expect("jobs lock poisoned").get(&key) {
            return Ok(Some(jobs.clone()));
        }
        // Below `only`, just the nodes that can hold it: a fetch of that
        // path brought no others.
        let walk = listing::walk(self.store, id, only, false)?;
        if !walk.absent.is_empty() {
            return Ok(None);
        }
        let jobs = Arc::new(self.dir_jobs(rel, &walk.entries, only)?);
        self.jobs
            .lock()
            .expect("jobs lock poisoned")
            .insert(key, jobs.clone());
        Ok(Some(jobs))
    }

    /// The files of tracked directory `rel` (listed in `entries`) at or
    /// below `only`, as restore jobs with checked paths.
    fn dir_jobs(&self, rel: &str, entries: &[TreeEntry], only: Option<&str>) -> Result<Vec<Job>> {
        entries
            .iter()
            .filter(|e| within(&e.path, only))
            .map(|e| {
                let r = format!("{rel}/{}", e.path);
                Ok(Job {
                    abs: self.ws.safe_abs(&r)?,
                    rel: r,
                    id: e.id,
                    size: e.size,
                    mode: e.mode,
                })
            })
            .collect()
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
                let jobs =
                    self.listing_jobs(rel, id, only)?
                        .ok_or_else(|| Error::MissingObject {
                            kind: ObjectKind::Tree,
                            id: *id,
                            path: abs.clone(),
                        })?;
                self.restore_dir(rel, &abs, &jobs, only)
            }
        }
    }

    fn restore_dir(&self, rel: &str, abs: &Path, jobs: &[Job], only: Option<&str>) -> Result<()> {
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
        let wanted: std::collections::HashSet<&str> = jobs.iter().map(|j| j.rel.as_str()).collect();
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
                if !wanted.contains(p) && !ignored(p) && inside {
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
        self.progress
            .begin("checking out", Some(jobs.iter().map(|j| j.size).sum()));
        let r = jobs.par_iter().try_for_each(|j| self.run(j));
        self.progress.end();
        r
    }

    fn run(&self, job: &Job) -> Result<()> {
        if self.skip.contains(&job.rel) {
            self.counters.files_kept.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        if let Ok(meta) = fs::symlink_metadata(&job.abs) {
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

/// Whether `path` (inside a tracked directory) is at or below `only`.
fn within(path: &str, only: Option<&str>) -> bool {
    match only {
        None => true,
        Some(o) => path == o || path.starts_with(&format!("{o}/")),
    }
}
