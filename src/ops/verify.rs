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

use serde::Serialize;

use super::Requests;
use crate::engine::reach::{Missing, Reach};
use crate::error::Result;
use crate::progress::Progress;
use crate::repo::history::{pointers_at, pointers_in_work_tree};

use super::Session;
use crate::store::Damage;

use crate::transfer::coverage::{self, Revision};
use crate::transfer::Connection;

/// The parts of a remote verification report.
pub use crate::transfer::check::{CheckReport, RemoteDamage};
pub use crate::transfer::coverage::Gap;

/// What verifying the cache found. Serialised as `verify --json` prints
/// it: keys in alphabetical order, as they have always been.
#[derive(Debug, Serialize)]
pub struct CacheVerify {
    #[serde(rename = "damaged")]
    pub damage: Vec<Damage>,
    /// Objects the work tree's pointers need that the cache lacks.
    pub missing: Vec<Missing>,
    /// Objects the cache holds.
    pub objects: usize,
    /// Tracked paths whose needs could not be walked.
    #[serde(rename = "unreadable_pointers")]
    pub unreadable: Vec<Unreadable>,
    /// Pointer files that are malformed (also in `unreadable`).
    #[serde(skip)]
    pub malformed: Vec<PathBuf>,
}

/// A tracked path whose needs could not be walked, and why (fields in
/// alphabetical order, as `verify --json` prints them).
#[derive(Debug, Clone, Serialize)]
pub struct Unreadable {
    pub error: String,
    pub path: String,
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

/// As `verify --remote --json` prints it: the check's counts and the gaps
/// side by side, keys in alphabetical order, as they have always been.
impl Serialize for RemoteVerify {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let c = &self.check;
        let mut st = s.serialize_struct("RemoteVerify", 10)?;
        st.serialize_field("bytes", &c.bytes)?;
        st.serialize_field("damaged", &c.damage)?;
        st.serialize_field("damaged_with_intact_copies", &c.repaired)?;
        st.serialize_field("missing", &self.gaps)?;
        st.serialize_field("noted", &c.noted)?;
        st.serialize_field("objects", &c.blobs)?;
        st.serialize_field("packs", &c.packs)?;
        st.serialize_field("packs_unindexed", &c.unindexed)?;
        st.serialize_field("remote", &self.remote)?;
        st.serialize_field("requests", &self.requests)?;
        st.end()
    }
}

pub fn verify_cache(s: &Session, progress: &dyn Progress) -> Result<CacheVerify> {
    let ws = s.workspace();
    // Unreadable packs are part of the report, not warnings.
    let store = s.store(&crate::progress::Silent)?;
    let damage = store.verify(progress);
    // Objects the current pointers need but the cache lacks. Damaged
    // listings or manifests were reported above; they cannot be walked.
    let mut reach = Reach::marking();
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
                unreadable.push(Unreadable {
                    error: e.to_string(),
                    path: rel,
                });
                continue;
            }
        };
        if let Err(e) = reach.add_pointer(store, &rel, &ptr) {
            unreadable.push(Unreadable {
                error: e.to_string(),
                path: rel,
            });
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
    conn.set_jobs(s.jobs());
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::*;
    use crate::format::kind::ObjectKind;
    use crate::hash::Id;
    use crate::transfer::check::RemoteDamage;

    // Each report is compared with the JSON the CLI built by hand (with
    // `json!`) before the reports were serialisable: same keys, same
    // order, same bytes.

    #[test]
    fn cache_report_prints_as_it_always_has() {
        let id = Id::of(b"x");
        let report = CacheVerify {
            damage: vec![
                Damage {
                    pack: PathBuf::from("/c/packs/aa/aa.pack"),
                    object: None,
                    reason: "bad trailer".into(),
                },
                Damage {
                    pack: PathBuf::from("/c/packs/bb/bb.pack"),
                    object: Some((ObjectKind::Manifest, id)),
                    reason: "content hashes to 00".into(),
                },
            ],
            missing: vec![Missing {
                id,
                kind: ObjectKind::Tree,
                needed_by: "data/x".into(),
            }],
            objects: 7,
            unreadable: vec![Unreadable {
                error: "malformed".into(),
                path: "model.bin".into(),
            }],
            malformed: vec![PathBuf::from("/r/model.bin.cairn")],
        };
        let damaged: Vec<_> = report
            .damage
            .iter()
            .map(|d| {
                json!({
                    "pack": d.pack,
                    "kind": d.object.map(|(k, _)| k.to_string()),
                    "id": d.object.map(|(_, id)| id.to_hex()),
                    "reason": d.reason,
                })
            })
            .collect();
        let missing: Vec<_> = report
            .missing
            .iter()
            .map(|m| json!({"kind": m.kind.to_string(), "id": m.id.to_hex(), "needed_by": m.needed_by}))
            .collect();
        let before = json!({
            "objects": 7,
            "damaged": damaged,
            "missing": missing,
            "unreadable_pointers": [{"path": "model.bin", "error": "malformed"}],
        });
        assert_eq!(serde_json::to_string(&report).unwrap(), before.to_string());
    }

    #[test]
    fn remote_report_prints_as_it_always_has() {
        let id = Id::of(b"y");
        let report = RemoteVerify {
            remote: "origin".into(),
            check: CheckReport {
                packs: 3,
                blobs: 40,
                bytes: 1234,
                unindexed: 1,
                damage: vec![
                    RemoteDamage {
                        object: "index/ab.idx".into(),
                        blob: None,
                        reason: "damaged index file".into(),
                    },
                    RemoteDamage {
                        object: "packs/cd/cd.pack".into(),
                        blob: Some((ObjectKind::Chunk, id)),
                        reason: "content hashes to 00".into(),
                    },
                ],
                repaired: 2,
                noted: Some("damage/x".into()),
                ..CheckReport::default()
            },
            gaps: vec![Gap {
                kind: ObjectKind::Segment,
                id,
                path: "data/x".into(),
                revision: "v1".into(),
                fix: "cairn push -r origin v1".into(),
            }],
            requests: Requests {
                reads: 5,
                writes: 1,
            },
        };
        let c = &report.check;
        let damaged: Vec<_> = c
            .damage
            .iter()
            .map(|d| {
                json!({
                    "object": d.object,
                    "kind": d.blob.map(|(k, _)| k.to_string()),
                    "id": d.blob.map(|(_, id)| id.to_hex()),
                    "reason": d.reason,
                })
            })
            .collect();
        let missing: Vec<_> = report
            .gaps
            .iter()
            .map(|g| {
                json!({
                    "kind": g.kind.to_string(),
                    "id": g.id.to_hex(),
                    "path": g.path,
                    "rev": g.revision,
                    "fix": g.fix,
                })
            })
            .collect();
        let before = json!({
            "remote": "origin",
            "missing": missing,
            "packs": c.packs,
            "objects": c.blobs,
            "bytes": c.bytes,
            "packs_unindexed": c.unindexed,
            "damaged_with_intact_copies": c.repaired,
            "noted": c.noted,
            "damaged": damaged,
            "requests": {"reads": 5, "writes": 1},
        });
        assert_eq!(serde_json::to_string(&report).unwrap(), before.to_string());
    }
}
