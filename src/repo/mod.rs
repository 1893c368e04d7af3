//! The repository a command runs in: the work tree and its pointer files,
//! the stat index that lets unchanged files go unread, `.cairn/config`, and
//! git (the only place `gix` is used) with the pointer history it holds.
//!
//! Everything that decides whether a path is inside the work tree, and
//! whether a name belongs to cairn, is written here once.

pub mod cache_location;
pub mod cairnignore;
pub mod config;
pub mod config_edit;
pub mod config_keys;
pub mod foreign;
pub mod git;
pub mod gitattributes;
pub mod history;
pub mod stat_index;
pub mod walk;
pub mod workspace;
