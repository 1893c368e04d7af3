//! `cairn add` round trip: add, commit the pointers, delete the data, check
//! out, and get back every byte and the exec bit. Plus pointer text and
//! dedup.

use crate::common;

use common::{b3, csv_text, random_bytes, TestRepo};

const BIG: usize = 100_000_000;

/// The files of the round-trip tree: (path, bytes, mode).
fn tree() -> Vec<(&'static str, Vec<u8>, u32)> {
    vec![
        ("data/a b/ünï.csv", csv_text(1, 300_000), 0o644),
        ("data/empty.txt", Vec::new(), 0o644),
        ("data/nested/deep/er/values.csv", csv_text(2, 50_000), 0o644),
        (
            "data/bin/run.sh",
            b"#!/bin/sh\necho hello\n".to_vec(),
            0o755,
        ),
        ("data/blob.bin", random_bytes("blob", 700_000), 0o644),
        ("notes/ünï côde.txt", b"some notes\n".to_vec(), 0o644),
        ("scripts/train.sh", b"#!/bin/sh\nexit 0\n".to_vec(), 0o755),
        ("models/big.bin", random_bytes("big", BIG), 0o644),
    ]
}

#[test]
fn round_trip_restores_every_byte_and_the_exec_bit() {
    let repo = TestRepo::init();
    let files = tree();
    for (rel, bytes, mode) in &files {
        repo.write(rel, bytes);
        repo.chmod(rel, *mode);
    }
    let tracked = [
        "data",
        "models/big.bin",
        "notes/ünï côde.txt",
        "scripts/train.sh",
    ];
    let mut args = vec!["add"];
    args.extend(tracked);
    repo.cairn_ok(&args);

    // Pointers: a file's id is BLAKE3 of its bytes (b3sum agrees).
    for (rel, bytes, mode) in &files {
        if rel.starts_with("data/") {
            continue;
        }
        let expected = format!(
            "cairn-pointer 1\nkind file\nid {}\nsize {}\nmode {}\n",
            b3(bytes),
            bytes.len(),
            if *mode == 0o755 { "100755" } else { "100644" }
        );
        assert_eq!(repo.read_string(&format!("{rel}.cairn")), expected, "{rel}");
    }
    let dir = repo.pointer("data");
    assert_eq!(dir["cairn-pointer"], "1");
    assert_eq!(dir["kind"], "dir");
    assert_eq!(dir["files"], "5");
    let data_size: usize = files
        .iter()
        .filter(|f| f.0.starts_with("data/"))
        .map(|f| f.1.len())
        .sum();
    assert_eq!(dir["size"], data_size.to_string());
    assert_eq!(dir["id"].len(), 64);

    // The data paths are ignored by git, through the parent's .gitignore.
    let has_line = |gi: &str, line: &str| repo.read_string(gi).lines().any(|l| l == line);
    assert!(has_line(".gitignore", "/data"));
    assert!(has_line("models/.gitignore", "/big.bin"));
    assert!(has_line("notes/.gitignore", "/ünï côde.txt"));
    assert!(has_line("scripts/.gitignore", "/train.sh"));

    repo.commit_all("track data");
    let committed = repo.git(&["ls-files", "-z"]);
    let committed: Vec<&str> = committed.split('\0').filter(|s| !s.is_empty()).collect();
    for t in tracked {
        let ptr = format!("{t}.cairn");
        assert!(
            committed.contains(&ptr.as_str()),
            "{ptr} not committed: {committed:?}"
        );
    }
    for (rel, _, _) in &files {
        assert!(!committed.contains(rel), "data file {rel} was committed");
    }
    assert!(committed.contains(&".cairn/config.toml"));
    let cairn_files: Vec<_> = committed
        .iter()
        .filter(|p| p.starts_with(".cairn/"))
        .collect();
    assert_eq!(
        cairn_files,
        [&".cairn/.gitignore", &".cairn/config.toml"],
        "only cairn's config is committed, never its local state"
    );

    // Delete the data and restore it.
    for t in tracked {
        repo.remove(t);
    }
    repo.cairn_ok(&["checkout"]);
    for (rel, bytes, mode) in &files {
        let got = repo.read(rel);
        assert!(
            got == *bytes,
            "{rel}: restored bytes differ ({} vs {} bytes)",
            got.len(),
            bytes.len()
        );
        assert_eq!(repo.mode(rel), *mode, "{rel}: mode");
    }
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    assert!(
        repo.stray_temp_files().is_empty(),
        "{:?}",
        repo.stray_temp_files()
    );
    let st = repo.cairn_json(&["status", "--json"]);
    for row in st["paths"].as_array().unwrap() {
        assert_eq!(row["state"], "clean", "{row}");
        assert_eq!(row["stored"], true, "{row}");
    }
    repo.cairn_ok(&["verify"]);
}

#[test]
fn add_writes_stable_pointers_and_one_gitignore_line() {
    let repo = TestRepo::init();
    let bytes = csv_text(7, 2_000_000);
    repo.write("m/x.csv", &bytes);
    repo.cairn_ok(&["add", "m/x.csv"]);
    let first = repo.read_string("m/x.csv.cairn");
    assert_eq!(
        first,
        format!(
            "cairn-pointer 1\nkind file\nid {}\nsize {}\nmode 100644\n",
            b3(&bytes),
            bytes.len()
        )
    );
    // Adding again (also by naming the pointer) changes nothing.
    repo.cairn_ok(&["add", "m/x.csv"]);
    repo.cairn_ok(&["add", "m/x.csv.cairn"]);
    assert_eq!(repo.read_string("m/x.csv.cairn"), first);
    let gi = repo.read_string("m/.gitignore");
    assert_eq!(gi.lines().filter(|l| *l == "/x.csv").count(), 1, "{gi:?}");
}

#[test]
fn existing_gitignore_lines_are_kept() {
    let repo = TestRepo::init();
    repo.write(".gitignore", "*.log\n/target");
    repo.write("d.bin", random_bytes("d", 1000));
    repo.cairn_ok(&["add", "d.bin"]);
    assert_eq!(repo.read_string(".gitignore"), "*.log\n/target\n/d.bin\n");
}

#[test]
fn gitignore_escapes_special_names() {
    let repo = TestRepo::init();
    for name in ["#hash.bin", "star*.bin", "!bang.bin"] {
        repo.write(&format!("w/{name}"), random_bytes(name, 100));
        repo.cairn_ok(&["add", &format!("w/{name}")]);
    }
    repo.commit_all("pointers");
    // git must ignore exactly the data files, and no pointer.
    let files = repo.git(&["ls-files"]);
    assert!(files.contains("w/#hash.bin.cairn"), "{files}");
    assert!(files.contains("w/star*.bin.cairn"), "{files}");
    assert!(files.contains("w/!bang.bin.cairn"), "{files}");
    assert!(!files.lines().any(|l| l.ends_with(".bin")), "{files}");
}

#[test]
fn identical_copies_store_no_new_data() {
    let repo = TestRepo::init();
    // One chunk, a multi-chunk file (direct manifest) and a file with
    // more than 64 chunks (segmented manifest).
    let cases = [
        ("small", random_bytes("small", 10_000)),
        ("medium", random_bytes("medium", 2_000_000)),
        ("large", random_bytes("large", 9_000_000)),
    ];
    for (name, bytes) in &cases {
        repo.write(&format!("{name}.bin"), bytes);
        let first = repo.cairn_json(&["add", "--json", &format!("{name}.bin")]);
        let stored = first["bytes_stored"].as_u64().unwrap();
        assert!(
            stored >= bytes.len() as u64,
            "{name}: first add must store the data ({stored} bytes)"
        );
        repo.write(&format!("copy-of-{name}.bin"), bytes);
        let copy = repo.cairn_json(&["add", "--json", &format!("copy-of-{name}.bin")]);
        assert_eq!(copy["files_read"], 1, "{name}: {copy}");
        assert_eq!(copy["bytes_stored"], 0, "{name}: {copy}");
        assert_eq!(copy["objects_stored"], 0, "{name}: {copy}");
        assert_eq!(copy["paths"][0]["id"], first["paths"][0]["id"]);
    }
    // Identical files inside one add (processed in parallel) are stored once.
    let twin = random_bytes("twin", 2_000_000);
    repo.write("twins/one.bin", &twin);
    repo.write("twins/two.bin", &twin);
    let v = repo.cairn_json(&["add", "--json", "twins"]);
    let stored = v["bytes_stored"].as_u64().unwrap();
    assert!(
        (2_000_000..2_100_000).contains(&stored),
        "two identical files must be stored once: {v}"
    );
}

#[test]
fn an_insert_mid_file_stores_only_nearby_chunks() {
    let repo = TestRepo::init();
    let original = random_bytes("edit", 8_000_000);
    repo.write("f.bin", &original);
    repo.cairn_ok(&["add", "f.bin"]);
    let mut edited = original[..4_000_000].to_vec();
    edited.extend_from_slice(&random_bytes("inserted", 1000));
    edited.extend_from_slice(&original[4_000_000..]);
    repo.write("f.bin", &edited);
    let v = repo.cairn_json(&["add", "--json", "f.bin"]);
    let stored = v["bytes_stored"].as_u64().unwrap();
    // A chunk is at most 256 KiB; a couple of new chunks plus metadata.
    assert!(stored > 1000, "the edit must be stored: {v}");
    assert!(
        stored < 1_000_000,
        "an insert must not store the whole file again: {v}"
    );
    assert_eq!(v["paths"][0]["id"].as_str().unwrap(), b3(&edited));
    // Both versions still check out.
    repo.remove("f.bin");
    repo.cairn_ok(&["checkout"]);
    assert!(repo.read("f.bin") == edited);
}

#[test]
fn re_adding_unchanged_data_reads_nothing() {
    let repo = TestRepo::init();
    for i in 0..20 {
        repo.write(&format!("data/part-{i:02}.csv"), csv_text(i, 20_000));
    }
    repo.write("model.bin", random_bytes("model", 3_000_000));
    repo.backdate("data");
    repo.backdate("model.bin");
    let first = repo.cairn_json(&["add", "--json", "data", "model.bin"]);
    assert_eq!(first["files_read"], 21, "{first}");
    let again = repo.cairn_json(&["add", "--json", "data", "model.bin"]);
    assert_eq!(again["files_read"], 0, "{again}");
    assert_eq!(again["files_unchanged"], 21, "{again}");
    assert_eq!(again["bytes_read"], 0, "{again}");
    assert_eq!(again["bytes_stored"], 0, "{again}");
    assert_eq!(again["paths"], first["paths"]);
}
