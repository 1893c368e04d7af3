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

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::backend::remote_error;
use super::index::PACK_DIR;
use super::ResolvedRemote;
use crate::error::{Error, Result};

/// Bytes `range` of the file at `rel` in folder remote `dir`. A missing
/// file is the remote's "not found", as from any other remote.
pub fn read_range(
    remote: &ResolvedRemote,
    dir: &Path,
    rel: &str,
    range: Range<u64>,
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
    let mut buf = Vec::with_capacity(len as usize);
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
            b"234"
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
