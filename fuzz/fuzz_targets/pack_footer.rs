//! A pack's footer comes from the cache or a remote and may be truncated or
//! damaged: parsing must never panic, and every entry it accepts must lie
//! inside the blob area of the pack.
//!
//! The footer is protected by a BLAKE3 checksum in the trailer, which random
//! mutation almost never satisfies, so when the trailer locates a footer
//! inside the input, the input is also tried with that checksum fixed up,
//! which lets the fuzzer reach the entry checks.
#![no_main]

use std::path::Path;

use cairn::format::pack::{read_footer, ENTRY_LEN, HEADER_LEN, TRAILER_LEN};
use libfuzzer_sys::fuzz_target;

fn check(data: &[u8]) {
    let read_at = |off: u64, n: usize| -> std::io::Result<Vec<u8>> {
        let start = usize::try_from(off).ok().filter(|&s| s <= data.len());
        match start.and_then(|s| Some(s..s.checked_add(n)?)) {
            Some(r) if r.end <= data.len() => Ok(data[r].to_vec()),
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "read past the end of the pack",
            )),
        }
    };
    if let Ok(entries) = read_footer(Path::new("fuzz.pack"), data.len() as u64, read_at) {
        for e in entries {
            let end = e.offset.checked_add(e.stored_len as u64);
            assert!(e.offset >= HEADER_LEN, "entry {e:?} overlaps the header");
            assert!(
                end.is_some_and(|end| end <= data.len() as u64),
                "entry {e:?} lies outside a pack of {} bytes",
                data.len()
            );
        }
    }
}

/// If the trailer points at a footer inside `data`, return a copy whose
/// trailer checksum matches that footer.
fn fix_checksum(data: &[u8]) -> Option<Vec<u8>> {
    let t = data.len().checked_sub(TRAILER_LEN)?;
    let footer_offset = u64::from_le_bytes(data[t..t + 8].try_into().ok()?);
    let count = u32::from_le_bytes(data[t + 8..t + 12].try_into().ok()?) as u64;
    let start = usize::try_from(footer_offset).ok()?;
    let end = start.checked_add(usize::try_from(count.checked_mul(ENTRY_LEN as u64)?).ok()?)?;
    if end > t {
        return None;
    }
    let mut out = data.to_vec();
    let sum = blake3::hash(&data[start..end]);
    out[t + 16..t + 48].copy_from_slice(sum.as_bytes());
    (out != data).then_some(out)
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Some(fixed) = fix_checksum(data) {
        check(&fixed);
    }
});
