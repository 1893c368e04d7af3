//! Pointer files are read from every checkout, so arbitrary bytes must give a
//! clean error, and anything accepted must survive an encode/parse round trip.
#![no_main]

use std::path::Path;

use cairn::format::pointer::Pointer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.cairn");
    if let Ok(p) = Pointer::parse(path, data) {
        let text = p.encode();
        let again = Pointer::parse(path, text.as_bytes())
            .unwrap_or_else(|e| panic!("re-parsing {text:?} failed: {e}"));
        assert_eq!(p, again, "round trip changed the pointer");
        // Encoding is a function of the value, so it must be stable too.
        assert_eq!(text, again.encode());
        // Parsing is strict: one value has one text, up to CRLF line ends
        // (which a Windows checkout with core.autocrlf may produce).
        let lf: Vec<u8> = data
            .iter()
            .enumerate()
            .filter(|&(i, &b)| !(b == b'\r' && data.get(i + 1) == Some(&b'\n')))
            .map(|(_, &b)| b)
            .collect();
        assert_eq!(lf, text.as_bytes(), "accepted a non-canonical pointer");
    }
});
