//! Segments are read back from packs and remotes: decoding must never panic,
//! and whatever decodes must encode to exactly the input bytes.
#![no_main]

use cairn::format::object::{decode_segment, encode_segment};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pieces) = decode_segment(data) {
        assert_eq!(encode_segment(&pieces), data);
    }
});
