//! `cairn pull --no-cache`: restored straight from the remote, byte for
//! byte, with no chunk of a file of several chunks written to the cache
//! (files of one chunk are fetched with the metadata); a damaged remote chunk fails
//! the pull with nothing written in the work tree; an edit that was never
//! added stops it unless `--force`, as it stops a normal pull.

use cairn::format::kind::ObjectKind;
use cairn::format::pack::Entry;

use cairn::remote::synth::{files as synth_files, Spec};

use crate::common::data::{assert_same_tree, damage_chunks, files_under, num, pack_entries};
use crate::common::{b3, csv_text, random_bytes, TestRepo};

/// How many of the cached `entries` are chunks of a file of several chunks
/// (the model at either version or the CSV): chunks bigger than the
/// largest small file, or any chunk the small files do not consist of.
fn large_chunks_in(b: &TestRepo, entries: &[(std::path::PathBuf, Entry)]) -> usize {
    let small: Vec<cairn::hash::Id> = ["data/a.txt", "data/sub/b.bin"]
        .iter()
        .filter(|p| b.exists(p))
        .map(|p| cairn::hash::Id::of(&b.read(p)))
        .collect();
    entries
        .iter()
        .filter(|(_, e)| e.kind == ObjectKind::Chunk && !small.contains(&e.id))
        .count()
}

/// A repository with a multi-chunk model, a CSV and small files (one chunk
/// each, no manifest) at v1 and a new model at v2, pushed to a folder
/// remote; and a fresh clone of it.
fn pushed() -> (TestRepo, TestRepo) {
    let mut b = TestRepo::builder()
        .folder_remote("origin", "store")
        .file("model.bin", random_bytes("direct-v1", 3 << 20))
        .file("data/table.csv", csv_text(7, 2 << 20))
        .file("data/a.txt", "a\n")
        .file("data/sub/b.bin", random_bytes("direct-b", 40_000))
        .file("data/empty", "")
        .commit("v1")
        .tag("v1")
        .file("model.bin", random_bytes("direct-v2", 2 << 20))
        .commit("v2");
    b = b.push_rev("v1").push();
    let a = b.build();
    let clone = TestRepo::clone_of(&a);
    (a, clone)
}

#[test]
fn pull_no_cache_restores_every_byte_and_caches_no_chunk() {
    let (a, b) = pushed();
    let r = b.cairn_json(&["pull", "--no-cache", "--json"]);
    assert_eq!(r["fetch"]["remote"], "origin", "{r}");
    assert!(num(&r["checkout"], "files_written") >= 5, "{r}");
    assert!(r["missing"].as_array().unwrap().is_empty(), "{r}");
    assert_eq!(b3(&b.read("model.bin")), b3(&a.read("model.bin")));
    assert_same_tree(&files_under(&b, "data"), &files_under(&a, "data"), "data");
    let cached = pack_entries(&b.path(".git/cairn/cache/packs"));
    assert_eq!(large_chunks_in(&b, &cached), 0, "{cached:?}");
    // Metadata and the small files came through the cache: far less than
    // the data.
    let cached_bytes: u64 = cached.iter().map(|(_, e)| u64::from(e.stored_len)).sum();
    assert!(cached_bytes < 96 << 10, "{cached_bytes} bytes cached");
    assert!(num(&r["fetch"], "bytes") > 2 << 20, "{r}");
    let st = b.cairn_json(&["status", "--json"]);
    for row in st["paths"].as_array().unwrap() {
        assert_eq!(row["state"], "clean", "{st}");
    }
    // Another revision, the same way; then a normal pull still works.
    b.git(&["checkout", "-q", "v1"]);
    b.cairn_ok(&["pull", "--no-cache"]);
    assert_eq!(
        b3(&b.read("model.bin")),
        b3(&random_bytes("direct-v1", 3 << 20))
    );
    assert_eq!(
        large_chunks_in(&b, &pack_entries(&b.path(".git/cairn/cache/packs"))),
        0
    );
    b.git(&["checkout", "-q", "main"]);
    b.cairn_ok(&["pull"]);
    assert_eq!(b3(&b.read("model.bin")), b3(&a.read("model.bin")));
    b.cairn_ok(&["verify"]);
}

#[test]
fn pull_no_cache_of_damaged_remote_chunks_writes_nothing() {
    let (a, b) = pushed();
    // Damage every chunk on the remote, and nothing else.
    let flipped = damage_chunks(&a.remote_dir("origin").join("packs"), |_| true);
    assert!(flipped > 10, "{flipped}");
    let (_, err) = b.cairn_fail(&["pull", "--no-cache"]);
    assert!(err.contains("damaged"), "{err}");
    for gone in [
        "model.bin",
        "data/table.csv",
        "data/a.txt",
        "data/sub/b.bin",
    ] {
        assert!(!b.exists(gone), "{gone} was written: {err}");
    }
    let leftovers = b.temp_files_anywhere();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn pull_no_cache_keeps_an_edit_that_was_never_added_unless_forced() {
    let (_a, b) = pushed();
    b.cairn_ok(&["pull", "--no-cache"]);
    b.write("model.bin", b"an edit that was never added\n");
    b.git(&["checkout", "-q", "v1"]);
    for args in [&["pull", "--no-cache"][..], &["pull"][..]] {
        let (_, err) = b.cairn_fail(args);
        assert!(err.contains("has not recorded the changes"), "{err}");
        assert!(err.contains("model.bin"), "{err}");
        assert_eq!(b.read("model.bin"), b"an edit that was never added\n");
    }
    b.cairn_ok(&["pull", "--no-cache", "--force"]);
    assert_eq!(
        b3(&b.read("model.bin")),
        b3(&random_bytes("direct-v1", 3 << 20))
    );
}

/// After `pull --no-cache` the cache lacks large files' chunks by design:
/// `verify` says so, and its hint points at `cairn pull`, not at re-adding
/// data that is intact in the work tree and on the remote.
#[test]
fn verify_after_pull_no_cache_hints_at_pull_not_at_re_adding() {
    let (_a, b) = pushed();
    b.cairn_ok(&["pull", "--no-cache"]);
    let (_, err) = b.cairn_fail(&["verify"]);
    assert!(
        err.contains("`cairn pull` fetches what the cache lacks"),
        "{err}"
    );
    assert!(!err.contains("`cairn add` of the original"), "{err}");
    b.cairn_ok(&["pull"]);
    b.cairn_ok(&["verify"]);
}

/// Small files (fetched into the cache with the metadata) that share a
/// pack with a large file's chunks must not drag those chunks into the
/// cache: the fetch joins ranges only across small gaps and stores only
/// what it asked for. (Found running the story by hand: a directory of
/// 300 small files and two large ones cached 4.8 of its 5.2 MB.)
#[test]
fn pull_no_cache_caches_no_chunk_of_a_large_file_sharing_a_pack_with_small_files() {
    let mut builder = TestRepo::builder()
        .folder_remote("origin", "store")
        .file("data/big.bin", random_bytes("direct-shared", 3 << 20));
    for i in 0..300 {
        builder = builder.file(
            &format!("data/f{i:03}.txt"),
            format!("file {i}\n").repeat(i + 1),
        );
    }
    let a = builder.commit("v1").push().build();
    let b = TestRepo::clone_of(&a);
    b.cairn_ok(&["pull", "--no-cache"]);
    assert_eq!(b3(&b.read("data/big.bin")), b3(&a.read("data/big.bin")));
    assert_same_tree(&files_under(&b, "data"), &files_under(&a, "data"), "data");
    let big: u64 = pack_entries(&b.path(".git/cairn/cache"))
        .iter()
        .filter(|(_, e)| e.kind == ObjectKind::Chunk && e.stored_len > 64 << 10)
        .map(|(_, e)| e.stored_len as u64)
        .sum();
    let cached: u64 = pack_entries(&b.path(".git/cairn/cache"))
        .iter()
        .map(|(_, e)| e.stored_len as u64)
        .sum();
    // The small files and the listing are about 60 kB; the large file is
    // 3 MiB of incompressible chunks.
    assert!(
        cached < 512 << 10,
        "{cached} bytes cached, {big} in chunks over 64 KiB"
    );
}

/// The bytes of index files a clone has read from its remotes (each is
/// kept in the cache once read, so this is what was read).
fn index_bytes_read(b: &TestRepo) -> u64 {
    walkdir::WalkDir::new(b.path(".git/cairn/cache"))
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "idx"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// A root without a locator (pushed by an older cairn) on a remote whose
/// index files also describe 4 GiB of older data: `pull --no-cache` reads
/// index files newest first only until they place what it needs, here
/// the push's own, not every file (about 3.4 MB of them).
#[test]
fn pull_no_cache_without_a_locator_reads_index_files_only_until_it_finds_its_blobs() {
    let (a, b) = pushed();
    let store = a.remote_dir("origin");
    std::fs::remove_dir_all(store.join("loc")).unwrap();
    let own = walkdir::WalkDir::new(store.join("index"))
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "idx"))
        .map(|e| e.metadata().unwrap().len())
        .sum::<u64>();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400 * 365);
    let mut described = 0u64;
    for (path, bytes) in synth_files(&Spec::of_size(4 << 30, "older data")) {
        described += bytes.len() as u64;
        let to = store.join(path);
        std::fs::write(&to, bytes).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&to)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    b.cairn_ok(&["pull", "--no-cache"]);
    assert_eq!(b3(&b.read("model.bin")), b3(&a.read("model.bin")));
    assert_same_tree(&files_under(&b, "data"), &files_under(&a, "data"), "data");
    let read = index_bytes_read(&b);
    assert!(
        read <= own,
        "read {read} bytes of index files; the push's own are {own}, the rest {described}"
    );
    // A plain pull reads them all, as before (gc and verify share that path).
    let c = TestRepo::clone_of(&a);
    c.cairn_ok(&["pull"]);
    assert!(index_bytes_read(&c) >= own + described);
}

/// `status` after `pull --no-cache` says the data is not in the cache (its
/// chunks never entered it), as after a plain `git clone`, not that every
/// path is cached; a normal pull then completes the cache and status says
/// so again.
#[test]
fn status_after_pull_no_cache_says_the_data_is_not_in_the_cache() {
    let (_a, b) = pushed();
    b.cairn_ok(&["pull", "--no-cache"]);
    let st = b.cairn_json(&["status", "--json"]);
    for row in st["paths"].as_array().unwrap() {
        assert_eq!(row["state"], "clean", "{st}");
        assert_eq!(row["stored"], false, "{st}");
    }
    let out = b.cairn_ok(&["status"]);
    assert!(out.contains("not in cache: model.bin"), "{out}");
    assert!(out.contains("not in cache: data"), "{out}");
    assert!(!out.contains("are in the cache"), "{out}");
    b.cairn_ok(&["pull"]);
    let st = b.cairn_json(&["status", "--json"]);
    for row in st["paths"].as_array().unwrap() {
        assert_eq!(row["stored"], true, "{st}");
    }
}

/// Files of several chunks but at most 256 KiB are fetched with the
/// metadata in a few coalesced reads, not read by range one file at a
/// time (a directory of 20,000 such files once cost 700 requests).
#[test]
fn pull_no_cache_of_many_small_files_of_several_chunks_makes_few_requests() {
    let mut b = TestRepo::builder().folder_remote("origin", "store");
    for i in 0..120 {
        let len = 40_000 + (i * 1_500) % 200_000;
        b = b.file(
            &format!("data/d{}/f{i:03}.bin", i % 7),
            random_bytes(&format!("small-{i}"), len),
        );
    }
    let a = b.commit("v1").push().build();
    let c = TestRepo::clone_of(&a);
    let r = c.cairn_json(&["pull", "--no-cache", "--json"]);
    assert_same_tree(&files_under(&c, "data"), &files_under(&a, "data"), "data");
    let reads = r["fetch"]["requests"]["reads"].as_u64().unwrap();
    assert!(reads <= 20, "{reads} reads for 120 small files: {r}");
    c.cairn(&["verify"]).assert().success();
}

/// A push repacks blobs in the cache's order, so the chunks of one file
/// stay together on the remote: reading one large file by range from a
/// repacked pack it shares with another takes few requests (in id order
/// its chunks were spread through the pack, a request or more each).
#[test]
fn a_repacked_pack_keeps_each_files_chunks_together() {
    let a = TestRepo::builder()
        .folder_remote("origin", "store")
        .file("a.bin", random_bytes("together-a", 3 << 20))
        .file("b.bin", random_bytes("together-b", 3 << 20))
        .commit("v1")
        .push()
        .build();
    let c = TestRepo::clone_of(&a);
    let r = c.cairn_json(&["pull", "--no-cache", "--json", "a.bin"]);
    assert_eq!(b3(&c.read("a.bin")), b3(&a.read("a.bin")));
    let reads = r["fetch"]["requests"]["reads"].as_u64().unwrap();
    assert!(reads <= 12, "{reads} reads for one 3 MiB file: {r}");
}

/// A repository with a 40 MiB model (three rounds of a restore's ranged
/// reads, so two are fetched ahead of the writer), pushed to a folder
/// remote.
fn pushed_large() -> TestRepo {
    TestRepo::builder()
        .folder_remote("origin", "store")
        .file("model.bin", random_bytes("ahead", 40 << 20))
        .commit("v1")
        .push()
        .build()
}

/// The rounds of a large file are read in the fewest even ranged reads (a
/// 16 MiB round was once three reads, two of 8 MiB and a sliver).
#[test]
fn pull_no_cache_reads_a_large_file_in_few_long_reads() {
    let a = pushed_large();
    let c = TestRepo::clone_of(&a);
    let r = c.cairn_json(&["pull", "--no-cache", "--json"]);
    assert_eq!(b3(&c.read("model.bin")), b3(&a.read("model.bin")));
    // Where each chunk lies: a pack push wrote may hold the file's chunks
    // in more than one run (packs are sealed as they fill, on several
    // threads), so count where the file's chunk order moves to another
    // pack or jumps within one further than a read joins (32 KiB).
    let place: std::collections::HashMap<_, _> =
        pack_entries(&a.remote_dir("origin").join("packs"))
            .into_iter()
            .filter(|(_, e)| e.kind == ObjectKind::Chunk)
            .map(|(p, e)| (e.id, (p, e.offset, e.offset + u64::from(e.stored_len))))
            .collect();
    let model = random_bytes("ahead", 40 << 20);
    let order: Vec<_> = cairn::format::chunking::Chunker::default()
        .chunks(&model)
        .map(|(o, l)| &place[&cairn::hash::Id::of(&model[o..o + l])])
        .collect();
    let jumps = order
        .windows(2)
        .filter(|w| w[0].0 != w[1].0 || w[1].1 < w[0].2 || w[1].1 - w[0].2 > 32 << 10)
        .count() as u64;
    let reads = r["fetch"]["requests"]["reads"].as_u64().unwrap();
    // 40 MiB in rounds of 16: two reads a round, one for the last, and
    // one more wherever a round's chunks jump to another place (cut at
    // 8 MiB: three a round, two for the last); the rest is metadata (7
    // today: index files, locators, the listing).
    let data = 5 + jumps;
    assert!(reads <= data + 7, "{reads} reads, {jumps} jumps: {r}");
}

/// A damaged chunk near the end of a large file, in a round fetched while
/// the first ones are still being written: the pull fails naming the
/// chunk, and neither the file nor the damaged bytes are written anywhere
/// (with `--no-cache` or without).
#[test]
fn a_damaged_chunk_fetched_ahead_is_never_written() {
    let a = pushed_large();
    let b = TestRepo::clone_of(&a);
    let model = random_bytes("ahead", 40 << 20);
    let ids: Vec<cairn::hash::Id> = cairn::format::chunking::Chunker::default()
        .chunks(&model)
        .map(|(o, l)| cairn::hash::Id::of(&model[o..o + l]))
        .collect();
    let victim = ids[ids.len() * 9 / 10];
    let flipped = damage_chunks(&a.remote_dir("origin").join("packs"), |id| *id == victim);
    assert_eq!(flipped, 1);
    for args in [&["pull", "--no-cache"][..], &["pull"][..]] {
        let (_, err) = b.cairn_fail(args);
        assert!(err.contains("damaged"), "{args:?}: {err}");
        assert!(err.contains(&victim.to_hex()), "{args:?}: {err}");
        assert!(
            !b.exists("model.bin"),
            "{args:?}: the damaged model was written"
        );
        let cached = pack_entries(&b.path(".git/cairn/cache/packs"));
        assert!(
            cached.iter().all(|(_, e)| e.id != victim),
            "{args:?}: the damaged chunk entered the cache"
        );
        let leftovers = b.temp_files_anywhere();
        assert!(leftovers.is_empty(), "{args:?}: {leftovers:?}");
    }
}

/// A remote pack cut short (a copy interrupted behind cairn's back): the
/// ranged reads that reach past its end fail the pull with an error that
/// names the file, and nothing is written: not the model, not a temporary
/// file (with `--no-cache` or without).
#[test]
fn a_remote_pack_cut_short_fails_the_pull_and_writes_nothing() {
    let a = pushed_large();
    let b = TestRepo::clone_of(&a);
    let packs = pack_entries(&a.remote_dir("origin").join("packs"));
    let (largest, _) = packs
        .iter()
        .max_by_key(|(p, _)| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let len = std::fs::metadata(largest).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(largest)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let name = largest.file_name().unwrap().to_string_lossy().to_string();
    for args in [&["pull", "--no-cache"][..], &["pull"][..]] {
        let (_, err) = b.cairn_fail(args);
        assert!(err.starts_with("error:"), "{args:?}: {err}");
        assert!(err.contains(&name[..16]), "{args:?}: {err}");
        assert!(err.contains("the file ends at"), "{args:?}: {err}");
        assert!(!b.exists("model.bin"), "{args:?}: the model was written");
        let leftovers = b.temp_files_anywhere();
        assert!(leftovers.is_empty(), "{args:?}: {leftovers:?}");
    }
}

/// Replace the manifest of file `id` on the folder remote `store` by
/// `manifest`: the pack that holds it is rewritten with every other blob
/// as it was (a pack's id names its entries), and the locators and the
/// listing are removed, so the index names the lying copy only.
fn plant_manifest(store: &std::path::Path, id: cairn::hash::Id, manifest: &[u8]) {
    use cairn::format::codec::Codec;
    use cairn::format::pack::PackBuilder;
    use cairn::remote::index;
    let file = std::fs::read_dir(store.join("index"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "idx"))
        .expect("an index file");
    let iid = index::index_id_of(file.to_str().unwrap()).unwrap();
    let mut recs = index::decode(&iid, &std::fs::read(&file).unwrap()).unwrap();
    let is_it = |e: &Entry| e.kind == ObjectKind::Manifest && e.id == id;
    let holders: Vec<usize> = (0..recs.len())
        .filter(|&k| recs[k].entries.iter().any(is_it))
        .collect();
    assert_eq!(holders.len(), 1, "one copy of the manifest on the remote");
    let rec = &mut recs[holders[0]];
    let old = std::fs::read(store.join(index::pack_path(&rec.id))).unwrap();
    let mut b = PackBuilder::default();
    for e in &rec.entries {
        if is_it(e) {
            b.add(e.kind, e.id, Codec::Raw, manifest, manifest.len() as u32);
        } else {
            let at = e.offset as usize;
            let stored = &old[at..at + e.stored_len as usize];
            b.add(e.kind, e.id, e.codec, stored, e.raw_len);
        }
    }
    let (pack, bytes, entries) = b.finish();
    let path = store.join(index::pack_path(&pack));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    std::fs::remove_file(store.join(index::pack_path(&rec.id))).unwrap();
    rec.id = pack;
    rec.len = bytes.len() as u64;
    rec.entries = entries;
    let (nid, nbytes) = index::encode(&recs);
    std::fs::remove_file(file).unwrap();
    std::fs::write(store.join(format!("index/{}.idx", nid.to_hex())), nbytes).unwrap();
    let _ = std::fs::remove_file(store.join(index::LISTING));
    let _ = std::fs::remove_dir_all(store.join("loc"));
}

/// A lying manifest on the remote: the large model's real chunks, each
/// intact (so each passes its own check as it is read), listed with two
/// of them swapped. Only the whole-file check can see the splice: the
/// pull (plain, which reads those chunks by range and keeps them, and
/// `--no-cache`) fails naming the model, and no byte of the model, not
/// even a temporary file, is left in the work tree.
#[test]
fn a_lying_manifest_that_splices_intact_chunks_is_refused() {
    let a = pushed_large();
    let model = random_bytes("ahead", 40 << 20);
    let pieces: Vec<cairn::format::object::Piece> = cairn::format::chunking::Chunker::default()
        .chunks(&model)
        .map(|(o, l)| cairn::format::object::Piece {
            id: cairn::hash::Id::of(&model[o..o + l]),
            len: l as u64,
        })
        .collect();
    assert!(
        pieces.len() >= cairn::ops::pull::DIRECT_MIN_CHUNKS,
        "the model is restored by range"
    );
    let mut spliced = pieces.clone();
    // Two chunks far apart, in different rounds of the restore (16 MiB
    // each), the second fetched ahead while the first is written.
    let (i, j) = (1, pieces.len() - 2);
    assert_ne!(pieces[i].id, pieces[j].id);
    spliced.swap(i, j);
    let lie = cairn::format::object::Manifest {
        size: model.len() as u64,
        form: cairn::format::object::Form::Chunks,
        pieces: spliced,
    };
    let id = cairn::hash::Id::from_hex(&a.pointer("model.bin")["id"]).unwrap();
    plant_manifest(&a.remote_dir("origin"), id, &lie.encode());
    for args in [&["pull", "--no-cache"][..], &["pull"][..]] {
        let b = TestRepo::clone_of(&a);
        let (_, err) = b.cairn_fail(args);
        assert!(err.contains("model.bin"), "{args:?}: {err}");
        assert!(err.contains("hashes to"), "{args:?}: {err}");
        assert!(err.contains(&id.to_hex()), "{args:?}: {err}");
        assert!(
            !b.exists("model.bin"),
            "{args:?}: the spliced model was written"
        );
        let leftovers = b.temp_files_anywhere();
        assert!(leftovers.is_empty(), "{args:?}: {leftovers:?}");
    }
}
