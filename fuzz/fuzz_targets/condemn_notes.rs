//! Condemnation notes (FORMAT.md §15.6) come from a remote and may be
//! anything: parsing must never panic, and whatever it accepts must
//! re-encode canonically, so equal notes keep equal names.
#![no_main]

use cairn::remote::notes::{decode_condemned, encode_condemned};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let entries = decode_condemned(&text);
    assert!(entries.len() <= text.lines().count());
    let again = encode_condemned(&entries);
    let back = decode_condemned(&again);
    assert_eq!(encode_condemned(&back), again);
    // Every accepted entry survives the round trip.
    for e in &entries {
        assert!(back.contains(e), "{e:?} lost");
    }
});
