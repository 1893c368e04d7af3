//! Git LFS pointers are read from git trees (any small blob may be one) and
//! `.dvc/config` from the work tree: no panic, and an accepted LFS pointer
//! is exactly its canonical text.
#![no_main]

use cairn::format::foreign::{lfs_attribute_lines, parse_lfs_pointer, DvcConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = parse_lfs_pointer(data) {
        assert_eq!(p.encode().as_bytes(), data, "accepted a non-canonical pointer");
    }
    let _ = DvcConfig::default().merge(data);
    let _ = lfs_attribute_lines(&String::from_utf8_lossy(data));
});
