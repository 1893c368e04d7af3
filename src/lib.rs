//! cairn versions large datasets and model files next to git.
//!
//! **[`ops`] is the library's API**: one function per command (`add`,
//! `status`, `checkout`, `push`, `pull`, `ls`, …), each taking an
//! [`ops::Session`] (one repository, opened once), typed options and a
//! [`progress::Progress`], and returning a serialisable report: the same
//! calls the `cairn` command line, its git hooks and the tests make. See
//! [`ops`] for an example.
//!
//! Below it, by layer (docs/ARCHITECTURE.md draws them; the modules not
//! linked here are internal, `pub(crate)`):
//!
//! * `transfer` moves packs between the cache and a remote, and
//!   [`remote`] knows how to talk to one (the only users of `object_store`
//!   and async);
//! * `engine` stores files as chunks (`engine::ingest`), restores them
//!   verified (`engine::restore`), compares the work tree with its
//!   pointers (`engine::status`) and decides what the cache keeps
//!   (`engine::gc`);
//! * [`repo`] is the work tree, its pointer files, the stat index, config
//!   and git (the only user of `gix`); [`store`] is the local content
//!   store of packs;
//! * [`format`](mod@format) holds the pure encoders and decoders of docs/FORMAT.md, and
//!   `durable` the atomic-write, lock and fsync rules;
//! * [`hash`], [`error`], `explain`, [`progress`], `failpoint` and
//!   `redact` are used by every layer.
//!
//! Dependencies point one way, down that list. Only [`cli`] prints.

// Only the CLI prints: the library reports through `progress::Progress`
// and returns typed reports.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod cli;
pub(crate) mod durable;
pub(crate) mod engine;
pub mod error;
pub mod explain;
pub(crate) mod failpoint;
pub mod format;
pub mod hash;
pub mod ops;
pub mod progress;
pub(crate) mod redact;
pub mod remote;
pub mod repo;
pub mod store;
pub(crate) mod transfer;

pub use error::{Error, Result};
