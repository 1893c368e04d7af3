//! Talking to a folder remote directly, without `object_store`'s local
//! backend where a file system does better.
//!
//! A folder remote is a directory with the same layout as an object store
//! bucket. Reads of a byte range are one positioned read into one buffer;
//! a pack is uploaded by an in-kernel copy under a temporary name and a
//! rename, so it appears whole or not at all; finished files and their
//! directories are fsynced before anything refers to them (an object store
//! is durable once a PUT returns, a file system only after fsync); and
//! partial uploads a killed push left behind can be found and removed.
//! A long read goes into a buffer an earlier read used and dropped
//! (`Reused`), whose pages are already the process's: a fresh 16 MiB
//! buffer per read cost a page fault and a zero-filled page per 4 KiB,
//! about a tenth of a pull's CPU.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::backend::remote_error;
use super::index::PACK_DIR;
use super::ResolvedRemote;
use crate::error::{Error, Result};

/// Reads at least this long go into a reused buffer; shorter ones (index
/// files, a few small blobs) are not worth holding one for.
const REUSE_MIN: u64 = 1 << 20;

/// Capacity of a reused buffer: a part, the longest ranged read a restore
/// makes (`transfer::ranged::MAX_READ`), so any such read fits any spare.
/// Capacity a read does not fill is never touched and costs no memory.
const REUSE_CAP: usize = super::PART;

/// Spare buffers kept at most (a few times the reads a pull holds at once
/// with their blobs waiting to be kept, so a read seldom finds none; at
/// most this many parts of memory stay held between reads).
const SPARES: usize = 4;

/// Buffers of reads whose bytes every holder has dropped.
static SPARE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// The spares, usable even if a thread panicked holding the lock (a
/// spare's bytes are never read: each use reads over them first).
fn spares() -> MutexGuard<'static, Vec<Vec<u8>>> {
    SPARE.lock().unwrap_or_else(|p| p.into_inner())
}

/// A read's buffer, handed back to the spares when the last view of its
/// bytes (a `Bytes` slice a kept blob holds, say) is dropped.
struct Reused(Vec<u8>);

impl AsRef<[u8]> for Reused {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Reused {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.0);
        buf.clear();
        let mut spare = spares();
        if buf.capacity() == REUSE_CAP && spare.len() < SPARES {
            spare.push(buf);
        }
    }
}

/// Bytes `range` of the file at `rel` in folder remote `dir`. A missing
/// file is the remote's "not found", as from any other remote.
pub fn read_range(
    remote: &ResolvedRemote,
    dir: &Path,
    rel: &str,
    range: Range<u64>,
) -> Result<Bytes> {
    let len = range.end.saturating_sub(range.start);
    if len < REUSE_MIN || len > REUSE_CAP as u64 {
        return read_range_into(remote, dir, rel, range, Vec::new()).map(Bytes::from);
    }
    let buf = spares()
        .pop()
        .unwrap_or_else(|| Vec::with_capacity(REUSE_CAP));
    let buf = read_range_into(remote, dir, rel, range, buf)?;
    Ok(Bytes::from_owner(Reused(buf)))
}

/// [`read_range`] into `buf` (empty; its capacity is used, and grown only
/// if too small), returned holding exactly the range.
fn read_range_into(
    remote: &ResolvedRemote,
    dir: &Path,
    rel: &str,
    range: Range<u64>,
    mut buf: Vec<u8>,
) -> Result<Vec<u8>> {
    let path = dir.join(rel);
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let e = object_store::Error::NotFound {
                path: rel.to_string(),
                source: Box::new(e),
            };
            return Err(remote_error(remote, "download", e, false));
        }
        Err(e) => return Err(Error::io("read", &path, e)),
    };
    // Read into spare capacity rather than a zeroed buffer: the planner
    // asks for up to 16 MiB at a time, and zeroing each buffer first was a
    // percent of a pull's CPU (plus the page faults of touching it twice).
    let len = range.end.saturating_sub(range.start);
    buf.clear();
    buf.reserve(len as usize);
    let mut reader = &file;
    reader
        .seek(SeekFrom::Start(range.start))
        .and_then(|_| reader.take(len).read_to_end(&mut buf))
        .map_err(|e| Error::io("read", &path, e))?;
    if buf.len() as u64 != len {
        let short = std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!(
                "wanted {len} bytes at offset {}, the file ends at {}",
                range.start,
                range.start + buf.len() as u64
            ),
        );
        return Err(Error::io("read", &path, short));
    }
    Ok(buf)
}

/// Copy local file `file` to `rel` in folder remote `dir`: an in-kernel
/// copy under a temporary name, then a rename, so it appears whole or not
/// at all.
pub fn put_file(dir: &Path, rel: &str, file: &Path) -> Result<()> {
    let dest = dir.join(rel);
    let parent = dest.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(crate::durable::TMP_PREFIX)
        .tempfile_in(parent)
        .map_err(|e| Error::io("create a file in", parent, e))?;
    std::fs::copy(file, tmp.path()).map_err(|e| Error::io("copy pack to", &dest, e))?;
    tmp.persist(&dest)
        .map_err(|e| Error::io("rename pack to", &dest, e.error))?;
    Ok(())
}

/// Make the finished files `rels` of folder remote `dir` durable, with
/// their directories (and the pack directory), before anything refers to
/// them.
pub fn sync(dir: &Path, rels: &[String]) -> Result<()> {
    let mut dirs = std::collections::BTreeSet::new();
    for rel in rels {
        let p = dir.join(rel);
        match std::fs::File::open(&p).and_then(|f| f.sync_all()) {
            Ok(()) => {}
            // A remote gc running at the same time deletes the locators
            // naming packs it condemns (FORMAT.md §15.6), and may do so
            // between this push's write and this sync. A locator is only
            // a hint: one that is gone has nothing to make durable. A pack
            // or an index file that vanished is an error.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && is_locator(rel) => continue,
            Err(e) => return Err(Error::io("sync", &p, e)),
        }
        if let Some(parent) = p.parent() {
            dirs.insert(parent.to_path_buf());
        }
    }
    dirs.insert(dir.join(PACK_DIR));
    for d in dirs {
        if let Ok(f) = std::fs::File::open(&d) {
            f.sync_all()
                .map_err(|e| Error::io("sync directory", &d, e))?;
        }
    }
    Ok(())
}

/// Whether `rel` names a locator (`loc/xx/<root>.loc`).
fn is_locator(rel: &str) -> bool {
    rel.strip_prefix(super::locator::LOCATOR_DIR)
        .is_some_and(|r| r.starts_with('/'))
        && rel.ends_with(".loc")
}

/// Partial uploads (of packs and locators) left in folder remote `dir` by
/// killed pushes (the local
/// backend stages multipart uploads as `<name>#<n>` beside the target, and
/// [`put_file`] copies under a temporary name), older than `grace`:
/// removed unless `dry_run`. Returns their count and bytes.
pub fn sweep_staging(
    dir: &Path,
    grace: Duration,
    now: SystemTime,
    dry_run: bool,
) -> Result<(usize, u64)> {
    let (mut n, mut bytes) = (0, 0);
    // Locators are written the same way, so a killed writer can leave
    // their staging files too.
    let staged = [PACK_DIR, super::locator::LOCATOR_DIR].map(|d| dir.join(d));
    for e in staged
        .iter()
        .flat_map(|d| walkdir::WalkDir::new(d).into_iter().filter_map(|e| e.ok()))
    {
        let name = e.file_name().to_string_lossy();
        let partial = name.contains('#') || name.starts_with(crate::durable::TMP_PREFIX);
        if !e.file_type().is_file() || !partial {
            continue;
        }
        let Ok(meta) = e.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= grace);
        if !old {
            continue;
        }
        if !dry_run {
            std::fs::remove_file(e.path()).map_err(|err| Error::io("remove", e.path(), err))?;
        }
        n += 1;
        bytes += meta.len();
    }
    Ok((n, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RemoteFailure;
    use crate::remote::settings::{Layer, Settings};
    use crate::remote::Location;

    fn remote(dir: &Path) -> ResolvedRemote {
        ResolvedRemote {
            name: "origin".into(),
            url: dir.display().to_string(),
            location: Location::Folder(dir.to_path_buf()),
            settings: Settings::default(),
            layer: Layer::Committed,
            branch: None,
        }
    }

    #[test]
    fn a_copied_pack_reads_back_and_a_missing_one_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("local.pack");
        std::fs::write(&src, b"0123456789").unwrap();
        let remote_dir = dir.path().join("remote");
        put_file(&remote_dir, "packs/ab/x.pack", &src).unwrap();
        sync(&remote_dir, &["packs/ab/x.pack".into()]).unwrap();
        let r = remote(&remote_dir);
        assert_eq!(
            read_range(&r, &remote_dir, "packs/ab/x.pack", 2..5).unwrap(),
            &b"234"[..]
        );
        // Only the finished file is there: the copy went through a
        // temporary name that the rename consumed.
        let names: Vec<_> = std::fs::read_dir(remote_dir.join("packs/ab"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["x.pack"]);
        match read_range(&r, &remote_dir, "packs/ab/gone.pack", 0..1) {
            Err(Error::Remote {
                failure: RemoteFailure::NotFound,
                op: "download",
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    /// Long reads go into buffers earlier reads handed back: a read gets
    /// exactly its own bytes, never an earlier read's past its end, and a
    /// buffer whose bytes someone still holds (a kept blob's view) is not
    /// read over.
    #[test]
    fn a_reused_read_buffer_holds_only_its_own_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let r = remote(dir.path());
        let long = (REUSE_MIN * 3) as usize;
        let fill = |name: &str, byte: u8, len: usize| {
            std::fs::create_dir_all(dir.path().join("packs/ab")).unwrap();
            std::fs::write(dir.path().join(name), vec![byte; len]).unwrap();
        };
        fill("packs/ab/a.pack", b'a', long);
        fill("packs/ab/b.pack", b'b', long);
        for _ in 0..2 * SPARES {
            let a = read_range(&r, dir.path(), "packs/ab/a.pack", 0..long as u64).unwrap();
            assert!(a.len() == long && a.iter().all(|&c| c == b'a'));
            let held = a.slice(10..20);
            drop(a);
            let short = long as u64 / 2 + 7;
            let b = read_range(&r, dir.path(), "packs/ab/b.pack", 5..5 + short).unwrap();
            assert_eq!(b.len() as u64, short);
            assert!(b.iter().all(|&c| c == b'b'), "an earlier read's bytes");
            assert_eq!(&held[..], &[b'a'; 10][..], "a held buffer was read over");
        }
        // Past a file's end is still an error, whatever the buffer.
        let past = long as u64 - 1..long as u64 + REUSE_MIN;
        assert!(read_range(&r, dir.path(), "packs/ab/a.pack", past).is_err());
    }

    /// A concurrent remote gc may delete a locator a push has just
    /// written, before the push syncs it (it failed such a push once in a
    /// few hundred runs of gc_remote's concurrency test); a pack or an
    /// index file that vanished still fails the sync.
    #[test]
    fn a_locator_deleted_before_its_sync_is_not_an_error_but_a_pack_is() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("local.pack");
        std::fs::write(&src, b"0123456789").unwrap();
        put_file(dir.path(), "packs/ab/x.pack", &src).unwrap();
        put_file(dir.path(), "loc/cd/y.loc", &src).unwrap();
        std::fs::remove_file(dir.path().join("loc/cd/y.loc")).unwrap();
        let both = ["packs/ab/x.pack".to_string(), "loc/cd/y.loc".to_string()];
        sync(dir.path(), &both).unwrap();
        for gone in ["packs/ab/gone.pack", "index/gone.idx", "locx/cd/y.loc"] {
            let err = sync(dir.path(), &[gone.to_string()]).unwrap_err();
            assert!(err.to_string().contains("sync"), "{gone}: {err}");
        }
    }

    #[test]
    fn only_old_partial_uploads_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let packs = dir.path().join(PACK_DIR).join("ab");
        std::fs::create_dir_all(&packs).unwrap();
        std::fs::write(packs.join("x.pack"), b"whole").unwrap();
        std::fs::write(packs.join("x.pack#1"), b"part").unwrap();
        let tmp = format!("{}y", crate::durable::TMP_PREFIX);
        std::fs::write(packs.join(&tmp), b"copy").unwrap();
        let locs = dir.path().join("loc").join("cd");
        std::fs::create_dir_all(&locs).unwrap();
        std::fs::write(locs.join("z.loc"), b"whole").unwrap();
        std::fs::write(locs.join("z.loc#3"), b"part").unwrap();
        let hour = Duration::from_secs(3600);
        let now = SystemTime::now();
        // Too young to be abandoned.
        assert_eq!(sweep_staging(dir.path(), hour, now, false).unwrap(), (0, 0));
        let later = now + 2 * hour;
        assert_eq!(
            sweep_staging(dir.path(), hour, later, true).unwrap(),
            (3, 12)
        );
        assert!(packs.join("x.pack#1").exists(), "a dry run removes nothing");
        assert_eq!(
            sweep_staging(dir.path(), hour, later, false).unwrap(),
            (3, 12)
        );
        assert!(!packs.join("x.pack#1").exists());
        assert!(!locs.join("z.loc#3").exists() && locs.join("z.loc").exists());
        assert!(!packs.join(&tmp).exists());
        assert!(packs.join("x.pack").exists(), "finished packs stay");
    }
}
