//! The integration tests: one binary, one module per feature, all driving
//! the real `cairn` binary (and real git, servers and peer tools) through
//! the [`common::TestRepo`] helper.

mod common;

mod add;
mod automation;
mod cache_location;
mod cat;
mod checkout;
mod cli;
mod config;
mod crash;
mod damage;
mod docs;
mod errors;
mod everyday_git;
mod fetch_batches;
mod fixtures;
mod format;
mod gc_remote;
mod git;
mod history;
mod hostile;
mod import;
mod inspect;
mod json_schema;
mod left_behind;
mod lifecycle;
mod listing_tree;
mod listings;
mod locators;
mod merge_conflict;
mod pull_direct;
mod pull_once;
mod push_dedup;
mod push_pull;
mod push_sum;
mod read;
mod remote_config;
mod remote_errors;
mod remote_http;
mod remote_trust;
mod scale_tree;
mod sharing;
mod snapshots;
mod status;
mod status_dirs;
mod status_lazy;
mod status_unpushed;
mod stores;
mod verify_remote;
mod workflow;
mod workflow_safety;
mod worktree;
