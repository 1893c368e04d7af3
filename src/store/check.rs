//! The one check every reader of stored bytes applies.
//!
//! Stored bytes are decoded and checked against the blob's id (or, for a
//! manifest, its checksum) before anyone sees them, whether they come from
//! the cache, a remote pack or a repack. Lengths claimed by a footer or an
//! index are bounded per kind before any allocation, so hostile numbers
//! cannot make a reader allocate gigabytes. A failure says which check
//! failed, as a typed [`Corruption`].

use crate::error::Corruption;
use crate::format::codec::{self, Codec};
use crate::format::kind::ObjectKind;
use crate::format::object::Manifest;
use crate::hash::Id;

/// The largest decoded size a blob of `kind` may have (FORMAT.md §6.3).
/// A chunk is never longer than the chunker's maximum; a segment lists at
/// most [`crate::format::object::SEGMENT_MAX`] chunks; manifests and listings are
/// capped far above any real file or directory so that a number read from
/// a pack or an index can never make a reader allocate gigabytes.
pub fn max_raw_len(kind: ObjectKind) -> usize {
    match kind {
        ObjectKind::Chunk => crate::format::chunking::V1.max,
        ObjectKind::Segment => 64 + crate::format::object::SEGMENT_MAX * 64,
        ObjectKind::Manifest | ObjectKind::Tree => MAX_LISTING,
    }
}

/// Cap on a manifest's or a directory listing's decoded size: about four
/// million files in one tracked directory, or a file of petabytes.
pub const MAX_LISTING: usize = 512 << 20;

/// Decode stored bytes whose decoded length a footer or index claims,
/// refusing claims beyond what the kind may hold before allocating.
pub(super) fn decode(
    kind: ObjectKind,
    codec: Codec,
    stored: &[u8],
    raw_len: u32,
) -> Result<Vec<u8>, Corruption> {
    let limit = max_raw_len(kind);
    if raw_len as usize > limit {
        return Err(codec::DecodeError::TooLong {
            kind,
            claimed: raw_len as usize,
            limit,
        }
        .into());
    }
    Ok(codec::decompress(codec, stored, raw_len as usize)?)
}

/// [`decode`] into a caller's buffer of exactly the blob's length, which
/// the kind's bound applies to as it does to a claimed length.
pub(super) fn decode_into(
    kind: ObjectKind,
    codec: Codec,
    stored: &[u8],
    out: &mut [u8],
) -> Result<(), Corruption> {
    let limit = max_raw_len(kind);
    if out.len() > limit {
        return Err(codec::DecodeError::TooLong {
            kind,
            claimed: out.len(),
            limit,
        }
        .into());
    }
    Ok(codec::decompress_into(codec, stored, out)?)
}

/// Decode a blob's stored bytes and check them against its id (or, for a
/// manifest, its checksum). The one check every reader applies, whether the
/// bytes come from the cache or a remote.
pub fn check_encoded(
    kind: ObjectKind,
    id: &Id,
    codec: Codec,
    stored: &[u8],
    raw_len: u32,
) -> Result<(), Corruption> {
    decode(kind, codec, stored, raw_len).and_then(|raw| check_blob(kind, id, &raw))
}

/// Decode a blob's stored bytes, check them as [`check_encoded`] does, and
/// return the raw bytes: for a reader that serves blobs it does not keep
/// (ranged reads of a remote pack).
pub fn decode_checked(
    kind: ObjectKind,
    id: &Id,
    codec: Codec,
    stored: &[u8],
    raw_len: u32,
) -> Result<Vec<u8>, Corruption> {
    let raw = decode(kind, codec, stored, raw_len)?;
    check_blob(kind, id, &raw)?;
    Ok(raw)
}

/// [`decode_checked`] into a caller's buffer of exactly the blob's length
/// (a slot of a restore's batch), so a blob read by range is decoded once,
/// in place, and checked there: nothing is allocated or copied per blob.
/// On failure `out` holds unchecked bytes, which the caller must not use.
pub fn decode_checked_into(
    kind: ObjectKind,
    id: &Id,
    codec: Codec,
    stored: &[u8],
    out: &mut [u8],
) -> Result<(), Corruption> {
    decode_into(kind, codec, stored, out)?;
    check_blob(kind, id, out)
}

pub(super) fn check_blob(kind: ObjectKind, id: &Id, raw: &[u8]) -> Result<(), Corruption> {
    match kind {
        ObjectKind::Manifest => Ok(Manifest::decode(raw).map(|_| ())?),
        _ => {
            let actual = Id::of(raw);
            if actual == *id {
                Ok(())
            } else {
                Err(Corruption::HashMismatch {
                    expected: *id,
                    actual,
                })
            }
        }
    }
}
