//! The streaming reader (`cairn::ops::open`, what `cat` and the Python
//! binding read through), called in-process: reads across chunk
//! boundaries, seeks past the end, random seeks against the original bytes
//! (proptest), a bounded window of memory on a sequential read, nothing
//! written to the cache, and damage in the cache or on a remote that fails
//! the read instead of returning wrong bytes.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use cairn::ops::open::{open, DataReader, OpenOptions};
use cairn::progress::Silent;

use crate::common::{random_bytes, TestRepo};

/// The largest chunk (format v1), the most a window may exceed its size by.
const MAX_CHUNK: usize = 256 << 10;
/// The reader's window (`engine::read::WINDOW`).
const WINDOW: usize = 4 << 20;

fn open_at(repo: &Path, rev: Option<&str>, path: &str) -> cairn::Result<DataReader> {
    open(
        OpenOptions {
            rev: rev.map(str::to_string),
            cwd: repo.to_path_buf(),
            ..OpenOptions::new(".", path)
        },
        &Silent,
    )
}

/// The library error inside a failed read.
fn inner(e: &std::io::Error) -> Option<&cairn::Error> {
    e.get_ref().and_then(|r| r.downcast_ref::<cairn::Error>())
}

/// A repository with `model.bin` at v1 and v2, pushed to a folder remote,
/// and a fresh clone of it (no cache).
fn pushed(v1_len: usize) -> (TestRepo, TestRepo, Vec<u8>, Vec<u8>) {
    let v1 = random_bytes("read-v1", v1_len);
    let v2 = random_bytes("read-v2", 1_500_000);
    let a = TestRepo::builder()
        .folder_remote("origin", "store")
        .file("model.bin", &v1)
        .file("data/a.csv", "id\n1\n")
        .commit("v1")
        .tag("v1")
        .file("model.bin", &v2)
        .commit("v2")
        .push()
        .build();
    let b = TestRepo::clone_of(&a);
    (a, b, v1, v2)
}

fn cache_pack_bytes(repo: &TestRepo) -> u64 {
    walkdir::WalkDir::new(repo.path(".git/cairn/cache/packs"))
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

#[test]
fn reads_span_chunk_boundaries_and_stop_at_the_end() {
    let (a, _b, v1, v2) = pushed(3_000_000);
    let mut r = open_at(&a.root, Some("v1"), "model.bin").unwrap();
    assert_eq!(r.size(), v1.len() as u64);
    // One read over many chunks returns all of it.
    let mut buf = vec![0u8; 1_000_000];
    r.seek(SeekFrom::Start(500_000)).unwrap();
    r.read_exact(&mut buf).unwrap();
    assert!(buf == v1[500_000..1_500_000]);
    assert_eq!(r.position(), 1_500_000);
    // From the end, and past it.
    r.seek(SeekFrom::End(-3)).unwrap();
    let mut tail = Vec::new();
    r.read_to_end(&mut tail).unwrap();
    assert_eq!(tail, &v1[v1.len() - 3..]);
    assert_eq!(r.seek(SeekFrom::End(10)).unwrap(), v1.len() as u64 + 10);
    assert_eq!(r.read(&mut [0u8; 16]).unwrap(), 0);
    assert!(r.seek(SeekFrom::Current(-(v1.len() as i64) - 11)).is_err());
    // The work tree's version, in order, whole (its hash checked at the end).
    let mut w = open_at(&a.root, None, "model.bin").unwrap();
    let mut all = Vec::new();
    w.read_to_end(&mut all).unwrap();
    assert!(all == v2);
    // A file inside a tracked directory.
    let mut c = open_at(&a.root, Some("v1"), "data/a.csv").unwrap();
    let mut text = String::new();
    c.read_to_string(&mut text).unwrap();
    assert_eq!(text, "id\n1\n");
    assert_eq!(c.report().fetch.objects, 0, "the cache had everything");
}

#[test]
fn random_seeks_read_the_original_bytes_from_a_remote() {
    let (_a, b, v1, _) = pushed(2_500_000);
    // The runner's closure is `Fn`: the reader sits in a RefCell.
    let r = std::cell::RefCell::new(open_at(&b.root, Some("v1"), "model.bin").unwrap());
    let len = v1.len() as u64;
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    runner
        .run(&(0..len + 100, 0usize..400_000), |(at, n)| {
            let mut r = r.borrow_mut();
            r.seek(SeekFrom::Start(at)).unwrap();
            let mut got = vec![0u8; n];
            let mut done = 0;
            while done < n {
                match r.read(&mut got[done..]).unwrap() {
                    0 => break,
                    k => done += k,
                }
            }
            let from = (at as usize).min(v1.len());
            let to = (at as usize).saturating_add(n).min(v1.len());
            prop_assert_eq!(done, to - from);
            prop_assert!(got[..done] == v1[from..to]);
            Ok(())
        })
        .unwrap();
    assert_eq!(r.borrow().report().fetch.remote.as_deref(), Some("origin"));
}

#[test]
fn a_sequential_read_holds_a_bounded_window_and_fills_no_cache() {
    let (_a, b, v1, _) = pushed(24 << 20);
    let mut r = open_at(&b.root, Some("v1"), "model.bin").unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0usize;
    let mut peak = 0usize;
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        assert!(buf[..n] == v1[at..at + n], "bytes at {at}");
        at += n;
        peak = peak.max(r.held());
    }
    assert_eq!(at, v1.len());
    assert!(peak <= WINDOW + MAX_CHUNK, "held {peak} bytes at once");
    assert!(peak > 0);
    let report = r.report();
    assert!(report.fetch.bytes >= v1.len() as u64, "{report:?}");
    // Only metadata went into the cache, not 24 MiB of chunks.
    let cached = cache_pack_bytes(&b);
    assert!(cached < 100_000, "{cached} bytes cached");
}

#[test]
fn damage_in_the_cache_fails_the_read() {
    let (a, _b, v1, _) = pushed(1_000_000);
    for pack in walkdir::WalkDir::new(a.path(".git/cairn/cache/packs"))
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
    {
        let mut bytes = std::fs::read(pack.path()).unwrap();
        let mid = bytes.len() / 2;
        for b in &mut bytes[mid - 2000..mid + 2000] {
            *b ^= 0x5a;
        }
        std::fs::write(pack.path(), bytes).unwrap();
    }
    let mut got = Vec::new();
    let failed = match open_at(&a.root, Some("v1"), "model.bin") {
        Err(e) => matches!(e, cairn::Error::CorruptObject { .. }),
        Ok(mut r) => {
            let e = r.read_to_end(&mut got).unwrap_err();
            matches!(inner(&e), Some(cairn::Error::CorruptObject { .. }))
        }
    };
    assert!(failed, "a damaged chunk must fail the read");
    assert!(v1.starts_with(&got), "only verified bytes came back");
    assert!(got.len() < v1.len());
}

#[test]
fn damage_on_the_remote_fails_the_read() {
    let (a, b, v1, _) = pushed(1_000_000);
    let store = a.remote_dir("origin");
    for pack in walkdir::WalkDir::new(store.join("packs"))
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
    {
        let mut bytes = std::fs::read(pack.path()).unwrap();
        // Past the header, before the footer: blob bytes only.
        for i in (64..bytes.len().saturating_sub(8192)).step_by(997) {
            bytes[i] ^= 0x5a;
        }
        std::fs::write(pack.path(), bytes).unwrap();
    }
    let mut got = Vec::new();
    let err = match open_at(&b.root, Some("v1"), "model.bin") {
        Err(e) => e.to_string(),
        Ok(mut r) => {
            let e = r.read_to_end(&mut got).unwrap_err();
            let inner = inner(&e).expect("the library's error");
            assert!(
                matches!(inner, cairn::Error::RemoteBlobCorrupt { .. }),
                "{inner:?}"
            );
            inner.to_string()
        }
    };
    assert!(err.contains("damaged"), "{err}");
    assert!(v1.starts_with(&got) && got.len() < v1.len());
}

#[test]
fn cat_in_a_fresh_clone_reads_chunks_without_caching_them() {
    let (_a, b, v1, _) = pushed(6 << 20);
    let out = b.cairn(&["cat", "v1:model.bin"]).output().unwrap();
    assert!(out.status.success());
    assert!(out.stdout == v1);
    let cached = cache_pack_bytes(&b);
    assert!(cached < 100_000, "{cached} bytes cached for a 6 MiB file");
}

#[test]
fn a_remote_is_read_through_the_pointers_locator_or_else_its_index() {
    let (a, _b, v1, _) = pushed(1_500_000);
    let store = a.remote_dir("origin");
    assert!(store.join("loc").is_dir(), "the push wrote locators");
    let read_all = || {
        let b = TestRepo::clone_of(&a);
        let mut r = open_at(&b.root, Some("v1"), "model.bin")?;
        let mut all = Vec::new();
        r.read_to_end(&mut all)
            .map_err(|e| cairn::Error::io("read", "model.bin", e))?;
        Ok::<_, cairn::Error>(all)
    };
    // Without the index files, the locator alone places every chunk.
    std::fs::rename(store.join("index"), store.join("index.away")).unwrap();
    assert!(read_all().unwrap() == v1);
    // Without locators, the index files do.
    std::fs::rename(store.join("index.away"), store.join("index")).unwrap();
    std::fs::rename(store.join("loc"), store.join("loc.away")).unwrap();
    assert!(read_all().unwrap() == v1);
    // With neither, the chunks are nowhere: an error, not bytes.
    std::fs::rename(store.join("index"), store.join("index.away")).unwrap();
    assert!(read_all().is_err());
}
