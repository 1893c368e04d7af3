//! The local engine: turning files into stored objects ([`ingest`]),
//! objects back into verified files ([`restore`]), comparing the work tree
//! with its pointers ([`status`]), reading and writing directory listings
//! ([`listing`]), finding every object a root needs
//! ([`reach`]) and deciding what the cache keeps ([`gc`]).
//!
//! These modules work on one store and one work tree and know nothing of
//! remotes or of the command line; `ops/` composes them into verbs.

pub mod gc;
pub mod ingest;
pub mod left_behind;
pub mod listing;
pub mod reach;
pub mod read;
pub mod restore;
pub mod status;
pub mod uncached;
