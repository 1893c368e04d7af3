//! The stat index against a map model, its fixed v1 and v2 layouts,
//! directory records, and damage.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::ordered::cmp_joined;
use super::*;

fn stat(mtime_ns: i64) -> Stat {
    Stat {
        size: 5,
        mtime_ns,
        ctime_ns: mtime_ns,
        ino: 42,
        exec: false,
    }
}

#[test]
fn save_load_lookup_and_racy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let mut idx = StatIndex::load(&path).unwrap();
    let old = stat(1_000);
    let fresh = stat(now_ns());
    idx.insert("a/b.txt".into(), old, Id::of(b"a"));
    idx.insert("c".into(), fresh, Id::of(b"c"));
    idx.save().unwrap();
    let idx = StatIndex::load(&path).unwrap();
    assert_eq!(idx.lookup("a/b.txt", &old), Some(Id::of(b"a")));
    assert_eq!(idx.lookup("a/b.txt", &stat(1_001)), None);
    assert_eq!(
        idx.lookup("c", &fresh),
        None,
        "racy entries are not trusted"
    );
    assert!(idx.is_dirty(), "a racy entry asks for another save");
    assert_eq!(idx.paths_under("a"), ["a/b.txt"]);
}

/// A version-1 file written byte by byte as FORMAT.md §9.1 lays it out.
#[test]
fn fixed_v1_vector_is_read() {
    let mut b = Vec::new();
    b.extend_from_slice(b"CSTX");
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&5_000_000_000i64.to_le_bytes());
    b.extend_from_slice(&2u32.to_le_bytes());
    for (p, size, exec, id) in [("d/a", 3u64, 0u8, [7u8; 32]), ("d/b", 9, 1, [9; 32])] {
        b.extend_from_slice(&(p.len() as u16).to_le_bytes());
        b.extend_from_slice(p.as_bytes());
        for v in [size, 1_000, 2_000, 77] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.push(exec);
        b.extend_from_slice(&id);
    }
    let sum = blake3::hash(&b);
    b.extend_from_slice(sum.as_bytes());
    assert_eq!(b.len(), 20 + 2 * (67 + 3) + 32);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    fs::write(&path, &b).unwrap();
    let mut idx = StatIndex::load(&path).unwrap();
    let want = Stat {
        size: 9,
        mtime_ns: 1_000,
        ctime_ns: 2_000,
        ino: 77,
        exec: true,
    };
    assert_eq!(idx.lookup("d/b", &want), Some(Id([9; 32])));
    assert_eq!(idx.get("d/a").map(|r| r.stat.size), Some(3));
    assert!(!idx.is_dirty());
    // Saved again unchanged, the same records come back, in the same layout.
    idx.insert("d/b".into(), want, Id([9; 32]));
    assert!(!idx.is_dirty(), "an unchanged record is no change");
    idx.dirty = true;
    idx.save().unwrap();
    let again = fs::read(&path).unwrap();
    assert_eq!(again.len(), b.len());
    assert_eq!(again[20..again.len() - 32], b[20..b.len() - 32]);
}

fn saved(records: &[(&str, u64)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let mut idx = StatIndex::load(&path).unwrap();
    for (p, size) in records {
        idx.insert(
            p.to_string(),
            Stat {
                size: *size,
                ..stat(1)
            },
            Id::of(p.as_bytes()),
        );
    }
    idx.save().unwrap();
    (dir, path)
}

#[test]
fn damage_is_reported() {
    let (_d, path) = saved(&[("x", 1), ("y", 2)]);
    let good = fs::read(&path).unwrap();
    let reason = |b: &[u8]| {
        fs::write(&path, b).unwrap();
        match StatIndex::load(&path) {
            Err(Error::StatIndexCorrupt { reason, .. }) => reason,
            other => panic!("{other:?}"),
        }
    };
    let mut b = good.clone();
    b[22] ^= 0xff;
    assert_eq!(reason(&b), "checksum mismatch");
    assert_eq!(reason(&good[..60]), "checksum mismatch");
    assert_eq!(reason(&good[..30]), "truncated");
    // Well-formed checksums over a broken structure.
    let resum = |mut body: Vec<u8>| {
        let sum = blake3::hash(&body);
        body.extend_from_slice(sum.as_bytes());
        body
    };
    let body = good[..good.len() - 32].to_vec();
    let mut v = body.clone();
    v[4] = 9;
    assert_eq!(reason(&resum(v)), "unknown version");
    let mut v = body.clone();
    v[16] = 3;
    assert_eq!(reason(&resum(v)), "truncated entry");
    let mut v = body.clone();
    v[16] = 1;
    assert_eq!(reason(&resum(v)), "trailing bytes");
    // Swap the two one-byte paths: out of order.
    let mut v = body.clone();
    v[22] = b'y';
    v[22 + 68] = b'x';
    assert_eq!(reason(&resum(v)), "entries are not sorted by path");
}

#[derive(Debug, Clone)]
enum Op {
    Insert(String, u64),
    Remove(String),
    Save,
    Reload,
    Spill,
}

fn path_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "a.b", "a-", "b", "a0"]),
        1..4,
    )
    .prop_map(|v| v.join("/"))
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (path_strategy(), 0u64..4).prop_map(|(p, s)| Op::Insert(p, s)),
        2 => path_strategy().prop_map(Op::Remove),
        1 => Just(Op::Save),
        1 => Just(Op::Reload),
        1 => Just(Op::Spill),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Whatever the mix of inserts, tree removals, spills, saves and
    /// reloads, the index answers as a plain map would.
    #[test]
    fn agrees_with_a_map(ops in prop::collection::vec(op_strategy(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        let mut idx = StatIndex::load(&path).unwrap();
        let mut model: BTreeMap<String, Record> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Insert(p, size) => {
                    let rec = Record { stat: Stat { size, ..stat(1) }, id: Id::of(p.as_bytes()) };
                    idx.insert(p.clone(), rec.stat, rec.id);
                    model.insert(p, rec);
                }
                Op::Remove(p) => {
                    idx.remove_tree(&p);
                    let inside = format!("{p}/");
                    model.retain(|k, _| *k != p && !k.starts_with(&inside));
                }
                Op::Save => idx.save().unwrap(),
                Op::Reload => {
                    idx.save().unwrap();
                    idx = StatIndex::load(&path).unwrap();
                }
                Op::Spill => idx.spill().unwrap(),
            }
            for p in ["a", "a/a", "a/b", "a.b", "b/a0/a", "a0"] {
                prop_assert_eq!(idx.get(p), model.get(p).copied(), "{}", p);
            }
            let all: Vec<(String, Record)> = idx.merged("").collect();
            let want: Vec<(String, Record)> = model.iter().map(|(k, v)| (k.clone(), *v)).collect();
            prop_assert_eq!(all, want);
            let under: Vec<String> = model
                .keys()
                .filter(|k| *k == "a" || k.starts_with("a/"))
                .cloned()
                .collect();
            prop_assert_eq!(idx.paths_under("a"), under);
            // In-order lookups of a sorted walk agree with `get`, whatever
            // state the index is in (one run, overlay, spills, removals).
            let mut probes: Vec<String> = model
                .keys()
                .cloned()
                .chain(["a/a", "a/b", "a.b/a", "b/a0/a", "a/a-/a", "a0/b"].map(String::from))
                .filter(|p| p.contains('/'))
                .collect();
            probes.sort();
            probes.dedup();
            let mut ord = idx.ordered("");
            for p in &probes {
                let (d, s) = p.split_once('/').unwrap();
                prop_assert_eq!(ord.get(d, s), model.get(p).copied(), "{}", p);
            }
            // Records outside the tracked paths: exactly those of the map
            // at or below none of them, whichever layers hold them.
            let tracked: Vec<String> = ["a", "b/a0", "a-/a"].map(String::from).to_vec();
            let covered = |k: &str| {
                tracked
                    .iter()
                    .any(|t| k == t || k.starts_with(&format!("{t}/")))
            };
            let outside: Vec<(String, Record)> = model
                .iter()
                .filter(|(k, _)| !covered(k))
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            prop_assert_eq!(idx.records_outside(&tracked), outside);
        }
        idx.save().unwrap();
        let back = StatIndex::load(&path).unwrap();
        prop_assert_eq!(back.len(), model.len());
        for (p, r) in &model {
            prop_assert_eq!(back.get(p), Some(*r));
        }
    }
}

#[test]
fn many_records_across_blocks_and_spills() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let mut idx = StatIndex::load(&path).unwrap();
    let n = SPILL_AT * 2 + 500;
    // Inserted out of order, so each spill is sorted on its own.
    for i in (0..n).rev() {
        idx.insert(
            format!("d/{i:07}"),
            stat(i as i64),
            Id::of(&i.to_le_bytes()),
        );
    }
    assert!(idx.runs.len() >= 2, "the overlay spilled");
    assert!(idx.overlay.len() < SPILL_AT);
    for i in [0, 1, run::BLOCK, n / 2, n - 1] {
        assert_eq!(
            idx.get(&format!("d/{i:07}")).map(|r| r.stat.mtime_ns),
            Some(i as i64)
        );
    }
    idx.save().unwrap();
    let idx = StatIndex::load(&path).unwrap();
    assert_eq!(idx.len(), n);
    assert_eq!(idx.paths_under("d").len(), n);
    for i in [0, run::BLOCK - 1, run::BLOCK, n - 1] {
        assert_eq!(
            idx.get(&format!("d/{i:07}")).map(|r| r.id),
            Some(Id::of(&i.to_le_bytes()))
        );
    }
    assert_eq!(idx.get("d/x"), None);
    assert_eq!(idx.get("c"), None);
    // A merge-join over every block: each record found, in order, with
    // absent paths between them answered `None` without losing the place.
    let mut ord = idx.ordered("d/");
    for i in 0..n {
        let got = ord.lookup("d", &format!("{i:07}"), &stat(i as i64));
        assert_eq!(got, Some(Id::of(&i.to_le_bytes())), "{i}");
        assert_eq!(ord.get("d", &format!("{i:07}-")), None);
    }
    assert_eq!(ord.get("d", "x"), None);
}

proptest! {
    /// `cmp_joined` orders as the joined path would.
    #[test]
    fn joined_compare_is_the_joined_order(
        p in "[a/.-]{0,6}",
        d in "[a/.-]{0,4}",
        s in "[a/.-]{0,4}",
    ) {
        let joined = format!("{d}/{s}");
        prop_assert_eq!(
            cmp_joined(p.as_bytes(), d.as_bytes(), s.as_bytes()),
            p.as_bytes().cmp(joined.as_bytes())
        );
    }
}

#[test]
fn ordered_lookup_refuses_a_racy_or_changed_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let mut idx = StatIndex::load(&path).unwrap();
    let old = stat(1_000);
    let fresh = stat(now_ns());
    idx.insert("t/a".into(), old, Id::of(b"a"));
    idx.insert("t/b".into(), fresh, Id::of(b"b"));
    idx.insert("t/c".into(), old, Id::of(b"c"));
    idx.save().unwrap();
    let idx = StatIndex::load(&path).unwrap();
    let mut ord = idx.ordered("t/");
    assert_eq!(ord.lookup("t", "a", &old), Some(Id::of(b"a")));
    assert_eq!(ord.lookup("t", "b", &fresh), None, "racy");
    assert_eq!(ord.lookup("t", "c", &stat(1_001)), None, "changed");
    assert!(ord.get("t", "c").is_some());
}

fn dir_rec(n: u8) -> DirRecord {
    DirRecord {
        id: Id([n; 32]),
        files: n as u64,
    }
}

#[test]
fn directory_records_are_saved_and_fall_with_their_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let mut idx = StatIndex::load(&path).unwrap();
    idx.insert("d/x".into(), stat(1), Id([1; 32]));
    idx.insert("d/sub/y".into(), stat(1), Id([2; 32]));
    idx.insert("dd/z".into(), stat(1), Id([3; 32]));
    idx.set_dir("d", dir_rec(2));
    idx.set_dir("dd", dir_rec(1));
    idx.save().unwrap();
    assert_eq!(&fs::read(&path).unwrap()[4..8], &2u32.to_le_bytes());
    let mut idx = StatIndex::load(&path).unwrap();
    assert_eq!(idx.dir("d"), Some(dir_rec(2)));
    assert_eq!(idx.dir("dd"), Some(dir_rec(1)));
    assert!(!idx.is_dirty());
    idx.set_dir("d", dir_rec(2));
    assert!(!idx.is_dirty(), "the same record is no change");

    // A refreshed stat of the same bytes and mode keeps the record.
    idx.insert("d/x".into(), stat(5), Id([1; 32]));
    assert_eq!(idx.dir("d"), Some(dir_rec(2)));
    // Everything that may change the listing drops it, and only it (`dd`
    // shares a prefix with `d` but is not below it).
    let changes: [&dyn Fn(&mut StatIndex); 6] = [
        &|i| i.insert("d/x".into(), stat(5), Id([9; 32])),
        &|i| {
            i.insert(
                "d/x".into(),
                Stat {
                    exec: true,
                    ..stat(5)
                },
                Id([1; 32]),
            )
        },
        &|i| i.insert("d/sub/new".into(), stat(1), Id([4; 32])),
        &|i| i.insert("d".into(), stat(1), Id([4; 32])),
        &|i| i.remove_tree("d/sub"),
        &|i| i.remove_tree("d/x"),
    ];
    for (n, change) in changes.iter().enumerate() {
        let mut idx = StatIndex::load(&path).unwrap();
        change(&mut idx);
        assert_eq!(idx.dir("d"), None, "change {n}");
        assert_eq!(idx.dir("dd"), Some(dir_rec(1)), "change {n}");
        assert!(idx.is_dirty(), "change {n}");
    }
    let mut idx = StatIndex::load(&path).unwrap();
    idx.remove_tree("d");
    assert_eq!((idx.dir("d"), idx.dir("dd")), (None, Some(dir_rec(1))));
    idx.remove_tree("dd/z");
    assert_eq!(idx.dir("dd"), None);
    // With no record left, the version-1 layout is written again.
    idx.save().unwrap();
    assert_eq!(&fs::read(&path).unwrap()[4..8], &1u32.to_le_bytes());
}

/// A version-2 file written byte by byte as FORMAT.md §9.1 lays it out.
#[test]
fn fixed_v2_vector_is_read() {
    let mut b = Vec::new();
    b.extend_from_slice(b"CSTX");
    b.extend_from_slice(&2u32.to_le_bytes());
    b.extend_from_slice(&5_000_000_000i64.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&3u16.to_le_bytes());
    b.extend_from_slice(b"d/a");
    for v in [3u64, 1_000, 2_000, 77] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.push(0);
    b.extend_from_slice(&[7; 32]);
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(b"d");
    b.extend_from_slice(&[5; 32]);
    b.extend_from_slice(&1u64.to_le_bytes());
    let sum = blake3::hash(&b);
    b.extend_from_slice(sum.as_bytes());
    assert_eq!(b.len(), 20 + (67 + 3) + 4 + (2 + 1 + 32 + 8) + 32);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    fs::write(&path, &b).unwrap();
    let mut idx = StatIndex::load(&path).unwrap();
    assert_eq!(idx.get("d/a").map(|r| r.id), Some(Id([7; 32])));
    assert_eq!(
        idx.dir("d"),
        Some(DirRecord {
            id: Id([5; 32]),
            files: 1
        })
    );
    // Saved again unchanged: the same bytes after the time stamp.
    idx.dirty = true;
    idx.save().unwrap();
    let again = fs::read(&path).unwrap();
    assert_eq!(again[..8], b[..8]);
    assert_eq!(again[16..again.len() - 32], b[16..b.len() - 32]);
}

#[test]
fn damaged_directory_records_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let mut idx = StatIndex::load(&path).unwrap();
    idx.insert("a/x".into(), stat(1), Id([1; 32]));
    idx.set_dir("a", dir_rec(1));
    idx.set_dir("b", dir_rec(2));
    idx.save().unwrap();
    let good = fs::read(&path).unwrap();
    let body = good[..good.len() - 32].to_vec();
    let reason = |mut body: Vec<u8>| {
        let sum = blake3::hash(&body);
        body.extend_from_slice(sum.as_bytes());
        fs::write(&path, &body).unwrap();
        match StatIndex::load(&path) {
            Err(Error::StatIndexCorrupt { reason, .. }) => reason,
            other => panic!("{other:?}"),
        }
    };
    let dirs_at = 20 + 67 + 3;
    let mut v = body.clone();
    v[dirs_at] = 3;
    assert_eq!(reason(v), "truncated directory record");
    assert_eq!(
        reason(body[..dirs_at + 2].to_vec()),
        "truncated directory record"
    );
    let mut v = body.clone();
    v[dirs_at] = 1;
    assert_eq!(reason(v), "trailing bytes");
    // Swap the two one-byte paths: out of order.
    let mut v = body.clone();
    v[dirs_at + 6] = b'b';
    v[dirs_at + 6 + 43] = b'a';
    assert_eq!(reason(v), "directory records are not sorted by path");
}
