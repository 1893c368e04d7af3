//! Whole-cache work: re-verifying every pack (`cairn verify`) and the
//! primitives garbage collection needs (listing sealed packs, copying live
//! blobs into new packs, deleting packs). Kept apart from the hot read and
//! write paths of the store; it shares their invariants (verified reads,
//! packs durable before they are relied on).

use std::collections::HashSet;
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use super::packfile::{self, PackWriter};
use super::packsum;
use super::{check_encoded, damaged_list, file_name, new_pack, publish, PackSlot, Store};
use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::pack::{self, Entry};
use crate::hash::Id;
use crate::progress::{Progress, Warning};

/// A problem found by [`Store::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub pack: PathBuf,
    pub object: Option<(ObjectKind, Id)>,
    pub reason: String,
}

/// As `verify --json` prints it: the blob's kind and id as fields of their
/// own (null for a whole pack), keys in alphabetical order.
impl serde::Serialize for Damage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Damage", 4)?;
        st.serialize_field("id", &self.object.map(|(_, id)| id))?;
        st.serialize_field("kind", &self.object.map(|(kind, _)| kind))?;
        st.serialize_field("pack", &self.pack)?;
        st.serialize_field("reason", &self.reason)?;
        st.end()
    }
}

impl Store {
    /// Re-read and check every blob in every pack. Returns what is damaged.
    pub fn verify(&self, progress: &dyn Progress) -> Vec<Damage> {
        let mut damage: Vec<Damage> = self
            .damaged_packs
            .iter()
            .map(|(p, r)| Damage {
                pack: p.clone(),
                object: None,
                reason: r.to_string(),
            })
            .collect();
        let packs: Vec<Arc<PackSlot>> = self.packs.read().expect("packs lock poisoned").clone();
        let total: u64 = packs
            .iter()
            .filter_map(|s| {
                s.file
                    .get()
                    .and_then(|f| f.metadata().ok())
                    .map(|m| m.len())
            })
            .sum();
        progress.begin("verifying", Some(total));
        let results: Vec<PackCheck> = packs
            .par_iter()
            .map(|slot| verify_pack(slot, progress))
            .collect();
        progress.end();
        let intact = intact_copies(&packs, &results);
        let mut list = String::new();
        for (found, _) in results {
            for d in found {
                if let Some((kind, id)) = d.object {
                    list.push_str(&format!(
                        "{} {} {}\n",
                        file_name(&d.pack),
                        kind.to_u8(),
                        id.to_hex()
                    ));
                    if intact.contains(&(kind, id)) {
                        // A good copy exists in another pack; nothing is lost.
                        continue;
                    }
                }
                damage.push(d);
            }
        }
        // Best effort, as in `mark_damaged`.
        let _ = crate::durable::write_atomic(&damaged_list(&self.root), list.as_bytes());
        damage
    }
}

/// What checking one pack found: its damage, and whether its footer was
/// read (so every blob it lists and the damage does not name is intact).
type PackCheck = (Vec<Damage>, bool);

/// Of the blobs found damaged, those with an intact copy in some pack.
/// Found by reading the footers again, only when there is damage, rather
/// than by keeping every intact blob of the cache in memory.
fn intact_copies(packs: &[Arc<PackSlot>], results: &[PackCheck]) -> HashSet<(ObjectKind, Id)> {
    let damaged: HashSet<(ObjectKind, Id)> = results
        .iter()
        .flat_map(|(found, _)| found.iter().filter_map(|d| d.object))
        .collect();
    let mut intact = HashSet::new();
    if damaged.is_empty() {
        return intact;
    }
    for (slot, (found, footer_read)) in packs.iter().zip(results) {
        if !footer_read {
            continue;
        }
        let path = slot.path.read().expect("pack path lock poisoned").clone();
        let Some(entries) = File::open(&path)
            .ok()
            .and_then(|f| packfile::read_file_footer(&path, &f).ok())
        else {
            continue;
        };
        let bad_here: HashSet<(ObjectKind, Id)> = found.iter().filter_map(|d| d.object).collect();
        for e in entries {
            let key = (e.kind, e.id);
            if damaged.contains(&key) && !bad_here.contains(&key) {
                intact.insert(key);
            }
        }
    }
    intact
}

fn verify_pack(slot: &PackSlot, progress: &dyn Progress) -> PackCheck {
    let path = slot.path.read().expect("pack path lock poisoned").clone();
    let damage = |object, reason: String| Damage {
        pack: path.clone(),
        object,
        reason,
    };
    let file = match slot.file.get() {
        Some(f) => f,
        None => match File::open(&path) {
            Ok(f) => slot.file.get_or_init(|| f),
            Err(e) => return (vec![damage(None, e.to_string())], false),
        },
    };
    let entries = match packfile::read_file_footer(&path, file) {
        Ok(es) => es,
        Err(e) => return (vec![damage(None, e.to_string())], false),
    };
    let mut out = Vec::new();
    let expected_name = format!("{}.pack", pack::pack_id(&entries).to_hex());
    if path.file_name().and_then(|n| n.to_str()) != Some(expected_name.as_str()) {
        out.push(damage(None, "file name does not match its contents".into()));
    }
    for e in entries {
        let mut stored = vec![0u8; e.stored_len as usize];
        let r = file
            .read_exact_at(&mut stored, e.offset)
            .map_err(|err| err.to_string())
            .and_then(|_| {
                check_encoded(e.kind, &e.id, e.codec, &stored, e.raw_len).map_err(|c| c.to_string())
            });
        if let Err(reason) = r {
            out.push(damage(Some((e.kind, e.id)), reason));
        }
        progress.advance(e.stored_len as u64);
    }
    // A sum is a hint for push, never evidence of damage (FORMAT.md §6.8):
    // one that does not match an intact pack is a note, and beside a
    // damaged pack it says nothing the damage does not.
    if out.is_empty()
        && packsum::read_sum(&path).is_some()
        && matches!(packsum::matches(&path), Ok(false))
    {
        progress.warn(Warning::StalePackSum { path: path.clone() });
    }
    (out, true)
}

/// A sealed pack as garbage collection sees it.
#[derive(Debug, Clone)]
pub struct SealedPack {
    pub path: PathBuf,
    pub len: u64,
    pub modified: std::time::SystemTime,
    pub entries: Vec<Entry>,
}

impl Store {
    /// Every sealed pack in the cache, with its footer, by path (an order
    /// that does not depend on how the directory was read, so a push
    /// repeated over the same cache plans the same packs). Damaged packs
    /// are left out (`verify` reports them; gc never touches them).
    pub fn sealed_packs(&self) -> Vec<SealedPack> {
        let packs: Vec<Arc<PackSlot>> = self.packs.read().expect("packs lock poisoned").clone();
        let mut out: Vec<SealedPack> = packs
            .iter()
            .filter_map(|slot| {
                let path = slot.path.read().expect("pack path lock poisoned").clone();
                let file = File::open(&path).ok()?;
                let meta = file.metadata().ok()?;
                let entries = packfile::read_file_footer(&path, &file).ok()?;
                Some(SealedPack {
                    path,
                    len: meta.len(),
                    modified: meta.modified().ok()?,
                    entries,
                })
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// Copy blobs, verified and without recompressing them, from old packs
    /// into new ones, and make the new packs durable. Returns the bytes
    /// written. Fails (copying nothing further) at the first damaged blob,
    /// so a damaged copy is never carried forward as if it were good.
    pub fn copy_blobs(&self, blobs: &[(PathBuf, Entry)]) -> Result<u64> {
        let mut writer: Option<PackWriter> = None;
        let mut written = 0u64;
        for (src, e) in blobs {
            let file = File::open(src).map_err(|err| Error::io("open pack", src, err))?;
            let mut stored = vec![0u8; e.stored_len as usize];
            file.read_exact_at(&mut stored, e.offset)
                .map_err(|err| Error::io("read pack", src, err))?;
            if let Err(cause) = check_encoded(e.kind, &e.id, e.codec, &stored, e.raw_len) {
                return Err(Error::CorruptObject {
                    kind: e.kind,
                    id: e.id,
                    pack: Some(src.clone()),
                    cause: Box::new(cause),
                });
            }
            if writer.is_none() {
                writer = Some(new_pack(&self.root)?);
            }
            let w = writer.as_mut().expect("pack writer was just created");
            w.add(e.kind, e.id, e.codec, &stored, e.raw_len as usize)?;
            written += stored.len() as u64;
            if w.is_full() {
                publish(&self.root, writer.take().expect("writer is open"))?;
                crate::failpoint::hit("gc.pack_sealed");
            }
        }
        if let Some(w) = writer {
            publish(&self.root, w)?;
            crate::failpoint::hit("gc.pack_sealed");
        }
        Ok(written)
    }

    /// Delete a pack file and its sum. Only for garbage collection, after
    /// everything live in it has been copied and made durable elsewhere.
    /// The sum goes first: a crash between the two leaves a pack without a
    /// sum (push then checks it blob by blob), never a sum without a pack.
    pub fn remove_pack(&self, path: &Path) -> Result<()> {
        super::packsum::remove_sum(path)?;
        fs::remove_file(path).map_err(|e| Error::io("remove pack", path, e))?;
        if let Some(dir) = path.parent() {
            crate::durable::sync_dir(dir)?;
        }
        crate::failpoint::hit("gc.pack_deleted");
        Ok(())
    }
}
