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

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::durable::{is_tmp_name, sweep_tmp};
use crate::error::{Corruption, Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::object::{self, Form, Manifest, Mode, Piece, TreeEntry};
use crate::format::pointer::Pointer;
use crate::hash::{Hasher, Id};
use crate::progress::Progress;
use crate::repo::stat_index::{Stat, StatIndex};
use crate::repo::workspace::Workspace;
use crate::store::Store;

/// Chunks decoded ahead of the writer, per file.
const BATCH_BYTES: u64 = 16 << 20;

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
    /// Ids hashed while looking for conflicts, by path, with the stat they
    /// were hashed at, so a restore does not read the same file twice.
    hashed: Mutex<HashMap<String, (Stat, Id)>>,
    /// The jobs of each directory (by tracked path and sub-path), built
    /// once for the conflict check and the restore: decoding a large
    /// listing and checking every path is not free.
    jobs: Mutex<HashMap<JobsKey, Arc<Vec<Job>>>>,
}

/// Read a blob that must exist, naming `path` if it does not.
pub fn require(store: &Store, kind: ObjectKind, id: &Id, path: &Path) -> Result<Vec<u8>> {
    store.read(kind, id)?.ok_or_else(|| Error::MissingObject {
        kind,
        id: *id,
        path: path.to_path_buf(),
    })
}

/// The ordered chunk list of file `id`.
pub fn chunk_list(store: &Store, id: &Id, size: u64, path: &Path) -> Result<Vec<Piece>> {
    if size == 0 {
        return Ok(Vec::new());
    }
    if let Some(raw) = store.read(ObjectKind::Manifest, id)? {
        let m = Manifest::decode(&raw).map_err(|e| store.corrupt(ObjectKind::Manifest, *id, e))?;
        if m.size != size {
            let cause = Corruption::ManifestSize {
                described: m.size,
                pointer: size,
            };
            return Err(store.corrupt(ObjectKind::Manifest, *id, cause));
        }
        return match m.form {
            Form::Chunks => Ok(m.pieces),
            Form::Segments => {
                let mut out = Vec::new();
                for s in &m.pieces {
                    let raw = require(store, ObjectKind::Segment, &s.id, path)?;
                    let seg = object::decode_segment(&raw)
                        .map_err(|e| store.corrupt(ObjectKind::Segment, s.id, e))?;
                    out.extend(seg);
                }
                Ok(out)
            }
        };
    }
    if store.contains(ObjectKind::Chunk, id) {
        return Ok(vec![Piece { id: *id, len: size }]);
    }
    Err(Error::MissingObject {
        kind: ObjectKind::Manifest,
        id: *id,
        path: path.to_path_buf(),
    })
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
            hashed: Mutex::new(HashMap::new()),
            jobs: Mutex::new(HashMap::new()),
        }
    }

    /// The files that restoring `rel` to `ptr` (restricted to `only`) would
    /// overwrite although cairn has not recorded their bytes: user edits
    /// that were never added. Nothing is written. A directory listing that
    /// the cache lacks yields no conflicts: nothing of it can be written.
    pub fn conflicts(&self, rel: &str, ptr: &Pointer, only: Option<&str>) -> Result<Vec<String>> {
        let jobs = match ptr {
            Pointer::File { id, size, mode } => Arc::new(vec![Job {
                rel: rel.to_string(),
                abs: self.ws.safe_abs(rel)?,
                id: *id,
                size: *size,
                mode: *mode,
            }]),
            Pointer::Dir { id, .. } => match self.listing_jobs(rel, id, only)? {
                Some(jobs) => jobs,
                None => return Ok(Vec::new()),
            },
        };
        let found: Vec<Option<String>> = jobs
            .par_iter()
            .map(|j| self.conflict(j).map(|c| c.then(|| j.rel.clone())))
            .collect::<Result<_>>()?;
        Ok(found.into_iter().flatten().collect())
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
        let Some(raw) = self.store.read(ObjectKind::Tree, id)? else {
            return Ok(None);
        };
        let jobs = Arc::new(self.dir_jobs(rel, &self.decode_tree(id, &raw)?, only)?);
        self.jobs
            .lock()
            .expect("jobs lock poisoned")
            .insert(key, jobs.clone());
        Ok(Some(jobs))
    }

    /// A directory listing read from the store, decoded.
    fn decode_tree(&self, id: &Id, raw: &[u8]) -> Result<Vec<TreeEntry>> {
        object::decode_tree(raw).map_err(|e| self.store.corrupt(ObjectKind::Tree, *id, e))
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

    /// Whether writing `job` would replace bytes cairn has not recorded.
    fn conflict(&self, job: &Job) -> Result<bool> {
        let meta = match fs::symlink_metadata(&job.abs) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
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
        let id = self.hash_once(&job.rel, &job.abs, stat)?;
        Ok(id != job.id && Some(id) != recorded && !self.store.has_file(&id, stat.size))
    }

    /// The id of the file at `abs`, hashed at most once per run.
    fn hash_once(&self, rel: &str, abs: &Path, stat: Stat) -> Result<Id> {
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
        let stale: Vec<String> = {
            let idx = self.index.lock().expect("index lock poisoned");
            idx.paths_under(rel)
                .filter(|p| !wanted.contains(p))
                .filter(|p| match p.get(rel.len() + 1..) {
                    Some(sub) => within(sub, only),
                    None => only.is_none(),
                })
                .map(str::to_string)
                .collect()
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

    fn write_file(&self, job: &Job) -> Result<Stat> {
        let chunks = chunk_list(self.store, &job.id, job.size, &job.abs)?;
        let dir = job.abs.parent().expect("a repository path has a parent");
        fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(crate::durable::TMP_PREFIX)
            .tempfile_in(dir)
            .map_err(|e| Error::io("create temporary file in", dir, e))?;
        crate::durable::preallocate(tmp.as_file(), job.size);
        let mut hasher = Hasher::new();
        let mut written = 0u64;
        let mut batches = batches(&chunks).into_iter();
        let mut cur = match batches.next() {
            Some(b) => self.decode(b, &job.abs)?,
            None => Vec::new(),
        };
        // A file of one chunk is that chunk, whose id was just verified; a
        // longer one is hashed again as a whole, beside the write, so the
        // final check costs no extra time on the writing thread.
        let whole_hash = chunks.len() > 1;
        loop {
            let next_batch = batches.next();
            let ((w, ()), next) = rayon::join(
                || {
                    rayon::join(
                        || -> std::io::Result<()> {
                            for c in &cur {
                                tmp.write_all(c)?;
                            }
                            Ok(())
                        },
                        || {
                            if whole_hash {
                                cur.iter().for_each(|c| {
                                    hasher.update(c);
                                });
                            }
                        },
                    )
                },
                || next_batch.map(|b| self.decode(b, &job.abs)),
            );
            w.map_err(|e| Error::io("write", tmp.path(), e))?;
            let n: u64 = cur.iter().map(|c| c.len() as u64).sum();
            written += n;
            self.progress.advance(n);
            match next {
                Some(r) => cur = r?,
                None => break,
            }
        }
        let actual = if chunks.len() == 1 && written == job.size {
            // A single verified chunk is the file: its id was just checked.
            chunks[0].id
        } else {
            hasher.finalize()
        };
        if actual != job.id || written != job.size {
            return Err(Error::ContentMismatch {
                path: job.abs.clone(),
                expected: job.id,
                actual,
            });
        }
        let perm = match job.mode {
            Mode::Executable => 0o755,
            Mode::Regular => 0o644,
        };
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(perm))
            .map_err(|e| Error::io("set permissions of", tmp.path(), e))?;
        let file = tmp
            .persist(&job.abs)
            .map_err(|e| Error::io("rename into place", &job.abs, e.error))?;
        crate::failpoint::hit("checkout.file_written");
        let meta = file
            .metadata()
            .map_err(|e| Error::io("stat", &job.abs, e))?;
        Ok(Stat::of(&meta))
    }

    fn decode(&self, batch: &[Piece], path: &Path) -> Result<Vec<Vec<u8>>> {
        batch
            .par_iter()
            .map(|c| {
                let raw = require(self.store, ObjectKind::Chunk, &c.id, path)?;
                if raw.len() as u64 != c.len {
                    let cause = Corruption::ChunkLength {
                        expected: c.len,
                        actual: raw.len() as u64,
                    };
                    return Err(self.store.corrupt(ObjectKind::Chunk, c.id, cause));
                }
                Ok(raw)
            })
            .collect()
    }
}

/// Whether `path` (inside a tracked directory) is at or below `only`.
fn within(path: &str, only: Option<&str>) -> bool {
    match only {
        None => true,
        Some(o) => path == o || path.starts_with(&format!("{o}/")),
    }
}

/// BLAKE3 of a file's contents, read in pieces.
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

fn batches(chunks: &[Piece]) -> Vec<&[Piece]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, c) in chunks.iter().enumerate() {
        bytes += c.len;
        if bytes >= BATCH_BYTES {
            out.push(&chunks[start..=i]);
            start = i + 1;
            bytes = 0;
        }
    }
    if start < chunks.len() {
        out.push(&chunks[start..]);
    }
    out
}
