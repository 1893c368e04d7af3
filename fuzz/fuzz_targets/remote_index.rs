//! Remote index files and the remote damage list come from a remote or the
//! cache and may be anything: parsing must never panic or allocate without
//! bound, and every record it accepts must be self-consistent.
//!
//! An index file is named by its hash, which random input never matches, so
//! the input is decoded under its own hash to reach the structural checks.
#![no_main]

use cairn::hash::Id;
use cairn::remote::index::{decode, encode};
use cairn::remote::notes::{decode_notes, encode_notes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = decode(&Id::of(data), data) {
        for r in &records {
            assert_eq!(cairn::format::pack::pack_id(&r.entries), r.id);
            for e in &r.entries {
                assert!(e.offset + e.stored_len as u64 <= r.len);
            }
        }
        // Whatever decodes re-encodes to the same bytes.
        assert_eq!(encode(&records).1, data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        // Notes re-encode canonically: decoding that again changes nothing.
        let notes = decode_notes(text);
        let again = encode_notes(&notes);
        assert_eq!(encode_notes(&decode_notes(&again)), again);
    }
});
