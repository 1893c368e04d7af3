//! Damaged packs in the cache: `verify` finds them, and damaged bytes never
//! reach the work tree.

use crate::common;

use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;

use cairn::format::chunking::Chunker;
use cairn::format::codec::Codec;
use cairn::format::kind::ObjectKind;
use common::data::pack_entries;
use common::{assert_error_report, csv_text, random_bytes, TestRepo};

/// BLAKE3 ids of the content-defined chunks of `bytes`.
fn chunk_ids(bytes: &[u8]) -> HashSet<String> {
    Chunker::default()
        .chunks(bytes)
        .map(|(o, l)| blake3::hash(&bytes[o..o + l]).to_hex().to_string())
        .collect()
}

/// A repo tracking `f.bin` = `bytes`, stored in exactly one pack.
fn repo_with(bytes: &[u8]) -> (TestRepo, PathBuf) {
    let repo = TestRepo::init();
    repo.write("d/f.bin", bytes);
    repo.cairn_ok(&["add", "d/f.bin"]);
    let packs = repo.packs();
    assert_eq!(packs.len(), 1, "{packs:?}");
    let pack = packs[0].clone();
    (repo, pack)
}

fn flip_byte(path: &PathBuf, at: usize) {
    let mut b = fs::read(path).unwrap();
    b[at] ^= 0x40;
    fs::write(path, b).unwrap();
}

/// Flip one byte in the middle of the blob area, then check verify and
/// checkout.
fn flipped_byte_is_found_and_refused(bytes: Vec<u8>) {
    let (repo, pack) = repo_with(&bytes);
    repo.cairn_ok(&["verify"]);
    let len = fs::metadata(&pack).unwrap().len() as usize;
    flip_byte(&pack, len / 2);
    let pack_name = pack.file_name().unwrap().to_str().unwrap().to_string();

    // verify: exit 1, names the damaged chunk and its id.
    let (stdout, stderr) = repo.cairn_fail(&["verify"]);
    assert_error_report(&stderr, &["damaged"]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "exactly one damaged object expected:\n{stdout}"
    );
    let rest = lines[0]
        .strip_prefix("damaged chunk ")
        .unwrap_or_else(|| panic!("should name a damaged chunk: {stdout}"));
    let id = &rest[..64];
    assert!(
        chunk_ids(&bytes).contains(id),
        "{id} is not the id of one of the file's chunks:\n{stdout}"
    );
    assert!(lines[0].contains(&pack_name), "{stdout}");

    let out = repo.cairn(&["verify", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let damaged = v["damaged"].as_array().unwrap();
    assert_eq!(damaged.len(), 1, "{v}");
    assert_eq!(damaged[0]["kind"], "chunk");
    assert_eq!(damaged[0]["id"], id);
    assert!(damaged[0]["pack"].as_str().unwrap().ends_with(&pack_name));

    // A locally modified file stays as it is when checkout fails.
    let mine = b"my own edit, not committed anywhere".to_vec();
    repo.write("d/f.bin", &mine);
    // (--force past the guard that protects it, to reach the damage.)
    let (_, stderr) = repo.cairn_fail(&["checkout", "--force", "d/f.bin"]);
    assert_error_report(&stderr, &["damaged", id]);
    assert_eq!(repo.read("d/f.bin"), mine);
    assert!(
        repo.stray_temp_files().is_empty(),
        "{:?}",
        repo.stray_temp_files()
    );

    // With the file gone, checkout fails and writes nothing at all.
    repo.remove("d/f.bin");
    let (_, stderr) = repo.cairn_fail(&["checkout"]);
    assert_error_report(&stderr, &["damaged", id]);
    assert!(
        !repo.exists("d/f.bin"),
        "damaged data reached the work tree"
    );
    assert!(
        repo.stray_temp_files().is_empty(),
        "{:?}",
        repo.stray_temp_files()
    );
}

#[test]
fn flipped_byte_in_raw_chunk() {
    flipped_byte_is_found_and_refused(random_bytes("flip", 6_000_000));
}

#[test]
fn flipped_byte_in_compressed_chunk() {
    flipped_byte_is_found_and_refused(csv_text(99, 3_000_000));
}

#[test]
fn truncated_pack_is_reported_and_its_data_refused() {
    let bytes = random_bytes("trunc", 3_000_000);
    let (repo, pack) = repo_with(&bytes);
    let len = fs::metadata(&pack).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&pack)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let pack_name = pack.file_name().unwrap().to_str().unwrap();

    let (stdout, stderr) = repo.cairn_fail(&["verify"]);
    assert_error_report(&stderr, &["damaged"]);
    assert!(stdout.starts_with("damaged pack "), "{stdout}");
    assert!(stdout.contains(pack_name), "{stdout}");

    repo.remove("d/f.bin");
    let (_, stderr) = repo.cairn_fail(&["checkout"]);
    assert_error_report(&stderr, &["d/f.bin"]);
    assert!(
        stderr.contains(pack_name),
        "the damaged pack should be named:\n{stderr}"
    );
    assert!(!repo.exists("d/f.bin"));
    assert!(repo.stray_temp_files().is_empty());
}

#[test]
fn damaged_pack_footer_is_reported() {
    let (repo, pack) = repo_with(&random_bytes("footer", 500_000));
    let len = fs::metadata(&pack).unwrap().len() as usize;
    // Inside the footer entries, before the 56-byte trailer.
    flip_byte(&pack, len - 56 - 20);
    let (stdout, stderr) = repo.cairn_fail(&["verify"]);
    assert_error_report(&stderr, &["damaged"]);
    assert!(stdout.starts_with("damaged pack "), "{stdout}");
}

/// The hint for damaged data says to add the original data again. Doing so
/// with the original bytes must make the data restorable again.
#[test]
fn re_adding_the_original_repairs_a_damaged_chunk() {
    let bytes = random_bytes("repair", 4_000_000);
    let (repo, pack) = repo_with(&bytes);
    let len = fs::metadata(&pack).unwrap().len() as usize;
    flip_byte(&pack, len / 2);
    repo.remove("d/f.bin");
    let (_, stderr) = repo.cairn_fail(&["checkout"]);
    assert!(
        stderr.contains("`cairn add` of the original data"),
        "{stderr}"
    );

    // Follow the hint: put the original bytes back and add them again.
    repo.write("d/f.bin", &bytes);
    repo.cairn_ok(&["add", "d/f.bin"]);
    repo.remove("d/f.bin");
    let out = repo.cairn(&["checkout"]).output().unwrap();
    assert!(
        out.status.success(),
        "checkout still fails after re-adding the original data:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(repo.read("d/f.bin") == bytes);
}

/// `verify` also reports objects that tracked pointers need but the cache
/// lacks, naming the path that needs them.
#[test]
fn verify_reports_objects_missing_for_a_pointer() {
    let bytes = random_bytes("missing", 600_000);
    let (repo, pack) = repo_with(&bytes);
    repo.cairn_ok(&["verify"]);
    fs::remove_file(&pack).unwrap();
    let (stdout, stderr) = repo.cairn_fail(&["verify"]);
    assert_error_report(&stderr, &["missing"]);
    assert!(stdout.contains("missing "), "{stdout}");
    assert!(stdout.contains("needed by d"), "{stdout}");
    let v: serde_json::Value =
        serde_json::from_slice(&repo.cairn(&["verify", "--json"]).output().unwrap().stdout)
            .unwrap();
    assert!(!v["missing"].as_array().unwrap().is_empty(), "{v}");
}

/// Checkout hashes a file of several chunks once, as a whole, instead of
/// checking each chunk against its id as well: a chunk that decodes to the
/// right length but holds the wrong bytes (a raw chunk with a flipped
/// byte, never seen damaged before) is caught by that whole-file check
/// alone. Here it sits in the file's last decode batch, after more than
/// 16 MiB already went to the temporary file: nothing reaches the work
/// tree, the damaged chunk is named and recorded, and the error is the
/// same as a per-chunk check would give.
#[test]
fn damage_only_the_whole_file_check_sees_is_refused() {
    let bytes = random_bytes("whole", 20 << 20);
    let repo = TestRepo::init();
    repo.write("d/f.bin", &bytes);
    repo.cairn_ok(&["add", "d/f.bin"]);
    // The file's last chunk, wherever it was packed.
    let (off, len) = Chunker::default().chunks(&bytes).last().unwrap();
    assert!(off > 16 << 20, "{off}");
    let id = blake3::hash(&bytes[off..off + len]).to_hex().to_string();
    let (pack, entry) = pack_entries(&repo.path(".git/cairn/cache/packs"))
        .into_iter()
        .find(|(_, e)| e.kind == ObjectKind::Chunk && e.id.to_hex() == id)
        .unwrap();
    assert_eq!(entry.codec, Codec::Raw);
    flip_byte(
        &pack,
        (entry.offset + u64::from(entry.stored_len) / 2) as usize,
    );

    repo.remove("d/f.bin");
    let (_, stderr) = repo.cairn_fail(&["checkout"]);
    assert_error_report(&stderr, &["damaged", &id]);
    assert!(
        !repo.exists("d/f.bin"),
        "damaged data reached the work tree"
    );
    assert!(
        repo.stray_temp_files().is_empty(),
        "{:?}",
        repo.stray_temp_files()
    );
    // Recorded: the next checkout no longer counts the chunk as present.
    let (_, stderr) = repo.cairn_fail(&["checkout"]);
    assert_error_report(&stderr, &[&id]);
    assert!(!repo.exists("d/f.bin"));

    // The untouched file restores whole once the chunk is repaired.
    repo.write("d/f.bin", &bytes);
    repo.cairn_ok(&["add", "d/f.bin"]);
    repo.remove("d/f.bin");
    repo.cairn_ok(&["checkout"]);
    assert!(repo.read("d/f.bin") == bytes);
}

/// A compressed chunk in the middle of one of a file's later decode batches,
/// damaged so that it no longer decodes (or decodes to other bytes):
/// checkout decodes each batch into one shared buffer while the previous
/// batch is written, and still nothing reaches the work tree, no
/// temporary file is left, and the error names that chunk.
#[test]
fn damaged_compressed_chunk_in_a_later_batch_is_named() {
    let bytes = csv_text(31, 20 << 20);
    let repo = TestRepo::init();
    repo.write("d/f.csv", &bytes);
    repo.cairn_ok(&["add", "d/f.csv"]);
    // A chunk past the first 16 MiB (so past the first decode batch,
    // whatever its size up to that) and not the file's last.
    let chunks: Vec<(usize, usize)> = Chunker::default().chunks(&bytes).collect();
    let at = chunks
        .iter()
        .position(|&(o, _)| o > (16 << 20) + (256 << 10))
        .unwrap();
    assert!(at + 1 < chunks.len());
    let (off, len) = chunks[at];
    let id = blake3::hash(&bytes[off..off + len]).to_hex().to_string();
    let (pack, entry) = pack_entries(&repo.path(".git/cairn/cache/packs"))
        .into_iter()
        .find(|(_, e)| e.kind == ObjectKind::Chunk && e.id.to_hex() == id)
        .unwrap();
    assert_eq!(entry.codec, Codec::Zstd);
    flip_byte(
        &pack,
        (entry.offset + u64::from(entry.stored_len) / 2) as usize,
    );

    repo.remove("d/f.csv");
    let (_, stderr) = repo.cairn_fail(&["checkout"]);
    assert_error_report(&stderr, &["damaged", &id]);
    assert!(
        !repo.exists("d/f.csv"),
        "damaged data reached the work tree"
    );
    assert!(
        repo.stray_temp_files().is_empty(),
        "{:?}",
        repo.stray_temp_files()
    );
    repo.write("d/f.csv", &bytes);
    repo.cairn_ok(&["add", "d/f.csv"]);
    repo.remove("d/f.csv");
    repo.cairn_ok(&["checkout"]);
    assert!(repo.read("d/f.csv") == bytes);
}
