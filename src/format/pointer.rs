//! Pointer files: the small text files that git versions in place of data.
//!
//! `data/` is described by `data.cairn` beside it. A pointer is a few
//! `key value` lines in a fixed order, so it is stable (the same data always
//! gives the same bytes), readable, and diffs line by line in `git diff`. The
//! first line names the format version so a future cairn can change the
//! layout without old versions misreading it. Parsing is strict: anything
//! unexpected is an error naming the file and line.

use std::path::Path;

use crate::error::{Error, Result};
use crate::format::object::Mode;
use crate::hash::Id;

/// Suffix that marks a pointer file.
pub const SUFFIX: &str = ".cairn";
/// The newest pointer format version this build reads and writes.
/// Version 1 is every pointer v1 wrote and, still, every file pointer and
/// every directory whose listing is one `CTR1` blob (byte-identical to
/// v1). Version 2 is a directory whose listing has `CTN2` nodes
/// (FORMAT.md §5.6), so that a v1 reader stops with "upgrade cairn"
/// instead of reporting the listing as damaged.
pub const VERSION: u32 = 2;
/// Pointers are tiny; anything larger is not one.
pub const MAX_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pointer {
    File {
        id: Id,
        size: u64,
        mode: Mode,
    },
    /// `layered`: the listing's root is a `CTN2` node (pointer version 2).
    Dir {
        id: Id,
        size: u64,
        files: u64,
        layered: bool,
    },
}

impl Pointer {
    pub fn id(&self) -> Id {
        match self {
            Pointer::File { id, .. } | Pointer::Dir { id, .. } => *id,
        }
    }

    pub fn size(&self) -> u64 {
        match self {
            Pointer::File { size, .. } | Pointer::Dir { size, .. } => *size,
        }
    }

    pub fn encode(&self) -> String {
        match self {
            Pointer::File { id, size, mode } => format!(
                "cairn-pointer 1\nkind file\nid {id}\nsize {size}\nmode {:o}\n",
                mode.octal()
            ),
            Pointer::Dir {
                id,
                size,
                files,
                layered,
            } => {
                let v = if *layered { 2 } else { 1 };
                format!("cairn-pointer {v}\nkind dir\nid {id}\nsize {size}\nfiles {files}\n")
            }
        }
    }

    /// Parse pointer text; `path` is only used in errors.
    ///
    /// ```
    /// use std::path::Path;
    /// use cairn::format::pointer::Pointer;
    /// let text = "cairn-pointer 1\nkind dir\nid ".to_string() + &"ab".repeat(32) + "\nsize 10\nfiles 2\n";
    /// let p = Pointer::parse(Path::new("data.cairn"), text.as_bytes()).unwrap();
    /// assert_eq!(p.size(), 10);
    /// assert_eq!(p.encode(), text);
    /// assert!(Pointer::parse(Path::new("x.cairn"), b"cairn-pointer 9\n").is_err());
    /// ```
    /// Whether `text` is meant to be a pointer file at all: it starts with
    /// the `cairn-pointer ` header. A file that merely ends in `.cairn`
    /// (some tool's data) is not one, and is left alone rather than
    /// reported as a damaged pointer.
    pub fn looks_like_pointer(text: &[u8]) -> bool {
        text.starts_with(b"cairn-pointer ") || has_conflict_markers(text)
    }

    pub fn parse(path: &Path, text: &[u8]) -> Result<Pointer> {
        let err = |line, reason| Error::PointerSyntax {
            path: path.to_path_buf(),
            line,
            reason,
        };
        if text.len() > MAX_LEN {
            return Err(err(1, "too large to be a pointer file"));
        }
        if has_conflict_markers(text) {
            return Err(Error::PointerConflict {
                path: path.to_path_buf(),
            });
        }
        let text = std::str::from_utf8(text).map_err(|_| err(1, "not UTF-8 text"))?;
        let mut lines = text
            .strip_suffix('\n')
            .ok_or_else(|| err(text.lines().count().max(1), "missing final newline"))?
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l));
        let first = lines.next().unwrap_or_default();
        let version = first
            .strip_prefix("cairn-pointer ")
            .ok_or_else(|| err(1, "first line must be `cairn-pointer <version>`"))?;
        let layered = version == "2";
        if version != "1" && !layered {
            return Err(Error::PointerVersion {
                path: path.to_path_buf(),
                found: version.chars().take(20).collect(),
                supported: VERSION,
            });
        }
        let mut fields = Vec::new();
        for (i, line) in lines.enumerate() {
            let (k, v) = line
                .split_once(' ')
                .ok_or_else(|| err(i + 2, "expected `key value`"))?;
            fields.push((i + 2, k, v));
        }
        let mut it = fields.into_iter();
        let mut next = |key: &'static str| {
            let (line, k, v) = it.next().ok_or_else(|| err(0, "missing field"))?;
            if k != key {
                return Err(err(line, "unexpected field (wrong order or unknown key)"));
            }
            Ok((line, v))
        };
        let number = |(line, v): (usize, &str)| {
            // Only the canonical decimal form, so one value has one text.
            if v.is_empty()
                || !v.bytes().all(|b| b.is_ascii_digit())
                || (v.len() > 1 && v.starts_with('0'))
            {
                return Err(err(line, "not a canonical decimal number"));
            }
            v.parse::<u64>().map_err(|_| err(line, "not a number"))
        };
        let (kind_line, kind) = next("kind")?;
        let (id_line, id) = next("id")?;
        let id =
            Id::from_hex(id).ok_or_else(|| err(id_line, "id is not 64 lowercase hex digits"))?;
        let size = number(next("size")?)?;
        let p = match kind {
            "file" if layered => return Err(err(1, "version 2 is only written for directories")),
            "file" => {
                let (line, m) = next("mode")?;
                let mode = match m {
                    "100644" => Mode::Regular,
                    "100755" => Mode::Executable,
                    _ => return Err(err(line, "mode must be 100644 or 100755")),
                };
                Pointer::File { id, size, mode }
            }
            "dir" => Pointer::Dir {
                id,
                size,
                files: number(next("files")?)?,
                layered,
            },
            _ => return Err(err(kind_line, "kind must be `file` or `dir`")),
        };
        if it.next().is_some() {
            return Err(err(0, "unexpected extra lines"));
        }
        Ok(p)
    }
}

/// Whether `text` is a pointer file a git merge left conflicted: a
/// `cairn-pointer` line and git's conflict markers (`<<<<<<< `, a lone
/// `=======`, `>>>>>>> `), in the size of a pointer. Told apart from other
/// damage so the hint can name the way out of a merge.
pub fn has_conflict_markers(text: &[u8]) -> bool {
    if text.len() > 4 * MAX_LEN {
        return false;
    }
    let mut pointer = false;
    let (mut open, mut mid, mut close) = (false, false, false);
    for line in text.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pointer |= line.starts_with(b"cairn-pointer ");
        open |= line.starts_with(b"<<<<<<< ") || line == b"<<<<<<<";
        mid |= line == b"=======";
        close |= line.starts_with(b">>>>>>> ") || line == b">>>>>>>";
    }
    pointer && open && mid && close
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p() -> &'static Path {
        Path::new("x.cairn")
    }

    #[test]
    fn file_pointer_text_is_frozen() {
        let ptr = Pointer::File {
            id: Id::of(b""),
            size: 0,
            mode: Mode::Executable,
        };
        assert_eq!(
            ptr.encode(),
            "cairn-pointer 1\nkind file\nid af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262\nsize 0\nmode 100755\n"
        );
    }

    #[test]
    fn a_pointer_a_merge_left_conflicted_is_told_from_other_damage() {
        let ours = Pointer::File {
            id: Id::of(b"ours"),
            size: 4,
            mode: Mode::Regular,
        }
        .encode();
        let theirs = ours.replace(&Id::of(b"ours").to_hex(), &Id::of(b"theirs").to_hex());
        // Git keeps the common lines outside the markers.
        let (head, tail) = ours.split_at(ours.find("id ").unwrap());
        let (id_ours, rest) = tail.split_at(tail.find('\n').unwrap() + 1);
        let id_theirs = &theirs[head.len()..head.len() + id_ours.len()];
        for (open, close) in [("<<<<<<< HEAD", ">>>>>>> feat"), ("<<<<<<<", ">>>>>>>")] {
            let merged = format!("{head}{open}\n{id_ours}=======\n{id_theirs}{close}\n{rest}");
            assert!(has_conflict_markers(merged.as_bytes()), "{merged}");
            assert!(Pointer::looks_like_pointer(merged.as_bytes()));
            assert!(matches!(
                Pointer::parse(p(), merged.as_bytes()),
                Err(Error::PointerConflict { .. })
            ));
            // Both sides changed the first line too: still a pointer.
            let whole = format!("{open}\n{ours}=======\n{theirs}{close}\n");
            assert!(Pointer::looks_like_pointer(whole.as_bytes()), "{whole}");
            assert!(matches!(
                Pointer::parse(p(), whole.as_bytes()),
                Err(Error::PointerConflict { .. })
            ));
        }
        // A marker alone, or markers in a file that is no pointer, are not.
        assert!(!has_conflict_markers(ours.as_bytes()));
        let lone = format!("{ours}=======\n");
        assert!(!has_conflict_markers(lone.as_bytes()));
        assert!(!has_conflict_markers(
            b"<<<<<<< a\nx\n=======\ny\n>>>>>>> b\n"
        ));
    }

    #[test]
    fn rejects_malformed() {
        let good = Pointer::Dir {
            id: Id::of(b"d"),
            size: 10,
            files: 2,
            layered: false,
        }
        .encode();
        assert!(Pointer::parse(p(), good.as_bytes()).is_ok());
        let cases = [
            good.replace("kind dir", "kind blob"),
            good.replace("size 10", "size ten"),
            good.replace("size 10", "size 010"),
            good.replace("size 10", "size +10"),
            good.replace("files 2", "files -2"),
            good.replace("files 2\n", "files 2\nextra 1\n"),
            good.trim_end().to_string(),
            good.replace("kind dir\n", ""),
            "hello\n".to_string(),
            String::new(),
        ];
        for c in cases {
            assert!(
                matches!(
                    Pointer::parse(p(), c.as_bytes()),
                    Err(Error::PointerSyntax { .. })
                ),
                "{c:?}"
            );
        }
        let v3 = good.replace("cairn-pointer 1", "cairn-pointer 3");
        assert!(matches!(
            Pointer::parse(p(), v3.as_bytes()),
            Err(Error::PointerVersion { .. })
        ));
        // Version 2 names a layered directory listing, never a file.
        let v2 = good.replace("cairn-pointer 1", "cairn-pointer 2");
        assert!(matches!(
            Pointer::parse(p(), v2.as_bytes()),
            Ok(Pointer::Dir { layered: true, .. })
        ));
        let file = Pointer::File {
            id: Id::of(b"f"),
            size: 1,
            mode: Mode::Regular,
        }
        .encode()
        .replace("cairn-pointer 1", "cairn-pointer 2");
        assert!(matches!(
            Pointer::parse(p(), file.as_bytes()),
            Err(Error::PointerSyntax { .. })
        ));
    }

    proptest! {
        #[test]
        fn round_trip(seed in any::<u64>(), size in any::<u64>(), files in any::<u64>(), exec in any::<bool>(), layered in any::<bool>()) {
            let id = Id::of(&seed.to_le_bytes());
            let mode = if exec { Mode::Executable } else { Mode::Regular };
            for ptr in [Pointer::File { id, size, mode }, Pointer::Dir { id, size, files, layered }] {
                prop_assert_eq!(Pointer::parse(p(), ptr.encode().as_bytes()).unwrap(), ptr);
            }
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Pointer::parse(p(), &bytes);
        }
    }
}
