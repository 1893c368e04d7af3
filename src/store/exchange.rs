//! What the store offers to transfers: choosing which local packs can be
//! sent to a remote as they are, reading single encoded blobs (verified) to
//! repack the rest, and checking a whole pack before it leaves the machine.
//!
//! The remote holds the same pack format as the cache, so a pack whose every
//! blob the remote lacks is uploaded byte for byte; anything else is
//! repacked from verified blobs, never recompressed. Damaged copies are never
//! chosen, so a push cannot spread damage to a remote.

use std::collections::HashSet;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use super::{check_encoded, SealedPack, Store};
use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::pack::Entry;
use crate::hash::Id;

/// How the blobs a remote lacks can be sent.
#[derive(Debug, Default)]
pub struct ExportPlan {
    /// Local packs to upload as they are: every blob in them is wanted.
    pub whole: Vec<SealedPack>,
    /// Wanted blobs that share their pack with other data (or sit in small
    /// packs): repacked for upload. The path is shared by the blobs of one
    /// pack (a million tiny files would otherwise cost a million copies).
    pub loose: Vec<(Arc<Path>, Entry)>,
    /// Wanted blobs with no intact copy in the cache.
    pub absent: Vec<(ObjectKind, Id)>,
}

impl ExportPlan {
    pub fn bytes(&self) -> u64 {
        self.whole.iter().map(|p| p.len).sum::<u64>()
            + self
                .loose
                .iter()
                .map(|(_, e)| e.stored_len as u64)
                .sum::<u64>()
    }
}

impl Store {
    /// Decide how to send `wanted`. Packs of at least `min_whole` bytes
    /// whose blobs are all wanted go whole; the other wanted blobs go loose.
    pub fn plan_export(&self, wanted: &HashSet<(ObjectKind, Id)>, min_whole: u64) -> ExportPlan {
        let mut plan = ExportPlan::default();
        let mut taken: HashSet<(ObjectKind, Id)> = HashSet::with_capacity(wanted.len());
        for pack in self.sealed_packs() {
            let usable = |taken: &HashSet<(ObjectKind, Id)>, e: &Entry| {
                wanted.contains(&(e.kind, e.id))
                    && !taken.contains(&(e.kind, e.id))
                    && !self.is_damaged_copy(&pack.path, e.kind, &e.id)
            };
            let all = !pack.entries.is_empty() && pack.entries.iter().all(|e| usable(&taken, e));
            if all && pack.len >= min_whole {
                taken.extend(pack.entries.iter().map(|e| (e.kind, e.id)));
                plan.whole.push(pack);
                continue;
            }
            let path: Arc<Path> = Arc::from(pack.path.as_path());
            for e in &pack.entries {
                if usable(&taken, e) {
                    taken.insert((e.kind, e.id));
                    plan.loose.push((Arc::clone(&path), *e));
                }
            }
        }
        plan.absent = wanted
            .iter()
            .filter(|k| !taken.contains(k))
            .copied()
            .collect();
        // A stable order makes a repeated push build the same packs, so an
        // interrupted push finds its finished packs on the remote. The
        // cache's order (packs by path, blobs by offset) keeps the chunks
        // of one file together, as add wrote them, so a ranged read of
        // that file on the remote joins them into few requests.
        plan.loose
            .sort_by(|(pa, a), (pb, b)| pa.cmp(pb).then(a.offset.cmp(&b.offset)));
        plan.absent.sort_by_key(|(k, id)| (k.to_u8(), *id));
        plan
    }

    /// Re-check every blob of a local pack before it is sent anywhere.
    pub fn check_pack(&self, pack: &SealedPack) -> Result<()> {
        let file = File::open(&pack.path).map_err(|e| Error::io("open pack", &pack.path, e))?;
        pack.entries
            .par_iter()
            .try_for_each(|e| read_checked(&file, &pack.path, e).map(|_| ()))
    }

    /// Read one blob's stored (encoded) bytes from a local pack, checked
    /// against its id.
    pub fn read_encoded(&self, pack: &Path, entry: &Entry) -> Result<Vec<u8>> {
        let file = File::open(pack).map_err(|e| Error::io("open pack", pack, e))?;
        read_checked(&file, pack, entry)
    }
}

fn read_checked(file: &File, path: &Path, e: &Entry) -> Result<Vec<u8>> {
    let mut stored = vec![0u8; e.stored_len as usize];
    file.read_exact_at(&mut stored, e.offset)
        .map_err(|err| Error::io("read pack", path, err))?;
    check_encoded(e.kind, &e.id, e.codec, &stored, e.raw_len).map_err(|cause| {
        Error::CorruptObject {
            kind: e.kind,
            id: e.id,
            pack: Some(path.to_path_buf()),
            cause: Box::new(cause),
        }
    })?;
    Ok(stored)
}
