//! Damage as the store reports it: the pack a damaged copy was read from,
//! and which check failed, as a typed cause.

use std::error::Error as _;
use std::fs;

use super::*;
use crate::error::Corruption;
use crate::format::codec::Codec;
use crate::format::object::ObjectError;
use crate::progress::Silent;

/// Bytes zstd cannot shrink, so they are stored as they are.
fn noise(n: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn store_with(raw: &[u8]) -> (tempfile::TempDir, Id, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &Silent).unwrap();
    let id = Id::of(raw);
    store.put(ObjectKind::Chunk, id, raw).unwrap();
    store.flush().unwrap();
    let pack = store.pack_of(ObjectKind::Chunk, &id).unwrap();
    (dir, id, pack)
}

#[test]
fn a_damaged_read_names_its_pack_and_the_failed_check() {
    let raw = noise(4096);
    let (dir, id, pack) = store_with(&raw);
    assert_eq!(pack.extension().unwrap(), "pack");
    let mut bytes = fs::read(&pack).unwrap();
    bytes[crate::format::pack::HEADER_LEN as usize + 100] ^= 1;
    fs::write(&pack, bytes).unwrap();

    let store = Store::open(dir.path(), &Silent).unwrap();
    let e = store.read(ObjectKind::Chunk, &id).unwrap_err();
    match &e {
        Error::CorruptObject {
            kind: ObjectKind::Chunk,
            id: got,
            pack: Some(p),
            cause,
        } => {
            assert_eq!(*got, id);
            assert_eq!(*p, pack);
            assert!(
                matches!(**cause, Corruption::HashMismatch { expected, actual }
                    if expected == id && actual != id),
                "{cause:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let text = e.to_string();
    let want = format!("in pack {} is damaged: content hashes to", pack.display());
    assert!(text.contains(&want), "{text}");
    // The cause is the error's typed source, not only text.
    let source = e.source().unwrap();
    assert!(source.downcast_ref::<Box<Corruption>>().is_some());
}

#[test]
fn damage_found_after_a_read_names_the_pack_read_from() {
    let raw = noise(64);
    let (dir, id, pack) = store_with(&raw);
    let store = Store::open(dir.path(), &Silent).unwrap();
    match store.corrupt(ObjectKind::Chunk, id, ObjectError::Magic) {
        Error::CorruptObject {
            pack: Some(p),
            cause,
            ..
        } => {
            assert_eq!(p, pack);
            assert!(matches!(*cause, Corruption::Object(ObjectError::Magic)));
        }
        other => panic!("{other:?}"),
    }
    // A blob the store does not hold has no pack to name.
    let absent = Id::of(b"absent");
    let e = store.corrupt(ObjectKind::Tree, absent, ObjectError::Order);
    assert_eq!(
        e.to_string(),
        format!("directory listing {absent} is damaged: unsorted or duplicate paths")
    );
}

#[test]
fn bytes_from_elsewhere_are_refused_without_naming_a_pack() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &Silent).unwrap();
    let raw = noise(64);
    let claimed = Id::of(b"something else");
    let e = store
        .put_encoded(
            ObjectKind::Chunk,
            claimed,
            Codec::Raw,
            &raw,
            raw.len() as u32,
        )
        .unwrap_err();
    match e {
        Error::CorruptObject {
            pack: None, cause, ..
        } => assert!(
            matches!(*cause, Corruption::HashMismatch { expected, actual }
                if expected == claimed && actual == Id::of(&raw)),
            "{cause:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(!store.contains(ObjectKind::Chunk, &claimed));
}

/// Tiny blobs seal a pack at `PACK_BLOBS`, long before `PACK_TARGET`
/// bytes: the open pack's footer entries are what `add` of a million tiny
/// files would otherwise hold all at once.
#[test]
fn a_pack_of_tiny_blobs_is_sealed_at_the_blob_cap() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &Silent).unwrap();
    let n = PACK_BLOBS + 10;
    for i in 0..n as u64 {
        let raw = i.to_le_bytes();
        store.put(ObjectKind::Chunk, Id::of(&raw), &raw).unwrap();
    }
    store.flush().unwrap();
    let packs = store.sealed_packs();
    assert_eq!(packs.len(), 2, "one full pack and one of the rest");
    let mut counts: Vec<usize> = packs.iter().map(|p| p.entries.len()).collect();
    counts.sort();
    assert_eq!(counts, vec![10, PACK_BLOBS]);
    drop(store);
    let store = Store::open(dir.path(), &Silent).unwrap();
    for i in [0u64, PACK_BLOBS as u64, n as u64 - 1] {
        let raw = i.to_le_bytes();
        assert_eq!(
            store.read(ObjectKind::Chunk, &Id::of(&raw)).unwrap(),
            Some(raw.to_vec())
        );
    }
}

/// [`Store::read_chunk_into`] fills a caller's slice from raw and
/// compressed chunks alike (the thread's scratch buffer reused between
/// them); a slice of another length is refused from the index before
/// anything is read, without recording the chunk as damaged; a chunk the
/// store lacks is `false`; and with `hash`, damage is caught and recorded.
#[test]
fn chunks_read_into_a_slice_checked_by_length_and_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &Silent).unwrap();
    let noisy = noise(70_000);
    let long_text: Vec<u8> = (0..20_000u32)
        .flat_map(|i| format!("{i},row\n").into_bytes())
        .collect();
    let short_text = long_text[..5_000].to_vec();
    for raw in [&noisy, &long_text, &short_text] {
        store.put(ObjectKind::Chunk, Id::of(raw), raw).unwrap();
    }
    store.flush().unwrap();
    for raw in [&noisy, &long_text, &short_text] {
        let id = Id::of(raw);
        let compressed = store.stored_len(ObjectKind::Chunk, &id).unwrap() < raw.len() as u64;
        assert_eq!(compressed, raw != &noisy);
        for hash in [true, false] {
            let mut out = vec![0xAAu8; raw.len()];
            assert!(store.read_chunk_into(&id, &mut out, hash).unwrap());
            assert!(&out == raw);
        }
        let mut short = vec![0u8; raw.len() - 1];
        match store.read_chunk_into(&id, &mut short, false) {
            Err(Error::CorruptObject { cause, .. }) => assert!(
                matches!(*cause, Corruption::ChunkLength { expected, actual }
                    if expected == raw.len() as u64 - 1 && actual == raw.len() as u64),
                "{cause:?}"
            ),
            other => panic!("{other:?}"),
        }
        assert!(store.contains(ObjectKind::Chunk, &id));
    }
    assert!(!store
        .read_chunk_into(&Id::of(b"absent"), &mut [0u8; 6], true)
        .unwrap());

    // A flipped byte in the raw chunk: read unhashed, it is the caller's
    // to find; read hashed, it is named, with its pack, and recorded.
    let id = Id::of(&noisy);
    let pack = store.pack_of(ObjectKind::Chunk, &id).unwrap();
    drop(store);
    let mut bytes = fs::read(&pack).unwrap();
    let at = bytes
        .windows(64)
        .position(|w| w == &noisy[1000..1064])
        .unwrap();
    bytes[at] ^= 1;
    fs::write(&pack, bytes).unwrap();
    let store = Store::open(dir.path(), &Silent).unwrap();
    let mut out = vec![0u8; noisy.len()];
    assert!(store.read_chunk_into(&id, &mut out, false).unwrap());
    assert!(out != noisy);
    match store.read_chunk_into(&id, &mut out, true) {
        Err(Error::CorruptObject {
            id: got,
            pack: Some(p),
            cause,
            ..
        }) => {
            assert_eq!((got, &p), (id, &pack));
            assert!(
                matches!(*cause, Corruption::HashMismatch { .. }),
                "{cause:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!store.contains(ObjectKind::Chunk, &id));
}
