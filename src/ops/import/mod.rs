//! `cairn import dvc|lfs`: move a repository's data from DVC or Git LFS to
//! cairn in one step, keeping every old revision restorable.
//!
//! The order is what makes it safe (FORMAT.md §16): every byte is checked
//! against the old tool's hash before it is used; the data is stored and
//! made durable, and the pointers written (`ops::add`), before the import
//! map names it; and only then are the old pointer files removed and the
//! whole change staged. A run that fails or is killed leaves the old
//! pointers in place, and running it again finishes the job; a second run
//! after a complete one changes nothing. An output whose data cannot be
//! found or verified is reported with its path and revision, and every
//! other output is still imported.

use std::path::Path;

use serde::Serialize;

use super::Session;
use crate::durable::{write_atomic, TMP_PREFIX};
use crate::engine::ingest::Ingest;
use crate::error::{Error, Result};
use crate::format::import_map::{ImportMap, Mapped, Target, PATH as MAP_PATH};
use crate::format::pointer::{Pointer, SUFFIX};
use crate::progress::Progress;
use crate::repo::foreign::{load_map, outs_of, ForeignOut};
use crate::repo::git::{GitRepo, Want};
use crate::repo::stat_index::StatIndex;

pub mod dvc;
mod finish;
pub mod lfs;
mod place;
mod revs;
mod select;
pub mod source;

use select::Selector;

use source::Expect;

/// The tool imported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    Dvc,
    Lfs,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub tool: Tool,
    /// DVC: outputs or `.dvc` files to import; LFS: patterns
    /// (gitignore syntax). Empty: everything.
    pub paths: Vec<String>,
    /// Also import the data of every tag.
    pub all_tags: bool,
    /// Also import the data of these revisions.
    pub revs: Vec<String>,
}

/// What a source gave for one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch {
    /// Verified and in place; where it came from.
    Got(&'static str),
    Missing,
    Corrupt,
    /// The remote is of a kind cairn cannot read.
    Unreachable(String),
}

/// Where the old tool's objects can be read.
pub trait Objects {
    /// Copy the object with hash `want` to `dest`, verified (`dir`: a DVC
    /// `.dir` listing).
    fn fetch(&self, want: &Expect, dir: bool, dest: &Path) -> Result<Fetch>;

    /// A DVC `.dir` listing's bytes, verified.
    fn listing(&self, _md5: &str, _scratch: &Path) -> Result<std::result::Result<Vec<u8>, Fetch>> {
        Ok(Err(Fetch::Missing))
    }
}

/// One output of the work tree now tracked by cairn.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedPath {
    pub path: String,
    pub kind: &'static str,
    pub id: String,
    pub size: u64,
    pub files: u64,
    /// The old tool's hash (`<md5>`, `<md5>.dir` or the LFS sha256).
    pub old_hash: String,
    /// The file that recorded it (`x.dvc`, `dvc.lock`, or the LFS pointer).
    pub from: String,
    /// Where the bytes came from: `work tree`, `DVC cache`, `DVC remote`,
    /// `LFS objects` or `git lfs fetch`.
    pub source: &'static str,
}

/// What one imported revision held.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedRev {
    pub rev: String,
    pub commit: String,
    /// Outputs the revision records.
    pub outputs: usize,
    /// Of those, imported by this run.
    pub imported: usize,
    /// Of those, already in the import map.
    pub already_imported: usize,
}

/// An output that was not imported, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub path: String,
    pub rev: String,
    /// `missing`, `corrupt`, `modified`, `unreadable`.
    pub problem: &'static str,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub tool: Tool,
    pub paths: Vec<ImportedPath>,
    pub revs: Vec<ImportedRev>,
    pub problems: Vec<Problem>,
    pub objects_stored: u64,
    pub bytes_stored: u64,
    /// Entries in the import map after the run, and how many it added.
    pub map_entries: usize,
    pub map_entries_added: usize,
    /// Old pointer files removed from the work tree or from git's index.
    pub removed: Vec<String>,
    pub notes: Vec<String>,
    /// What the run staged for the commit.
    pub to_commit: Vec<String>,
}

const WORK_TREE: &str = "the work tree";

pub fn import(s: &Session, opts: ImportOptions, progress: &dyn Progress) -> Result<ImportReport> {
    let ws = s.workspace();
    let git = s.require_git()?;
    s.lock()?;
    let (store, cache_lock) = s.store_locked(progress)?;
    store.clean_tmp(cache_lock)?;
    crate::durable::sweep_tmp(&ws.cairn_dir())?;
    sweep_scratch(&ws.cairn_dir())?;
    let scratch = tempfile::Builder::new()
        .prefix(&format!("{TMP_PREFIX}import-"))
        .tempdir_in(ws.cairn_dir())
        .map_err(|e| Error::io("create a scratch directory in", ws.cairn_dir(), e))?;
    let mut map = load_map(ws.root(), None)?.unwrap_or_default();
    let before = map.clone();
    let mut report = ImportReport {
        tool: opts.tool,
        paths: Vec::new(),
        revs: Vec::new(),
        problems: Vec::new(),
        objects_stored: 0,
        bytes_stored: 0,
        map_entries: 0,
        map_entries_added: 0,
        removed: Vec::new(),
        notes: Vec::new(),
        to_commit: Vec::new(),
    };
    let revs = revs::revisions(git, &opts)?;
    let dvc_objects;
    let lfs_objects;
    let objects: &dyn Objects = match opts.tool {
        Tool::Dvc => {
            dvc_objects = dvc::DvcObjects::open(s)?;
            &dvc_objects
        }
        Tool::Lfs => {
            lfs_objects = lfs::LfsObjects::new(git, !revs.is_empty());
            &lfs_objects
        }
    };
    let select = Selector::new(ws.root(), &opts)?;

    // The work tree first: its outputs become cairn pointers.
    let (head, done, lfs_paths) = work_tree_outputs(s, git, &opts, &select, &map, &mut report)?;
    // Imported by an earlier run that stopped before the old pointers went:
    // only the steps after the map remain for them.
    for o in &done {
        report.to_commit.push(format!("{}{SUFFIX}", o.path));
        report
            .to_commit
            .push(crate::repo::workspace::Workspace::gitignore_of(&o.path));
    }
    let mut ready: Vec<(ForeignOut, &'static str)> = Vec::new();
    for out in head {
        let dest = ws.safe_abs(&out.path)?;
        match place::place(objects, &out, &dest, true, scratch.path())? {
            Ok(source) => ready.push((out, source)),
            Err((problem, detail)) => report.problems.push(Problem {
                path: out.path.clone(),
                rev: WORK_TREE.into(),
                problem,
                detail,
            }),
        }
    }
    if !ready.is_empty() {
        let add_opts = crate::ops::add::AddOptions {
            paths: ready.iter().map(|(o, _)| o.path.clone()).collect(),
            untrack_git: opts.tool == Tool::Lfs,
        };
        let added = crate::ops::add::add(s, add_opts, progress)?;
        report.objects_stored += added.blobs_stored;
        report.bytes_stored += added.bytes_stored;
        report.to_commit.extend(added.to_commit);
        for (out, source) in &ready {
            let Some(a) = added.paths.iter().find(|a| a.path == out.path) else {
                continue;
            };
            let target = match crate::repo::workspace::read_pointer(ws, &out.path)? {
                Pointer::File { id, .. } => Target::File(id),
                Pointer::Dir { id, files, .. } => Target::Dir { id, files },
            };
            map.insert(
                out.scheme(),
                out.key(),
                Mapped {
                    size: a.size,
                    target,
                },
            );
            report.paths.push(ImportedPath {
                path: out.path.clone(),
                kind: a.kind,
                id: a.id.clone(),
                size: a.size,
                files: a.files,
                old_hash: out.key(),
                from: out.from.clone(),
                source,
            });
        }
    }

    // Then older revisions: their data goes to the cache and the map only.
    if !revs.is_empty() {
        let sws = ws.with_root(scratch.path().join("tree"));
        std::fs::create_dir_all(sws.root())
            .map_err(|e| Error::io("create directory", sws.root(), e))?;
        let mut index = StatIndex::load(&scratch.path().join("index"))?;
        let ingest = Ingest::new(&sws, store, &mut index, progress);
        for (rev, commit) in &revs {
            let row = revs::import_rev(
                git,
                rev,
                commit,
                objects,
                &ingest,
                &select,
                &mut map,
                &mut report,
                scratch.path(),
            )?;
            report.revs.push(row);
        }
        store.flush()?;
        crate::failpoint::hit("import.revisions_durable");
        let c = &ingest.counters;
        report.objects_stored += c.blobs_stored.load(std::sync::atomic::Ordering::Relaxed);
        report.bytes_stored += c.bytes_stored.load(std::sync::atomic::Ordering::Relaxed);
    }

    // The map names only durable data: `add` and the flush above made it so.
    if map != before {
        let path = ws.root().join(MAP_PATH);
        write_atomic(&path, map.encode().as_bytes())?;
        crate::failpoint::hit("import.map_written");
    }
    report.map_entries = map.len();
    report.map_entries_added = map.len().saturating_sub(before.len());

    // Only now do the old pointers go.
    let imported: Vec<&ForeignOut> = ready
        .iter()
        .filter(|(o, _)| report.paths.iter().any(|p| p.path == o.path))
        .map(|(o, _)| o)
        .chain(done.iter())
        .collect();
    match opts.tool {
        Tool::Dvc => finish::remove_dvc_files(ws.root(), &imported, &mut report)?,
        Tool::Lfs => {
            let done: Vec<String> = imported.iter().map(|o| o.path.clone()).collect();
            report.removed.extend(done.iter().cloned());
            let (changed, kept) = lfs::drop_filter_lines(ws.root(), &lfs_paths, &done)?;
            report.to_commit.extend(changed);
            for k in kept {
                report
                    .notes
                    .push(format!("kept {k}: other LFS files still use it"));
            }
        }
    }
    if opts.tool == Tool::Dvc {
        finish::removed_earlier(git, ws.root(), &mut report)?;
    }
    finish::notes(ws.root(), opts.tool, &mut report);
    finish::stage(git, ws.root(), &mut report)?;
    Ok(report)
}

/// Remove scratch directories a killed import left in `.cairn/` (the
/// repository lock is held).
fn sweep_scratch(cairn_dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(cairn_dir) else {
        return Ok(());
    };
    let prefix = format!("{TMP_PREFIX}import-");
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix)
            && e.file_type().is_ok_and(|t| t.is_dir())
        {
            let p = e.path();
            std::fs::remove_dir_all(&p).map_err(|err| Error::io("remove", &p, err))?;
        }
    }
    Ok(())
}

impl ImportReport {
    /// Report each old pointer of `rev` that could not be read and that the
    /// selection asks for.
    fn unreadable<E: std::fmt::Display>(
        &mut self,
        select: &Selector,
        bad: impl IntoIterator<Item = (String, E)>,
        rev: &str,
    ) {
        for (path, e) in bad {
            if select.file(&path) {
                self.problems.push(Problem {
                    path,
                    rev: rev.to_string(),
                    problem: "unreadable",
                    detail: e.to_string(),
                });
            }
        }
    }
}

/// The selected outputs of the work tree still to import, those an
/// earlier run imported already (map entry and pointer in place), and
/// (for LFS) every LFS path of HEAD, which decides which `.gitattributes`
/// lines may go.
fn work_tree_outputs(
    s: &Session,
    git: &GitRepo,
    opts: &ImportOptions,
    select: &Selector,
    map: &ImportMap,
    report: &mut ImportReport,
) -> Result<(Vec<ForeignOut>, Vec<ForeignOut>, Vec<String>)> {
    let root = s.workspace().root();
    let blobs = match opts.tool {
        Tool::Dvc => dvc::work_tree_files(root)?,
        Tool::Lfs => match git.foreign_at(
            "HEAD",
            Want {
                dvc: false,
                lfs: true,
            },
        ) {
            Ok(b) => b,
            Err(crate::repo::git::GitError::NoCommits) => Vec::new(),
            Err(e) => return Err(e.into()),
        },
    };
    let (outs, bad) = outs_of(&blobs);
    report.unreadable(select, bad, WORK_TREE);
    let lfs_paths = outs.iter().map(|o| o.path.clone()).collect();
    // An output git tracks itself (DVC's `cache: false`, metrics and
    // plots) is git's to version: left alone.
    let in_git = if opts.tool == Tool::Dvc && !outs.is_empty() {
        let paths: Vec<String> = outs.iter().map(|o| o.path.clone()).collect();
        git.indexed(&paths)?
    } else {
        Vec::new()
    };
    let (mut keep, mut done) = (Vec::new(), Vec::new());
    for o in outs {
        if !select.out(&o) {
            continue;
        }
        if in_git.contains(&o.path) {
            report.notes.push(format!(
                "{} is versioned by git itself (a `cache: false` output); left alone",
                o.path
            ));
            continue;
        }
        // Imported by an earlier run whose commit is still to come.
        let ptr = root.join(format!("{}{SUFFIX}", o.path));
        if map.get(o.scheme(), &o.key(), o.size()).is_some() && ptr.is_file() {
            done.push(o);
            continue;
        }
        keep.push(o);
    }
    Ok((keep, done, lfs_paths))
}
