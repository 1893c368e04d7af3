//! The shared inputs in `fixtures/`: byte-exact samples of every format
//! v1 encoding (so another implementation, or a future cairn, can check
//! itself against files rather than against this code), and hostile inputs
//! that once crashed a parser or were written to probe one.
//!
//! `fixtures/format/` files are compared byte for byte with what the
//! encoders produce from fixed values, and decoded back to those values
//! (`node.bin` and `dir-v2.cairn` are format v2's listing node and pointer).
//! If one differs, the format changed: that needs a new format version
//! (docs/FORMAT.md §13), not a rewritten fixture. `CAIRN_BLESS=1` writes
//! missing fixtures; it never overwrites one that exists.
//!
//! `fixtures/hostile/<parser>-<n>` files are fed to the parser their name
//! gives: none may panic, and the handwritten ones must be refused.

use std::fs;
use std::path::{Path, PathBuf};

use cairn::format::codec::Codec;
use cairn::format::foreign;
use cairn::format::import_map::{ImportMap, Mapped, Scheme, Target};
use cairn::format::kind::ObjectKind;
use cairn::format::listing::{self, Child, Inner};
use cairn::format::object::{self, Form, Manifest, Mode, Piece, TreeEntry};
use cairn::format::pack::{read_footer, Entry, PackBuilder, HEADER_LEN};
use cairn::format::pointer::Pointer;
use cairn::hash::Id;
use cairn::remote::index::{self, PackRecord};
use cairn::remote::locator::{LocatedPack, Locator};
use cairn::remote::notes::{self, Condemned};
use cairn::repo::stat_index::StatIndex;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Compare `bytes` with `fixtures/format/<name>`, writing it first under
/// `CAIRN_BLESS=1` when it does not exist yet.
fn frozen(name: &str, bytes: &[u8]) {
    let path = fixtures().join("format").join(name);
    if !path.exists() && std::env::var_os("CAIRN_BLESS").is_some() {
        fs::write(&path, bytes).unwrap();
    }
    let want = fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (CAIRN_BLESS=1 creates it)", path.display()));
    assert!(
        want == bytes,
        "{name}: the encoder's bytes differ from fixtures/format/{name}; format v1 must not change"
    );
}

pub(crate) fn piece(s: &str, len: u64) -> Piece {
    Piece {
        id: Id::of(s.as_bytes()),
        len,
    }
}

pub(crate) fn sample_manifest() -> Manifest {
    Manifest {
        size: 30,
        form: Form::Chunks,
        pieces: vec![piece("a", 10), piece("b", 20)],
    }
}

pub(crate) fn sample_tree() -> Vec<TreeEntry> {
    vec![
        TreeEntry {
            path: "a b/ü.csv".into(),
            mode: Mode::Regular,
            size: 3,
            id: Id::of(b"x"),
        },
        TreeEntry {
            path: "run.sh".into(),
            mode: Mode::Executable,
            size: 0,
            id: Id::of(b""),
        },
    ]
}

/// A pack holding a raw chunk and a zstd-compressed tree.
fn sample_pack() -> (Id, Vec<u8>, Vec<Entry>) {
    let tree = object::encode_tree(&sample_tree());
    let packed = zstd::bulk::compress(&tree, 1).unwrap();
    let mut b = PackBuilder::default();
    b.add(ObjectKind::Chunk, Id::of(b"abc"), Codec::Raw, b"abc", 3);
    b.add(
        ObjectKind::Tree,
        Id::of(&tree),
        Codec::Zstd,
        &packed,
        tree.len() as u32,
    );
    b.finish()
}

#[test]
fn fixture_objects_are_the_v1_encodings() {
    let m = sample_manifest();
    frozen("manifest-chunks.bin", &m.encode());
    let bytes = fs::read(fixtures().join("format/manifest-chunks.bin")).unwrap();
    assert_eq!(Manifest::decode(&bytes).unwrap(), m);

    let seg = [piece("a", 10), piece("b", 20)];
    frozen("segment.bin", &object::encode_segment(&seg));
    let bytes = fs::read(fixtures().join("format/segment.bin")).unwrap();
    assert_eq!(object::decode_segment(&bytes).unwrap(), seg);

    frozen("tree.bin", &object::encode_tree(&sample_tree()));
    let bytes = fs::read(fixtures().join("format/tree.bin")).unwrap();
    assert_eq!(object::decode_tree(&bytes).unwrap(), sample_tree());

    // Format v2: an internal listing node.
    frozen("node.bin", &listing::encode_inner(&sample_node()));
    let bytes = fs::read(fixtures().join("format/node.bin")).unwrap();
    assert_eq!(listing::decode_inner(&bytes).unwrap(), sample_node());
}

/// A level-1 `CTN2` node over two leaves (the values need not name real
/// leaves: the node is checked on its own).
pub(crate) fn sample_node() -> Inner {
    Inner {
        level: 1,
        files: 2049,
        bytes: 46,
        children: vec![
            Child {
                id: Id::of(b"leaf one"),
                files: 1025,
                bytes: 40,
                last: "a b/ü.csv".into(),
            },
            Child {
                id: Id::of(b"leaf two"),
                files: 1024,
                bytes: 6,
                last: "run.sh".into(),
            },
        ],
    }
}

#[test]
fn fixture_pack_is_the_v1_layout_and_reads_back() {
    let (id, bytes, entries) = sample_pack();
    frozen("pack.bin", &bytes);
    let on_disk = fs::read(fixtures().join("format/pack.bin")).unwrap();
    let read = read_footer(Path::new("pack.bin"), on_disk.len() as u64, |off, n| {
        Ok(on_disk[off as usize..off as usize + n].to_vec())
    })
    .unwrap();
    assert_eq!(read, entries);
    assert_eq!(cairn::format::pack::pack_id(&read), id);
    let tree = &read[1];
    let stored = &on_disk[tree.offset as usize..(tree.offset + tree.stored_len as u64) as usize];
    let raw = cairn::format::codec::decompress(tree.codec, stored, tree.raw_len as usize).unwrap();
    assert_eq!(Id::of(&raw), tree.id);
}

#[test]
fn fixture_pointers_are_the_v1_text() {
    let file = Pointer::File {
        id: Id::of(b"hello\n"),
        size: 6,
        mode: Mode::Executable,
    };
    let dir = Pointer::Dir {
        id: Id::of(&object::encode_tree(&sample_tree())),
        size: 3,
        files: 2,
        layered: false,
    };
    // A directory whose listing has `CTN2` nodes (format v2, FORMAT.md §5.6).
    let layered = Pointer::Dir {
        id: Id::of(&listing::encode_inner(&sample_node())),
        size: 46,
        files: 2049,
        layered: true,
    };
    for (name, p) in [
        ("file.cairn", file),
        ("dir.cairn", dir),
        ("dir-v2.cairn", layered),
    ] {
        frozen(name, p.encode().as_bytes());
        let text = fs::read(fixtures().join("format").join(name)).unwrap();
        assert_eq!(Pointer::parse(Path::new(name), &text).unwrap(), p);
    }
}

#[test]
fn fixture_remote_index_and_notes_are_the_v1_encodings() {
    let (id, bytes, entries) = sample_pack();
    let record = PackRecord {
        id,
        len: bytes.len() as u64,
        entries,
    };
    let (index_id, encoded) = index::encode(std::slice::from_ref(&record));
    frozen("remote-index.bin", &encoded);
    let on_disk = fs::read(fixtures().join("format/remote-index.bin")).unwrap();
    let back = index::decode(&index_id, &on_disk).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!((back[0].id, back[0].len), (record.id, record.len));
    assert_eq!(back[0].entries, record.entries);

    let notes = [Condemned {
        pack: id,
        stamp: 1_700_000_000,
        since: None,
    }];
    frozen("condemned.cnd", notes::encode_condemned(&notes).as_bytes());
    let text = fs::read_to_string(fixtures().join("format/condemned.cnd")).unwrap();
    let back = notes::decode_condemned(&text);
    assert_eq!(back.len(), 1);
    assert_eq!(
        (back[0].pack, back[0].stamp, back[0].since),
        (id, 1_700_000_000, None)
    );
}

/// The sample locator: the root that is the sample tree, located in the
/// sample pack (its tree and its chunk).
pub(crate) fn sample_locator() -> Locator {
    let (id, bytes, entries) = sample_pack();
    Locator {
        root: Id::of(&object::encode_tree(&sample_tree())),
        packs: vec![LocatedPack {
            id,
            len: bytes.len() as u64,
            footer_entries: entries.len() as u32,
            entries,
        }],
    }
}

#[test]
fn fixture_locator_is_the_v1_encoding() {
    let l = sample_locator();
    frozen("locator.bin", &l.encode());
    let on_disk = fs::read(fixtures().join("format/locator.bin")).unwrap();
    assert_eq!(Locator::decode(&l.root, &on_disk).unwrap(), l);
}

/// The root a locator says it is for (bytes 16..48), so hostile inputs
/// reach the checks past that one.
fn locator_root(bytes: &[u8]) -> Id {
    let mut root = [0u8; 32];
    if let Some(b) = bytes.get(16..48) {
        root.copy_from_slice(b);
    }
    Id(root)
}

/// The import map of FORMAT.md Appendix A.
pub(crate) fn sample_import_map() -> ImportMap {
    let mut m = ImportMap::default();
    let md5 = "0f".repeat(16);
    m.insert(
        Scheme::Md5,
        md5.clone(),
        Mapped {
            size: 7,
            target: Target::File(Id::of(b"file")),
        },
    );
    m.insert(
        Scheme::Md5,
        format!("{md5}.dir"),
        Mapped {
            size: 20,
            target: Target::Dir {
                id: Id::of(b"dir"),
                files: 2,
            },
        },
    );
    m.insert(
        Scheme::Sha256,
        "ab".repeat(32),
        Mapped {
            size: 5,
            target: Target::File(Id::of(b"lfs")),
        },
    );
    m
}

#[test]
fn fixture_import_map_is_the_v1_text() {
    let m = sample_import_map();
    frozen("import-map.txt", m.encode().as_bytes());
    let text = fs::read(fixtures().join("format/import-map.txt")).unwrap();
    assert_eq!(ImportMap::decode(&text).unwrap(), m);
}

/// Feed one hostile input to the parser its name starts with. `Ok(true)`:
/// the parser accepted it.
fn parse_hostile(name: &str, bytes: &[u8]) -> bool {
    let parser = name.split_once('-').map_or(name, |(p, _)| p);
    match parser {
        "pack_footer" => {
            let read_at = |off: u64, n: usize| {
                let start = usize::try_from(off).ok().filter(|&s| s <= bytes.len());
                match start.and_then(|s| Some(s..s.checked_add(n)?)) {
                    Some(r) if r.end <= bytes.len() => Ok(bytes[r].to_vec()),
                    _ => Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
                }
            };
            match read_footer(Path::new(name), bytes.len() as u64, read_at) {
                Ok(entries) => {
                    for e in &entries {
                        assert!(e.offset >= HEADER_LEN, "{name}: {e:?} overlaps the header");
                        assert!(
                            e.offset
                                .checked_add(e.stored_len as u64)
                                .is_some_and(|end| end <= bytes.len() as u64),
                            "{name}: {e:?} lies outside the pack"
                        );
                    }
                    true
                }
                Err(_) => false,
            }
        }
        "stat_index" => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("index");
            fs::write(&path, bytes).unwrap();
            StatIndex::load(&path).is_ok()
        }
        "pointer" => Pointer::parse(Path::new(name), bytes).is_ok(),
        "manifest" => Manifest::decode(bytes).is_ok(),
        "segment" => object::decode_segment(bytes).is_ok(),
        "tree" => object::decode_tree(bytes).is_ok(),
        "node" => listing::decode_inner(bytes).is_ok(),
        "remote_index" => index::decode(&Id::of(bytes), bytes).is_ok(),
        "locator" => Locator::decode(&locator_root(bytes), bytes).is_ok(),
        "import_map" => ImportMap::decode(bytes).is_ok(),
        "dvc_file" => foreign::parse_dvc_file(bytes).is_ok(),
        "dvc_lock" => foreign::parse_dvc_lock(bytes).is_ok(),
        "dir_listing" => foreign::parse_dir_listing(bytes).is_ok(),
        "lfs_pointer" => foreign::parse_lfs_pointer(bytes).is_ok(),
        other => panic!("fixtures/hostile/{name}: no parser named {other}"),
    }
}

/// The handwritten hostile samples: each breaks one rule a parser must
/// enforce. Written to `fixtures/hostile/` under `CAIRN_BLESS=1`.
fn handwritten() -> Vec<(&'static str, Vec<u8>)> {
    let entry = |path: &str| TreeEntry {
        path: path.into(),
        mode: Mode::Regular,
        size: 1,
        id: Id::of(b"x"),
    };
    let id = "ab".repeat(32);
    let pointer = |body: &str| format!("cairn-pointer 1\n{body}").into_bytes();
    let (_, pack, _) = sample_pack();
    let (_, idx) = index::encode(&[]);
    let mut bad_sum = sample_manifest().encode();
    let at = bad_sum.len() - 1;
    bad_sum[at] ^= 1;
    let wrong_size = Manifest {
        size: 31,
        ..sample_manifest()
    };
    let mut sealed_wrong_size = wrong_size.encode();
    sealed_wrong_size.truncate(sealed_wrong_size.len() - 32);
    let sum = *blake3::hash(&sealed_wrong_size).as_bytes();
    sealed_wrong_size.extend_from_slice(&sum);
    vec![
        (
            "tree-parent-escape",
            object::encode_tree(&[entry("../escape")]),
        ),
        (
            "tree-absolute",
            object::encode_tree(&[entry("/etc/passwd")]),
        ),
        (
            "tree-git-dir",
            object::encode_tree(&[entry(".git/hooks/post-checkout")]),
        ),
        (
            "tree-cairn-dir",
            object::encode_tree(&[entry("a/.CAIRN/config.toml")]),
        ),
        (
            "tree-unsorted",
            object::encode_tree(&[entry("b"), entry("a")]),
        ),
        (
            "tree-file-and-dir",
            object::encode_tree(&[entry("a"), entry("a/b")]),
        ),
        ("tree-huge-count", {
            let mut t = object::encode_tree(&[]);
            t[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
            t
        }),
        ("node-truncated", {
            let mut n = listing::encode_inner(&sample_node());
            n.pop();
            n
        }),
        ("node-unsorted", {
            let mut n = sample_node();
            n.children.swap(0, 1);
            listing::encode_inner(&n)
        }),
        (
            "node-wrong-totals",
            listing::encode_inner(&Inner {
                files: 2050,
                ..sample_node()
            }),
        ),
        (
            "node-level-zero",
            listing::encode_inner(&Inner {
                level: 0,
                ..sample_node()
            }),
        ),
        (
            "node-no-children",
            listing::encode_inner(&Inner {
                files: 0,
                bytes: 0,
                children: Vec::new(),
                ..sample_node()
            }),
        ),
        ("node-escaping-path", {
            let mut n = sample_node();
            n.children[1].last = "../run.sh".into();
            listing::encode_inner(&n)
        }),
        ("node-huge-count", {
            let mut n = listing::encode_inner(&sample_node());
            n[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
            n
        }),
        ("manifest-bad-checksum", bad_sum),
        ("manifest-size-mismatch", sealed_wrong_size),
        ("segment-truncated", {
            let mut s = object::encode_segment(&[piece("a", 10)]);
            s.pop();
            s
        }),
        (
            "pointer-future-version",
            b"cairn-pointer 9\nkind file\n".to_vec(),
        ),
        (
            "pointer-bad-id",
            pointer("kind file\nid zz\nsize 1\nmode 644\n"),
        ),
        (
            "pointer-size-overflow",
            pointer(&format!(
                "kind file\nid {id}\nsize 99999999999999999999999\nmode 644\n"
            )),
        ),
        (
            "pointer-too-long",
            pointer(&format!(
                "kind file\nid {id}\nsize 1\nmode 644\n{}",
                "#".repeat(2000)
            )),
        ),
        ("pack_footer-truncated", pack[..pack.len() - 1].to_vec()),
        ("pack_footer-empty", Vec::new()),
        ("remote_index-truncated", idx[..idx.len() - 1].to_vec()),
        ("stat_index-truncated", b"CSTX\x01\x00".to_vec()),
        ("locator-truncated", {
            let l = sample_locator().encode();
            l[..l.len() - 1].to_vec()
        }),
        ("locator-huge-count", {
            // Well summed, but claiming more packs than it holds.
            let mut l = sample_locator().encode();
            l[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
            l.truncate(l.len() - 32);
            let sum = *blake3::hash(&l).as_bytes();
            l.extend_from_slice(&sum);
            l
        }),
        ("import_map-unsorted", {
            let text = sample_import_map().encode();
            let mut lines: Vec<&str> = text.lines().collect();
            lines.swap(1, 3);
            (lines.join("\n") + "\n").into_bytes()
        }),
        (
            "import_map-dir-without-files",
            format!("cairn-import-map 1\nmd5 {}.dir 1 dir {id}\n", "0f".repeat(16)).into_bytes(),
        ),
        (
            "dvc_file-parent-escape",
            format!("outs:\n- md5: {}\n  hash: md5\n  path: ../../etc/passwd\n", "0f".repeat(16)).into_bytes(),
        ),
        (
            "dvc_file-unsupported-hash",
            format!("outs:\n- md5: {}\n  path: data.csv\n", "0f".repeat(16)).into_bytes(),
        ),
        (
            "dvc_lock-absolute-out",
            format!("schema: '2.0'\nstages:\n  s:\n    outs:\n    - path: /etc/x\n      hash: md5\n      md5: {}\n", "0f".repeat(16)).into_bytes(),
        ),
        (
            "dir_listing-duplicate",
            format!(r#"[{{"md5":"{0}","relpath":"a"}},{{"md5":"{0}","relpath":"a"}}]"#, "0f".repeat(16)).into_bytes(),
        ),
        (
            "lfs_pointer-extension",
            format!("{}\next-0-foo sha256:{id}\noid sha256:{id}\nsize 1\n", foreign::LFS_VERSION).into_bytes(),
        ),
    ]
}

#[test]
fn hostile_fixtures_are_refused_without_a_panic() {
    let dir = fixtures().join("hostile");
    if std::env::var_os("CAIRN_BLESS").is_some() {
        for (name, bytes) in handwritten() {
            let path = dir.join(name);
            if !path.exists() {
                fs::write(path, bytes).unwrap();
            }
        }
    }
    for (name, _) in handwritten() {
        assert!(
            dir.join(name).exists(),
            "fixtures/hostile/{name} missing (CAIRN_BLESS=1 writes it)"
        );
    }
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".md"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "hostile fixtures missing: {names:?}");
    for name in names {
        let bytes = fs::read(dir.join(&name)).unwrap();
        let accepted = parse_hostile(&name, &bytes);
        // Fuzzer finds (`<parser>-<n>`) only must not panic; the
        // handwritten samples (`<parser>-<what>`) must be refused.
        let numbered = name
            .rsplit_once('-')
            .is_some_and(|(_, n)| n.parse::<u32>().is_ok());
        assert!(
            numbered || !accepted,
            "fixtures/hostile/{name} was accepted"
        );
    }
}
