//! A large file is stored exactly as if it were read whole: the same chunk
//! boundaries (the format's chunker over the whole file) and the BLAKE3 of
//! all its bytes, however its blocks were read and on any size of pool.

use super::*;
use crate::progress::Silent;

/// Deterministic, compressible CSV-like text of `len` bytes.
fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut row = 0u64;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(format!("{row},{},{}\n", x % 100_000, x >> 48).as_bytes());
        row += 1;
    }
    out.truncate(len);
    out
}

/// The chunk lengths the store holds for file `id`, in order.
fn stored_chunks(store: &Store, id: &Id) -> Vec<u64> {
    let raw = store.read(ObjectKind::Manifest, id).unwrap().unwrap();
    let m = Manifest::decode(&raw).unwrap();
    match m.form {
        Form::Chunks => m.pieces.iter().map(|p| p.len).collect(),
        Form::Segments => m
            .pieces
            .iter()
            .flat_map(|s| {
                let raw = store.read(ObjectKind::Segment, &s.id).unwrap().unwrap();
                object::decode_segment(&raw).unwrap()
            })
            .map(|p| p.len)
            .collect(),
    }
}

#[test]
fn a_large_file_is_cut_and_hashed_as_if_read_whole_on_any_pool() {
    // Past the first blocks (1, 2, 4 MiB) into full ones, ending mid-block.
    let data = text(18 << 20);
    // The copy in a directory differs, so its chunks are stored anew.
    let other = [b"x".as_slice(), &data].concat();
    let cuts = |d: &[u8]| -> Vec<u64> {
        Chunker::default()
            .chunks(d)
            .map(|(_, l)| l as u64)
            .collect()
    };
    for threads in [1, 2, 3] {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join(".git")).unwrap();
        Workspace::init(d.path()).unwrap();
        let ws = Workspace::open(d.path()).unwrap();
        std::fs::create_dir(d.path().join("dir")).unwrap();
        std::fs::write(d.path().join("big.csv"), &data).unwrap();
        std::fs::write(d.path().join("dir/big.csv"), &other).unwrap();
        let store = Store::open(&ws.cache_dir(), &Silent).unwrap();
        let mut index = StatIndex::load(&ws.stat_index_path()).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let ingest = Ingest::new(&ws, &store, &mut index, &Silent);
        // A file argument is read outside the pool, a file in a directory
        // on a pool thread.
        let file = ingest.add_path("big.csv").unwrap();
        let dir = pool.install(|| ingest.add_path("dir")).unwrap();
        store.flush().unwrap();
        assert_eq!(file.id(), Id::of(&data), "{threads} threads");
        assert_eq!(
            stored_chunks(&store, &file.id()),
            cuts(&data),
            "{threads} threads"
        );
        let Pointer::Dir { id, .. } = dir else {
            panic!("a directory's pointer: {dir:?}")
        };
        let tree = store.read(ObjectKind::Tree, &id).unwrap().unwrap();
        let inner = object::decode_tree(&tree).unwrap()[0].id;
        assert_eq!(inner, Id::of(&other), "{threads} threads");
        assert_eq!(
            stored_chunks(&store, &inner),
            cuts(&other),
            "{threads} threads"
        );
    }
}
