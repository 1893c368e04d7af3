//! `add PATH…`: store files or directories and write their pointers.
//!
//! The order is what makes `add` safe to kill at any moment (FORMAT.md
//! §10.2): every blob is stored and the packs made durable first, then the
//! pointers and `.gitignore` lines are written, then the stat index. No
//! pointer can name data that is not durable. Data git already tracks is
//! refused, since it would be tracked twice, unless the caller asks to take
//! it out of git's index; that happens last, once the pointers exist, as
//! git's copy is the only other record of the data until then.

use std::sync::atomic::Ordering;

use serde::Serialize;

use super::Session;
use crate::durable::write_atomic;
use crate::engine::ingest::Ingest;
use crate::error::{Error, Result};
use crate::format::pointer::{Pointer, SUFFIX};
use crate::progress::{Progress, Warning};
use crate::repo::stat_index::{DirRecord, StatIndex};

#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    /// Repository-relative paths; a pointer file's name (`data.cairn`)
    /// stands for the data beside it.
    pub paths: Vec<String>,
    /// Take data git already tracks out of git's index (`git rm --cached`,
    /// the files stay) instead of refusing it.
    pub untrack_git: bool,
}

/// One tracked path and the pointer written for it.
#[derive(Debug, Clone, Serialize)]
pub struct Added {
    pub path: String,
    pub kind: &'static str,
    pub id: String,
    pub size: u64,
    pub files: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AddReport {
    pub paths: Vec<Added>,
    pub files_read: u64,
    pub files_unchanged: u64,
    pub bytes_read: u64,
    #[serde(rename = "objects_stored")]
    pub blobs_stored: u64,
    /// Bytes new in the cache (compressed, as stored).
    pub bytes_stored: u64,
    /// Paths taken out of git's index (with `untrack_git`).
    pub untracked_from_git: usize,
    /// What to commit: the pointers and the `.gitignore` files that now
    /// hide the data.
    pub to_commit: Vec<String>,
}

pub fn add(s: &Session, opts: AddOptions, progress: &dyn Progress) -> Result<AddReport> {
    let ws = s.workspace();
    s.lock()?;
    let (store, cache_lock) = s.store_locked(progress)?;
    store.clean_tmp(cache_lock)?;
    crate::durable::sweep_tmp(&ws.cairn_dir())?;
    let mut index = StatIndex::load(&ws.stat_index_path())?;

    let mut rels: Vec<String> = Vec::new();
    for rel in opts.paths {
        // `cairn add data.cairn` means the data beside it.
        let rel = match rel.strip_suffix(SUFFIX) {
            Some(stem) if ws.root().join(stem).exists() => stem.to_string(),
            _ => rel,
        };
        if !rels.contains(&rel) {
            rels.push(rel);
        }
    }

    let git = s.git();
    let in_git = match git.map(|g| g.indexed(&rels)) {
        Some(Ok(paths)) => paths,
        Some(Err(crate::repo::git::GitError::Io(e)))
            if e.kind() == std::io::ErrorKind::NotFound =>
        {
            progress.warn(Warning::NoGitProgram);
            Vec::new()
        }
        Some(Err(e)) => return Err(e.into()),
        None => Vec::new(),
    };
    let under = |r: &str, i: &str| i == r || i.starts_with(&format!("{r}/"));
    if let (Some(first), false) = (in_git.first(), opts.untrack_git) {
        let path = rels
            .iter()
            .find(|r| under(r, first))
            .unwrap_or(first)
            .clone();
        return Err(Error::TrackedByGit {
            path,
            count: in_git.len(),
        });
    }

    let ingest = Ingest::new(ws, store, &mut index, progress);
    let mut added: Vec<(String, Pointer)> = Vec::new();
    for rel in &rels {
        added.push((rel.clone(), ingest.add_path(rel)?));
    }
    // Durability first: nothing may point at data that is not on disk.
    store.flush()?;
    crate::failpoint::hit("add.packs_durable");
    let c = &ingest.counters;
    let mut report = AddReport {
        paths: Vec::new(),
        files_read: c.files_read.load(Ordering::Relaxed),
        files_unchanged: c.files_cached.load(Ordering::Relaxed),
        bytes_read: c.bytes_read.load(Ordering::Relaxed),
        blobs_stored: c.blobs_stored.load(Ordering::Relaxed),
        bytes_stored: c.bytes_stored.load(Ordering::Relaxed),
        untracked_from_git: 0,
        to_commit: Vec::new(),
    };
    for (rel, ptr) in &added {
        let path = ws.safe_abs(&format!("{rel}{SUFFIX}"))?;
        let text = ptr.encode();
        if std::fs::read(&path).ok().as_deref() != Some(text.as_bytes()) {
            write_atomic(&path, text.as_bytes())?;
            crate::failpoint::hit("add.pointer_written");
        }
        ws.ensure_ignored(rel)?;
        crate::failpoint::hit("add.gitignore_written");
    }
    // Every file of an added directory now has a record holding its id,
    // size and mode: if no other record lies below it, the first status
    // can settle it from stat alone (FORMAT.md §9.3).
    for (rel, ptr) in &added {
        if let Pointer::Dir { id, files, .. } = ptr {
            let rec = DirRecord {
                id: *id,
                files: *files,
            };
            index.set_dir_if_only(rel, rec);
        }
    }
    index.save()?;
    crate::failpoint::hit("add.stat_index_saved");
    if let (Some(g), false) = (&git, in_git.is_empty()) {
        let paths: Vec<String> = rels
            .iter()
            .filter(|r| in_git.iter().any(|i| under(r, i)))
            .cloned()
            .collect();
        g.untrack(&paths)?;
        report.untracked_from_git = in_git.len();
    }
    for (rel, p) in &added {
        let (kind, id, size, files) = match p {
            Pointer::File { id, size, .. } => ("file", id, *size, 1),
            Pointer::Dir {
                id, size, files, ..
            } => ("dir", id, *size, *files),
        };
        report.paths.push(Added {
            path: rel.clone(),
            kind,
            id: id.to_hex(),
            size,
            files,
        });
        report.to_commit.push(format!("{rel}{SUFFIX}"));
        let ignore = match rel.rsplit_once('/') {
            Some((parent, _)) => format!("{parent}/.gitignore"),
            None => ".gitignore".to_string(),
        };
        if !report.to_commit.contains(&ignore) {
            report.to_commit.push(ignore);
        }
    }
    Ok(report)
}
