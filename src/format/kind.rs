//! The four kinds of stored object and their one-byte code.
//!
//! Every blob in a pack, an index file or a damage note is named by its
//! kind and id together, so the kind is part of the format: its byte code
//! (FORMAT.md) never changes once written, and an unknown code is refused
//! rather than guessed. The `Display` names are the ones users read in
//! messages and reports.

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
