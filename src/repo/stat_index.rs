//! The stat index: what cairn last knew about each tracked file.
//!
//! Like git's index, it maps a path to the (size, mtime, ctime, inode, mode)
//! it had when cairn last hashed or wrote it, plus its id. If a file's stat
//! still matches, its content is assumed unchanged and is not read, which
//! makes `status` and re-`add` of an unchanged tree cost one `lstat` per
//! file. A file modified within [`RACY_NS`] of the index being saved is not
//! trusted (the "racy git" problem: coarse timestamps can hide an edit made
//! right after hashing), so it is re-hashed next time.
//!
//! The index is only a cache. It is written atomically and checksummed; a
//! damaged one is reported rather than silently trusted.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::hash::{Id, ID_LEN};

const MAGIC: &[u8; 4] = b"CSTX";
const VERSION: u32 = 1;
/// Files modified less than this long before the index was saved are racy.
pub const RACY_NS: i64 = 2_000_000_000;

/// The stat fields that must all match for a file to count as unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
    pub exec: bool,
}

impl Stat {
    pub fn of(m: &fs::Metadata) -> Stat {
        Stat {
            size: m.len(),
            mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
            ino: m.ino(),
            exec: m.mode() & 0o111 != 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub stat: Stat,
    pub id: Id,
}

#[derive(Debug)]
pub struct StatIndex {
    path: PathBuf,
    saved_at_ns: i64,
    files: HashMap<String, Record>,
    dirty: bool,
}

pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

impl StatIndex {
    /// Load the index at `path`; a missing file is an empty index.
    pub fn load(path: &Path) -> Result<StatIndex> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(StatIndex {
                    path: path.to_path_buf(),
                    saved_at_ns: 0,
                    files: HashMap::new(),
                    dirty: false,
                })
            }
            Err(e) => return Err(Error::io("read stat index", path, e)),
        };
        let corrupt = |reason| Error::StatIndexCorrupt {
            path: path.to_path_buf(),
            reason,
        };
        if bytes.len() < 52 {
            return Err(corrupt("truncated"));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 32);
        if blake3::hash(body).as_bytes() != sum {
            return Err(corrupt("checksum mismatch"));
        }
        if &body[..4] != MAGIC {
            return Err(corrupt("bad magic"));
        }
        if u32::from_le_bytes(body[4..8].try_into().expect("4")) != VERSION {
            return Err(corrupt("unknown version"));
        }
        let saved_at_ns = i64::from_le_bytes(body[8..16].try_into().expect("8"));
        let count = u32::from_le_bytes(body[16..20].try_into().expect("4")) as usize;
        let mut b = &body[20..];
        // The count is untrusted: never reserve more than the bytes could hold
        // (an entry is at least 67 bytes).
        let mut files = HashMap::with_capacity(count.min(body.len() / 67));
        let mut take = |n: usize| -> Result<&[u8]> {
            if b.len() < n {
                return Err(corrupt("truncated entry"));
            }
            let (h, t) = b.split_at(n);
            b = t;
            Ok(h)
        };
        for _ in 0..count {
            let len = u16::from_le_bytes(take(2)?.try_into().expect("2")) as usize;
            let p = std::str::from_utf8(take(len)?)
                .map_err(|_| corrupt("path is not UTF-8"))?
                .to_string();
            let f = take(8 * 4 + 1 + ID_LEN)?;
            let u = |i: usize| u64::from_le_bytes(f[i * 8..i * 8 + 8].try_into().expect("8"));
            let stat = Stat {
                size: u(0),
                mtime_ns: u(1) as i64,
                ctime_ns: u(2) as i64,
                ino: u(3),
                exec: f[32] != 0,
            };
            let mut id = [0u8; ID_LEN];
            id.copy_from_slice(&f[33..]);
            files.insert(p, Record { stat, id: Id(id) });
        }
        if !take(0)?.is_empty() {
            return Err(corrupt("trailing bytes"));
        }
        Ok(StatIndex {
            path: path.to_path_buf(),
            saved_at_ns,
            files,
            dirty: false,
        })
    }

    /// The id of `path` if its current `stat` matches what was recorded and
    /// the record is not racy.
    pub fn lookup(&self, path: &str, stat: &Stat) -> Option<Id> {
        let r = self.files.get(path)?;
        (r.stat == *stat && r.stat.mtime_ns < self.saved_at_ns - RACY_NS).then_some(r.id)
    }

    pub fn get(&self, path: &str) -> Option<&Record> {
        self.files.get(path)
    }

    pub fn insert(&mut self, path: String, stat: Stat, id: Id) {
        let rec = Record { stat, id };
        if self.files.get(&path) != Some(&rec) {
            self.files.insert(path, rec);
            self.dirty = true;
        }
    }

    /// Forget `path` and, if it is a directory, everything below it.
    pub fn remove_tree(&mut self, path: &str) {
        let prefix = format!("{path}/");
        let before = self.files.len();
        self.files
            .retain(|p, _| p != path && !p.starts_with(&prefix));
        self.dirty |= self.files.len() != before;
    }

    /// Paths recorded at or below `path`.
    pub fn paths_under<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let prefix = format!("{path}/");
        self.files
            .keys()
            .filter(move |p| *p == path || p.starts_with(&prefix))
            .map(|s| s.as_str())
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Whether an entry would need re-validation because it is racy.
    pub fn is_dirty(&self) -> bool {
        self.dirty
            || self
                .files
                .values()
                .any(|r| r.stat.mtime_ns >= self.saved_at_ns - RACY_NS)
    }

    /// Write the index atomically (temp file, fsync, rename).
    pub fn save(&mut self) -> Result<()> {
        let saved_at = now_ns();
        let mut out = Vec::with_capacity(24 + self.files.len() * 100);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&saved_at.to_le_bytes());
        out.extend_from_slice(&(self.files.len() as u32).to_le_bytes());
        let mut paths: Vec<&String> = self.files.keys().collect();
        paths.sort();
        for p in paths {
            let r = &self.files[p];
            out.extend_from_slice(&(p.len() as u16).to_le_bytes());
            out.extend_from_slice(p.as_bytes());
            for v in [
                r.stat.size,
                r.stat.mtime_ns as u64,
                r.stat.ctime_ns as u64,
                r.stat.ino,
            ] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.push(r.stat.exec as u8);
            out.extend_from_slice(r.id.as_bytes());
        }
        let sum = blake3::hash(&out);
        out.extend_from_slice(sum.as_bytes());
        crate::durable::write_atomic(&self.path, &out)?;
        self.saved_at_ns = saved_at;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(mtime_ns: i64) -> Stat {
        Stat {
            size: 5,
            mtime_ns,
            ctime_ns: mtime_ns,
            ino: 42,
            exec: false,
        }
    }

    #[test]
    fn save_load_lookup_and_racy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        let mut idx = StatIndex::load(&path).unwrap();
        let old = stat(1_000);
        let fresh = stat(now_ns());
        idx.insert("a/b.txt".into(), old, Id::of(b"a"));
        idx.insert("c".into(), fresh, Id::of(b"c"));
        idx.save().unwrap();
        let idx = StatIndex::load(&path).unwrap();
        assert_eq!(idx.lookup("a/b.txt", &old), Some(Id::of(b"a")));
        assert_eq!(idx.lookup("a/b.txt", &stat(1_001)), None);
        assert_eq!(
            idx.lookup("c", &fresh),
            None,
            "racy entries are not trusted"
        );
        assert_eq!(idx.paths_under("a").count(), 1);
    }

    #[test]
    fn damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        let mut idx = StatIndex::load(&path).unwrap();
        idx.insert("x".into(), stat(1), Id::of(b"x"));
        idx.save().unwrap();
        let mut b = fs::read(&path).unwrap();
        b[22] ^= 0xff;
        fs::write(&path, &b).unwrap();
        assert!(matches!(
            StatIndex::load(&path),
            Err(Error::StatIndexCorrupt { .. })
        ));
    }
}
