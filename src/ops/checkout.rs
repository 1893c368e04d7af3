//! `checkout [REV] [PATH…]`: make the work tree's data (and, with a
//! revision, its pointers) match, without ever losing a user's change.
//!
//! The operation runs in three steps. **Plan**: the pointers to restore (of
//! REV, or the work tree's) and the tracked paths REV drops. **Guard**:
//! before anything is written, every file that would be replaced or removed
//! is checked; one holding bytes cairn has not recorded (an edit that was
//! never added) stops a command with [`Error::UnrecordedChanges`], naming
//! each such file, unless `force` is set. In a git hook, where git has
//! already moved the pointers, those files are left alone and reported
//! instead, and everything else is restored. **Apply**: restore each path
//! (verified data first, then its pointer), remove dropped data (not the
//! data of a dropped path that overlaps a restored one: a directory tracked
//! whole that is now tracked file by file, or the reverse), save the stat
//! index even after a failure, so what was written stays known.
//!
//! Files cairn itself wrote for another version are not changes, so moving
//! between versions stays silent, and writes only the files that differ.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

use serde::Serialize;

use crate::durable::write_atomic;
use crate::engine::left_behind::{self, Fate, LeftBehind};
use crate::engine::reach::Reach;
use crate::engine::read::ChunkSource;
use crate::engine::restore::Restore;
use crate::engine::status::{State, Status};
use crate::error::{Error, Result};
use crate::format::pointer::{Pointer, SUFFIX};
use crate::progress::Progress;
use crate::repo::history::Tracked;
use crate::repo::stat_index::StatIndex;
use crate::repo::workspace::Workspace;

use super::select::{select_at, Selection};
use super::Session;

/// Who is asking, which decides what a change cairn has not recorded does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A user's command: stop before writing anything.
    Command,
    /// A git hook after git moved the pointers: restore the rest, report.
    Hook,
}

/// What to check out.
#[derive(Debug, Clone)]
pub struct CheckoutOptions {
    /// A revision whose data and pointers to restore; `None`: the work
    /// tree's pointers.
    pub rev: Option<String>,
    /// Repository-relative tracked paths (or paths inside tracked
    /// directories) to limit it to; empty: all.
    pub paths: Vec<String>,
    /// Replace or remove changes cairn has not recorded.
    pub force: bool,
    pub caller: Caller,
    /// Tracked paths whose pointers git has just removed (from a hook).
    pub gone: Vec<Tracked>,
    /// Skip (and report) paths whose data is not complete in the cache,
    /// instead of failing on the first: what `pull` does after a fetch that
    /// could not find everything.
    pub only_complete: bool,
    /// Where chunks the cache lacks come from (`pull --no-cache`); a path
    /// counts as complete when this source has the chunks the cache lacks.
    pub chunks: Option<ChunkSource>,
}

impl CheckoutOptions {
    pub fn new(rev: Option<String>, paths: Vec<String>) -> Self {
        CheckoutOptions {
            rev,
            paths,
            force: false,
            caller: Caller::Command,
            gone: Vec::new(),
            only_complete: false,
            chunks: None,
        }
    }
}

/// What a checkout did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct CheckoutReport {
    pub rev: Option<String>,
    /// Tracked paths restored (in full or in part). `paths_restored` in
    /// JSON: `paths` is a list in every other report.
    #[serde(rename = "paths_restored")]
    pub paths: usize,
    pub files_written: u64,
    pub files_unchanged: u64,
    pub files_removed: u64,
    pub bytes_written: u64,
    /// Files left as they are because they hold changes cairn has not
    /// recorded (hooks only; a command stops instead).
    pub kept: Vec<String>,
    /// Files cairn wrote or added whose pointer git has since removed
    /// (without cairn's hooks), and what became of each: removed when
    /// nothing is lost, kept otherwise (`engine::left_behind`). Only a
    /// checkout of every path looks for them.
    pub left_behind: Vec<LeftBehind>,
    /// Tracked paths not restored because their data is not in the cache
    /// (with `only_complete`).
    pub incomplete: Vec<String>,
}

/// One path to restore: tracked path, pointer, sub-path, and whether the
/// pointer file is written too (checkout of a revision).
struct Step {
    rel: String,
    ptr: Pointer,
    only: Option<String>,
    write_pointer: bool,
}

/// Run a checkout. Data the cache lacks fails it with
/// [`Error::NotCached`], which names the `cairn pull` that fetches it.
pub fn checkout(
    s: &Session,
    opts: CheckoutOptions,
    progress: &dyn Progress,
) -> Result<CheckoutReport> {
    let pull = pull_command(opts.rev.as_deref());
    run(s, opts, progress).map_err(|e| match e {
        e @ Error::MissingObject { .. } => Error::NotCached {
            pull,
            source: Box::new(e),
        },
        e => e,
    })
}

/// `cairn pull [REV]`, with REV quoted for a POSIX shell when it needs it.
fn pull_command(rev: Option<&str>) -> String {
    match rev {
        None => "cairn pull".to_string(),
        Some(r)
            if r.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._/@~^:-".contains(c))
                && !r.starts_with('-') =>
        {
            format!("cairn pull {r}")
        }
        Some(r) => format!("cairn pull '{}'", r.replace('\'', "'\\''")),
    }
}

fn run(s: &Session, opts: CheckoutOptions, progress: &dyn Progress) -> Result<CheckoutReport> {
    let ws = s.workspace();
    s.lock()?;
    let store = s.store(progress)?;
    let mut index = StatIndex::load(&ws.stat_index_path())?;
    let (mut plan, dropped) = plan(s, &opts, progress)?;
    let tracked: Vec<String> = plan.iter().map(|s| s.rel.clone()).collect();
    let mut report = CheckoutReport {
        rev: opts.rev.clone(),
        ..CheckoutReport::default()
    };
    if opts.only_complete {
        plan.retain(|s| {
            let mut r = Reach::marking();
            let complete = r
                .add_pointer_only(store, &s.rel, &s.ptr, s.only.as_deref())
                .is_ok_and(|_| r.missing.iter().all(|m| supplied(opts.chunks.as_ref(), m)));
            if !complete {
                report.incomplete.push(s.rel.clone());
            }
            complete
        });
    }

    // A dropped path that overlaps one being restored (a directory tracked
    // whole on one branch, file by file on the other) keeps its data: the
    // restore of the overlapping path owns those bytes and guards them
    // (removed, they would take away what it writes; judged as a whole, the
    // new pointers git put inside would look like edits). Only its pointer
    // goes; files no restored path covers are left behind (see below).
    let (overlapping, mut dropped): (Vec<Tracked>, Vec<Tracked>) = dropped
        .into_iter()
        .partition(|(rel, _)| plan.iter().any(|s| overlaps(rel, &s.rel)));

    // Guard: nothing has been written yet. Dropped paths first (their
    // status needs the stat index), then every file a restore would
    // replace, through the same `Restore` that then applies, so listings
    // are decoded and files hashed once.
    let mut dropped_changed: HashSet<String> = HashSet::new();
    {
        let status = Status::new(ws, store, &mut index, &crate::progress::Silent);
        for (rel, ptr) in &dropped {
            let st = status.path(rel, ptr)?;
            let safe = match st.state {
                State::Missing | State::Stale => true,
                State::Clean => st.stored,
                State::Modified => false,
            };
            if !safe && !opts.force {
                dropped_changed.insert(rel.clone());
            }
        }
    }
    let mut restore = Restore::new(ws, store, &mut index, progress);
    restore.chunks = opts.chunks.as_ref().map(|c| c.0.clone());
    let mut unrecorded: Vec<String> = Vec::new();
    if !opts.force {
        for s in &plan {
            unrecorded.extend(restore.conflicts(&s.rel, &s.ptr, s.only.as_deref())?);
        }
    }
    if opts.caller == Caller::Command && (!unrecorded.is_empty() || !dropped_changed.is_empty()) {
        let mut paths = unrecorded;
        paths.extend(dropped_changed);
        paths.sort();
        return Err(Error::UnrecordedChanges { paths });
    }
    report.kept.extend(unrecorded.iter().cloned());
    report.kept.extend(dropped_changed.iter().cloned());
    dropped.retain(|(rel, _)| !dropped_changed.contains(rel));

    // Apply.
    restore.skip = unrecorded.into_iter().collect();
    let mut result = Ok(());
    for s in &plan {
        let r = restore
            .restore(&s.rel, &s.ptr, s.only.as_deref())
            .and_then(|_| {
                if s.write_pointer {
                    // The data is in place and verified; now the pointer.
                    let path = ws.safe_abs(&format!("{}{SUFFIX}", s.rel))?;
                    let text = s.ptr.encode();
                    if std::fs::read(&path).ok().as_deref() != Some(text.as_bytes()) {
                        write_atomic(&path, text.as_bytes())?;
                        crate::failpoint::hit("checkout.pointer_written");
                    }
                }
                // Data restored where no `.gitignore` line of cairn's
                // keeps it out of git (a pointer moved by `git mv`)
                // would be one `git add -A` away from being committed.
                ws.ensure_ignored(&s.rel)
            });
        if let Err(e) = r {
            result = Err(e);
            break;
        }
        report.paths += 1;
    }
    let c = &restore.counters;
    report.files_written = c.files_written.load(Ordering::Relaxed);
    report.files_unchanged = c.files_unchanged.load(Ordering::Relaxed);
    report.files_removed = c.files_removed.load(Ordering::Relaxed);
    report.bytes_written = c.bytes_written.load(Ordering::Relaxed);
    drop(restore);
    if result.is_ok() {
        result = remove_dropped(ws, &mut index, &dropped, &mut report)
            .and_then(|_| remove_pointers(ws, &overlapping));
    }
    if result.is_ok() && opts.paths.is_empty() {
        // Dropped paths kept for their changes are reported as kept already.
        let mut tracked = tracked;
        tracked.extend(report.kept.iter().cloned());
        result = clear_left_behind(s, store, &mut index, &tracked, &mut report);
    }
    // Record what was written even if a later path failed.
    index.save()?;
    crate::failpoint::hit("checkout.index_saved");
    result?;
    report.kept.sort();
    Ok(report)
}

/// Whether `source` supplies what the cache lacks: a chunk, or the one
/// chunk a file without a manifest is stored as.
fn supplied(source: Option<&ChunkSource>, m: &crate::engine::reach::Missing) -> bool {
    use crate::format::kind::ObjectKind;
    source.is_some_and(|c| {
        matches!(m.kind, ObjectKind::Chunk | ObjectKind::Manifest)
            && c.0.has_chunk(&m.id).unwrap_or(false)
    })
}

/// What to restore, and the tracked paths REV no longer has.
fn plan(
    s: &Session,
    opts: &CheckoutOptions,
    progress: &dyn Progress,
) -> Result<(Vec<Step>, Vec<Tracked>)> {
    let mut dropped = opts.gone.clone();
    let mut steps = Vec::new();
    match &opts.rev {
        Some(r) => {
            let target = Selection {
                rev: Some(r.clone()),
                paths: opts.paths.clone(),
            }
            .tracked(s, progress)?;
            let current = Selection {
                rev: None,
                paths: opts.paths.clone(),
            }
            .tracked(s, progress)?;
            let wanted: HashMap<&str, ()> = target.iter().map(|(t, _)| (t.as_str(), ())).collect();
            for (rel, old) in current {
                if !wanted.contains_key(rel.as_str()) {
                    dropped.push((rel, old));
                }
            }
            steps.extend(target.into_iter().map(|(rel, ptr)| Step {
                rel,
                ptr,
                only: None,
                write_pointer: true,
            }));
        }
        None => {
            for (rel, ptr, only) in select_at(s, None, &opts.paths, progress)? {
                steps.push(Step {
                    rel,
                    ptr,
                    only,
                    write_pointer: false,
                });
            }
        }
    }
    Ok((steps, dropped))
}

/// Whether one of two repository-relative paths is the other or lies
/// inside it.
fn overlaps(a: &str, b: &str) -> bool {
    let inside = |x: &str, y: &str| x.strip_prefix(y).is_some_and(|r| r.starts_with('/'));
    a == b || inside(a, b) || inside(b, a)
}

/// Remove the data (and pointers) of tracked paths the checkout dropped;
/// the guard has already kept back any that hold unrecorded changes.
fn remove_dropped(
    ws: &Workspace,
    index: &mut StatIndex,
    dropped: &[Tracked],
    report: &mut CheckoutReport,
) -> Result<()> {
    for (rel, _) in dropped {
        if crate::engine::restore::remove_data(ws, rel)? {
            report.files_removed += 1;
        }
        index.remove_tree(rel);
        let ptr_path = ws.safe_abs(&format!("{rel}{SUFFIX}"))?;
        if ptr_path.exists() {
            std::fs::remove_file(&ptr_path).map_err(|e| Error::io("remove", &ptr_path, e))?;
        }
        crate::failpoint::hit("checkout.dropped_removed");
    }
    Ok(())
}

/// Remove the pointer files of dropped paths whose data a restored path
/// took over, and their `.gitignore` lines: a `/d` line would hide the
/// pointers of files now tracked in `d`, and `d/.gitignore`'s lines would
/// be a stray file inside a directory now tracked whole.
fn remove_pointers(ws: &Workspace, dropped: &[Tracked]) -> Result<()> {
    for (rel, _) in dropped {
        let ptr_path = ws.safe_abs(&format!("{rel}{SUFFIX}"))?;
        if ptr_path.exists() {
            std::fs::remove_file(&ptr_path).map_err(|e| Error::io("remove", &ptr_path, e))?;
        }
        ws.remove_ignored(rel)?;
    }
    Ok(())
}

/// Remove the files left behind by pointers git removed, where nothing is
/// lost; report every one found (`engine::left_behind`).
fn clear_left_behind(
    s: &Session,
    store: &crate::store::Store,
    index: &mut StatIndex,
    tracked: &[String],
    report: &mut CheckoutReport,
) -> Result<()> {
    let ws = s.workspace();
    let found = left_behind_candidates(s, index, tracked)?;
    if found.is_empty() {
        return Ok(());
    }
    let judged = {
        let status = Status::new(ws, store, index, &crate::progress::Silent);
        left_behind::judge(&status, store, &found)?
    };
    for lb in judged {
        match lb.fate {
            Fate::Removable => {
                left_behind::remove(ws, &lb.path)?;
                index.remove_tree(&lb.path);
                report.files_removed += 1;
                crate::failpoint::hit("checkout.left_behind_removed");
            }
            // Only the record was left; nothing to tell.
            Fate::Gone => {
                index.remove_tree(&lb.path);
                continue;
            }
            Fate::Changed | Fate::NotStored => {}
        }
        report.left_behind.push(lb);
    }
    Ok(())
}

/// The records of data left behind (`engine::left_behind::candidates`),
/// less the files git tracks itself; for `checkout` and `status`.
pub(super) fn left_behind_candidates(
    s: &Session,
    index: &StatIndex,
    tracked: &[String],
) -> Result<Vec<(String, crate::repo::stat_index::Record)>> {
    left_behind::candidates(index, tracked, |paths| match s.git() {
        Some(g) => Ok(g.indexed(paths)?),
        None => Ok(Vec::new()),
    })
}
