//! Writes small valid inputs for every fuzz target into `fuzz/seeds/<target>/`,
//! so the fuzzer starts from real encodings instead of discovering magic
//! numbers, hex ids and checksums by chance.
//!
//! Run from `fuzz/`: `cargo run --example make_seeds`. The output is
//! deterministic except for the stat index's save time.

use std::fs;
use std::path::{Path, PathBuf};

use cairn::format::codec::Codec;
use cairn::format::kind::ObjectKind;
use cairn::format::listing::{encode_inner, Child, Inner};
use cairn::hash::Id;
use cairn::format::object::{encode_segment, encode_tree, Form, Manifest, Mode, Piece, TreeEntry};
use cairn::store::packfile::PackWriter;
use cairn::format::pointer::Pointer;
use cairn::repo::stat_index::{Stat, StatIndex};

fn put(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

fn piece(i: u32, len: u64) -> Piece {
    Piece {
        id: Id::of(&i.to_le_bytes()),
        len,
    }
}

fn main() {
    // pointer
    let id = Id::of(b"cairn");
    put(
        "pointer",
        "file",
        Pointer::File {
            id,
            size: 12345,
            mode: Mode::Regular,
        }
        .encode()
        .as_bytes(),
    );
    put(
        "pointer",
        "file-exec-crlf",
        Pointer::File {
            id,
            size: 0,
            mode: Mode::Executable,
        }
        .encode()
        .replace('\n', "\r\n")
        .as_bytes(),
    );
    put(
        "pointer",
        "dir",
        Pointer::Dir {
            id,
            size: u64::MAX,
            files: 20_000,
            layered: false,
        }
        .encode()
        .as_bytes(),
    );
    put(
        "pointer",
        "dir-v2",
        Pointer::Dir {
            id,
            size: 1 << 40,
            files: 2_000_000,
            layered: true,
        }
        .encode()
        .as_bytes(),
    );

    // manifest: the target also tries each input with a checksum appended,
    // so seed both whole manifests and bodies without their checksum.
    for (name, m) in [
        (
            "chunks",
            Manifest {
                size: 3 * 65536 + 7,
                form: Form::Chunks,
                pieces: vec![piece(1, 65536), piece(2, 65536), piece(3, 65543)],
            },
        ),
        (
            "segments",
            Manifest {
                size: 1 << 30,
                form: Form::Segments,
                pieces: vec![piece(4, 1 << 29), piece(5, 1 << 29)],
            },
        ),
    ] {
        let b = m.encode();
        put("manifest", name, &b);
        put("manifest", &format!("{name}-body"), &b[..b.len() - 32]);
    }

    // segment
    let chunks: Vec<Piece> = (0..5).map(|i| piece(i, 1000 + i as u64)).collect();
    put("segment", "five", &encode_segment(&chunks));
    put("segment", "empty", &encode_segment(&[]));

    // tree
    let e = |path: &str, mode, size| TreeEntry {
        path: path.into(),
        mode,
        size,
        id: Id::of(path.as_bytes()),
    };
    put(
        "tree",
        "nested",
        &encode_tree(&[
            e("a.csv", Mode::Regular, 10),
            e("b/c.bin", Mode::Executable, 0),
            e("b/d/e.txt", Mode::Regular, 1 << 40),
            e("ü ñ.txt", Mode::Regular, 3),
        ]),
    );
    put("tree", "empty", &encode_tree(&[]));

    // node: a level-1 node over two leaves, and a level-2 node.
    let child = |last: &str, files, bytes| Child {
        id: Id::of(last.as_bytes()),
        files,
        bytes,
        last: last.into(),
    };
    let node = |level, children: Vec<Child>| Inner {
        level,
        files: children.iter().map(|c| c.files).sum(),
        bytes: children.iter().map(|c| c.bytes).sum(),
        children,
    };
    put(
        "node",
        "leaves",
        &encode_inner(&node(1, vec![child("a/x.csv", 600, 1 << 30), child("b/ü.bin", 424, 7)])),
    );
    put(
        "node",
        "nodes",
        &encode_inner(&node(2, vec![child("m", 300_000, 12), child("z/z", 1, 0)])),
    );

    // pack_footer: a real pack with a chunk, a segment and a manifest.
    let tmp = std::env::temp_dir().join(format!("cairn-make-seeds-{}", std::process::id()));
    let mut w = PackWriter::create(tmp.clone()).unwrap();
    for (kind, bytes) in [
        (ObjectKind::Chunk, b"hello chunk".to_vec()),
        (ObjectKind::Segment, encode_segment(&chunks)),
        (ObjectKind::Tree, encode_tree(&[e("x", Mode::Regular, 1)])),
    ] {
        w.add(kind, Id::of(&bytes), Codec::Raw, &bytes, bytes.len())
            .unwrap();
    }
    let (path, _, _) = w.finish().unwrap();
    put("pack_footer", "three-blobs", &fs::read(&path).unwrap());
    fs::remove_file(&path).unwrap();
    let w = PackWriter::create(tmp.clone()).unwrap();
    let (path, _, _) = w.finish().unwrap();
    put("pack_footer", "empty", &fs::read(&path).unwrap());
    fs::remove_file(&path).unwrap();

    // stat_index: whole files and bodies without their checksum.
    let idx_path: PathBuf = tmp.with_extension("index");
    let mut idx = StatIndex::load(&idx_path).unwrap();
    for (i, p) in ["data/a.csv", "data/b/c.bin", "model.safetensors"]
        .iter()
        .enumerate()
    {
        let stat = Stat {
            size: 100 * i as u64,
            mtime_ns: 1_700_000_000_000_000_000 + i as i64,
            ctime_ns: 1_700_000_000_000_000_000,
            ino: 1000 + i as u64,
            exec: i == 1,
        };
        idx.insert(p.to_string(), stat, Id::of(p.as_bytes()));
    }
    idx.save().unwrap();
    let b = fs::read(&idx_path).unwrap();
    fs::remove_file(&idx_path).unwrap();
    put("stat_index", "three", &b);
    put("stat_index", "three-body", &b[..b.len() - 32]);

    // locator: one root in two packs (one of them the three-blob pack).
    use cairn::format::pack::Entry;
    use cairn::remote::locator::{LocatedPack, Locator};
    let entry = |i: u64| Entry {
        id: Id::of(&i.to_le_bytes()),
        kind: ObjectKind::Chunk,
        codec: Codec::Zstd,
        offset: 16 + 100 * i,
        stored_len: 100,
        raw_len: 250,
    };
    let located = |seed: &[u8], used: &[u64]| LocatedPack {
        id: Id::of(seed),
        len: 16 + 100 * 4 + 4 * 52 + 56,
        footer_entries: 4,
        entries: used.iter().map(|&i| entry(i)).collect(),
    };
    let l = Locator {
        root: Id::of(b"root"),
        packs: vec![located(b"p1", &[0, 2, 3]), located(b"p2", &[1])],
    };
    put("locator", "two-packs", &l.encode());

    println!(
        "seeds written to {}",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("seeds")
            .display()
    );
}
