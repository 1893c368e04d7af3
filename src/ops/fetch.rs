//! `fetch [REV] [PATH…]`: download the data some pointers need into the
//! cache, without touching the work tree.
//!
//! A fetch connects to a remote only when the cache lacks something, gets
//! everything the remote has, and reports (rather than fails on) what is
//! nowhere to be found, so `pull` can still restore every path whose data
//! arrived.

use serde::Serialize;

use crate::engine::reach::{Reach, Sink};
use crate::error::Result;
use crate::progress::Progress;
use crate::repo::git::GitRepo;
use crate::repo::history::pointers_at;
use crate::repo::workspace::Workspace;

// What a fetch works on is chosen in `select`, for every verb alike.
pub use super::select::{select_at, Selected};
use super::Session;
use crate::store::Store;
use crate::transfer::{self, Connection};

/// What a fetch could not find, and the tracked path that needed it.
pub use crate::engine::reach::Missing;

/// Everything `selected` reaches, against `store`.
pub fn reach(store: &Store, selected: &Selected) -> Result<Reach> {
    let mut r = Reach::default();
    for (rel, ptr, only) in selected {
        r.add_pointer_only(store, rel, ptr, only.as_deref())?;
    }
    Ok(r)
}

/// What a fetch did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct FetchOutcome {
    /// The remote used; `None` when the cache had everything.
    pub remote: Option<String>,
    pub objects: usize,
    pub bytes: u64,
    /// Requests made to the remote.
    pub requests: super::Requests,
    /// Objects needed that the remote does not have either.
    #[serde(skip)]
    pub absent: Vec<Missing>,
}

/// Fetch what `selected` needs and the cache lacks from `remote_name` (a
/// name or URL; default: the configured remote).
pub fn fetch(
    s: &Session,
    selected: &Selected,
    remote_name: Option<&str>,
    progress: &dyn Progress,
    waits: super::Waits,
) -> Result<FetchOutcome> {
    let ws = s.workspace();
    let (store, _) = s.store_locked(progress)?;
    // Damaged cached metadata counts as missing here: the remote's copy
    // replaces it. What is missing is handed over as the walk finds it,
    // so a million missing files are never listed at once.
    let mut needs = |s: &Store, sink: &mut Sink| {
        let mut r = Reach::for_fetch();
        for (rel, ptr, only) in selected {
            r.add_pointer_streaming(s, rel, ptr, only.as_deref(), sink)?;
        }
        Ok(())
    };
    // Pointers fetched whole are complete in the cache once nothing is
    // absent: no longer what `pull --no-cache` left without chunks.
    let whole: Vec<crate::hash::Id> = selected
        .iter()
        .filter(|(_, _, only)| only.is_none())
        .map(|(_, ptr, _)| ptr.id())
        .collect();
    // The pointers that need something: their locators are read first,
    // the index files only for the rest.
    let roots = lacking(store, selected)?;
    if roots.is_empty() {
        crate::engine::uncached::update(store.root(), &[], &whole)?;
        return Ok(FetchOutcome::default());
    }
    let resolved = s.remote(remote_name)?;
    let name = resolved.name.clone();
    let mut conn = Connection::open(resolved, &ws.cache_dir(), false)?;
    conn.set_jobs(s.jobs());
    if let Some(w) = waits {
        conn.report_waits_to(w);
    }
    let report = transfer::fetch::fetch_roots_streamed(&conn, store, &roots, &mut needs, progress)?;
    if report.absent.is_empty() {
        crate::engine::uncached::update(store.root(), &[], &whole)?;
    }
    Ok(FetchOutcome {
        remote: Some(name),
        objects: report.objects,
        bytes: report.bytes,
        requests: super::Requests {
            reads: conn.reads(),
            writes: conn.writes(),
        },
        absent: report.absent,
    })
}

/// How a user names the revision a missing path was wanted at, so the fix
/// (`cairn push REV`, run where the data is) can be given: the revision
/// they asked for, else the tag or branch HEAD is on when the work tree's
/// pointer is HEAD's, else `HEAD`. HEAD's pointers are read once.
pub struct RevisionNames {
    given: Option<String>,
    head: Option<(String, Vec<crate::repo::history::Tracked>)>,
}

impl RevisionNames {
    pub fn new(git: Option<&GitRepo>, given: Option<&str>) -> RevisionNames {
        let head = match (given, git) {
            (None, Some(g)) => pointers_at(g, "HEAD")
                .ok()
                .map(|ps| (g.describe_head().unwrap_or_else(|_| "HEAD".into()), ps)),
            _ => None,
        };
        RevisionNames {
            given: given.map(str::to_string),
            head,
        }
    }

    /// The name for tracked path `path`.
    pub fn of(&self, ws: &Workspace, path: &str) -> String {
        if let Some(r) = &self.given {
            return r.clone();
        }
        let Some((name, at_head)) = &self.head else {
            return "HEAD".into();
        };
        let here = crate::engine::status::read_pointer(ws, path).ok();
        match at_head.iter().find(|(p, _)| p == path) {
            Some((_, ptr)) if Some(ptr) == here.as_ref() => name.clone(),
            _ => "HEAD".into(),
        }
    }
}

/// The tracked paths whose data the fetch `f` could not find anywhere,
/// each once, with the revision that needs it.
pub fn missing_data(
    ws: &Workspace,
    f: &FetchOutcome,
    selected: &Selected,
    names: &RevisionNames,
) -> Vec<crate::error::MissingData> {
    let mut out: Vec<crate::error::MissingData> = Vec::new();
    for m in &f.absent {
        let path = selected
            .iter()
            .map(|(rel, _, _)| rel)
            .find(|rel| m.needed_by == **rel || m.needed_by.starts_with(&format!("{rel}/")))
            .cloned()
            .unwrap_or_else(|| m.needed_by.clone());
        if !out.iter().any(|d| d.path == path) {
            out.push(crate::error::MissingData {
                rev: names.of(ws, &path),
                path,
            });
        }
    }
    out
}

/// The ids of the selected pointers that need something the cache lacks.
pub(super) fn lacking(store: &Store, selected: &Selected) -> Result<Vec<crate::hash::Id>> {
    let mut roots = Vec::new();
    let mut r = Reach::for_fetch();
    for (rel, ptr, only) in selected {
        let mut lacks = false;
        r.add_pointer_streaming(store, rel, ptr, only.as_deref(), &mut |items| {
            lacks |= !items.is_empty();
            items.clear();
            Ok(())
        })?;
        if lacks {
            roots.push(ptr.id());
        }
    }
    roots.sort();
    roots.dedup();
    Ok(roots)
}
