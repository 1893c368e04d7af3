//! Why a stored object was found damaged, as a typed cause.
//!
//! Every reader of stored bytes (the cache, a remote pack, a repack) applies
//! the same checks, and each check that fails says which one as a variant
//! here, so a caller can tell a truncated zstd stream from a hash mismatch
//! without parsing text. It is the `source()` of [`super::Error::CorruptObject`]
//! and [`super::Error::RemoteBlobCorrupt`], whose messages quote it; they
//! hold it boxed (a `Box<Corruption>` in the chain) so that every `Result`
//! of the library stays small.

use crate::format::codec::DecodeError;
use crate::format::object::ObjectError;
use crate::hash::Id;

/// What is wrong with a damaged blob.
#[derive(Debug, thiserror::Error)]
pub enum Corruption {
    /// The stored bytes do not decode to what the pack footer or index
    /// claims (a damaged zstd stream, a wrong or impossible length).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The decoded bytes are not a valid manifest, segment or listing.
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// The decoded bytes hash to `actual`, not to `expected`, the id they
    /// are stored under.
    #[error("content hashes to {actual}")]
    HashMismatch { expected: Id, actual: Id },
    /// A manifest describes a file of another size than its pointer.
    #[error("describes {described} bytes, pointer says {pointer}")]
    ManifestSize { described: u64, pointer: u64 },
    /// A chunk is not as long as the manifest that lists it says.
    #[error("is {actual} bytes, the manifest says {expected}")]
    ChunkLength { expected: u64, actual: u64 },
    /// Every copy the cache holds is known to be damaged, so there is
    /// nothing intact to send.
    #[error("no intact copy is in the cache, so it cannot be pushed")]
    NoIntactCopy,
}
