//! Unit tests of the remote index: its encoding, damage detection and
//! which copy of a blob it prefers.

use super::*;
use crate::format::codec::Codec;

fn record(seed: &[u8], n: usize) -> PackRecord {
    let mut entries = Vec::new();
    let mut off = HEADER_LEN;
    for i in 0..n {
        entries.push(Entry {
            id: Id::of(&[seed, &[i as u8]].concat()),
            kind: ObjectKind::Chunk,
            codec: Codec::Zstd,
            offset: off,
            stored_len: 100,
            raw_len: 200,
        });
        off += 100;
    }
    let len = off + (n * ENTRY_LEN + TRAILER_LEN) as u64;
    PackRecord {
        id: pack::pack_id(&entries),
        len,
        entries,
    }
}

#[test]
fn round_trip() {
    let packs = vec![record(b"a", 3), record(b"b", 0), record(b"c", 1)];
    let (id, bytes) = encode(&packs);
    assert_eq!(decode(&id, &bytes).unwrap(), packs);
}

#[test]
fn damage_is_detected() {
    let (id, bytes) = encode(&[record(b"a", 2)]);
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 1;
        assert!(decode(&id, &b).is_err(), "flip at {i}");
    }
    assert_eq!(
        decode(&id, &bytes[..bytes.len() - 1]),
        Err(IndexError::NameMismatch)
    );
    // A well-formed file under another name is refused too.
    let (_, other) = encode(&[record(b"z", 1)]);
    assert_eq!(decode(&id, &other), Err(IndexError::NameMismatch));
}

#[test]
fn checks_beyond_the_name() {
    let mut bad = record(b"a", 2);
    bad.len = 10;
    let (id, bytes) = encode(&[bad]);
    assert_eq!(decode(&id, &bytes), Err(IndexError::EntryOutOfRange));
    let mut bad = record(b"a", 2);
    bad.id = Id::of(b"other");
    let (id, bytes) = encode(&[bad]);
    assert_eq!(decode(&id, &bytes), Err(IndexError::PackIdMismatch));
}

#[test]
fn condemned_copies_are_kept_only_as_a_last_resort() {
    let a = record(b"a", 2);
    let mut b = record(b"b", 0);
    b.entries = vec![a.entries[1]];
    b.id = pack::pack_id(&b.entries);
    let mut idx = RemoteIndex::default();
    idx.condemned.insert(a.id);
    idx.add(vec![a.clone(), b.clone()]);
    // Both blobs stay readable; only the one with another copy is kept.
    assert!(idx.contains(ObjectKind::Chunk, &a.entries[0].id));
    assert!(!idx.keeps(ObjectKind::Chunk, &a.entries[0].id));
    assert!(idx.keeps(ObjectKind::Chunk, &a.entries[1].id));
    assert_eq!(
        idx.get(ObjectKind::Chunk, &a.entries[1].id).unwrap().0,
        b.id
    );
}

#[test]
fn located_packs_are_partial_until_a_whole_record_comes() {
    let a = record(b"a", 4);
    let mut idx = RemoteIndex::default();
    idx.add_located(a.id, a.len, 4, &a.entries[2..3]);
    idx.add_located(a.id, a.len, 4, &a.entries[0..1]);
    // Another length for the same pack is a lie: ignored.
    idx.add_located(a.id, a.len + 1, 4, &a.entries[1..2]);
    assert_eq!(idx.blob_count(), 2);
    assert_eq!(idx.footer_entries(&a.id), Some(4));
    assert_eq!(idx.packs[&a.id].entries.len(), 2);
    assert_eq!(
        idx.get(ObjectKind::Chunk, &a.entries[2].id),
        Some((a.id, a.entries[2]))
    );
    assert!(!idx.contains(ObjectKind::Chunk, &a.entries[1].id));
    // The index file's record replaces what locators said.
    idx.add(vec![a.clone()]);
    assert_eq!(idx.blob_count(), 4);
    assert_eq!(idx.packs[&a.id], a);
    for e in &a.entries {
        assert_eq!(idx.get(ObjectKind::Chunk, &e.id), Some((a.id, *e)));
    }
    // A whole record is never replaced by a locator's claim.
    idx.add_located(a.id, a.len, 9, &a.entries[..1]);
    assert_eq!(idx.footer_entries(&a.id), Some(4));
}

#[test]
fn damaged_copies_do_not_count() {
    let good = record(b"a", 2);
    let mut idx = RemoteIndex::default();
    idx.damaged
        .insert((good.id, Some((ObjectKind::Chunk, good.entries[0].id))));
    idx.add(vec![good.clone()]);
    assert!(!idx.contains(ObjectKind::Chunk, &good.entries[0].id));
    assert!(idx.contains(ObjectKind::Chunk, &good.entries[1].id));
}

#[test]
fn paths() {
    let id = Id::of(b"p");
    let p = pack_path(&id);
    assert!(p.starts_with(&format!("packs/{}/", &id.to_hex()[..2])));
    assert_eq!(pack_id_of(&p), Some(id));
    assert_eq!(
        index_id_of(&format!("pre/fix/index/{}.idx", id.to_hex())),
        Some(id)
    );
    assert_eq!(index_id_of("index/nothex.idx"), None);
}

/// `cached_lists` answers as `cached` then `contains` would, leaving out
/// a damaged copy and an unrelated file, and `None` with no index file
/// cached at all.
#[test]
fn cached_lists_agrees_with_the_cached_index() {
    let root = tempfile::tempdir().unwrap();
    let loc = crate::remote::Location::Folder("/nowhere/remote".into());
    assert_eq!(cached_lists(root.path(), &loc, &[]), None);
    let dir = cache_dir(root.path(), &loc);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("fetched"), "cairn-fetched 1\n").unwrap();
    assert_eq!(cached_lists(root.path(), &loc, &[]), None, "no index file");
    let (a, b, c) = (record(b"a", 3), record(b"b", 2), record(b"c", 1));
    let (id, bytes) = encode(std::slice::from_ref(&a));
    std::fs::write(dir.join(format!("{}.idx", id.to_hex())), &bytes).unwrap();
    // Damaged (its bytes no longer match its name): its packs count for
    // nothing.
    let (id, mut bytes) = encode(std::slice::from_ref(&b));
    bytes[20] ^= 1;
    std::fs::write(dir.join(format!("{}.idx", id.to_hex())), &bytes).unwrap();
    let (_, bytes) = encode(std::slice::from_ref(&c));
    std::fs::write(dir.join("not-an-index"), &bytes).unwrap();
    let keys: Vec<(ObjectKind, Id)> = [&a.entries[1], &b.entries[0], &c.entries[0]]
        .iter()
        .map(|e| (e.kind, e.id))
        .chain([(ObjectKind::Tree, a.entries[0].id)])
        .collect();
    let got = cached_lists(root.path(), &loc, &keys).unwrap();
    assert_eq!(got, [true, false, false, false]);
    let full = cached(root.path(), &loc).unwrap();
    let want: Vec<bool> = keys.iter().map(|(k, id)| full.contains(*k, id)).collect();
    assert_eq!(got, want);
}
