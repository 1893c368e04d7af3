//! Guarding the user's work before a restore writes anything.
//!
//! A file a restore would replace counts as the user's own (a conflict)
//! unless cairn can vouch for its bytes: the stat index says cairn wrote or
//! added exactly these bytes there, they are what the pointer wants
//! already, or the cache holds them (so nothing is lost by replacing
//! them), or they are a Git LFS pointer, which git holds. Directories
//! and symbolic links are never conflicts: the restore refuses the first
//! with its own error and replaces the second without writing through it. Each file is hashed at most once per run; the
//! restore reuses the ids found here.

use std::fs;
use std::path::Path;
use std::sync::Mutex;

use rayon::prelude::*;

use super::{Job, Restore};
use crate::error::{Error, Result};
use crate::format::pointer::Pointer;
use crate::hash::{Hasher, Id};
use crate::repo::stat_index::Stat;

impl Restore<'_> {
    /// The files that restoring `rel` to `ptr` (restricted to `only`) would
    /// overwrite although cairn has not recorded their bytes: user edits
    /// that were never added. Nothing is written. A directory listing that
    /// the cache lacks yields no conflicts: nothing of it can be written.
    pub fn conflicts(&self, rel: &str, ptr: &Pointer, only: Option<&str>) -> Result<Vec<String>> {
        let check = |jobs: &[Job]| -> Result<Vec<String>> {
            let found: Vec<Option<String>> = jobs
                .par_iter()
                .map(|j| self.conflict(j).map(|c| c.then(|| j.rel.clone())))
                .collect::<Result<_>>()?;
            Ok(found.into_iter().flatten().collect())
        };
        match ptr {
            Pointer::File { id, size, mode } => check(&[Job {
                rel: rel.to_string(),
                abs: self.ws.safe_abs(rel)?,
                id: *id,
                size: *size,
                mode: *mode,
            }]),
            Pointer::Dir { id, .. } => {
                // Leaf by leaf; a listing the cache lacks in part has no
                // conflicts, since nothing of it can be written.
                let found = Mutex::new(Vec::new());
                let walked = self.dir_jobs(rel, id, only, &|jobs| {
                    let c = check(jobs)?;
                    found.lock().expect("conflicts lock poisoned").extend(c);
                    Ok(())
                })?;
                Ok(match walked {
                    Some(_) => found.into_inner().expect("conflicts lock poisoned"),
                    None => Vec::new(),
                })
            }
        }
    }

    /// Whether writing `job` would replace bytes cairn has not recorded.
    fn conflict(&self, job: &Job) -> Result<bool> {
        let parent = job.abs.parent();
        let known = parent.and_then(|d| {
            let dirs = self.dir_exists.lock().expect("dir memo poisoned");
            dirs.get(d).copied()
        });
        if known == Some(false) {
            // The directory is missing, so is every file in it.
            return Ok(false);
        }
        let meta = match fs::symlink_metadata(&job.abs) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let (Some(d), None) = (parent, known) {
                    // One `stat` of the directory spares one per file
                    // when it is missing (a checkout after `rm -rf`, a
                    // fresh clone).
                    let exists = fs::symlink_metadata(d).is_ok();
                    self.dir_exists
                        .lock()
                        .expect("dir memo poisoned")
                        .insert(d.to_path_buf(), exists);
                }
                return Ok(false);
            }
            Err(e) => return Err(Error::io("stat", &job.abs, e)),
        };
        if meta.is_dir() {
            // Never replaced: the restore itself refuses with its own error.
            return Ok(false);
        }
        if !meta.is_file() {
            // A symbolic link (or special file) holds no bytes of the
            // user's: it is replaced, never written through.
            return Ok(false);
        }
        let stat = Stat::of(&meta);
        let (vouched, recorded) = {
            let idx = self.index.lock().expect("index lock poisoned");
            (idx.lookup(&job.rel, &stat), idx.get(&job.rel).map(|r| r.id))
        };
        if vouched.is_some() {
            // Exactly the bytes cairn last wrote or added here.
            return Ok(false);
        }
        if stat.size <= crate::format::foreign::MAX_LFS_POINTER as u64 && is_lfs_pointer(&job.abs) {
            // A Git LFS pointer that a checkout of a revision from before
            // `cairn import lfs` left in place: git holds these bytes.
            return Ok(false);
        }
        let id = self.hash_once(&job.rel, &job.abs, stat)?;
        Ok(id != job.id && Some(id) != recorded && !self.store.has_file(&id, stat.size))
    }

    /// The id of the file at `abs`, hashed at most once per run.
    pub(super) fn hash_once(&self, rel: &str, abs: &Path, stat: Stat) -> Result<Id> {
        if let Some((s, id)) = self.hashed.lock().expect("hash memo poisoned").get(rel) {
            if *s == stat {
                return Ok(*id);
            }
        }
        let id = hash_file(abs)?;
        self.hashed
            .lock()
            .expect("hash memo poisoned")
            .insert(rel.to_string(), (stat, id));
        Ok(id)
    }
}

/// BLAKE3 of a file's contents, read in pieces.
fn is_lfs_pointer(path: &Path) -> bool {
    fs::read(path).is_ok_and(|b| crate::format::foreign::parse_lfs_pointer(&b).is_ok())
}

fn hash_file(path: &Path) -> Result<Id> {
    let mut f = fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut h = Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut f, &mut buf).map_err(|e| Error::io("read", path, e))?;
        if n == 0 {
            return Ok(h.finalize());
        }
        h.update(&buf[..n]);
    }
}
