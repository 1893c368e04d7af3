//! Manifests are read back from packs and remotes. Decoding must never panic,
//! and whatever decodes must encode to exactly the same bytes (the encoding
//! is canonical).
//!
//! A manifest ends in a BLAKE3 checksum of its body, which random mutation
//! almost never satisfies, so each input is tried twice: as is, and with a
//! correct checksum appended, which lets the fuzzer reach the field parser.
#![no_main]

use cairn::format::object::Manifest;
use libfuzzer_sys::fuzz_target;

fn check(bytes: &[u8]) {
    if let Ok(m) = Manifest::decode(bytes) {
        assert_eq!(m.encode(), bytes, "re-encoding {m:?} changed the bytes");
        let total: u64 = m.pieces.iter().map(|p| p.len).sum();
        assert_eq!(total, m.size);
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    let mut sealed = data.to_vec();
    sealed.extend_from_slice(blake3::hash(data).as_bytes());
    check(&sealed);
});
