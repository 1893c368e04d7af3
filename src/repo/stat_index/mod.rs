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
//!
//! Memory does not grow with the number of files: the loaded file stays on
//! disk as a sorted `run::Run` read a block at a time, changes sit in a
//! small sorted overlay that spills to more runs when it grows, and a save
//! merges them all into a new file in one pass.
//!
//! Beside the files it also keeps, per tracked directory, the listing its
//! records were last seen to form (`dirs.rs`), so a clean directory is
//! settled by the stat of its files alone, without rebuilding its listing.

mod dirs;
mod ordered;
mod run;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::ops::Bound;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::hash::Id;
pub use dirs::DirRecord;
pub use ordered::Ordered;
use run::{Cursor, Run, Scanner, Writer};

const MAGIC: &[u8; 4] = b"CSTX";
/// Written when no directory record is kept, byte for byte what cairn
/// wrote before directory records existed (so an older cairn still reads
/// it); [`VERSION_DIRS`] adds the directory records after the entries.
const VERSION: u32 = 1;
const VERSION_DIRS: u32 = 2;
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

/// Changed records kept in memory before they are spilled to a run.
const SPILL_AT: usize = 1 << 15;
/// Header bytes before the first entry, and the checksum after the last.
const HEADER: u64 = 20;
const SUM: u64 = 32;

#[derive(Debug)]
pub struct StatIndex {
    path: PathBuf,
    saved_at_ns: i64,
    /// The runs on disk, oldest first: the loaded file (if any), then
    /// spilled overlays. A later run wins over an earlier one.
    runs: Vec<Run>,
    /// Records changed since the last spill; they win over every run.
    overlay: BTreeMap<String, Record>,
    /// Trees removed: path → number of runs whose records at or below it
    /// are hidden (runs created later are not).
    removed: BTreeMap<String, usize>,
    /// Tracked directories whose records form a known listing (`dirs.rs`).
    dirs: BTreeMap<String, DirRecord>,
    /// Whether a record loaded from the file is racy.
    racy: bool,
    dirty: bool,
}

pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// A merge of every layer, in path order, from a lower bound on.
struct Merged<'a> {
    idx: &'a StatIndex,
    overlay: std::iter::Peekable<std::collections::btree_map::Range<'a, String, Record>>,
    cursors: Vec<Cursor<'a>>,
}

impl Iterator for Merged<'_> {
    type Item = (String, Record);

    fn next(&mut self) -> Option<(String, Record)> {
        loop {
            // The smallest path of any layer, and the newest layer with it.
            let mut best: Option<(String, Option<usize>)> =
                self.overlay.peek().map(|(p, _)| ((*p).clone(), None));
            for (layer, c) in self.cursors.iter().enumerate() {
                if let Some(p) = c.peek() {
                    if best
                        .as_ref()
                        .is_none_or(|(b, _)| p.as_bytes() < b.as_bytes())
                    {
                        best = Some((p.to_string(), Some(layer)));
                    }
                }
            }
            let (path, _) = best?;
            let mut rec = None;
            if self.overlay.peek().is_some_and(|(p, _)| **p == path) {
                rec = self.overlay.next().map(|(_, r)| *r);
            }
            for layer in (0..self.cursors.len()).rev() {
                let c = &mut self.cursors[layer];
                if c.peek() == Some(path.as_str()) {
                    if rec.is_none() && !self.idx.hidden(&path, layer) {
                        rec = c.record();
                    }
                    c.advance();
                }
            }
            if let Some(r) = rec {
                return Some((path, r));
            }
        }
    }
}

fn corrupt(path: &Path, reason: &'static str) -> Error {
    Error::StatIndexCorrupt {
        path: path.to_path_buf(),
        reason,
    }
}

impl StatIndex {
    fn empty(path: &Path) -> StatIndex {
        StatIndex {
            path: path.to_path_buf(),
            saved_at_ns: 0,
            runs: Vec::new(),
            overlay: BTreeMap::new(),
            removed: BTreeMap::new(),
            dirs: BTreeMap::new(),
            racy: false,
            dirty: false,
        }
    }

    /// Load the index at `path`; a missing file is an empty index. The
    /// whole file is read once, to check it; records are read again, a
    /// block at a time, only when asked for.
    pub fn load(path: &Path) -> Result<StatIndex> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::empty(path)),
            Err(e) => return Err(Error::io("read stat index", path, e)),
        };
        let len = file
            .metadata()
            .map_err(|e| Error::io("read stat index", path, e))?
            .len();
        if len < HEADER + SUM {
            return Err(corrupt(path, "truncated"));
        }
        let end = len - SUM;
        let mut sc = Scanner::new(&file, end);
        let io = |e| Error::io("read stat index", path, e);
        // A structural problem is reported only if the checksum holds, so
        // random damage reads as what it is.
        let parsed = scan(&mut sc, end).map_err(io)?;
        sc.skip_to(end).map_err(io)?;
        let digest = sc.digest();
        if sc.take(SUM as usize).map_err(io)? != digest.as_bytes() {
            return Err(corrupt(path, "checksum mismatch"));
        }
        let got = parsed.map_err(|r| corrupt(path, r))?;
        Ok(StatIndex {
            runs: vec![got.table.finish(file, got.entries_end)],
            saved_at_ns: got.saved_at,
            racy: got.racy,
            dirs: got.dirs,
            ..Self::empty(path)
        })
    }

    /// Whether the records of run `layer` at `path` are hidden by a later
    /// `remove_tree` of it or of a directory above it.
    fn hidden(&self, path: &str, layer: usize) -> bool {
        if self.removed.is_empty() {
            return false;
        }
        let covers = |p: &str| self.removed.get(p).is_some_and(|&n| n > layer);
        path.match_indices('/').any(|(i, _)| covers(&path[..i])) || covers(path)
    }

    /// The id of `path` if its current `stat` matches what was recorded and
    /// the record is not racy.
    pub fn lookup(&self, path: &str, stat: &Stat) -> Option<Id> {
        let r = self.get(path)?;
        (r.stat == *stat && r.stat.mtime_ns < self.saved_at_ns - RACY_NS).then_some(r.id)
    }

    /// The record of `path`. A run that can no longer be read (the disk
    /// failed since it was checked) counts as holding no record, which
    /// only makes cairn read the file again.
    pub fn get(&self, path: &str) -> Option<Record> {
        if let Some(r) = self.overlay.get(path) {
            return Some(*r);
        }
        for (layer, run) in self.runs.iter().enumerate().rev() {
            if self.hidden(path, layer) {
                return None;
            }
            if let Some(r) = run.get(path) {
                return Some(r);
            }
        }
        None
    }

    pub fn insert(&mut self, path: String, stat: Stat, id: Id) {
        let rec = Record { stat, id };
        let before = self.get(&path);
        if before != Some(rec) {
            // New bytes, a new mode or a new path: the directory's records
            // no longer form the listing recorded for it. (A refreshed stat
            // of the same bytes and mode still does.)
            if before.map(|r| (r.id, r.stat.exec)) != Some((id, stat.exec)) {
                self.forget_dirs(&path);
            }
            self.overlay.insert(path, rec);
            self.dirty = true;
            if self.overlay.len() >= SPILL_AT {
                // If the spill fails (a full disk), the records stay in
                // memory: correct, only bigger; the save reports the disk.
                let _ = self.spill();
            }
        }
    }

    /// Move the overlay to a new run in an unnamed temporary file.
    fn spill(&mut self) -> std::io::Result<()> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut w = Writer::new(tempfile::tempfile_in(dir)?, 0);
        for (p, r) in &self.overlay {
            w.entry(p, r)?;
        }
        let (file, end, table) = w.finish()?;
        self.runs.push(table.finish(file, end));
        self.overlay.clear();
        Ok(())
    }

    /// Forget `path` and, if it is a directory, everything below it.
    pub fn remove_tree(&mut self, path: &str) {
        self.forget_dirs(path);
        let inside = format!("{path}/");
        let mut gone = self.overlay.remove(path).is_some();
        let keys: Vec<String> = self
            .overlay
            .range::<str, _>((Bound::Included(inside.as_str()), Bound::Unbounded))
            .take_while(|(p, _)| p.starts_with(&inside))
            .map(|(p, _)| p.clone())
            .collect();
        for k in keys {
            gone |= self.overlay.remove(&k).is_some();
        }
        let on_disk = self.runs.iter().enumerate().any(|(layer, run)| {
            !self.hidden(path, layer)
                && (run.get(path).is_some()
                    || run
                        .cursor(&inside)
                        .peek()
                        .is_some_and(|p| p.starts_with(&inside)))
        });
        if on_disk {
            self.removed.insert(path.to_string(), self.runs.len());
        }
        self.dirty |= gone || on_disk;
    }

    /// Every record from the first path not below `from` on, in order.
    fn merged(&self, from: &str) -> Merged<'_> {
        Merged {
            idx: self,
            overlay: self
                .overlay
                .range::<str, _>((Bound::Included(from), Bound::Unbounded))
                .peekable(),
            cursors: self.runs.iter().map(|r| r.cursor(from)).collect(),
        }
    }

    /// Call `f` with each record at or below `path`, in path order.
    pub fn for_each_under(&self, path: &str, mut f: impl FnMut(&str, &Record)) {
        if let Some(r) = self.get(path) {
            f(path, &r);
        }
        let inside = format!("{path}/");
        for (p, r) in self.merged(&inside) {
            if !p.starts_with(&inside) {
                break;
            }
            f(&p, &r);
        }
    }

    /// Paths recorded at or below `path`, in order.
    pub fn paths_under(&self, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_under(path, |p, _| out.push(p.to_string()));
        out
    }

    /// The number of records (reads them all).
    pub fn len(&self) -> usize {
        self.merged("").count()
    }

    pub fn is_empty(&self) -> bool {
        self.merged("").next().is_none()
    }

    /// Whether the index has changes to save, or an entry would need
    /// re-validation because it is racy.
    pub fn is_dirty(&self) -> bool {
        self.dirty || self.racy
    }

    /// Write the index atomically (temp file, fsync, rename), merging the
    /// loaded file with every change in one pass; the new file is then the
    /// only run.
    pub fn save(&mut self) -> Result<()> {
        let saved_at = now_ns();
        let count = self.merged("").count();
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let io = |e| Error::io("write", &self.path, e);
        let tmp = tempfile::Builder::new()
            .prefix(crate::durable::TMP_PREFIX)
            .tempfile_in(dir)
            .map_err(|e| Error::io("create temporary file in", dir, e))?;
        let (tmp_file, tmp_path) = tmp.into_parts();
        let mut w = Writer::new(tmp_file, 0);
        let version = if self.dirs.is_empty() {
            VERSION
        } else {
            VERSION_DIRS
        };
        w.raw(MAGIC).map_err(io)?;
        w.raw(&version.to_le_bytes()).map_err(io)?;
        w.raw(&saved_at.to_le_bytes()).map_err(io)?;
        w.raw(&(count as u32).to_le_bytes()).map_err(io)?;
        let mut racy = false;
        for (p, r) in self.merged("") {
            racy |= r.stat.mtime_ns >= saved_at - RACY_NS;
            w.entry(&p, &r).map_err(io)?;
        }
        if w.table.count() != count {
            // Cannot happen: both passes merge the same layers.
            return Err(corrupt(&self.path, "records changed while saving"));
        }
        let end = w.pos;
        if version == VERSION_DIRS {
            dirs::write(&mut w, &self.dirs).map_err(io)?;
        }
        w.seal().map_err(io)?;
        let (file, _, table) = w.finish().map_err(io)?;
        file.sync_all().map_err(io)?;
        let tmp = tempfile::NamedTempFile::from_parts(file, tmp_path);
        let file = tmp
            .persist(&self.path)
            .map_err(|e| Error::io("replace", &self.path, e.error))?;
        self.runs = vec![table.finish(file, end)];
        self.overlay.clear();
        self.removed.clear();
        self.saved_at_ns = saved_at;
        self.racy = racy;
        self.dirty = false;
        Ok(())
    }
}

/// What a check of a loaded file found.
struct Scanned {
    saved_at: i64,
    table: run::Table,
    /// Where the entries end (the directory records, if any, follow).
    entries_end: u64,
    /// Whether a record is racy.
    racy: bool,
    dirs: BTreeMap<String, DirRecord>,
}

/// Check the header, entries and directory records of a loaded file up to
/// byte `end`, or say what is wrong with it. Only I/O errors are errors of
/// the outer result.
fn scan(
    sc: &mut Scanner<'_>,
    end: u64,
) -> std::io::Result<std::result::Result<Scanned, &'static str>> {
    let head = sc.take(HEADER as usize)?.to_vec();
    if &head[..4] != MAGIC {
        return Ok(Err("bad magic"));
    }
    let word = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&head[i..i + 8]);
        b
    };
    let version = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if version != VERSION && version != VERSION_DIRS {
        return Ok(Err("unknown version"));
    }
    let saved_at = i64::from_le_bytes(word(8));
    let count = u32::from_le_bytes([head[16], head[17], head[18], head[19]]) as usize;
    let mut table = run::Table::new();
    let mut racy = false;
    // The previous path, one buffer for the whole scan: a copy per entry
    // was one allocation per tracked file on every command's load.
    let mut prev: Vec<u8> = Vec::new();
    for _ in 0..count {
        let at = sc.pos;
        if at + 2 > end {
            return Ok(Err("truncated entry"));
        }
        let mut l = [0u8; 2];
        l.copy_from_slice(sc.take(2)?);
        let len = u16::from_le_bytes(l) as u64;
        if at + 2 + len + run::FIXED as u64 > end {
            return Ok(Err("truncated entry"));
        }
        let Ok(path) = std::str::from_utf8(sc.take(len as usize)?) else {
            return Ok(Err("path is not UTF-8"));
        };
        if table.count() > 0 && path.as_bytes() <= prev.as_slice() {
            return Ok(Err("entries are not sorted by path"));
        }
        table.push(at, path);
        prev.clear();
        prev.extend_from_slice(path.as_bytes());
        let rec = sc.record()?;
        racy |= rec.stat.mtime_ns >= saved_at - RACY_NS;
    }
    let entries_end = sc.pos;
    let dirs = if version == VERSION_DIRS {
        match dirs::scan(sc, end)? {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        }
    } else {
        BTreeMap::new()
    };
    if sc.pos != end {
        return Ok(Err("trailing bytes"));
    }
    Ok(Ok(Scanned {
        saved_at,
        table,
        entries_end,
        racy,
        dirs,
    }))
}

#[cfg(test)]
mod tests;
