//! The import map is committed and read by every checkout of a revision
//! from before `cairn import`: arbitrary bytes must give a clean error, and
//! anything accepted must be exactly its own canonical encoding.
#![no_main]

use cairn::format::import_map::ImportMap;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ImportMap::decode(data) {
        let text = m.encode();
        assert_eq!(text.as_bytes(), data, "accepted a non-canonical map");
        assert_eq!(ImportMap::decode(text.as_bytes()).ok(), Some(m));
    }
});
