//! Per-blob compression.
//!
//! Each blob is compressed on its own with zstd so that any chunk can be read
//! (and range-fetched from a remote) without its neighbours. A blob that does
//! not shrink is stored raw, so incompressible data such as model weights or
//! encrypted archives costs nothing extra. Deciding that must be cheap: a
//! small prefix is compressed first and, if it does not shrink, the blob is
//! stored raw without compressing the rest.

use std::cell::RefCell;

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

/// Size of the probe compressed before committing to compress a whole blob.
const PROBE: usize = 8 * 1024;

/// A blob must shrink by at least this fraction (1/32) to be stored compressed.
fn shrinks_enough(raw: usize, packed: usize) -> bool {
    packed + raw / 32 < raw
}

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Compress `raw`, or decide to store it raw. Returns `None` for raw.
pub fn compress(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.len() < 64 {
        return None;
    }
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = zstd::bulk::Compressor::new(ZSTD_LEVEL).ok();
        }
        let c = slot.as_mut()?;
        if raw.len() > 2 * PROBE {
            let probe = c.compress(&raw[..PROBE]).ok()?;
            if !shrinks_enough(PROBE, probe.len()) {
                return None;
            }
        }
        let out = c.compress(raw).ok()?;
        shrinks_enough(raw.len(), out.len()).then_some(out)
    })
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
}
