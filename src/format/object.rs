//! The metadata objects that describe files and directories.
//!
//! * A **manifest** lists, in order, the pieces of one file and is stored
//!   under the file's id (BLAKE3 of its bytes). Small files list chunks
//!   directly; large ones list **segments**, each a list of chunks, so a 1 GiB
//!   file's 16,000 chunk references are not rewritten when 1 MiB changes:
//!   segment ends are chosen by chunk ids (content-defined, like the chunks)
//!   and only the segments around an edit change. A file of one chunk needs
//!   no manifest: its id *is* the chunk's id. An empty file needs nothing.
//! * A **tree** is the canonical listing of a tracked directory: every regular
//!   file below it, sorted by path, with mode, size and id. Its BLAKE3 is the
//!   directory id.
//!
//! Segments and trees are named by the hash of their encoding and so verify
//! themselves. A manifest is named by the file it describes, so it carries its
//! own BLAKE3 checksum. Layouts are in docs/FORMAT.md.

use crate::hash::{Id, ID_LEN};

pub const MANIFEST_MAGIC: &[u8; 4] = b"CMF1";
pub const SEGMENT_MAGIC: &[u8; 4] = b"CSG1";
pub const TREE_MAGIC: &[u8; 4] = b"CTR1";

/// Manifests with more chunks than this are split into segments.
pub const DIRECT_LIMIT: usize = 64;
/// A segment ends after a chunk whose id's first two bytes (LE) are 0 mod this.
pub const SEGMENT_DIVISOR: u16 = 64;
/// Hard cap on chunks per segment, so a run of unlucky ids stays bounded.
pub const SEGMENT_MAX: usize = 256;

/// Why an object's bytes could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    #[error("bad magic")]
    Magic,
    #[error("truncated")]
    Truncated,
    #[error("checksum mismatch")]
    Checksum,
    #[error("lengths do not add up to the file size")]
    Size,
    #[error("unsorted or duplicate paths")]
    Order,
    #[error("invalid path in listing")]
    Path,
    #[error("unknown manifest form, file mode, or listing node level or flags")]
    Unknown,
    #[error("a listing node's counts or totals do not match what it holds")]
    Totals,
    #[error("not the canonical listing of its entries (cut points, levels or node shape)")]
    NonCanonical,
}

/// One piece of a file: a chunk, or a segment of chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub id: Id,
    pub len: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Chunks = 0,
    Segments = 1,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub size: u64,
    pub form: Form,
    pub pieces: Vec<Piece>,
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ObjectError> {
        if self.b.len() < n {
            return Err(ObjectError::Truncated);
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u16(&mut self) -> Result<u16, ObjectError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2")))
    }
    fn u32(&mut self) -> Result<u32, ObjectError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn u64(&mut self) -> Result<u64, ObjectError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }
    fn id(&mut self) -> Result<Id, ObjectError> {
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(self.take(ID_LEN)?);
        Ok(Id(id))
    }
}

/// Split a file's chunk list into content-defined segments.
pub fn segment(chunks: &[Piece]) -> Vec<Vec<Piece>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for c in chunks {
        cur.push(*c);
        let key = u16::from_le_bytes([c.id.0[0], c.id.0[1]]);
        if key % SEGMENT_DIVISOR == 0 || cur.len() >= SEGMENT_MAX {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub fn encode_segment(chunks: &[Piece]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + chunks.len() * 36);
    out.extend_from_slice(SEGMENT_MAGIC);
    out.extend_from_slice(&(chunks.len() as u32).to_le_bytes());
    for c in chunks {
        out.extend_from_slice(c.id.as_bytes());
        out.extend_from_slice(&(c.len as u32).to_le_bytes());
    }
    out
}

pub fn decode_segment(b: &[u8]) -> Result<Vec<Piece>, ObjectError> {
    let mut r = Reader { b };
    if r.take(4)? != SEGMENT_MAGIC {
        return Err(ObjectError::Magic);
    }
    let n = r.u32()? as usize;
    if r.b.len() != n * 36 {
        return Err(ObjectError::Truncated);
    }
    (0..n)
        .map(|_| {
            Ok(Piece {
                id: r.id()?,
                len: r.u32()? as u64,
            })
        })
        .collect()
}

impl Manifest {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.pieces.len() * 40 + 32);
        out.extend_from_slice(MANIFEST_MAGIC);
        out.extend_from_slice(&[self.form as u8, 0, 0, 0]);
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&(self.pieces.len() as u32).to_le_bytes());
        for p in &self.pieces {
            out.extend_from_slice(p.id.as_bytes());
            out.extend_from_slice(&p.len.to_le_bytes());
        }
        let sum = blake3::hash(&out);
        out.extend_from_slice(sum.as_bytes());
        out
    }

    pub fn decode(b: &[u8]) -> Result<Manifest, ObjectError> {
        if b.len() < 52 {
            return Err(ObjectError::Truncated);
        }
        let (body, sum) = b.split_at(b.len() - 32);
        if blake3::hash(body).as_bytes() != sum {
            return Err(ObjectError::Checksum);
        }
        let mut r = Reader { b: body };
        if r.take(4)? != MANIFEST_MAGIC {
            return Err(ObjectError::Magic);
        }
        let form = match r.take(4)? {
            [0, 0, 0, 0] => Form::Chunks,
            [1, 0, 0, 0] => Form::Segments,
            _ => return Err(ObjectError::Unknown),
        };
        let size = r.u64()?;
        let n = r.u32()? as usize;
        if r.b.len() != n * 40 {
            return Err(ObjectError::Truncated);
        }
        let pieces: Vec<Piece> = (0..n)
            .map(|_| {
                Ok(Piece {
                    id: r.id()?,
                    len: r.u64()?,
                })
            })
            .collect::<Result<_, ObjectError>>()?;
        let total = pieces.iter().try_fold(0u64, |a, p| a.checked_add(p.len));
        if total != Some(size) {
            return Err(ObjectError::Size);
        }
        Ok(Manifest { size, form, pieces })
    }
}

/// File mode recorded in trees and pointers. Only the exec bit is kept,
/// like git.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Regular,
    Executable,
}

impl Mode {
    pub fn from_permissions(mode: u32) -> Mode {
        if mode & 0o111 != 0 {
            Mode::Executable
        } else {
            Mode::Regular
        }
    }
    pub fn octal(self) -> u32 {
        match self {
            Mode::Regular => 0o100644,
            Mode::Executable => 0o100755,
        }
    }
    pub fn from_octal(v: u32) -> Option<Mode> {
        match v {
            0o100644 => Some(Mode::Regular),
            0o100755 => Some(Mode::Executable),
            _ => None,
        }
    }
}

/// One file in a directory listing. `path` is relative to the directory,
/// `/`-separated, valid UTF-8 and already checked by [`check_rel_path`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    pub path: String,
    pub mode: Mode,
    pub size: u64,
    pub id: Id,
}

/// The name of cairn's own directory at the root of a work tree
/// (`.cairn/`): never data, never a pointer, never inside a listing.
pub const CAIRN_DIR: &str = ".cairn";

/// Check that a relative path cannot escape the directory it is joined to.
pub fn check_rel_path(p: &str) -> Result<(), &'static str> {
    if p.is_empty() {
        return Err("empty path");
    }
    if p.starts_with('/') {
        return Err("absolute path");
    }
    if p.contains(['\0', '\\', '\n', '\r']) {
        return Err("NUL, backslash or line break in path");
    }
    for comp in p.split('/') {
        match comp {
            "" => return Err("empty path component"),
            "." | ".." => return Err("`.` or `..` component"),
            // Case-insensitive: on macOS and Windows `.GIT` *is* `.git`.
            c if c.eq_ignore_ascii_case(".git") || c.eq_ignore_ascii_case(CAIRN_DIR) => {
                return Err("path inside .git or .cairn")
            }
            _ => {}
        }
    }
    Ok(())
}

pub fn encode_tree(entries: &[TreeEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + entries.len() * 80);
    out.extend_from_slice(TREE_MAGIC);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        out.extend_from_slice(&e.mode.octal().to_le_bytes());
        out.extend_from_slice(&e.size.to_le_bytes());
        out.extend_from_slice(e.id.as_bytes());
        out.extend_from_slice(&(e.path.len() as u16).to_le_bytes());
        out.extend_from_slice(e.path.as_bytes());
    }
    out
}

pub fn decode_tree(b: &[u8]) -> Result<Vec<TreeEntry>, ObjectError> {
    let mut r = Reader { b };
    if r.take(4)? != TREE_MAGIC {
        return Err(ObjectError::Magic);
    }
    let n = r.u32()? as usize;
    // The count is untrusted: an entry takes at least 47 bytes.
    let mut out: Vec<TreeEntry> = Vec::with_capacity(n.min(r.b.len() / 47));
    for _ in 0..n {
        let mode = Mode::from_octal(r.u32()?).ok_or(ObjectError::Unknown)?;
        let size = r.u64()?;
        let id = r.id()?;
        let len = r.u16()? as usize;
        let path = std::str::from_utf8(r.take(len)?).map_err(|_| ObjectError::Path)?;
        check_rel_path(path).map_err(|_| ObjectError::Path)?;
        if let Some(prev) = out.last() {
            if prev.path.as_bytes() >= path.as_bytes() {
                return Err(ObjectError::Order);
            }
        }
        out.push(TreeEntry {
            path: path.to_string(),
            mode,
            size,
            id,
        });
    }
    if !r.b.is_empty() {
        return Err(ObjectError::Truncated);
    }
    check_no_file_dir_clash(&out)?;
    Ok(out)
}

/// A path cannot be both a file and a directory (`a` and `a/b`) in one
/// listing; a v2 listing checks this across all its leaves.
pub fn check_no_file_dir_clash(entries: &[TreeEntry]) -> Result<(), ObjectError> {
    let files: std::collections::HashSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    for e in entries {
        let mut p = e.path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            if files.contains(parent) {
                return Err(ObjectError::Path);
            }
            p = parent;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn piece(i: u32, len: u64) -> Piece {
        Piece {
            id: Id::of(&i.to_le_bytes()),
            len,
        }
    }

    #[test]
    fn manifest_round_trip_and_damage() {
        let m = Manifest {
            size: 30,
            form: Form::Chunks,
            pieces: vec![piece(1, 10), piece(2, 20)],
        };
        let mut b = m.encode();
        assert_eq!(Manifest::decode(&b), Ok(m));
        b[20] ^= 1;
        assert_eq!(Manifest::decode(&b), Err(ObjectError::Checksum));
        assert_eq!(Manifest::decode(&b[..10]), Err(ObjectError::Truncated));
    }

    #[test]
    fn segments_resync_after_insert() {
        let chunks: Vec<Piece> = (0..5000).map(|i| piece(i, 1)).collect();
        let mut edited = chunks.clone();
        edited.insert(2500, piece(99_999, 1));
        let a: std::collections::HashSet<Vec<u8>> =
            segment(&chunks).iter().map(|s| encode_segment(s)).collect();
        let b: Vec<Vec<u8>> = segment(&edited).iter().map(|s| encode_segment(s)).collect();
        let new = b.iter().filter(|s| !a.contains(*s)).count();
        assert!(new <= 2, "{new} segments changed");
    }

    #[test]
    fn rel_paths_that_escape_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            ".git/config",
            "a/.cairn/x",
            ".GIT/hooks/x",
            "a\nb",
        ] {
            assert!(check_rel_path(bad).is_err(), "{bad}");
        }
        for ok in ["a", "a b/ü.txt", "x/y/z.bin", "..a", "a.."] {
            assert!(check_rel_path(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn tree_rejects_unsorted_and_escaping_paths() {
        let e = |p: &str| TreeEntry {
            path: p.into(),
            mode: Mode::Regular,
            size: 1,
            id: Id::of(p.as_bytes()),
        };
        assert!(decode_tree(&encode_tree(&[e("b"), e("a")])).is_err());
        assert!(decode_tree(&encode_tree(&[e("a"), e("a")])).is_err());
        assert_eq!(
            decode_tree(&encode_tree(&[e("a"), e("a b"), e("a/b")])),
            Err(ObjectError::Path)
        );
        assert_eq!(
            decode_tree(&encode_tree(&[e("../x")])),
            Err(ObjectError::Path)
        );
    }

    proptest! {
        #[test]
        fn tree_round_trip(names in proptest::collection::btree_set("([a-z]{1,8}/){0,2}[a-z ]{1,8}\\.f", 0..20)) {
            let entries: Vec<TreeEntry> = names.iter().enumerate().map(|(i, p)| TreeEntry {
                path: p.clone(),
                mode: if i % 2 == 0 { Mode::Regular } else { Mode::Executable },
                size: i as u64,
                id: Id::of(p.as_bytes()),
            }).collect();
            prop_assert_eq!(decode_tree(&encode_tree(&entries)).unwrap(), entries);
        }

        #[test]
        fn segment_round_trip(lens in proptest::collection::vec(1u64..300_000, 0..300)) {
            let chunks: Vec<Piece> = lens.iter().enumerate().map(|(i, &l)| piece(i as u32, l)).collect();
            let segs = segment(&chunks);
            prop_assert_eq!(segs.concat(), chunks.clone());
            for s in &segs {
                prop_assert_eq!(&decode_segment(&encode_segment(s)).unwrap(), s);
            }
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Manifest::decode(&bytes);
            let _ = decode_segment(&bytes);
            let _ = decode_tree(&bytes);
        }
    }
}
