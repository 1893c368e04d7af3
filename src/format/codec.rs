//! Per-blob compression.
//!
//! Each blob is compressed on its own with zstd so that any chunk can be read
//! (and range-fetched from a remote) without its neighbours. A blob that does
//! not shrink is stored raw, so incompressible data such as model weights or
//! encrypted archives costs nothing extra. Deciding that must be cheap: a
//! small prefix is compressed first and, if it does not shrink, the blob is
//! stored raw without compressing the rest.

use std::cell::RefCell;

use zstd::zstd_safe::{
    self, zstd_sys::ZSTD_EndDirective, CCtx, CParameter, InBuffer, OutBuffer, ResetDirective,
};

/// How a blob's bytes are stored in a pack. The numeric values are on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Codec {
    Raw = 0,
    Zstd = 1,
}

impl Codec {
    pub fn from_u8(v: u8) -> Option<Codec> {
        match v {
            0 => Some(Codec::Raw),
            1 => Some(Codec::Zstd),
            _ => None,
        }
    }
}

/// zstd level used for new blobs. Readers accept any level.
pub const ZSTD_LEVEL: i32 = 1;

/// zstd's shortest match for new blobs (level 1 picks 5 or 6 by blob
/// size). Longer minimum matches make the match finder cheaper: on the
/// benchmark CSV, 7 stores 0.388 of raw instead of 0.363 for about 6 %
/// less compression time (FORMAT.md §4.1), inside the 0.40 the writer
/// promises. It changes only how bytes are found, not the frame format:
/// any zstd decoder reads the result.
pub const ZSTD_MIN_MATCH: i32 = 7;

/// Size of the probe compressed before committing to compress a whole blob.
const PROBE: usize = 8 * 1024;

/// A blob must shrink by at least this fraction (1/32) to be stored compressed.
fn shrinks_enough(raw: usize, packed: usize) -> bool {
    packed + raw / 32 < raw
}

thread_local! {
    static COMPRESSOR: RefCell<Option<CCtx<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Compress `raw`, or decide to store it raw. Returns `None` for raw.
///
/// A blob longer than two probes is compressed as one zstd frame in two
/// steps: its first 8 KiB (`PROBE`) are flushed as the frame's first block
/// and judged on their own; only if they shrink enough does the same frame
/// go on with the rest. Compressible data thus pays for its probe with one
/// extra block header instead of compressing its first 8 KiB twice (about
/// a tenth of the compression time on 64 KiB chunks; FORMAT.md §4.1).
pub fn compress(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.len() < 64 {
        return None;
    }
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut c = CCtx::try_create()?;
            c.set_parameter(CParameter::CompressionLevel(ZSTD_LEVEL))
                .ok()?;
            c.set_parameter(CParameter::MinMatch(ZSTD_MIN_MATCH as u32))
                .ok()?;
            *slot = Some(c);
        }
        let c = slot.as_mut()?;
        // A previous blob may have been abandoned mid-frame after its probe.
        c.reset(ResetDirective::SessionOnly).ok()?;
        // The size lets zstd size its tables for the blob (as a one-shot
        // compression would) and is recorded in the frame header.
        c.set_pledged_src_size(Some(raw.len() as u64)).ok()?;
        let mut out: Vec<u8> = Vec::with_capacity(zstd_safe::compress_bound(raw.len()) + 64);
        let mut dst = OutBuffer::around(&mut out);
        let rest = if raw.len() > 2 * PROBE {
            feed(c, &mut dst, &raw[..PROBE], ZSTD_EndDirective::ZSTD_e_flush)?;
            if !shrinks_enough(PROBE, dst.pos()) {
                return None;
            }
            &raw[PROBE..]
        } else {
            raw
        };
        feed(c, &mut dst, rest, ZSTD_EndDirective::ZSTD_e_end)?;
        let n = dst.pos();
        // The buffer's length follows every write (zstd_safe's `WriteBuf`).
        debug_assert_eq!(out.len(), n);
        shrinks_enough(raw.len(), out.len()).then_some(out)
    })
}

/// Push all of `src` through `c` and flush (or end the frame), into `dst`.
/// `None` if zstd fails or `dst` fills up, which a buffer of
/// `compress_bound` bytes never does.
fn feed(
    c: &mut CCtx<'static>,
    dst: &mut OutBuffer<'_, Vec<u8>>,
    src: &[u8],
    how: ZSTD_EndDirective,
) -> Option<()> {
    let mut src = InBuffer::around(src);
    loop {
        let before = (src.pos(), dst.pos());
        let left = c.compress_stream2(dst, &mut src, how).ok()?;
        if left == 0 {
            return Some(());
        }
        if (src.pos(), dst.pos()) == before {
            return None;
        }
    }
}

/// Why stored bytes could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("zstd stream is corrupt: {0}")]
    Zstd(#[source] std::io::Error),
    #[error("decoded {actual} bytes, expected {expected}")]
    Length { expected: usize, actual: usize },
    #[error("claims {claimed} bytes, more than the {limit} a {kind} may hold")]
    TooLong {
        kind: crate::format::kind::ObjectKind,
        claimed: usize,
        limit: usize,
    },
}

/// Decoded sizes above this are produced by a streaming decoder that grows
/// its buffer with what the data really holds, instead of trusting the
/// stored length for one up-front allocation.
const BULK_LIMIT: usize = 1 << 20;

/// Decode stored bytes back to exactly `raw_len` bytes. `raw_len` comes
/// from a pack footer or an index, so it is not trusted: callers bound it
/// per kind first ([`crate::store::check_encoded`]), and large claims are
/// decoded into a buffer that grows only as real output arrives.
pub fn decompress(codec: Codec, stored: &[u8], raw_len: usize) -> Result<Vec<u8>, DecodeError> {
    let out = match codec {
        Codec::Raw => stored.to_vec(),
        Codec::Zstd if raw_len > BULK_LIMIT => {
            use std::io::Read;
            let dec = zstd::stream::read::Decoder::new(stored).map_err(DecodeError::Zstd)?;
            let mut out = Vec::with_capacity(BULK_LIMIT);
            // One byte past the claim is enough to know the claim is false.
            dec.take(raw_len as u64 + 1)
                .read_to_end(&mut out)
                .map_err(DecodeError::Zstd)?;
            out
        }
        Codec::Zstd => DECOMPRESSOR.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.is_none() {
                *slot = Some(zstd::bulk::Decompressor::new().map_err(DecodeError::Zstd)?);
            }
            let d = slot.as_mut().expect("decompressor was just created");
            d.decompress(stored, raw_len).map_err(DecodeError::Zstd)
        })?,
    };
    if out.len() != raw_len {
        return Err(DecodeError::Length {
            expected: raw_len,
            actual: out.len(),
        });
    }
    Ok(out)
}

/// Decode stored bytes into `out`, which must end up exactly full: the
/// caller sized it from a length it has already bounded (a chunk's length
/// in its manifest, checked against the store's index), so nothing here
/// allocates. This is how a restore decodes chunks side by side into one
/// reused batch buffer instead of a fresh vector per chunk. A frame that
/// holds more than `out.len()` bytes is a zstd error (the destination is
/// too small); one that holds fewer is [`DecodeError::Length`].
pub fn decompress_into(codec: Codec, stored: &[u8], out: &mut [u8]) -> Result<(), DecodeError> {
    let n = match codec {
        Codec::Raw => {
            if stored.len() == out.len() {
                out.copy_from_slice(stored);
            }
            stored.len()
        }
        Codec::Zstd => DECOMPRESSOR.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.is_none() {
                *slot = Some(zstd::bulk::Decompressor::new().map_err(DecodeError::Zstd)?);
            }
            let d = slot.as_mut().expect("decompressor was just created");
            d.decompress_to_buffer(stored, out)
                .map_err(DecodeError::Zstd)
        })?,
    };
    if n != out.len() {
        return Err(DecodeError::Length {
            expected: out.len(),
            actual: n,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_compresses_and_round_trips() {
        let raw: Vec<u8> = (0..100_000u32)
            .flat_map(|i| format!("{i},{},row\n", i % 7).into_bytes())
            .collect();
        let packed = compress(&raw).expect("csv-like text shrinks");
        assert!(packed.len() < raw.len() / 2);
        assert_eq!(decompress(Codec::Zstd, &packed, raw.len()).unwrap(), raw);
    }

    #[test]
    fn random_bytes_stay_raw() {
        let mut raw = vec![0u8; 200_000];
        blake3::Hasher::new().finalize_xof().fill(&mut raw);
        assert!(compress(&raw).is_none());
        assert!(compress(b"tiny").is_none());
    }

    #[test]
    fn the_probe_decides_and_the_frame_goes_on_after_it() {
        // Incompressible first 8 KiB: stored raw, however well the rest
        // would compress.
        let mut raw = vec![0u8; 64 << 10];
        blake3::Hasher::new().finalize_xof().fill(&mut raw[..PROBE]);
        assert!(compress(&raw).is_none());
        // Compressible probe: one frame holding the whole blob, after an
        // abandoned frame on the same thread's context.
        let raw: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("{i};{}\n", i % 13).into_bytes())
            .collect();
        assert!(raw.len() > 2 * PROBE);
        let packed = compress(&raw).expect("text shrinks");
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&packed).ok(),
            Some(Some(raw.len() as u64))
        );
        assert_eq!(decompress(Codec::Zstd, &packed, raw.len()).unwrap(), raw);
        // Just over the probe threshold and just under it.
        for len in [2 * PROBE, 2 * PROBE + 1, 64, 63] {
            let r = &raw[..len];
            match compress(r) {
                Some(p) => assert_eq!(decompress(Codec::Zstd, &p, len).unwrap(), r),
                None => assert!(len < 64),
            }
        }
    }

    /// The writer's parameters are policy only: its frames are plain zstd
    /// that the reference decoder reads, and the minimum match really is
    /// longer than level 1's own (repeats of 6-byte words, which level 1
    /// finds, are left as literals).
    #[test]
    fn the_min_match_policy_applies_and_any_decoder_reads_it() {
        let text: Vec<u8> = (0..30_000u32)
            .flat_map(|i| format!("{i},{},{}.5,row\n", i % 7, i % 1000).into_bytes())
            .collect();
        for raw in [&text[..], &text[..100], &text[..3 * PROBE]] {
            let packed = compress(raw).expect("text shrinks");
            assert_eq!(zstd::stream::decode_all(&packed[..]).unwrap(), raw);
        }
        let mut vocab = vec![0u8; 1024 * 6];
        blake3::Hasher::new().finalize_xof().fill(&mut vocab);
        let mut picks = vec![0u8; 2 * 10_000];
        blake3::Hasher::new_derive_key("picks")
            .finalize_xof()
            .fill(&mut picks);
        let words: Vec<u8> = picks
            .chunks_exact(2)
            .flat_map(|p| {
                let w = (u16::from_le_bytes([p[0], p[1]]) % 1024) as usize;
                vocab[w * 6..w * 6 + 6].to_vec()
            })
            .collect();
        let level1 = zstd::bulk::compress(&words, ZSTD_LEVEL).unwrap();
        assert!(level1.len() < words.len() * 9 / 10, "{}", level1.len());
        match compress(&words) {
            None => {}
            Some(p) => assert!(p.len() > level1.len(), "{} vs {}", p.len(), level1.len()),
        }
    }

    #[test]
    fn a_false_large_claim_fails_without_allocating_it() {
        let raw = vec![7u8; 10_000];
        let packed = compress(&raw).unwrap();
        let claim = 3 << 30;
        assert!(matches!(
            decompress(Codec::Zstd, &packed, claim),
            Err(DecodeError::Length { actual: 10_000, .. })
        ));
        let big = vec![1u8; 3 << 20];
        let packed = compress(&big).unwrap();
        assert_eq!(decompress(Codec::Zstd, &packed, big.len()).unwrap(), big);
        assert!(decompress(Codec::Zstd, &packed, big.len() - 1).is_err());
    }

    #[test]
    fn wrong_length_is_an_error() {
        let raw = vec![7u8; 10_000];
        let packed = compress(&raw).unwrap();
        assert!(decompress(Codec::Zstd, &packed, 9_999).is_err());
        assert!(decompress(Codec::Raw, &raw, 1).is_err());
        assert!(decompress(Codec::Zstd, b"garbage!", 10).is_err());
    }

    #[test]
    fn decoding_into_a_slice_fills_it_exactly_or_fails() {
        let raw: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("{i},{}\n", i % 11).into_bytes())
            .collect();
        let packed = compress(&raw).expect("text shrinks");
        let mut out = vec![0u8; raw.len()];
        decompress_into(Codec::Zstd, &packed, &mut out).unwrap();
        assert_eq!(out, raw);
        // A frame longer than the slice, shorter than it, or not zstd.
        let mut short = vec![0u8; raw.len() - 1];
        assert!(matches!(
            decompress_into(Codec::Zstd, &packed, &mut short),
            Err(DecodeError::Zstd(_))
        ));
        let mut long = vec![0u8; raw.len() + 1];
        assert!(matches!(
            decompress_into(Codec::Zstd, &packed, &mut long),
            Err(DecodeError::Length { expected, actual }) if expected == raw.len() + 1 && actual == raw.len()
        ));
        assert!(decompress_into(Codec::Zstd, b"garbage!", &mut out).is_err());
        // Raw bytes are copied only when their length is the slice's.
        let mut out = vec![0u8; 3];
        decompress_into(Codec::Raw, b"abc", &mut out).unwrap();
        assert_eq!(out, b"abc");
        assert!(matches!(
            decompress_into(Codec::Raw, b"abcd", &mut out),
            Err(DecodeError::Length {
                expected: 3,
                actual: 4
            })
        ));
        assert_eq!(out, b"abc");
    }
}
