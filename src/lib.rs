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

pub mod chunking;
pub mod cli;
pub mod codec;
pub mod config;
pub mod error;
pub mod failpoint;
pub mod gc;
pub mod git;
pub mod hash;
pub mod history;
pub mod ingest;
pub mod object;
pub mod ops;
pub mod pack;
pub mod pointer;
pub mod progress;
pub mod reach;
pub mod remote;
pub mod restore;
pub mod stat_index;
pub mod status;
pub mod store;
pub mod transfer;
pub mod workspace;

pub use error::{Error, Result};
