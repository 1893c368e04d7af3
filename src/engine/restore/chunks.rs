//! A file's ordered chunk list: from its manifest (and the segments a
//! long manifest points to), or the one chunk named like the file. A
//! manifest whose size is not the pointer's is damage, named as such.

use std::path::Path;

use crate::error::{Corruption, Error, Result};
use crate::format::kind::ObjectKind;
use crate::format::object::{self, Form, Manifest, Piece};
use crate::hash::Id;
use crate::store::Store;

/// Read a blob that must exist, naming `path` if it does not.
pub fn require(store: &Store, kind: ObjectKind, id: &Id, path: &Path) -> Result<Vec<u8>> {
    store.read(kind, id)?.ok_or_else(|| Error::MissingObject {
        kind,
        id: *id,
        path: path.to_path_buf(),
    })
}

/// The ordered chunk list of file `id`.
pub fn chunk_list(store: &Store, id: &Id, size: u64, path: &Path) -> Result<Vec<Piece>> {
    if size == 0 {
        return Ok(Vec::new());
    }
    if let Some(raw) = store.read(ObjectKind::Manifest, id)? {
        let m = Manifest::decode(&raw).map_err(|e| store.corrupt(ObjectKind::Manifest, *id, e))?;
        if m.size != size {
            let cause = Corruption::ManifestSize {
                described: m.size,
                pointer: size,
            };
            return Err(store.corrupt(ObjectKind::Manifest, *id, cause));
        }
        return match m.form {
            Form::Chunks => Ok(m.pieces),
            Form::Segments => {
                let mut out = Vec::new();
                for s in &m.pieces {
                    let raw = require(store, ObjectKind::Segment, &s.id, path)?;
                    let seg = object::decode_segment(&raw)
                        .map_err(|e| store.corrupt(ObjectKind::Segment, s.id, e))?;
                    out.extend(seg);
                }
                Ok(out)
            }
        };
    }
    if store.contains(ObjectKind::Chunk, id) {
        return Ok(vec![Piece { id: *id, len: size }]);
    }
    Err(Error::MissingObject {
        kind: ObjectKind::Manifest,
        id: *id,
        path: path.to_path_buf(),
    })
}
