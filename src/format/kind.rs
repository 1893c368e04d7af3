//! The four kinds of stored object and their one-byte code.
//!
//! Every blob in a pack, an index file or a damage note is named by its
//! kind and id together, so the kind is part of the format: its byte code
//! (FORMAT.md) never changes once written, and an unknown code is refused
//! rather than guessed. The `Display` names are the ones users read in
//! messages and reports. [`Sought`] answers "which of these few blobs
//! does a scan of many entries meet", for the cache's footers and a
//! remote's cached index files alike.

/// What kind of stored object a blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Chunk,
    Segment,
    Manifest,
    Tree,
}

impl ObjectKind {
    pub fn to_u8(self) -> u8 {
        match self {
            ObjectKind::Chunk => 1,
            ObjectKind::Segment => 2,
            ObjectKind::Manifest => 3,
            ObjectKind::Tree => 4,
        }
    }

    pub fn from_u8(v: u8) -> Option<ObjectKind> {
        Some(match v {
            1 => ObjectKind::Chunk,
            2 => ObjectKind::Segment,
            3 => ObjectKind::Manifest,
            4 => ObjectKind::Tree,
            _ => return None,
        })
    }
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ObjectKind::Chunk => "chunk",
            ObjectKind::Segment => "segment",
            ObjectKind::Manifest => "file manifest",
            ObjectKind::Tree => "directory listing",
        })
    }
}

/// In JSON by the name users read in messages (`file manifest`).
impl serde::Serialize for ObjectKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A few blob keys looked for among many entries (every footer of a
/// cache, every record of a remote's cached index files): sorted once and
/// searched, not hashed, since each of the many entries is looked up
/// against a handful of keys.
pub struct Sought {
    keys: Vec<(u8, crate::hash::Id)>,
    found: Vec<bool>,
}

impl Sought {
    pub fn new(keys: &[(ObjectKind, crate::hash::Id)]) -> Sought {
        let mut keys: Vec<(u8, crate::hash::Id)> =
            keys.iter().map(|(k, id)| (k.to_u8(), *id)).collect();
        keys.sort_unstable();
        keys.dedup();
        let found = vec![false; keys.len()];
        Sought { keys, found }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Where `(kind, id)` is among the keys sought, if it is.
    pub fn find(&self, kind: ObjectKind, id: &crate::hash::Id) -> Option<usize> {
        self.keys.binary_search(&(kind.to_u8(), *id)).ok()
    }

    /// Record the key [`Sought::find`] placed at `at` as found.
    pub fn mark(&mut self, at: usize) {
        self.found[at] = true;
    }

    /// For each of `keys` (in their order, as given to [`Sought::new`]),
    /// whether it was marked found.
    pub fn answers(&self, keys: &[(ObjectKind, crate::hash::Id)]) -> Vec<bool> {
        keys.iter()
            .map(|(k, id)| self.find(*k, id).is_some_and(|at| self.found[at]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Id;

    #[test]
    fn sought_keys_answer_in_the_order_asked_with_repeats() {
        let (a, b, c) = (Id::of(b"a"), Id::of(b"b"), Id::of(b"c"));
        let keys = [
            (ObjectKind::Chunk, b),
            (ObjectKind::Manifest, a),
            (ObjectKind::Chunk, b),
            (ObjectKind::Tree, c),
        ];
        let mut s = Sought::new(&keys);
        assert!(!s.is_empty());
        assert_eq!(s.find(ObjectKind::Chunk, &a), None, "another kind");
        let at = s.find(ObjectKind::Chunk, &b).unwrap();
        s.mark(at);
        s.mark(s.find(ObjectKind::Tree, &c).unwrap());
        assert_eq!(s.answers(&keys), [true, false, true, true]);
        assert!(Sought::new(&[]).is_empty());
    }
}
