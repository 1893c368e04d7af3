//! The stat index is a local cache file that may be damaged: loading it must
//! return an error, never panic or abort.
//!
//! The index ends in a BLAKE3 checksum of its body, which random mutation
//! almost never satisfies, so each input is also tried with a correct
//! checksum appended, which lets the fuzzer reach the entry parser.
//!
//! The file is `$TMPDIR/cairn-fuzz-stat-index-<pid>`, removed after each load.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use cairn::repo::stat_index::StatIndex;
use libfuzzer_sys::fuzz_target;

fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("cairn-fuzz-stat-index-{}", std::process::id()))
    })
}

fn check(bytes: &[u8]) {
    std::fs::write(path(), bytes).expect("write the temporary index file");
    let _ = StatIndex::load(path());
    // Only left behind when loading crashes (the file is then the input).
    let _ = std::fs::remove_file(path());
}

fuzz_target!(|data: &[u8]| {
    check(data);
    let mut sealed = data.to_vec();
    sealed.extend_from_slice(blake3::hash(data).as_bytes());
    check(&sealed);
});
