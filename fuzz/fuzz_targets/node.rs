//! Internal listing nodes (`CTN2`, format v2) say which subtrees a
//! directory has and how many files and bytes each holds, so decoding must
//! never panic and must be canonical: whatever decodes encodes back to
//! exactly the input bytes, with children sorted by last path, safe paths,
//! a level of at least 1 and totals that are the children's sums.
#![no_main]

use cairn::format::listing::{decode_inner, encode_inner, MAX_FANOUT};
use cairn::format::object::check_rel_path;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = decode_inner(data) {
        assert_eq!(encode_inner(&n), data);
        assert!(n.level >= 1);
        assert!(!n.children.is_empty() && n.children.len() <= MAX_FANOUT);
        for w in n.children.windows(2) {
            assert!(w[0].last < w[1].last, "children not strictly sorted");
        }
        let files: u64 = n.children.iter().map(|c| c.files).sum();
        let bytes: u64 = n.children.iter().map(|c| c.bytes).sum();
        assert_eq!((files, bytes), (n.files, n.bytes));
        for c in &n.children {
            assert!(c.files > 0);
            assert!(check_rel_path(&c.last).is_ok(), "unsafe path {:?}", c.last);
        }
    }
});
