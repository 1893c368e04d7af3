//! Which stored objects a pointer needs.
//!
//! A pointer names a file or a directory listing; through listing nodes
//! (a v2 listing's `CTN2` nodes name their children),
//! manifests and segments it reaches a set of chunks. Walking that graph is
//! how `verify` finds objects that are referenced but absent, and how
//! garbage collection decides what must be kept. Every object read on
//! the way is verified by the store, so a damaged listing or manifest is an
//! error here rather than a wrong answer.
//!
//! A walk that only marks ([`Reach::marking`]: gc, verify) records what it
//! reached as one bit per blob of the store's index (`store::Marks`), not
//! as a set of keys: at a million files that is 125 KB instead of about
//! 100 MB. Ask it with [`Reach::reached`]; its `objects` stay empty.

use std::collections::{HashMap, HashSet};

use crate::engine::listing;
use crate::error::{Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::object::{self, Form, Manifest};
use crate::format::pointer::Pointer;
use crate::hash::Id;
use crate::store::{Marks, Store};

/// An object some pointer needs that the store does not have. Serialised
/// as `verify --json` prints it, its fields in this (alphabetical) order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Missing {
    pub id: Id,
    pub kind: ObjectKind,
    /// The tracked path (and file inside it) that needs the object.
    pub needed_by: String,
}

/// Everything reachable from a set of pointers.
#[derive(Debug, Default)]
pub struct Reach {
    /// What was reached (left empty by a marking walk: see [`Reach::reached`]).
    pub objects: HashSet<(ObjectKind, Id)>,
    /// What a marking walk reached, once it has reached anything.
    marks: Option<Marks>,
    /// Record what is reached in `marks` rather than `objects`.
    mark_only: bool,
    pub missing: Vec<Missing>,
    /// The uncompressed length of every chunk reached (left empty with
    /// `skip_lengths`).
    pub chunk_len: HashMap<Id, u64>,
    /// Do not fill `chunk_len`: for walks that only mark or look for what
    /// is missing (gc, verify, fetch), where it would cost about 45 bytes
    /// per chunk for nothing.
    pub skip_lengths: bool,
    /// Count a listing, manifest or segment whose only cached copy is
    /// damaged as missing (so a fetch replaces it from a remote) instead of
    /// failing. Only for fetching: garbage collection must stop at what it
    /// cannot read, or it would drop what that object names.
    pub refetch_damaged: bool,
    /// Record only metadata (listing nodes, manifests, segments) in
    /// `objects`, not chunks: a fetch's walk asks the store whether a chunk
    /// is present anyway, and a set of a million reached chunks would cost
    /// about 70 bytes each. A chunk two files share may then be reported
    /// missing twice; a fetch asks for it once.
    pub metadata_only: bool,
    /// List the missing chunks of files of at most this many bytes only
    /// (`None`: of every file). The missing chunks of larger files are
    /// counted in `chunks_left_out` instead: `pull --no-cache` reads them
    /// straight into the work tree and fetches the rest.
    pub chunks_of_files_up_to: Option<u64>,
    /// Missing chunks not listed because of `chunks_of_files_up_to`.
    pub chunks_left_out: u64,
}

/// What a streaming walk ([`Reach::add_pointer_streaming`]) hands what is
/// missing to: it takes the items out of the vector it is given.
pub type Sink<'a> = dyn FnMut(&mut Vec<Missing>) -> Result<()> + 'a;

/// A streaming walk hands what is missing over once this many are held.
const HAND_OVER: usize = 1 << 10;

impl Reach {
    /// Add everything `ptr` (the pointer of tracked path `rel`) needs.
    pub fn add_pointer(&mut self, store: &Store, rel: &str, ptr: &Pointer) -> Result<()> {
        self.add_pointer_only(store, rel, ptr, None)
    }

    /// Like [`Reach::add_pointer`], but of a directory only the files at or
    /// below `only` (a path inside it) count.
    pub fn add_pointer_only(
        &mut self,
        store: &Store,
        rel: &str,
        ptr: &Pointer,
        only: Option<&str>,
    ) -> Result<()> {
        self.add_pointer_with(store, rel, ptr, only, None)
    }

    /// Like [`Reach::add_pointer_only`], but what is missing is handed to
    /// `sink` as the walk finds it (a few at a time), so a walk of a
    /// million missing files holds a bounded list. The listing's own
    /// missing nodes come after the files found so far, and if the walk
    /// fails, what was handed over stays handed over.
    pub fn add_pointer_streaming(
        &mut self,
        store: &Store,
        rel: &str,
        ptr: &Pointer,
        only: Option<&str>,
        sink: &mut Sink,
    ) -> Result<()> {
        self.add_pointer_with(store, rel, ptr, only, Some(sink))?;
        if !self.missing.is_empty() {
            sink(&mut self.missing)?;
        }
        Ok(())
    }

    fn add_pointer_with(
        &mut self,
        store: &Store,
        rel: &str,
        ptr: &Pointer,
        only: Option<&str>,
        mut sink: Option<&mut Sink>,
    ) -> Result<()> {
        match ptr {
            Pointer::File { id, size, .. } => self.add_file(store, rel, id, *size),
            Pointer::Dir { id, .. } => {
                if self.has(store, ObjectKind::Tree, id) && only.is_none() {
                    return Ok(());
                }
                // Every node of the listing (below `only`: those that can
                // hold it) is needed; an absent one is missing, and its
                // files are found once a fetch brings it. The files are
                // taken leaf by leaf, so a million of them are never held
                // at once; the listing's own misses still come first.
                let at = self.missing.len();
                let refetch = self.refetch_damaged;
                let mut path = String::new();
                let walked = listing::walk_leaves(store, id, only, refetch, &mut |entries| {
                    for e in entries {
                        path.clear();
                        path.push_str(rel);
                        path.push('/');
                        path.push_str(&e.path);
                        self.add_file(store, &path, &e.id, e.size)?;
                    }
                    if let Some(sink) = sink.as_deref_mut() {
                        if self.missing.len() >= HAND_OVER {
                            sink(&mut self.missing)?;
                        }
                    }
                    Ok(())
                });
                let walk = match walked {
                    Ok(w) => w,
                    Err(e) => {
                        // As if the listing had not been walked: a damaged
                        // or non-canonical listing reports no missing files.
                        self.missing.truncate(at);
                        return Err(e);
                    }
                };
                self.put(store, ObjectKind::Tree, id);
                for node in &walk.nodes {
                    self.put(store, ObjectKind::Tree, node);
                }
                // The listing's own misses first: inserted in place, not by
                // copying the files' misses aside (a million of them).
                let mut nodes_missing = Vec::new();
                for node in &walk.absent {
                    if self.put(store, ObjectKind::Tree, node) || node == id {
                        nodes_missing.push(Missing {
                            kind: ObjectKind::Tree,
                            id: *node,
                            needed_by: rel.to_string(),
                        });
                    }
                }
                let at = at.min(self.missing.len());
                self.missing.splice(at..at, nodes_missing);
                Ok(())
            }
        }
    }

    /// Add everything one file needs: `path` is the file, `id` and `size`
    /// its entry in a directory listing (or its pointer).
    pub fn add_file_at(&mut self, store: &Store, path: &str, id: &Id, size: u64) -> Result<()> {
        self.add_file(store, path, id, size)
    }

    fn miss(&mut self, kind: ObjectKind, id: &Id, needed_by: &str) {
        self.missing.push(Missing {
            kind,
            id: *id,
            needed_by: needed_by.to_string(),
        });
    }

    fn add_file(&mut self, store: &Store, path: &str, id: &Id, size: u64) -> Result<()> {
        if size == 0 {
            return Ok(());
        }
        if self.has(store, ObjectKind::Manifest, id) || self.has(store, ObjectKind::Chunk, id) {
            return Ok(());
        }
        let Some(raw) = self.read(store, ObjectKind::Manifest, id)? else {
            // No manifest: a one-chunk file is stored as that chunk.
            if store.contains(ObjectKind::Chunk, id) {
                self.put(store, ObjectKind::Chunk, id);
                if !self.skip_lengths {
                    self.chunk_len.insert(*id, size);
                }
            } else {
                self.miss(ObjectKind::Manifest, id, path);
            }
            return Ok(());
        };
        self.put(store, ObjectKind::Manifest, id);
        let m = Manifest::decode(&raw).map_err(|e| store.corrupt(ObjectKind::Manifest, *id, e))?;
        let chunks = match m.form {
            Form::Chunks => m.pieces,
            Form::Segments => {
                let mut out = Vec::new();
                for s in &m.pieces {
                    if !self.put(store, ObjectKind::Segment, &s.id) {
                        continue;
                    }
                    match self.read(store, ObjectKind::Segment, &s.id)? {
                        Some(raw) => out.extend(
                            object::decode_segment(&raw)
                                .map_err(|e| store.corrupt(ObjectKind::Segment, s.id, e))?,
                        ),
                        None => self.miss(ObjectKind::Segment, &s.id, path),
                    }
                }
                out
            }
        };
        let list = self.chunks_of_files_up_to.is_none_or(|most| size <= most);
        for c in chunks {
            if !self.skip_lengths {
                self.chunk_len.insert(c.id, c.len);
            }
            if self.put(store, ObjectKind::Chunk, &c.id)
                && !store.contains(ObjectKind::Chunk, &c.id)
            {
                if list {
                    self.miss(ObjectKind::Chunk, &c.id, path);
                } else {
                    self.chunks_left_out += 1;
                }
            }
        }
        Ok(())
    }
}

impl Reach {
    /// A walk for fetching: damaged cached metadata counts as missing.
    pub fn for_fetch() -> Reach {
        Reach {
            refetch_damaged: true,
            skip_lengths: true,
            metadata_only: true,
            ..Reach::default()
        }
    }

    /// A walk that lists every object it reaches in `objects` but records
    /// no chunk lengths (push: which objects, and which are missing).
    pub fn listing() -> Reach {
        Reach {
            skip_lengths: true,
            ..Reach::default()
        }
    }

    /// A walk that only marks what is reached and finds what is missing
    /// (gc, verify): no chunk lengths, and what it reaches is asked with
    /// [`Reach::reached`] (`objects` stays empty).
    pub fn marking() -> Reach {
        Reach {
            skip_lengths: true,
            mark_only: true,
            ..Reach::default()
        }
    }

    /// Whether the walk reached `(kind, id)`, in either mode. `store` must
    /// be the store the walk used.
    pub fn reached(&self, store: &Store, kind: ObjectKind, id: &Id) -> bool {
        self.has(store, kind, id)
    }

    /// How many distinct objects the walk reached.
    pub fn reached_count(&self) -> usize {
        match &self.marks {
            Some(m) => m.len(),
            None => self.objects.len(),
        }
    }

    fn has(&self, store: &Store, kind: ObjectKind, id: &Id) -> bool {
        match &self.marks {
            Some(m) => store.is_marked(m, kind, id),
            None => self.objects.contains(&(kind, *id)),
        }
    }

    /// Record `(kind, id)` as reached; `true` if it was not before (a chunk
    /// of a `metadata_only` walk: always).
    fn put(&mut self, store: &Store, kind: ObjectKind, id: &Id) -> bool {
        if self.metadata_only && kind == ObjectKind::Chunk {
            return true;
        }
        if !self.mark_only {
            return self.objects.insert((kind, *id));
        }
        let marks = self.marks.get_or_insert_with(|| store.marks());
        store.mark(marks, kind, id)
    }

    /// Read a metadata object; with `refetch_damaged`, a copy that fails
    /// its check (the store now counts it as absent) reads as missing.
    fn read(&self, store: &Store, kind: ObjectKind, id: &Id) -> Result<Option<Vec<u8>>> {
        match store.read(kind, id) {
            Err(Error::CorruptObject { .. }) if self.refetch_damaged => Ok(None),
            r => r,
        }
    }
}
