//! `verify --remote`: download every pack a remote's index lists and check
//! it: present, the size the index says, a footer that matches the index,
//! and every blob decoding to its id. Damage is collected, not fatal, so one
//! run names every damaged or missing object.

use std::collections::HashMap;

use futures::StreamExt;
use rayon::prelude::*;

use super::Connection;
use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::pack;
use crate::hash::Id;
use crate::progress::Progress;
use crate::remote::index::{self, PackRecord};
use crate::remote::notes;

/// One problem found on a remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteDamage {
    /// The remote object (pack or index file path) it concerns.
    pub object: String,
    /// The blob inside it, when one blob is to blame.
    pub blob: Option<(ObjectKind, Id)>,
    pub reason: String,
}

/// As `verify --remote --json` prints it: the blob's kind and id as fields
/// of their own (null when no one blob is to blame), keys in alphabetical
/// order.
impl serde::Serialize for RemoteDamage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("RemoteDamage", 4)?;
        st.serialize_field("id", &self.blob.map(|(_, id)| id))?;
        st.serialize_field("kind", &self.blob.map(|(kind, _)| kind))?;
        st.serialize_field("object", &self.object)?;
        st.serialize_field("reason", &self.reason)?;
        st.end()
    }
}

/// What verifying a remote found.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub packs: usize,
    pub blobs: usize,
    pub bytes: u64,
    /// Packs no index lists (left by an interrupted push, or just being
    /// uploaded); not damage.
    pub unindexed: usize,
    pub damage: Vec<RemoteDamage>,
    /// Damaged copies that have an intact copy elsewhere (not failures).
    pub repaired: usize,
    /// The damage note written on the remote, if there was new damage.
    pub noted: Option<String>,
    /// Why the damage note could not be written (a read-only remote).
    pub note_failed: Option<String>,
    /// Every damaged copy found, including those with intact copies
    /// elsewhere (for the coverage check, which must not count them).
    pub found: super::DamageSet,
}

/// Check every indexed pack of the remote.
pub fn check(conn: &Connection, progress: &dyn Progress) -> Result<CheckReport> {
    let state = conn.load_index()?;
    let mut report = CheckReport::default();
    for (path, e) in &state.damaged {
        report.damage.push(RemoteDamage {
            object: path.clone(),
            blob: None,
            reason: format!("damaged index file: {e}"),
        });
    }
    let listed: HashMap<Id, (u64, u64)> = conn
        .list(index::PACK_DIR)?
        .into_iter()
        .filter_map(|l| {
            index::pack_id_of(&l.path).map(|id| (id, (l.size, super::stamp(l.modified))))
        })
        .collect();
    let listed: HashMap<Id, (u64, u64)> = if conn.listable() {
        listed
    } else {
        // Over plain HTTP packs cannot be listed: a missing one shows up
        // when it is read.
        state
            .index
            .packs
            .values()
            .map(|p| (p.id, (p.len, 0)))
            .collect()
    };
    report.unindexed = listed
        .keys()
        .filter(|id| !state.index.packs.contains_key(id))
        .count();
    let mut todo: Vec<&PackRecord> = Vec::new();
    for p in state.index.packs.values() {
        match listed.get(&p.id) {
            None => report.damage.push(RemoteDamage {
                object: index::pack_path(&p.id),
                blob: None,
                reason: format!(
                    "missing (an index lists it with {} objects)",
                    p.entries.len()
                ),
            }),
            Some(&(len, _)) if len != p.len => report.damage.push(RemoteDamage {
                object: index::pack_path(&p.id),
                blob: None,
                reason: format!("{len} bytes, but the index says {}", p.len),
            }),
            Some(_) => todo.push(p),
        }
    }
    todo.sort_by_key(|p| p.id);
    progress.begin("verifying remote", Some(todo.iter().map(|p| p.len).sum()));
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let result = std::thread::scope(|s| {
        let downloader = s.spawn(move || {
            conn.rt.block_on(async {
                let mut stream = futures::stream::iter(todo)
                    .map(|p| async move {
                        let bytes = conn.get_async(&index::pack_path(&p.id)).await;
                        (p, bytes)
                    })
                    .buffer_unordered(conn.jobs().uploads);
                while let Some(item) = stream.next().await {
                    if tx.send(item).await.is_err() {
                        break;
                    }
                }
            })
        });
        let mut result = Ok(());
        while let Some((p, bytes)) = rx.blocking_recv() {
            match bytes {
                Ok(b) => {
                    report.packs += 1;
                    report.blobs += p.entries.len();
                    report.bytes += b.len() as u64;
                    report.damage.extend(check_pack(p, &b));
                    progress.advance(p.len);
                }
                Err(Error::Remote {
                    failure: crate::error::RemoteFailure::NotFound,
                    ..
                }) => {
                    report.damage.push(RemoteDamage {
                        object: index::pack_path(&p.id),
                        blob: None,
                        reason: "disappeared while being verified".into(),
                    });
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        drop(rx);
        let _ = downloader.join();
        result
    });
    progress.end();
    result?;
    let mut list = super::DamageSet::new();
    let mut notes = state.notes_applying.clone();
    for d in &report.damage {
        if let Some(id) = index::pack_id_of(&d.object) {
            list.insert((id, d.blob));
            notes.push(notes::Note::new(
                id,
                listed.get(&id).map(|(_, t)| *t),
                d.blob,
            ));
        }
    }
    // Record new damage on the remote, so every client avoids those copies
    // and a push from any clone with good data re-sends them. A remote we
    // may not write to still gets its report.
    if !list.is_subset(&state.index.damaged) && conn.writable() {
        match conn
            .write_damage(&notes)
            .and_then(|p| conn.publish_listing().map(|_| p))
        {
            Ok(path) => report.noted = Some(path),
            Err(e) => report.note_failed = Some(e.to_string()),
        }
    }
    // A damaged copy with an intact copy elsewhere loses nothing: it is
    // noted (so nobody reads it) but is not a failure.
    let bad_packs: std::collections::HashSet<Id> = report
        .damage
        .iter()
        .filter(|d| d.blob.is_none())
        .filter_map(|d| index::pack_id_of(&d.object))
        .collect();
    let intact = |kind: ObjectKind, id: &Id, except: Option<Id>| {
        state.index.packs.values().any(|p| {
            Some(p.id) != except
                && !bad_packs.contains(&p.id)
                && !list.contains(&(p.id, Some((kind, *id))))
                && p.entries.iter().any(|e| e.kind == kind && e.id == *id)
        })
    };
    report.damage.retain(|d| {
        let pack = index::pack_id_of(&d.object);
        match (d.blob, pack) {
            (Some((kind, id)), _) => !intact(kind, &id, pack),
            (None, Some(p)) => state
                .index
                .packs
                .get(&p)
                .is_none_or(|rec| !rec.entries.iter().all(|e| intact(e.kind, &e.id, Some(p)))),
            (None, None) => true,
        }
    });
    report.repaired = list.len().saturating_sub(report.damage.len());
    report.found = list;
    report
        .damage
        .sort_by(|a, b| (&a.object, a.reason.as_str()).cmp(&(&b.object, b.reason.as_str())));
    Ok(report)
}

/// Check one downloaded pack against its index record.
fn check_pack(p: &PackRecord, bytes: &[u8]) -> Vec<RemoteDamage> {
    let object = index::pack_path(&p.id);
    let whole = |reason: String| RemoteDamage {
        object: object.clone(),
        blob: None,
        reason,
    };
    let footer = pack::read_footer(
        std::path::Path::new(&object),
        bytes.len() as u64,
        |off, n| {
            bytes
                .get(off as usize..off as usize + n)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))
        },
    );
    let mut out = Vec::new();
    match footer {
        Ok(entries) if entries == p.entries => {}
        Ok(_) => out.push(whole("its footer does not match the index".into())),
        Err(e) => out.push(whole(e.to_string())),
    }
    let bad: Vec<RemoteDamage> = p
        .entries
        .par_iter()
        .filter_map(|e| {
            let start = e.offset as usize;
            let stored = bytes.get(start..start + e.stored_len as usize)?;
            let r = crate::store::check_encoded(e.kind, &e.id, e.codec, stored, e.raw_len);
            r.err().map(|cause| RemoteDamage {
                object: object.clone(),
                blob: Some((e.kind, e.id)),
                reason: cause.to_string(),
            })
        })
        .collect();
    out.extend(bad);
    out
}
