//! Locators (`loc/<xx>/<root>.loc`, FORMAT.md §15.8) come from a remote and
//! are not named by their content: anyone may write one, so parsing must
//! never panic or allocate beyond what the input holds, and whatever it
//! accepts must be canonical and self-consistent.
//!
//! The root decoded for is the one the input names (bytes 16..48), and each
//! input is also tried with its trailing checksum recomputed, so the
//! fuzzer gets past both checks to the record parser.
#![no_main]

use cairn::format::pack::{ENTRY_LEN, HEADER_LEN, TRAILER_LEN};
use cairn::hash::Id;
use cairn::remote::locator::Locator;
use libfuzzer_sys::fuzz_target;

fn check(bytes: &[u8]) {
    let mut root = [0u8; 32];
    if let Some(b) = bytes.get(16..48) {
        root.copy_from_slice(b);
    }
    if let Ok(l) = Locator::decode(&Id(root), bytes) {
        assert_eq!(l.encode(), bytes, "re-encoding {l:?} changed the bytes");
        for p in &l.packs {
            assert!(!p.entries.is_empty() && p.entries.len() <= p.footer_entries as usize);
            let blob_end = p.len - (p.footer_entries as u64 * ENTRY_LEN as u64 + TRAILER_LEN as u64);
            for e in &p.entries {
                assert!(e.offset >= HEADER_LEN && e.offset + e.stored_len as u64 <= blob_end);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if data.len() >= 32 {
        let mut sealed = data[..data.len() - 32].to_vec();
        let sum = *blake3::hash(&sealed).as_bytes();
        sealed.extend_from_slice(&sum);
        check(&sealed);
    }
});
