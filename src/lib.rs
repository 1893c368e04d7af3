//! cairn versions large datasets and model files next to git.
//!
//! Files are cut into content-defined chunks ([`chunking`]), named by BLAKE3
//! ([`hash`]), compressed ([`codec`]) and grouped into packs ([`pack`]) in a
//! content store ([`store`]). Files and directories are described by
//! manifests and listings ([`object`]) and referenced from small text
//! pointer files ([`pointer`]) that git versions. The work tree side
//! ([`workspace`], [`stat_index`]) finds pointers, keeps paths safe and avoids
//! re-reading unchanged files. [`ingest`], [`restore`] and [`status`]
//! implement `add`, `checkout` and `status`; [`git`] (the only user of
//! `gix`) and [`history`] read pointers from past revisions; [`cli`] is the
//! command line. [`remote`] names the places data is pushed to.
//!
//! Dependencies point one way: `cli` → operations → store/objects → hashing.
//! Only `cli` prints; everything else reports through [`progress::Progress`].

// Only the CLI prints: the library reports through `progress::Progress`
// and returns typed reports.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod cli;
pub mod durable;
pub mod engine;
pub mod error;
pub mod explain;
pub mod failpoint;
pub mod format;
pub mod hash;
pub mod ops;
pub mod progress;
pub mod redact;
pub mod remote;
pub mod repo;
pub mod store;
pub mod transfer;

pub use error::{Error, Result};
