//! `lstat` of the files of a walk, relative to their directory.
//!
//! `std`'s `DirEntry::metadata` looks the file up by its full path, so
//! every file of a deep tree costs a lookup of each component on the way
//! (a fifth of `cairn status` of 20,000 unchanged files went to the
//! kernel's path walk). Opening each directory once and asking
//! `fstatat(dir, name)` looks up one name per file. The result is the
//! same `Stat` the stat index records, so it compares exactly as
//! `Stat::of(&fs::symlink_metadata(path))` would.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::repo::stat_index::Stat;

/// What status needs of one file's `lstat`.
#[derive(Debug, Clone, Copy)]
pub struct Lstat {
    pub stat: Stat,
    /// `st_mode`: type and permission bits.
    pub mode: u32,
}

impl Lstat {
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }
}

/// The parent directories of a batch of paths, each opened once, and
/// which one each path is in.
pub struct Parents {
    dirs: Vec<File>,
    of: Vec<usize>,
}

impl Parents {
    /// Open the parent of every path of `paths`; consecutive paths in one
    /// directory (a walk's order) share its descriptor.
    pub fn open(paths: &[PathBuf]) -> io::Result<Parents> {
        let mut dirs = Vec::new();
        let mut of = Vec::with_capacity(paths.len());
        let mut last: Option<&Path> = None;
        for p in paths {
            let parent = p.parent().unwrap_or(Path::new("/"));
            if last != Some(parent) {
                let dir = std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
                    .open(parent)?;
                dirs.push(dir);
                last = Some(parent);
            }
            of.push(dirs.len() - 1);
        }
        Ok(Parents { dirs, of })
    }

    /// `lstat` of `paths[i]` (as given to [`Parents::open`]), by its name
    /// in its open parent.
    pub fn lstat(&self, i: usize, path: &Path) -> io::Result<Lstat> {
        let name = path.file_name().ok_or(io::ErrorKind::InvalidInput)?;
        let name = CString::new(name.as_bytes()).map_err(|_| io::ErrorKind::InvalidInput)?;
        let dir = &self.dirs[self.of[i]];
        let mut st = MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `name` is a NUL-terminated string and `st` a buffer of
        // the size fstatat writes, which it fills completely on success.
        let r = unsafe {
            libc::fstatat(
                dir.as_raw_fd(),
                name.as_ptr(),
                st.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fstatat returned 0, so it wrote the whole struct.
        let st = unsafe { st.assume_init() };
        Ok(Lstat {
            stat: Stat {
                size: st.st_size as u64,
                mtime_ns: st.st_mtime * 1_000_000_000 + st.st_mtime_nsec,
                ctime_ns: st.st_ctime * 1_000_000_000 + st.st_ctime_nsec,
                ino: st.st_ino,
                exec: st.st_mode & 0o111 != 0,
            },
            mode: st.st_mode,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn same_stat_as_by_full_path() {
        let d = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for (i, sub) in ["a", "a", "b/c", "a"].iter().enumerate() {
            let dir = d.path().join(sub);
            std::fs::create_dir_all(&dir).unwrap();
            let p = dir.join(format!("f{i}"));
            std::fs::write(&p, vec![b'x'; i * 100]).unwrap();
            paths.push(p);
        }
        std::fs::set_permissions(&paths[1], std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("f0", d.path().join("a/link")).unwrap();
        paths.push(d.path().join("a/link"));
        let parents = Parents::open(&paths).unwrap();
        // "a", "b/c", "a" again (not consecutive), "a" for the link.
        assert_eq!(parents.dirs.len(), 3);
        for (i, p) in paths.iter().enumerate() {
            let got = parents.lstat(i, p).unwrap();
            let meta = std::fs::symlink_metadata(p).unwrap();
            assert_eq!(got.stat, Stat::of(&meta), "{p:?}");
            assert_eq!(got.is_file(), meta.is_file(), "{p:?}");
            assert_eq!(got.mode & 0o7777, meta.permissions().mode() & 0o7777);
        }
        std::fs::remove_file(&paths[0]).unwrap();
        let err = parents.lstat(0, &paths[0]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
