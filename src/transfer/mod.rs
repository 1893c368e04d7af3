//! Moving packs between the cache and a remote: `push`, `fetch`, remote
//! verification and remote garbage collection.
//!
//! This is the only place (with `remote::backend`, and `remote::folder` for
//! folder remotes) that uses `object_store` and async. Callers see blocking
//! functions; inside, a small tokio runtime
//! runs a bounded number of requests at once, while hashing and
//! (de)compression run on the calling thread and rayon. Memory is bounded
//! by that concurrency times the part size, whatever the data size.
//!
//! Every request made is counted, so commands can report them and tests
//! and benchmarks can hold request budgets.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStoreExt, PutPayload};

use crate::error::{Error, Result};
use crate::hash::Id;
use crate::progress::{Progress, Warning};
use crate::remote::backend::{self, remote_error, Backend};
use crate::remote::index::{self, RemoteIndex};
use crate::remote::notes;
use crate::remote::{folder, ResolvedRemote};

mod catalog;
pub use catalog::IndexRepair;
pub mod blob_map;
pub mod check;
pub mod collect;
pub mod coverage;
pub mod fetch;
mod fetch_located;
mod fetch_spans;
pub mod locate;
pub mod push;
mod push_pack;
pub(crate) mod push_plan;
mod push_sent;
mod push_sum;
pub mod pushed;
pub mod ranged;
pub mod spool;
pub mod walked;

mod jobs;
mod listing_file;
pub use jobs::{Jobs, MAX_JOBS};

pub use crate::remote::{MULTIPART_MIN, PART};
/// Bodies above this go through the client for pack data.
const PART_SMALL: usize = 1 << 20;
/// One object found by listing the remote.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Path below the remote's prefix, such as `packs/ab/<id>.pack`.
    pub path: String,
    pub size: u64,
    pub modified: SystemTime,
}

/// A listing time as a damage-note stamp: milliseconds since the epoch.
pub fn stamp(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Damaged copies on a remote: a whole pack (`None`) or one blob in it.
pub type DamageSet = std::collections::HashSet<(Id, Option<(crate::format::kind::ObjectKind, Id)>)>;

/// What a remote's index files say, and which of them could not be read.
#[derive(Debug, Default)]
pub struct IndexState {
    pub index: RemoteIndex,
    /// The index files listed.
    pub files: Vec<Listed>,
    /// The damage notes listed (`index/<id>.dmg`).
    pub notes: Vec<Listed>,
    /// The noted damage that still applies.
    pub notes_applying: Vec<notes::Note>,
    /// Index files that are damaged (path, why); their packs are unknown.
    pub damaged: Vec<(String, index::IndexError)>,
    /// The packs each index file lists, by the file's path.
    pub packs_of: std::collections::HashMap<String, Vec<Id>>,
    /// The condemnation notes listed (`index/<id>.cnd`).
    pub condemn_notes: Vec<Listed>,
    /// Their entries, each `since` resolved (a `-` becomes its note's
    /// last-modified time). A pack may appear more than once.
    pub condemned: Vec<notes::Condemned>,
    /// Index files listed but not read (a bounded load,
    /// [`Connection::load_index_bounded`]): `index` is then partial.
    pub unread: Vec<Listed>,
}

/// Requests made so far, split by whether they change the remote.
#[derive(Debug, Default)]
pub struct Requests {
    pub reads: AtomicU64,
    pub writes: AtomicU64,
}

/// A connected remote.
pub struct Connection {
    pub remote: ResolvedRemote,
    backend: Backend,
    rt: tokio::runtime::Runtime,
    pub requests: Requests,
    /// Where this remote's index files are cached locally.
    index_cache: PathBuf,
    /// Index files are read from the remote even when cached (`verify
    /// --remote` trusts no earlier reading).
    fresh_index: std::sync::atomic::AtomicBool,
    /// Index files this connection wrote, whose listing entry is recorded
    /// beside their cached copy at the next listing (catalog.rs).
    written: std::sync::Mutex<Vec<String>>,
    /// An index file was found that a crashed writer had not yet named in
    /// `index.list`.
    unlisted: std::sync::atomic::AtomicBool,
    /// Told when a request has been waiting for an answer for a while.
    waits: Option<Box<dyn Progress + Send + Sync>>,
    /// Requests in flight at once.
    jobs: Jobs,
}

/// How often a request still waiting for the remote is reported.
pub const WAIT_NOTICE: Duration = Duration::from_secs(5);

impl Connection {
    /// Connect to `remote`. `for_writing` creates a missing folder remote
    /// and refuses read-only remotes.
    pub fn open(remote: ResolvedRemote, cache_root: &Path, for_writing: bool) -> Result<Self> {
        let backend = backend::open(&remote, for_writing)?;
        if for_writing && !backend.writable {
            return Err(Error::ReadOnlyRemote {
                remote: remote.name.clone(),
            });
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::io("start the network runtime in", cache_root, e))?;
        // Index files are immutable and named by content, so one cache per
        // remote location (not per name) is always valid.
        let index_cache = index::cache_dir(cache_root, &remote.location);
        Ok(Connection {
            remote,
            backend,
            rt,
            requests: Requests::default(),
            index_cache,
            fresh_index: Default::default(),
            written: Default::default(),
            unlisted: Default::default(),
            waits: None,
            jobs: Jobs::default(),
        })
    }

    /// Keep `jobs` requests in flight at once from now on.
    pub fn set_jobs(&mut self, jobs: Jobs) {
        self.jobs = jobs;
    }

    /// The requests this connection keeps in flight at once.
    pub fn jobs(&self) -> Jobs {
        self.jobs
    }

    /// Report requests that wait long for an answer to `progress` (a
    /// [`Warning::RemoteWaiting`] every [`WAIT_NOTICE`]).
    pub fn report_waits_to(&mut self, progress: Box<dyn Progress + Send + Sync>) {
        self.waits = Some(progress);
    }

    /// Run one remote operation, telling the user while it waits.
    async fn watched<T>(
        &self,
        op: &'static str,
        limit: Duration,
        fut: impl std::future::Future<Output = T>,
    ) -> T {
        let Some(p) = &self.waits else {
            return fut.await;
        };
        tokio::pin!(fut);
        let mut waited = Duration::ZERO;
        loop {
            tokio::select! {
                r = &mut fut => return r,
                _ = tokio::time::sleep(WAIT_NOTICE) => {
                    waited += WAIT_NOTICE;
                    p.warn(Warning::RemoteWaiting {
                        remote: self.remote.name.clone(),
                        op,
                        waited,
                        limit,
                    });
                }
            }
        }
    }

    fn small_limit(&self) -> Duration {
        self.remote.settings.give_up_after()
    }

    fn bulk_limit(&self) -> Duration {
        self.remote.settings.for_bulk().give_up_after()
    }

    pub fn reads(&self) -> u64 {
        self.requests.reads.load(Ordering::Relaxed)
    }

    pub fn writes(&self) -> u64 {
        self.requests.writes.load(Ordering::Relaxed)
    }

    fn path(&self, rel: &str) -> ObjPath {
        if self.backend.prefix.is_empty() {
            ObjPath::from(rel)
        } else {
            ObjPath::from(format!("{}/{rel}", self.backend.prefix))
        }
    }

    fn err(&self, op: &'static str, e: object_store::Error, listing: bool) -> Error {
        remote_error(&self.remote, op, e, listing)
    }

    fn read(&self) {
        self.requests.reads.fetch_add(1, Ordering::Relaxed);
    }

    fn write(&self) {
        self.requests.writes.fetch_add(1, Ordering::Relaxed);
    }

    /// Everything under `dir` (recursively).
    pub fn list(&self, dir: &str) -> Result<Vec<Listed>> {
        if !self.listable() {
            return self.list_from_listing(dir);
        }
        let prefix = self.path(dir);
        let strip = if self.backend.prefix.is_empty() {
            0
        } else {
            self.backend.prefix.len() + 1
        };
        let found: Vec<object_store::ObjectMeta> = self
            .rt
            .block_on(self.watched(
                "list",
                self.small_limit(),
                self.backend.store.list(Some(&prefix)).try_collect(),
            ))
            .map_err(|e| self.err("list", e, true))?;
        // S3 and its kin return at most 1,000 keys per request.
        let pages = (found.len() as u64).div_ceil(1000).max(1);
        self.requests.reads.fetch_add(pages, Ordering::Relaxed);
        Ok(found
            .into_iter()
            .map(|m| Listed {
                path: m
                    .location
                    .as_ref()
                    .get(strip..)
                    .unwrap_or_default()
                    .to_string(),
                size: m.size,
                modified: m.last_modified.into(),
            })
            .collect())
    }

    /// Whether the remote can be written to (not plain HTTP).
    pub fn writable(&self) -> bool {
        self.backend.writable
    }

    /// The size of the object at `rel`, `None` if there is none (one HEAD).
    async fn size_async(&self, rel: &str) -> Result<Option<u64>> {
        self.read();
        let p = self.path(rel);
        match self
            .watched("download", self.small_limit(), self.backend.store.head(&p))
            .await
        {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err("download", e, false)),
        }
    }

    async fn get_async(&self, rel: &str) -> Result<Bytes> {
        self.read();
        let p = self.path(rel);
        let get = async {
            match self.backend.store.get(&p).await {
                Ok(g) => g.bytes().await,
                Err(e) => Err(e),
            }
        };
        self.watched("download", self.small_limit(), get)
            .await
            .map_err(|e| self.err("download", e, false))
    }

    async fn get_range_async(&self, rel: &str, range: Range<u64>) -> Result<Bytes> {
        self.read();
        if let Some(dir) = &self.backend.folder {
            return folder::read_range(&self.remote, dir, rel, range);
        }
        let path = self.path(rel);
        let get = self.backend.bulk.get_range(&path, range.clone());
        match self.watched("download", self.bulk_limit(), get).await {
            // A static HTTP server without range support: read the whole
            // object and cut the range out (correct, if wasteful).
            Err(object_store::Error::NotSupported { .. }) => {
                let whole = self.get_async(rel).await?;
                let (a, b) = (range.start as usize, range.end as usize);
                if b > whole.len() {
                    return Err(Error::RemoteCorrupt {
                        remote: self.remote.name.clone(),
                        object: rel.to_string(),
                        reason: format!("{} bytes, shorter than its index says", whole.len()),
                    });
                }
                Ok(whole.slice(a..b))
            }
            r => r.map_err(|e| self.err("download", e, false)),
        }
    }

    async fn put_async(&self, rel: &str, bytes: impl Into<Bytes>) -> Result<()> {
        // `Bytes`, so a caller that keeps the bytes shares them, not copies.
        let bytes: Bytes = bytes.into();
        self.write();
        let path = self.path(rel);
        // Index files and notes are small; a pack may be up to just under
        // the multipart threshold.
        let (client, limit) = if bytes.len() > PART_SMALL {
            (&self.backend.bulk, self.bulk_limit())
        } else {
            (&self.backend.store, self.small_limit())
        };
        let put = client.put(&path, PutPayload::from(bytes));
        self.watched("upload", limit, put)
            .await
            .map_err(|e| self.err("upload", e, false))?;
        Ok(())
    }

    /// Upload a local file, in parts when it is large; only the finished
    /// object ever becomes visible on the remote.
    async fn put_file_async(&self, rel: &str, file: &Path, len: u64) -> Result<()> {
        use std::io::Read;
        if let Some(dir) = &self.backend.folder {
            self.write();
            return folder::put_file(dir, rel, file);
        }
        let open = || std::fs::File::open(file).map_err(|e| Error::io("open pack", file, e));
        if len < MULTIPART_MIN {
            let mut buf = Vec::with_capacity(len as usize);
            open()?
                .read_to_end(&mut buf)
                .map_err(|e| Error::io("read pack", file, e))?;
            return self.put_async(rel, buf).await;
        }
        let mut f = open()?;
        self.put_multipart_from(rel, &mut f, len, |e| Error::io("read pack", file, e))
            .await
    }

    /// Upload `len` bytes of `reader` to `rel` as a multipart upload, a
    /// part of [`PART`] bytes read at a time (so memory holds one part),
    /// aborted on any failure: only the finished object becomes visible.
    pub(super) async fn put_multipart_from<R: std::io::Read + Send>(
        &self,
        rel: &str,
        reader: &mut R,
        len: u64,
        read_err: impl Fn(std::io::Error) -> Error + Send + Sync,
    ) -> Result<()> {
        self.write();
        let path = self.path(rel);
        let start = self.backend.bulk.put_multipart(&path);
        let mut up = self
            .watched("upload", self.small_limit(), start)
            .await
            .map_err(|e| self.err("upload", e, false))?;
        let result: Result<()> = async {
            let mut left = len;
            while left > 0 {
                let n = left.min(PART as u64) as usize;
                let mut buf = vec![0u8; n];
                reader.read_exact(&mut buf).map_err(&read_err)?;
                left -= n as u64;
                self.write();
                let part = up.put_part(PutPayload::from(buf));
                self.watched("upload", self.bulk_limit(), part)
                    .await
                    .map_err(|e| self.err("upload", e, false))?;
            }
            self.write();
            let done = up.complete();
            self.watched("upload", self.small_limit(), done)
                .await
                .map_err(|e| self.err("upload", e, false))?;
            Ok(())
        }
        .await;
        if result.is_err() {
            self.write();
            let _ = up.abort().await;
        }
        result
    }

    async fn delete_async(&self, rel: &str) -> Result<()> {
        self.write();
        let path = self.path(rel);
        let delete = self.backend.store.delete(&path);
        match self.watched("delete", self.small_limit(), delete).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err("delete", e, false)),
        }
    }

    /// Make finished files durable on a folder remote before anything
    /// refers to them (object stores are durable once a PUT returns).
    fn sync_folder(&self, rels: &[String]) -> Result<()> {
        match &self.backend.folder {
            Some(dir) => folder::sync(dir, rels),
            None => Ok(()),
        }
    }

    /// Partial uploads left in a folder remote by killed pushes, older
    /// than `grace`: removed unless `dry_run`. Returns their count and
    /// bytes. Object stores keep such parts out of sight; on S3 a lifecycle
    /// rule (AbortIncompleteMultipartUpload) clears them.
    pub fn sweep_staging(
        &self,
        grace: std::time::Duration,
        now: SystemTime,
        dry_run: bool,
    ) -> Result<(usize, u64)> {
        match &self.backend.folder {
            Some(dir) => folder::sweep_staging(dir, grace, now, dry_run),
            None => Ok((0, 0)),
        }
    }
}
