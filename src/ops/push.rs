//! `push [REV…] [PATH…]`: send a remote the data it lacks, and decide which
//! versions that is.
//!
//! The policy is the point of this module: every *named* version must be
//! restorable from the remote, so a plain `push` sends the data of the work
//! tree, HEAD and every tag (`--all-branches` adds every local branch,
//! `--all-commits` every commit git keeps). The work tree's data (or the
//! data of the revisions named on the command line) is required: if it is
//! in neither the cache nor the remote, the push fails. The other versions
//! are sent as far as this cache holds them, and those whose data is on
//! neither side are reported, so nothing is silently left behind. Pointers
//! are walked once each, however many versions name them.

use std::collections::HashSet;
use std::path::Path;

use serde::Serialize;

use super::select::{select_at, Selected};
use super::Requests;
use super::Session;
use crate::engine::reach::{Missing, Reach};
use crate::error::{MissingData, Result};
use crate::format::kind::ObjectKind;
use crate::format::pointer::Pointer;
use crate::progress::Progress;

use crate::repo::git::{GitError, GitRepo};
use crate::repo::history::{pointers_at, Tracked};
use crate::store::Store;
use crate::transfer::pushed::Known;
use crate::transfer::walked::Walked;
use crate::transfer::{locate as transfer_locate, push as transfer_push, Connection};

/// Which versions a push without revisions sends, beyond the work tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// HEAD and every tag.
    #[default]
    Named,
    /// HEAD, every tag and every local branch.
    AllBranches,
    /// Every commit git keeps (refs, reflogs, stash).
    AllCommits,
}

#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Revisions whose data to push (all required); empty: the work tree
    /// plus `scope`.
    pub revs: Vec<String>,
    /// Repository-relative paths to limit it to; empty: all.
    pub paths: Vec<String>,
    pub scope: Scope,
    /// The remote (a name or URL); default: the configured one.
    pub remote: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct PushReport {
    pub remote: String,
    /// Objects the remote lacked.
    pub objects: usize,
    pub packs: usize,
    #[serde(rename = "packs_resumed")]
    pub resumed_packs: usize,
    /// Cache packs sent whole and checked by their sum (FORMAT.md §6.8),
    /// no blob decoded.
    pub packs_verified_by_sum: usize,
    /// Cache packs sent whole and checked blob by blob (no usable sum).
    pub packs_verified_by_decode: usize,
    pub bytes: u64,
    pub requests: Requests,
    /// Versions considered: "work tree", revisions, tag names.
    pub versions: usize,
    /// Pointers walked (listings and manifests read) to find what to send.
    pub pointers_walked: usize,
    /// Pointers of named versions not walked: an earlier push from here
    /// found their data complete on the remote, and it has lost nothing
    /// since.
    pub pointers_known: usize,
    /// Data of named versions that neither this cache nor the remote has.
    pub unavailable: Vec<MissingData>,
    /// Damaged index files on the remote that this push uploaded again from
    /// this clone's verified copy.
    pub repaired_indexes: Vec<String>,
    /// Damaged index files it could not restore: what they listed counted
    /// as absent, and was sent again.
    pub damaged_indexes: Vec<String>,
    /// Locators written (FORMAT.md §15.8): one per pointer whose data is
    /// complete on the remote and whose locator this clone had not written.
    pub locators: usize,
}

/// Push as `opts` says.
pub fn push(
    s: &Session,
    opts: PushOptions,
    progress: &dyn Progress,
    waits: super::Waits,
) -> Result<PushReport> {
    let git = s.git();
    let mut required: Selected = Vec::new();
    let mut optional: Vec<(String, Tracked)> = Vec::new();
    let mut versions = 0;
    if opts.revs.is_empty() {
        required = select_at(s, None, &opts.paths, progress)?;
        versions += 1;
        if let Some(g) = git {
            versions += named_versions(g, opts.scope, &opts.paths, &mut optional)?;
        }
    } else {
        for r in &opts.revs {
            required.extend(select_at(s, Some(r), &opts.paths, progress)?);
            versions += 1;
        }
    }
    let mut report = push_selected(
        s,
        &required,
        &optional,
        opts.remote.as_deref(),
        progress,
        waits,
    )?;
    report.versions = versions;
    Ok(report)
}

/// The named versions whose data every plain push sends and every remote
/// must hold (`verify --remote` checks them) besides the work tree: HEAD
/// and every tag, as (revision to read, name to show). Empty before the
/// first commit.
pub fn named_revisions(git: &GitRepo) -> Result<Vec<(String, String)>> {
    let mut revs = Vec::new();
    match git.resolve("HEAD") {
        Ok(_) => revs.push(("HEAD".to_string(), "HEAD".to_string())),
        Err(GitError::NoCommits) => return Ok(revs),
        Err(e) => return Err(e.into()),
    }
    for tag in git.refs_under("refs/tags/")? {
        let short = tag.trim_start_matches("refs/tags/").to_string();
        revs.push((tag, short));
    }
    Ok(revs)
}

/// The pointers of HEAD, the tags (and, by `scope`, branches or every
/// commit), each with the name of a version that holds it.
fn named_versions(
    git: &GitRepo,
    scope: Scope,
    paths: &[String],
    out: &mut Vec<(String, Tracked)>,
) -> Result<usize> {
    let keep = |tracked: Vec<Tracked>| crate::repo::history::filter(tracked, paths);
    if scope == Scope::AllCommits {
        let blobs = match git.reachable_pointer_blobs() {
            Ok(b) => b,
            Err(GitError::NoCommits) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        for blob in blobs {
            // A file that merely ends in .cairn names no data.
            if let Ok(ptr) = Pointer::parse(Path::new("<git history>"), &blob) {
                out.push(("history".into(), ("<git history>".into(), ptr)));
            }
        }
        return Ok(1);
    }
    let mut revs = named_revisions(git)?;
    if let Some(head) = revs.iter_mut().find(|(full, _)| full == "HEAD") {
        // Name HEAD the way a user would give it back: its tag or branch.
        head.1 = git.describe_head()?;
    }
    if scope == Scope::AllBranches {
        for b in git.refs_under("refs/heads/")? {
            let short = b.trim_start_matches("refs/heads/").to_string();
            revs.push((b, short));
        }
    }
    for (full, short) in &revs {
        for t in keep(pointers_at(git, full)?) {
            out.push((short.clone(), t));
        }
    }
    Ok(revs.len())
}

/// Push what `required` needs (each object must be in the cache or already
/// on the remote) plus whatever of `optional` the cache holds. Used as is by
/// the pre-push hook, with the commits git is pushing as `required`.
///
/// Optional pointers that an earlier push from here found complete on the
/// remote are not walked again while that record stands (see
/// `crate::transfer::walked`); when it does not, they are walked and
/// pushed in a second round.
pub fn push_selected(
    s: &Session,
    required: &Selected,
    optional: &[(String, Tracked)],
    remote_name: Option<&str>,
    progress: &dyn Progress,
    waits: super::Waits,
) -> Result<PushReport> {
    let ws = s.workspace();
    let resolved = s.remote(remote_name)?;
    let name = resolved.name.clone();
    let location = resolved.location.clone();
    let store = s.store(progress)?;
    let walked = Walked::load(&ws.cache_dir(), &location);
    // Each optional pointer once, however many versions name it.
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let (known, fresh): (Vec<&Version>, Vec<&Version>) = optional
        .iter()
        .filter(|(_, (rel, ptr))| seen.insert((rel.clone(), ptr.encode())))
        .partition(|(_, (_, ptr))| walked.contains(&ptr.id()));
    let mut conn = Connection::open(resolved, &ws.cache_dir(), true)?;
    conn.set_jobs(s.jobs());
    if let Some(w) = waits {
        conn.report_waits_to(w);
    }
    // Roots whose locators may say what the remote already has, when its
    // index is too large to read whole: the pushed pointers, then earlier
    // versions of the pushed paths (edits share most of their chunks).
    let mut hints: Vec<crate::hash::Id> = required
        .iter()
        .map(|(_, ptr, _)| ptr.id())
        .chain(optional.iter().map(|(_, (_, ptr))| ptr.id()))
        .collect();
    if let Some(g) = s.git() {
        hints.extend(earlier_versions(g, required));
    }
    let mut seen_hint = HashSet::new();
    hints.retain(|id| seen_hint.insert(*id));
    let first = round(&conn, store, required, &fresh, &hints, progress)?;
    let view = first.pushed.view.clone();
    let mut rounds = vec![first];
    let mut pointers_walked = required.len() + fresh.len();
    let mut pointers_known = known.len();
    if !known.is_empty() && !walked.stands(&view) {
        // The remote may have lost data since the record was written. The
        // next round reads the remote's index again: drop this one first,
        // so that one copy of it (hundreds of bytes per remote blob) is
        // held at a time.
        if let Some(r) = rounds.last_mut() {
            r.index = Known::default();
        }
        rounds.push(round(&conn, store, &Vec::new(), &known, &hints, progress)?);
        pointers_walked += known.len();
        pointers_known = 0;
    }
    // Versions whose data is neither here nor (as the remote's index files
    // just read say) there: reported, never silently skipped. The last
    // round's index is the remote's as listed now, this push included; a
    // second copy read from the cache would double the memory a push
    // needs against a large remote.
    let empty = Known::default();
    let idx = rounds.last().map_or(&empty, |r| &r.index);
    let on_remote = |idx: &Known, m: &Missing| {
        idx.contains(m.kind, &m.id)
            || (m.kind == ObjectKind::Manifest && idx.contains(ObjectKind::Chunk, &m.id))
    };
    let partial = rounds.last().is_some_and(|r| r.pushed.partial);
    let unproven = rounds
        .iter()
        .flat_map(|r| &r.needs_remote)
        .any(|(_, _, missing)| !missing.iter().all(|m| on_remote(idx, m)));
    // A push that read only part of the remote's index reports data as
    // unavailable only once the whole index says so.
    let whole = if partial && unproven {
        Some(Known {
            index: conn.load_index()?.index,
            pushed: Default::default(),
        })
    } else {
        None
    };
    let idx = whole.as_ref().unwrap_or(idx);
    let mut unavailable: Vec<MissingData> = Vec::new();
    let mut incomplete: HashSet<crate::hash::Id> = HashSet::new();
    for (version, (rel, ptr), missing) in rounds.iter().flat_map(|r| &r.needs_remote) {
        let there = missing.iter().all(|m| on_remote(idx, m));
        if there {
            continue;
        }
        incomplete.insert(ptr.id());
        let item = MissingData {
            path: rel.clone(),
            rev: version.clone(),
        };
        if !unavailable.contains(&item) {
            unavailable.push(item);
        }
    }
    // Everything pushed is now complete on the remote, and so is what the
    // record vouched for if it still stands.
    let complete: Vec<crate::hash::Id> = required
        .iter()
        .filter(|(_, _, only)| only.is_none())
        .map(|(_, ptr, _)| ptr.id())
        .chain(optional.iter().map(|(_, (_, ptr))| ptr.id()))
        .filter(|id| !incomplete.contains(id))
        .collect();
    // Locators for the complete pointers walked here, written after the
    // index that names their packs, and before the walk record (so a
    // failure leaves them to the next push).
    let walked_now = required
        .iter()
        .filter(|(_, _, only)| only.is_none())
        .map(|(rel, ptr, _)| (rel, ptr))
        .chain(
            fresh
                .iter()
                .chain(if pointers_known == 0 { &known[..] } else { &[] })
                .map(|(_, (rel, ptr))| (rel, ptr)),
        )
        .filter(|(_, ptr)| !incomplete.contains(&ptr.id()));
    let found: HashSet<crate::hash::Id> = rounds
        .iter()
        .flat_map(|r| r.pushed.located.iter().copied())
        .collect();
    let index = rounds.last().map(|r| &r.index);
    let locators = index.map_or(Ok(0), |idx| {
        transfer_locate::write_for(
            &conn,
            store,
            &ws.cache_dir(),
            &view,
            walked_now,
            idx,
            &found,
        )
    })?;
    Walked::save(&ws.cache_dir(), &location, &view, complete);
    let mut report = PushReport {
        remote: name,
        requests: Requests {
            reads: conn.reads(),
            writes: conn.writes(),
        },
        versions: 1,
        pointers_walked,
        pointers_known,
        unavailable,
        locators,
        ..PushReport::default()
    };
    for r in rounds {
        report.objects += r.pushed.objects;
        report.packs += r.pushed.packs;
        report.resumed_packs += r.pushed.resumed;
        report.packs_verified_by_sum += r.pushed.verified_by_sum;
        report.packs_verified_by_decode += r.pushed.verified_by_decode;
        report.bytes += r.pushed.bytes;
        report.repaired_indexes.extend(r.pushed.indexes.repaired);
        report.damaged_indexes.extend(r.pushed.indexes.unrepaired);
    }
    Ok(report)
}

/// A pointer of a named version: the version's name, and the tracked path
/// with its pointer.
type Version = (String, Tracked);

/// One walk-and-send: what `required` needs (strictly) and what `optional`
/// needs that the cache holds.
struct Round {
    pushed: transfer_push::PushReport,
    /// Optional pointers that need objects the cache lacks, with those
    /// objects: complete only if the remote has them.
    needs_remote: Vec<(String, Tracked, Vec<Missing>)>,
    /// The remote's index as this round read it and the packs it indexed
    /// (for locators).
    index: Known,
}

/// At most this many pushed paths have their earlier versions looked up,
/// in at most this many revisions each (`repo::history::recent_revisions`):
/// the lookups stay cheap whatever the history or the number of pointers.
const EARLIER_PATHS: usize = 256;
const EARLIER_REVS: usize = 8;

/// The top ids of earlier versions of the paths `required` pushes, from
/// recent first-parent commits and the remote-tracking refs.
fn earlier_versions(git: &GitRepo, required: &Selected) -> Vec<crate::hash::Id> {
    let revs = crate::repo::history::recent_revisions(git, EARLIER_REVS);
    let mut paths: Vec<&String> = required.iter().map(|(rel, _, _)| rel).collect();
    paths.dedup();
    paths
        .into_iter()
        .take(EARLIER_PATHS)
        .flat_map(|rel| crate::repo::history::pointers_of_path(git, rel, &revs))
        .map(|p| p.id())
        .collect()
}

fn round(
    conn: &Connection,
    store: &Store,
    required: &Selected,
    optional: &[&Version],
    hints: &[crate::hash::Id],
    progress: &dyn Progress,
) -> Result<Round> {
    // Only which objects and which are missing: the chunk lengths a plain
    // walk also records would be about 45 bytes per chunk for nothing.
    let mut r = Reach::listing();
    for (rel, ptr, only) in required {
        r.add_pointer_only(store, rel, ptr, only.as_deref())?;
    }
    let strict = r.missing.len();
    // The same walk goes on (objects already reached are not read again).
    let mut needs_remote = Vec::new();
    for (version, (rel, ptr)) in optional.iter().copied() {
        let before = r.missing.len();
        r.add_pointer_only(store, rel, ptr, None)?;
        if r.missing.len() > before {
            needs_remote.push((
                version.clone(),
                (rel.clone(), ptr.clone()),
                r.missing[before..].to_vec(),
            ));
        }
    }
    let required_missing: HashSet<(ObjectKind, crate::hash::Id)> =
        r.missing[..strict].iter().map(|m| (m.kind, m.id)).collect();
    r.missing.truncate(strict);
    r.objects
        .retain(|(k, id)| required_missing.contains(&(*k, *id)) || store.contains(*k, id));
    let (pushed, index) = transfer_push::push(
        conn,
        store,
        std::mem::take(&mut r.objects),
        &r.missing,
        hints,
        progress,
    )?;
    Ok(Round {
        pushed,
        needs_remote,
        index,
    })
}
