//! Spooled uploads: what a push produces that can be large (a repacked
//! pack, the locator of a root of a million files) is written to an
//! anonymous temporary file in the cache directory and uploaded from there,
//! so it is never held in memory whole, nor once per upload in flight.
//!
//! The file has no name (`O_TMPFILE` where the file system has it, else
//! created and unlinked at once), so nothing of it outlives the process,
//! even one that is killed: spooling adds no durable step and leaves
//! nothing to clean up, and a concurrent command cleaning the cache's
//! `tmp/` cannot remove it under the push. An upload from a spool is whole
//! or invisible exactly as one from memory or from a local pack.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::Connection;
use crate::error::{Error, Result};
use crate::remote::MULTIPART_MIN;

/// Bytes written to an anonymous temporary file, ready to upload.
#[derive(Debug)]
pub struct Spool {
    file: File,
    len: u64,
    /// Where the file was made (for error messages).
    dir: PathBuf,
}

/// Writes a [`Spool`]; buffered, and counting what it wrote.
pub struct SpoolWriter {
    out: BufWriter<File>,
    len: u64,
    dir: PathBuf,
}

impl SpoolWriter {
    /// A new anonymous file in `dir` (the cache directory: on the same
    /// file system as the packs, not in a RAM-backed `/tmp`).
    pub fn new(dir: &Path) -> Result<SpoolWriter> {
        let file = tempfile::tempfile_in(dir)
            .map_err(|e| Error::io("create a temporary file in", dir, e))?;
        Ok(SpoolWriter {
            out: BufWriter::with_capacity(1 << 16, file),
            len: 0,
            dir: dir.to_path_buf(),
        })
    }

    /// Everything written, flushed, ready to upload.
    pub fn finish(self) -> Result<Spool> {
        let dir = self.dir;
        let file = self
            .out
            .into_inner()
            .map_err(|e| Error::io("write a temporary file in", &dir, e.into_error()))?;
        Ok(Spool {
            file,
            len: self.len,
            dir,
        })
    }
}

impl Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl Spool {
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Fill `buf` from offset `at`.
    pub fn read_at(&self, buf: &mut [u8], at: u64) -> Result<()> {
        use std::os::unix::fs::FileExt;
        self.file
            .read_exact_at(buf, at)
            .map_err(|e| Error::io("read a temporary file in", &self.dir, e))
    }

    /// A reader from the start.
    pub fn reader(mut self) -> Result<File> {
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(|e| Error::io("read a temporary file in", &self.dir, e))?;
        Ok(self.file)
    }

    /// Copy it to `path`, atomically and durably (the file appears whole
    /// or not at all; mode 0666 less the umask, as `durable::write_atomic`).
    pub fn copy_to(&mut self, path: &Path) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(crate::durable::TMP_PREFIX)
            .permissions(std::fs::Permissions::from_mode(0o666))
            .tempfile_in(dir)
            .map_err(|e| Error::io("create temporary file in", dir, e))?;
        self.file
            .seek(SeekFrom::Start(0))
            .and_then(|_| std::io::copy(&mut (&mut self.file).take(self.len), tmp.as_file_mut()))
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| Error::io("write", path, e))?;
        tmp.persist(path)
            .map_err(|e| Error::io("replace", path, e.error))?;
        Ok(())
    }

    /// Everything in it.
    #[cfg(test)]
    pub fn read_all(&mut self) -> Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(self.len as usize);
        self.file
            .seek(SeekFrom::Start(0))
            .and_then(|_| (&mut self.file).take(self.len).read_to_end(&mut buf))
            .map_err(|e| Error::io("read a temporary file in", &self.dir, e))?;
        Ok(buf)
    }
}

/// What an upload sends: bytes in memory, or a spool.
#[derive(Debug)]
pub enum Body {
    Bytes(Vec<u8>),
    Spooled(Spool),
}

impl Body {
    /// Bytes it holds in memory.
    pub fn held(&self) -> usize {
        match self {
            Body::Bytes(b) => b.len(),
            Body::Spooled(_) => 0,
        }
    }

    /// Everything in it.
    #[cfg(test)]
    pub fn into_bytes(self) -> Result<Vec<u8>> {
        match self {
            Body::Bytes(b) => Ok(b),
            Body::Spooled(mut s) => s.read_all(),
        }
    }
}

impl Connection {
    /// Upload `body` to `rel`, whole or not at all.
    pub(super) async fn put_body_async(&self, rel: &str, body: Body) -> Result<()> {
        match body {
            Body::Bytes(b) => self.put_async(rel, b).await,
            Body::Spooled(mut s) => self.put_spool_async(rel, &mut s).await,
        }
    }

    /// Upload a spool to `rel`: on a folder remote an in-kernel copy under
    /// a temporary name, then a rename; on an object store one PUT, or a
    /// multipart upload read part by part when it is large.
    pub(super) async fn put_spool_async(&self, rel: &str, spool: &mut Spool) -> Result<()> {
        let Spool { file, len, dir } = spool;
        let (len, dir) = (*len, &*dir);
        let read_err = |e| Error::io("read a temporary file in", dir, e);
        file.seek(SeekFrom::Start(0)).map_err(read_err)?;
        if let Some(root) = &self.backend.folder {
            self.write();
            let dest = root.join(rel);
            let parent = dest.parent().unwrap_or(root);
            std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
            let mut tmp = tempfile::Builder::new()
                .prefix(crate::durable::TMP_PREFIX)
                .tempfile_in(parent)
                .map_err(|e| Error::io("create a file in", parent, e))?;
            std::io::copy(&mut file.take(len), tmp.as_file_mut())
                .map_err(|e| Error::io("copy to", &dest, e))?;
            tmp.persist(&dest)
                .map_err(|e| Error::io("rename to", &dest, e.error))?;
            return Ok(());
        }
        if len < MULTIPART_MIN {
            let mut buf = Vec::with_capacity(len as usize);
            file.take(len).read_to_end(&mut buf).map_err(read_err)?;
            return self.put_async(rel, buf).await;
        }
        self.put_multipart_from(rel, file, len, read_err).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spool_reads_back_what_was_written_and_leaves_no_file() {
        let d = tempfile::tempdir().unwrap();
        let mut w = SpoolWriter::new(d.path()).unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
        for c in data.chunks(999) {
            w.write_all(c).unwrap();
        }
        let mut s = w.finish().unwrap();
        assert_eq!(s.len(), data.len() as u64);
        assert_eq!(s.read_all().unwrap(), data);
        // Read twice: each read starts from the beginning.
        assert_eq!(Body::Spooled(s).into_bytes().unwrap(), data);
        // Nothing named was left in the directory.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }
}
