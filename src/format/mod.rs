//! The pure encoders and decoders of docs/FORMAT.md: object kinds, chunk boundaries,
//! compression, pointers, manifests, listings (flat and layered) and the pack layout.
//!
//! Nothing here touches the filesystem, the network or async: every
//! function maps bytes to values and back, so the fuzz targets, the
//! benchmarks and the format vectors exercise exactly the code that reads
//! untrusted input. A decoder bounds every allocation by the input it was
//! given or by a constant of the format, never by a length field alone.

pub mod chunking;
pub mod codec;
pub mod foreign;
pub mod import_map;
pub mod kind;
pub mod listing;
pub mod object;
pub mod pack;
pub mod pointer;
