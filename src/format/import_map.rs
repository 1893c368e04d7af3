//! The import map (FORMAT.md §16): which cairn object holds the data that
//! DVC or Git LFS named by its own hash.
//!
//! `cairn import` writes it to `.cairn/import-map` and it is committed, so
//! a revision made before the migration, whose tree still holds `.dvc`
//! files or LFS pointers, can be restored by any clone after the old store
//! is gone. It is text, one entry a line, sorted, so it diffs and merges
//! like any other small file and two clones that import the same history
//! write the same bytes. Decoding is strict and total (fuzzed): a map that
//! does not read back exactly is refused, never half trusted.

use std::collections::BTreeMap;

use crate::format::object::Mode;
use crate::format::pointer::Pointer;
use crate::hash::Id;

/// First line of the file; the number is the format version.
pub const HEADER: &str = "cairn-import-map 1";
/// Where the map lives, relative to the repository root.
pub const PATH: &str = ".cairn/import-map";
/// Far more than any history needs (about 150 bytes an entry).
pub const MAX_LEN: usize = 64 << 20;

/// The hash the old tool named data by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scheme {
    /// DVC 3: MD5 of a file, or of a directory's `.dir` listing (the key
    /// then ends in `.dir`).
    Md5,
    /// Git LFS: SHA-256 of the file.
    Sha256,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Md5 => "md5",
            Scheme::Sha256 => "sha256",
        }
    }

    fn key_ok(self, key: &str) -> bool {
        let hex = |s: &str, n: usize| {
            s.len() == n
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        match self {
            Scheme::Md5 => hex(key.strip_suffix(".dir").unwrap_or(key), 32),
            Scheme::Sha256 => hex(key, 64),
        }
    }
}

/// What an old hash became in cairn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    File(Id),
    Dir { id: Id, files: u64 },
}

/// One entry's value: the data's size and the cairn object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapped {
    pub size: u64,
    pub target: Target,
}

impl Mapped {
    /// The cairn pointer for this data (`mode` for a file: the old tools
    /// record no exec bit of their own, the caller knows one or not).
    pub fn pointer(&self, mode: Mode) -> Pointer {
        match self.target {
            Target::File(id) => Pointer::File {
                id,
                size: self.size,
                mode,
            },
            // `layered` only chooses the version a pointer file is written
            // with (§7); a pointer read through the map is never written,
            // and every reader tells a layered listing by its root's magic.
            Target::Dir { id, files } => Pointer::Dir {
                id,
                size: self.size,
                files,
                layered: false,
            },
        }
    }
}

/// Why a map could not be read: the line (1-based) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct MapError {
    pub line: usize,
    pub reason: &'static str,
}

/// The whole map, keyed by (scheme, old hash).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportMap {
    entries: BTreeMap<(Scheme, String), Mapped>,
}

impl ImportMap {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entry for `key`, if its recorded size is `size` too.
    pub fn get(&self, scheme: Scheme, key: &str, size: Option<u64>) -> Option<Mapped> {
        let m = self.entries.get(&(scheme, key.to_string()))?;
        match size {
            Some(s) if s != m.size => None,
            _ => Some(*m),
        }
    }

    /// Record an entry; whether the map changed. A key already mapped
    /// elsewhere is replaced (re-importing repaired data).
    pub fn insert(&mut self, scheme: Scheme, key: String, mapped: Mapped) -> bool {
        debug_assert!(scheme.key_ok(&key));
        self.entries.insert((scheme, key), mapped) != Some(mapped)
    }

    /// Every entry, in file order.
    pub fn iter(&self) -> impl Iterator<Item = (Scheme, &str, Mapped)> + '_ {
        self.entries.iter().map(|((s, k), m)| (*s, k.as_str(), *m))
    }

    /// The canonical text: header, then one sorted line per entry.
    pub fn encode(&self) -> String {
        let mut out = format!("{HEADER}\n");
        for ((scheme, key), m) in &self.entries {
            let line = match m.target {
                Target::File(id) => format!("{} {key} {} file {id}\n", scheme.name(), m.size),
                Target::Dir { id, files } => {
                    format!("{} {key} {} dir {id} {files}\n", scheme.name(), m.size)
                }
            };
            out.push_str(&line);
        }
        out
    }

    /// Parse map text. Lines must be sorted and unique, every field in its
    /// canonical form, so `decode(encode(m)) == m` and `encode(decode(t))
    /// == t` for every accepted `t`.
    pub fn decode(bytes: &[u8]) -> Result<ImportMap, MapError> {
        let err = |line, reason| MapError { line, reason };
        if bytes.len() > MAX_LEN {
            return Err(err(1, "too large to be an import map"));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| err(1, "not UTF-8 text"))?;
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| err(1, "missing final newline"))?;
        let mut lines = body.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(err(1, "first line must be `cairn-import-map 1`"));
        }
        let number = |line, v: &str| {
            if v.is_empty()
                || !v.bytes().all(|b| b.is_ascii_digit())
                || (v.len() > 1 && v.starts_with('0'))
            {
                return Err(err(line, "not a canonical decimal number"));
            }
            v.parse::<u64>().map_err(|_| err(line, "number too large"))
        };
        let mut map = ImportMap::default();
        let mut last: Option<&str> = None;
        for (i, line) in lines.enumerate() {
            let n = i + 2;
            if last.is_some_and(|l| l >= line) {
                return Err(err(n, "lines are not sorted and unique"));
            }
            last = Some(line);
            let f: Vec<&str> = line.splitn(7, ' ').collect();
            let scheme = match f[0] {
                "md5" => Scheme::Md5,
                "sha256" => Scheme::Sha256,
                _ => return Err(err(n, "scheme must be `md5` or `sha256`")),
            };
            let (Some(key), Some(size), Some(kind), Some(id)) =
                (f.get(1), f.get(2), f.get(3), f.get(4))
            else {
                return Err(err(n, "missing field"));
            };
            if !scheme.key_ok(key) {
                return Err(err(n, "old hash is not in its canonical form"));
            }
            let size = number(n, size)?;
            let id = Id::from_hex(id).ok_or_else(|| err(n, "id is not 64 lowercase hex digits"))?;
            let target = match (*kind, f.len()) {
                ("file", 5) if !key.ends_with(".dir") => Target::File(id),
                ("dir", 6) if scheme == Scheme::Md5 && key.ends_with(".dir") => Target::Dir {
                    id,
                    files: number(n, f[5])?,
                },
                _ => {
                    return Err(err(
                        n,
                        "kind must be `file <id>` or, for a `.dir` key, `dir <id> <files>`",
                    ))
                }
            };
            if map.entries.contains_key(&(scheme, key.to_string())) {
                return Err(err(n, "an old hash is mapped twice"));
            }
            map.entries
                .insert((scheme, key.to_string()), Mapped { size, target });
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> ImportMap {
        let mut m = ImportMap::default();
        m.insert(
            Scheme::Sha256,
            "ab".repeat(32),
            Mapped {
                size: 5,
                target: Target::File(Id::of(b"lfs")),
            },
        );
        m.insert(
            Scheme::Md5,
            format!("{}.dir", "0f".repeat(16)),
            Mapped {
                size: 20,
                target: Target::Dir {
                    id: Id::of(b"dir"),
                    files: 2,
                },
            },
        );
        m.insert(
            Scheme::Md5,
            "0f".repeat(16),
            Mapped {
                size: 7,
                target: Target::File(Id::of(b"file")),
            },
        );
        m
    }

    #[test]
    fn encoding_is_sorted_and_round_trips() {
        let m = sample();
        let text = m.encode();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER);
        assert!(lines[1].starts_with(&format!("md5 {} 7 file ", "0f".repeat(16))));
        assert!(lines[2].ends_with(" 2"));
        assert!(lines[3].starts_with("sha256 "));
        assert_eq!(ImportMap::decode(text.as_bytes()).unwrap(), m);
        assert_eq!(
            m.get(Scheme::Md5, &"0f".repeat(16), Some(7))
                .unwrap()
                .pointer(Mode::Regular)
                .size(),
            7
        );
        assert!(m.get(Scheme::Md5, &"0f".repeat(16), Some(8)).is_none());
    }

    #[test]
    fn refuses_anything_not_canonical() {
        let good = sample().encode();
        let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
        lines.swap(1, 2);
        let unsorted = lines.join("\n") + "\n";
        let dup = {
            let l: Vec<&str> = good.lines().collect();
            format!("{}\n{}\n{}\n", l[0], l[1], l[1])
        };
        let cases = [
            unsorted,
            dup,
            good.replace("cairn-import-map 1", "cairn-import-map 2"),
            good.replace(" 7 file", " 07 file"),
            good.replace(" 2\n", "\n"),
            good.replace("sha256", "sha1"),
            good.replace(" file ", " dir "),
            good.trim_end().to_string(),
            good.replace(&"0f".repeat(16), &"0F".repeat(16)),
            String::new(),
        ];
        for c in cases {
            assert!(ImportMap::decode(c.as_bytes()).is_err(), "{c:?}");
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(m) = ImportMap::decode(&bytes) {
                let text = m.encode();
                prop_assert_eq!(text.as_bytes(), &bytes[..]);
            }
        }
    }
}
