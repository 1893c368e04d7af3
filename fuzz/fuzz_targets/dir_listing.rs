//! DVC `.dir` listings (JSON) come from a DVC cache or remote: no panic,
//! and what is accepted is sorted, unique and safe.
#![no_main]

use cairn::format::foreign::parse_dir_listing;
use cairn::format::object::check_rel_path;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = parse_dir_listing(data) {
        for w in entries.windows(2) {
            assert!(w[0].relpath.as_bytes() < w[1].relpath.as_bytes());
        }
        for e in &entries {
            assert!(check_rel_path(&e.relpath).is_ok(), "{:?}", e.relpath);
        }
    }
});
