//! Where the old tool's bytes come from, and the check that they are the
//! bytes it recorded.
//!
//! Every object is copied to a temporary name beside its destination while
//! it is hashed with the old tool's hash (MD5 for DVC, SHA-256 for Git
//! LFS), and renamed into place only when the hash and size match: a
//! corrupt cache entry never reaches the work tree or the cairn cache, and
//! the next source is tried instead. Memory stays bounded: objects are
//! streamed, whatever their size.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use md5::Digest;

use crate::durable::TMP_PREFIX;
use crate::error::{Error, Result};
use crate::format::import_map::Scheme;

/// The hash and size an object must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    pub scheme: Scheme,
    /// Lowercase hex of the hash (without DVC's `.dir`).
    pub hex: String,
    pub size: Option<u64>,
}

enum AnyHasher {
    Md5(md5::Md5),
    Sha256(sha2::Sha256),
}

impl AnyHasher {
    fn new(scheme: Scheme) -> AnyHasher {
        match scheme {
            Scheme::Md5 => AnyHasher::Md5(md5::Md5::new()),
            Scheme::Sha256 => AnyHasher::Sha256(sha2::Sha256::new()),
        }
    }

    fn update(&mut self, b: &[u8]) {
        match self {
            AnyHasher::Md5(h) => h.update(b),
            AnyHasher::Sha256(h) => h.update(b),
        }
    }

    fn hex(self) -> String {
        let bytes: Vec<u8> = match self {
            AnyHasher::Md5(h) => h.finalize().to_vec(),
            AnyHasher::Sha256(h) => h.finalize().to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A writer that hashes what passes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: AnyHasher,
    len: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Whether the file at `path` has the expected hash (and size).
pub fn matches(path: &Path, want: &Expect) -> Result<bool> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io("stat", path, e)),
    };
    if want.size.is_some_and(|s| s != meta.len()) {
        return Ok(false);
    }
    let mut f = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut w = HashingWriter {
        inner: std::io::sink(),
        hasher: AnyHasher::new(want.scheme),
        len: 0,
    };
    std::io::copy(&mut f, &mut w).map_err(|e| Error::io("read", path, e))?;
    Ok(w.hasher.hex() == want.hex)
}

/// What a copy found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copied {
    /// The bytes matched and are now at the destination.
    Verified,
    /// The source has no such object.
    Absent,
    /// The source's bytes do not have the expected hash; nothing was kept.
    Mismatch,
}

/// A temporary file beside `dest`, removed unless renamed into place.
pub struct Staged {
    path: PathBuf,
    kept: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Copy what `fill` writes into `dest` if its hash matches `want`. `fill`
/// returns `false` when its source has no such object.
pub fn copy_verified(
    dest: &Path,
    want: &Expect,
    fill: &mut dyn FnMut(&mut dyn Write) -> Result<bool>,
) -> Result<Copied> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut staged = Staged {
        path: dir.join(format!("{TMP_PREFIX}import-{}-{name}", std::process::id())),
        kept: false,
    };
    let file = File::create(&staged.path).map_err(|e| Error::io("create", &staged.path, e))?;
    let mut w = HashingWriter {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        hasher: AnyHasher::new(want.scheme),
        len: 0,
    };
    if !fill(&mut w)? {
        return Ok(Copied::Absent);
    }
    w.flush().map_err(|e| Error::io("write", &staged.path, e))?;
    let (len, hex) = (w.len, w.hasher.hex());
    if hex != want.hex || want.size.is_some_and(|s| s != len) {
        return Ok(Copied::Mismatch);
    }
    fs::rename(&staged.path, dest).map_err(|e| Error::io("rename into", dest, e))?;
    staged.kept = true;
    Ok(Copied::Verified)
}

/// Copy the local file `src` into `dest`, verified; `Absent` if there is
/// no such file.
pub fn copy_file_verified(src: &Path, dest: &Path, want: &Expect) -> Result<Copied> {
    let mut f = match File::open(src) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Copied::Absent),
        Err(e) => return Err(Error::io("open", src, e)),
    };
    copy_verified(dest, want, &mut |w| {
        copy_all(&mut f, w).map_err(|e| Error::io("copy", src, e))?;
        Ok(true)
    })
}

fn copy_all(r: &mut dyn Read, w: &mut dyn Write) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(k) => {
                w.write_all(&buf[..k])?;
                n += k as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_kept_only_when_its_hash_matches() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::write(&src, b"hello\n").unwrap();
        let good = Expect {
            scheme: Scheme::Md5,
            hex: "b1946ac92492d2347c6235b4d2611184".into(),
            size: Some(6),
        };
        let dest = dir.path().join("sub/dest");
        assert_eq!(
            copy_file_verified(&src, &dest, &good).unwrap(),
            Copied::Verified
        );
        assert_eq!(fs::read(&dest).unwrap(), b"hello\n");
        assert!(matches(&dest, &good).unwrap());
        let sha = Expect {
            scheme: Scheme::Sha256,
            hex: "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03".into(),
            size: Some(6),
        };
        assert!(matches(&dest, &sha).unwrap());
        let bad = Expect {
            hex: "0".repeat(32),
            ..good.clone()
        };
        let other = dir.path().join("other");
        assert_eq!(
            copy_file_verified(&src, &other, &bad).unwrap(),
            Copied::Mismatch
        );
        assert!(!other.exists());
        let wrong_size = Expect {
            size: Some(5),
            ..good.clone()
        };
        assert_eq!(
            copy_file_verified(&src, &other, &wrong_size).unwrap(),
            Copied::Mismatch
        );
        assert_eq!(
            copy_file_verified(&dir.path().join("nope"), &other, &good).unwrap(),
            Copied::Absent
        );
        // No temporary file is left behind.
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "src and sub/: {left:?}");
        assert_eq!(fs::read_dir(dir.path().join("sub")).unwrap().count(), 1);
    }
}
