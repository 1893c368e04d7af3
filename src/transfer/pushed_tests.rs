//! The streamed locator is the same bytes as the one `locate::build`
//! makes over `locate::root_blobs` and the merged index, whatever part of
//! a root's blobs the remote held before the push and what it sent.

use super::*;
use crate::engine::ingest::Ingest;
use crate::progress::Silent;
use crate::remote::index::PackRecord;
use crate::repo::stat_index::StatIndex;
use crate::repo::workspace::Workspace;
use crate::store::SealedPack;
use crate::transfer::locate;

fn noise(seed: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut h = blake3::Hasher::new();
    h.update(seed.as_bytes());
    let mut r = h.finalize_xof();
    out.resize(len, 0);
    r.fill(&mut out);
    out
}

/// A workspace whose cache holds a layered listing of 1,500 files (some
/// equal), a file of a few chunks and one stored as segments, each added
/// and flushed on its own so they sit in several packs.
fn stored() -> (tempfile::TempDir, Store, Vec<(String, Pointer)>) {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join(".git")).unwrap();
    Workspace::init(d.path()).unwrap();
    let ws = Workspace::open(d.path()).unwrap();
    for i in 0..1_500 {
        let dir = d.path().join(format!("data/d{:02}", i % 40));
        std::fs::create_dir_all(&dir).unwrap();
        let body = format!("row {},{}\n", i % 1_200, i * 7).repeat(1 + i % 5);
        std::fs::write(dir.join(format!("f{i:04}.csv")), body).unwrap();
    }
    let small = noise("small", 600_000);
    let mut big = noise("big", 12 << 20);
    big[..small.len()].copy_from_slice(&small);
    std::fs::write(d.path().join("small.bin"), &small).unwrap();
    std::fs::write(d.path().join("big.bin"), &big).unwrap();
    let store = Store::open(&ws.cache_dir(), &Silent).unwrap();
    let mut index = StatIndex::load(&ws.stat_index_path()).unwrap();
    let mut pointers = Vec::new();
    for rel in ["data", "small.bin", "big.bin"] {
        let ptr = Ingest::new(&ws, &store, &mut index, &Silent)
            .add_path(rel)
            .unwrap();
        store.flush().unwrap();
        pointers.push((rel.to_string(), ptr));
    }
    assert!(matches!(&pointers[0].1, Pointer::Dir { layered: true, .. }));
    for (rel, form) in [("small.bin", Form::Chunks), ("big.bin", Form::Segments)] {
        let (_, ptr) = pointers.iter().find(|(r, _)| r == rel).unwrap();
        let raw = store
            .read(ObjectKind::Manifest, &ptr.id())
            .unwrap()
            .unwrap();
        assert_eq!(Manifest::decode(&raw).unwrap().form, form, "{rel}");
    }
    (d, store, pointers)
}

fn records(store: &Store) -> Vec<PackRecord> {
    let mut out: Vec<PackRecord> = store
        .sealed_packs()
        .into_iter()
        .map(|p| PackRecord {
            id: crate::format::pack::pack_id(&p.entries),
            len: p.len,
            entries: p.entries,
        })
        .collect();
    out.sort_by_key(|r| r.id);
    out
}

/// Both paths for every pointer, with the first `before` records on the
/// remote before the push and the rest pushed.
fn compare(store: &Store, pointers: &[(String, Pointer)], before: usize, condemn: bool) -> usize {
    let all = records(store);
    let mut index = RemoteIndex::default();
    index.add(all[..before].to_vec());
    if condemn {
        index.condemned.insert(all[0].id);
    }
    let mut merged = RemoteIndex::default();
    merged.condemned = index.condemned.clone();
    merged.add(all[..before].to_vec());
    merged.add(all[before..].to_vec());
    let known = Known {
        pushed: Pushed::new(all[before..].to_vec(), &index),
        index,
    };
    let mut written = 0;
    for (rel, ptr) in pointers {
        let blobs = locate::root_blobs(store, rel, ptr).unwrap().unwrap();
        let old = locate::build(ptr.id(), &blobs, &merged).map(|l| l.encode());
        let new = locator_of(store, ptr, &known).unwrap();
        assert!(
            old == new,
            "{rel} with {before} packs before: locators differ"
        );
        // Spooled pack by pack to a file: the same bytes.
        let spooled = locator_body(store, ptr, &known, Some(0)).unwrap();
        assert!(spooled
            .as_ref()
            .is_none_or(|b| matches!(b, crate::transfer::spool::Body::Spooled(_))));
        let spooled = spooled.map(|b| b.into_bytes().unwrap());
        assert!(
            old == spooled,
            "{rel} with {before} packs before: spooled locators differ"
        );
        written += usize::from(new.is_some());
    }
    written
}

#[test]
fn a_streamed_locator_is_the_one_the_merged_index_builds() {
    let (_d, store, pointers) = stored();
    let n = records(&store).len();
    assert!(n >= 3, "several packs: {n}");
    for before in 0..=n {
        assert_eq!(compare(&store, &pointers, before, false), 3);
    }
    // Blobs only a condemned pack holds: no locator for the roots that
    // need them, on either path.
    for before in 1..=n {
        assert!(compare(&store, &pointers, before, true) < 3);
    }
}

#[test]
fn a_locator_is_complete_or_absent() {
    let (_d, store, pointers) = stored();
    let all = records(&store);
    let (_, big) = &pointers[2];
    // The remote lacks the pack of the big file's manifest, and the push
    // sent nothing.
    let holds = |r: &PackRecord| {
        r.entries
            .iter()
            .any(|e| e.kind == ObjectKind::Manifest && e.id == big.id())
    };
    assert_eq!(all.iter().filter(|r| holds(r)).count(), 1);
    let mut index = RemoteIndex::default();
    index.add(all.iter().filter(|r| !holds(r)).cloned().collect());
    let known = Known {
        pushed: Pushed::default(),
        index,
    };
    assert_eq!(locator_of(&store, big, &known).unwrap(), None);
    // Sent by the push: complete again.
    let known = Known {
        pushed: Pushed::new(all.clone(), &known.index),
        index: known.index,
    };
    assert!(locator_of(&store, big, &known).unwrap().is_some());
}

/// `push_plan::plan` decides as `Store::plan_export` does (so a push
/// resumed by either builds the same packs), for any wanted subset.
#[test]
fn the_sorted_plan_is_the_stores_plan() {
    use crate::transfer::push_plan;
    use std::collections::HashSet;
    let (_d, store, _) = stored();
    let all: Vec<(ObjectKind, Id)> = records(&store)
        .iter()
        .flat_map(|r| r.entries.iter().map(|e| (e.kind, e.id)))
        .collect();
    let every_other: Vec<_> = all.iter().copied().step_by(2).collect();
    let mut with_absent = every_other.clone();
    with_absent.push((ObjectKind::Chunk, Id::of(b"nowhere")));
    let first_pack: Vec<_> = records(&store)[0]
        .entries
        .iter()
        .map(|e| (e.kind, e.id))
        .collect();
    for wanted in [all, every_other, with_absent, first_pack] {
        for min_whole in [0, 1 << 20, u64::MAX] {
            let set: HashSet<(ObjectKind, Id)> = wanted.iter().copied().collect();
            let want = store.plan_export(&set, min_whole);
            let mut sorted: Vec<_> = set.into_iter().collect();
            sorted.sort_by_key(|(k, id)| (k.to_u8(), *id));
            let got = push_plan::plan(&store, &sorted, min_whole);
            let paths = |v: Vec<&std::path::Path>| {
                v.into_iter().map(|p| p.to_path_buf()).collect::<Vec<_>>()
            };
            assert_eq!(
                paths(want.whole.iter().map(|p| p.path.as_path()).collect()),
                paths(
                    got.whole
                        .iter()
                        .map(|p| got.packs[*p].path.as_path())
                        .collect()
                )
            );
            let loose: Vec<_> = got
                .loose
                .iter()
                .map(|l| (got.packs[l.0 as usize].path.clone(), *got.entry(*l)))
                .collect();
            let want_loose: Vec<_> = want
                .loose
                .iter()
                .map(|(p, e)| (p.to_path_buf(), *e))
                .collect();
            assert!(
                loose == want_loose,
                "loose blobs differ (min_whole {min_whole})"
            );
            assert_eq!(want.absent.first().copied(), got.absent);
            assert_eq!(want.bytes(), got.bytes());
        }
    }
}

/// Repacked packs are cut by bytes and by count: a run of tiny blobs never
/// makes one huge in-memory pack.
#[test]
fn repacked_groups_are_cut_by_bytes_and_by_blobs() {
    use crate::format::codec::Codec;
    use crate::transfer::push_plan::Plan;
    let entry = |i: u32, len: u32| Entry {
        id: Id::of(&i.to_le_bytes()),
        kind: ObjectKind::Chunk,
        codec: Codec::Raw,
        offset: 8 + u64::from(i) * 1_000,
        stored_len: len,
        raw_len: len,
    };
    let mut entries: Vec<Entry> = (0..10).map(|i| entry(i, 10)).collect();
    entries.push(entry(10, 500));
    entries.extend((11..14).map(|i| entry(i, 10)));
    let plan = Plan {
        packs: vec![SealedPack {
            path: "p".into(),
            len: 20_000,
            modified: std::time::SystemTime::UNIX_EPOCH,
            entries,
        }],
        whole: Vec::new(),
        loose: (0..14).map(|e| (0, e)).collect(),
        absent: None,
    };
    assert_eq!(plan.groups(u64::MAX, usize::MAX), vec![0..14]);
    assert_eq!(plan.groups(u64::MAX, 4), vec![0..4, 4..8, 8..12, 12..14]);
    // Cut once a run reaches 100 bytes: the 500-byte blob closes its run.
    assert_eq!(plan.groups(100, usize::MAX), vec![0..10, 10..11, 11..14]);
    assert_eq!(plan.groups(100, 3), vec![0..3, 3..6, 6..9, 9..11, 11..14]);
}
