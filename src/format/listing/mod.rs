//! Format-v2 directory listings: a prolly tree over the v1 flat listing.
//!
//! A v1 listing is one `CTR1` blob naming every file below a tracked
//! directory, so editing one file of a 100,000-file directory stores a new
//! multi-megabyte listing. A v2 listing cuts the same path-sorted entries
//! into runs at points chosen by a hash of the path alone; each run is a
//! `CTR1` leaf, and `CTN2` nodes list the runs (and, level by level, the
//! nodes) until one node remains: the root, whose BLAKE3 is the directory
//! id. An edit then changes one leaf and the nodes above it.
//!
//! Guarantees (docs/FORMAT.md §5.6):
//! * the tree is a pure function of the sorted entry set, so the same
//!   entries always give the same id, whatever the history;
//! * a listing of at most [`FLAT_MAX`] entries is never cut: it is one
//!   `CTR1` blob, byte-identical to v1, with the v1 id;
//! * every node is bounded ([`MAX_FANOUT`] items, about [`MAX_NODE_LEN`]
//!   bytes), and each level at least halves the node count, so the depth
//!   is logarithmic;
//! * readers re-derive the cuts ([`walk::check_canonical`]), so one
//!   directory never has two ids.

pub mod stream;
pub mod walk;

use std::ops::Range;

use crate::format::object::{self, check_rel_path, ObjectError, TreeEntry, TREE_MAGIC};
use crate::hash::{Id, ID_LEN};

pub use walk::{changed, check_canonical, walk, Load, Walk, WalkError};

/// Magic of an internal node.
pub const NODE_MAGIC: &[u8; 4] = b"CTN2";
/// A listing of at most this many entries is one `CTR1` blob, as in v1.
pub const FLAT_MAX: usize = 1024;
/// A run ends after an item whose cut hash, masked, is zero: 1 in 512.
pub const CUT_MASK: u16 = 0x1FF;
/// A run ends when it holds this many items, whatever the hashes.
pub const MAX_FANOUT: usize = 4096;
/// A run ends once its node's encoding reaches this many bytes.
pub const MAX_NODE_LEN: usize = 1 << 20;
/// Prefix of the cut hash; the level byte and the path follow it.
pub const CUT_SALT: &[u8] = b"cairn listing cut v2";

/// Bytes of a `CTR1` header and of one entry before its path.
const LEAF_HEADER: usize = 8;
const ENTRY_FIXED: usize = 46;
/// Bytes of a `CTN2` header and of one child before its last path.
const NODE_HEADER: usize = 28;
const CHILD_FIXED: usize = 50;

/// Whether the cut hash of `path` at `level` ends a run (level 0: the
/// entries of leaves; level k: the children of level-k nodes, by their
/// last path).
pub fn is_cut(level: u8, path: &str) -> bool {
    let mut h = blake3::Hasher::new();
    h.update(CUT_SALT);
    h.update(&[level]);
    h.update(path.as_bytes());
    let d = h.finalize();
    let b = d.as_bytes();
    u16::from_le_bytes([b[0], b[1]]) & CUT_MASK == 0
}

/// One child of an internal node: a subtree, its totals and the path of
/// the last file in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    pub id: Id,
    pub files: u64,
    pub bytes: u64,
    pub last: String,
}

/// A `CTN2` node at `level` ≥ 1 (its children are at `level - 1`; level 0
/// is a `CTR1` leaf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inner {
    pub level: u8,
    pub files: u64,
    pub bytes: u64,
    pub children: Vec<Child>,
}

/// A decoded listing node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Leaf(Vec<TreeEntry>),
    Inner(Inner),
}

pub fn encode_inner(n: &Inner) -> Vec<u8> {
    let len: usize = n.children.iter().map(|c| CHILD_FIXED + c.last.len()).sum();
    let mut out = Vec::with_capacity(NODE_HEADER + len);
    out.extend_from_slice(NODE_MAGIC);
    out.extend_from_slice(&[n.level, 0, 0, 0]);
    out.extend_from_slice(&(n.children.len() as u32).to_le_bytes());
    out.extend_from_slice(&n.files.to_le_bytes());
    out.extend_from_slice(&n.bytes.to_le_bytes());
    for c in &n.children {
        out.extend_from_slice(c.id.as_bytes());
        out.extend_from_slice(&c.files.to_le_bytes());
        out.extend_from_slice(&c.bytes.to_le_bytes());
        out.extend_from_slice(&(c.last.len() as u16).to_le_bytes());
        out.extend_from_slice(c.last.as_bytes());
    }
    out
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], ObjectError> {
    if b.len() < n {
        return Err(ObjectError::Truncated);
    }
    let (h, t) = b.split_at(n);
    *b = t;
    Ok(h)
}

fn u64_at(b: &mut &[u8]) -> Result<u64, ObjectError> {
    let mut v = [0u8; 8];
    v.copy_from_slice(take(b, 8)?);
    Ok(u64::from_le_bytes(v))
}

/// Decode a `CTN2` node, checking what one node can show on its own: the
/// header, at least one and at most [`MAX_FANOUT`] children, each with at
/// least one file and a safe last path, those paths strictly increasing,
/// and totals that are the sums of the children's.
pub fn decode_inner(b: &[u8]) -> Result<Inner, ObjectError> {
    let mut r = b;
    if take(&mut r, 4)? != NODE_MAGIC {
        return Err(ObjectError::Magic);
    }
    let head = take(&mut r, 4)?;
    let level = head[0];
    if level == 0 || head[1..] != [0, 0, 0] {
        return Err(ObjectError::Unknown);
    }
    let mut n = [0u8; 4];
    n.copy_from_slice(take(&mut r, 4)?);
    let count = u32::from_le_bytes(n) as usize;
    let files = u64_at(&mut r)?;
    let bytes = u64_at(&mut r)?;
    if count == 0 || count > MAX_FANOUT {
        return Err(ObjectError::NonCanonical);
    }
    // The count is bounded above; a child takes at least 51 bytes.
    let mut children: Vec<Child> = Vec::with_capacity(count.min(r.len() / 51));
    for _ in 0..count {
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(take(&mut r, ID_LEN)?);
        let c_files = u64_at(&mut r)?;
        let c_bytes = u64_at(&mut r)?;
        let mut l = [0u8; 2];
        l.copy_from_slice(take(&mut r, 2)?);
        let path = take(&mut r, u16::from_le_bytes(l) as usize)?;
        let last = std::str::from_utf8(path).map_err(|_| ObjectError::Path)?;
        check_rel_path(last).map_err(|_| ObjectError::Path)?;
        if children
            .last()
            .is_some_and(|p| p.last.as_bytes() >= last.as_bytes())
        {
            return Err(ObjectError::Order);
        }
        if c_files == 0 {
            return Err(ObjectError::Totals);
        }
        children.push(Child {
            id: Id(id),
            files: c_files,
            bytes: c_bytes,
            last: last.to_string(),
        });
    }
    if !r.is_empty() {
        return Err(ObjectError::Truncated);
    }
    let sum_files = children
        .iter()
        .try_fold(0u64, |a, c| a.checked_add(c.files));
    let sum_bytes = children
        .iter()
        .try_fold(0u64, |a, c| a.checked_add(c.bytes));
    if sum_files != Some(files) || sum_bytes != Some(bytes) {
        return Err(ObjectError::Totals);
    }
    Ok(Inner {
        level,
        files,
        bytes,
        children,
    })
}

/// Decode any listing node by its magic.
pub fn decode_node(b: &[u8]) -> Result<Node, ObjectError> {
    if b.starts_with(TREE_MAGIC) {
        object::decode_tree(b).map(Node::Leaf)
    } else {
        decode_inner(b).map(Node::Inner)
    }
}

/// The runs a level is cut into. `len` is each item's encoded length and
/// `key` the path its cut hash is taken of. At levels above the leaves a
/// hash cut needs two items in the run, so every level at least halves
/// the node count and the tree always ends in one root.
fn runs<T>(
    items: &[T],
    level: u8,
    header: usize,
    len: impl Fn(&T) -> usize,
    key: impl Fn(&T) -> &str,
) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, header);
    for (i, item) in items.iter().enumerate() {
        bytes += len(item);
        let n = i + 1 - start;
        let hash = (level == 0 || n >= 2) && is_cut(level, key(item));
        if hash || n >= MAX_FANOUT || bytes >= MAX_NODE_LEN {
            out.push(start..i + 1);
            start = i + 1;
            bytes = header;
        }
    }
    if start < items.len() {
        out.push(start..items.len());
    }
    out
}

/// A listing built from sorted entries: its root id, totals, and every
/// node with its encoding (leaves first, the root last).
#[derive(Debug, Clone)]
pub struct Built {
    pub root: Id,
    pub files: u64,
    pub bytes: u64,
    pub nodes: Vec<(Id, Vec<u8>)>,
}

impl Built {
    /// Whether the root is a `CTN2` node, which v1 readers cannot read
    /// (such directories get `cairn-pointer 2`).
    pub fn layered(&self) -> bool {
        self.nodes
            .last()
            .is_some_and(|(_, b)| b.starts_with(NODE_MAGIC))
    }

    /// The encoding of node `id`, if it is part of this listing.
    pub fn node(&self, id: &Id) -> Option<&[u8]> {
        self.nodes
            .iter()
            .find(|(n, _)| n == id)
            .map(|(_, b)| b.as_slice())
    }
}

/// Build the canonical listing of `entries`, which must be sorted by path
/// (bytewise), unique and checked ([`check_rel_path`]), as a scan of a
/// directory gives them.
pub fn build(entries: &[TreeEntry]) -> Built {
    let files = entries.len() as u64;
    let bytes = entries.iter().map(|e| e.size).sum();
    let leaf_runs = if entries.len() <= FLAT_MAX {
        std::iter::once(0..entries.len()).collect()
    } else {
        runs(
            entries,
            0,
            LEAF_HEADER,
            |e| ENTRY_FIXED + e.path.len(),
            |e| &e.path,
        )
    };
    let mut nodes = Vec::new();
    let mut level: Vec<Child> = leaf_runs
        .into_iter()
        .map(|r| {
            let run = &entries[r];
            let raw = object::encode_tree(run);
            let id = Id::of(&raw);
            nodes.push((id, raw));
            Child {
                id,
                files: run.len() as u64,
                bytes: run.iter().map(|e| e.size).sum(),
                last: run.last().map(|e| e.path.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let mut height: u8 = 0;
    while level.len() > 1 {
        height += 1;
        let cut = runs(
            &level,
            height,
            NODE_HEADER,
            |c| CHILD_FIXED + c.last.len(),
            |c| &c.last,
        );
        level = cut
            .into_iter()
            .map(|r| {
                let (child, raw) = inner_node(height, level[r].to_vec());
                nodes.push((child.id, raw));
                child
            })
            .collect();
    }
    let root = level
        .first()
        .map_or_else(|| Id::of(&object::encode_tree(&[])), |c| c.id);
    Built {
        root,
        files,
        bytes,
        nodes,
    }
}

/// The directory id `entries` (sorted, unique, checked) have.
pub fn root_id(entries: &[TreeEntry]) -> Id {
    build(entries).root
}

/// The `CTN2` node at `level` over `children` (in path order): the entry
/// naming it in the level above (totals summed, the last path of its last
/// child) and its encoding. The one place an inner node is made, for
/// [`build`] and for builders that stream their entries.
pub fn inner_node(level: u8, children: Vec<Child>) -> (Child, Vec<u8>) {
    let node = Inner {
        level,
        files: children.iter().map(|c| c.files).sum(),
        bytes: children.iter().map(|c| c.bytes).sum(),
        children,
    };
    let raw = encode_inner(&node);
    let child = Child {
        id: Id::of(&raw),
        files: node.files,
        bytes: node.bytes,
        last: node
            .children
            .last()
            .map(|c| c.last.clone())
            .unwrap_or_default(),
    };
    (child, raw)
}
