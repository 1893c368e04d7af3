//! Directory listings decide which paths checkout writes, so decoding must
//! never panic, must refuse escaping paths, and must be canonical: whatever
//! decodes encodes back to exactly the input bytes.
#![no_main]

use cairn::format::object::{check_rel_path, decode_tree, encode_tree};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = decode_tree(data) {
        assert_eq!(encode_tree(&entries), data);
        for w in entries.windows(2) {
            assert!(w[0].path < w[1].path, "paths not strictly sorted");
        }
        for e in &entries {
            assert!(check_rel_path(&e.path).is_ok(), "unsafe path {:?}", e.path);
            // No entry may be both a file and a directory (`a` and `a/b`).
            let mut p = e.path.as_str();
            while let Some((parent, _)) = p.rsplit_once('/') {
                assert!(
                    entries
                        .binary_search_by(|x| x.path.as_str().cmp(parent))
                        .is_err(),
                    "{parent:?} is a file and a directory"
                );
                p = parent;
            }
        }
    }
});
