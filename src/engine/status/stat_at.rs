//! Directories of a status walk, each opened once and read by descriptor.
//!
//! `std`'s walk costs allocations per file (a `DirEntry` holding its name,
//! a `PathBuf` per path) and looks every file up by its full path, one
//! component at a time (a fifth of `cairn status` of 20,000 unchanged files
//! once went to the kernel's path walk). Here a directory is opened once
//! relative to its parent, its names are read in one pass into one buffer,
//! and each file is `lstat`ed by name relative to the open directory
//! (`fstatat`). The result is the same `Stat` the stat index records, so it
//! compares exactly as `Stat::of(&fs::symlink_metadata(path))` would.

use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

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

    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }
}

/// An open directory (never a symbolic link to one).
#[derive(Debug)]
pub struct Dir(OwnedFd);

/// The names of a directory, each NUL-terminated in one buffer.
#[derive(Debug, Default)]
pub struct Names {
    bytes: Vec<u8>,
    /// Start and length (without the NUL) of each name, and whether the
    /// directory entry says it is a directory (`None`: it does not say).
    items: Vec<(u32, u32, Option<bool>)>,
}

impl Names {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Name `i`, without its NUL.
    pub fn name(&self, i: usize) -> &[u8] {
        let (at, len, _) = self.items[i];
        &self.bytes[at as usize..(at + len) as usize]
    }

    /// Name `i` for a system call.
    pub fn c_name(&self, i: usize) -> &CStr {
        let (at, len, _) = self.items[i];
        // Each name was stored with its NUL, and names hold no other NUL.
        CStr::from_bytes_with_nul(&self.bytes[at as usize..=(at + len) as usize]).unwrap_or(c"")
    }

    /// Whether the directory entry says name `i` is a directory.
    pub fn is_dir(&self, i: usize) -> Option<bool> {
        self.items[i].2
    }

    pub fn set_is_dir(&mut self, i: usize, dir: bool) {
        self.items[i].2 = Some(dir);
    }

    /// Add the names of `linux_dirent64` records: inode (8 bytes), offset
    /// (8), record length (2), type (1), then the NUL-terminated name.
    fn parse(&mut self, mut recs: &[u8]) -> io::Result<()> {
        const NAME_AT: usize = 19;
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed directory record");
        while !recs.is_empty() {
            let len = match recs.get(16..18) {
                Some(l) => u16::from_ne_bytes([l[0], l[1]]) as usize,
                None => return Err(bad()),
            };
            let rec = recs.get(..len).filter(|_| len > NAME_AT).ok_or_else(bad)?;
            let raw = &rec[NAME_AT..];
            let name = &raw[..raw.iter().position(|&b| b == 0).ok_or_else(bad)?];
            recs = &recs[len..];
            if name == b"." || name == b".." {
                continue;
            }
            let is_dir = match rec[18] {
                libc::DT_UNKNOWN => None,
                t => Some(t == libc::DT_DIR),
            };
            let at = self.bytes.len() as u32;
            self.bytes.extend_from_slice(name);
            self.bytes.push(0);
            self.items.push((at, name.len() as u32, is_dir));
        }
        Ok(())
    }
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

const OPEN_DIR: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

impl Dir {
    /// Open directory `path` (its last component must not be a link).
    pub fn open(path: &Path) -> io::Result<Dir> {
        let c =
            CString::new(path.as_os_str().as_bytes()).map_err(|_| io::ErrorKind::InvalidInput)?;
        // SAFETY: `c` is NUL-terminated; the descriptor returned is owned
        // by nothing else.
        let fd = cvt(unsafe { libc::open(c.as_ptr(), OPEN_DIR) })?;
        // SAFETY: `fd` was just opened and is not closed elsewhere.
        Ok(Dir(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Open subdirectory `name` (not a link).
    pub fn open_at(&self, name: &CStr) -> io::Result<Dir> {
        // SAFETY: as in `open`, relative to our open descriptor.
        let fd = cvt(unsafe { libc::openat(self.0.as_raw_fd(), name.as_ptr(), OPEN_DIR) })?;
        // SAFETY: `fd` was just opened and is not closed elsewhere.
        Ok(Dir(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Every name in the directory but `.` and `..`, in the order the file
    /// system gives them: `getdents64` straight into one buffer (a
    /// `DIR` stream would cost a `dup`, three `fcntl`s and a `close` more
    /// per directory, and a copy of every name).
    pub fn names(&self) -> io::Result<Names> {
        // One buffer per thread for every directory it reads: a zeroed
        // 32 KiB per directory was a `memset` and fresh pages for each of
        // a tree's hundreds of directories.
        thread_local! {
            static DENTS: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        DENTS.with_borrow_mut(|buf| {
            if buf.is_empty() {
                buf.resize(32 << 10, 0);
            }
            let mut names = Names::default();
            loop {
                // SAFETY: the kernel writes at most `buf.len()` bytes of
                // whole records into `buf`, and returns how many.
                let n = unsafe {
                    libc::syscall(
                        libc::SYS_getdents64,
                        self.0.as_raw_fd(),
                        buf.as_mut_ptr(),
                        buf.len(),
                    )
                };
                if n < 0 {
                    return Err(io::Error::last_os_error());
                }
                if n == 0 {
                    return Ok(names);
                }
                names.parse(&buf[..n as usize])?;
            }
        })
    }

    /// `lstat` of `name` in this directory.
    pub fn lstat(&self, name: &CStr) -> io::Result<Lstat> {
        let mut st = MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `name` is NUL-terminated and `st` a buffer of the size
        // fstatat writes, which it fills completely on success.
        cvt(unsafe {
            libc::fstatat(
                self.0.as_raw_fd(),
                name.as_ptr(),
                st.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })?;
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

    /// `lstat` of `name` given without its NUL (a name is at most 255
    /// bytes on Linux, so it is copied to the stack, not the heap).
    pub fn lstat_name(&self, name: &[u8]) -> io::Result<Lstat> {
        let mut buf = [0u8; 256];
        if name.len() < buf.len() {
            buf[..name.len()].copy_from_slice(name);
            let c = CStr::from_bytes_with_nul(&buf[..=name.len()])
                .map_err(|_| io::ErrorKind::InvalidInput)?;
            return self.lstat(c);
        }
        let c = CString::new(name).map_err(|_| io::ErrorKind::InvalidInput)?;
        self.lstat(&c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn names_and_stats_match_std() {
        let d = tempfile::tempdir().unwrap();
        let mut want = Vec::new();
        // More names than one 32 KiB read of the directory returns.
        for i in 0..2_000 {
            let p = d.path().join(format!("f{i}"));
            std::fs::write(&p, vec![b'x'; i % 300]).unwrap();
            want.push(format!("f{i}"));
        }
        std::fs::set_permissions(d.path().join("f1"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/inner"), "y").unwrap();
        std::os::unix::fs::symlink("f0", d.path().join("link")).unwrap();
        want.extend(["sub".to_string(), "link".to_string()]);
        let long = "n".repeat(255);
        std::fs::write(d.path().join(&long), "z").unwrap();
        want.push(long);
        want.sort();

        let dir = Dir::open(d.path()).unwrap();
        let names = dir.names().unwrap();
        let mut got: Vec<String> = (0..names.len())
            .map(|i| String::from_utf8(names.name(i).to_vec()).unwrap())
            .collect();
        got.sort();
        assert_eq!(got, want);
        for i in 0..names.len() {
            let p = d.path().join(std::ffi::OsStr::from_bytes(names.name(i)));
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let st = dir.lstat(names.c_name(i)).unwrap();
            assert_eq!(st.stat, Stat::of(&meta), "{p:?}");
            assert_eq!(st.is_file(), meta.is_file(), "{p:?}");
            assert_eq!(st.is_dir(), meta.is_dir(), "{p:?}");
            assert_eq!(st.mode & 0o7777, meta.permissions().mode() & 0o7777);
            assert_eq!(dir.lstat_name(names.name(i)).unwrap().stat, st.stat);
            if let Some(is_dir) = names.is_dir(i) {
                assert_eq!(is_dir, meta.is_dir(), "{p:?}");
            }
        }
        let sub = dir.open_at(c"sub").unwrap();
        let inner = sub.names().unwrap();
        assert_eq!(inner.len(), 1);
        assert_eq!(inner.name(0), b"inner");
        // A link is never followed to a directory.
        std::os::unix::fs::symlink("sub", d.path().join("dirlink")).unwrap();
        assert!(dir.open_at(c"dirlink").is_err());
        let err = dir.lstat(c"gone").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
