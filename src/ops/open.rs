//! `open`: one file of any revision, of this repository or of another one
//! named by URL, as a reader (`Read` and `Seek`) that fetches only the
//! chunks that are read. What `cat` streams to stdout and what the Python
//! binding's `cairn.open` returns.
//!
//! Only metadata goes into the cache (a directory's listing, the file's
//! manifest and segments, as `ls` fetches listings); the file's chunks come
//! from the cache when it has them and otherwise straight from the remote
//! by ranged reads (`transfer::ranged`), read ahead while the file is read
//! in order and never written to disk. Every chunk is verified before a
//! byte of it is returned (see `engine::read`), and memory stays bounded
//! whatever the file's size.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::fetch::{missing_data, FetchOutcome, RevisionNames};
use super::select::select_at;
use super::Session;
use crate::engine::listing;
use crate::engine::reach::Missing;
use crate::engine::read::{ChunkFetch, FileReader};
use crate::engine::restore::chunk_list;
use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::object::{Form, Manifest};
use crate::format::pointer::Pointer;
use crate::hash::Id;
use crate::progress::Progress;
use crate::store::Store;
use crate::transfer::ranged::RangedChunks;
use crate::transfer::{self, Connection};

/// Which file to open, and where from.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// The repository: a path to a cairn work tree (relative to `cwd`), or
    /// any git URL (or path to another repository) as `cairn get` takes,
    /// which is read without a clone.
    pub repo: String,
    /// The revision; `None`: the work tree's pointers for a local work
    /// tree, `HEAD` for a URL.
    pub rev: Option<String>,
    /// Repository-relative path of a tracked file or of a file inside a
    /// tracked directory.
    pub path: String,
    /// The remote to read from (a name or URL); default: the configured one.
    pub remote: Option<String>,
    /// The directory relative paths are taken from.
    pub cwd: PathBuf,
}

impl OpenOptions {
    /// `path` in the work tree of the repository at (or above) `repo`.
    pub fn new(repo: impl Into<String>, path: impl Into<String>) -> OpenOptions {
        OpenOptions {
            repo: repo.into(),
            rev: None,
            path: path.into(),
            remote: None,
            cwd: PathBuf::from("."),
        }
    }
}

/// What an open reader is reading and what it has fetched so far.
#[derive(Debug, Clone, Serialize)]
pub struct OpenReport {
    pub path: String,
    pub rev: Option<String>,
    /// The file's size in bytes.
    pub size: u64,
    /// The file's id (BLAKE3 of its bytes).
    pub id: String,
    /// Metadata fetched into the cache plus chunks read from the remote.
    pub fetch: FetchOutcome,
}

/// A file found and ready to read: its id and size, the remote its
/// missing chunks come from (`None` when the cache has all of them), and
/// what was fetched to get this far.
pub(super) struct Prepared {
    pub id: Id,
    pub size: u64,
    pub chunks: Option<Arc<RangedChunks>>,
    fetched: FetchOutcome,
}

impl Prepared {
    /// What was fetched so far: the metadata, and the chunks read since.
    pub fn outcome(&self) -> FetchOutcome {
        let mut out = self.fetched.clone();
        if let Some(c) = &self.chunks {
            let (objects, bytes) = c.downloaded();
            out.objects += objects as usize;
            out.bytes += bytes;
            out.remote = Some(c.connection().remote.name.clone());
            out.requests = super::Requests {
                reads: c.connection().reads(),
                writes: c.connection().writes(),
            };
        }
        out
    }

    pub fn source(&self) -> Option<Arc<dyn ChunkFetch>> {
        self.chunks.clone().map(|c| c as Arc<dyn ChunkFetch>)
    }
}

/// Find `path` at `rev` (`None`: the work tree) in `s`, fetch the metadata
/// the cache lacks to read it, and connect to the remote if the cache lacks
/// any of its chunks. `shown_rev` is the revision as the user named it.
pub(super) fn prepare(
    s: &Session,
    rev: Option<&str>,
    shown_rev: Option<&str>,
    path: &str,
    remote: Option<&str>,
    progress: &dyn Progress,
    waits: super::Waits,
) -> Result<Prepared> {
    let not_tracked = || Error::NoFileAt {
        path: path.to_string(),
        rev: shown_rev.unwrap_or("the work tree").to_string(),
    };
    let selected = select_at(s, rev, &[path.to_string()], progress).map_err(|e| match e {
        // An unknown revision, or no git, is its own error.
        Error::NotTracked { .. } => not_tracked(),
        e => e,
    })?;
    let [(rel, ptr, only)] = selected.as_slice() else {
        return Err(not_tracked());
    };
    if matches!((ptr, only), (Pointer::Dir { .. }, None)) {
        // A whole directory is not one file.
        return Err(not_tracked());
    }
    let store = s.store(progress)?;
    let mut waits = waits;
    let mut chunks: Option<Arc<RangedChunks>> = None;
    let mut connect = |waits: &mut super::Waits| -> Result<Arc<RangedChunks>> {
        if let Some(c) = &chunks {
            return Ok(Arc::clone(c));
        }
        let resolved = s.remote(remote)?;
        let mut conn = Connection::open(resolved, &s.workspace().cache_dir(), false)?;
        conn.set_jobs(s.jobs());
        if let Some(w) = waits.take() {
            conn.report_waits_to(w);
        }
        let c = Arc::new(RangedChunks::new(conn, path, vec![ptr.id()]));
        chunks = Some(Arc::clone(&c));
        Ok(c)
    };
    let mut needs = |st: &Store| metadata_missing(st, rel, ptr, only.as_deref(), &not_tracked);
    let mut fetched = FetchOutcome::default();
    if !needs(store)?.is_empty() {
        let c = connect(&mut waits)?;
        lock_cache(s, progress)?;
        // The pointer's locator first, the index files for what it lacks.
        let report =
            transfer::fetch::fetch_roots(c.connection(), store, &[ptr.id()], &mut needs, progress)?;
        if !report.absent.is_empty() {
            fetched.absent = report.absent;
            fetched.remote = Some(c.connection().remote.name.clone());
            let names = RevisionNames::new(s.git(), shown_rev);
            return Err(Error::DataNotOnRemote {
                remote: c.connection().remote.name.clone(),
                missing: missing_data(s.workspace(), &fetched, &selected, &names),
            });
        }
        fetched.objects = report.objects;
        fetched.bytes = report.bytes;
    }
    let (id, size) = file_of(store, rel, ptr, only.as_deref(), &not_tracked)?;
    let pieces = chunk_list(store, &id, size, Path::new(path))?;
    if pieces
        .iter()
        .any(|p| !store.contains(ObjectKind::Chunk, &p.id))
    {
        connect(&mut waits)?;
    }
    Ok(Prepared {
        id,
        size,
        chunks,
        fetched,
    })
}

/// How long a reader waits for another cairn (or another reader of this
/// process) that is writing to the cache before giving up.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Take the cache's write lock for the session, waiting while someone
/// else holds it: many readers opened at once (a data loader's workers)
/// each fetch a little metadata, and should take turns rather than fail.
fn lock_cache(s: &Session, progress: &dyn Progress) -> Result<()> {
    let start = std::time::Instant::now();
    loop {
        match s.store_locked(progress) {
            Ok(_) => return Ok(()),
            Err(Error::Locked { .. }) if start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
}

/// The id and size of the file `rel` (with `only` inside it) names;
/// fails with `MissingObject` naming the first node of a directory's
/// listing that is not cached (a layered listing is fetched level by
/// level, each round asking again).
fn file_of(
    store: &Store,
    rel: &str,
    ptr: &Pointer,
    only: Option<&str>,
    not_tracked: &dyn Fn() -> Error,
) -> Result<(Id, u64)> {
    match (ptr, only) {
        (Pointer::File { id, size, .. }, None) => Ok((*id, *size)),
        (Pointer::Dir { id, .. }, Some(inside)) => {
            // Only the nodes that can hold `inside` are read; the first one
            // the store lacks is a `MissingObject` naming it.
            let entries = listing::read_at(store, id, Some(inside), &PathBuf::from(rel))?;
            let entry = entries
                .iter()
                .find(|e| e.path == inside)
                .ok_or_else(not_tracked)?;
            Ok((entry.id, entry.size))
        }
        _ => Err(not_tracked()),
    }
}

/// The metadata (listing, manifest, segments) the store lacks for reading
/// the file; never its chunks, except the one chunk of a one-chunk file,
/// which has no manifest and is stored under the file's id.
fn metadata_missing(
    store: &Store,
    rel: &str,
    ptr: &Pointer,
    only: Option<&str>,
    not_tracked: &dyn Fn() -> Error,
) -> Result<Vec<Missing>> {
    let needed_by = match only {
        Some(inside) => format!("{rel}/{inside}"),
        None => rel.to_string(),
    };
    let missing = |kind, id| Missing {
        id,
        kind,
        needed_by: needed_by.clone(),
    };
    let (id, size) = match file_of(store, rel, ptr, only, not_tracked) {
        Ok(found) => found,
        Err(Error::MissingObject { kind, id, .. }) => return Ok(vec![missing(kind, id)]),
        Err(e) => return Err(e),
    };
    if size == 0 || store.contains(ObjectKind::Chunk, &id) {
        return Ok(Vec::new());
    }
    let Some(raw) = store.read(ObjectKind::Manifest, &id)? else {
        return Ok(vec![missing(ObjectKind::Manifest, id)]);
    };
    let m = Manifest::decode(&raw).map_err(|e| store.corrupt(ObjectKind::Manifest, id, e))?;
    Ok(match m.form {
        Form::Chunks => Vec::new(),
        Form::Segments => m
            .pieces
            .iter()
            .filter(|p| !store.contains(ObjectKind::Segment, &p.id))
            .map(|p| missing(ObjectKind::Segment, p.id))
            .collect(),
    })
}

/// A tracked file being read: `Read` and `Seek`, verified, streaming.
pub struct DataReader {
    reader: FileReader<Box<Store>>,
    prepared: Prepared,
    path: String,
    rev: Option<String>,
    /// A scratch repository for a URL, removed when the reader goes; the
    /// last field, so the store is closed first.
    _scratch: Option<tempfile::TempDir>,
}

impl DataReader {
    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.prepared.size
    }

    /// The read position.
    pub fn position(&self) -> u64 {
        self.reader.position()
    }

    /// Bytes of file data held in memory right now (the loaded window of
    /// chunks; one more window may be on its way).
    pub fn held(&self) -> usize {
        self.reader.held()
    }

    /// What is being read and what has been fetched so far.
    pub fn report(&self) -> OpenReport {
        OpenReport {
            path: self.path.clone(),
            rev: self.rev.clone(),
            size: self.prepared.size,
            id: self.prepared.id.to_hex(),
            fetch: self.prepared.outcome(),
        }
    }
}

impl Read for DataReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf)
    }
}

impl Seek for DataReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.reader.seek(to)
    }
}

/// Open the file `opts` names for reading.
///
/// ```no_run
/// use std::io::{Read, Seek, SeekFrom};
/// use cairn::ops::open::{open, OpenOptions};
/// use cairn::progress::Silent;
///
/// let mut opts = OpenOptions::new(".", "data/train.parquet");
/// opts.rev = Some("v1".into());
/// let mut f = open(opts, &Silent)?;
/// // A Parquet footer: only the last chunks are read.
/// f.seek(SeekFrom::End(-8)).map_err(|e| cairn::Error::io("seek", "data", e))?;
/// let mut tail = [0u8; 8];
/// f.read_exact(&mut tail).map_err(|e| cairn::Error::io("read", "data", e))?;
/// # Ok::<(), cairn::Error>(())
/// ```
pub fn open(opts: OpenOptions, progress: &dyn Progress) -> Result<DataReader> {
    let path = opts.path.trim_matches('/').to_string();
    let dir = opts.cwd.join(&opts.repo);
    // A directory is a work tree (or inside one), unless it is a bare git
    // repository, which is read like a URL; anything else is a URL.
    let bare = dir.join("HEAD").is_file() && dir.join("objects").is_dir();
    let (session, rev, scratch) = if dir.is_dir() && !bare {
        (Session::open(&dir)?, opts.rev.clone(), None)
    } else {
        let tmp = tempfile::Builder::new()
            .prefix(crate::durable::TMP_PREFIX)
            .tempdir()
            .map_err(|e| Error::io("create a scratch directory in", std::env::temp_dir(), e))?;
        let get = super::get::GetOptions {
            rev: opts.rev.clone().unwrap_or_else(|| "HEAD".into()),
            ..super::get::GetOptions::new(&opts.cwd, &opts.repo, &path)
        };
        let s = super::get::scratch_repository(&get, tmp.path())?;
        (s, Some("FETCH_HEAD".to_string()), Some(tmp))
    };
    // A folder named as the remote is relative to where the user is.
    let remote = opts.remote.as_deref().map(|r| {
        let p = Path::new(r);
        if crate::remote::settings::is_url(r) && !r.contains("://") && p.is_relative() {
            opts.cwd.join(p).to_string_lossy().into_owned()
        } else {
            r.to_string()
        }
    });
    let prepared = prepare(
        &session,
        rev.as_deref(),
        opts.rev.as_deref(),
        &path,
        remote.as_deref(),
        progress,
        None,
    )?;
    let store = Box::new(session.into_store(progress)?);
    let reader = FileReader::open(
        store,
        prepared.id,
        prepared.size,
        PathBuf::from(&path),
        prepared.source(),
    )?;
    Ok(DataReader {
        reader,
        prepared,
        path,
        rev: opts.rev,
        _scratch: scratch,
    })
}
