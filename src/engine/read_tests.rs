use super::*;
use crate::format::object::{Form, Manifest};
use crate::progress::Silent;

fn bytes(seed: u8, n: usize) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
}

/// A store holding three chunks and a manifest listing them in
/// `order`; returns the file (in the right order) and its id.
fn stored(order: [usize; 3]) -> (tempfile::TempDir, Store, Vec<u8>, Id) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &Silent).unwrap();
    let chunks = [bytes(1, 100), bytes(2, 200), bytes(3, 50)];
    let file: Vec<u8> = chunks.concat();
    let id = Id::of(&file);
    for c in &chunks {
        store.put(ObjectKind::Chunk, Id::of(c), c).unwrap();
    }
    let m = Manifest {
        size: file.len() as u64,
        form: Form::Chunks,
        pieces: order
            .iter()
            .map(|&i| Piece {
                id: Id::of(&chunks[i]),
                len: chunks[i].len() as u64,
            })
            .collect(),
    };
    store.put(ObjectKind::Manifest, id, &m.encode()).unwrap();
    store.flush().unwrap();
    (dir, store, file, id)
}

#[test]
fn reads_in_order_and_after_seeks() {
    let (_d, store, file, id) = stored([0, 1, 2]);
    let mut r = FileReader::open(&store, id, file.len() as u64, "f".into(), None).unwrap();
    let mut all = Vec::new();
    r.read_to_end(&mut all).unwrap();
    assert_eq!(all, file);
    for (to, want) in [
        (SeekFrom::Start(150), 150usize),
        (SeekFrom::End(-10), file.len() - 10),
        (SeekFrom::Start(99), 99),
    ] {
        let at = r.seek(to).unwrap();
        assert_eq!(at as usize, want);
        let mut buf = [0u8; 10];
        let n = r.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], &file[want..want + n]);
        assert!(n > 0);
    }
    assert!(r.seek(SeekFrom::Current(-1000)).is_err());
    // Past the end reads nothing.
    r.seek(SeekFrom::Start(10_000)).unwrap();
    assert_eq!(r.read(&mut [0u8; 4]).unwrap(), 0);
}

#[test]
fn a_manifest_that_splices_valid_chunks_wrongly_fails_at_the_end() {
    let (_d, store, file, id) = stored([1, 0, 2]);
    let mut r = FileReader::open(&store, id, file.len() as u64, "f".into(), None).unwrap();
    let mut all = Vec::new();
    let e = r.read_to_end(&mut all).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    let inner = e.get_ref().and_then(|r| r.downcast_ref::<Error>());
    assert!(
        matches!(inner, Some(Error::CorruptObject { .. })),
        "{inner:?}"
    );
}

#[test]
fn a_size_other_than_the_manifests_is_refused() {
    let (_d, store, file, id) = stored([0, 1, 2]);
    let r = FileReader::open(&store, id, file.len() as u64 + 1, "f".into(), None);
    assert!(r.is_err());
}

/// A remote that serves chunks from memory and counts what it was asked.
#[derive(Default)]
struct FakeRemote {
    chunks: std::collections::HashMap<Id, Vec<u8>>,
    asked: std::sync::Mutex<Vec<usize>>,
}

impl ChunkFetch for FakeRemote {
    fn fetch(&self, pieces: &[Piece]) -> Result<Vec<Vec<u8>>> {
        self.asked.lock().unwrap().push(pieces.len());
        pieces
            .iter()
            .map(|p| {
                self.chunks.get(&p.id).cloned().ok_or(Error::MissingObject {
                    kind: ObjectKind::Chunk,
                    id: p.id,
                    path: "remote".into(),
                })
            })
            .collect()
    }
}

/// A file of `n` chunks of 200 kB whose store holds only the manifest and
/// every third chunk; the remote holds all of them.
fn remote_file(n: usize) -> (tempfile::TempDir, Store, Arc<FakeRemote>, Vec<u8>, Id) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &Silent).unwrap();
    let chunks: Vec<Vec<u8>> = (0..n).map(|i| bytes(i as u8, 200_000)).collect();
    let file = chunks.concat();
    let id = Id::of(&file);
    let mut remote = FakeRemote::default();
    for (i, c) in chunks.iter().enumerate() {
        remote.chunks.insert(Id::of(c), c.clone());
        if i % 3 == 0 {
            store.put(ObjectKind::Chunk, Id::of(c), c).unwrap();
        }
    }
    let m = Manifest {
        size: file.len() as u64,
        form: Form::Chunks,
        pieces: chunks
            .iter()
            .map(|c| Piece {
                id: Id::of(c),
                len: c.len() as u64,
            })
            .collect(),
    };
    store.put(ObjectKind::Manifest, id, &m.encode()).unwrap();
    store.flush().unwrap();
    (dir, store, Arc::new(remote), file, id)
}

#[test]
fn chunks_the_store_lacks_come_from_the_remote_and_memory_stays_bounded() {
    let (_d, store, remote, file, id) = remote_file(60);
    let src: Arc<dyn ChunkFetch> = remote.clone();
    let mut r = FileReader::open(&store, id, file.len() as u64, "f".into(), Some(src)).unwrap();
    let mut all = Vec::new();
    let mut buf = vec![0u8; 100_000];
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        assert!(r.held() as u64 <= WINDOW + 200_000, "held {}", r.held());
        all.extend_from_slice(&buf[..n]);
    }
    assert!(all == file, "sequential read differs");
    // Only the two thirds the store lacks were asked for, in windows.
    let asked = remote.asked.lock().unwrap().clone();
    assert_eq!(asked.iter().sum::<usize>(), 40, "{asked:?}");
    assert!(asked.len() >= 2, "read in several windows: {asked:?}");
}

#[test]
fn a_read_after_a_seek_loads_only_the_chunks_it_covers() {
    let (_d, store, remote, file, id) = remote_file(30);
    let src: Arc<dyn ChunkFetch> = remote.clone();
    let mut r = FileReader::open(&store, id, file.len() as u64, "f".into(), Some(src)).unwrap();
    // Across the boundary of chunks 1 and 2 (neither in the store).
    let at = 400_000 - 50;
    r.seek(SeekFrom::Start(at)).unwrap();
    let mut buf = vec![0u8; 100];
    r.read_exact(&mut buf).unwrap();
    assert_eq!(buf, &file[at as usize..at as usize + 100]);
    assert_eq!(*remote.asked.lock().unwrap(), vec![2]);
    assert_eq!(r.position(), at + 100);
}

#[test]
fn a_chunk_nowhere_to_be_found_is_an_error_not_bytes() {
    let (_d, store, _remote, file, id) = remote_file(6);
    // No remote: the store lacks chunk 1.
    let mut r = FileReader::open(&store, id, file.len() as u64, "f".into(), None).unwrap();
    r.seek(SeekFrom::Start(200_000)).unwrap();
    let e = r.read(&mut [0u8; 10]).unwrap_err();
    let inner = e.get_ref().and_then(|r| r.downcast_ref::<Error>());
    assert!(
        matches!(inner, Some(Error::MissingObject { .. })),
        "{inner:?}"
    );
}

/// A remote that answers with chunks of the wrong length.
struct ShortRemote;

impl ChunkFetch for ShortRemote {
    fn fetch(&self, pieces: &[Piece]) -> Result<Vec<Vec<u8>>> {
        Ok(pieces.iter().map(|_| vec![0u8; 7]).collect())
    }
}

#[test]
fn a_chunk_of_the_wrong_length_is_refused() {
    let (_d, store, _remote, file, id) = remote_file(6);
    let src: Arc<dyn ChunkFetch> = Arc::new(ShortRemote);
    let mut r = FileReader::open(&store, id, file.len() as u64, "f".into(), Some(src)).unwrap();
    r.seek(SeekFrom::Start(200_000)).unwrap();
    let e = r.read(&mut [0u8; 10]).unwrap_err();
    let inner = e.get_ref().and_then(|r| r.downcast_ref::<Error>());
    assert!(
        matches!(inner, Some(Error::CorruptObject { .. })),
        "{inner:?}"
    );
}

/// The default `fetch_into` lays the pieces end to end, and refuses a
/// chunk whose length is not the one listed before copying it.
#[test]
fn fetch_into_places_each_piece_and_checks_its_length() {
    let (_d, _store, remote, file, _id) = remote_file(3);
    let pieces: Vec<Piece> = file
        .chunks(200_000)
        .map(|c| Piece {
            id: Id::of(c),
            len: c.len() as u64,
        })
        .collect();
    let mut out = vec![0u8; file.len()];
    remote.fetch_into(&pieces, &mut out).unwrap();
    assert!(out == file);
    let e = ShortRemote.fetch_into(&pieces, &mut out).unwrap_err();
    assert!(
        matches!(&e, Error::CorruptObject { cause, .. }
            if matches!(**cause, Corruption::ChunkLength { expected: 200_000, actual: 7 })),
        "{e:?}"
    );
}
