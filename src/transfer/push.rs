//! `push`: send a remote the blobs it lacks, as packs, then an index.
//!
//! Order is what makes a push safe to interrupt: packs first (each one
//! complete or invisible, since a PUT or a completed multipart upload is
//! atomic), then one index file naming them. A reader only trusts packs an
//! index names, so a half-finished push is invisible. Re-running it finds
//! the packs it already sent by listing `packs/` and skips them: local packs
//! keep their names, and repacked ones are built in a fixed order, so the
//! same push builds the same packs.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use futures::{StreamExt, TryStreamExt};

use super::push_pack;
use super::push_sent::Spill;
use super::push_sum;
use super::pushed::{Known, Pushed};
use super::spool::{Body, Spool, SpoolWriter};
use super::Connection;
use crate::engine::reach::Missing;
use crate::error::{Corruption, Error, Result};
use crate::format::kind::ObjectKind;
use crate::hash::Id;
use crate::progress::Progress;
use crate::remote::index::{self, PackRecord, RemoteIndex};
use crate::store::packsum::PackSum;
use crate::store::Store;

/// Local packs at least this large, all of whose blobs the remote lacks,
/// are sent as they are; smaller ones are merged.
pub const MIN_WHOLE: u64 = 16 << 20;
/// Repacked packs are cut at this many bytes (each written to a spool,
/// `super::spool`, blob by blob).
pub const REPACK_TARGET: u64 = 16 << 20;
/// ...or at this many blobs: a pack's footer entries are held while it is
/// written (56 bytes a blob), and 16 MiB of tiny files would be hundreds
/// of thousands of them.
pub const REPACK_BLOBS: usize = 1 << 16;
/// Bytes of index files this clone has no copy of that a push reads,
/// newest first, to learn what the remote holds (FORMAT.md §15.3). A
/// remote whose uncached index files fit is read whole, as before; past
/// it, what the pushed roots' and their earlier versions' locators say
/// stands in for the rest.
pub const INDEX_BUDGET: u64 = 512 << 10;

/// What a push did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// Objects the remote lacked.
    pub objects: usize,
    /// Packs uploaded by this run.
    pub packs: usize,
    /// Packs found already uploaded by an interrupted earlier run.
    pub resumed: usize,
    /// Bytes uploaded by this run.
    pub bytes: u64,
    /// Damaged index files found on the remote, and what became of them.
    pub indexes: super::IndexRepair,
    /// What the remote's catalogue looked like (for the walk record).
    pub view: super::walked::RemoteView,
    /// Whether some index files were left unread (the remote's index is
    /// larger than [`INDEX_BUDGET`]): the index returned is then partial.
    pub partial: bool,
    /// Roots whose locator on the remote was read, was well formed and
    /// named only packs neither condemned nor damaged: no need to write it
    /// again.
    pub located: Vec<Id>,
    /// Cache packs sent whole that were checked by their sum (FORMAT.md
    /// §6.8): their bytes read once, no blob decoded.
    pub verified_by_sum: usize,
    /// Cache packs sent whole that were checked blob by blob (no sum, or
    /// one that did not match).
    pub verified_by_decode: usize,
}

enum Upload {
    File {
        path: PathBuf,
        record: PackRecord,
        /// The pack's sum, when the upload is to check the bytes it reads
        /// against it (`super::push_sum`); `None`: checked already.
        sum: Option<PackSum>,
    },
    /// A repacked pack, written to a spool (not held in memory, once per
    /// upload in flight).
    Spooled { spool: Spool, record: PackRecord },
}

/// What the remote holds, as far as a push needs to know: every index file
/// when they fit in [`INDEX_BUDGET`] (or this clone has them cached); else
/// the newest that fit, plus what the locators of `roots` say. A locator
/// counts only when well formed and naming no condemned or damaged pack
/// (a blob only a condemned pack holds is absent, FORMAT.md §15.6): any
/// other is ignored, and what it would have placed is sent again. Returns
/// the state and the roots whose locators counted.
fn learn(conn: &Connection, roots: &[Id]) -> Result<(super::IndexState, Vec<Id>)> {
    let mut state = conn.load_index_bounded(INDEX_BUDGET)?;
    let mut located = Vec::new();
    if state.unread.is_empty() {
        return Ok((state, located));
    }
    let idx = &mut state.index;
    let untrusted: HashSet<Id> = idx
        .condemned
        .iter()
        .copied()
        .chain(idx.damaged.iter().map(|(p, _)| *p))
        .collect();
    for l in conn.read_locators(roots) {
        if l.packs.iter().all(|p| !untrusted.contains(&p.id)) {
            located.push(l.root);
        }
        for p in l.packs.iter().filter(|p| !untrusted.contains(&p.id)) {
            idx.add_located(p.id, p.len, p.footer_entries, &p.entries);
        }
    }
    Ok((state, located))
}

/// Send `wanted` (every object the pushed pointers reach) to the remote.
/// `missing` lists what the pointers need that the cache lacks: fine when
/// the remote has it already, an error otherwise. `roots` are the pointers
/// (top ids) whose locators may say what the remote has, when its index
/// is too large to read (the pushed ones and their earlier versions).
/// Returns, with the report, the remote's index as far as this push read
/// it and, beside it, the packs this push indexed: enough to build the
/// locators of the pushed roots, since each of their blobs was found there
/// or sent.
pub fn push(
    conn: &Connection,
    store: &Store,
    wanted: HashSet<(ObjectKind, Id)>,
    missing: &[Missing],
    roots: &[Id],
    progress: &dyn Progress,
) -> Result<(PushReport, Known)> {
    let (mut state, mut located) = learn(conn, roots)?;
    let found = |idx: &RemoteIndex, k: ObjectKind, id: &Id| {
        idx.keeps(k, id) || (k == ObjectKind::Manifest && idx.keeps(ObjectKind::Chunk, id))
    };
    if !state.unread.is_empty() && missing.iter().any(|m| !found(&state.index, m.kind, &m.id)) {
        // Data this clone lacks must be proven to be on the remote before
        // the push counts it there: rare, so the whole index decides.
        state = conn.load_index()?;
        located.clear();
    }
    let mut indexes = super::IndexRepair::default();
    if !state.damaged.is_empty() {
        indexes = conn.repair_indexes(&mut state, &pack_lengths(conn)?)?;
    }
    let view = super::walked::RemoteView {
        indexes: state.files.iter().map(|f| f.path.clone()).collect(),
        troubled: !state.damaged.is_empty()
            || !state.notes_applying.is_empty()
            || !state.condemned.is_empty(),
    };
    let partial = !state.unread.is_empty();
    let remote_index = state.index;
    // A blob only condemned packs hold counts as absent, like a damaged
    // copy: the pack may be deleted before this push's commit reaches the
    // clone that runs gc (FORMAT.md §15.6).
    let on_remote = |k: ObjectKind, id: &Id| {
        remote_index.keeps(k, id)
            || (k == ObjectKind::Manifest && remote_index.keeps(ObjectKind::Chunk, id))
    };
    if let Some(m) = missing.iter().find(|m| !on_remote(m.kind, &m.id)) {
        return Err(Error::MissingObject {
            kind: m.kind,
            id: m.id,
            path: m.needed_by.clone().into(),
        });
    }
    // What the remote lacks, as one sorted vector (33 bytes a blob) taken
    // from the set as it is consumed, sized exactly: growing it by
    // doubling would hold two copies beside the set at the push's peak.
    let lacking = wanted.iter().filter(|(k, id)| !on_remote(*k, id)).count();
    let mut todo: Vec<(ObjectKind, Id)> = Vec::with_capacity(lacking);
    todo.extend(wanted.into_iter().filter(|(k, id)| !on_remote(*k, id)));
    todo.sort_unstable_by_key(|(k, id)| (k.to_u8(), *id));
    let repaired = !indexes.repaired.is_empty();
    let mut report = PushReport {
        objects: todo.len(),
        indexes,
        view,
        partial,
        located,
        ..PushReport::default()
    };
    if todo.is_empty() {
        if repaired || conn.listing_lags() {
            // Records the repaired files' new listing beside their copies,
            // and names what a crashed push wrote in `index.list`.
            conn.publish_listing()?;
        }
        let known = Known {
            index: remote_index,
            pushed: Pushed::default(),
        };
        return Ok((report, known));
    }
    let mut plan = super::push_plan::plan(store, &todo, MIN_WHOLE);
    // The plan names every blob to send: the list is not needed again.
    drop(todo);
    let condemned = &remote_index.condemned.clone();
    // Never send a pack under a condemned name: gc may delete that name
    // whatever it then holds. Such a local pack is repacked instead.
    let repack: Vec<usize> = plan
        .whole
        .iter()
        .copied()
        .filter(|p| condemned.contains(&crate::format::pack::pack_id(&plan.packs[*p].entries)))
        .collect();
    for p in repack {
        plan.unwhole(p);
    }
    if let Some((kind, id)) = plan.absent {
        return Err(store.corrupt(kind, id, Corruption::NoIntactCopy));
    }
    // Packs an interrupted push already completed.
    // A pack noted as damaged is not "there": sending it again under its
    // content name replaces the damaged object (and retires the note). A
    // condemned one is never adopted (nor sent again, see above).
    let unusable: HashSet<Id> = remote_index
        .damaged
        .iter()
        .map(|(p, _)| *p)
        .chain(condemned.iter().copied())
        .collect();
    let present = if partial {
        // Listing `packs/` would cost as much as the index this push did
        // not read: ask for each pack it sends instead.
        Present::Asked(unusable)
    } else {
        Present::Listed(
            conn.list(index::PACK_DIR)?
                .into_iter()
                .filter_map(|l| index::pack_id_of(&l.path).map(|id| (id, l.size)))
                .filter(|(id, _)| !unusable.contains(id))
                .collect(),
        )
    };

    progress.begin("pushing", Some(plan.bytes()));
    // Repacked packs as runs of the loose blobs (not copies of them: at a
    // million tiny files a copy is tens of MB at the push's peak).
    let groups = plan.groups(REPACK_TARGET, REPACK_BLOBS);

    let present = &present;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Upload>(1);
    // Each pack's record goes to a spool as its upload ends: not held
    // beside the plan's footers (`super::push_sent`).
    let spill = Spill::new(store.root())?;
    let checked = &push_sum::Checked::default();
    let records: Result<Spill> = std::thread::scope(|s| {
        // Producer: verify local packs and build repacked ones, in order.
        let producer = s.spawn(move || -> Result<()> {
            let mut plan = plan;
            for p in std::mem::take(&mut plan.whole) {
                let pack = &mut plan.packs[p];
                let mut record = PackRecord {
                    id: crate::format::pack::pack_id(&pack.entries),
                    len: pack.len,
                    entries: Vec::new(),
                };
                let mut sum = None;
                if present.known(&record) != Some(true) {
                    sum = push_sum::before_upload(conn, store, pack, checked)?;
                }
                // Moved, not copied: the record is all that is kept of it.
                record.entries = std::mem::take(&mut pack.entries);
                let up = Upload::File {
                    path: pack.path.clone(),
                    record,
                    sum,
                };
                if tx.blocking_send(up).is_err() {
                    return Ok(());
                }
            }
            for group in groups {
                let loose = &plan.loose[group];
                let entry = |i: usize| *plan.entry(loose[i]);
                let read = |i: usize| {
                    let l = loose[i];
                    store.read_encoded(&plan.packs[l.0 as usize].path, plan.entry(l))
                };
                let (n, name) = (loose.len(), &conn.remote.name);
                let layout = push_pack::choose(name, n, entry, || read(0), condemned)?;
                let mut out = SpoolWriter::new(store.root())?;
                let err = |e| Error::io("write a temporary file in", store.root(), e);
                push_pack::write_pack(&layout, read, &mut out, err)?;
                let spool = out.finish()?;
                crate::failpoint::hit("push.pack_spooled");
                let record = PackRecord {
                    id: layout.id,
                    len: spool.len(),
                    entries: layout.entries,
                };
                if tx.blocking_send(Upload::Spooled { spool, record }).is_err() {
                    return Ok(());
                }
            }
            Ok(())
        });
        let uploaded = conn.rt.block_on(async {
            futures::stream::poll_fn(|cx| rx.poll_recv(cx))
                .map(|up| async move {
                    let (record, sent) = match up {
                        Upload::File { path, record, sum } => {
                            let rel = index::pack_path(&record.id);
                            let sent = !present.there(conn, &record).await?;
                            if sent {
                                match &sum {
                                    Some(sum) => {
                                        let es = &record.entries;
                                        push_sum::put_checked(
                                            conn, store, &rel, &path, es, sum, checked,
                                        )
                                        .await?
                                    }
                                    None => conn.put_file_async(&rel, &path, record.len).await?,
                                }
                                crate::failpoint::hit("push.pack_uploaded");
                            }
                            (record, sent)
                        }
                        Upload::Spooled { spool, record } => {
                            let rel = index::pack_path(&record.id);
                            let sent = !present.there(conn, &record).await?;
                            if sent {
                                conn.put_body_async(&rel, Body::Spooled(spool)).await?;
                                crate::failpoint::hit("push.pack_uploaded");
                            }
                            (record, sent)
                        }
                    };
                    progress.advance(record.len);
                    Ok::<_, Error>((record, sent))
                })
                .buffer_unordered(conn.jobs().uploads)
                .try_fold(spill, |mut spill, (record, sent)| async move {
                    spill.add(&record, sent)?;
                    Ok(spill)
                })
                .await
        });
        // Stop the producer if uploading failed, then report its error
        // first: it is the cause when it failed.
        drop(rx);
        let produced = producer.join().unwrap_or_else(|_| {
            Err(Error::io(
                "prepare packs in",
                store.root(),
                std::io::Error::other("packing thread panicked"),
            ))
        });
        produced?;
        uploaded
    });
    progress.end();
    (report.verified_by_sum, report.verified_by_decode) = checked.counts();
    let spilled = records?.finish()?;
    let sent: Vec<String> = spilled
        .sent()
        .map(|(id, _)| index::pack_path(&id))
        .collect();
    conn.sync_folder(&sent)?;
    crate::failpoint::hit("push.packs_synced");
    for (_, len) in spilled.sent() {
        report.packs += 1;
        report.bytes += len;
    }
    report.resumed = spilled.resumed();
    // Written from the spool, in pack id order, never encoded in memory.
    let (id, spool) = spilled.index(store.root())?;
    conn.write_index_spooled(id, spool)?;
    crate::failpoint::hit("push.index_written");
    conn.publish_listing()?;
    crate::failpoint::hit("push.listing_written");
    // Kept beside the index rather than merged into its map (a hash map
    // entry per blob sent): see `super::pushed`. Read back now that the
    // plan is gone.
    let list = spilled.records()?;
    let pushed = Pushed::new(list, &remote_index);
    let known = Known {
        index: remote_index,
        pushed,
    };
    Ok((report, known))
}

/// Which packs an interrupted earlier push already completed: a pack
/// there with the expected length is not sent again. A pack noted as
/// damaged is not "there" (sending it again under its content name
/// replaces the damaged object and retires the note); a condemned one is
/// never adopted (nor sent again: see `push_pack::choose`).
enum Present {
    /// From one listing of `packs/` (pack id to length), the usable ones.
    Listed(HashMap<Id, u64>),
    /// Asked pack by pack (one HEAD each); the packs never adopted.
    Asked(HashSet<Id>),
}

impl Present {
    /// Whether `record`'s pack is there, if known without a request.
    fn known(&self, record: &PackRecord) -> Option<bool> {
        match self {
            Present::Listed(m) => Some(m.get(&record.id) == Some(&record.len)),
            Present::Asked(unusable) => unusable.contains(&record.id).then_some(false),
        }
    }

    async fn there(&self, conn: &Connection, record: &PackRecord) -> Result<bool> {
        if let Some(known) = self.known(record) {
            return Ok(known);
        }
        let size = conn.size_async(&index::pack_path(&record.id)).await?;
        Ok(size == Some(record.len))
    }
}

/// Every pack on the remote with its length.
fn pack_lengths(conn: &Connection) -> Result<HashMap<Id, u64>> {
    Ok(conn
        .list(index::PACK_DIR)?
        .into_iter()
        .filter_map(|l| index::pack_id_of(&l.path).map(|id| (id, l.size)))
        .collect())
}
