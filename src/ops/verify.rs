//! `verify [--remote NAME|URL]`: re-hash what is stored, and check that the
//! data the pointers need is there.
//!
//! For the cache: every blob of every pack is decoded and checked, then the
//! work tree's pointers are walked for what they need and the cache lacks.
//! For a remote: every index file is read afresh (nothing this clone read
//! earlier counts), every indexed pack is checked, damage is noted on the
//! remote for every clone, and the data of the work tree, HEAD and every
//! tag must be there (`transfer::coverage`). The reports are returned; the
//! caller decides how a failure is shown.

use std::path::PathBuf;

use super::Requests;
use crate::engine::reach::{Missing, Reach};
use crate::error::Result;
use crate::progress::Progress;
use crate::repo::history::{pointers_at, pointers_in_work_tree};

use super::Session;
use crate::store::Damage;
use crate::transfer::check::CheckReport;
use crate::transfer::coverage::{self, Gap, Revision};
use crate::transfer::Connection;

/// What verifying the cache found.
#[derive(Debug)]
pub struct CacheVerify {
    /// Objects the cache holds.
    pub objects: usize,
    pub damage: Vec<Damage>,
    /// Objects the work tree's pointers need that the cache lacks.
    pub missing: Vec<Missing>,
    /// Tracked paths whose needs could not be walked, with why.
    pub unreadable: Vec<(String, String)>,
    /// Pointer files that are malformed (also in `unreadable`).
    pub malformed: Vec<PathBuf>,
}

/// What verifying a remote found.
#[derive(Debug)]
pub struct RemoteVerify {
    pub remote: String,
    pub check: CheckReport,
    /// Objects the work tree, HEAD or a tag needs that the remote lacks.
    pub gaps: Vec<Gap>,
    pub requests: Requests,
}

pub fn verify_cache(s: &Session, progress: &dyn Progress) -> Result<CacheVerify> {
    let ws = s.workspace();
    // Unreadable packs are part of the report, not warnings.
    let store = s.store(&crate::progress::Silent)?;
    let damage = store.verify(progress);
    // Objects the current pointers need but the cache lacks. Damaged
    // listings or manifests were reported above; they cannot be walked.
    let mut reach = Reach::default();
    let mut unreadable = Vec::new();
    let mut malformed = Vec::new();
    for rel in ws.find_tracked()? {
        // A file that merely ends in .cairn is skipped, with a warning.
        let ptr = match crate::engine::status::read_pointer_or_skip(ws, &rel, progress) {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(e) => {
                malformed.push(
                    ws.root()
                        .join(format!("{rel}{}", crate::format::pointer::SUFFIX)),
                );
                unreadable.push((rel, e.to_string()));
                continue;
            }
        };
        if let Err(e) = reach.add_pointer(store, &rel, &ptr) {
            unreadable.push((rel, e.to_string()));
        }
    }
    Ok(CacheVerify {
        objects: store.len(),
        damage,
        missing: reach.missing,
        unreadable,
        malformed,
    })
}

pub fn verify_remote(
    s: &Session,
    remote: &str,
    progress: &dyn Progress,
    waits: super::Waits,
) -> Result<RemoteVerify> {
    let ws = s.workspace();
    let resolved = s.remote(Some(remote))?;
    let name = resolved.name.clone();
    let mut conn = Connection::open(resolved, &ws.cache_dir(), false)?;
    if let Some(w) = waits {
        conn.report_waits_to(w);
    }
    // What this clone read before proves nothing about the remote now.
    conn.read_index_fresh();
    let check = crate::transfer::check::check(&conn, progress)?;
    let (store, _) = s.store_locked(&crate::progress::Silent)?;
    let gaps = coverage::check(&conn, store, &revisions(s)?, &check.found, progress)?;
    Ok(RemoteVerify {
        remote: name,
        check,
        gaps,
        requests: Requests {
            reads: conn.reads(),
            writes: conn.writes(),
        },
    })
}

/// The revisions whose data a remote must hold: the work tree, and the
/// versions every plain push sends (each once: a tag at HEAD's commit adds
/// nothing new).
fn revisions(s: &Session) -> Result<Vec<Revision>> {
    let ws = s.workspace();
    let mut out = vec![Revision {
        label: "the work tree".into(),
        rev: None,
        pointers: pointers_in_work_tree(ws, &crate::progress::Silent)?,
    }];
    let Some(git) = s.git() else {
        return Ok(out);
    };
    for (full, short) in super::push::named_revisions(git)? {
        let pointers = pointers_at(git, &full)?;
        if out.iter().all(|r| r.pointers != pointers) {
            out.push(Revision {
                label: short.clone(),
                rev: Some(short),
                pointers,
            });
        }
    }
    Ok(out)
}
