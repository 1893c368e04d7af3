//! How a push checks a cache pack it sends whole (FORMAT.md §15.3 step 4):
//! by the pack's sum (§6.8) when it has one that matches, else by decoding
//! every blob, which alone ever calls the pack damaged.
//!
//! To a folder the pack is copied in the kernel, so it is summed from the
//! file (a page-cache read) just before the copy. To an object store the
//! upload reads the file anyway: its bytes are summed as they are read, and
//! the upload completes only if they match; if they do not, nothing becomes
//! visible (a single PUT is not sent, a multipart upload is aborted), the
//! blobs are checked one by one, and the pack is sent again only if they
//! all pass. Either way a stale sum costs time, never a wrong verdict.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::Connection;
use crate::error::{Error, Result};
use crate::format::pack::Entry;
use crate::store::packsum::{self, PackSum, Summer};
use crate::store::{SealedPack, Store};

/// How many whole packs a push checked each way.
#[derive(Debug, Default)]
pub struct Checked {
    pub by_sum: AtomicUsize,
    pub by_decode: AtomicUsize,
}

impl Checked {
    pub fn counts(&self) -> (usize, usize) {
        (
            self.by_sum.load(Ordering::Relaxed),
            self.by_decode.load(Ordering::Relaxed),
        )
    }
}

/// Check `pack` before it is handed to the uploader. Returns the sum the
/// upload must check the bytes it reads against (object stores), or `None`
/// once the pack is checked here (by sum for a folder, or blob by blob).
pub fn before_upload(
    conn: &Connection,
    store: &Store,
    pack: &SealedPack,
    checked: &Checked,
) -> Result<Option<PackSum>> {
    if conn.backend.folder.is_none() {
        if let Some(sum) = packsum::read_sum(&pack.path).filter(|s| s.len == pack.len) {
            return Ok(Some(sum));
        }
    } else if packsum::matches(&pack.path)? {
        checked.by_sum.fetch_add(1, Ordering::Relaxed);
        return Ok(None);
    }
    store.check_pack(pack)?;
    checked.by_decode.fetch_add(1, Ordering::Relaxed);
    Ok(None)
}

/// Upload the cache pack at `path` to `rel` on an object store, its bytes
/// checked against `sum` as they are read; when they differ, check its
/// `entries` blob by blob and, if they pass, upload it as it is.
pub async fn put_checked(
    conn: &Connection,
    store: &Store,
    rel: &str,
    path: &Path,
    entries: &[Entry],
    sum: &PackSum,
    checked: &Checked,
) -> Result<()> {
    if put_summed(conn, rel, path, sum).await? {
        checked.by_sum.fetch_add(1, Ordering::Relaxed);
        return Ok(());
    }
    entries
        .par_iter()
        .try_for_each(|e| store.read_encoded(path, e).map(|_| ()))?;
    checked.by_decode.fetch_add(1, Ordering::Relaxed);
    conn.put_file_async(rel, path, sum.len).await
}

/// Upload `sum.len` bytes of `path`, completing the upload only if they
/// match `sum`. `Ok(false)`: they did not, and nothing became visible.
async fn put_summed(conn: &Connection, rel: &str, path: &Path, sum: &PackSum) -> Result<bool> {
    let file = File::open(path).map_err(|e| Error::io("open pack", path, e))?;
    let mut reader = SummedReader {
        file,
        summer: Summer::default(),
        expect: *sum,
        mismatch: false,
    };
    if sum.len < super::MULTIPART_MIN {
        let mut buf = vec![0u8; sum.len as usize];
        match reader.read_exact(&mut buf) {
            Ok(()) => {}
            Err(_) if reader.mismatch => return Ok(false),
            Err(e) => return Err(Error::io("read pack", path, e)),
        }
        conn.put_async(rel, buf).await?;
        return Ok(true);
    }
    let read_err = |e| Error::io("read pack", path, e);
    match conn
        .put_multipart_from(rel, &mut reader, sum.len, read_err)
        .await
    {
        Ok(()) => Ok(true),
        // The upload was aborted before it completed.
        Err(_) if reader.mismatch => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads a pack for upload, summing what it hands out; the read that
/// brings the total to the sum's length fails if the bytes do not match,
/// so the upload aborts before it completes. A file shorter than the sum
/// says is a mismatch too.
struct SummedReader {
    file: File,
    summer: Summer,
    expect: PackSum,
    mismatch: bool,
}

impl Read for SummedReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let done = self.summer.bytes();
        let want = buf.len().min((self.expect.len - done) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read(&mut buf[..want])?;
        self.summer.update(&buf[..n]);
        let short = n == 0;
        let end = self.summer.bytes() == self.expect.len;
        if short || (end && self.summer.finish() != self.expect) {
            self.mismatch = true;
            return Err(std::io::Error::other("the pack does not match its sum"));
        }
        Ok(n)
    }
}
